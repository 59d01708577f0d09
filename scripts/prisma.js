#!/usr/bin/env node
// `node scripts/prisma.js <prisma args>`: Prisma's own CLI, made to work offline. The CLI checks at start-up
// that its schema engine binary is there and downloads it from Prisma's servers when it is not, even for
// `generate` and `validate`, which only use the WebAssembly modules shipped in the npm package. Without a
// downloaded engine (and no PRISMA_SCHEMA_ENGINE_BINARY), this points the check at a stand-in, and refuses
// up front the commands that need the engine (`db`, `migrate`): they would otherwise end in an empty answer
// that reads as a pass, such as `migrate diff` printing no DDL.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const PROJECT_ROOT = path.resolve(__dirname, "..");
const STAND_IN = path.join(__dirname, "lib", "schema-engine-offline.js");

function downloadedEngine() {
  const dir = path.join(PROJECT_ROOT, "node_modules", "@prisma", "engines");
  try {
    return fs.readdirSync(dir).some((name) => name.startsWith("schema-engine"));
  } catch {
    return false;
  }
}

function prismaEnv(env = process.env) {
  if (env.PRISMA_SCHEMA_ENGINE_BINARY || downloadedEngine()) return env;
  return {
    ...env,
    PRISMA_SCHEMA_ENGINE_BINARY: STAND_IN,
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
  };
}

// `db seed` runs the config's seed command and `--help` prints text: neither starts the engine.
function needsSchemaEngine(args) {
  const [command, subcommand] = args.filter((arg) => !arg.startsWith("-"));
  if (args.includes("--help") || args.includes("-h")) return false;
  return command === "migrate" || (command === "db" && subcommand !== "seed");
}

/** Why `args` cannot run under `env` (the stand-in would answer for the engine), or undefined. */
function offlineRefusal(args, env) {
  if (!needsSchemaEngine(args) || path.resolve(env.PRISMA_SCHEMA_ENGINE_BINARY ?? "") !== STAND_IN)
    return undefined;
  const command = args.filter((arg) => !arg.startsWith("-")).slice(0, 2);
  const { offlineMessage } = require("./lib/schema-engine-offline.js");
  return `${offlineMessage(`\`prisma ${command.join(" ")}\``)}\n`;
}

/** Runs the Prisma CLI, or refuses as above; returns its status, stdout and stderr (piped) like spawnSync. */
function runPrisma(args, options = {}) {
  const env = prismaEnv(options.env);
  const refusal = offlineRefusal(args, env);
  if (refusal !== undefined) {
    if ((options.stdio ?? "inherit") === "inherit") process.stderr.write(refusal);
    return { status: 1, stdout: "", stderr: refusal };
  }
  const cli = path.join(PROJECT_ROOT, "node_modules", "prisma", "build", "index.js");
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd: PROJECT_ROOT,
    env,
    stdio: options.stdio ?? "inherit",
    encoding: "utf8",
  });
  return result;
}

if (require.main === module) {
  const result = runPrisma(process.argv.slice(2));
  process.exit(result.status ?? 1);
}

module.exports = { runPrisma, prismaEnv, downloadedEngine };
