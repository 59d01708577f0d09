// `neonhub-db prisma-schema [--out FILE] [--check]`: renders the app's Prisma schema from a released database,
// prints it or writes it, or checks that a committed file is still what the database says.
import { readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { closeClient, isConnectionLost, openClient } from "../connection";
import { commandToRun, type CommandPrinter } from "../command-to-run";
import { lostConnectionError } from "../lost-connection";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../lock";
import { withBoundedLockWaits } from "../lock-safety/bounded-waits";
import { lockWaitWordsFor } from "../lock-safety/wait-names";
import { commandSessionSql } from "../lock-safety/session";
import { silentLogger, type Logger } from "../logger";
import { parseDatabaseUrl } from "../dsn";
import { ReleaseError } from "../errors";
import { shellWord } from "../shell-word";
import { readPrismaCatalog } from "./catalog";
import { compareSchemas, describeDifference, readsAsPrismaSchema, type SchemaDifference } from "./compare";
import { PRISMA_SCHEMA_PATH, renderPrismaSchema } from "./render";
import { BOOKKEEPING_SCHEMA, MIGRATIONS_TABLE } from "../bookkeeping";
import { readMigrationFiles } from "../migrations/files";
import type { ClientBase } from "pg";

export interface PrismaSchemaOptions {
  databaseUrl: string;
  databaseUrlSource?: string;
  connectTimeoutMs?: number;
  /** How long a catalog read waits for a lock another session holds (DEFAULT_LOCK_TIMEOUT_MS when unset). */
  lockTimeoutMs?: number;
  /** Where a wait for a lock is said (stderr in the CLI). */
  log?: Logger;
  /** Write the schema here (and, with `check`, compare this file instead of the default). */
  out?: string;
  /** Compare the file with the database instead of writing it. */
  check?: boolean;
  /** Resolves `out` and the default path (default: the current folder). */
  cwd?: string;
  /** This release's migrations, which the database may not have all applied yet (pendingMigrations). */
  migrationsDir?: string;
  /** How a fix prints a command to run on this database (ReleaseOptions.printCommand). */
  printCommand?: CommandPrinter;
  /** prisma-schema as the operator ran it, which a lost connection's and a lock timeout's fixes name (ReleaseOptions.commandAsRun). */
  commandAsRun?: string;
}

export interface PrismaSchemaResult {
  models: number;
  enums: number;
  /** The rendered schema, when neither --out nor --check was given. */
  schema?: string;
  /** The file written or checked. */
  file?: string;
  /** --out: whether the file changed. */
  written?: boolean;
  /** --check: the differences (empty when the file is current). */
  differences?: SchemaDifference[];
  /**
   * This release's migrations the database's ledger does not hold (a database of an earlier release, not yet
   * upgraded): the schema rendered is that earlier one. Absent when none, or when the login may not read the
   * ledger (the app and read-only logins).
   */
  pendingMigrations?: string[];
}

/**
 * The migrations of `migrationsDir` the ledger does not hold; undefined when the ledger cannot be read (no
 * release yet, or a login without access to the release's schema), which says nothing either way.
 */
async function unappliedMigrations(client: ClientBase, migrationsDir: string): Promise<string[] | undefined> {
  let applied: Set<string>;
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT name FROM ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}`,
    );
    applied = new Set(rows.map((r) => r.name));
  } catch (error) {
    if (isConnectionLost(error)) throw error;
    return undefined;
  }
  return readMigrationFiles(migrationsDir)
    .map((f) => f.name)
    .filter((name) => !applied.has(name));
}

/** What to say of a schema rendered from a database with `pending` migrations of this release unapplied. */
function pendingText(pending: readonly string[]): string {
  return (
    `the database has ${pending.length} migration${pending.length === 1 ? "" : "s"} of this release not ` +
    `applied yet (${pending[0]}${pending.length > 1 ? ", ..." : ""}): it renders the earlier release's schema`
  );
}

/** The apply that brings the database to this release, as the migrator: what a schema rendered before it needs. */
function applyFirst(print: CommandPrinter | undefined): string {
  return commandToRun(print, ["apply"], "neonhub-db apply with DIRECT_URL");
}

