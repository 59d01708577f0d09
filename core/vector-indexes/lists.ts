// How many IVFFlat lists an index should have for the rows it covers, and when it has drifted far enough
// from that to be rebuilt.
import { formatCount, rowsText } from "../count-format";

/** pgvector's upper bound for `lists` (IVFFLAT_MAX_LISTS). */
export const IVFFLAT_MAX_LISTS = 32768;
/** One list per this many rows: the measured rule (targetLists). */
export const ROWS_PER_LIST = 100;
/** The pgvector README's lists at 1M rows, where its two rules meet (rows / 1000 = sqrt(rows) = 1,000). */
const README_LISTS_AT_1M = 1000;

/**
 * Rebuild when the target differs from the built `lists` by this factor, either way. Rows per list (the cost
 * of each probe) doubles at 2x; rebuilding at each doubling keeps the total work of all rebuilds under twice
 * the work of the last one (a geometric series), and k-means re-learns the centers from the data as it is.
 */
export const LISTS_DRIFT_FACTOR = 2;

/**
 * `rows / 100`, measured (docs/figures.md, "Vector search quality"): on 100,000 rows, 1,000 lists reached recall 0.95
 * (probes calibrated on held-out queries) at a smaller share of exact search's latency than 100 (rows / 1000)
 * or 316 (sqrt(rows)): each probe reads a tenth of the rows of a list of the former rule. Never more than the
 * pgvector README's rule gives at 1M rows (https://github.com/pgvector/pgvector#ivfflat): 1,000 lists from
 * 100,000 to 1M rows, `sqrt(rows)` above, so that no table needs more k-means memory than the former rule gave
 * a table of 1M rows. At least 1. On 300,000 rows (the cap binds there) 1,000 lists still came first: 2.2% of
 * exact search's p50 at recall 0.996, against 4.8% for 548 (sqrt(rows)) and 9.0% for 300 (rows / 1000). Nothing
 * above 300,000 rows was measured.
 *
 * The price is the build: below 1M rows a table gets up to ten times the lists the former rule gave it, and
 * k-means works in proportion (on 100,000 × 1,536: 110 s and 557 MB of maintenance_work_mem, against 9-13 s
 * and 96 MB for 100 lists). A build runs once per doubling of the rows (LISTS_DRIFT_FACTOR); every query
 * gains.
 */
export function targetLists(rows: number): number {
  const ceiling = Math.max(README_LISTS_AT_1M, Math.round(Math.sqrt(rows)));
  return Math.min(IVFFLAT_MAX_LISTS, ceiling, Math.max(1, Math.floor(rows / ROWS_PER_LIST)));
}

/**
 * What releases before the measured rule built: rows / 1000 up to 1M rows and sqrt(rows) above, with a floor
 * of 10 lists (never more than one per 100 rows). Kept only to name it in a rebuild's reason.
 */
export function formerTargetLists(rows: number): number {
  const readme = rows <= 1_000_000 ? rows / 1000 : Math.sqrt(rows);
  const floor = Math.min(10, Math.floor(rows / 100));
  return Math.min(IVFFLAT_MAX_LISTS, Math.max(1, Math.round(Math.max(readme, floor))));
}

/** Why an index built with `builtLists` should be rebuilt for `rows` rows, or undefined when it need not be. */
export function listsDrift(builtLists: number, builtRows: number, rows: number): string | undefined {
  const target = targetLists(rows);
  const ratio = target / builtLists;
  if (ratio < LISTS_DRIFT_FACTOR && ratio > 1 / LISTS_DRIFT_FACTOR) return undefined;
  const away = `${ratio > 1 ? "below" : "above"} the target ${target} by ${LISTS_DRIFT_FACTOR}x or more`;
  if (targetLists(builtRows) !== builtLists) {
    // Not the rows but the rule moved (or both): say which rule built it.
    const by = formerTargetLists(builtRows) === builtLists ? "the former rule, rows / 1000," : "another rule";
    return (
      `lists ${builtLists} came from ${by} on ${rowsText(builtRows)}; the rule is now rows / ${ROWS_PER_LIST} ` +
      `(up to 1,000 lists, sqrt(rows) above 1M rows), and lists ${builtLists} is ${away} for ${rowsText(rows)}`
    );
  }
  const change = rows >= builtRows ? "grew" : "shrank";
  return `table ${change} from ${count(builtRows)} to ${rowsText(rows)}: lists ${builtLists} is ${away}`;
}

/** 20000 -> "20,000". */
export function count(n: number): string {
  return formatCount(n);
}
