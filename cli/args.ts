// Command-line parsing for neonhub-db: node:util's parseArgs, with every error message in this CLI's words.
import { parseArgs as parseNodeArgs, type ParseArgsConfig } from "node:util";
import {
  DEFAULT_LOCK_SAFETY,
  LOCK_SAFETY_MAX,
  RELEASE_LOCK_TIMEOUT_SECONDS,
  STATEMENT_TIMEOUT_ENDS_LOCK_WAITS,
  statementTimeoutEndsLockWaits,
  suggestedStatementTimeoutMs,
  isReleaseLockSeconds,
  ReleaseError,
  closestName,
  parseReleaseEnvironment,
  parseRowLevelSecurityMode,
  refuseReplaceWithAppend,
  type LockSafetySettings,
  type ReleaseEnvironment,
  type ReleaseSettings,
  type RowLevelSecurityMode,
} from "../core";
import { commandInFix, revertPreviewCommand } from "./confirm-command";

export const COMMANDS = [
  "plan",
  "apply",
  "status",
  "verify",
  "baseline",
  "adopt",
  "load-chunks",
  "health",
  "revert",
  "prisma-schema",
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
  /** Which stack the release is for: `production` makes blocking safety findings errors (plan and apply). */
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
  /** load-chunks: add the file's documents to the dataset, replacing those it already has. */
  append: boolean;
  /** revert: without it, revert only shows what it would undo. */
  confirm: boolean;
  /** revert --confirm --expect-last: the ledger's last migration the preview showed; any other is refused. */
  expectLast?: string;
  /** revert --corrected-down: migrations to revert with their Down section corrected since they were applied. */
  correctedDown: string[];
  /** prisma-schema: the file to write (or, with --check, to compare). */
  out?: string;
  /** prisma-schema: compare the file with the database instead of writing it. */
  check: boolean;
  /** --config: a release settings file (JSON or YAML, core/release-config.ts). */
  configFile?: string;
  /** --set key=value, in order: release settings that win over the file's. */
  settings: string[];
  /** plan/apply: upgrade a Prisma-era database in place (docs/runbook.md, "Upgrading a Prisma-era database"). */
  upgradeLegacy: boolean;
  /** --legacy-organization: the organization every legacy row is given to. */
  legacyOrganization?: string;
  /** --batch-size: rows per backfill batch of the upgrade. */
  batchSize?: number;
  /** --max-batches: stop the upgrade's backfill after this many batches (resumable). */
  maxBatches?: number;
}

