// Rows whose embedding is the zero vector, stored before migration 20261205060100 made the dimension trigger
// refuse it. Its cosine distance to anything is undefined (NaN): a cosine index leaves such a row out and the
// searches drop it (migration 20261205070000), so it is never found, while the release counts it as an
// embedded row (core/vector-indexes/inventory.ts) and the app takes it for embedded. Looked for as
// embedding-looks.ts says (as core/vector-indexes/out-of-range.ts does for components beyond halfvec's
// range). vector_norm() is computed in double precision and is 0 only for the zero vector (the trigger's own
// test).
import { rowsText } from "../count-format";
import { quoteIdentifier as quoteIdent } from "../identifiers";
import { listedIds, type EmbeddedTable, type EmbeddingLook } from "./embedding-looks";

/** The test of a zero-vector embedding: vector_norm() is 0 only for the zero vector (the trigger's own test). */
const isZeroVector = (column: string) => `vector_norm(${column}) = 0`;

/** The condition that names a zero-vector embedding; the fix's statements quote it as is. */
export function zeroEmbeddingWhere(table: EmbeddedTable): string {
  const column = quoteIdent(table.column);
  return `${column} IS NOT NULL AND ${isZeroVector(column)}`;
}

export const ZERO_LOOK: EmbeddingLook = {
  what: "zero-vector embeddings",
  flag: "zeroVector",
  where: (table) => isZeroVector(`x.${quoteIdent(table.column)}`),
  found: (table, reading, one) => {
    const name = quoteIdent(table.table);
    const where = zeroEmbeddingWhere(table);
    return {
      problem:
        `${rowsText(reading.rows!)} whose embedding is the zero vector (${listedIds(reading)}): ` +
        `stored before migration 20261205060100 refused it; its cosine distance to anything is undefined, so no ` +
        `similarity search ranks ${one ? "it" : "them"}, while ${one ? "it looks" : "they look"} embedded`,
      action:
        `set the embedding to NULL so that the app embeds ${one ? "it" : "them"} again: ` +
        `UPDATE ${name} SET ${quoteIdent(table.column)} = NULL WHERE ${where}; or delete ${one ? "it" : "them"}: ` +
        `DELETE FROM ${name} WHERE ${where}`,
    };
  },
};