/** `neonhub-db prisma-schema <flags> --out <file>`, which writes (or checks) the file `file`. */
function prismaSchemaWith(print: CommandPrinter | undefined, flags: readonly string[], file: string): string {
  const args = ["prisma-schema", ...flags, "--out", file];
  return commandToRun(print, args, ["neonhub-db", ...args.slice(0, -1), shellWord(file)].join(" "));
}

/**
 * --out naming a folder, a device or a FIFO: refused before anything is read or written, naming a file path to
 * give instead. The file is read before it is compared or written: /dev/zero would be read until memory ran
 * out, and a FIFO would wait for a writer for ever.
 */
function refuseNonFile(
  out: string | undefined,
  file: string,
  check: boolean,
  print: CommandPrinter | undefined,
): void {
  const given = out ?? PRISMA_SCHEMA_PATH;
  let exists = false;
  try {
    const stats = statSync(file);
    exists = stats.isDirectory();
    if (!exists && !stats.isFile()) {
      throw new ReleaseError(
        "invalid-input",
        `--out ${given}: ${file} is not a regular file (a device or a FIFO).`,
        `Give the path of the schema file, e.g. ${prismaSchemaWith(print, check ? ["--check"] : [], PRISMA_SCHEMA_PATH)}${check ? `, or leave --out out to check ${PRISMA_SCHEMA_PATH} in the current folder` : ", or leave --out out to print the schema"}.`,
      );
    }
  } catch (error) {
    if (error instanceof ReleaseError) throw error;
    // missing or unreadable: reading or writing it says so
  }
  // `--out prisma/` names a folder whether or not it exists (writing it would fail with EISDIR).
  if (!exists && !/[\\/]$/.test(given)) return;
  const example = path.join(given, path.basename(PRISMA_SCHEMA_PATH));
  throw new ReleaseError(
    "invalid-input",
    `--out ${given}: ${file} ${exists ? "is" : "names"} a directory, not a file.`,
    `Give the path of the schema file, e.g. ${prismaSchemaWith(print, check ? ["--check"] : [], example)}`,
  );
}

/**
 * The file prisma-schema names, checked before anything connects (it needs no database): --out naming no
 * regular file is refused, and with --check the file compared must be readable and read as a Prisma schema.
 * Returns that file's path and text with --check. The CLI runs it with the rest of its command line, before it
 * looks for a database URL (cli/given-paths.ts), so that a mistyped path is named whether or not a URL was
 * given; prismaSchemaCommand runs it before it connects.
 */
export function checkSchemaFile(
  options: Pick<PrismaSchemaOptions, "out" | "check" | "cwd" | "printCommand">,
): { file: string; committed: string } | undefined {
  const cwd = options.cwd ?? process.cwd();
  const check = options.check === true;
  if (!check && options.out === undefined) return undefined;
  const given = options.out ?? PRISMA_SCHEMA_PATH;
  const file = path.resolve(cwd, given);
  refuseNonFile(options.out, file, check, options.printCommand);
  if (!check) return undefined;
  let committed: string;
  try {
    committed = readFileSync(file, "utf8");
  } catch {
    // The default is relative to the current folder (an app checks its own copy), not to this project.
    const where =
      options.out === undefined
        ? ` (the default, ${PRISMA_SCHEMA_PATH}, is read from the current folder, ${cwd})`
        : "";
    throw new ReleaseError(
      "invalid-input",
      `--check: cannot read ${file}${where}.`,
      `Run it from the folder that holds ${PRISMA_SCHEMA_PATH}, name the file with --out FILE, or write it first: ${prismaSchemaWith(options.printCommand, [], given)}`,
    );
  }
  if (!readsAsPrismaSchema(committed)) {
    throw new ReleaseError(
      "invalid-input",
      `--check: ${file} is not a Prisma schema: no model, generator or datasource block was read from it.`,
      `Name the schema file with --out FILE, or write it from the database: ${prismaSchemaWith(options.printCommand, [], given)}`,
    );
  }
  return { file, committed };
}

