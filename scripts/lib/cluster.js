// A PostgreSQL cluster of the project's own under .local/pg/<name>, on 127.0.0.1 only (no Unix socket, so
// deep checkout paths never hit the socket path limit). PostgreSQL refuses to run as root, so as root every
// server command runs as the `postgres` user. Starting or stopping twice is harmless.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const net = require("node:net");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { SetupError, log } = require("./report");
const { withClusterLock } = require("./cluster-lock");

const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
const SERVER_USER = "postgres";
/** Where clusters go when the server user cannot enter the clone (see clustersRoot). */
const SHARED_CLUSTERS_ROOT = "/var/lib/neonhub-db";

/** Whether the server user can enter `dir` (through every parent), as root; true when not root. */
function serverUserCanEnter(dir) {
  if (!isRoot()) return true;
  const probe = spawnSync("runuser", ["-u", SERVER_USER, "--", "test", "-x", dir], { stdio: "ignore" });
  // No such user (or no runuser): keep the project's folder; prepareClusterDir names the real problem.
  return probe.status === 0 || probe.status === null || probe.error !== undefined || !userExists();
}

function userExists() {
  return spawnSync("id", ["-u", SERVER_USER], { stdio: "ignore" }).status === 0;
}

/**
 * The folder of the project's clusters: NEONHUB_LOCAL_ROOT (tests use it to stay out of the developer's
 * cluster), else .local/pg in the clone. PostgreSQL runs as the `postgres` user when we are root, and a root
 * whose clone sits where that user cannot enter (root's home, a private temp folder) gets a folder of its own
 * under /var/lib/neonhub-db instead, one per clone, rather than a setup error.
 */
function clustersRoot(projectRoot = PROJECT_ROOT, env = process.env) {
  if (env.NEONHUB_LOCAL_ROOT) return env.NEONHUB_LOCAL_ROOT;
  if (serverUserCanEnter(projectRoot)) return path.join(projectRoot, ".local", "pg");
  const clone = crypto.createHash("sha256").update(projectRoot).digest("hex").slice(0, 12);
  return path.join(SHARED_CLUSTERS_ROOT, `${path.basename(projectRoot)}-${clone}`, "pg");
}

const CLUSTERS_ROOT = clustersRoot();

/** @typedef {import("./postgres").PgInstall} PgInstall */
/** @typedef {{ name: string, root: string, data: string, logFile: string, passwordFile: string, portFile: string }} ClusterPaths */

/** @returns {ClusterPaths} */
function clusterPaths(name, root = CLUSTERS_ROOT) {
  const dir = path.join(root, name);
  return {
    name,
    root: dir,
    data: path.join(dir, "data"),
    logFile: path.join(dir, "server.log"),
    passwordFile: path.join(dir, "admin.password"),
    portFile: path.join(dir, "port"),
  };
}

