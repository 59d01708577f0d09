#!/usr/bin/env node
// `node scripts/pulumi-toolchain.js [status] [--build] [--json]`: provides a `pulumi` CLI for this project.
//   status (default)  the `pulumi` on PATH when there is one (a normal install: nothing is built); otherwise
//                     build it from Go modules into .local/pulumi/bin (cached: a second run builds nothing)
//   env               print `export` lines of the engine environment, for `eval "$(… env)"`
//   run -- <args>     run `pulumi <args>` in the project with that environment
//   --build           build from Go modules even when a `pulumi` is on PATH
// What is built, at which versions and how long it takes: docs/engine.md. Needs `go` only when it builds.
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { SetupError, log, runMain } = require("./lib/report");
const { parseCommandLine } = require("./lib/args");

const PROJECT_ROOT = path.resolve(__dirname, "..");
const WRAPPERS = path.join(__dirname, "pulumi-toolchain");
const TOOLCHAIN_ROOT = path.join(PROJECT_ROOT, ".local", "pulumi");
const BIN_DIR = path.join(TOOLCHAIN_ROOT, "bin");
const BUILD_DIR = path.join(TOOLCHAIN_ROOT, "build");
const STATE_DIR = path.join(PROJECT_ROOT, ".local", "pulumi-state");
const HOME_DIR = path.join(PROJECT_ROOT, ".local", "pulumi-home");

/**
 * The passphrase of the secrets provider of stacks in the local file backend (.local/pulumi-state). It guards
 * only throwaway local stacks and is not a secret of any real stack: dev and prod use their own backend and
 * secrets provider.
 */
const LOCAL_PASSPHRASE = "neonhub-local-stack-not-a-secret";

const PULUMI_VERSION_VAR = "github.com/pulumi/pulumi/sdk/v3/go/common/version.Version";

/**
 * What the engine needs, each at the version of its npm package in package-lock.json. `wrapper` is the Go
 * module under scripts/pulumi-toolchain/ that builds it; `required` ones stop the script when they fail.
 * @type {{ binary: string, role: string, npm: string, module: string, pkg: string, wrapper?: string, versionVar?: string, required?: boolean }[]}
 */
const COMPONENTS = [
  {
    binary: "pulumi",
    role: "CLI",
    npm: "@pulumi/pulumi",
    module: "github.com/pulumi/pulumi/pkg/v3",
    pkg: "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
    wrapper: "cli",
    versionVar: PULUMI_VERSION_VAR,
    required: true,
  },
  {
    binary: "pulumi-language-nodejs",
    role: "Node.js language host",
    npm: "@pulumi/pulumi",
    module: "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3",
    pkg: "github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3",
    wrapper: "language-nodejs",
    versionVar: PULUMI_VERSION_VAR,
  },
  {
    binary: "pulumi-resource-random",
    role: "random provider",
    npm: "@pulumi/random",
    module: "github.com/pulumi/pulumi-random/provider/v4",
    pkg: "github.com/pulumi/pulumi-random/provider/v4/cmd/pulumi-resource-random",
  },
  {
    binary: "pulumi-resource-postgresql",
    role: "postgresql provider",
    npm: "@pulumi/postgresql",
    module: "github.com/pulumi/pulumi-postgresql/provider/v3",
    pkg: "github.com/pulumi/pulumi-postgresql/provider/v3/cmd/pulumi-resource-postgresql",
  },
];

/** The dynamic-provider plugin is a shell script that @pulumi/pulumi ships; it goes next to the binaries. */
const DYNAMIC_PROVIDER = "pulumi-resource-pulumi-nodejs";

/** @returns {Record<string, string>} npm package -> "vX.Y.Z" from package-lock.json */
function lockVersions() {
  const lockFile = path.join(PROJECT_ROOT, "package-lock.json");
  const lock = JSON.parse(fs.readFileSync(lockFile, "utf8"));
  const versions = {};
  for (const c of COMPONENTS) {
    const entry = lock.packages && lock.packages[`node_modules/${c.npm}`];
    if (!entry || !entry.version)
      throw new SetupError(`${c.npm} is not in package-lock.json; the engine versions follow it.`);
    versions[c.npm] = `v${entry.version}`;
  }
  return versions;
}

/** The first executable `name` on PATH, skipping `skipDir`. */
function onPath(name, skipDir) {
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    if (!dir || path.resolve(dir) === skipDir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...opts });
}

