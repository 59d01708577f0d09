// Finds (or installs) a PostgreSQL 14+ server that has the pgvector extension.
//
// Order of preference: an installation that already has pgvector; on Debian/Ubuntu as root, the archive's
// postgresql-<major>-pgvector package; where the archive has none (Debian 12), pgvector built from Debian's
// own source package (suite trixie) against postgresql-server-dev-<major>. Anything else stops with a
// message that says exactly what to install.
"use strict";

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { execFileSync, spawnSync } = require("node:child_process");
const { SetupError, log } = require("./report");

const MIN_MAJOR = 14;
const SOURCE_LIST = "/etc/apt/sources.list.d/neonhub-db-pgvector-src.sources";

/** @typedef {{ bindir: string, major: number, version: string, sharedir: string, pkglibdir: string }} PgInstall */

function run(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], ...opts }).trim();
}

function tryRun(cmd, args) {
  try {
    return run(cmd, args);
  } catch {
    return undefined;
  }
}

/** Every PostgreSQL installation we can see, newest first. */
function findInstallations() {
  const bindirs = new Set();
  // NEONHUB_PG_BINDIR names exactly the installation to use: nothing else is considered.
  if (process.env.NEONHUB_PG_BINDIR) return describeInstallations([process.env.NEONHUB_PG_BINDIR]);
  for (const root of ["/usr/lib/postgresql", "/usr/local/opt", "/opt/homebrew/opt"]) {
    let entries = [];
    try {
      entries = fs.readdirSync(root);
    } catch {
      continue;
    }
    for (const entry of entries) {
      // Debian: /usr/lib/postgresql/<major>/bin; Homebrew: <prefix>/opt/postgresql@<major>/bin.
      if (root !== "/usr/lib/postgresql" && !entry.startsWith("postgresql")) continue;
      bindirs.add(path.join(root, entry, "bin"));
    }
  }
  const onPath = tryRun("pg_config", ["--bindir"]);
  if (onPath) bindirs.add(onPath);
  return describeInstallations([...bindirs]);
}

/** @param {string[]} bindirs */
function describeInstallations(bindirs) {
  const found = [];
  for (const bindir of bindirs) {
    const postgres = path.join(bindir, "postgres");
    const pgConfig = path.join(bindir, "pg_config");
    if (!fs.existsSync(postgres) || !fs.existsSync(pgConfig)) continue;
    const version = tryRun(postgres, ["--version"]);
    const match = version && /(\d+)(?:\.(\d+))?/.exec(version.replace(/^[^0-9]*/, ""));
    if (!match) continue;
    found.push({
      bindir,
      major: Number(match[1]),
      version: version.replace(/^.*\(PostgreSQL\)\s*/, ""),
      sharedir: run(pgConfig, ["--sharedir"]),
      pkglibdir: run(pgConfig, ["--pkglibdir"]),
    });
  }
  return found.sort((a, b) => b.major - a.major);
}

/** @param {PgInstall} pg */
function hasPgvector(pg) {
  return fs.existsSync(path.join(pg.sharedir, "extension", "vector.control"));
}

function isDebianLike() {
  if (process.env.NEONHUB_PG_BINDIR) return false; // an explicit installation is never changed by apt-get
  return fs.existsSync("/etc/debian_version") && fs.existsSync("/usr/bin/apt-get");
}