function isRoot() {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** Runs a server binary, as the postgres user when we are root. */
function runServerCommand(pg, binary, args) {
  const file = path.join(pg.bindir, binary);
  const [cmd, argv] = isRoot() ? ["runuser", ["-u", SERVER_USER, "--", file, ...args]] : [file, args];
  return spawnSync(cmd, argv, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function serverUserIds() {
  const out = spawnSync("id", ["-u", SERVER_USER], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", SERVER_USER], { encoding: "utf8" });
  if (out.status !== 0) {
    throw new SetupError(
      `Running as root, but there is no \`${SERVER_USER}\` user to run PostgreSQL as (it refuses to run as root). Create it (\`useradd --system --create-home ${SERVER_USER}\`) or run as a normal user.`,
    );
  }
  return { uid: Number(out.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Makes the cluster folder and checks that the server user can reach it through every parent. */
function prepareClusterDir(paths) {
  // The parents hold nothing secret and must be traversable by the server user; the cluster folder is private.
  fs.mkdirSync(path.dirname(paths.root), { recursive: true, mode: 0o755 });
  // It may be there already: a data folder that was deleted (or never finished) leaves its parent behind.
  fs.mkdirSync(paths.root, { recursive: true, mode: 0o700 });
  fs.chmodSync(paths.root, 0o700);
  if (!isRoot()) return;
  const { uid, gid } = serverUserIds();
  fs.chownSync(paths.root, uid, gid);
  const probe = spawnSync("runuser", ["-u", SERVER_USER, "--", "test", "-w", paths.root]);
  if (probe.status !== 0) {
    throw new SetupError(
      `The \`${SERVER_USER}\` user cannot reach ${paths.root} (a parent folder is not traversable for other users). Clone the project into a folder other users can enter, e.g. under /srv or /opt, or run as a normal user.`,
    );
  }
}

function clusterVersion(paths) {
  try {
    return Number(fs.readFileSync(path.join(paths.data, "PG_VERSION"), "utf8").trim());
  } catch {
    return undefined;
  }
}

function isRunning(pg, paths) {
  if (clusterVersion(paths) === undefined) return false;
  return runServerCommand(pg, "pg_ctl", ["status", "-D", paths.data]).status === 0;
}

function portIsFree(port) {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the kernel says is free now (for throwaway test clusters). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1" }, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** A port from 1024 to 65535 written in decimal digits only (no 0x1F96, 1e4, 54501.0 or spaces). */
function validPort(raw) {
  const port = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  return port >= 1024 && port <= 65535 ? port : undefined;
}

function parsePort(raw, source) {
  const port = validPort(raw);
  if (port === undefined) {
    throw new SetupError(
      `${source} must be a port number from 1024 to 65535, got "${raw}". Example: NEONHUB_PG_PORT=54329`,
    );
  }
  return port;
}

/**
 * The port the cluster was last started on (its port file), or undefined when it has none. A file that does
 * not hold a port is refused, naming it and the fix, rather than used as NaN.
 * @param {ClusterPaths} paths
 */
function recordedPort(paths) {
  let raw;
  try {
    raw = fs.readFileSync(paths.portFile, "utf8");
  } catch (error) {
    if (error.code === "ENOENT") return undefined;
    throw error;
  }
  const port = validPort(raw.trim());
  if (port === undefined) {
    throw new SetupError(
      `${paths.portFile} should hold the port the local cluster runs on (1024 to 65535), but holds "${raw.trim().slice(0, 40)}". Write the cluster's port into it (54329 unless you gave NEONHUB_PG_PORT), or delete the file and start the cluster again: npm run local -- stop && rm ${paths.portFile} && npm run local`,
    );
  }
  return port;
}

/** The way out of a cluster folder this script cannot use; it deletes the local data. */
const RECREATE =
  "Recreate the cluster (this deletes the local data): npm run local -- destroy && npm run local";

/** Files beside the data folder that belong to one cluster: a new cluster gets new ones (as on a first run). */
const PER_CLUSTER_FILES = ["admin.password", "logins.json", "neonhub.env", ".initdb-password"];

/**
 * Makes the cluster once. initdb writes into a temporary folder beside the data folder, which is renamed into
 * place only after the admin password is stored: an interrupted initdb (Ctrl-C, a crash) leaves no data folder,
 * and the next run starts over. A data folder whose parent is still there (deleted by hand) is made again,
 * with new passwords. A data folder that is there but unusable (no admin password, no PG_VERSION) is refused
 * with the way out, rather than deleted. This is the one place that decides a cluster is new: the files of
 * PER_CLUSTER_FILES and `describedBy` (elsewhere, about the old cluster) are deleted here, and only here.
 * @param {PgInstall} pg
 * @param {ClusterPaths} paths
 * @param {string[]} describedBy
 */
function initCluster(pg, paths, describedBy) {
  const existing = clusterVersion(paths);
  if (existing !== undefined) {
    if (existing !== pg.major) {
      throw new SetupError(
        `The cluster in ${paths.data} was made by PostgreSQL ${existing}, but PostgreSQL ${pg.major} is the one installed with pgvector. Remove it with \`npm run local -- destroy\` (this deletes its data) and run again.`,
      );
    }
    readAdminPassword(paths);
    return false;
  }
  if (fs.existsSync(paths.data)) {
    if (fs.readdirSync(paths.data).length > 0) {
      throw new SetupError(
        `${paths.data} is not a PostgreSQL data folder (it has no PG_VERSION): an interrupted setup, or files removed by hand. ${RECREATE}`,
      );
    }
    fs.rmdirSync(paths.data);
  }
  prepareClusterDir(paths);
  const building = `${paths.data}.initdb`;
  // Left by an interrupted run; its initdb may still be removing it (retries: ENOTEMPTY meanwhile).
  fs.rmSync(building, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  for (const file of PER_CLUSTER_FILES) fs.rmSync(path.join(paths.root, file), { force: true });
  for (const file of describedBy) fs.rmSync(file, { recursive: true, force: true });
  const password = crypto.randomBytes(18).toString("base64url");
  // initdb reads the superuser password from a file the server user can read; it lives only for initdb.
  const pwfile = path.join(paths.root, ".initdb-password");
  fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (isRoot()) {
    const { uid, gid } = serverUserIds();
    fs.chownSync(pwfile, uid, gid);
  }
  log(`initdb ${paths.data} (PostgreSQL ${pg.version})`);
  const result = runServerCommand(pg, "initdb", [
    "-D",
    building,
    "-U",
    "postgres",
    "--pwfile",
    pwfile,
    "--auth-host=scram-sha-256",
    "--auth-local=reject",
    "--encoding=UTF8",
    "--locale=C.UTF-8",
  ]);
  fs.rmSync(pwfile, { force: true });
  if (result.status !== 0) {
    fs.rmSync(building, { recursive: true, force: true });
    throw new SetupError(`initdb failed for ${paths.data}:\n${result.stderr.trim()}`);
  }
  const passwordTemp = `${paths.passwordFile}.new`;
  fs.writeFileSync(passwordTemp, password, { mode: 0o600 });
  fs.renameSync(passwordTemp, paths.passwordFile);
  fs.renameSync(building, paths.data);
  return true;
}

/** The admin password initdb was given; a missing or unreadable file is refused with the way out. */
function readAdminPassword(paths) {
  let password;
  try {
    password = fs.readFileSync(paths.passwordFile, "utf8").trim();
  } catch (error) {
    if (error.code !== "ENOENT") throw error;
  }
  if (!password || !/^[\x21-\x7e]+$/.test(password)) {
    throw new SetupError(
      `The local cluster's admin password file ${paths.passwordFile} is ${password === undefined ? "missing" : "damaged"}, so the cluster's superuser cannot log in. ${RECREATE}`,
    );
  }
  return password;
}

/**
 * Creates (once) and starts (when stopped) a cluster. Returns the admin connection string. `describedBy`:
 * files or folders outside the cluster's folder that describe this cluster (a Pulumi stack's state of its
 * roles and release, say), deleted when the cluster is made anew, since they would describe a cluster that
 * is gone.
 * @param {{ pg: PgInstall, name: string, port?: number, settings?: Record<string, string>, root?: string, describedBy?: string[] }} options
 */
async function ensureCluster({ pg, name, port, settings = {}, root, describedBy = [] }) {
  const paths = clusterPaths(name, root);
  const created = initCluster(pg, paths, describedBy);
  const recorded = recordedPort(paths);
  const wantPort = port ?? recorded ?? 54329;
  let started = false;
  if (isRunning(pg, paths)) {
    if (recorded !== undefined && wantPort !== recorded) {
      throw new SetupError(
        `The cluster ${name} is running on port ${recorded}, not ${wantPort}. Stop it first (\`npm run local -- stop\`), then start it on the new port.`,
      );
    }
  } else {
    if (!(await portIsFree(wantPort))) {
      throw new SetupError(
        `Port ${wantPort} on 127.0.0.1 is already in use by another program. Free it, or choose another port: NEONHUB_PG_PORT=${wantPort + 1} npm run local`,
      );
    }
    const options = {
      port: String(wantPort),
      listen_addresses: "127.0.0.1",
      unix_socket_directories: "",
      ...settings,
    };
    const flags = Object.entries(options)
      .map(([key, value]) => `-c ${key}=${value === "" ? "''" : value}`)
      .join(" ");
    const result = runServerCommand(pg, "pg_ctl", [
      "start",
      "-D",
      paths.data,
      "-l",
      paths.logFile,
      "-w",
      "-t",
      "60",
      "-o",
      flags,
    ]);
    if (result.status !== 0) {
      const tail = readTail(paths.logFile, 10);
      throw new SetupError(
        `PostgreSQL did not start (cluster ${name}, port ${wantPort}):\n${result.stderr.trim()}\n${tail}`,
      );
    }
    fs.writeFileSync(paths.portFile, String(wantPort));
    started = true;
  }
  return {
    created,
    started,
    port: wantPort,
    paths,
    adminUrl: adminUrlOf(paths, wantPort, "postgres"),
  };
}

/** The superuser's URL for `database`, from the password initdb was given and the port the cluster runs on. */
function adminUrlOf(paths, port, database) {
  const password = readAdminPassword(paths);
  return `postgresql://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

/** The superuser's URL for `database` of a cluster made before, or undefined when it was never started. */
function localAdminUrl(paths, database) {
  const port = recordedPort(paths);
  return port === undefined ? undefined : adminUrlOf(paths, port, database);
}

function readTail(file, lines) {
  try {
    return fs.readFileSync(file, "utf8").trim().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/**
 * Stops the cluster if it runs; returns whether anything changed.
 * @param {{ pg: PgInstall, name: string, root?: string }} options
 */
function stopCluster({ pg, name, root = undefined }) {
  const paths = clusterPaths(name, root);
  if (!isRunning(pg, paths)) return false;
  const result = runServerCommand(pg, "pg_ctl", ["stop", "-D", paths.data, "-m", "fast", "-w", "-t", "60"]);
  if (result.status !== 0)
    throw new SetupError(`pg_ctl stop failed for cluster ${name}:\n${result.stderr.trim()}`);
  return true;
}

/**
 * Stops and deletes a cluster and its data.
 * @param {{ pg: PgInstall, name: string, root?: string }} options
 */
function destroyCluster({ pg, name, root = undefined }) {
  const paths = clusterPaths(name, root);
  stopCluster({ pg, name, root });
  const existed = fs.existsSync(paths.root);
  fs.rmSync(paths.root, { recursive: true, force: true });
  return existed;
}

module.exports = {
  CLUSTERS_ROOT,
  localAdminUrl,
  clustersRoot,
  PROJECT_ROOT,
  clusterPaths,
  destroyCluster,
  ensureCluster,
  freePort,
  isRunning,
  parsePort,
  recordedPort,
  withClusterLock,
  RECREATE,
  clusterVersion,
  runServerCommand,
  stopCluster,
};
