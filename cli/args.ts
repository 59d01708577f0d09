// Command-line parsing for neonhub-db. No dependency: the surface is small and every error message is ours.
import { ReleaseError } from "../core/errors";
import { parseReleaseEnvironment, type LockSafetySettings, type ReleaseEnvironment } from "../core";
import { parseRowLevelSecurityMode, type RowLevelSecurityMode } from "../core/row-level-security";

export const COMMANDS = [
  "plan",
  "apply",
  "status",
  "verify",
  "baseline",
  "load-chunks",
  "health",
  "revert",
  "prisma-schema",
  "adopt",
] as const;
export type Command = (typeof COMMANDS)[number];

export interface CliArgs {
  command: Command | "help" | "version";
  databaseUrl?: string;
  seeds: string[];
  json: boolean;
  migrationsDir?: string;
  ownerRole?: string;
  lockTimeoutMs?: number;
  /** How migrations wait for table locks (docs/runbook.md); unset fields keep their defaults. */
  lockSafety: Partial<LockSafetySettings>;
  /** Which stack the release is for: `production` makes plan's blocking safety findings errors. */
  environment?: ReleaseEnvironment;
  connectTimeoutMs?: number;
  /** Whether the tenant tables' policies are enforced; unset keeps the mode the database records. */
  rowLevelSecurity?: RowLevelSecurityMode;
  /** load-chunks: the chunk file and the dataset it fills. */
  file?: string;
  dataset?: string;
  /** baseline: the last migration to mark as applied. */
  to?: string;
  replace: boolean;
  /** revert: without it, revert only shows what it would undo. */
  confirm: boolean;
  /** prisma-schema: the file to write (or, with --check, to compare). */
  out?: string;
  /** prisma-schema: compare the file with the database instead of writing it. */
  check: boolean;
  append: boolean;
}

const VALUE_FLAGS = [
  "--database-url",
  "--seed",
  "--migrations-dir",
  "--owner-role",
  "--lock-timeout",
  "--migration-lock-timeout",
  "--statement-timeout",
  "--lock-retries",
  "--environment",
  "--connect-timeout",
  "--row-level-security",
  "--file",
  "--dataset",
  "--to",
  "--out",
];

export const USAGE = `Usage: neonhub-db <command> [options]

Commands:
  plan      what apply would do (pending migrations, seed sets, vector indexes); exit 2 when something is pending
  apply     apply the release: migrations, then seed sets, then vector indexes
  status    the migration ledger, seed sets and vector indexes recorded in the database
  verify    applied migrations against their files, live schema against the recorded snapshot; exit 2 on drift
  baseline [--to NAME]
            adopt an existing database: mark the migrations as applied after proving its schema matches them
  adopt     adopt a database migrated by the node-pg-migrate CLI with these files (its pgmigrations table):
            prove the schema, record them with checksums, move pgmigrations into neonhub_release
  load-chunks --file F --dataset ID [--replace | --append]
            load a chunk file (NDJSON, see docs/seeds.md) into a dataset, in one transaction
  health    read-only: vector and hot-path indexes, large tables' vacuum/analyze, connections, replication;
            exit 2 when something needs action (docs/observability.md)
  revert --to NAME [--confirm]
            run the Down sections of the migrations applied after NAME, newest first, under the release
            lock; without --confirm it only lists them and what they drop (exit 2 when there is something)
  prisma-schema [--out FILE] [--check]
            the app's Prisma schema, rendered from the database's catalog: printed, written to FILE, or with
            --check compared with FILE (default prisma/schema.prisma); exit 2 when they differ (docs/prisma.md)

Options:
  --database-url URL       PostgreSQL URL (default: $DATABASE_URL)
  --seed NAME              apply/plan this seed set too (repeatable), e.g. --seed demo
  --json                   print one JSON document on stdout and nothing else
  --migrations-dir DIR     folder of the migration files (default: migrations/ of this project)
  --owner-role ROLE        SET ROLE to this role before changing anything, so it owns the objects
  --lock-timeout SECONDS   how long apply waits for another release (default 60)
  --migration-lock-timeout SECONDS
                           lock_timeout of each migration: how long a statement waits for a table lock before
                           the migration is rolled back and retried (default 5; 0 = no limit)
  --statement-timeout SECONDS
                           statement_timeout of each migration (default 0 = off)
  --lock-retries N         retries of a migration that timed out on a lock, with backoff (default 5)
  --environment NAME       production | staging | development (default): in production, plan's blocking
                           safety findings on tables with data are errors (docs/runbook.md)
  --connect-timeout SECS   how long to wait for the server to accept a connection (default 10)
  --row-level-security M   enforce | off: whether the tenant tables' policies are enforced (docs/security.md;
                           default: the mode the database records, enforce for a new one)
  --replace                load-chunks: replace the dataset's existing chunks (refused otherwise)
  --to NAME                baseline: the last migration to adopt; revert: the last migration to keep
  --confirm                revert: really revert (without it, revert only shows what it would do)
  --append                 load-chunks: add the file's documents to the dataset, replacing those it has
  --help, --version

Exit codes: 0 ok / nothing pending, 1 error, 2 plan has pending changes, verify found drift or health found
something that needs action.`;

function secondsOrOff(flag: string, raw: string): number {
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || value < 0 || value > 86_400) {
    throw new ReleaseError(
      "invalid-input",
      `${flag} takes a number of seconds from 0 (no limit) to 86400, got "${raw}".`,
      `Example: ${flag} 5`,
    );
  }
  return Math.round(value * 1000);
}

function count(flag: string, raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value > 100) {
    throw new ReleaseError(
      "invalid-input",
      `${flag} takes a whole number from 0 to 100, got "${raw}".`,
      `Example: ${flag} 5`,
    );
  }
  return value;
}

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
  const args: CliArgs = {
    command: "help",
    seeds: [],
    json: false,
    replace: false,
    confirm: false,
    check: false,
    lockSafety: {},
    append: false,
  };
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
    else if (arg === "--confirm") args.confirm = true;
    else if (arg === "--check") args.check = true;
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
      else if (arg === "--migration-lock-timeout") args.lockSafety.lockTimeoutMs = secondsOrOff(arg, value);
      else if (arg === "--statement-timeout") args.lockSafety.statementTimeoutMs = secondsOrOff(arg, value);
      else if (arg === "--lock-retries") args.lockSafety.lockRetries = count(arg, value);
      else if (arg === "--environment") args.environment = parseReleaseEnvironment(value, arg);
      else if (arg === "--connect-timeout") args.connectTimeoutMs = seconds(arg, value);
      else if (arg === "--row-level-security") args.rowLevelSecurity = parseRowLevelSecurityMode(value, arg);
      else if (arg === "--file") args.file = value;
      else if (arg === "--dataset") args.dataset = value;
      else if (arg === "--to") args.to = value;
      else if (arg === "--out") args.out = value;
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
    if (command === "revert" && !args.to) {
      throw new ReleaseError(
        "invalid-input",
        "revert needs --to <migration name>: the last migration to keep.",
        "Example: neonhub-db revert --to 20250126001500_bulk_load_autovacuum (see `neonhub-db status` for the applied migrations).",
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