/** Renders the schema of the database at `databaseUrl` (any login may: it reads only the catalog). */
export async function generatePrismaSchema(
  options: Pick<
    PrismaSchemaOptions,
    | "databaseUrl"
    | "databaseUrlSource"
    | "connectTimeoutMs"
    | "lockTimeoutMs"
    | "log"
    | "migrationsDir"
    | "printCommand"
    | "commandAsRun"
  >,
): Promise<{ schema: string; models: number; enums: number; pendingMigrations?: string[] }> {
  const target = parseDatabaseUrl(options.databaseUrl, options.databaseUrlSource ?? "DATABASE_URL");
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const client = await openClient(target, {
    applicationName: "neonhub-db:prisma-schema",
    connectTimeoutMs: options.connectTimeoutMs,
    sessionSql: commandSessionSql(lockTimeoutMs),
  });
  try {
    const catalog = await withBoundedLockWaits(
      client,
      target,
      {
        command: "prisma-schema",
        lockTimeoutMs,
        connectTimeoutMs: options.connectTimeoutMs,
        log: options.log ?? silentLogger,
        rerun: lockWaitWordsFor(options, "prisma-schema").rerun,
      },
      () => readPrismaCatalog(client),
    );
    if (catalog.tables.length === 0) {
      throw new ReleaseError(
        "invalid-input",
        `Database "${target.database}" has no tables in schema public: there is no schema to render.`,
        `Apply the release first, as the migrator (${applyFirst(options.printCommand)}), then run prisma-schema against it.`,
      );
    }
    const pending = options.migrationsDir
      ? await unappliedMigrations(client, options.migrationsDir)
      : undefined;
    return {
      schema: renderPrismaSchema(catalog),
      models: catalog.tables.length,
      enums: Object.keys(catalog.enums).length,
      ...(pending && pending.length > 0 ? { pendingMigrations: pending } : {}),
    };
  } catch (error) {
    throw isConnectionLost(error)
      ? lostConnectionError(error, target, "prisma-schema", { asRun: options.commandAsRun })
      : error;
  } finally {
    await closeClient(client);
  }
}

export async function prismaSchemaCommand(options: PrismaSchemaOptions): Promise<PrismaSchemaResult> {
  const cwd = options.cwd ?? process.cwd();
  const checked = checkSchemaFile(options);
  const { schema, models, enums, pendingMigrations } = await generatePrismaSchema(options);
  const behind = pendingMigrations ? { pendingMigrations } : {};
  // Written or printed, the earlier release's schema would replace this release's in an app: said first.
  if (pendingMigrations && !options.check) {
    (options.log ?? silentLogger).warn(
      `${pendingText(pendingMigrations)}; apply the release first (${applyFirst(options.printCommand)}).`,
    );
  }
  if (checked) {
    const { file, committed } = checked;
    return { models, enums, file, differences: compareSchemas(schema, committed), ...behind };
  }
  if (options.out !== undefined) {
    const file = path.resolve(cwd, options.out);
    let before: string | undefined;
    try {
      before = readFileSync(file, "utf8");
    } catch {
      before = undefined;
    }
    if (before !== schema) {
      try {
        writeFileSync(file, schema);
      } catch (error) {
        const code = (error as { code?: string }).code ?? (error as Error).message;
        throw new ReleaseError(
          "invalid-input",
          `--out ${options.out}: cannot write ${file} (${code}).`,
          "Give a file in a folder that exists and that you may write, e.g. --out prisma/schema.prisma.",
          { cause: error },
        );
      }
    }
    return { models, enums, file, written: before !== schema, ...behind };
  }
  return { models, enums, schema, ...behind };
}

/**
 * The text `--check` prints when the file is out of date; its fix regenerates the file checked, named as it was
 * given (`out`, the --out of the check; the default file when unset), printed by `print`
 * (ReleaseOptions.printCommand) to run on the database checked.
 */
export function describeSchemaDrift(
  result: PrismaSchemaResult,
  out?: string,
  print?: CommandPrinter,
): string {
  const differences = result.differences ?? [];
  return [
    `${result.file} does not match the database (${differences.length} difference${differences.length === 1 ? "" : "s"}):`,
    ...differences.map((d) => `  ${describeDifference(d)}`),
    result.pendingMigrations
      ? `fix: ${pendingText(result.pendingMigrations)}, which regenerating the file would write: apply the release first (${applyFirst(print)}), then check again.`
      : `fix: regenerate it from the released database: ${prismaSchemaWith(print, [], out ?? PRISMA_SCHEMA_PATH)}`,
  ].join("\n");
}
