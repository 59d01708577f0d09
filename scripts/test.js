#!/usr/bin/env node
// `npm test`: the whole suite on a fresh clone. Installs what is missing (npm dependencies, PostgreSQL +
// pgvector), then lint, format check and type-check side by side, vitest (which starts and stops its own
// cluster), then the reliability scenarios and, beside them, the engine tests. The Pulumi CLI the engine
// tests need (built from Go modules when there is none on PATH, minutes on a new machine) is provided in the
// background from the start, while the other steps run; its output goes to .local/pulumi-toolchain.log and
// is printed when it fails. Steps that run beside another write to .local/test-<step>.log, printed whole when
// they end, so that outputs never interleave.
// `npm test -- <vitest args>` runs only vitest with those arguments, for a quick loop.
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { ensureNodeModules, PROJECT_ROOT } = require("./lib/deps");
const { ensurePostgres } = require("./lib/postgres");
const { log, runMain } = require("./lib/report");

const bin = (name) => path.join(PROJECT_ROOT, "node_modules", ".bin", name);
const TOOLCHAIN_LOG = path.join(PROJECT_ROOT, ".local", "pulumi-toolchain.log");

/**
 * Runs one step to its end. Asynchronous (not spawnSync) so that the event loop keeps turning while it runs:
 * the background toolchain's end is then logged when it happens, with its own duration.
 * `held`: for a step that runs beside others, its output goes to .local/test-<name>.log and is printed whole
 * when it ends, so that outputs never interleave. `niceness` lowers the priority of the step and of every
 * process it starts (its cluster included), so that it takes the CPU the step beside it leaves idle rather
 * than slowing it down.
 */
function step(name, cmd, args, { held = false, niceness = 0 } = {}) {
  const started = Date.now();
  const logFile = held ? path.join(PROJECT_ROOT, ".local", `test-${name}.log`) : undefined;
  let stdio = "inherit";
  if (logFile) {
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    const out = fs.openSync(logFile, "w");
    stdio = ["ignore", out, out];
  }
  const heldIn = logFile ? ` (output held in ${path.relative(PROJECT_ROOT, logFile)})` : "";
  log(`${name}: ${path.basename(cmd)} ${args.join(" ")}${heldIn}`);
  const child = spawn(cmd, args, { cwd: PROJECT_ROOT, stdio });
  if (Array.isArray(stdio)) fs.closeSync(stdio[1]);
  if (niceness > 0 && child.pid !== undefined) os.setPriority(child.pid, niceness);
  return new Promise((resolve) => {
    const done = (ok, how) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (logFile) process.stdout.write(fs.readFileSync(logFile, "utf8"));
      log(`${name}: ${ok ? "ok" : `FAILED (${how})`} in ${seconds} s`);
      resolve(ok);
    };
    child.on("error", (error) => done(false, error.message));
    child.on("exit", (code, signal) => done(code === 0, `exit ${code ?? signal}`));
  });
}

/**
 * Starts `scripts/pulumi-toolchain.js` (which builds with `nice -n 19`, so the other steps keep the CPU);
 * resolves to whether it succeeded, while the other steps run one after another.
 */
function provideToolchainInBackground() {
  fs.mkdirSync(path.dirname(TOOLCHAIN_LOG), { recursive: true });
  const out = fs.openSync(TOOLCHAIN_LOG, "w");
  const started = Date.now();
  log(
    `pulumi toolchain: providing it in the background (log: ${path.relative(PROJECT_ROOT, TOOLCHAIN_LOG)})`,
  );
  const child = spawn(process.execPath, [path.join(__dirname, "pulumi-toolchain.js"), "status"], {
    cwd: PROJECT_ROOT,
    stdio: ["ignore", out, out],
  });
  fs.closeSync(out);
  return new Promise((resolve) => {
    const done = (ok, how) => {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      log(`pulumi toolchain: ${ok ? "ok" : `FAILED (${how})`} after ${seconds} s`);
      if (!ok) process.stderr.write(fs.readFileSync(TOOLCHAIN_LOG, "utf8"));
      resolve(ok);
    };
    child.on("error", (error) => done(false, error.message));
    child.on("exit", (code, signal) => done(code === 0, `exit ${code ?? signal}`));
  });
}

runMain(async () => {
  ensureNodeModules();
  ensurePostgres();
  // The app's Prisma client (prisma/generated/, not committed): the Prisma tests and the type-check use it.
  const prisma = await step("prisma generate", process.execPath, [
    path.join("scripts", "prisma.js"),
    "generate",
  ]);
  if (!prisma) return 1;
  const vitestArgs = process.argv.slice(2);
  if (vitestArgs.length > 0) return (await step("vitest", bin("vitest"), ["run", ...vitestArgs])) ? 0 : 1;

  const toolchain = provideToolchainInBackground();
  // Each of these three is one process on one core: side by side they take the time of the longest.
  const checks = await Promise.all([
    step("lint", bin("eslint"), ["--max-warnings=0", "."], { held: true }),
    step("format", bin("prettier"), ["--check", "--log-level=warn", "."], { held: true }),
    step("typecheck", bin("tsc"), ["--noEmit", "-p", "."], { held: true }),
  ]);
  const tests = await step("tests", bin("vitest"), ["run"]);
  // The long fault scenarios (docs/reliability.md) and the real Pulumi engine (docs/engine.md): part of the
  // whole suite, in their own runs because they kill processes, restart servers and need the Pulumi CLI. The
  // scenarios leave a core idle about half their time (they wait on killed and blocked processes), which the
  // engine tests take, at a lower priority, once the CLI is there.
  const engine = toolchain.then((ready) =>
    ready
      ? step("engine", process.execPath, [path.join("scripts", "test-engine.js")], {
          held: true,
          niceness: 10,
        })
      : false,
  );
  const reliability = await step("reliability", bin("vitest"), [
    "run",
    "--config",
    "vitest.reliability.config.ts",
  ]);
  const results = [...checks, tests, reliability, await engine];
  return results.every(Boolean) ? 0 : 1;
});
