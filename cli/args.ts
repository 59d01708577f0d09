// Command-line parsing for neonhub-db. No dependency: the surface is small and every error message is ours.
import { ReleaseError } from "../core/errors";
import { parseRowLevelSecurityMode, type RowLevelSecurityMode } from "../core/row-level-security";

export const COMMANDS = ["plan", "apply", "status", "verify", "baseline", "load-chunks", "health"] as const;
export type Command = (typeof COMMANDS)[number];

export interface CliArgs {
  command: Command | "help" | "version";
  databaseUrl?: string;
  seeds: string[];
  json: boolean;
  migrationsDir?: string;
  ownerRole?: string;
  lockTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Whether the tenant tables' policies are enforced; unset keeps the mode the database records. */
  rowLevelSecurity?: RowLevelSecurityMode;
  /** load-chunks: the chunk file and the dataset it fills. */
  file?: string;
  dataset?: string;
  /** baseline: the last migration to mark as applied. */
  to?: string;
  replace: boolean;
  append: boolean;
}

const VALUE_FLAGS = [
  "--database-url",
  "--seed",
  "--migrations-dir",
  "--owner-role",
  "--lock-timeout",
  "--connect-timeout",
  "--row-level-security",
  "--file",
  "--dataset",
  "--to",
];

export const USAGE = `Usage: neonhub-db <command> [options]

Commands:
  plan      what apply would do (pending migrations, seed sets, vector indexes); exit 2 when something is pending
  apply     apply the release: migrations, then seed sets, then vector indexes
  status    the migration ledger, seed sets and vector indexes recorded in the database
  verify    applied migrations against their files, live schema against the recorded snapshot; exit 2 on drift
  baseline [--to NAME]
            adopt an existing database: mark the migrations as applied after proving its schema matches them
  load-chunks --file F --dataset ID [--replace | --append]
            load a chunk file (NDJSON, see docs/seeds.md) into a dataset, in one transaction
  health    read-only: vector and hot-path indexes, large tables' vacuum/analyze, connections, replication;
            exit 2 when something needs action (docs/observability.md)

Options:
  --database-url URL       PostgreSQL URL (default: $DATABASE_URL)
  --seed NAME              apply/plan this seed set too (repeatable), e.g. --seed demo
  --json                   print one JSON document on stdout and nothing else
  --migrations-dir DIR     folder of the migration files (default: migrations/ of this project)
  --owner-role ROLE        SET ROLE to this role before changing anything, so it owns the objects
  --lock-timeout SECONDS   how long apply waits for another release (default 60)
  --connect-timeout SECS   how long to wait for the server to accept a connection (default 10)
  --row-level-security M   enforce | off: whether the tenant tables' policies are enforced (docs/security.md;
                           default: the mode the database records, enforce for a new one)
  --replace                load-chunks: replace the dataset's existing chunks (refused otherwise)
  --append                 load-chunks: add the file's documents to the dataset, replacing those it has
  --help, --version

Exit codes: 0 ok / nothing pending, 1 error, 2 plan has pending changes, verify found drift or health found
something that needs action.`;

function seconds(flag: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value > 86_400) {
    throw new ReleaseError(
      "invalid-input",
      `${flag} takes a number of seconds from 0 to 86400, got "${raw}".`,
      `Example: ${flag} 30`,
    );
  }
  return Math.round(value * 1000);
}

export function parseArgs(argv: readonly string[]): CliArgs {
  const args: CliArgs = { command: "help", seeds: [], json: false, replace: false, append: false };
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inlineValue: string | undefined;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      inlineValue = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    if (arg === "--json") args.json = true;
    else if (arg === "--replace") args.replace = true;
    else if (arg === "--append") args.append = true;
    else if (arg === "--help" || arg === "-h") command = "help";
    else if (arg === "--version" || arg === "-v") command = "version";
    else if (VALUE_FLAGS.includes(arg)) {
      const value = inlineValue ?? argv[++i];
      if (value === undefined || (inlineValue === undefined && value.startsWith("--"))) {
        throw new ReleaseError(
          "invalid-input",
          `${arg} needs a value.`,
          `Example: ${arg === "--seed" ? "--seed demo" : `${arg} <value>`}`,
        );
      }
      if (arg === "--database-url") args.databaseUrl = value;
      else if (arg === "--seed") args.seeds.push(value);
      else if (arg === "--migrations-dir") args.migrationsDir = value;
      else if (arg === "--owner-role") args.ownerRole = value;
      else if (arg === "--lock-timeout") args.lockTimeoutMs = seconds(arg, value);
      else if (arg === "--connect-timeout") args.connectTimeoutMs = seconds(arg, value);
      else if (arg === "--row-level-security") args.rowLevelSecurity = parseRowLevelSecurityMode(value, arg);
      else if (arg === "--file") args.file = value;
      else if (arg === "--dataset") args.dataset = value;
      else if (arg === "--to") args.to = value;
    } else if (arg.startsWith("-")) {
      throw new ReleaseError(
        "invalid-input",
        `Unknown option ${arg}.`,
        "Run `neonhub-db --help` for the options.",
      );
    } else if (command === undefined) {
      command = arg;
    } else {
      throw new ReleaseError(
        "invalid-input",
        `Unexpected argument "${arg}".`,
        "Run `neonhub-db --help` for the usage.",
      );
    }
  }
  if (command === undefined) return args;
  if (command === "help" || command === "version" || (COMMANDS as readonly string[]).includes(command)) {
    args.command = command as CliArgs["command"];
    if (command === "load-chunks" && (!args.file || !args.dataset)) {
      throw new ReleaseError(
        "invalid-input",
        "load-chunks needs --file and --dataset.",
        "Example: neonhub-db load-chunks --file chunks.ndjson --dataset <Dataset id>",
      );
    }
    return args;
  }
  throw new ReleaseError(
    "invalid-input",
    `Unknown command "${command}".`,
    `Use one of: ${COMMANDS.join(", ")}.`,
  );
}
