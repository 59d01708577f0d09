// What counts as a hit when a search's rows are compared with the exact top k: the one decision behind every
// recall the release measures (the index calibration, the tenant calibration) and the benchmarks report.
//
// Rows with the same embedding (the same boilerplate chunk in many documents) are at the same distance from
// any query, and when several sit at the exact k-th distance, which of them the exact top k names and which
// the index returns is the order of a scan, not of distance. Counted by id, the index's equally near rows were
// misses, even for exact search through it: a corpus of duplicates read as a recall no setting reaches, and
// the release recorded "target out of reach" or turned a tenant's prefilter off. A returned row is a hit when
// its distance is no greater than the exact k-th distance; each returned row counts once, and never more rows
// than the exact answer has.
//
// The distances must be computed alike on both sides (pgvector's `embedding <=> query::vector`, the stored
// embedding at full precision, as the exact search and the search functions compute them): equal embeddings
// are then at exactly equal distances. A distance of NaN (a zero vector stored before the trigger refused it)
// is near nothing; such a row still counts by its id when the exact answer names it.

import type { ClientBase } from "pg";
import { quoteIdentifier as quoteIdent } from "../identifiers";

/** A row a search returned, or the exact search would: its id, and its cosine distance to the query. */
export interface Neighbour {
  id: string;
  distance: number;
}

/**
 * The share of the exact top k (`exact`, as many rows as the exact search returned) that `found` matches:
 * a found row is a hit when the exact answer names it or its distance is no greater than the exact k-th
 * distance (a tie at the boundary). 1 when the exact answer is empty (nothing to find).
 */
export function recallOf(exact: readonly Neighbour[], found: readonly Neighbour[]): number {
  if (exact.length === 0) return 1;
  const named = new Set(exact.map((r) => r.id));
  const kth = Math.max(...exact.map((r) => r.distance).filter((d) => !Number.isNaN(d)));
  const hits = new Set(found.filter((r) => named.has(r.id) || r.distance <= kth).map((r) => r.id)).size;
  return Math.min(hits, exact.length) / exact.length;
}

/** The table a search read, as recall's distances are computed on it. */
export interface DistanceSource {
  table: string;
  idColumn: string;
  column: string;
}

/**
 * The rows of `ids` in `source`, each with its distance to `vector` (a vector's text) computed as exact search
 * computes it: what a search that returns ids alone (the app's query through the index, which ranks halfvec
 * above 2,000 dimensions) is compared with. Read after the search, outside its timing.
 */
export async function neighboursOf(
  client: ClientBase,
  source: DistanceSource,
  vector: string,
  ids: readonly unknown[],
): Promise<Neighbour[]> {
  const id = quoteIdent(source.idColumn);
  const result = await client.query<Neighbour>(
    `SELECT ${id}::text AS id, ${exactDistanceSql(source.column)} AS distance FROM ${quoteIdent(source.table)} ` +
      `WHERE ${id} = ANY($2)`,
    [vector, ids],
  );
  return result.rows;
}

/** A row's distance to the query $1 as exact search and the search functions compute it, as SQL. */
export function exactDistanceSql(column: string, row = ""): string {
  return `(${row}${quoteIdent(column)} <=> $1::vector)::float8`;
}