export const USAGE = `Usage: neonhub-db <command> [options]

Commands:
  plan      what apply would do (pending migrations, seed sets, vector indexes); exit 2 when something is pending
  apply     apply the release: migrations, then row-level security, seed sets and vector indexes
  status    the migration ledger, seed sets, vector indexes and release settings recorded in the database
            (it takes no --config or --set: it shows what plan and apply keep when given none); exit 2 when the
            ledger has a problem apply refuses (a changed or missing file, a lost row, a migration out of order)
            or a prepared transaction holds the release lock
  verify    applied migrations against their files, live schema against the recorded snapshot; exit 2 on drift
  baseline [--to NAME]
            adopt an existing database: mark the migrations as applied after proving its schema matches them
  adopt     adopt a database migrated by the node-pg-migrate CLI with these files (its pgmigrations table):
            prove the schema, record them with checksums, move pgmigrations into neonhub_release
  load-chunks --file F --dataset ID [--replace | --append]
            load a chunk file (NDJSON, see docs/seeds.md) into a dataset, in one transaction
  health    read-only: vector and hot-path indexes, large tables' vacuum/analyze, connections, replication,
            settings stored on the app and read-only logins; exit 2 when something needs action
            (docs/observability.md)
  revert --to NAME [--confirm [--expect-last LAST]] [--corrected-down NAME]
            run the Down sections of the migrations applied after NAME, newest first, under the release
            lock, each under --migration-lock-timeout with --lock-retries as apply's migrations; without
            --confirm it only lists them and what they drop, truncate or delete (dropped columns included;
            exit 2 when there is something) and prints the command that confirms it, --expect-last included
  prisma-schema [--out FILE] [--check]
            the app's Prisma schema, rendered from the database's catalog: printed, written to FILE, or with
            --check compared with FILE (default prisma/schema.prisma); exit 2 when they differ (docs/prisma.md)

Options:
  --database-url URL       PostgreSQL URL (default: $DIRECT_URL, the migrator's, else $DATABASE_URL)
  --seed NAME              apply/plan this seed set too (repeatable), e.g. --seed demo
  --json                   print one JSON document on stdout and nothing else
  --migrations-dir DIR     folder of the migration files (default: migrations/ of this project)
  --owner-role ROLE        SET ROLE to this role before changing anything, so it owns the objects; plan and
                           revert without --confirm act as it too (writing nothing), as apply and revert would
  --lock-timeout SECONDS   how long a command waits for a lock another session holds: apply, revert, baseline
                           and adopt for another release; status, plan, verify, health, prisma-schema and
                           load-chunks for a table or row they read or write (they say every 2 s whom they wait
                           for, then fail naming that session); whole seconds, 1 to 3600 (default 60)
  --migration-lock-timeout SECONDS
                           lock_timeout of each migration's Up section (apply) or Down section (revert): how
                           long a statement waits for a table lock before the migration is rolled back and
                           retried (default 5; 0 = no limit); apply's and revert's reads before their first
                           write wait at most as long
  --statement-timeout SECONDS
                           statement_timeout of each migration, apply's and revert's (default 0 = off);
                           when on, longer than --migration-lock-timeout (given or its default)
  --lock-retries N         retries of a migration (apply) or Down section (revert) that timed out on a lock,
                           with backoff (default 5)
  --environment NAME       production | staging | development (default): in production, blocking safety
                           findings on tables with data are errors: plan exits 1, apply refuses; revert the
                           same of the Down sections it runs
                           (docs/runbook.md, "The safety lint: blocking migrations on tables with data")
  --connect-timeout SECS   how long to wait for the server to accept a connection (default 10)
                           (--migration-lock-timeout, --statement-timeout and --connect-timeout take
                           plain decimal seconds with at most 3 decimals, e.g. 2.5)
  --row-level-security M   enforce | off: whether the tenant tables' policies are enforced (docs/security.md;
                           default: the mode the database records, enforce for a new one)
  --config FILE            release settings, JSON or YAML (docs/schema-release.md):
                           {"vectorIndexes": {"method": "hnsw"}, "rowLevelSecurity": "enforce"}, or a stack's
                           Pulumi.<stack>.yaml, whose neonhub-db: release settings it reads as the stack does
  --set KEY=VALUE          one release setting, winning over --config (repeatable), e.g.
                           --set vectorIndexes.method=hnsw. The vector-index settings and the row-level
                           security mode given neither way keep what the database recorded at its last
                           release (the defaults for a new one); lockTimeoutSeconds, not recorded, is 60.
                           health reads vectorIndexes and lockTimeoutSeconds only, and refuses the others
  --file F                 load-chunks: the chunk file to load (NDJSON, docs/seeds.md)
  --dataset ID             load-chunks: the Dataset row's id the chunks go to
  --replace                load-chunks: replace the dataset's existing chunks (refused otherwise)
  --append                 load-chunks: add the file's documents to the dataset, replacing those it has
  --to NAME                baseline: the last migration to adopt; revert: the last migration to keep
  --confirm                revert: really revert (without it, revert only shows what it would do)
  --expect-last NAME       revert --confirm: the ledger's last migration as the preview showed it; if the
                           ledger ends at another (a deploy or a revert since), nothing is reverted
                           (ledger-mismatch). The preview prints the confirm command with it
  --corrected-down NAME    revert: run this migration's Down section as the file has it now, although the file
                           changed since it was applied; only while its Up section is the applied one
                           (repeatable; docs/runbook.md, "Reverting migrations in place")
  --out FILE               prisma-schema: the file to write, or with --check to compare
  --check                  prisma-schema: compare the file with the database instead of writing it
  --upgrade-legacy         plan/apply: upgrade a Prisma-era NeonHub database in place (expand, backfill while
                           the old app runs, proof, cutover; resumable); needs --legacy-organization
  --legacy-organization SLUG
                           the organization every legacy row is given to (created by the upgrade)
  --batch-size N           rows per backfill batch of the upgrade (default 1000)
  --max-batches N          stop the upgrade's backfill after N batches; run it again to continue
  --help, --version

Exit codes: 0 ok / nothing pending, 1 error, 2 something to act on: plan has pending changes, status found a
ledger problem or a prepared transaction holding the release lock, verify found drift, health found something
that needs action, revert without --confirm has migrations to revert, prisma-schema --check found the file and
the database differ, or apply --upgrade-legacy stopped after --max-batches (README.md, "Exit codes and error
codes").`;

