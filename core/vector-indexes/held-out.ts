// Queries for calibration that are not rows of the table. A row is an easy query: the index finds the row
// itself, and its neighbors are the ones the index placed next to it (an HNSW search for a row reaches the
// row, then its neighbor list; an IVFFlat probe of the row's own list holds most of them). Apps search with new
// texts, so the calibrations of the vector-index step (calibrate.ts) and of the search functions under the
// tenant filter (core/search/calibrate-tenants.ts) both measure on these instead (docs/vector-indexes.md).
//
// Each query is the sum of two rows' embeddings: a point between them (cosine distance ignores the length),
// which no row of the table is. A pair that sums to the zero vector (a row and its negative) is left out: its
// cosine distance to every row is NaN, a query no app sends. The rows are paired in a fixed pseudo-random order (md5 of the id and a salt),
// so reruns on the same rows measure alike and different salts give independent samples.
import type { ClientBase } from "pg";
import { quoteIdent, type IndexDefinition } from "./spec";

/** Which rows a sample pairs, and the salt of its order. */
export interface HeldOutSample {
  /**
   * Whose rows: only this tenant's ("own" queries), or every tenant's but this one's ("table-wide" queries of a
   * tenant: what it has little of, whatever its share of the table); all of the dimension's rows when absent.
   */
  organizationId?: string;
  tenantRows?: "only" | "excluded";
  /** Distinct salts give distinct samples of the same rows. */
  salt: string;
}

/**
 * Up to `n` query vectors (as pgvector text) for the dimension of `definition`: fewer when the rows are fewer
 * than 2n, none for a single row.
 */
export async function heldOutQueries(
  client: ClientBase,
  definition: Pick<IndexDefinition, "table" | "dimension">,
  n: number,
  sample: HeldOutSample,
): Promise<string[]> {
  const t = definition.table;
  const order = `md5(x.${quoteIdent(t.idColumn)}::text || $2)`;
  // Named only when asked for: databases whose migrations stop before the tenant column calibrate too.
  const tenant =
    sample.organizationId === undefined
      ? ""
      : sample.tenantRows === "excluded"
        ? `AND x."organizationId" <> $4`
        : `AND x."organizationId" = $4`;
  // The order is taken over the ids alone and the embeddings read for the rows picked: embeddings kept in the
  // row (20261203100000_embeddings_stored_inline.sql) would otherwise be carried through the sort, 6 KB a row
  // (600 MB and a sort on disk for 100,000 rows of 1,536 dimensions).
  const id = quoteIdent(t.idColumn);
  const result = await client.query<{ v: string }>(
    `WITH picked AS (
       SELECT x.${id} AS id, row_number() OVER (ORDER BY ${order}) AS i
         FROM ${quoteIdent(t.table)} x JOIN "EmbeddingSpace" s ON s."id" = x.${quoteIdent(t.spaceColumn)}
        WHERE x.${quoteIdent(t.column)} IS NOT NULL AND s."dimension" = $1
          ${tenant}
        ORDER BY ${order} LIMIT $3),
     rows AS MATERIALIZED (
       SELECT x.${quoteIdent(t.column)} AS e, p.i FROM picked p JOIN ${quoteIdent(t.table)} x ON x.${id} = p.id)
     SELECT (a.e + b.e)::text AS v FROM rows a JOIN rows b ON b.i = a.i + 1
      WHERE a.i % 2 = 1 AND vector_norm(a.e + b.e) > 0 ORDER BY a.i`,
    [
      definition.dimension,
      sample.salt,
      2 * n,
      ...(sample.organizationId === undefined ? [] : [sample.organizationId]),
    ],
  );
  return result.rows.map((r) => r.v);
}
