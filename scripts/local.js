#!/usr/bin/env node
// `npm run local [-- up|stop|status|env|destroy] [--json] [--no-pulumi]`: the embedded default environment.
//   With a `pulumi` on PATH, up runs `pulumi up --stack local` (roles, generated secrets); --no-pulumi, or no
//   Pulumi CLI, makes the roles with SQL as the cluster's admin and applies the release with the release
//   engine's CLI as the migrator. One command at a time; the shell's DATABASE_URL, DIRECT_URL, PG* and
//   PULUMI_* variables never change which database or stack it works on.
//   up (default)  install what is missing, start the local cluster, apply the schema release, print DSNs
//   stop          stop the cluster (keeps its data)
//   status        whether the cluster runs, and where
//   env           print DATABASE_URL / DIRECT_URL lines with passwords, for a .env file or this shell:
//                 set -a; eval "$(npm run -s local -- env)"; set +a   (a plain eval does not export them)
//                 env --admin: ADMIN_URL alone (the cluster's superuser, for neonhub-db baseline/adopt only)
//   destroy       stop the cluster and delete its data
// NEONHUB_PG_PORT=<1024..65535> npm run local: the cluster's port (default 54329); the port it last started
//   on is kept until destroy, so later runs need not repeat it (stop first to move it).
// Exit codes: 0 done (or nothing to change), 1 a problem, told on stderr with the fix.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { ensureNodeModules, PROJECT_ROOT } = require("./lib/deps");
const { ensurePostgres, findServerTools } = require("./lib/postgres");
const cluster = require("./lib/cluster");
const { SetupError, log, runMain } = require("./lib/report");
const { parseCommandLine } = require("./lib/args");
const { checkAdminLogin, localEnvironment, pulumiEnvironment, writeEnvFile } = require("./lib/local-env");
const { localStackFiles, pulumiOnPath, pulumiUpLocal } = require("./lib/local-pulumi");

const CLUSTER = "local";
const COMMANDS = ["up", "stop", "status", "env", "destroy"];