/**
 * A number of seconds as a plain decimal ("5", "2.5", "0.25"): no sign, exponent, hex or spaces, and at most
 * three decimals, since PostgreSQL and the driver count these timeouts in whole milliseconds. A finer value
 * would round to 0 ms, which both read as "no limit" (a timeout of 0.0001 s would wait forever), so it is
 * refused rather than rounded: the operator meant some limit, and only they know which.
 */
const PLAIN_SECONDS = /^\d+(\.\d{1,3})?$/;

/** `raw` seconds in milliseconds, or NaN when it is not PLAIN_SECONDS. */
function plainSecondsMs(raw: string): number {
  return PLAIN_SECONDS.test(raw) ? Math.round(Number(raw) * 1000) : NaN;
}

/**
 * `--statement-timeout` and `--migration-lock-timeout`: 0 turns the limit off; otherwise at least 1 ms, at
 * most the setting's own maximum (LOCK_SAFETY_MAX, which the stack settings share).
 */
function secondsOrOff(maxMs: number): (flag: string, raw: string) => number {
  return (flag, raw) => {
    const ms = plainSecondsMs(raw);
    if (!(ms >= 0 && ms <= maxMs)) {
      throw new ReleaseError(
        "invalid-input",
        `${flag} takes 0 (no limit) or a number of seconds from 0.001 to ${maxMs / 1000} (at most 3 decimals), got "${raw}".`,
        `Example: ${flag} 5`,
      );
    }
    return ms;
  };
}

/** `--connect-timeout`: a limit there must be (0 would mean waiting forever), of at least 1 ms. */
function seconds(flag: string, raw: string): number {
  const ms = plainSecondsMs(raw);
  if (!(ms >= 1 && ms <= 86_400_000)) {
    throw new ReleaseError(
      "invalid-input",
      `${flag} takes a number of seconds more than 0, from 0.001 to 86400 (at most 3 decimals), got "${raw}".`,
      `Example: ${flag} 30`,
    );
  }
  return ms;
}

/** `--lock-timeout`: the release-lock wait, the same setting as `lockTimeoutSeconds`, so the same range. */
function releaseLockSeconds(flag: string, raw: string): number {
  const { min, max } = RELEASE_LOCK_TIMEOUT_SECONDS;
  const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!isReleaseLockSeconds(value)) {
    throw new ReleaseError(
      "invalid-input",
      `${flag} takes a whole number of seconds from ${min} to ${max}, got "${raw}".`,
      `Example: ${flag} 60`,
    );
  }
  return value * 1000;
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

function rows(flag: string, raw: string): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > 1_000_000) {
    throw new ReleaseError(
      "invalid-input",
      `${flag} takes a whole number from 1 to 1000000, got "${raw}".`,
      `Example: ${flag} 1000`,
    );
  }
  return value;
}

/** The flags that take a number, each with its one parser (which also decides its range and message). */
const NUMBER_FLAGS: Record<string, (flag: string, raw: string) => number> = {
  "--lock-timeout": releaseLockSeconds,
  "--migration-lock-timeout": secondsOrOff(LOCK_SAFETY_MAX.lockTimeoutMs),
  "--statement-timeout": secondsOrOff(LOCK_SAFETY_MAX.statementTimeoutMs),
  "--connect-timeout": seconds,
  "--lock-retries": count,
  "--batch-size": rows,
  "--max-batches": rows,
};

