// The size of a b-tree index's row, laid out as PostgreSQL lays it out, so that a key too large for an index
// is refused where it is given: PostgreSQL's own refusal ("index row size 3216 exceeds btree version 4 maximum
// 2704 for index ...") names neither the input nor where it came from, and only once the row is written.

/**
 * The largest b-tree index row on 8 kB pages, PostgreSQL 12 and later (BTMaxItemSize: a third of a page, less
 * the page's own overhead and the heap pointer every row carries).
 */
export const BTREE_MAX_ROW_BYTES = 2704;

/** One key column: a text value's UTF-8 length in bytes, or an int4. */
export type KeyColumn = number | "int4";

/** The largest text value (in bytes) a one-byte varlena header holds: longer values take a 4-byte header. */
const SHORT_VARLENA_MAX = 126;

const align = (offset: number, to: number) => Math.ceil(offset / to) * to;

/**
 * The bytes an index row of these key columns (none null) takes: the 8-byte row header, then each column at
 * its alignment (text and int4 at 4 bytes, text of up to 126 bytes unaligned with a 1-byte header), the whole
 * rounded up to 8 bytes. Uncompressed: PostgreSQL may compress a long repetitive value to fit, which depends
 * on the text and so sets no limit one can write to.
 */
export function btreeRowBytes(columns: readonly KeyColumn[]): number {
  let offset = 8;
  for (const column of columns) {
    if (column === "int4") offset = align(offset, 4) + 4;
    else if (column <= SHORT_VARLENA_MAX) offset += 1 + column;
    else offset = align(offset, 4) + 4 + column;
  }
  return align(offset, 8);
}

/** The longest text, in bytes, that column `at` may hold with the other columns as given (`at`'s is ignored). */
export function longestKeyText(columns: readonly KeyColumn[], at: number): number {
  const fits = (bytes: number) =>
    btreeRowBytes(columns.map((column, i) => (i === at ? bytes : column))) <= BTREE_MAX_ROW_BYTES;
  // The size grows with the text's length: the largest length that fits, by bisection.
  let low = 0;
  let high = BTREE_MAX_ROW_BYTES;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}