function parseArgs(argv) {
  const unknown = (arg) =>
    new SetupError(
      `Unknown argument "${arg}". Usage: npm run local [-- ${COMMANDS.join("|")}] [--json] [--no-pulumi] [--admin (env only)]`,
    );
  const { values, positionals } = parseCommandLine(
    argv,
    {
      json: { type: "boolean" },
      "no-pulumi": { type: "boolean" },
      admin: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    { unknown, missingValue: unknown },
  );
  const bad = positionals.find((arg) => !COMMANDS.includes(arg));
  if (bad !== undefined) throw unknown(bad);
  if (positionals.length > 1) {
    throw new SetupError(
      `One command at a time, got "${positionals.join(" ")}". Usage: npm run local [-- ${COMMANDS.join("|")}] [--json] [--no-pulumi] [--admin (env only)]`,
    );
  }
  const command = values.help ? "help" : (positionals[0] ?? "up");
  if (values.admin && command !== "env") throw unknown("--admin");
  return {
    command,
    json: values.json ?? false,
    pulumi: !values["no-pulumi"],
    admin: values.admin ?? false,
  };
}

function configuredPort() {
  const raw = process.env.NEONHUB_PG_PORT;
  return raw === undefined || raw === "" ? undefined : cluster.parsePort(raw, "NEONHUB_PG_PORT");
}

/** A path inside the clone relative to it; one elsewhere (see clustersRoot in lib/cluster.js) in full. */
function shownPath(file) {
  const relative = path.relative(PROJECT_ROOT, file);
  return relative.startsWith("..") ? file : relative;
}

function print(json, value, text) {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

// Said on every run, a run that changed nothing included: it says where the roles and the release come from,
// not that this run made them.
const ENGINE_ONLY_NOTE =
  "No Pulumi CLI on PATH: the owner, migrator, app and read-only roles come from the access definition (as infra/access.ts makes them), and neonhub-db applies the release as the migrator. With Pulumi installed, `npm run local` runs `pulumi up --stack local` instead.";

async function up(args) {
  const started = Date.now();
  const installedDeps = ensureNodeModules();
  const pg = ensurePostgres();
  // The local stack's state describes the roles, grants and release of one cluster: a cluster made anew
  // (after destroy, or a deleted data folder) starts the stack over instead of previewing against a gone one.
  const running = await cluster.ensureCluster({
    pg,
    name: CLUSTER,
    port: configuredPort(),
    describedBy: localStackFiles(),
  });
  await checkAdminLogin(running);
  const pulumiVersion = args.pulumi ? pulumiOnPath() : undefined;
  let env;
  let release;
  if (pulumiVersion) {
    log(`using the Pulumi CLI on PATH (${pulumiVersion}): pulumi up --stack local`);
    const outputs = await pulumiUpLocal(running);
    env = pulumiEnvironment(running, outputs);
    // pulumi up prints its own changes; whether it changed anything is not summarized here.
    release = { changed: undefined, summary: outputs.schemaRelease };
  } else {
    env = await localEnvironment(running);
    release = await env.applyRelease({ json: args.json });
    if (!args.json) log(ENGINE_ONLY_NOTE);
  }
  writeEnvFile(env);
  const changed =
    release.changed === undefined
      ? null
      : installedDeps || running.created || running.started || env.createdDatabase || release.changed;
  const summary = {
    changed,
    via: pulumiVersion ? "pulumi" : "neonhub-db",
    cluster: {
      port: running.port,
      data: shownPath(running.paths.data),
      postgres: pg.version,
    },
    database: env.database,
    databaseUrl: env.redacted.databaseUrl,
    directUrl: env.redacted.directUrl,
    ...(env.redacted.adminUrl ? { adminUrl: env.redacted.adminUrl, roles: env.roles } : {}),
    envFile: shownPath(env.envFile),
    release: release.summary,
    seconds: Number(((Date.now() - started) / 1000).toFixed(2)),
  };
  print(
    args.json,
    summary,
    [
      changed === false ? "Local environment is up; nothing changed." : "Local environment is up.",
      `  PostgreSQL ${pg.version} with pgvector on 127.0.0.1:${running.port} (${summary.cluster.data})`,
      `  DATABASE_URL=${env.redacted.databaseUrl}   (the app login: row-level security in force)`,
      `  DIRECT_URL=${env.redacted.directUrl}   (the migrator: migrations, seeds, bulk loads)`,
      ...(env.redacted.adminUrl
        ? [`  admin (the cluster's superuser, for setup only, never for an app): ${env.redacted.adminUrl}`]
        : []),
      `  Full connection strings (with passwords) are in ${summary.envFile}; print them with: npm run -s local -- env`,
      `  Stop the cluster with: npm run local -- stop`,
    ].join("\n"),
  );
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.command === "help") {
    print(
      false,
      null,
      fs
        .readFileSync(__filename, "utf8")
        .split("\n")
        .slice(1)
        // --help is the comment at the top of this file.
        .filter((line, index, lines) => lines.slice(0, index + 1).every((l) => l.startsWith("//")))
        .join("\n")
        .replace(/^\/\/ ?/gm, ""),
    );
    return 0;
  }
  const paths = cluster.clusterPaths(CLUSTER);
  if (args.command === "up") return cluster.withClusterLock(paths, () => up(args));
  if (args.command === "env") return printEnv(args, paths);

  // stop, status and destroy only need pg_ctl, and only when there is a cluster: nothing is installed.
  const version = cluster.clusterVersion(paths);
  const pg = version === undefined ? undefined : findServerTools(version);
  if (version !== undefined && !pg) {
    throw new SetupError(
      `The local cluster in ${shownPath(paths.data)} was made by PostgreSQL ${version}, but no PostgreSQL installation is found to run pg_ctl with. Install PostgreSQL ${version} again (or set NEONHUB_PG_BINDIR to its bin folder).`,
    );
  }
  if (args.command === "stop") {
    const changed = await cluster.withClusterLock(paths, () => cluster.stopCluster({ pg, name: CLUSTER }));
    print(
      args.json,
      { changed },
      changed ? "Local cluster stopped." : "Local cluster was not running; nothing changed.",
    );
  } else if (args.command === "destroy") {
    const changed = await cluster.withClusterLock(paths, () => cluster.destroyCluster({ pg, name: CLUSTER }));
    print(
      args.json,
      { changed },
      changed ? "Local cluster deleted." : "There was no local cluster; nothing changed.",
    );
  } else if (args.command === "status") {
    const running = pg !== undefined && cluster.isRunning(pg, paths);
    const port = cluster.recordedPort(paths) ?? null;
    print(
      args.json,
      { running, port },
      running ? `Local cluster runs on 127.0.0.1:${port}.` : "Local cluster is not running.",
    );
  }
  return 0;
}

/** `env`: what the last `up` wrote; needs no PostgreSQL installation. */
function printEnv(args, paths) {
  const envFile = path.join(paths.root, "neonhub.env");
  if (!fs.existsSync(envFile)) throw new SetupError("No local environment yet. Run `npm run local` first.");
  const text = fs.readFileSync(envFile, "utf8");
  // --json: the same variables as one object, for a program that reads them.
  const variables = Object.fromEntries(
    text
      .split("\n")
      .map((line) => /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line))
      .filter(Boolean)
      .map((match) => [match[1], match[2]]),
  );
  // The cluster's superuser, for `neonhub-db baseline`/`adopt` (CREATEDB): only when asked for with --admin,
  // never with the app's variables (`env > .env` would hand it to an app) nor in the summary or neonhub.env.
  if (args.admin) {
    const adminUrl = cluster.localAdminUrl(
      paths,
      decodeURIComponent(new URL(variables.DATABASE_URL).pathname.slice(1)),
    );
    if (!adminUrl) throw new SetupError("The local cluster was never started. Run `npm run local` first.");
    print(args.json, { ADMIN_URL: adminUrl }, `ADMIN_URL=${adminUrl}`);
  } else {
    print(args.json, variables, text.trimEnd());
  }
  return 0;
}

// --json as the command line asks for it, even one the parser refuses (`--json bogus`): the error is then the
// one JSON document, as neonhub-db does for `--json=true`.
runMain(main, { json: process.argv.slice(2).some((arg) => arg === "--json" || arg.startsWith("--json=")) });
