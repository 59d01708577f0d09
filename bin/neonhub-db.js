#!/usr/bin/env node
// Runs the TypeScript CLI with no build step to remember: on the first run, and whenever one of its inputs
// changes, bin/cli-bundle.js bundles cli/, core/ and the pg driver with esbuild (the transpiler tsx itself
// uses) into .local/cli-bundle/, keyed by the content of its inputs; later runs load that bundle with a V8
// code cache and start without transpiling anything. When the bundle cannot be built, or NEONHUB_DB_NO_BUNDLE
// is set, it runs the sources through tsx as before.
"use strict";

async function loadMain() {
  if (!process.env.NEONHUB_DB_NO_BUNDLE) {
    try {
      return await require("./cli-bundle").loadBundledMain();
    } catch {
      // A read-only checkout or a missing esbuild: transpile at run time instead.
    }
  }
  require("tsx/cjs");
  return { main: require("../cli/main.ts").main, saveCodeCache() {} };
}

// The code cache is written by the first command that did real work, so that it holds the functions a
// release compiles; --version, --help and a refused command would leave most of them out.
const QUICK = new Set(["--version", "-v", "version", "--help", "-h", "help"]);

loadMain().then(async (cli) => {
  const argv = process.argv.slice(2);
  const code = await cli.main(argv);
  if (code !== 1 && argv.length > 0 && !argv.some((arg) => QUICK.has(arg))) cli.saveCodeCache();
  process.exitCode = code;
});
