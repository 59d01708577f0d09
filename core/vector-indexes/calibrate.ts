// Calibration: the smallest search setting (ivfflat.probes or hnsw.ef_search) that reaches a target
// recall@10 on this index's own data, measured rather than guessed (the README's sqrt(lists) probes is a
// starting point, https://github.com/pgvector/pgvector#ivfflat: with 100 lists its 10 probes gave recall
// 0.83 in bench/ann.ts, where 0.95 on new queries took about 30).
//
// The queries are held out (held-out.ts), not rows of the table: a row is an easy query for its own index,
// and more so the more lists the index has (docs/vector-indexes.md has the measurements). For each, the exact
// top 10 comes from a sequential scan with full-precision distances; the approximate top 10 from the app's
// query (nearestQuery) through the index. The target must be reached by the lower bound of a one-sided 95%
// confidence interval of the mean recall, not by the mean of a sample of 50 queries.
import type { ClientBase } from "pg";
import type { Calibration } from "./records";
import { heldOutQueries, type HeldOutSample } from "./held-out";
import { exactDistanceSql, neighboursOf, recallOf, type Neighbour } from "./recall";
import { nearestQuery, quoteIdent, indexPredicate, searchSetting, type IndexDefinition } from "./spec";

export const RECALL_AT = 10;
/**
 * pgvector's default hnsw.ef_search, and the least the calibration recommends: what a session searches with
 * when nothing is set. Once a guard against rows as queries (they overstated recall most below it); on
 * held-out queries bench:ann's calibration lands at the same value starting from 1 (docs/vector-indexes.md).
 */
export const HNSW_MIN_EF_SEARCH = 40;
/** pgvector accepts hnsw.ef_search up to 1,000. */
export const HNSW_MAX_EF_SEARCH = 1000;
/** The unfiltered calibration's sample of held-out queries (the tenant calibration's are salted apart). */
export const UNFILTERED_SAMPLE: HeldOutSample = { salt: "unfiltered" };
/** One-sided 95% normal quantile, for the recall's lower confidence bound. */
const Z_95 = 1.645;

export interface CalibrateOptions {
  targetRecall: number;
  /** How many held-out queries to measure with. */
  queries: number;
  /** The least value to try, instead of settingRange's (bench:ann measures below the ef_search floor). */
  minValue?: number;
}

interface QueryCase {
  vector: string;
  /** The exact top 10, with their distances (recall.ts counts a tie at the 10th as a hit). */
  truth: Neighbour[];
  exactMs: number;
}

export interface Measurement {
  value: number;
  /** Mean recall@10 over the queries... */
  recall: number;
  /** ...and the lower bound of its one-sided 95% confidence interval, which must reach the target. */
  recallLowerBound: number;
  latenciesMs: number[];
}

/** Mean and lower confidence bound of per-query recalls. */
export function summarizeRecall(perQuery: readonly number[]): { recall: number; recallLowerBound: number } {
  const n = perQuery.length;
  if (n === 0) return { recall: 1, recallLowerBound: 1 };
  const mean = perQuery.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { recall: mean, recallLowerBound: mean };
  const variance = perQuery.reduce((a, r) => a + (r - mean) ** 2, 0) / (n - 1);
  return { recall: mean, recallLowerBound: Math.max(0, mean - (Z_95 * Math.sqrt(variance)) / Math.sqrt(n)) };
}

/**
 * Held-out queries (held-out.ts) with their exact top 10: a sequential scan, full-precision distances (not
 * the index's halfvec), timed for the record's exact-search p50.
 */
async function sampleQueries(
  client: ClientBase,
  definition: IndexDefinition,
  n: number,
): Promise<QueryCase[]> {
  const { table, dimension } = definition;
  const vectors = await heldOutQueries(client, definition, n, UNFILTERED_SAMPLE);
  const cases: QueryCase[] = [];
  await inSavepoint(client, async () => {
    // Exact: no index may answer.
    await client.query("SET LOCAL enable_indexscan = off");
    await client.query("SET LOCAL enable_bitmapscan = off");
    // The heap can be tiny (vectors in TOAST), and the planner would then scan it without parallel workers.
    await client.query("SET LOCAL min_parallel_table_scan_size = 0");
    const exact =
      `SELECT ${quoteIdent(table.idColumn)}::text AS id, ${exactDistanceSql(table.column)} AS distance ` +
      `FROM ${quoteIdent(table.table)} WHERE ${indexPredicate(table, dimension)} ` +
      `ORDER BY ${quoteIdent(table.column)} <=> $1::vector LIMIT ${RECALL_AT}`;
    for (const vector of vectors) {
      const started = process.hrtime.bigint();
      const result = await client.query<Neighbour>(exact, [vector]);
      const exactMs = elapsedMs(started);
      cases.push({ vector, truth: result.rows, exactMs });
    }
  });
  return cases;
}

/** Recall and latency of the app's query through the index with the setting at `value`. */
async function measure(
  client: ClientBase,
  definition: IndexDefinition,
  cases: readonly QueryCase[],
  value: number,
): Promise<Measurement> {
  const query = nearestQuery(definition.table, definition.dimension, RECALL_AT);
  const latenciesMs: number[] = [];
  const recalls: number[] = [];
  await inSavepoint(client, async () => {
    await client.query(`SET LOCAL ${searchSetting(definition.method)} = ${value}`);
    // Measure the index even where the planner would rather scan a small table.
    await client.query("SET LOCAL enable_seqscan = off");
    for (const c of cases) {
      const started = process.hrtime.bigint();
      const result = await client.query<{ id: unknown }>(query, [c.vector]);
      latenciesMs.push(elapsedMs(started));
      if (c.truth.length > 0) {
        // The app's query ranks the index's expression; its rows' distances are read as exact search's.
        const found = await neighboursOf(
          client,
          definition.table,
          c.vector,
          result.rows.map((r) => r.id),
        );
        recalls.push(recallOf(c.truth, found));
      }
    }
  });
  return { value, ...summarizeRecall(recalls), latenciesMs };
}

