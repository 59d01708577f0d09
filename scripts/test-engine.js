#!/usr/bin/env node
// `npm run test:engine [-- <vitest args>]`: the schema release through the real Pulumi engine (test/engine/).
// Installs what is missing (npm dependencies, PostgreSQL + pgvector), provides the `pulumi` CLI (the one on
// PATH, or built from Go modules: scripts/pulumi-toolchain.js, docs/engine.md), then runs the engine suite
// with the hermetic engine environment. `npm test` runs it beside the reliability scenarios (a first build of
// the CLI takes minutes; later runs reuse it).
"use strict";

const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { ensureNodeModules, PROJECT_ROOT } = require("./lib/deps");
const { ensurePostgres } = require("./lib/postgres");
const { log, runMain } = require("./lib/report");
const { describeToolchain, engineEnv, ensurePulumi } = require("./pulumi-toolchain");

runMain(() => {
  ensureNodeModules();
  ensurePostgres();
  const toolchain = ensurePulumi();
  for (const line of describeToolchain(toolchain).split("\n")) log(line);
  const env = { ...engineEnv(toolchain), NEONHUB_PULUMI: toolchain.pulumi };
  const vitest = path.join(PROJECT_ROOT, "node_modules", ".bin", "vitest");
  const args = [
    "run",
    "--config",
    path.join("test", "engine", "vitest.config.mjs"),
    ...process.argv.slice(2),
  ];
  const result = spawnSync(vitest, args, { cwd: PROJECT_ROOT, env, stdio: "inherit" });
  return result.status ?? 1;
});