/**
 * `--statement-timeout` at or below the migrations' lock timeout (`--migration-lock-timeout`, or its default):
 * refused by the stack's own rule (core's statementTimeoutEndsLockWaits), in the flags' words.
 */
function refuseStatementTimeoutWithinLockTimeout(lockSafety: Partial<LockSafetySettings>): void {
  const { statementTimeoutMs } = lockSafety;
  if (statementTimeoutMs === undefined) return;
  const lockTimeoutMs = lockSafety.lockTimeoutMs ?? DEFAULT_LOCK_SAFETY.lockTimeoutMs;
  if (!statementTimeoutEndsLockWaits({ lockTimeoutMs, statementTimeoutMs })) return;
  const lock =
    lockSafety.lockTimeoutMs === undefined
      ? `--migration-lock-timeout (${lockTimeoutMs / 1000}, its default)`
      : `--migration-lock-timeout ${lockTimeoutMs / 1000}`;
  throw new ReleaseError(
    "invalid-input",
    `--statement-timeout ${statementTimeoutMs / 1000} must be longer than ${lock}, or ${STATEMENT_TIMEOUT_ENDS_LOCK_WAITS}.`,
    `Give a --statement-timeout longer than ${lockTimeoutMs / 1000} seconds (e.g. --statement-timeout ${suggestedStatementTimeoutMs(lockTimeoutMs) / 1000}) or 0 to turn it off, or a shorter --migration-lock-timeout.`,
  );
}

function numberFlag(flag: string, raw: string | undefined): number | undefined {
  return raw === undefined ? undefined : NUMBER_FLAGS[flag]!(flag, raw);
}

/**
 * `--lock-timeout -5`: node:util reads "-5" as a flag, and would have the user told the value is missing.
 * After a flag that takes a number, a negative number is its value, so it gets that flag's range message.
 */
function joinNegativeNumbers(argv: readonly string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg === "--") return [...joined, ...argv.slice(i)];
    if (arg in NUMBER_FLAGS && next !== undefined && /^-[\d.]/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else joined.push(arg);
  }
  return joined;
}

