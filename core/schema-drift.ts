// A read of what the release created (the vector-index step's columns, the search calibration's, the seed
// tables, health's and status's records) that finds a column or table gone: the live schema is no longer the
// release's (a column renamed by hand, a restore that left the schema half old). The steps read those objects
// in many statements, batched and not; rather than guard each one, the session's edge (release.ts, health)
// maps the server's "does not exist" into this one error, which says what verify would say of it.
// A table or column no step reads (renamed or dropped by hand) makes no read fail: the recorded snapshot's
// tables and columns are compared with the catalog's as part of the reads plan, status, apply and health make
// anyway (GONE_OBJECTS_SQL), into the same error.
import { commandToRun, type CommandPrinter } from "./command-to-run";
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA, MIGRATIONS_TABLE } from "./bookkeeping";
import { ReleaseError } from "./errors";
import { quoteIdentifier } from "./identifiers";
import { shownObjectKey, shownSql } from "./shown-names";
import {
  LIVE_COLUMNS_SQL,
  LIVE_TABLES_SQL,
  diffSnapshots,
  readSnapshot,
  shapeOf,
  takeSnapshot,
} from "./snapshot";

/** SQLSTATEs of a statement naming a column or a table the database does not have. */
const MISSING_OBJECT_CODES: ReadonlySet<string> = new Set([
  "42703", // undefined_column
  "42P01", // undefined_table
]);

/** The kinds of a snapshot key whose absence makes a read fail (an index or a trigger gone does not). */
const READ_KINDS: ReadonlySet<string> = new Set(["table", "column"]);

/** How many of the release's missing objects the message names; verify lists them all. */
const NAMED_AT_MOST = 5;

/**
 * What to do about a table or column gone. verify has no repair statement for one (core/snapshot-repair.ts:
 * the column's type, default, constraints and data are not one statement to guess), so the fix does not send
 * the operator looking for one: rename it back, restore it, or make the change on purpose in a migration.
 * `gone`: the keys named in the message, when known; the first one gives the example statement. `print`:
 * ReleaseOptions.printCommand, for the verify it names.
 */
export function schemaDriftFix(gone: readonly string[] = [], print?: CommandPrinter): string {
  const example = renameBack(gone[0]);
  return (
    "No repair statement restores a table or column (verify repairs grants, owners, settings and indexes). " +
    `Renamed by hand: rename it back${example ? ` (${example})` : ""}; ${commandToRun(print, ["verify"])} lists what is there instead, as not created by the release. ` +
    'Dropped, or left out by a restore: restore it from the backup or snapshot taken before (docs/runbook.md, "Before a release with pending migrations on prod"). ' +
    "Meant as a change: rename it back, then make the change in a new migration, which apply runs and records. " +
    "Then run the command again."
  );
}

/** `ALTER TABLE ... RENAME ...` that gives a gone table or column its name back, with a placeholder for the new one. */
function renameBack(key: string | undefined): string | undefined {
  const [kind, path] = key?.split(" ", 2) ?? [];
  const parts = path?.split(".") ?? [];
  const q = (name: string) => shownSql(quoteIdentifier(name));
  if (kind === "column" && parts.length === 3) {
    const [schema, table, column] = parts as [string, string, string];
    return `ALTER TABLE ${q(schema)}.${q(table)} RENAME COLUMN "<its name now>" TO ${q(column)}`;
  }
  if (kind === "table" && parts.length === 2) {
    const [schema, table] = parts as [string, string];
    return `ALTER TABLE ${q(schema)}."<its name now>" RENAME TO ${q(table)}`;
  }
  return undefined;
}

interface ServerError {
  code?: string;
  message?: string;
  hint?: string;
}

export function isMissingObjectError(error: unknown): boolean {
  const code = (error as ServerError | undefined)?.code;
  return code !== undefined && MISSING_OBJECT_CODES.has(code);
}

/**
 * The schema-drift error for a missing column or table, or undefined for any other error. Names the tables
 * and columns the release recorded that the live catalog lacks, when the recorded snapshot is readable on
 * `client` (not in an aborted transaction; the caller rolls back first); else the server's words alone.
 */
