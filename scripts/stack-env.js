#!/usr/bin/env node
// `node scripts/stack-env.js [--stack <name>] [--file <path>]`: writes a stack's connection strings into a
// .env file for the NeonHub app (Prisma reads DATABASE_URL and DIRECT_URL):
//   DATABASE_URL  the app role (stack output databaseUrl)
//   DIRECT_URL    the migrator role, for migrations (stack output directUrl)
// Other lines of the file are kept; the file is readable by its owner only. Needs the Pulumi CLI.
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { redactUrl: redact } = require("./lib/redact");
const { parseCommandLine } = require("./lib/args");

/** Stack output -> .env variable. */
const VARIABLES = { DATABASE_URL: "databaseUrl", DIRECT_URL: "directUrl" };

class UsageError extends Error {}

function parseArgs(argv) {
  const unknown = (arg) =>
    new UsageError(
      `Unknown argument "${arg}". Usage: node scripts/stack-env.js [--stack <name>] [--file <path>]`,
    );
  const { values, positionals } = parseCommandLine(
    argv,
    {
      stack: { type: "string", short: "s" },
      file: { type: "string", short: "f" },
      help: { type: "boolean", short: "h" },
    },
    { unknown, missingValue: (flag) => new UsageError(`${flag} needs a value`) },
  );
  if (positionals.length > 0) throw unknown(positionals[0]);
  const args = { stack: values.stack, file: values.file ?? ".env" };
  if (values.help) args.help = true;
  return args;
}

/** DATABASE_URL/DIRECT_URL from `pulumi stack output --json --show-secrets`. */
function envFromOutputs(outputs) {
  const env = {};
  for (const [variable, output] of Object.entries(VARIABLES)) {
    const value = outputs[output];
    if (typeof value !== "string" || !/^postgres(ql)?:\/\//.test(value)) {
      throw new UsageError(
        `The stack has no ${output} output. Run \`pulumi up\` for it first (outputs: ${Object.keys(outputs).join(", ") || "none"}).`,
      );
    }
    env[variable] = value;
  }
  return env;
}

/** Sets each variable in .env text: its first line (also `export NAME=`) is replaced, later ones dropped. */
function upsertEnv(text, vars) {
  const names = Object.keys(vars);
  const assigns = (name, line) => new RegExp(`^\\s*(export\\s+)?${name}\\s*=`).test(line);
  const placed = new Set();
  const lines = [];
  for (const line of text === "" ? [] : text.replace(/\n$/, "").split("\n")) {
    const name = names.find((candidate) => assigns(candidate, line));
    if (name === undefined) lines.push(line);
    else if (!placed.has(name)) {
      lines.push(`${name}="${vars[name]}"`);
      placed.add(name);
    }
  }
  for (const name of names) if (!placed.has(name)) lines.push(`${name}="${vars[name]}"`);
  return `${lines.join("\n")}\n`;
}

function readStackOutputs(stack) {
  const args = ["stack", "output", "--json", "--show-secrets", ...(stack ? ["--stack", stack] : [])];
  const result = spawnSync("pulumi", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  if (result.error && result.error.code === "ENOENT") {
    throw new UsageError(
      "The Pulumi CLI is not installed (https://www.pulumi.com/docs/install/). Without it, `npm run -s local -- env` prints the local cluster's connection strings.",
    );
  }
  if (result.status !== 0) {
    throw new UsageError(
      `pulumi stack output failed (exit ${result.status}):\n${(result.stderr || "").trim()}`,
    );
  }
  try {
    return JSON.parse(result.stdout);
  } catch {
    throw new UsageError("pulumi stack output did not print JSON");
  }
}

function main(argv) {
  const args = parseArgs(argv);
  if (args.help) {
    const usage = fs.readFileSync(__filename, "utf8").split("\n").slice(1, 6);
    process.stdout.write(`${usage.map((line) => line.replace(/^\/\/ ?/, "")).join("\n")}\n`);
    return 0;
  }
  const env = envFromOutputs(readStackOutputs(args.stack));
  const file = path.resolve(args.file);
  const before = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  fs.writeFileSync(file, upsertEnv(before, env), { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  const lines = Object.entries(env).map(([name, value]) => `  ${name}=${redact(value)}`);
  process.stdout.write(`Wrote ${Object.keys(env).join(" and ")} to ${args.file}:\n${lines.join("\n")}\n`);
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof UsageError ? error.message : error.stack}\n`);
    process.exitCode = 1;
  }
}

module.exports = { envFromOutputs, parseArgs, redact, upsertEnv, VARIABLES };
