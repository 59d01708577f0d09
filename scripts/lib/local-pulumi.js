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
const { withoutConnectionSettings } = require("./local-env");

const STACK = "local";
const LOCAL_PASSPHRASE = "neonhub-local-stack-not-a-secret";

/**
 * Where the local stack's files are: the project's (Pulumi.yaml, the tracked Pulumi.local.yaml) and the
 * machine's copy under .local/.
 * @param {string} [projectRoot]
 */
function localStackPaths(projectRoot = PROJECT_ROOT) {
  const workDir = path.join(projectRoot, ".local", "pulumi");
  return { projectRoot, workDir, configFile: path.join(workDir, "Pulumi.local.yaml") };
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
  const state = path.join(PROJECT_ROOT, ".local", "pulumi-state");
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

/**
 * Runs `pulumi up --stack local` against the running cluster and returns the stack outputs.
 * @param {{ adminUrl: string }} running
 */
function pulumiUpLocal(running) {
  const env = pulumiEnv();
  const stackArgs = prepareLocalStack(running.adminUrl, env);
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

module.exports = { pulumiOnPath, pulumiUpLocal, pulumiEnv, prepareLocalStack, localStackPaths };
