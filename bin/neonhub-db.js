#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx), so `npx neonhub-db` works right after `npm ci`, with no build.
"use strict";
require("tsx/cjs");
const { main } = require("../cli/main.ts");

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