/** The values to try: probes from 1 to the lists; ef_search from pgvector's default 40 to 1,000. */
export function settingRange(definition: IndexDefinition): { min: number; max: number } {
  const p = definition.params;
  return "lists" in p ? { min: 1, max: p.lists } : { min: HNSW_MIN_EF_SEARCH, max: HNSW_MAX_EF_SEARCH };
}

/**
 * The smallest value in [min, max] whose recall's lower bound reaches the target, by doubling then
 * bisecting (recall grows with the setting). When even `max` falls short, `max` with its recall. `abandon`
 * ends the search at a value that falls short and is already not worth having (slower than the alternative,
 * say): larger values only cost more, so it returns that value, abandoned.
 */
export async function searchSmallest(
  range: { min: number; max: number },
  targetRecall: number,
  evaluate: (value: number) => Promise<Measurement>,
  options: { abandon?: (measured: Measurement) => boolean } = {},
): Promise<Measurement & { targetReached: boolean; abandoned?: true }> {
  const seen = new Map<number, Measurement>();
  const at = async (value: number) => {
    const known = seen.get(value);
    if (known) return known;
    const measured = await evaluate(value);
    seen.set(value, measured);
    return measured;
  };
  let low = range.min - 1; // largest value known to fall short
  let high = range.min;
  while ((await at(high)).recallLowerBound < targetRecall) {
    if (options.abandon?.(await at(high)))
      return { ...(await at(high)), targetReached: false, abandoned: true };
    if (high >= range.max) return { ...(await at(high)), targetReached: false };
    low = high;
    high = Math.min(range.max, high * 2);
  }
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if ((await at(mid)).recallLowerBound >= targetRecall) high = mid;
    else low = mid;
  }
  return { ...(await at(high)), targetReached: true };
}

export async function calibrate(
  client: ClientBase,
  definition: IndexDefinition,
  rows: number,
  options: CalibrateOptions,
): Promise<Calibration> {
  const range = settingRange(definition);
  if (options.minValue !== undefined) range.min = options.minValue;
  // The exact answers and every measurement read one snapshot: the app's writes and a load-chunks that commit
  // while the release calibrates would otherwise change the true nearest rows between the two, and count as
  // the index's misses (3,000 rows loaded during one calibration read as recall 0.79 at every list probed, and
  // the release recorded the largest setting, "the target out of reach").
  const measured = await inOneSnapshot(client, async () => {
    const cases = await sampleQueries(client, definition, options.queries);
    if (cases.length === 0) return undefined;
    const chosen = await searchSmallest(range, options.targetRecall, (value) =>
      measure(client, definition, cases, value),
    );
    // Measure the chosen value once more with warm caches: the search may have met it first, cold.
    return { cases, chosen, final: await measure(client, definition, cases, chosen.value) };
  });
  if (!measured) return readsEveryRow(definition, range, rows, options.targetRecall);
  const { cases, chosen, final } = measured;
  return {
    setting: searchSetting(definition.method),
    value: chosen.value,
    targetRecall: options.targetRecall,
    recall: round(final.recall, 4),
    recallLowerBound: round(final.recallLowerBound, 4),
    targetReached: chosen.targetReached,
    latencyP50Ms: round(percentile(final.latenciesMs, 50), 3),
    latencyP95Ms: round(percentile(final.latenciesMs, 95), 3),
    exactP50Ms: round(
      percentile(
        cases.map((c) => c.exactMs),
        50,
      ),
      3,
    ),
    queries: cases.length,
    querySource: "held-out",
    rows,
  };
}

/**
 * A held-out query is the sum of two rows, so a dimension with fewer than two embedded rows has none: there is
 * nothing to measure, and claiming a recall measured over no query would be a lie in the status. The setting
 * is the one that reads every row (every list; an HNSW search at ef_search 40 visits the whole of a graph this
 * small), so recall is 1 by construction. The record says it measured nothing (`queries` 0,
 * `measuredNothing`); an apply once the rows have doubled recalibrates (decide.ts).
 */
function readsEveryRow(
  definition: IndexDefinition,
  range: { min: number; max: number },
  rows: number,
  targetRecall: number,
): Calibration {
  return {
    setting: searchSetting(definition.method),
    value: "lists" in definition.params ? range.max : range.min,
    targetRecall,
    recall: 1,
    recallLowerBound: 1,
    targetReached: true,
    latencyP50Ms: 0,
    latencyP95Ms: 0,
    exactP50Ms: 0,
    queries: 0,
    querySource: "held-out",
    rows,
  };
}

/** Whether a calibration had no held-out query to measure (fewer than two embedded rows): see readsEveryRow. */
export function measuredNothing(calibration: Pick<Calibration, "queries">): boolean {
  return calibration.queries === 0;
}

/** A read-only transaction whose reads all see the snapshot of its first. */
async function inOneSnapshot<T>(client: ClientBase, fn: () => Promise<T>): Promise<T> {
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    const result = await fn();
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** Within inOneSnapshot: the settings `fn` makes with SET LOCAL end with it (it only reads). */
async function inSavepoint(client: ClientBase, fn: () => Promise<void>): Promise<void> {
  await client.query("SAVEPOINT calibration_step");
  try {
    await fn();
  } finally {
    await client.query("ROLLBACK TO SAVEPOINT calibration_step").catch(() => {});
  }
}

function elapsedMs(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round = (n: number, digits: number) => Number(n.toFixed(digits));
