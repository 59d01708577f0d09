#!/usr/bin/env node
// `node scripts/prisma.js <prisma args>`: Prisma's own CLI, made to work offline. The CLI checks at start-up
// that its schema engine binary is there and downloads it from Prisma's servers when it is not, even for
// `generate` and `validate`, which only use the WebAssembly modules shipped in the npm package. Without a
// downloaded engine (and no PRISMA_SCHEMA_ENGINE_BINARY), this points the check at a stand-in that explains
// itself if a command really needs the engine.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const PROJECT_ROOT = path.resolve(__dirname, "..");

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
    PRISMA_SCHEMA_ENGINE_BINARY: path.join(__dirname, "lib", "schema-engine-offline.js"),
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
  };
}

/** Runs the Prisma CLI; returns its exit code. */
function runPrisma(args, options = {}) {
  const cli = path.join(PROJECT_ROOT, "node_modules", "prisma", "build", "index.js");
  const result = spawnSync(process.execPath, [cli, ...args], {
    cwd: PROJECT_ROOT,
    env: prismaEnv(options.env),
    stdio: options.stdio ?? "inherit",
    encoding: "utf8",
  });
  return result;
}

if (require.main === module) {
  const result = runPrisma(process.argv.slice(2));
  process.exit(result.status ?? 1);
}

module.exports = { runPrisma, prismaEnv };