export async function schemaDriftError(
  client: ClientBase,
  error: unknown,
  print?: CommandPrinter,
): Promise<ReleaseError | undefined> {
  if (!isMissingObjectError(error)) return undefined;
  const server = error as ServerError;
  const hint = server.hint ? ` (${server.hint})` : "";
  const missing = await missingReleaseObjects(client);
  const named = missing.length === 0 ? "" : ` ${goneSentence(missing)}`;
  return new ReleaseError(
    "schema-drift",
    `The live schema differs from the release's: reading what the release created failed: ${server.message ?? String(error)}${hint}.${named}`,
    schemaDriftFix(goneObjects(missing), print),
    { cause: error },
  );
}

/** "The release created table public.Brand, ..., which the database no longer has." */
function goneSentence(missing: readonly string[]): string {
  const more = missing.length > NAMED_AT_MOST ? ` and ${missing.length - NAMED_AT_MOST} more` : "";
  const named = missing.slice(0, NAMED_AT_MOST).map(shownObjectKey);
  return `The release created ${named.join(", ")}${more}, which the database no longer has.`;
}

/**
 * A jsonb array of the tables and columns the recorded snapshot has and the live catalog lacks ("table
 * public.Brand", "column public.Chunk.embedding"), over some 400 keys and the catalog: cheap enough to ride
 * along every plan, status, apply and health. Empty unless the snapshot was taken after the ledger's last
 * migration: an apply or a revert stopped before it retook the snapshot leaves one that describes another
 * schema, which verify explains.
 */
export const GONE_OBJECTS_SQL = `(SELECT coalesce(jsonb_agg(gone.key ORDER BY gone.key), '[]'::jsonb) FROM (
    SELECT k AS key FROM ${BOOKKEEPING_SCHEMA}.schema_snapshot s, jsonb_object_keys(s.objects) k
     WHERE s.id = 1 AND (k LIKE 'table %' OR k LIKE 'column %')
       AND s.last_migration IS NOT DISTINCT FROM
           (SELECT name FROM ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE} ORDER BY run_on DESC, id DESC LIMIT 1)
    EXCEPT
    SELECT key FROM (${LIVE_TABLES_SQL}) live_tables
    EXCEPT
    SELECT key FROM (${LIVE_COLUMNS_SQL}) live_columns) gone)`;

/**
 * What is gone, said once: a table's columns go with it, so a gone table's columns are left out.
 * Keys are "table schema.name" and "column schema.table.name".
 */
export function goneObjects(keys: readonly string[]): string[] {
  const tables = keys.filter((k) => k.startsWith("table ")).map((k) => `column ${k.slice("table ".length)}.`);
  return keys.filter((k) => !tables.some((prefix) => k.startsWith(prefix)));
}

/**
 * Stops with the schema-drift error when a table or column the release created is gone (GONE_OBJECTS_SQL's
 * answer).
 */
export function refuseGoneObjects(keys: readonly string[], print?: CommandPrinter): void {
  const gone = goneObjects(keys);
  if (gone.length === 0) return;
  throw new ReleaseError(
    "schema-drift",
    `The live schema differs from the release's (a table or column renamed or dropped by hand). ${goneSentence(gone)}`,
    schemaDriftFix(gone, print),
  );
}

/** GONE_OBJECTS_SQL on its own, for health (which reads no batched state); none before the first release. */
export async function readGoneObjects(client: ClientBase): Promise<string[]> {
  const recorded = await client.query<{ exists: boolean }>(
    "SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS exists",
    [`${BOOKKEEPING_SCHEMA}.schema_snapshot`, `${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}`],
  );
  if (!recorded.rows[0]!.exists) return [];
  return (await client.query<{ gone: string[] }>(`SELECT ${GONE_OBJECTS_SQL} AS gone`)).rows[0]!.gone;
}

/** "column public.Chunk.embedding", ...: what the recorded snapshot has and the live catalog lacks. */
async function missingReleaseObjects(client: ClientBase): Promise<string[]> {
  try {
    const recorded = await readSnapshot(client);
    if (!recorded) return [];
    const { removed } = diffSnapshots(shapeOf(recorded.objects), shapeOf(await takeSnapshot(client)));
    return removed.filter((key) => READ_KINDS.has(key.split(" ", 1)[0]!));
  } catch {
    // Naming them is a courtesy: the error itself is what the operator needs.
    return [];
  }
}