/** The flags, as node:util parseArgs takes them; the value flags' errors are worded below. */
export const OPTIONS = {
  "database-url": { type: "string" },
  seed: { type: "string", multiple: true },
  "migrations-dir": { type: "string" },
  "owner-role": { type: "string" },
  "lock-timeout": { type: "string" },
  "migration-lock-timeout": { type: "string" },
  "statement-timeout": { type: "string" },
  "lock-retries": { type: "string" },
  environment: { type: "string" },
  "connect-timeout": { type: "string" },
  "row-level-security": { type: "string" },
  config: { type: "string" },
  set: { type: "string", multiple: true },
  file: { type: "string" },
  dataset: { type: "string" },
  to: { type: "string" },
  "corrected-down": { type: "string", multiple: true },
  out: { type: "string" },
  json: { type: "boolean" },
  replace: { type: "boolean" },
  append: { type: "boolean" },
  confirm: { type: "boolean" },
  "expect-last": { type: "string" },
  check: { type: "boolean" },
  "upgrade-legacy": { type: "boolean" },
  "legacy-organization": { type: "string" },
  "batch-size": { type: "string" },
  "max-batches": { type: "string" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const satisfies ParseArgsConfig["options"];

/** The flags that take a value, as typed: `--owner-role`. */
type ValueFlag = {
  [K in keyof typeof OPTIONS]: (typeof OPTIONS)[K]["type"] extends "string" ? `--${K}` : never;
}[keyof typeof OPTIONS];

/**
 * What a value flag's example shows when the value is missing: one for every flag that takes a value (the
 * type says so), the numbers within each flag's range.
 */
const VALUE_EXAMPLES: Record<ValueFlag, string> = {
  "--seed": "demo",
  "--set": "vectorIndexes.method=hnsw",
  "--config": "release.yaml",
  "--owner-role": "neonhub_owner",
  "--file": "chunks.ndjson",
  "--dataset": "<Dataset id>",
  "--to": "<migration name>",
  "--corrected-down": "<migration name>",
  "--expect-last": "<migration name>",
  "--out": "prisma/schema.prisma",
  "--environment": "production",
  "--database-url": "postgresql://user:****@127.0.0.1:5432/neonhub",
  "--connect-timeout": "10",
  "--legacy-organization": "acme",
  "--migrations-dir": "migrations",
  "--lock-timeout": "60",
  "--migration-lock-timeout": "5",
  "--statement-timeout": "300",
  "--lock-retries": "5",
  "--row-level-security": "enforce",
  "--batch-size": "1000",
  "--max-batches": "10",
};

/** The example of `flag` when it takes a value. */
function valueExample(flag: string): string {
  return (VALUE_EXAMPLES as Record<string, string | undefined>)[flag] ?? "<value>";
}

/** An option this CLI does not have, with the one meant when it is a slip away (`--owner_role`: `--owner-role`). */
function unknownOption(flag: string): ReleaseError {
  const near = closestName(
    flag,
    Object.keys(OPTIONS).map((name) => `--${name}`),
  );
  return new ReleaseError(
    "invalid-input",
    `Unknown option ${flag}.`,
    `${near ? `Did you mean ${near}? ` : ""}Run \`neonhub-db --help\` for the options.`,
  );
}

/** Whether `arg` is one of this CLI's flags (`--json`, `--set=x`, `-h`), not a value that starts with "-". */
function isFlag(arg: string): boolean {
  const name = /^--([\w-]+)/.exec(arg)?.[1];
  return (
    (name !== undefined && Object.hasOwn(OPTIONS, name)) || ["-h", "-v", "--help", "--version"].includes(arg)
  );
}

/** node:util's parse errors, in this CLI's words (tests and scripts match them). */
function parseError(error: unknown, argv: readonly string[]): ReleaseError {
  const { code, message = "" } = error as { code?: string; message?: string };
  const flag = /'(--?[\w-]+)/.exec(message)?.[1] ?? "";
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return unknownOption(flag);
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (/does not take an argument/.test(message)) {
        return new ReleaseError("invalid-input", `${flag} takes no value.`, `Example: ${flag}`);
      }
      if (/starting with a dash/.test(message)) {
        // "status --lock-timeout --json": the value was left out, and the next flag is no value.
        const next = argv[argv.indexOf(flag) + 1] ?? "";
        if (isFlag(next)) {
          return new ReleaseError(
            "invalid-input",
            `${flag} needs a value: what follows it is the flag ${next.split("=")[0]}.`,
            `Example: ${flag} ${valueExample(flag)}`,
          );
        }
        // "--connect-timeout -1": node reads "-1" as a flag, not as the value.
        return new ReleaseError(
          "invalid-input",
          `${flag} needs a value, and what follows it starts with "-".`,
          `Write a value that starts with "-" as ${flag}=<value>; example: ${flag} ${valueExample(flag)}`,
        );
      }
      return needsValue(flag);
  }
  return new ReleaseError("invalid-input", message, "Run `neonhub-db --help` for the usage.");
}

function needsValue(flag: string): ReleaseError {
  return new ReleaseError(
    "invalid-input",
    `${flag} needs a value.`,
    `Example: ${flag} ${valueExample(flag)}`,
  );
}

/**
 * A value flag given an empty value (`--owner-role=`, or `--owner-role "$OWNER"` with the variable unset) is
 * refused rather than read as absent: an empty owner role would release as the connecting login instead.
 */
function refuseEmptyValues(values: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(values)) {
    const given = Array.isArray(value) ? value : [value];
    if (given.some((v) => v === "")) throw needsValue(`--${name}`);
  }
}

/** PostgreSQL's longest name (NAMEDATALEN - 1), in bytes: it cuts a longer one to that, silently. */
const MAX_NAME_BYTES = 63;

/** `name` as PostgreSQL keeps it: its whole characters within MAX_NAME_BYTES. */
function keptName(name: string): string {
  let kept = "";
  for (const char of name) {
    if (Buffer.byteLength(kept + char, "utf8") > MAX_NAME_BYTES) break;
    kept += char;
  }
  return kept;
}

