// search_chunks() as the app runs it, with how many scans each named index made in its transaction: which
// path a search took, read from the backend's own counters (pending statistics, hence the difference).
import type { ClientBase } from "pg";
import { inTransaction } from "../security/sessions";
import { vectorText } from "../vector-indexes/data";

export interface Found {
  id: string;
  datasetId: string;
  distance: number;
}

/**
 * How many scans each of the relations `names` made while `run` ran on `c`, inside the transaction `c` is in: the
 * backend's pending statistics, read before and after (for a table's name, sequential scans).
 */
export async function scansDuring<T>(
  c: ClientBase,
  names: readonly string[],
  run: () => Promise<T>,
): Promise<{ result: T; scans: Map<string, number> }> {
  const read = async () => {
    const { rows } = await c.query<{ name: string; n: string }>(
      `SELECT x.relname AS name, coalesce(pg_stat_get_xact_numscans(x.oid), 0) AS n
         FROM pg_class x WHERE x.relname = ANY ($1)`,
      [names],
    );
    return new Map(rows.map((r) => [r.name, Number(r.n)]));
  };
  const before = await read();
  const result = await run();
  const after = await read();
  return { result, scans: new Map(names.map((n) => [n, (after.get(n) ?? 0) - (before.get(n) ?? 0)])) };
}

export async function searchCountingScans(
  app: ClientBase,
  organization: string | undefined,
  query: Float32Array,
  indexes: readonly string[],
  options: { datasetId?: string; k?: number } = {},
): Promise<{ rows: Found[]; scans: Map<string, number> }> {
  return inTransaction(app, organization, async (c) => {
    const { result, scans } = await scansDuring(c, indexes, () =>
      c.query<Found>(`SELECT * FROM search_chunks($1::vector, $2, dataset_id => $3)`, [
        vectorText(query),
        options.k ?? 10,
        options.datasetId ?? null,
      ]),
    );
    return { rows: result.rows, scans };
  });
}