function pulumiVersion(file) {
  const out = run(file, ["version"], { env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
  return out.status === 0 ? out.stdout.trim() : undefined;
}

function goVersion() {
  const out = run("go", ["env", "GOVERSION"]);
  return out.status === 0 ? out.stdout.trim() : undefined;
}

/** Whether the Go module proxy serves module@version: `{ ok: true }` or `{ ok: false, error }`. */
function probeModule(module, version) {
  // Outside any main module, so nothing here is read or changed.
  const out = run("go", ["mod", "download", "-json", `${module}@${version}`], {
    cwd: os.tmpdir(),
    env: { ...process.env, GOFLAGS: "-mod=mod", GOWORK: "off" },
  });
  let info = {};
  try {
    info = JSON.parse(out.stdout);
  } catch {
    // no JSON: use stderr
  }
  if (out.status === 0 && !info.Error) return { ok: true };
  const error = (info.Error || out.stderr || `exit ${out.status}`).trim().split("\n")[0];
  // "module@version: reading …: 403 Forbidden": the step already names module@version.
  return { ok: false, error: error.replace(`${module}@${version}: `, "") };
}

/** The wrapper module's go.mod must pin module@version (so the binary matches the npm package). */
function checkWrapperPin(component, version) {
  const goMod = fs.readFileSync(path.join(WRAPPERS, component.wrapper, "go.mod"), "utf8");
  const pinned = new RegExp(`^\\s*(require\\s+)?${component.module.replace(/[.]/g, "\\.")}\\s+(\\S+)`, "m");
  const found = pinned.exec(goMod);
  if (!found || found[2] !== version)
    throw new SetupError(
      `scripts/pulumi-toolchain/${component.wrapper}/go.mod pins ${component.module} ${found ? found[2] : "(nothing)"}, ` +
        `but package-lock.json has ${component.npm} ${version}. Set the same version in go.mod (and sdk/v3 beside it), ` +
        `then run \`go mod tidy\` in that folder.`,
    );
}

function wrapperHash(wrapper) {
  const hash = crypto.createHash("sha256");
  const dir = path.join(WRAPPERS, wrapper);
  for (const name of fs.readdirSync(dir).sort())
    hash.update(name).update(fs.readFileSync(path.join(dir, name)));
  return hash.digest("hex");
}

function stampFile(component) {
  return path.join(BIN_DIR, `.${component.binary}.json`);
}

function isCached(component, stamp) {
  try {
    const have = JSON.parse(fs.readFileSync(stampFile(component), "utf8"));
    return (
      fs.existsSync(path.join(BIN_DIR, component.binary)) && JSON.stringify(have) === JSON.stringify(stamp)
    );
  } catch {
    return false;
  }
}

/** `nice -n 19 go build` of one component into BIN_DIR; returns seconds taken. */
function goBuild(component, version) {
  const source = path.join(WRAPPERS, component.wrapper);
  let cwd = source;
  let modFlag = "-mod=readonly";
  if (!fs.existsSync(path.join(source, "go.sum"))) {
    // Not pinned yet: build a copy under .local so that resolving it never edits the committed module.
    cwd = path.join(BUILD_DIR, component.wrapper);
    fs.rmSync(cwd, { recursive: true, force: true });
    fs.mkdirSync(cwd, { recursive: true });
    for (const name of fs.readdirSync(source)) fs.copyFileSync(path.join(source, name), path.join(cwd, name));
    modFlag = "-mod=mod";
  }
  const output = path.join(BIN_DIR, `.${component.binary}.partial`);
  const ldflags = ["-s", "-w", ...(component.versionVar ? [`-X ${component.versionVar}=${version}`] : [])];
  // "-s -w" strips the debug information at link time; -dwarf=false spares the compiler writing it first:
  // a fifth less CPU for a cold build of the CLI (docs/engine.md), for the same stripped binary.
  const flags = ["-trimpath", "-gcflags", "all=-dwarf=false", "-ldflags", ldflags.join(" ")];
  const args = ["-n", "19", "go", "build", modFlag, ...flags, "-o", output];
  args.push(component.pkg);
  // The compiler's garbage collector off, under a memory limit instead: a cold build of the CLI took 13-15% less
  // CPU (three rounds in turns, e.g. 419 against 483 s), its largest process 1.5 GB; the limit makes a larger one
  // collect rather than grow (docs/engine.md). A GOGC or GOMEMLIMIT already set is kept.
  const env = { GOGC: "off", GOMEMLIMIT: "2GiB", ...process.env };
  const started = Date.now();
  const result = spawnSync("nice", args, { cwd, env, stdio: ["ignore", 2, 2] });
  const seconds = Math.round((Date.now() - started) / 1000);
  if (result.status !== 0) {
    fs.rmSync(output, { force: true });
    return {
      ok: false,
      seconds,
      error: `go build ${component.pkg} failed (exit ${result.status}), see above`,
    };
  }
  fs.renameSync(output, path.join(BIN_DIR, component.binary));
  return { ok: true, seconds };
}

function linkDynamicProvider() {
  const script = path.join(PROJECT_ROOT, "node_modules", "@pulumi", "pulumi", DYNAMIC_PROVIDER);
  if (!fs.existsSync(script))
    throw new SetupError(`${DYNAMIC_PROVIDER} is missing from node_modules/@pulumi/pulumi: run \`npm ci\`.`);
  const link = path.join(BIN_DIR, DYNAMIC_PROVIDER);
  const target = path.relative(BIN_DIR, script);
  let current;
  try {
    current = fs.readlinkSync(link);
  } catch {
    current = undefined;
  }
  if (current !== target) {
    fs.rmSync(link, { force: true });
    fs.symlinkSync(target, link);
  }
}

/**
 * @typedef {{ binary: string, role: string, version: string, path?: string, state: "built" | "cached" | "missing", seconds?: number, step?: string, error?: string }} ComponentStatus
 * @typedef {{ source: "path" | "built", pulumi: string, binDir: string, version: string | undefined, components: ComponentStatus[] }} Toolchain
 */

/**
 * The `pulumi` to use: the one on PATH, or the one built from Go modules (built when missing).
 * @param {{ build?: boolean }} [options] build: build from Go modules even when a `pulumi` is on PATH
 * @returns {Toolchain}
 */
function ensurePulumi({ build = false } = {}) {
  const existing = build ? undefined : onPath("pulumi", BIN_DIR);
  if (existing) {
    return {
      source: "path",
      pulumi: existing,
      binDir: path.dirname(existing),
      version: pulumiVersion(existing),
      components: [],
    };
  }
  if (!goVersion())
    throw new SetupError(
      "There is no `pulumi` on PATH and no Go toolchain to build one. Install Pulumi " +
        "(https://www.pulumi.com/docs/install/) or Go 1.25 or newer, and run again.",
    );
  const versions = lockVersions();
  fs.mkdirSync(BIN_DIR, { recursive: true });
  /** @type {ComponentStatus[]} */
  const components = [];
  for (const component of COMPONENTS) {
    const version = versions[component.npm];
    const status = { binary: component.binary, role: component.role, version };
    components.push(status);
    const stamp = {
      module: component.module,
      version,
      wrapper: component.wrapper ? wrapperHash(component.wrapper) : null,
    };
    if (component.wrapper) checkWrapperPin(component, version);
    if (component.wrapper && isCached(component, stamp)) {
      Object.assign(status, { state: "cached", path: path.join(BIN_DIR, component.binary) });
      continue;
    }
    const hasSum = component.wrapper && fs.existsSync(path.join(WRAPPERS, component.wrapper, "go.sum"));
    if (!hasSum) {
      const probe = probeModule(component.module, version);
      if (!probe.ok) {
        Object.assign(status, {
          state: "missing",
          step: `go mod download ${component.module}@${version}`,
          error: probe.error,
        });
        log(`${component.role} (${component.binary} ${version}): not built, the Go module proxy refuses it`);
        continue;
      }
      if (!component.wrapper) {
        Object.assign(status, {
          state: "missing",
          step: "wrapper module",
          error: `${component.module}@${version} is served, but scripts/pulumi-toolchain/ has no wrapper module for it yet`,
        });
        log(`${component.role}: ${status.error}`);
        continue;
      }
    }
    log(
      `building the ${component.role} ${version} with go build (nice -n 19); the first build takes minutes`,
    );
    const result = goBuild(component, version);
    if (!result.ok) {
      Object.assign(status, { state: "missing", step: `go build ${component.pkg}`, error: result.error });
      if (component.required) throw new SetupError(result.error);
      continue;
    }
    fs.writeFileSync(stampFile(component), JSON.stringify(stamp));
    Object.assign(status, {
      state: "built",
      seconds: result.seconds,
      path: path.join(BIN_DIR, component.binary),
    });
    log(`built ${component.binary} ${version} in ${result.seconds} s`);
  }
  linkDynamicProvider();
  const pulumi = path.join(BIN_DIR, "pulumi");
  return { source: "built", pulumi, binDir: BIN_DIR, version: pulumiVersion(pulumi), components };
}

/**
 * The environment the engine runs in: a file backend under .local, the local passphrase, no update check, no
 * automatic plugin download; plugins are found on PATH (the built ones' folder comes first).
 * @param {Toolchain} toolchain
 * @param {NodeJS.ProcessEnv} [base]
 * @returns {NodeJS.ProcessEnv}
 */
function engineEnv(toolchain, base = process.env) {
  const env = { ...base };
  delete env.PULUMI_IGNORE_AMBIENT_PLUGINS; // plugins on PATH must be found
  delete env.PULUMI_CONFIG_PASSPHRASE_FILE;
  delete env.PULUMI_ACCESS_TOKEN; // the file backend needs none
  Object.assign(env, {
    PULUMI_BACKEND_URL: `file://${STATE_DIR}`,
    PULUMI_CONFIG_PASSPHRASE: LOCAL_PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
  });
  if (toolchain.source === "built") {
    // Keep a machine's ~/.pulumi out of it; the PATH install keeps its own home (and plugins).
    env.PULUMI_HOME = HOME_DIR;
    env.PATH = [toolchain.binDir, base.PATH || ""].join(path.delimiter);
  }
  fs.mkdirSync(STATE_DIR, { recursive: true });
  return env;
}

const ENV_KEYS = [
  "PATH",
  "PULUMI_HOME",
  "PULUMI_BACKEND_URL",
  "PULUMI_CONFIG_PASSPHRASE",
  "PULUMI_SKIP_UPDATE_CHECK",
  "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK",
  "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION",
];

function shellQuote(value) {
  return `'${String(value).replace(/'/g, `'\\''`)}'`;
}

function describeToolchain(toolchain) {
  const lines = [
    toolchain.source === "path"
      ? `pulumi ${toolchain.version || "(unknown version)"} from PATH: ${toolchain.pulumi} (nothing built)`
      : `pulumi ${toolchain.version || "(unknown version)"} built from Go modules in ${path.relative(PROJECT_ROOT, toolchain.binDir)}`,
  ];
  for (const c of toolchain.components) {
    const how = c.state === "built" ? `built in ${c.seconds} s` : c.state;
    lines.push(`  ${c.binary} ${c.version} (${c.role}): ${how}`);
    if (c.state === "missing") lines.push(`    ${c.step}: ${c.error}`);
  }
  return lines.join("\n");
}

const USAGE = "Usage: node scripts/pulumi-toolchain.js [status|env|run -- <pulumi args>] [--build] [--json]";

function parseArgs(argv) {
  // Everything after `run` is pulumi's (a leading `--` is optional), so only what comes before is parsed here.
  const run = argv.indexOf("run");
  const own = run >= 0 ? argv.slice(0, run + 1) : argv;
  const rest = run >= 0 ? argv.slice(run + 1) : [];
  const unknown = (arg) => new SetupError(`Unknown argument "${arg}". ${USAGE}`);
  const { values, positionals } = parseCommandLine(
    own,
    {
      build: { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    { unknown, missingValue: unknown },
  );
  const bad = positionals.find((arg) => !["status", "env", "run"].includes(arg));
  if (bad !== undefined) throw unknown(bad);
  return {
    command: values.help ? "help" : (positionals.at(-1) ?? "status"),
    build: values.build ?? false,
    json: values.json ?? false,
    rest: rest[0] === "--" ? rest.slice(1) : rest,
  };
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const toolchain = ensurePulumi({ build: args.build });
  if (args.command === "status") {
    process.stdout.write(
      args.json ? `${JSON.stringify(toolchain, null, 2)}\n` : `${describeToolchain(toolchain)}\n`,
    );
    return 0;
  }
  const env = engineEnv(toolchain);
  if (args.command === "env") {
    const keys = ENV_KEYS.filter((key) => env[key] !== undefined);
    if (args.json) {
      process.stdout.write(
        `${JSON.stringify(Object.fromEntries(keys.map((key) => [key, env[key]])), null, 2)}\n`,
      );
      return 0;
    }
    for (const key of keys) process.stdout.write(`export ${key}=${shellQuote(env[key])}\n`);
    return 0;
  }
  const result = spawnSync(toolchain.pulumi, args.rest, { cwd: PROJECT_ROOT, env, stdio: "inherit" });
  return result.status ?? 1;
}

if (require.main === module) runMain(main);

module.exports = {
  describeToolchain,
  ensurePulumi,
  engineEnv,
  lockVersions,
  LOCAL_PASSPHRASE,
  COMPONENTS,
  STATE_DIR,
};
