// The CLI's start-up path: one esbuild bundle of cli/, core/, the access layer's definition and the pg driver,
// cached under .local/cli-bundle/ and keyed by the content of everything it is built from, loaded with a V8 code
// cache. Plain CommonJS so that nothing has to be transpiled before it runs.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { Module } = require("node:module");

const ROOT = path.resolve(__dirname, "..");
const SOURCE_DIRS = ["cli", "core"];
// The one file of infra/ the CLI reads: the access layer's role names (cli/confirm-command.ts tells a login by them).
const SOURCE_FILES = ["infra/access-definition.js"];

// Left out of the bundle and required from node_modules, only by the commands that use them: node-pg-migrate
// (ESM-only, only when migrations run), squawk-cli (finds its binary next to its own files), yaml (only for
// --config), pg-copy-streams (only load-chunks); pg-native and pg-cloudflare are pg's optional back-ends.
const EXTERNAL = [
  "node-pg-migrate",
  "squawk-cli",
  "squawk-cli/*",
  "yaml",
  "pg-copy-streams",
  "pg-native",
  "pg-cloudflare",
];

/** The source files under `dir` and the folders holding them (a new or removed file changes its folder). */
function walkSources(dir, found = { files: [], dirs: [] }) {
  found.dirs.push(dir);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walkSources(full, found);
    else if (entry.name.endsWith(".ts")) found.files.push(full);
  }
  return found;
}

/**
 * What the bundle is built from: the project's sources, the installed dependency tree (npm's record of
 * node_modules, rewritten by every install, so a new pg version rebuilds the bundle), this file (the build
 * options); and the folders whose listing matters. Paths are relative to the project.
 */
function bundleInputs(root) {
  const installed = [
    path.join(root, "node_modules", ".package-lock.json"),
    path.join(root, "package-lock.json"),
  ].find((file) => fs.existsSync(file));
  const inputs = { files: [__filename, ...(installed ? [installed] : [])], dirs: [] };
  // An install adds, removes or replaces folders in node_modules: its stat then sends the key to be hashed.
  if (fs.existsSync(path.join(root, "node_modules"))) inputs.dirs.push(path.join(root, "node_modules"));
  for (const dir of SOURCE_DIRS) walkSources(path.join(root, dir), inputs);
  inputs.files.push(...SOURCE_FILES.map((file) => path.join(root, file)));
  const relative = (list) => list.map((file) => path.relative(root, file)).sort();
  return { files: relative(inputs.files), dirs: relative(inputs.dirs) };
}

/** The bundle's name: a hash of the content of its inputs, and of the Node version its code cache is for. */
function contentKey(root, files) {
  const { createHash } = require("node:crypto");
  const hash = createHash("sha256").update(`${root}\n${process.version}\n`);
  for (const file of files) hash.update(`${file}\n`).update(fs.readFileSync(path.join(root, file)));
  return hash.digest("hex").slice(0, 16);
}

// The stat data of every input (size, modification and change times, inode) next to the key they hashed to,
// as git's index keeps them: while all of them and every source folder are unchanged, the key is too, and a
// start-up does not read and hash half a megabyte. An input changed less than RACY_MS before the record was
// written is not trusted (it could change again within the same clock tick), so it is hashed again.
const RACY_MS = 2000;

function statOf(file) {
  const s = fs.statSync(file, { bigint: false });
  return [s.size, s.mtimeMs, s.ctimeMs, s.ino];
}

function recordedKey(root, recordFile, racyMs) {
  let record;
  try {
    record = JSON.parse(fs.readFileSync(recordFile, "utf8"));
  } catch {
    return undefined;
  }
  if (record.root !== root || record.node !== process.version) return undefined;
  try {
    for (const [dir, mtimeMs] of record.dirs) {
      if (fs.statSync(path.join(root, dir)).mtimeMs !== mtimeMs) return undefined;
    }
    for (const [file, ...stat] of record.files) {
      const now = statOf(path.join(root, file));
      if (now.some((value, i) => value !== stat[i])) return undefined;
      if (Math.max(now[1], now[2]) > record.writtenAt - racyMs) return undefined;
    }
  } catch {
    return undefined;
  }
  return record.key;
}

