// The local stack through a real Pulumi CLI (`pulumi up --stack local`), used by `npm run local` when a
// `pulumi` is on PATH. It adds what the engine-only path lacks: the owner/migrator/app/read-only roles with
// generated passwords, grants, default privileges, and the connection strings as stack outputs.
//
// The stack's config lives in a copy of Pulumi.local.yaml under .local/, given to every command with
// --config-file: the admin connection of this machine's cluster (secret) and the passphrase provider's salt
// are machine-specific and must not end up in the tracked stack file. `pulumi stack init` has no --config-file:
// it writes the salt into the stack file beside the project file it finds, so it runs under .local/ beside a
// copy of Pulumi.yaml, where that stack file is the copy.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { PROJECT_ROOT } = require("./deps");
const { SetupError, log } = require("./report");
const { dropAccessOutsideStack, withoutConnectionSettings } = require("./local-env");

const STACK = "local";
/** The project's name in Pulumi.yaml: the file backend keeps a project's stacks under it. */
const PROJECT = "neonhub-db";
const LOCAL_PASSPHRASE = "neonhub-local-stack-not-a-secret";

/**
 * Where the local stack's files are: the project's (Pulumi.yaml, the tracked Pulumi.local.yaml), the machine's
 * copy of its config and its file backend (stateDir), under .local/. With NEONHUB_LOCAL_ROOT (tests' own
 * clusters) the machine's files go beside those clusters, so that a test never uses or drops the clone's stack.
 * @param {string} [projectRoot]
 * @param {NodeJS.ProcessEnv} [env]
 */
function localStackPaths(projectRoot = PROJECT_ROOT, env = process.env) {
  const machineDir = env.NEONHUB_LOCAL_ROOT
    ? path.join(env.NEONHUB_LOCAL_ROOT, "local-stack")
    : path.join(projectRoot, ".local");
  const workDir = path.join(machineDir, "pulumi");
  return {
    projectRoot,
    workDir,
    configFile: path.join(workDir, "Pulumi.local.yaml"),
    stateDir: path.join(machineDir, "pulumi-state"),
  };
}

/**
 * The files that hold the local stack, and only it, in its file backend (in both layouts Pulumi's file backend
 * has used: stacks per project, and the older one without projects), and the machine's copy of its config
 * (the passphrase's salt, the old admin connection). They describe one cluster's roles, grants and release:
 * a cluster made anew starts the stack over, as on a first run. Other stacks of the backend are left alone.
 * @param {ReturnType<typeof localStackPaths>} [paths]
 * @returns {string[]}
 */
function localStackFiles(paths = localStackPaths()) {
  const bookkeeping = path.join(paths.stateDir, ".pulumi");
  const files = [paths.configFile];
  for (const scope of [[PROJECT], []]) {
    const checkpoint = path.join(bookkeeping, "stacks", ...scope, STACK);
    for (const format of [".json", ".json.gz", ".json.zst"])
      files.push(checkpoint + format, `${checkpoint}${format}.bak`);
    files.push(
      `${checkpoint}.pulumi-tags`,
      path.join(bookkeeping, "history", ...scope, STACK),
      path.join(bookkeeping, "backups", ...scope, STACK),
    );
  }
  // A lock left by a `pulumi up` that was killed: named by the stack's full name.
  files.push(
    path.join(bookkeeping, "locks", "organization", PROJECT, STACK),
    path.join(bookkeeping, "locks", STACK),
  );
  return files;
}

