// Health's looks for embedded rows the dimension trigger refuses today and that an existing database may
// still hold: the zero vector (zero-embeddings.ts), an embedding of another dimension than its space
// (wrong-dimension-embeddings.ts). Rows stored before the trigger refused them, or with it disabled, are never checked
// again, so health looks for them: the first few ids and how many in all, with the fix.
//
// Each look reads every embedded row of the table (no index holds a vector's norm or dimension), so each
// table's look runs under a statement timeout of its own (HealthLimits.embeddingScanMs), inside a savepoint
// of health's read-only transaction: one that runs out is reported as not finished, with the query to run
// off-peak, and the rest of the report is read as usual.
import type { ClientBase } from "pg";
import { formatCount } from "../count-format";
import { quoteIdentifier as quoteIdent } from "../identifiers";
import { EMBEDDING_TABLES } from "../vector-indexes/spec";
import type { SpacedEmbeddingTable } from "../vector-indexes/wrong-dimension";
import type { EmbeddingRowsHealth, HealthFinding } from "./report";

/** How many offending rows a finding lists by id (it also says how many there are in all). */
export const LISTED_ROWS = 5;

/** A table whose embedding column the dimension trigger guards. */
export type EmbeddedTable = SpacedEmbeddingTable;

/** Every table the dimension trigger guards: the vector-indexed ones and "BrandVoice". */
export const GUARDED_TABLES: readonly EmbeddedTable[] = [
  ...EMBEDDING_TABLES.map(({ table, idColumn, column, spaceColumn }) => ({
    table,
    idColumn,
    column,
    spaceColumn,
  })),
  { table: "BrandVoice", idColumn: "id", column: "embedding", spaceColumn: "embeddingSpaceId" },
];

/** One kind of row looked for. */
export interface EmbeddingLook {
  /** What the look is for, in the findings' words: `zero-vector embeddings`. */
  what: string;
  /** The rows of `table` it finds, by id: a query whose first column is the id, which a note gives to run. */
  rowsSql(table: EmbeddedTable): string;
  /** What the rows found in `table` are and what to do about them; `one`: a single row. */
  found(
    table: EmbeddedTable,
    reading: EmbeddingRowsHealth,
    one: boolean,
  ): { problem: string; action: string };
}

/**
 * Looks in each table that exists, within `timeoutMs` each. Runs inside the caller's transaction: each look in
 * a savepoint, rolled back after it, so that neither its timeout nor its error ends the transaction.
 */
export async function readEmbeddingLook(
  client: ClientBase,
  look: EmbeddingLook,
  timeoutMs: number,
  tables: readonly EmbeddedTable[],
): Promise<EmbeddingRowsHealth[]> {
  const present = await client.query<{ table: string; hidden: boolean }>(
    `SELECT t.name AS table, row_security_active(to_regclass(quote_ident(t.name))) AS hidden
       FROM unnest($1::text[], $2::text[]) AS t(name, col)
      WHERE EXISTS (SELECT 1 FROM pg_attribute a
                     WHERE a.attrelid = to_regclass(quote_ident(t.name)) AND a.attname = t.col AND NOT a.attisdropped)`,
    [tables.map((t) => t.table), tables.map((t) => t.column)],
  );
  const readings: EmbeddingRowsHealth[] = [];
  for (const { table: name, hidden } of present.rows) {
    const table = tables.find((t) => t.table === name)!;
    if (hidden) {
      readings.push({ table: name, state: "hidden", rows: null, ids: [] });
      continue;
    }
    readings.push(await lookIn(client, table, look, timeoutMs));
  }
  return readings;
}

async function lookIn(
  client: ClientBase,
  table: EmbeddedTable,
  look: EmbeddingLook,
  timeoutMs: number,
): Promise<EmbeddingRowsHealth> {
  const sql =
    `SELECT z.${quoteIdent(table.idColumn)}::text AS id, count(*) OVER () AS total ` +
    `FROM (${look.rowsSql(table)}) z ORDER BY 1 LIMIT ${LISTED_ROWS}`;
  await client.query("SAVEPOINT embedding_look");
  try {
    // SET LOCAL ends with the savepoint's rollback below: the rest of the report runs as before.
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(timeoutMs))}`);
    const result = await client.query<{ id: string; total: string }>(sql);
    return {
      table: table.table,
      state: "checked",
      rows: Number(result.rows[0]?.total ?? 0),
      ids: result.rows.map((r) => r.id),
    };
  } catch (error) {
    // A lock held on the table past --lock-timeout (health's session bound, shorter than the look's own
    // timeout when the operator asked so) stops only this look: health is run when something is slow.
    const code = (error as { code?: string }).code;
    if (code === "55P03") return { table: table.table, state: "locked", rows: null, ids: [] };
    if (code !== "57014") throw error;
    return { table: table.table, state: "timed-out", rows: null, ids: [] };
  } finally {
    await client.query("ROLLBACK TO SAVEPOINT embedding_look");
    await client.query("RELEASE SAVEPOINT embedding_look");
  }
}

/** An action per table with such rows (their count, the first ids, the fix); a note per look not finished. */
export function embeddingLookFindings(
  look: EmbeddingLook,
  readings: readonly EmbeddingRowsHealth[],
  timeoutMs: number,
  tables: readonly EmbeddedTable[],
): HealthFinding[] {
  return readings.flatMap((reading): HealthFinding[] => {
    const table = tables.find((t) => t.table === reading.table)!;
    const note = unfinishedLookFinding(reading, look, table, timeoutMs);
    if (note) return [note];
    if (!reading.rows) return [];
    return [
      { severity: "action", subject: reading.table, ...look.found(table, reading, reading.rows === 1) },
    ];
  });
}

/**
 * The note of a look that did not finish (hidden rows, a lock, its timeout), with the query to run instead;
 * undefined for a look that did (its finding is the look's own).
 */
function unfinishedLookFinding(
  reading: EmbeddingRowsHealth,
  look: EmbeddingLook,
  table: EmbeddedTable,
  timeoutMs: number,
): HealthFinding | undefined {
  const query = look.rowsSql(table);
  if (reading.state === "hidden") {
    return {
      severity: "info",
      subject: reading.table,
      problem: `not checked for ${look.what}: row-level security hides its rows from this role`,
      action: `run health as the migrator (DIRECT_URL), or this query as a role that sees every row: ${query}`,
    };
  }
  if (reading.state === "locked") {
    return {
      severity: "info",
      subject: reading.table,
      problem: `not checked for ${look.what}: another session held a lock on the table past --lock-timeout`,
      action: `run health again once the lock is released (the cluster section lists sessions waiting on locks), or this query: ${query}`,
    };
  }
  if (reading.state === "timed-out") {
    return {
      severity: "info",
      subject: reading.table,
      problem: `looking for ${look.what} took over ${formatCount(timeoutMs / 1000)} s and was stopped (it reads every embedded row)`,
      action: `run it off-peak: ${query}`,
    };
  }
  return undefined;
}

/** The ids a finding lists, and how many more there are: `"a", "b" and 2 more`. */
export function listedIds(reading: EmbeddingRowsHealth): string {
  const ids = reading.ids.map((id) => `"${id}"`).join(", ");
  const more = (reading.rows ?? 0) - reading.ids.length;
  return `${ids}${more > 0 ? ` and ${formatCount(more)} more` : ""}`;
}
