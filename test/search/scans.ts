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

export async function searchCountingScans(
  app: ClientBase,
  organization: string | undefined,
  query: Float32Array,
  indexes: readonly string[],
  options: { datasetId?: string; k?: number } = {},
): Promise<{ rows: Found[]; scans: Map<string, number> }> {
  return inTransaction(app, organization, async (c) => {
    const scans = async () => {
      const { rows } = await c.query<{ name: string; n: string }>(
        `SELECT x.relname AS name, coalesce(pg_stat_get_xact_numscans(x.oid), 0) AS n
           FROM pg_class x WHERE x.relname = ANY ($1)`,
        [indexes],
      );
      return new Map(rows.map((r) => [r.name, Number(r.n)]));
    };
    const before = await scans();
    const rows = (
      await c.query<Found>(`SELECT * FROM search_chunks($1::vector, $2, dataset_id => $3)`, [
        vectorText(query),
        options.k ?? 10,
        options.datasetId ?? null,
      ])
    ).rows;
    const after = await scans();
    return {
      rows,
      scans: new Map(indexes.map((n) => [n, (after.get(n) ?? 0) - (before.get(n) ?? 0)])),
    };
  });
}
