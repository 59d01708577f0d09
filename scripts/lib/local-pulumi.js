// The local stack through a real Pulumi CLI (`pulumi up --stack local`), used by `npm run local` when a
// `pulumi` is on PATH. It adds what the engine-only path lacks: the owner/migrator/app/read-only roles with
// generated passwords, grants, default privileges, and the connection strings as stack outputs.
//
// The stack's config lives in a copy of Pulumi.local.yaml under .local/, given to every command with
// --config-file: the admin connection of this machine's cluster (secret) and the passphrase provider's salt
// are machine-specific and must not end up in the tracked stack file.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { PROJECT_ROOT } = require("./deps");
const { SetupError, log } = require("./report");

const STACK = "local";
const LOCAL_PASSPHRASE = "neonhub-local-stack-not-a-secret";
const WORK_DIR = path.join(PROJECT_ROOT, ".local", "pulumi");
const CONFIG_FILE = path.join(WORK_DIR, "Pulumi.local.yaml");

/** The `pulumi` on PATH, if any. */
function pulumiOnPath() {
  const found = spawnSync("pulumi", ["version"], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/**
 * The user's backend and secrets choices win; otherwise a file backend under .local and a local passphrase.
 * @param {NodeJS.ProcessEnv} [base]
 * @returns {NodeJS.ProcessEnv}
 */
function pulumiEnv(base = process.env) {
  const env = { ...base, PULUMI_SKIP_UPDATE_CHECK: "true" };
  if (!env.PULUMI_BACKEND_URL) {
    const state = path.join(PROJECT_ROOT, ".local", "pulumi-state");
    fs.mkdirSync(state, { recursive: true });
    env.PULUMI_BACKEND_URL = `file://${state}`;
    if (!env.PULUMI_CONFIG_PASSPHRASE && !env.PULUMI_CONFIG_PASSPHRASE_FILE) {
      // Protects only this throwaway loopback stack's state; not a secret of any real stack.
      env.PULUMI_CONFIG_PASSPHRASE = LOCAL_PASSPHRASE;
    }
  }
  return env;
}

/** Pulumi.local.yaml as tracked, plus the salt of the passphrase provider from the previous run. */
function writeConfigFile() {
  fs.mkdirSync(WORK_DIR, { recursive: true });
  const tracked = fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.local.yaml"), "utf8");
  const previous = fs.existsSync(CONFIG_FILE) ? fs.readFileSync(CONFIG_FILE, "utf8") : "";
  const salt = /^encryptionsalt: .*$/m.exec(previous)?.[0];
  fs.writeFileSync(CONFIG_FILE, salt ? `${salt}\n${tracked}` : tracked, { mode: 0o600 });
}

function pulumi(args, env, options = {}) {
  const result = spawnSync("pulumi", [...args, "--non-interactive"], {
    cwd: PROJECT_ROOT,
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
  writeConfigFile();
  const stackArgs = ["--stack", STACK, "--config-file", CONFIG_FILE];
  const stacks = pulumi(["stack", "ls", "--json"], env, { capture: true });
  if (!JSON.parse(stacks).some((s) => s.name === STACK || s.name.endsWith(`/${STACK}`))) {
    log(`pulumi stack init ${STACK}`);
    pulumi(["stack", "init", STACK, "--config-file", CONFIG_FILE], env);
  }
  // Through stdin, so the password never appears in a process list.
  pulumi(["config", "set", "--secret", "neonhub-db:adminUrl", ...stackArgs], env, {
    input: running.adminUrl,
  });
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

module.exports = { pulumiOnPath, pulumiUpLocal, pulumiEnv, CONFIG_FILE };
