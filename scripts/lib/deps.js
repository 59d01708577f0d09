// Keeps node_modules in step with package-lock.json: `npm ci` when it is missing or the lock changed.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { SetupError, log } = require("./report");

const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
const STAMP = path.join(PROJECT_ROOT, "node_modules", ".neonhub-lock-sha256");

function lockHash() {
  const lock = path.join(PROJECT_ROOT, "package-lock.json");
  if (!fs.existsSync(lock))
    throw new SetupError(
      "package-lock.json is missing: the dependencies are pinned by it. Restore it from git.",
    );
  return crypto.createHash("sha256").update(fs.readFileSync(lock)).digest("hex");
}

/** Returns true when it had to install. */
function ensureNodeModules() {
  const want = lockHash();
  const have = fs.existsSync(STAMP) ? fs.readFileSync(STAMP, "utf8").trim() : "";
  if (have === want) return false;
  log("installing npm dependencies (npm ci)");
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const result = spawnSync(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: PROJECT_ROOT,
    stdio: "inherit",
  });
  if (result.status !== 0)
    throw new SetupError(
      "npm ci failed (see above). Check the network access to the npm registry and run again.",
    );
  fs.writeFileSync(STAMP, want);
  return true;
}

module.exports = { ensureNodeModules, PROJECT_ROOT };
