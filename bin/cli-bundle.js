// The CLI's start-up path: one esbuild bundle of cli/, core/ and the pg driver, cached under .local/cli-bundle/
// and keyed by the content of everything it is built from, loaded with a V8 code cache. Plain CommonJS so that
// nothing has to be transpiled before it runs.
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { Module } = require("node:module");

const ROOT = path.resolve(__dirname, "..");
const SOURCE_DIRS = ["cli", "core"];

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

function tsFiles(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return tsFiles(full);
      return entry.name.endsWith(".ts") ? [full] : [];
    })
    .sort();
}

/**
 * What the bundle is built from, by content: the project's sources, the installed dependency tree (npm's
 * record of node_modules, rewritten by every install, so a new pg version rebuilds the bundle), this file
 * (the build options) and the Node version the code cache belongs to.
 */
function bundleKey(root = ROOT) {
  const hash = createHash("sha256").update(`${root}\n${process.version}\n`);
  const installed = [
    path.join(root, "node_modules", ".package-lock.json"),
    path.join(root, "package-lock.json"),
  ].find((file) => fs.existsSync(file));
  const inputs = [__filename, ...(installed ? [installed] : [])];
  for (const dir of SOURCE_DIRS) inputs.push(...tsFiles(path.join(root, dir)));
  for (const file of inputs) hash.update(`${path.relative(root, file)}\n`).update(fs.readFileSync(file));
  return hash.digest("hex").slice(0, 16);
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
    if (!old.startsWith(keep) && !old.endsWith(".tmp")) fs.rmSync(path.join(dir, old), { force: true });
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
