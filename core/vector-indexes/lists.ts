// How many IVFFlat lists an index should have for the rows it covers, and when it has drifted far enough
// from that to be rebuilt.
import { formatCount } from "../count-format";

/** pgvector's upper bound for `lists` (IVFFLAT_MAX_LISTS). */
export const IVFFLAT_MAX_LISTS = 32768;
/** Small tables still get this many lists, so that probing one is not probing a large share of the rows... */
export const MIN_LISTS = 10;
/** ...as long as each list keeps about this many rows: below 1,000 rows the lists shrink towards 1. */
export const MIN_ROWS_PER_LIST = 100;
/**
 * Rebuild when the target differs from the built `lists` by this factor, either way. Rows per list (the cost
 * of each probe) doubles at 2x; rebuilding at each doubling keeps the total work of all rebuilds under twice
 * the work of the last one (a geometric series), and k-means re-learns the centers from the data as it is.
 */
export const LISTS_DRIFT_FACTOR = 2;

/**
 * `rows / 1000` up to 1M rows, `sqrt(rows)` above: the pgvector README's starting point
 * (https://github.com/pgvector/pgvector#ivfflat), with a floor of MIN_LISTS for small tables (never more
 * than one list per MIN_ROWS_PER_LIST rows, never fewer than 1).
 */
export function targetLists(rows: number): number {
  const readme = rows <= 1_000_000 ? rows / 1000 : Math.sqrt(rows);
  const floor = Math.min(MIN_LISTS, Math.floor(rows / MIN_ROWS_PER_LIST));
  return Math.min(IVFFLAT_MAX_LISTS, Math.max(1, Math.round(Math.max(readme, floor))));
}

/** Why an index built with `builtLists` should be rebuilt for `rows` rows, or undefined when it need not be. */
export function listsDrift(builtLists: number, builtRows: number, rows: number): string | undefined {
  const target = targetLists(rows);
  const ratio = target / builtLists;
  if (ratio < LISTS_DRIFT_FACTOR && ratio > 1 / LISTS_DRIFT_FACTOR) return undefined;
  const change = rows >= builtRows ? "grew" : "shrank";
  return (
    `table ${change} from ${count(builtRows)} to ${count(rows)} rows: lists ${builtLists} is ` +
    `${ratio > 1 ? "below" : "above"} the target ${target} by ${LISTS_DRIFT_FACTOR}x or more`
  );
}

/** 20000 -> "20,000". */
export function count(n: number): string {
  return formatCount(n);
}
