// Rows above 2,000 dimensions whose every embedding component is at most 2^-25 (~3e-8) in magnitude, stored before
// migration 20261206160000 made the dimension trigger refuse them. The vector index of such a dimension is over
// "embedding"::halfvec(n), which rounds each of those components to 0: the row is the zero halfvec there, at
// distance NaN from every query, so no search through the index returns it, while the exact path (full
// precision) ranks it. Looked for as embedding-looks.ts says. Scaling the row to unit length keeps its cosine
// distances and makes it one the index holds.
import { formatCount, rowsText } from "../count-format";
import { quoteIdentifier as quoteIdent } from "../identifiers";
import { HALFVEC_ZERO_WORDS, VECTOR_MAX_INDEX_DIM } from "../vector-indexes/spec";
import { listedIds, type EmbeddedTable, type EmbeddingLook } from "./embedding-looks";

/**
 * Whether the row `x` (its space `s`) is such a row: the trigger's test. Some component is at least the norm /
 * sqrt(16,000) (pgvector's most dimensions), so only a norm below 1e-5 can be the zero halfvec and is cast to
 * look; CASE keeps the cast to those rows (a component beyond halfvec's range fails the cast).
 */
export function belowHalfvecWhere(table: EmbeddedTable): string {
  const column = `x.${quoteIdent(table.column)}`;
  return (
    `CASE WHEN s."dimension" > ${VECTOR_MAX_INDEX_DIM} AND vector_norm(${column}) > 0 ` +
    `AND vector_norm(${column}) < 1e-5 THEN l2_norm(${column}::halfvec) = 0 ELSE false END`
  );
}

/** The statement that scales those rows of `table` to unit length (their cosine distances unchanged). */
export function normalizeBelowHalfvecSql(table: EmbeddedTable): string {
  const column = quoteIdent(table.column);
  return (
    `UPDATE ${quoteIdent(table.table)} x SET ${column} = l2_normalize(x.${column}) FROM "EmbeddingSpace" s ` +
    `WHERE s."id" = x.${quoteIdent(table.spaceColumn)} AND ${belowHalfvecWhere(table)}`
  );
}

export const BELOW_HALFVEC_LOOK: EmbeddingLook = {
  what: "embeddings a halfvec index holds as the zero vector",
  flag: "belowHalfvec",
  where: belowHalfvecWhere,
  found: (table, reading, one) => ({
    problem:
      `${rowsText(reading.rows!)} of more than ${formatCount(VECTOR_MAX_INDEX_DIM)} dimensions whose every ` +
      `${HALFVEC_ZERO_WORDS} (${listedIds(reading)}): stored before migration 20261206160000 ` +
      `refused ${one ? "it" : "them"}; the vector index holds ${one ? "it" : "them"} as halfvec, where ` +
      `${one ? "it is" : "they are"} the zero vector, so no search through the index finds ${one ? "it" : "them"}`,
    action:
      `scale ${one ? "it" : "them"} to unit length, which leaves ${one ? "its" : "their"} cosine distances as they ` +
      `were: ${normalizeBelowHalfvecSql(table)}; or store the embedding the model returned`,
  }),
};
