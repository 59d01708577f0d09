#!/usr/bin/env node
// Runs the TypeScript CLI with no build step to remember: on the first run, and whenever a source of cli/ or
// core/ changes, it bundles them with esbuild (the transpiler tsx itself uses) into .local/cli-bundle/,
// keyed by a hash of the sources; later runs load that bundle and start without transpiling anything. When
// the bundle cannot be built, or NEONHUB_DB_NO_BUNDLE is set, it runs the sources through tsx as before.
"use strict";
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const SOURCES = ["cli", "core"].map((dir) => path.join(ROOT, dir));
const BUNDLES = path.join(ROOT, ".local", "cli-bundle");

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

function sourceHash() {
  const hash = createHash("sha256").update(`${ROOT}\n${process.version}\n`);
  for (const file of SOURCES.flatMap(tsFiles)) hash.update(`${file}\n`).update(fs.readFileSync(file));
  return hash.digest("hex").slice(0, 16);
}

function build(outfile) {
  const esbuild = require("esbuild");
  fs.mkdirSync(BUNDLES, { recursive: true });
  const temporary = `${outfile}.${process.pid}.tmp`;
  esbuild.buildSync({
    entryPoints: [path.join(ROOT, "cli", "main.ts")],
    outfile: temporary,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    // Dependencies load from node_modules as usual (node-pg-migrate is ESM-only and required lazily).
    packages: "external",
    // core/project.ts finds the project from its own folder: keep that true inside the bundle.
    define: { __dirname: JSON.stringify(path.join(ROOT, "core")) },
    logLevel: "silent",
  });
  fs.renameSync(temporary, outfile);
  for (const old of fs.readdirSync(BUNDLES)) {
    if (old !== path.basename(outfile) && old.endsWith(".js"))
      fs.rmSync(path.join(BUNDLES, old), { force: true });
  }
}

function loadMain() {
  if (!process.env.NEONHUB_DB_NO_BUNDLE) {
    try {
      const bundle = path.join(BUNDLES, `main-${sourceHash()}.js`);
      if (!fs.existsSync(bundle)) build(bundle);
      return require(bundle).main;
    } catch {
      // A read-only checkout or a missing esbuild: transpile at run time instead.
    }
  }
  require("tsx/cjs");
  return require("../cli/main.ts").main;
}

loadMain()(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