function writeRecord(root, recordFile, key, inputs, writtenAt) {
  const record = {
    root,
    node: process.version,
    key,
    writtenAt,
    dirs: inputs.dirs.map((dir) => [dir, fs.statSync(path.join(root, dir)).mtimeMs]),
    files: inputs.files.map((file) => [file, ...statOf(path.join(root, file))]),
  };
  try {
    fs.mkdirSync(path.dirname(recordFile), { recursive: true });
    const temporary = `${recordFile}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, JSON.stringify(record));
    fs.renameSync(temporary, recordFile);
  } catch {
    // A read-only checkout: the next start hashes again.
  }
}

/** The key of the bundle the current inputs make: from the stat record when nothing moved, else hashed. */
function bundleKey(root = ROOT, { racyMs = RACY_MS } = {}) {
  const recordFile = path.join(root, ".local", "cli-bundle", "inputs.json");
  const recorded = recordedKey(root, recordFile, racyMs);
  if (recorded !== undefined) return recorded;
  const writtenAt = Date.now();
  const inputs = bundleInputs(root);
  const key = contentKey(root, inputs.files);
  writeRecord(root, recordFile, key, inputs, writtenAt);
  return key;
}

// pg decides at load time whether it runs in a Cloudflare Worker by touching the global `Response`, which on
// Node 20 loads the whole fetch implementation (undici): about 40 ms of every start-up, for a connection that
// never uses it. The CLI only runs on Node, so the bundle takes pg's Node branch directly. When pg's file no
// longer has the expected shape it is bundled unchanged (slower, still correct; the start-up test notices).
const PG_STREAM_FILE = /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/;
const PG_STREAM_PICK = "const { getStream, getSecureStream } = getStreamFuncs()";
const PG_STREAM_NODE = "const { getStream, getSecureStream } = getNodejsStreamFuncs()";

const pgNodeStreams = {
  name: "pg-node-streams",
  setup(build) {
    build.onLoad({ filter: PG_STREAM_FILE }, (args) => {
      const source = fs.readFileSync(args.path, "utf8");
      if (!source.includes(PG_STREAM_PICK) || !source.includes("function getNodejsStreamFuncs()"))
        return undefined;
      return { contents: source.replace(PG_STREAM_PICK, PG_STREAM_NODE), loader: "js" };
    });
  },
};

async function build(outfile, root = ROOT) {
  const esbuild = require("esbuild");
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  const temporary = `${outfile}.${process.pid}.tmp`;
  await esbuild.build({
    entryPoints: [path.join(root, "cli", "main.ts")],
    outfile: temporary,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: EXTERNAL,
    plugins: [pgNodeStreams],
    // Less to parse at every start; identifiers keep their names so a bug's stack trace stays readable.
    minifyWhitespace: true,
    minifySyntax: true,
    // core/project.ts finds the project from its own folder: keep that true inside the bundle.
    define: { __dirname: JSON.stringify(path.join(root, "core")) },
    logLevel: "silent",
  });
  fs.renameSync(temporary, outfile);
}

function removeOtherBundles(dir, keep) {
  for (const old of fs.readdirSync(dir)) {
    if (old.startsWith("main-") && !old.startsWith(keep) && !old.endsWith(".tmp"))
      fs.rmSync(path.join(dir, old), { force: true });
  }
}

/**
 * Loads the bundle as Node's CommonJS loader would, with V8's code cache: the first run compiles it and
 * writes the cache (after the command ran, so the functions it compiled lazily are in it too); later runs
 * skip most of the parsing and compiling. A cache V8 rejects (another V8, a damaged file) is rewritten.
 */
function loadWithCodeCache(file) {
  const cacheFile = `${file}.v8-cache`;
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const source = fs.readFileSync(file, "utf8");
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  const bundle = new Module(file, module);
  bundle.filename = file;
  bundle.paths = Module._nodeModulePaths(path.dirname(file));
  const bundleRequire = (id) => bundle.require(id);
  bundleRequire.resolve = (request, options) => Module._resolveFilename(request, bundle, false, options);
  bundleRequire.cache = Module._cache;
  bundleRequire.main = require.main;
  script.runInThisContext()(bundle.exports, bundleRequire, bundle, file, path.dirname(file));
  bundle.loaded = true;
  const writeCache = cachedData === undefined || script.cachedDataRejected === true;
  return {
    main: bundle.exports.main,
    saveCodeCache() {
      if (!writeCache) return;
      try {
        const temporary = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(temporary, script.createCachedData());
        fs.renameSync(temporary, cacheFile);
      } catch {
        // A read-only checkout: start-up stays correct, only without the cache.
      }
    },
  };
}

/** The CLI's main function from the cached bundle, building it first when its inputs changed. */
async function loadBundledMain(root = ROOT) {
  const dir = path.join(root, ".local", "cli-bundle");
  const name = `main-${bundleKey(root)}`;
  const file = path.join(dir, `${name}.js`);
  if (!fs.existsSync(file)) {
    await build(file, root);
    removeOtherBundles(dir, name);
  }
  return loadWithCodeCache(file);
}

module.exports = { bundleKey, build, loadBundledMain, EXTERNAL, PG_STREAM_PICK };