function isRoot() {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

function manualInstallHelp(what) {
  if (process.env.NEONHUB_PG_BINDIR) {
    return `NEONHUB_PG_BINDIR=${process.env.NEONHUB_PG_BINDIR} selects that installation only: install ${what} there, or unset NEONHUB_PG_BINDIR.`;
  }
  if (process.platform === "darwin") {
    return `Install ${what} yourself, e.g. \`brew install postgresql@16 pgvector\`, then run this again.`;
  }
  if (isDebianLike()) {
    return `Run this command as root (it installs ${what} with apt-get), or install ${what} yourself: \`sudo apt-get install postgresql postgresql-server-dev-all\` and pgvector (https://github.com/pgvector/pgvector#installation).`;
  }
  return `Install ${what} yourself (PostgreSQL ${MIN_MAJOR}+: https://www.postgresql.org/download/, pgvector: https://github.com/pgvector/pgvector#installation), or point NEONHUB_PG_BINDIR at an installation's bin folder.`;
}

let aptUpdated = false;
function apt(args, what) {
  log(`apt-get ${args.join(" ")}`);
  const result = spawnSync("apt-get", args, {
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (result.status !== 0) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split("\n").slice(-8).join("\n");
    throw new SetupError(`apt-get ${args.join(" ")} failed while ${what}:\n${tail}`);
  }
  return result.stdout;
}

function aptUpdate() {
  if (aptUpdated) return;
  apt(["update", "-q"], "refreshing the package lists");
  aptUpdated = true;
}

function aptHasCandidate(pkg) {
  const policy = tryRun("apt-cache", ["policy", pkg]) || "";
  const candidate = /Candidate:\s*(\S+)/.exec(policy);
  return Boolean(candidate && candidate[1] !== "(none)");
}

function installServer() {
  aptUpdate();
  apt(["install", "-y", "-q", "postgresql", "postgresql-contrib"], "installing the PostgreSQL server");
}

/** @param {PgInstall} pg */
function installPgvector(pg) {
  aptUpdate();
  const pkg = `postgresql-${pg.major}-pgvector`;
  if (aptHasCandidate(pkg)) {
    apt(["install", "-y", "-q", pkg], `installing ${pkg}`);
    return "package";
  }
  buildPgvectorFromDebianSource(pg);
  return "source";
}

/**
 * Debian 12 ships no pgvector binary package; Debian 13's source package builds against any server-dev
 * package of PostgreSQL 13+, so we take it from the trixie deb-src archive (sources only: no binary package
 * from trixie is ever installed) and remove that source entry again afterwards.
 * @param {PgInstall} pg
 */
function buildPgvectorFromDebianSource(pg) {
  log(
    `no ${`postgresql-${pg.major}-pgvector`} package in the archive: building pgvector from Debian's source package`,
  );
  const uris = readDebianMirror();
  fs.writeFileSync(
    SOURCE_LIST,
    [
      "# Added by neonhub-db to build pgvector from source; removed again after the build.",
      "Types: deb-src",
      `URIs: ${uris}`,
      "Suites: trixie",
      "Components: main",
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg",
      "",
    ].join("\n"),
  );
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "neonhub-pgvector-"));
  try {
    aptUpdated = false;
    aptUpdate();
    apt(
      [
        "install",
        "-y",
        "-q",
        "--no-install-recommends",
        `postgresql-server-dev-${pg.major}`,
        "build-essential",
        "dpkg-dev",
      ],
      "installing the pgvector build dependencies",
    );
    log("apt-get source pgvector");
    const fetched = spawnSync("apt-get", ["source", "-q", "--download-only", "pgvector/trixie"], {
      cwd: work,
      encoding: "utf8",
    });
    if (fetched.status !== 0)
      throw new SetupError(`apt-get source pgvector failed:\n${fetched.stderr.trim()}`);
    const dsc = fs.readdirSync(work).find((f) => f.endsWith(".dsc"));
    if (!dsc) throw new SetupError("apt-get source pgvector downloaded no .dsc file");
    run("dpkg-source", ["--no-check", "-x", dsc, "src"], { cwd: work });
    const srcDir = path.join(work, "src");
    const pgConfig = path.join(pg.bindir, "pg_config");
    log(`building pgvector against PostgreSQL ${pg.major}`);
    for (const target of [[], ["install"]]) {
      const made = spawnSync("make", [...target, `PG_CONFIG=${pgConfig}`, `-j${os.cpus().length}`], {
        cwd: srcDir,
        encoding: "utf8",
      });
      if (made.status !== 0) {
        throw new SetupError(
          `make ${target.join(" ")} of pgvector failed:\n${made.stderr.trim().split("\n").slice(-10).join("\n")}`,
        );
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(SOURCE_LIST, { force: true });
  }
}

/** The Debian mirror this machine already uses, so the deb-src entry needs no network the machine lacks. */
function readDebianMirror() {
  const candidates = ["/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"];
  for (const file of candidates) {
    let text;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      continue;
    }
    const deb822 = /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text);
    if (deb822) return deb822[1];
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s/m.exec(text);
    if (oneLine) return oneLine[1];
  }
  throw new SetupError(
    "Cannot find the Debian mirror this machine uses (no deb/URIs line ending in /debian in its apt sources), so pgvector's source package cannot be fetched. Install pgvector yourself (https://github.com/pgvector/pgvector#installation) and run again.",
  );
}

/** The newest PostgreSQL 14+ installation that has pgvector, or undefined. */
function findWithPgvector() {
  return findInstallations()
    .filter((pg) => pg.major >= MIN_MAJOR)
    .find(hasPgvector);
}

/**
 * The machine-wide lock of an install: pgvector is built into the system's PostgreSQL, through one apt source
 * entry that each build writes and removes, so two first runs at once (two clones' `npm test`) would remove
 * each other's entry or meet on apt's own lock. flock(1) holds it for the install's process and lets go
 * when that process ends, however it ends.
 */
