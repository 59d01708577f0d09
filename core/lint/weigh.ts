// The table a finding concerns, as the live database knows it: estimated rows and total size, and whether
// it holds any row at all. Read-only, like plan.
import type { ClientBase } from "pg";
import { formatCount, rowsText } from "../count-format";
import { isLockTimeout } from "../lock-safety/settings";

export interface TableWeight {
  /** The table as the catalog names it (regclass text). */
  table: string;
  /** pg_class.reltuples: the planner's estimate; null when never analyzed. */
  estimatedRows: number | null;
  /** pg_total_relation_size: table, indexes and TOAST. */
  sizeBytes: number;
  /** Rows counted, up to COUNT_LIMIT + 1 (null when the login may not read the table). */
  countedRows: number | null;
  /** Whether it holds at least one row (the count, or the estimate when the read is not allowed). */
  hasData: boolean;
}

/** The weight of a table (or of the table an index belongs to); undefined when there is no such table. */
export async function weighTable(
  client: ClientBase,
  name: string,
  kind: "table" | "index",
): Promise<TableWeight | undefined> {
  const found = await client.query<{ oid: number; table: string; reltuples: number; bytes: string }>(
    `SELECT c.oid::int AS oid, c.oid::regclass::text AS table, c.reltuples::float8 AS reltuples,
            pg_total_relation_size(c.oid)::text AS bytes
       FROM pg_class c
      WHERE c.oid = CASE WHEN $2 = 'index'
                         THEN (SELECT indrelid FROM pg_index WHERE indexrelid = to_regclass($1))
                         ELSE to_regclass($1) END`,
    [name, kind],
  );
  const row = found.rows[0];
  if (!row) return undefined;
  const estimatedRows = row.reltuples < 0 ? null : Math.round(row.reltuples);
  let countedRows: number | null = null;
  try {
    // Bounded, so that a big table costs no more than a small one. The catalog's name comes quoted as
    // needed from regclass output.
    const rows = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT 1 FROM ONLY ${row.table} LIMIT ${COUNT_LIMIT + 1}) s`,
    );
    countedRows = rows.rows[0]?.n ?? null;
  } catch (error) {
    // A login that may not read the table: the estimate decides. A lock held on it is not that (apply and
    // revert bound this wait: core/reads-before-first-write.ts).
    if (isLockTimeout(error)) throw error;
  }
  const hasData = (countedRows ?? 0) > 0 || (estimatedRows ?? 0) > 0;
  return { table: row.table, estimatedRows, countedRows, sizeBytes: Number(row.bytes), hasData };
}

const COUNT_LIMIT = 100_000;

export function describeSize(weight: TableWeight): string {
  const n = formatCount;
  const { countedRows, estimatedRows } = weight;
  const rows =
    countedRows !== null && countedRows <= COUNT_LIMIT
      ? rowsText(countedRows)
      : estimatedRows !== null && estimatedRows > COUNT_LIMIT
        ? `~${n(estimatedRows)} rows`
        : countedRows !== null
          ? `over ${n(COUNT_LIMIT)} rows`
          : "rows not estimated yet";
  return `${rows}, ${formatBytes(weight.sizeBytes)}`;
}

function formatBytes(bytes: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 && unit > 0 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
