// The search settings the release hands to search_chunks()/search_messages() (migration
// 20261202030100_search_functions.sql): per table and dimension, the visible rows up to which a tenant's search
// is exact, and the index setting (ivfflat.probes or hnsw.ef_search) it uses above. They are the body of
// search_tuning_entries(), rewritten with CREATE OR REPLACE: custom settings attached to a function would
// need a superuser, and a table would need the app to read the release's records.
import type { ClientBase } from "pg";
import { literal } from "../sql";

/** Exact search up to this many visible rows when nothing was measured (the migration's default). */
export const DEFAULT_EXACT_ROWS = 10_000;

export interface SearchTuning {
  table: string;
  dimension: number;
  exactRows: number;
  probes?: number;
  efSearch?: number;
}

const int = (n: number | undefined) => (n === undefined ? "NULL::integer" : `${Math.trunc(n)}`);

/** CREATE OR REPLACE of search_tuning_entries() listing exactly `entries`. */
export function searchTuningSql(entries: readonly SearchTuning[]): string {
  const body =
    entries.length === 0
      ? "SELECT NULL::text, NULL::integer, NULL::integer, NULL::integer, NULL::integer WHERE false"
      : `VALUES ${entries
          .map(
            (e) =>
              `(${literal(e.table)}, ${int(e.dimension)}, ${int(e.exactRows)}, ${int(e.probes)}, ${int(e.efSearch)})`,
          )
          .join(", ")}`;
  return (
    "CREATE OR REPLACE FUNCTION search_tuning_entries() " +
    "RETURNS TABLE (table_name text, dims integer, exact_rows integer, probes integer, ef_search integer) " +
    `LANGUAGE sql STABLE AS $$ ${body} $$`
  );
}

/** What search_tuning_entries() lists today. */
export async function readSearchTuning(client: ClientBase): Promise<SearchTuning[]> {
  const result = await client.query<{
    table_name: string;
    dims: number;
    exact_rows: number;
    probes: number | null;
    ef_search: number | null;
  }>("SELECT * FROM search_tuning_entries() ORDER BY 1, 2");
  return result.rows.map((r) => ({
    table: r.table_name,
    dimension: r.dims,
    exactRows: r.exact_rows,
    ...(r.probes === null ? {} : { probes: r.probes }),
    ...(r.ef_search === null ? {} : { efSearch: r.ef_search }),
  }));
}

/** Replaces one table and dimension's entry (or adds it), keeping the others. */
export async function saveSearchTuning(client: ClientBase, entry: SearchTuning): Promise<void> {
  const others = (await readSearchTuning(client)).filter(
    (e) => !(e.table === entry.table && e.dimension === entry.dimension),
  );
  await client.query(searchTuningSql([...others, entry]));
}
