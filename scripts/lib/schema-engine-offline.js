#!/usr/bin/env node
// Stands in for Prisma's schema engine where its binary cannot be downloaded (no network besides the npm
// registry). `prisma generate` and `prisma validate` never run it; a command that needs it stops here.
//
// Prisma's CLI talks to the engine over JSON-RPC on stdin/stdout and drops whatever else the engine writes
// on stderr. An engine that just exits leaves the request unanswered: `prisma migrate diff` then exits 0
// with nothing on stdout, which reads as "no differences", and `prisma db pull` prints an empty
// "Error in Schema engine". So every request gets an error response carrying the explanation, which Prisma
// prints and exits 1 on. Self-contained on purpose: an app copies this one file (docs/prisma.md).
"use strict";

const readline = require("node:readline");

const MESSAGE =
  "Prisma's schema engine is not installed, so this command did not run: nothing was compared or read.\n" +
  "Its binary is downloaded from Prisma's servers, which this machine cannot reach; `prisma generate` and\n" +
  "`prisma validate` work without it. With network access, `npx prisma version` downloads it once, and then\n" +
  "`prisma migrate diff ... --script` prints the DDL between the two sides (an empty script: no difference)\n" +
  "and `prisma db pull --print` prints the database's schema. Or set PRISMA_SCHEMA_ENGINE_BINARY to an\n" +
  "installed schema-engine binary.";

function answerRequests(input, output) {
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  lines.on("line", (line) => {
    let request;
    try {
      request = JSON.parse(line);
    } catch {
      return;
    }
    // Only requests (a method and an id) get an answer; Prisma's replies to the engine have no method.
    if (!request || request.id === undefined || typeof request.method !== "string") return;
    const response = {
      jsonrpc: "2.0",
      id: request.id,
      error: { code: -32000, message: MESSAGE, data: { message: MESSAGE, is_panic: false } },
    };
    output.write(`${JSON.stringify(response)}\n`);
  });
}

function main(args) {
  // `prisma version` asks for `--version`; `cli <command>` is a one-shot run without JSON-RPC. Both read
  // the exit code and stderr, where Prisma shows the explanation.
  if (args.includes("--version") || args[0] === "cli") {
    process.stderr.write(`${MESSAGE}\n`);
    process.exit(1);
  }
  // Ends when Prisma closes stdin; exit code 0 so that Prisma reports the answered error, not the exit.
  answerRequests(process.stdin, process.stdout);
}

if (require.main === module) main(process.argv.slice(2));

/** The explanation, naming `command` (such as "`prisma migrate diff`") where it says what did not run. */
function offlineMessage(command = "this command") {
  return MESSAGE.replace("this command", command);
}

module.exports = { offlineMessage };
