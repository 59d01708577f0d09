#!/usr/bin/env node
// `npm test`: the whole suite on a fresh clone. Installs what is missing (npm dependencies, PostgreSQL +
// pgvector), then lint, format check, type-check, vitest (which starts and stops its own cluster), the
// reliability scenarios and the engine tests.
// `npm test -- <vitest args>` runs only vitest with those arguments, for a quick loop.
"use strict";

const { spawnSync } = require("node:child_process");
const path = require("node:path");
const { ensureNodeModules, PROJECT_ROOT } = require("./lib/deps");
const { ensurePostgres } = require("./lib/postgres");
const { log, runMain } = require("./lib/report");

const bin = (name) => path.join(PROJECT_ROOT, "node_modules", ".bin", name);

function step(name, cmd, args) {
  const started = Date.now();
  log(`${name}: ${path.basename(cmd)} ${args.join(" ")}`);
  const result = spawnSync(cmd, args, { cwd: PROJECT_ROOT, stdio: "inherit" });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const ok = result.status === 0;
  log(`${name}: ${ok ? "ok" : `FAILED (exit ${result.status ?? result.signal})`} in ${seconds} s`);
  return ok;
}

runMain(() => {
  ensureNodeModules();
  ensurePostgres();
  // The app's Prisma client (prisma/generated/, not committed): the Prisma tests and the type-check use it.
  const prisma = step("prisma generate", process.execPath, [path.join("scripts", "prisma.js"), "generate"]);
  if (!prisma) return 1;
  const vitestArgs = process.argv.slice(2);
  if (vitestArgs.length > 0) return step("vitest", bin("vitest"), ["run", ...vitestArgs]) ? 0 : 1;

  const results = [
    step("lint", bin("eslint"), ["--max-warnings=0", "."]),
    step("format", bin("prettier"), ["--check", "--log-level=warn", "."]),
    step("typecheck", bin("tsc"), ["--noEmit", "-p", "."]),
    step("tests", bin("vitest"), ["run"]),
    // The long fault scenarios (docs/reliability.md) and the real Pulumi engine (docs/engine.md): part of the
    // whole suite, in their own runs because they kill processes, restart servers and build the CLI.
    step("reliability", bin("vitest"), ["run", "--config", "vitest.reliability.config.ts"]),
    step("engine", process.execPath, [path.join("scripts", "test-engine.js")]),
  ];
  return results.every(Boolean) ? 0 : 1;
});