/**
 * An --owner-role longer than PostgreSQL keeps a name is refused: SET ROLE would cut it and act as the role its
 * first 63 bytes name, which may exist (a role the operator did not name owns what the release creates).
 */
function refuseLongRoleName(role: string | undefined): void {
  if (role === undefined) return;
  const bytes = Buffer.byteLength(role, "utf8");
  if (bytes <= MAX_NAME_BYTES) return;
  throw new ReleaseError(
    "invalid-input",
    `--owner-role is ${bytes} bytes long: PostgreSQL keeps at most ${MAX_NAME_BYTES} bytes of a role's name, and ` +
      `would act as the role named "${keptName(role)}".`,
    "Give the role's name as the database has it (SELECT rolname FROM pg_roles).",
  );
}

/**
 * The flags that mean something to some commands only (the help names them with those commands). Given to
 * another, they were ignored, so that `status --seed demo` looked like it did something.
 */
// Which commands read each flag. plan takes every flag of apply, since it shows what apply would do and CI runs
// both with one set of flags.
// status shows the release settings the database recorded (what plan and apply keep when given none), and
// takes none: a setting given to it would change nothing it shows.
const RELEASE_STEP_SETTINGS = ["plan", "apply", "health"] as const;

/**
 * Which commands read each release setting, however it is given (--config, --set, or its own flag): the one
 * place that decides it. health judges the vector indexes by the release settings and waits for locks as long
 * as lockTimeoutSeconds says, and reads nothing of row-level security or the legacy upgrade: a setting given to
 * a command that would ignore it is refused, as its flag is (cli/release-settings.ts).
 */
export const COMMAND_SETTINGS: Readonly<Record<keyof ReleaseSettings, readonly Command[]>> = {
  vectorIndexes: RELEASE_STEP_SETTINGS,
  lockTimeoutSeconds: RELEASE_STEP_SETTINGS,
  rowLevelSecurity: ["plan", "apply"],
  legacyUpgrade: ["plan", "apply"],
};
const LOCK_TAKERS = ["plan", "apply", "revert", "baseline", "adopt"] as const;
const MIGRATION_FILE_READERS = ["plan", "apply", "status", "verify", "baseline", "adopt", "revert"] as const;

// A flag a command would ignore is refused, so that nobody believes it took effect (`status --environment
// production` reads no lint; `health --migrations-dir` reads no file).
export const COMMAND_FLAGS: Partial<Record<keyof typeof OPTIONS, readonly string[]>> = {
  seed: ["plan", "apply"],
  // revert lints the Down sections it runs as apply lints its Up sections.
  environment: ["plan", "apply", "revert"],
  // revert runs its Down sections under the same lock safety as apply's Up sections, and bounds its reads
  // before the first write with the migrations' lock timeout, as apply does.
  "migration-lock-timeout": ["plan", "apply", "revert"],
  "statement-timeout": ["plan", "apply", "revert"],
  "lock-retries": ["plan", "apply", "revert"],
  // "lock-timeout" goes with every command: the read commands and load-chunks wait for table and row locks at
  // most as long as a lock taker waits for another release (core/lock-safety/bounded-waits.ts).
  "owner-role": LOCK_TAKERS,
  "migrations-dir": MIGRATION_FILE_READERS,
  "row-level-security": COMMAND_SETTINGS.rowLevelSecurity,
  config: RELEASE_STEP_SETTINGS,
  set: RELEASE_STEP_SETTINGS,
  "upgrade-legacy": ["plan", "apply"],
  "legacy-organization": ["plan", "apply"],
  "batch-size": ["plan", "apply"],
  "max-batches": ["plan", "apply"],
  file: ["load-chunks"],
  dataset: ["load-chunks"],
  replace: ["load-chunks"],
  append: ["load-chunks"],
  to: ["baseline", "revert"],
  confirm: ["revert"],
  "expect-last": ["revert"],
  "corrected-down": ["revert"],
  out: ["prisma-schema"],
  check: ["prisma-schema"],
};

/** Whether `command` takes `flag` (`--owner-role`): a flag COMMAND_FLAGS does not list goes with every command. */
export function takesFlag(command: string, flag: string): boolean {
  const commands = COMMAND_FLAGS[flag.replace(/^--/, "") as keyof typeof OPTIONS];
  return commands === undefined || commands.includes(command);
}

