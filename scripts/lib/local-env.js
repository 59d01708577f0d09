// The local stack without a Pulumi CLI: the `neonhub` database in the local cluster, the schema release
// applied by the release engine's CLI, and a .env file with the connection strings.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { PROJECT_ROOT } = require("./deps");
const { SetupError, log } = require("./report");
const { redactUrl: redact } = require("./redact");

const DATABASE = "neonhub";
const SEED_SETS = ["demo"];

function withDatabase(url, database) {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function ensureDatabase(adminUrl, database) {
  // Loaded here: `pg` exists only after ensureNodeModules() ran.
  const { Client } = require("pg");
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database]);
    if (found.rowCount) return false;
    await client.query(`CREATE DATABASE "${database}"`);
    log(`created database ${database}`);
    return true;
  } finally {
    await client.end();
  }
}

/** @param {{ adminUrl: string, paths: { root: string } }} running */
async function localEnvironment(running) {
  const createdDatabase = await ensureDatabase(running.adminUrl, DATABASE);
  const url = withDatabase(running.adminUrl, DATABASE);
  // Without Pulumi there are no generated roles: app and migrator share the cluster's admin login.
  // `pulumi up --stack local` adds the owner/migrator/app/read-only roles (see README, "Stacks").
  const databaseUrl = url;
  const directUrl = url;
  return {
    database: DATABASE,
    createdDatabase,
    databaseUrl,
    directUrl,
    redacted: { databaseUrl: redact(databaseUrl), directUrl: redact(directUrl) },
    envFile: path.join(running.paths.root, "neonhub.env"),
    applyRelease: ({ json }) => applyRelease(directUrl, json),
  };
}

/**
 * The environment `pulumi up --stack local` made: app and migrator logins from the stack outputs.
 * @param {{ paths: { root: string } }} running
 * @param {{ databaseUrl: string, directUrl: string }} outputs
 */
function pulumiEnvironment(running, outputs) {
  return {
    database: decodeURIComponent(new URL(outputs.databaseUrl).pathname.slice(1)),
    createdDatabase: false,
    databaseUrl: outputs.databaseUrl,
    directUrl: outputs.directUrl,
    redacted: { databaseUrl: redact(outputs.databaseUrl), directUrl: redact(outputs.directUrl) },
    envFile: path.join(running.paths.root, "neonhub.env"),
  };
}

/** Runs `neonhub-db apply` and returns its JSON summary. Progress goes to stderr as the CLI prints it. */
function applyRelease(directUrl, json) {
  const cli = path.join(PROJECT_ROOT, "bin", "neonhub-db.js");
  const args = [cli, "apply", "--json", ...SEED_SETS.flatMap((s) => ["--seed", s])];
  log(`neonhub-db apply ${SEED_SETS.map((s) => `--seed ${s}`).join(" ")}`);
  const result = spawnSync(process.execPath, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, DATABASE_URL: directUrl },
    encoding: "utf8",
    stdio: ["ignore", "pipe", json ? "pipe" : "inherit"],
  });
  if (result.status !== 0) {
    const detail = json ? `\n${result.stderr.trim()}` : "";
    throw new SetupError(
      `Applying the schema release to the local database failed (exit ${result.status}).${detail}`,
    );
  }
  const report = JSON.parse(result.stdout);
  return { changed: report.changed === true, summary: report.summary ?? report };
}

function writeEnvFile(env) {
  const text = [`DATABASE_URL=${env.databaseUrl}`, `DIRECT_URL=${env.directUrl}`, ""].join("\n");
  fs.writeFileSync(env.envFile, text, { mode: 0o600 });
}

module.exports = { localEnvironment, pulumiEnvironment, writeEnvFile, withDatabase };