/** The `pulumi` on PATH, if any. */
function pulumiOnPath() {
  const found = spawnSync("pulumi", ["version"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/**
 * The local stack's own settings, whatever the shell holds: a file backend under .local and a local
 * passphrase. A shell's PULUMI_* variables (a team backend, another passphrase, PULUMI_CONFIG) and database
 * connection settings (DIRECT_URL, PGPASSWORD, ...) are for other stacks: with them the local stack could be
 * looked up in, or written to, another backend, or reach another database. Only PULUMI_HOME (the CLI's
 * plugins and settings) is kept.
 * @param {NodeJS.ProcessEnv} [base]
 * @returns {NodeJS.ProcessEnv}
 */
function pulumiEnv(base = process.env) {
  const env = Object.fromEntries(
    Object.entries(withoutConnectionSettings(base)).filter(
      ([name]) => !name.startsWith("PULUMI_") || name === "PULUMI_HOME",
    ),
  );
  const state = localStackPaths(PROJECT_ROOT, base).stateDir;
  fs.mkdirSync(state, { recursive: true });
  return {
    ...env,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_BACKEND_URL: `file://${state}`,
    // Protects only this throwaway loopback stack's state; not a secret of any real stack.
    PULUMI_CONFIG_PASSPHRASE: LOCAL_PASSPHRASE,
  };
}

/**
 * Pulumi.local.yaml as tracked, plus the salt of the passphrase provider from the previous run; and the
 * project file beside it, for `pulumi stack init` to find.
 * @param {ReturnType<typeof localStackPaths>} paths
 */
function writeConfigFile(paths) {
  fs.mkdirSync(paths.workDir, { recursive: true });
  fs.copyFileSync(path.join(paths.projectRoot, "Pulumi.yaml"), path.join(paths.workDir, "Pulumi.yaml"));
  const tracked = fs.readFileSync(path.join(paths.projectRoot, "Pulumi.local.yaml"), "utf8");
  const previous = fs.existsSync(paths.configFile) ? fs.readFileSync(paths.configFile, "utf8") : "";
  const salt = /^encryptionsalt: .*$/m.exec(previous)?.[0];
  fs.writeFileSync(paths.configFile, salt ? `${salt}\n${tracked}` : tracked, { mode: 0o600 });
}

function pulumi(args, env, options = {}) {
  const result = spawnSync("pulumi", [...args, "--non-interactive"], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env,
    encoding: "utf8",
    input: options.input,
    stdio: [
      options.input === undefined ? "ignore" : "pipe",
      options.capture ? "pipe" : process.stderr,
      process.stderr,
    ],
  });
  if (result.status !== 0) {
    throw new SetupError(
      `pulumi ${args[0]} ${args[1] ?? ""} failed (exit ${result.status}); see its output above.`,
    );
  }
  return result.stdout;
}

/** The access layer's resources (infra/access.ts) that create what they find existing: a Role, the Database. */
const ACCESS_TYPES = ["postgresql:index/role:Role", "postgresql:index/database:Database"];

/**
 * Whether the local stack's state (`pulumi stack export`'s document) holds the access layer's roles or
 * database. A new stack's holds no resources; one whose first `pulumi up` failed on roles that existed holds
 * its passwords but no role.
 * @param {{ deployment?: { resources?: { type: string }[] } }} exported
 */
function managesAccess(exported) {
  return (exported.deployment?.resources ?? []).some((resource) => ACCESS_TYPES.includes(resource.type));
}

/**
 * Whether the local stack (made: prepareLocalStack) has made the access layer, from its state.
 * @param {NodeJS.ProcessEnv} env
 * @param {ReturnType<typeof localStackPaths>} [paths]
 */
function stackManagesAccess(env, paths = localStackPaths()) {
  const state = pulumi(["stack", "export", "--stack", STACK], env, {
    capture: true,
    cwd: paths.projectRoot,
  });
  return managesAccess(JSON.parse(state));
}

/**
 * Runs `pulumi up --stack local` against the running cluster and returns the stack outputs.
 * @param {{ adminUrl: string, paths: { root: string } }} running
 */
async function pulumiUpLocal(running) {
  const env = pulumiEnv();
  const stackArgs = prepareLocalStack(running.adminUrl, env);
  // A stack that has not made the access layer yet cannot create roles the cluster has (--no-pulumi's).
  if (!stackManagesAccess(env)) await dropAccessOutsideStack(running);
  log("pulumi up --stack local");
  pulumi(["up", "--yes", "--skip-preview", ...stackArgs], env);
  const outputs = JSON.parse(
    pulumi(["stack", "output", "--json", "--show-secrets", "--stack", STACK], env, { capture: true }),
  );
  return {
    databaseUrl: outputs.databaseUrl,
    directUrl: outputs.directUrl,
    schemaRelease: outputs.schemaRelease,
  };
}

/**
 * The local stack, made if missing, with this machine's admin connection as its secret config; the tracked
 * Pulumi.local.yaml is left as it is. Returns the arguments that name the stack and its config file.
 * @param {string} adminUrl
 * @param {NodeJS.ProcessEnv} env
 * @param {ReturnType<typeof localStackPaths>} [paths]
 */
function prepareLocalStack(adminUrl, env, paths = localStackPaths()) {
  writeConfigFile(paths);
  const stackArgs = ["--stack", STACK, "--config-file", paths.configFile];
  const stacks = pulumi(["stack", "ls", "--json"], env, { capture: true, cwd: paths.projectRoot });
  if (!JSON.parse(stacks).some((s) => s.name === STACK || s.name.endsWith(`/${STACK}`))) {
    log(`pulumi stack init ${STACK}`);
    pulumi(["stack", "init", STACK], env, { cwd: paths.workDir });
  }
  // Through stdin, so the password never appears in a process list.
  pulumi(["config", "set", "--secret", "neonhub-db:adminUrl", ...stackArgs], env, {
    input: adminUrl,
    cwd: paths.projectRoot,
  });
  return stackArgs;
}

module.exports = {
  managesAccess,
  stackManagesAccess,
  pulumiOnPath,
  pulumiUpLocal,
  pulumiEnv,
  prepareLocalStack,
  localStackFiles,
  localStackPaths,
};