/**
 * The refusal of `what` (a flag, a release setting) given to `command`, which would ignore it: it names the
 * commands that take it. `leaveOut`: where to leave it out of; `example`: the words after the command.
 */
export function otherCommandsError(
  what: string,
  commands: readonly string[],
  command: string,
  example: string,
  leaveOut = "Leave it out",
): ReleaseError {
  const which =
    commands.length === 1 ? commands[0] : `${commands.slice(0, -1).join(", ")} or ${commands.at(-1)}`;
  return new ReleaseError(
    "invalid-input",
    `${what} goes with ${which}, not ${command}.`,
    `${leaveOut}, or run \`neonhub-db ${commands[0]} ${example}\` (see \`neonhub-db --help\`).`,
  );
}

function refuseFlagsOfOtherCommands(values: Record<string, unknown>, command: string): void {
  for (const [flag, commands] of Object.entries(COMMAND_FLAGS)) {
    const value = values[flag];
    const given = value !== undefined && value !== false && !(Array.isArray(value) && value.length === 0);
    if (!given || commands!.includes(command)) continue;
    throw otherCommandsError(`--${flag}`, commands!, command, `--${flag} ...`);
  }
}

/** A flag that takes one value, given twice: which one wins would be a guess, so neither does. */
function refuseRepeatedFlags(argv: readonly string[]): void {
  const seen = new Set<string>();
  for (const arg of argv) {
    const name = /^--([\w-]+)/.exec(arg)?.[1];
    if (!name || !(name in OPTIONS)) continue;
    const option = OPTIONS[name as keyof typeof OPTIONS] as { multiple?: boolean };
    if (option.multiple) continue;
    if (seen.has(name)) {
      throw new ReleaseError(
        "invalid-input",
        `--${name} is given twice.`,
        "Give it once (of the options, only --seed, --set and --corrected-down repeat).",
      );
    }
    seen.add(name);
  }
}

