// Keeps node_modules in step with package-lock.json: `npm ci` when it is missing or the lock changed.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { SetupError, log } = require("./report");

const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
const STAMP = path.join(PROJECT_ROOT, "node_modules", ".neonhub-lock-sha256");
// npm's own record of what it installed (written by `npm ci` and `npm install`).
const HIDDEN_LOCK = path.join(PROJECT_ROOT, "node_modules", ".package-lock.json");
// Set by the test suite: a test runs the setup scripts against the project's own node_modules, which other
// test files are using at that moment; it must never reinstall them.
const NO_INSTALL_ENV = "NEONHUB_NO_NPM_INSTALL";

function readLock() {
  const lock = path.join(PROJECT_ROOT, "package-lock.json");
  if (!fs.existsSync(lock))
    throw new SetupError(
      "package-lock.json is missing: the dependencies are pinned by it. Restore it from git.",
    );
  return fs.readFileSync(lock);
}

/**
 * True when npm's record of node_modules (`hiddenLockText`, node_modules/.package-lock.json) has every
 * package of the lock file at its locked version (optional packages are for other platforms and may be
 * absent). Covers a tree installed by `npm ci` directly, which has no stamp of ours.
 */
function installedMatchesLock(lockText, hiddenLockText) {
  try {
    const wanted = JSON.parse(lockText).packages ?? {};
    const installed = JSON.parse(hiddenLockText).packages ?? {};
    return Object.entries(wanted).every(
      ([where, pkg]) => where === "" || pkg.optional === true || installed[where]?.version === pkg.version,
    );
  } catch {
    return false;
  }
}

/** Returns true when it had to install. */
function ensureNodeModules() {
  const lockText = readLock();
  const want = crypto.createHash("sha256").update(lockText).digest("hex");
  const have = fs.existsSync(STAMP) ? fs.readFileSync(STAMP, "utf8").trim() : "";
  if (have === want) return false;
  if (fs.existsSync(HIDDEN_LOCK) && installedMatchesLock(lockText, fs.readFileSync(HIDDEN_LOCK, "utf8")))
    return false;
  if (process.env[NO_INSTALL_ENV] === "1") {
    log(`node_modules differs from package-lock.json; not installing (${NO_INSTALL_ENV}=1)`);
    return false;
  }
  log("installing npm dependencies (npm ci)");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  // npm's own output goes to stderr: stdout carries only this script's result (one JSON document with --json).
  const result = spawnSync(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", process.stderr, process.stderr],
  });
  if (result.status !== 0)
    throw new SetupError(
      "npm ci failed (see above). Check the network access to the npm registry and run again.",
    );
  fs.writeFileSync(STAMP, want);
  return true;
}

module.exports = { ensureNodeModules, installedMatchesLock, PROJECT_ROOT, NO_INSTALL_ENV };