const INSTALL_LOCK = "/var/lock/neonhub-db-postgres-install.lock";
const INSTALL_LOCK_WAIT_S = 30 * 60;
/** Set in the process that installs under the lock, which installs rather than take the lock again. */
const LOCKED_ENV = "NEONHUB_PG_INSTALL_LOCKED";
/** flock's exit code when the wait for the lock ran out (-E), told apart from the install's own failure (1). */
const LOCK_TIMED_OUT = 75;

/**
 * Returns a PostgreSQL 14+ installation with pgvector, installing what is missing when it can. As root on
 * Debian/Ubuntu the install runs in a process of its own under the machine-wide lock (INSTALL_LOCK); one
 * that waited for another finds that one's install done and installs nothing.
 * @returns {PgInstall}
 */
function ensurePostgres() {
  const withVector = findWithPgvector();
  if (withVector) return withVector;
  if (!isDebianLike() || !isRoot() || process.env[LOCKED_ENV] || !tryRun("flock", ["--version"])) {
    return installMissing();
  }
  const locked = spawnSync(
    "flock",
    [
      "-w",
      String(INSTALL_LOCK_WAIT_S),
      "-E",
      String(LOCK_TIMED_OUT),
      INSTALL_LOCK,
      process.execPath,
      __filename,
    ],
    { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, [LOCKED_ENV]: "1" } },
  );
  if (locked.status === LOCK_TIMED_OUT) {
    throw new SetupError(
      `Another process has been installing PostgreSQL or pgvector on this machine for over ${INSTALL_LOCK_WAIT_S / 60} minutes (it holds ${INSTALL_LOCK}; \`fuser -v ${INSTALL_LOCK}\` names it). Let it finish, or stop it, and run this again.`,
    );
  }
  if (locked.status !== 0) {
    throw new SetupError(
      `Installing PostgreSQL with pgvector failed (the reason is above)${locked.error ? `: ${locked.error.message}` : ""}.`,
    );
  }
  const installed = findWithPgvector();
  if (!installed)
    throw new SetupError("The install ended without error, but no PostgreSQL 14+ has pgvector.");
  return installed;
}

/**
 * Installs what is missing: PostgreSQL 14+ from the archive when there is none, then pgvector; or stops with
 * what to install by hand. Finds the installations again first: under the lock, another process may have
 * installed them while this one waited.
 * @returns {PgInstall}
 */
function installMissing() {
  let installs = findInstallations();
  let usable = installs.filter((pg) => pg.major >= MIN_MAJOR);
  const withVector = usable.find(hasPgvector);
  if (withVector) return withVector;

  if (usable.length === 0) {
    const old = installs[0];
    const found = old
      ? `PostgreSQL ${old.version} (${old.bindir}) is older than ${MIN_MAJOR}`
      : "No PostgreSQL server found";
    if (!isDebianLike() || !isRoot()) {
      throw new SetupError(
        `${found}; neonhub-db needs PostgreSQL ${MIN_MAJOR} or newer with pgvector. ${manualInstallHelp(`PostgreSQL ${MIN_MAJOR}+`)}`,
      );
    }
    log(`${found}: installing PostgreSQL from the distribution archive`);
    installServer();
    installs = findInstallations();
    usable = installs.filter((pg) => pg.major >= MIN_MAJOR);
    if (usable.length === 0) {
      throw new SetupError(
        `The archive's PostgreSQL is older than ${MIN_MAJOR}. ${manualInstallHelp(`PostgreSQL ${MIN_MAJOR}+`)}`,
      );
    }
  }

  const pg = usable[0];
  if (!isDebianLike() || !isRoot()) {
    throw new SetupError(
      `PostgreSQL ${pg.version} (${pg.bindir}) has no pgvector extension (no vector.control in ${path.join(pg.sharedir, "extension")}). ${manualInstallHelp("pgvector")}`,
    );
  }
  const started = Date.now();
  const how = installPgvector(pg);
  if (!hasPgvector(pg))
    throw new SetupError(
      `pgvector was installed (${how}) but ${pg.sharedir}/extension/vector.control is still missing`,
    );
  log(
    `pgvector installed for PostgreSQL ${pg.major} from ${how === "package" ? "the package" : "source"} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return pg;
}

/**
 * An installation to run pg_ctl with for a cluster made by PostgreSQL `major` (stop, status, destroy): that
 * major's, else the newest there is; pgvector is not needed and nothing is installed. Undefined when none.
 * @param {number} major
 * @returns {PgInstall | undefined}
 */
function findServerTools(major) {
  const installs = findInstallations();
  return installs.find((pg) => pg.major === major) ?? installs[0];
}

module.exports = { ensurePostgres, findInstallations, findServerTools, hasPgvector, MIN_MAJOR };

// Run by ensurePostgres under the install lock: installs what is missing, its errors reported as any script's.
if (require.main === module) {
  const { runMain } = require("./report");
  runMain(() => {
    installMissing();
  });
}