/**
 * `env`: only for a command a refusal prints, which names a --database-url given from one of the project's URL
 * variables (DIRECT_URL, DATABASE_URL, ADMIN_URL, ...) by the variable (cli/confirm-command.ts).
 */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = {}): CliArgs {
  let parsed;
  try {
    parsed = parseNodeArgs({
      args: joinNegativeNumbers(argv),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw parseError(error, argv);
  }
  const { values, positionals } = parsed;
  refuseEmptyValues(values);
  refuseLongRoleName(values["owner-role"]);
  refuseRepeatedFlags(argv);
  if (positionals.length > 1) {
    throw new ReleaseError(
      "invalid-input",
      `Unexpected argument "${positionals[1]}".`,
      "Run `neonhub-db --help` for the usage.",
    );
  }
  const args: CliArgs = {
    command: "help",
    seeds: values.seed ?? [],
    json: values.json ?? false,
    replace: values.replace ?? false,
    append: values.append ?? false,
    confirm: values.confirm ?? false,
    expectLast: values["expect-last"],
    correctedDown: values["corrected-down"] ?? [],
    check: values.check ?? false,
    out: values.out,
    lockSafety: {},
    databaseUrl: values["database-url"],
    migrationsDir: values["migrations-dir"],
    ownerRole: values["owner-role"],
    file: values.file,
    dataset: values.dataset,
    to: values.to,
    configFile: values.config,
    settings: values.set ?? [],
    upgradeLegacy: values["upgrade-legacy"] ?? false,
    legacyOrganization: values["legacy-organization"],
  };
  args.batchSize = numberFlag("--batch-size", values["batch-size"]);
  args.maxBatches = numberFlag("--max-batches", values["max-batches"]);
  args.lockTimeoutMs = numberFlag("--lock-timeout", values["lock-timeout"]);
  args.connectTimeoutMs = numberFlag("--connect-timeout", values["connect-timeout"]);
  const lockTimeoutMs = numberFlag("--migration-lock-timeout", values["migration-lock-timeout"]);
  const statementTimeoutMs = numberFlag("--statement-timeout", values["statement-timeout"]);
  const lockRetries = numberFlag("--lock-retries", values["lock-retries"]);
  if (lockTimeoutMs !== undefined) args.lockSafety.lockTimeoutMs = lockTimeoutMs;
  if (statementTimeoutMs !== undefined) args.lockSafety.statementTimeoutMs = statementTimeoutMs;
  if (lockRetries !== undefined) args.lockSafety.lockRetries = lockRetries;
  if (values.environment !== undefined)
    args.environment = parseReleaseEnvironment(values.environment, "--environment");
  if (values["row-level-security"] !== undefined)
    args.rowLevelSecurity = parseRowLevelSecurityMode(values["row-level-security"], "--row-level-security");
  const command = values.help ? "help" : values.version ? "version" : positionals[0];
  if (command === undefined) {
    // Not the usage with exit 0: a script's `neonhub-db "$COMMAND"` with the variable empty must fail.
    throw new ReleaseError(
      "invalid-input",
      "No command given.",
      `Use one of: ${COMMANDS.join(", ")} (\`neonhub-db --help\` prints the usage).`,
    );
  }
  if (command === "help" || command === "version" || (COMMANDS as readonly string[]).includes(command)) {
    args.command = command as CliArgs["command"];
    if (command === "load-chunks" && (!args.file || !args.dataset)) {
      const missing = [
        !args.file && "--file (the chunk file)",
        !args.dataset && "--dataset (the Dataset's id)",
      ];
      throw new ReleaseError(
        "invalid-input",
        `load-chunks needs --file and --dataset: ${missing.filter(Boolean).join(" and ")} ${missing.every(Boolean) ? "are" : "is"} missing.`,
        "Example: neonhub-db load-chunks --file chunks.ndjson --dataset <Dataset id>",
      );
    }
    // --help and --version answer whatever else is on the line. Every check of the flags together is here,
    // before the command looks for a database URL (cli/main.ts, releaseOptions).
    if (command !== "help" && command !== "version") {
      refuseFlagsOfOtherCommands(values, command);
      refuseStatementTimeoutWithinLockTimeout(args.lockSafety);
      refuseReplaceWithAppend(args);
    }
    // The organization is read only with the flag (the legacyUpgrade setting names its own); --batch-size and
    // --max-batches go with either, which only the release settings tell (cli/main.ts, upgradeRequest).
    // The example is the command given: plan's fix shows a plan, which writes nothing.
    const upgradeCommand = command === "plan" ? "plan" : "apply";
    if (args.legacyOrganization !== undefined && !args.upgradeLegacy) {
      throw new ReleaseError(
        "invalid-input",
        "--legacy-organization goes with --upgrade-legacy, which was not given.",
        `Example: neonhub-db ${upgradeCommand} --upgrade-legacy --legacy-organization acme`,
      );
    }
    if (args.upgradeLegacy && !args.legacyOrganization) {
      throw new ReleaseError(
        "invalid-input",
        "--upgrade-legacy needs --legacy-organization <slug>: every legacy row is given to that organization.",
        `Example: neonhub-db ${upgradeCommand} --upgrade-legacy --legacy-organization acme`,
      );
    }
    if (command === "revert" && !args.to) {
      throw new ReleaseError(
        "invalid-input",
        "revert needs --to <migration name>: the last migration to keep.",
        "Example: neonhub-db revert --to 20250126001500_bulk_load_autovacuum (see `neonhub-db status` for the applied migrations).",
      );
    }
    // The preview reads the ledger's last migration itself and prints it in the confirm command: a check of
    // it there would guard nothing. Its fix is the preview, not a confirm: the one who typed this may not have
    // seen what a revert undoes now.
    if (command === "revert" && args.expectLast !== undefined && !args.confirm) {
      throw new ReleaseError(
        "invalid-input",
        "--expect-last goes with --confirm: it is the check a confirm makes, and without --confirm revert only shows what it would undo.",
        `See what a revert undoes now with its preview, ${commandInFix(revertPreviewCommand(argv, env))}, then run the confirm command it prints (with --expect-last set to the ledger's last migration).`,
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
