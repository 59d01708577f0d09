// Rows whose embedding is the zero vector, stored before migration 20261205060100 made the dimension trigger
// refuse it. Its cosine distance to anything is undefined (NaN): a cosine index leaves such a row out and the
// searches drop it (migration 20261205070000), so it is never found, while the release counts it as an
// embedded row (core/vector-indexes/inventory.ts) and the app takes it for embedded. Rows stored before the
// trigger were never checked again, so health looks for them, as core/vector-indexes/out-of-range.ts does for
// components beyond halfvec's range: the first few ids and how many in all, with the fix.
//
// The look reads every embedded row of the table (no index holds the norm), so each table's look runs under a
// statement timeout of its own (HealthLimits.zeroEmbeddingScanMs), inside a savepoint of health's read-only
// transaction: one that runs out is reported as not finished, with the query to run off-peak, and the rest of
// the report is read as usual. vector_norm() is computed in double precision and is 0 only for the zero vector
// (the trigger's own test).
import type { ClientBase } from "pg";
import { formatCount, rowsText } from "../count-format";
import { quoteIdentifier as quoteIdent } from "../identifiers";
import { EMBEDDING_TABLES } from "../vector-indexes/spec";
import type { HealthFinding, ZeroEmbeddingsHealth } from "./report";

/** How many offending rows a finding lists by id (it also says how many there are in all). */
export const LISTED_ZERO_ROWS = 5;

/** A table whose embedding column the dimension trigger guards. */
export interface EmbeddedTable {
  table: string;
  idColumn: string;
  column: string;
}

/** Every table the dimension trigger guards: the vector-indexed ones and "BrandVoice". */
export const ZERO_CHECKED_TABLES: readonly EmbeddedTable[] = [
  ...EMBEDDING_TABLES.map(({ table, idColumn, column }) => ({ table, idColumn, column })),
  { table: "BrandVoice", idColumn: "id", column: "embedding" },
];

/** The condition that names a zero-vector embedding; the fix's statements quote it as is. */
export function zeroEmbeddingWhere(table: EmbeddedTable): string {
  const column = quoteIdent(table.column);
  return `${column} IS NOT NULL AND vector_norm(${column}) = 0`;
}

/** The rows of `table` whose embedding is the zero vector, ordered by id. */
export function zeroEmbeddingRowsSql(table: EmbeddedTable): string {
  return `SELECT ${quoteIdent(table.idColumn)} FROM ${quoteIdent(table.table)} WHERE ${zeroEmbeddingWhere(table)} ORDER BY 1`;
}

/**
 * Looks in each table that exists, within `timeoutMs` each. Runs inside the caller's transaction: each look in
 * a savepoint, rolled back after it, so that neither its timeout nor its error ends the transaction.
 */
export async function readZeroEmbeddings(
  client: ClientBase,
  timeoutMs: number,
  tables: readonly EmbeddedTable[] = ZERO_CHECKED_TABLES,
): Promise<ZeroEmbeddingsHealth[]> {
  const present = await client.query<{ table: string; hidden: boolean }>(
    `SELECT t.name AS table, row_security_active(to_regclass(quote_ident(t.name))) AS hidden
       FROM unnest($1::text[], $2::text[]) AS t(name, col)
      WHERE EXISTS (SELECT 1 FROM pg_attribute a
                     WHERE a.attrelid = to_regclass(quote_ident(t.name)) AND a.attname = t.col AND NOT a.attisdropped)`,
    [tables.map((t) => t.table), tables.map((t) => t.column)],
  );
  const readings: ZeroEmbeddingsHealth[] = [];
  for (const { table: name, hidden } of present.rows) {
    const table = tables.find((t) => t.table === name)!;
    if (hidden) {
      readings.push({ table: name, state: "hidden", rows: null, ids: [] });
      continue;
    }
    readings.push(await lookIn(client, table, timeoutMs));
  }
  return readings;
}

async function lookIn(
  client: ClientBase,
  table: EmbeddedTable,
  timeoutMs: number,
): Promise<ZeroEmbeddingsHealth> {
  const sql =
    `SELECT z.${quoteIdent(table.idColumn)}::text AS id, count(*) OVER () AS total ` +
    `FROM (${zeroEmbeddingRowsSql(table)}) z ORDER BY 1 LIMIT ${LISTED_ZERO_ROWS}`;
  await client.query("SAVEPOINT zero_embeddings");
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
    await client.query("ROLLBACK TO SAVEPOINT zero_embeddings");
    await client.query("RELEASE SAVEPOINT zero_embeddings");
  }
}

/** An action per table with such rows (their count, the first ids, the fix); a note per look not finished. */
export function zeroEmbeddingFindings(
  readings: readonly ZeroEmbeddingsHealth[],
  timeoutMs: number,
  tables: readonly EmbeddedTable[] = ZERO_CHECKED_TABLES,
): HealthFinding[] {
  return readings.flatMap((reading): HealthFinding[] => {
    const table = tables.find((t) => t.table === reading.table)!;
    const name = quoteIdent(table.table);
    const where = zeroEmbeddingWhere(table);
    if (reading.state === "hidden") {
      return [
        {
          severity: "info",
          subject: reading.table,
          problem: "not checked for zero-vector embeddings: row-level security hides its rows from this role",
          action: `run health as the migrator (DIRECT_URL), or this query as a role that sees every row: ${zeroEmbeddingRowsSql(table)}`,
        },
      ];
    }
    if (reading.state === "locked") {
      return [
        {
          severity: "info",
          subject: reading.table,
          problem:
            "not checked for zero-vector embeddings: another session held a lock on the table past --lock-timeout",
          action: `run health again once the lock is released (the cluster section lists sessions waiting on locks), or this query: ${zeroEmbeddingRowsSql(table)}`,
        },
      ];
    }
    if (reading.state === "timed-out") {
      return [
        {
          severity: "info",
          subject: reading.table,
          problem: `looking for zero-vector embeddings took over ${formatCount(timeoutMs / 1000)} s and was stopped (it reads every embedded row)`,
          action: `run it off-peak: ${zeroEmbeddingRowsSql(table)}`,
        },
      ];
    }
    if (!reading.rows) return [];
    const ids = reading.ids.map((id) => `"${id}"`).join(", ");
    const more = reading.rows - reading.ids.length;
    return [
      {
        severity: "action",
        subject: reading.table,
        problem:
          `${rowsText(reading.rows)} whose embedding is the zero vector (${ids}${more > 0 ? ` and ${formatCount(more)} more` : ""}): ` +
          `stored before migration 20261205060100 refused it; its cosine distance to anything is undefined, so no ` +
          `similarity search ranks ${reading.rows === 1 ? "it" : "them"}, while ${reading.rows === 1 ? "it looks" : "they look"} embedded`,
        action:
          `set the embedding to NULL so that the app embeds ${reading.rows === 1 ? "it" : "them"} again: ` +
          `UPDATE ${name} SET ${quoteIdent(table.column)} = NULL WHERE ${where}; or delete ${reading.rows === 1 ? "it" : "them"}: ` +
          `DELETE FROM ${name} WHERE ${where}`,
      },
    ];
  });
}
