// Calibration under the tenant filter: after the vector-index step builds or recalibrates an index, measure
// the app's real search (search_chunks / search_messages, always scoped to one organization) per tenant-size
// class, with held-out queries, and choose the two settings the search functions read (core/search/tuning.ts):
//   * exactRows, the visible rows up to which the search is exact: where exact search (linear in the
//     tenant's rows, its per-row cost measured on the largest tenant) costs what one index search does.
//     Exact search has recall 1; when no index setting reaches the target, every tenant is searched exactly;
//   * the index setting (ivfflat.probes / hnsw.ef_search) for the tenants above it: the smallest, from the
//     unfiltered calibration's value up, at which the classes above the crossover and the smallest tenant
//     above it (the most selective filter the index serves) reach the target recall@10 (lower confidence
//     bound) against exact search over the tenant's rows. A tenant filter keeps only the tenant's share of
//     what the probed lists hold, so it may need more than the unfiltered value.
// Before those, in this order: the prefilter's depth (on the largest tenant below the threshold) and its
// smaller depth (on the smallest tenant class); graphs over the largest tenants' sign bits; the largest
// tenants' own indexes, for those without a graph. Each is kept only where it reaches the target.
// Then each class is measured once more through the function as it now is: recall, rows returned, latency.
//
// Queries are not rows of the table (core/vector-indexes/held-out.ts, as for the unfiltered calibration): each
// is the sum of two rows' embeddings. "own": two rows of the tenant; "table-wide": two rows of the other
// tenants (a tenant searching for what it has little of; the whole table when the others hold too few rows).
import type { ClientBase } from "pg";
import type { Logger } from "../logger";
import {
  HNSW_MAX_EF_SEARCH,
  HNSW_MIN_EF_SEARCH,
  searchSmallest,
  summarizeRecall,
  percentile,
  type Measurement,
  RECALL_AT,
} from "../vector-indexes/calibrate";
import { countingClient } from "../vector-indexes/calibration-progress";
import { heldOutQueries } from "../vector-indexes/held-out";
import { exactDistanceSql, recallOf, type Neighbour } from "../vector-indexes/recall";
import type { IndexDefinition } from "../vector-indexes/spec";
import { formatCount } from "../count-format";
import { quoteIdent } from "../vector-indexes/spec";
import { searchTuningSql, readSearchTuning, DEFAULT_EXACT_ROWS, type SearchTuning } from "./tuning";
import {
  ensurePrefilterIndex,
  isPrefilterTable,
  prefilterEntriesExist,
  prefilterUnavailable,
  readPrefilterEntries,
  searchPrefilterSql,
  PREFILTER_MAX_DEPTH,
  PREFILTER_MIN_DEPTH,
  PREFILTER_MIN_FACTOR,
  PREFILTER_SMALL_MIN_DEPTH,
  prefilters,
  type PrefilterEntry,
  type PrefilterFacts,
  type PrefilterOffCause,
  type PrefilterSmallFacts,
} from "./prefilter";
import {
  buildTenantIndex,
  dropTenantIndex,
  indexRowsEstimate,
  indexStorage,
  liveTenantIndexes,
  readTenantIndexes,
  searchTenantIndexesSql,
  tenantIndexCandidates,
  tenantIndexName,
  tenantIndexPrefix,
  tenantIndexesSupported,
  largeTenants,
  type TenantIndexEntry,
} from "./tenant-indexes";
import {
  buildPrefilterGraph,
  dropPrefilterGraph,
  livePrefilterGraphs,
  prefilterGraphName,
  prefilterGraphPrefix,
  prefilterGraphsSupported,
  readPrefilterGraphs,
  searchPrefilterGraphsSql,
  PREFILTER_GRAPH_DEPTH_FACTOR,
  type PrefilterGraphEntry,
  type PrefilterGraphFacts,
} from "./prefilter-graphs";

/** The search function of each embedded table. */
export const SEARCH_FUNCTIONS: Record<string, string> = {
  Chunk: "search_chunks",
  Message: "search_messages",
};

/** A tenant with this share of the rows or more is searched as the table is: nothing more to measure. */
export const SINGLE_TENANT_SHARE = 0.9;
/** Tenants with fewer rows than this have too few to measure a class by. */
const MIN_CLASS_ROWS = 2 * RECALL_AT;
/**
 * The exact threshold of the measurements of the search below it (the prefilter, its smaller depth, the graphs
 * over sign bits): one no tenant crosses while the release calibrates. The largest tenant's rows + 1, read as
 * the calibration started, were crossed by the rows the app or a load-chunks added meanwhile, and the tenant
 * measured was searched through the dimension's index instead (the prefilter turned off, at recall@10 0.64,
 * for a tenant the prefilter served at 0.98). The search function counts a tenant's visible rows up to the
 * threshold, which are all of its rows either way; an integer, as the function's threshold is.
 */
const BELOW_THE_THRESHOLD = 1_000_000_000;

export type QueryKind = "own" | "table-wide";

export interface ClassMeasurement {
  /** small / medium / large: the 10th percentile, the median and the largest tenant by rows; boundary: the
   * smallest tenant the search sends through the index, the one whose filter keeps least of what it reads;
   * next: when the index serves no tenant yet, the largest below the threshold (the next to cross it),
   * measured through the index as if it had crossed. */
  class: "small" | "medium" | "large" | "boundary" | "next";
  /**
   * The tenant measured: the one that held nearly all the rows is read back from it (crossed-threshold.ts).
   * Absent in records made before it.
   */
  organizationId?: string;
  tenantRows: number;
  /** Share of the dimension's rows, in percent. */
  sharePercent: number;
  kind: QueryKind;
  /** How the function searched this tenant: exactly (b-tree), exactly over the prefilter's candidates
   * (prefilter.ts), through the dimension's vector index, or through the tenant's own (tenant-indexes.ts). */
  path: "exact" | "prefilter" | "graph" | "index" | "tenant-index";
  queries: number;
  recall: number;
  recallLowerBound: number;
  rowsMean: number;
  rowsMin: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  targetReached: boolean;
}

/** A tenant index the calibration kept (or built), as recorded and logged. */
export interface TenantIndexFacts {
  organizationId: string;
  rows: number;
  /**
   * PostgreSQL's estimate of the index's rows when it was calibrated (pg_class.reltuples), which the growth
   * check compares with its estimate now (listed-indexes.ts); absent in records made before it.
   */
  estimatedRows?: number;
  /** The index's storage when it was calibrated (pg_class.relfilenode); absent in records made before it. */
  relfilenode?: number;
  indexName: string;
  efSearch: number;
  exactRows: number;
  /** Set when this calibration built it. */
  buildMs?: number;
}

export interface TenantCalibration {
  exactRows: number;
  setting: "ivfflat.probes" | "hnsw.ef_search";
  value: number;
  targetRecall: number;
  targetReached: boolean;
  classes: ClassMeasurement[];
  /** The largest tenants' own indexes (absent in records made before them). */
  tenantIndexes?: TenantIndexFacts[];
  /** The prefilter of the search below the exact threshold (absent in records made before it). */
  prefilter?: PrefilterFacts;
  /** Tenant indexes or sign-bit graphs whose build failed (the tenant is searched as if it had none). */
  tenantIndexFailures?: { organizationId: string; indexName: string; message: string }[];
  /** What this calibration cost: statements sent to the server and time taken, tenant indexes' builds included. */
  cost?: { statements: number; ms: number };
  /**
   * The tenants that searched the dimension's index when calibrated, measured or not: one that searches it now
   * and is not listed here has crossed the threshold since, a reason to calibrate again (crossed-threshold.ts).
   * Absent in records made before it.
   */
  indexPathTenants?: string[];
  /** Why no tenant filter was measured (no classes), for apply's log; not recorded. */
  unmeasured?: string;
}

interface QueryCase {
  vector: string;
  /**
   * The exact top 10 over the tenant's rows as they were at `TenantClass.truthOf` (rowsVersion), with their
   * distances (recall.ts counts a tie at the 10th as a hit).
   */
  truth: Neighbour[];
}

interface TenantClass {
  class: ClassMeasurement["class"];
  organizationId: string;
  rows: number;
  cases: Record<QueryKind, QueryCase[]>;
  /** The tenant's rows version (rowsVersion) the cases' truths were read at; undefined before the first. */
  truthOf?: string;
}

interface Sizes {
  total: number;
  tenants: { organizationId: string; rows: number }[];
}

async function tenantSizes(client: ClientBase, definition: IndexDefinition): Promise<Sizes> {
  const t = definition.table;
  const result = await client.query<{ org: string; n: string }>(
    `SELECT x."organizationId" AS org, count(*) AS n
       FROM ${quoteIdent(t.table)} x JOIN "EmbeddingSpace" s ON s."id" = x.${quoteIdent(t.spaceColumn)}
      WHERE x.${quoteIdent(t.column)} IS NOT NULL AND s."dimension" = $1
      GROUP BY 1 ORDER BY 2, 1`,
    [definition.dimension],
  );
  const tenants = result.rows.map((r) => ({ organizationId: r.org, rows: Number(r.n) }));
  return { total: tenants.reduce((a, b) => a + b.rows, 0), tenants };
}

/** Representatives: the largest tenant, the median one and the one at the 10th percentile of sizes. */
export function pickClasses(
  sizes: Sizes,
): { class: TenantClass["class"]; organizationId: string; rows: number }[] {
  const usable = sizes.tenants.filter((t) => t.rows >= MIN_CLASS_ROWS);
  if (usable.length === 0) return [];
  const at = (q: number) => usable[Math.min(usable.length - 1, Math.floor(q * usable.length))]!;
  const picked = [
    { class: "small" as const, ...at(0.1) },
    { class: "medium" as const, ...at(0.5) },
    { class: "large" as const, ...usable[usable.length - 1]! },
  ];
  // Few tenants: one may represent two classes; measure it once, under the larger class.
  return picked.filter((p, i) => !picked.slice(i + 1).some((q) => q.organizationId === p.organizationId));
}

/** The exact top 10 over a tenant's rows of the dimension, at full precision (no vector index can answer). */
async function exactTruth(
  client: ClientBase,
  definition: IndexDefinition,
  organizationId: string,
  vector: string,
): Promise<Neighbour[]> {
  const t = definition.table;
  // The distance as the search functions return it ("distance": the stored embedding <=> the query).
  const result = await client.query<Neighbour>(
    `SELECT x.${quoteIdent(t.idColumn)}::text AS id, ${exactDistanceSql(t.column, "x.")} AS distance
       FROM ${quoteIdent(t.table)} x JOIN "EmbeddingSpace" s ON s."id" = x.${quoteIdent(t.spaceColumn)}
      WHERE x."organizationId" = $2 AND x.${quoteIdent(t.column)} IS NOT NULL AND s."dimension" = $3
      ORDER BY x.${quoteIdent(t.column)} <=> $1::vector LIMIT ${RECALL_AT}`,
    [vector, organizationId, definition.dimension],
  );
  return result.rows;
}

/**
 * What the tenant's rows of the dimension are now, as a value that changes when one is inserted, deleted or
 * updated (the count, and a sum over each row's id and the transaction that wrote its version).
 */
async function rowsVersion(
  client: ClientBase,
  definition: IndexDefinition,
  organizationId: string,
): Promise<string> {
  const t = definition.table;
  const id = quoteIdent(t.idColumn);
  const result = await client.query<{ version: string }>(
    `SELECT count(*) || '/' || coalesce(sum(hashtextextended(x.${id}::text || '/' || x.xmin::text, 0)), 0) AS version
       FROM ${quoteIdent(t.table)} x JOIN "EmbeddingSpace" s ON s."id" = x.${quoteIdent(t.spaceColumn)}
      WHERE x."organizationId" = $1 AND x.${quoteIdent(t.column)} IS NOT NULL AND s."dimension" = $2`,
    [organizationId, definition.dimension],
  );
  return result.rows[0]!.version;
}

/**
 * The cases' truths as of this transaction's snapshot, read again only when the tenant's rows changed since
 * they were: the app's writes and a load-chunks that commit while the release calibrates would otherwise
 * change the nearest rows between the truth and the search, and count as the search's misses (rows of five
 * small tenants moved onto their queries as the calibration ran: exact search measured recall@10 0.82).
 */
async function currentTruths(client: ClientBase, definition: IndexDefinition, tenant: TenantClass) {
  const version = await rowsVersion(client, definition, tenant.organizationId);
  if (version === tenant.truthOf) return;
  for (const c of [...tenant.cases.own, ...tenant.cases["table-wide"]])
    c.truth = await exactTruth(client, definition, tenant.organizationId, c.vector);
  tenant.truthOf = version;
}

interface Run {
  recalls: number[];
  counts: number[];
  latenciesMs: number[];
}

/** Settings in place for one measurement's transaction only (rolled back): none keeps what is saved. */
interface Overrides {
  tuning: readonly SearchTuning[];
  tenantIndexes?: readonly TenantIndexEntry[];
  prefilters?: readonly PrefilterEntry[];
  /** This table and dimension's sign-bit graphs (prefilter-graphs.ts); undefined where there is no list. */
  graphs?: readonly PrefilterGraphEntry[];
}

/** The search function as the tenant, with `overrides` in place for the transaction only (rolled back). */
async function runSearch(
  client: ClientBase,
  definition: IndexDefinition,
  tenant: TenantClass,
  kinds: readonly QueryKind[],
  overrides: Overrides | undefined,
): Promise<Record<QueryKind, Run>> {
  const fn = SEARCH_FUNCTIONS[definition.table.table]!;
  const runs = {} as Record<QueryKind, Run>;
  // The truths and the searches read one snapshot (currentTruths).
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
  try {
    await currentTruths(client, definition, tenant);
    if (overrides) await client.query(searchTuningSql(overrides.tuning));
    if (overrides?.tenantIndexes) await client.query(searchTenantIndexesSql(overrides.tenantIndexes));
    if (overrides?.prefilters) await client.query(searchPrefilterSql(overrides.prefilters));
    if (overrides?.graphs) await client.query(searchPrefilterGraphsSql(overrides.graphs));
    await client.query("SELECT set_config('app.current_organization_id', $1, true)", [tenant.organizationId]);
    for (const kind of kinds) {
      const run: Run = { recalls: [], counts: [], latenciesMs: [] };
      for (const c of tenant.cases[kind]) {
        const started = process.hrtime.bigint();
        const result = await client.query<Neighbour>(
          `SELECT "id", "distance" FROM ${fn}($1::vector, ${RECALL_AT})`,
          [c.vector],
        );
        run.latenciesMs.push(Number(process.hrtime.bigint() - started) / 1e6);
        run.counts.push(result.rows.length);
        if (c.truth.length > 0) run.recalls.push(recallOf(c.truth, result.rows));
      }
      runs[kind] = run;
    }
  } finally {
    await client.query("ROLLBACK");
  }
  return runs;
}

/**
 * The run of the query kind with the higher p50. A tenant's own index and the prefilter are compared by it:
 * an HNSW index answers queries near the tenant's topics faster than queries far from them, the prefilter
 * both alike, and a tenant searches for both.
 */
function slowerKind(runs: Record<QueryKind, Run>): Run {
  const own = runs.own;
  const far = runs["table-wide"];
  return percentile(own.latenciesMs, 50) >= percentile(far.latenciesMs, 50) ? own : far;
}

/**
 * A setting measured on both query kinds, as a tenant index, the prefilter and a graph are: each kind must
 * reach the target (queries far from the tenant's topics are the harder ones), so the recall of the kind with
 * the lower bound; the latencies of the slower kind.
 */
function bothKinds(value: number, runs: Record<QueryKind, Run>): Measurement {
  const near = summarizeRecall(runs.own.recalls);
  const far = summarizeRecall(runs["table-wide"].recalls);
  return {
    value,
    ...(near.recallLowerBound <= far.recallLowerBound ? near : far),
    latenciesMs: slowerKind(runs).latenciesMs,
  };
}

/** Exact search's latency over a tenant's rows (the truth queries, timed), for the crossover. */
async function exactLatencyMs(
  client: ClientBase,
  definition: IndexDefinition,
  tenant: TenantClass,
): Promise<number> {
  const latencies: number[] = [];
  for (const c of tenant.cases.own) {
    const started = process.hrtime.bigint();
    await exactTruth(client, definition, tenant.organizationId, c.vector);
    latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return percentile(latencies, 50);
}

type TenantSearchOptions = {
  targetRecall: number;
  queries: number;
  tenantIndexMinShare?: number;
  /** Progress of the long parts (the prefilter's backfill and build). */
  log?: Logger;
};

/**
 * The calibration under the tenant filter, with what it cost: statements sent and time taken. Bounded by
 * construction: a fixed number of queries per class and setting tried, at most four classes and ten tenant
 * indexes per dimension, and each setting found by doubling then bisecting (docs/search.md).
 */
export async function calibrateTenantSearch(
  client: ClientBase,
  definition: IndexDefinition,
  unfiltered: { setting: "ivfflat.probes" | "hnsw.ef_search"; value: number; max: number },
  options: TenantSearchOptions,
): Promise<TenantCalibration | undefined> {
  const started = Date.now();
  const counter = { statements: 0 };
  const calibration = await calibrateClasses(
    countingClient(client, counter),
    definition,
    unfiltered,
    options,
  );
  return (
    calibration && { ...calibration, cost: { statements: counter.statements, ms: Date.now() - started } }
  );
}

/** One class's measurement of one query kind, as recorded and shown by status. */
/**
 * A tenant's share of `totalRows` in percent, to 0.01, rounded down: a share recorded at SINGLE_TENANT_SHARE or
 * more was that much (crossed-threshold.ts reads it so), where rounding to nearest would record 89.996% as 90.
 */
export function sharePercentOf(rows: number, totalRows: number): number {
  return Math.floor((10_000 * rows) / totalRows) / 100;
}

function classMeasurement(
  c: TenantClass,
  path: ClassMeasurement["path"],
  kind: QueryKind,
  run: Run,
  totalRows: number,
  options: TenantSearchOptions,
): ClassMeasurement {
  const summary = summarizeRecall(run.recalls);
  return {
    class: c.class,
    organizationId: c.organizationId,
    tenantRows: c.rows,
    sharePercent: sharePercentOf(c.rows, totalRows),
    kind,
    path,
    queries: run.counts.length,
    recall: Number(summary.recall.toFixed(4)),
    recallLowerBound: Number(summary.recallLowerBound.toFixed(4)),
    rowsMean: Number((run.counts.reduce((a, b) => a + b, 0) / run.counts.length).toFixed(2)),
    rowsMin: Math.min(...run.counts),
    latencyP50Ms: Number(percentile(run.latenciesMs, 50).toFixed(3)),
    latencyP95Ms: Number(percentile(run.latenciesMs, 95).toFixed(3)),
    targetReached:
      summary.recallLowerBound >= options.targetRecall &&
      Math.min(...run.counts) === Math.min(RECALL_AT, c.rows),
  };
}

async function calibrateClasses(
  client: ClientBase,
  definition: IndexDefinition,
  unfiltered: { setting: "ivfflat.probes" | "hnsw.ef_search"; value: number; max: number },
  options: TenantSearchOptions,
): Promise<TenantCalibration | undefined> {
  const table = definition.table.table;
  if (!SEARCH_FUNCTIONS[table]) return undefined;
  // A database whose migrations stop before the tenant search (a --migrations-dir of older files) has no
  // entry point to calibrate: the unfiltered calibration stands alone there.
  const ready = await client.query<{ ok: boolean }>(
    `SELECT to_regprocedure('search_tuning_entries()') IS NOT NULL AS ok`,
  );
  if (!ready.rows[0]?.ok) return undefined;
  const sizes = await tenantSizes(client, definition);
  const picked = pickClasses(sizes);
  const others = (await readSearchTuning(client)).filter(
    (e) => !(e.table === table && e.dimension === definition.dimension),
  );
  const withTenantIndexes = await tenantIndexesSupported(client);
  const otherTenantIndexes = (await readTenantIndexes(client)).filter(
    (e) => !(e.table === table && e.dimension === definition.dimension),
  );
  const withGraphs = await prefilterGraphsSupported(client);
  const otherGraphs = (await readPrefilterGraphs(client)).filter(
    (e) => !(e.table === table && e.dimension === definition.dimension),
  );
  // Measured without this dimension's graphs, until they are calibrated again.
  const noGraphs = withGraphs ? { graphs: [] as PrefilterGraphEntry[] } : {};
  const prefilterEntries = await readPrefilterEntries(client);
  const otherPrefilters = prefilterEntries.filter(
    (e) => !(e.table === table && e.dimension === definition.dimension),
  );
  const entry = (exactRows: number, value: number): SearchTuning => ({
    table,
    dimension: definition.dimension,
    exactRows,
    ...(unfiltered.setting === "ivfflat.probes" ? { probes: value } : { efSearch: value }),
  });
  // No tenant filter to measure: no tenant with enough rows, or one tenant with (nearly) all of them, which
  // the unfiltered calibration already measured.
  const largestShare = sizes.total > 0 ? (picked.at(-1)?.rows ?? 0) / sizes.total : 0;
  if (picked.length === 0 || (picked.length === 1 && largestShare >= SINGLE_TENANT_SHARE)) {
    await client.query(searchTuningSql([...others, entry(DEFAULT_EXACT_ROWS, unfiltered.value)]));
    if (withTenantIndexes) await keepTenantIndexes(client, definition, [], otherTenantIndexes);
    if (withGraphs) await keepPrefilterGraphs(client, definition, [], otherGraphs);
    if (otherPrefilters.length < prefilterEntries.length)
      await client.query(searchPrefilterSql(otherPrefilters));
    const unmeasured =
      picked.length === 0
        ? `no tenant has ${MIN_CLASS_ROWS} rows to measure yet`
        : `tenant ${picked[0]!.organizationId} holds ${formatCount(picked[0]!.rows)} of the ` +
          `${formatCount(sizes.total)} rows, so it is searched as the table is`;
    return {
      exactRows: DEFAULT_EXACT_ROWS,
      // Those past the threshold search the dimension's index (none has an index or graph of its own now):
      // one that does later and is not listed has crossed since, with a filter this calibration did not
      // measure (crossed-threshold.ts). Unlisted, a second tenant grown to 11,500 of 23,506 rows (3,072
      // dimensions) got recall@10 0.797 at the unfiltered setting, and no plan said so.
      indexPathTenants: sizes.tenants.filter((t) => t.rows > DEFAULT_EXACT_ROWS).map((t) => t.organizationId),
      setting: unfiltered.setting,
      value: unfiltered.value,
      targetRecall: options.targetRecall,
      targetReached: true,
      classes: [],
      unmeasured,
      ...(isPrefilterTable(table)
        ? {
            prefilter: {
              state: "off" as const,
              ...((await prefilterUnavailable(client, table)) ?? {
                reason: `no tenant filter to measure it on: ${unmeasured}`,
                cause: "no-tenant-filter" as const,
              }),
            },
          }
        : {}),
    };
  }
  const perClass = Math.max(1, Math.ceil(options.queries / 2));
  const classOf = async (p: { class: TenantClass["class"]; organizationId: string; rows: number }) => {
    const own = await heldOutQueries(client, definition, perClass, {
      organizationId: p.organizationId,
      salt: "own",
    });
    // Drawn from the other tenants' rows: drawn from the whole table, the queries of a tenant holding most of
    // it were its own topics, and its index was never measured far from them (a tenant of 98% of the rows
    // got recall@10 0.79 there, 0.1 at worst, on the setting calibrated so). The whole table when the others
    // hold too few rows for the sample.
    const others = await heldOutQueries(client, definition, perClass, {
      organizationId: p.organizationId,
      tenantRows: "excluded",
      salt: "table-wide",
    });
    const tableWide =
      others.length >= perClass
        ? others
        : await heldOutQueries(client, definition, perClass, { salt: "table-wide" });
    // Their truths are read by the first search, in its snapshot (currentTruths).
    const cases = (vectors: string[]) => vectors.map((v): QueryCase => ({ vector: v, truth: [] }));
    return { ...p, cases: { own: cases(own), "table-wide": cases(tableWide) } };
  };
  const classes: TenantClass[] = [];
  for (const p of picked) classes.push(await classOf(p));
  const largest = classes[classes.length - 1]!;
  const both: QueryKind[] = ["own", "table-wide"];
  // The largest tenants' own indexes, once calibrated (none while the dimension's index is measured alone).
  let kept: TenantIndexEntry[] = [];
  const indexRun = async (tenants: readonly TenantClass[], value: number) => {
    const latenciesMs: number[] = [];
    let worst = { recall: 1, recallLowerBound: 1 };
    for (const c of tenants) {
      const runs = await runSearch(client, definition, c, both, {
        tuning: [...others, entry(0, value)],
        tenantIndexes: withTenantIndexes ? [...otherTenantIndexes, ...kept] : undefined,
        ...noGraphs,
      });
      for (const kind of both) {
        const summary = summarizeRecall(runs[kind].recalls);
        if (summary.recallLowerBound < worst.recallLowerBound) worst = summary;
        latenciesMs.push(...runs[kind].latenciesMs);
      }
    }
    return { value, ...worst, latenciesMs };
  };

  // The prefilter of the search below the exact threshold, saved when it reaches the target; then the smaller
  // depth of its smallest tenants.
  const prefilterBase = {
    tuning: [...others, entry(BELOW_THE_THRESHOLD, unfiltered.value)],
    tenantIndexes: withTenantIndexes ? otherTenantIndexes : undefined,
    prefilters: otherPrefilters,
    ...noGraphs,
  };
  const prefilter = await calibratePrefilter(client, definition, largest, options, prefilterBase);
  const depth = prefilter.facts.state === "on" ? prefilter.facts.depth : undefined;
  const small =
    depth !== undefined
      ? await calibratePrefilterSmall(
          client,
          definition,
          { smallest: classes[0]!, largest, depth },
          options,
          prefilterBase,
        )
      : undefined;
  const prefilterEntry =
    depth !== undefined ? { depth, ...(small?.entry ? { small: small.entry } : {}) } : undefined;

  // The largest tenants the prefilter serves get graphs over their sign bits (prefilter-graphs.ts), before
  // any tenant index: search_chunks() takes a tenant's graph before anything else, whatever its size, and a
  // graph over 192-byte sign bits answers faster than an index of the tenant's own over its embeddings (the
  // benchmark's largest tenant: its graph 2.2-2.6 ms, its own index 4.5 ms in the calibration and 7.5-11.3
  // in the benchmark), which is calibrated only for tenants without one.
  const graphs =
    withGraphs && prefilterEntry
      ? await calibratePrefilterGraphs(client, definition, options, {
          candidates: largeTenants(sizes.tenants, options.tenantIndexMinShare).filter((t) =>
            prefilters(prefilterEntry, t.rows),
          ),
          tenantClass: async (t) =>
            classes.find((c) => c.organizationId === t.organizationId) ??
            (await classOf({ class: "large", ...t })),
          depth: prefilterEntry.depth,
          base: { tuning: prefilterBase.tuning, tenantIndexes: prefilterBase.tenantIndexes },
          others: otherGraphs,
        })
      : { entries: [], facts: [], failures: [] };
  if (withGraphs && !prefilterEntry) await keepPrefilterGraphs(client, definition, [], otherGraphs);
  const ownGraph = new Set(graphs.entries.map((e) => e.organizationId));

  // The search below the threshold (exact, or over the prefilter's candidates) costs rows × a per-row cost,
  // measured on the largest tenant; one index search its p50.
  const perRowMs =
    (prefilter.latenciesMs
      ? percentile(prefilter.latenciesMs, 50)
      : await exactLatencyMs(client, definition, largest)) / largest.rows;
  const crossover = (indexMs: number) =>
    perRowMs > 0 ? Math.max(MIN_CLASS_ROWS, Math.round(indexMs / perRowMs)) : DEFAULT_EXACT_ROWS;
  const first = crossover(percentile((await indexRun([largest], unfiltered.value)).latenciesMs, 50));

  // The largest tenants get indexes of their own (tenant-indexes.ts), calibrated first: the dimension's index
  // then only needs a setting for the tenants that search it.
  const tenantIndexes: TenantIndexFacts[] = [];
  const tenantIndexFailures: NonNullable<TenantCalibration["tenantIndexFailures"]> = [...graphs.failures];
  if (withTenantIndexes) {
    // A tenant with SINGLE_TENANT_SHARE of the rows or more would get a near copy of the dimension's index
    // (built and kept for nothing, and whether it was kept hung on timings): it searches the dimension's.
    const candidates = tenantIndexCandidates(sizes.tenants, {
      exactRows: first,
      ...(options.tenantIndexMinShare !== undefined ? { minShare: options.tenantIndexMinShare } : {}),
    }).filter((c) => !ownGraph.has(c.organizationId) && c.rows < SINGLE_TENANT_SHARE * sizes.total);
    const live = await liveTenantIndexes(client, definition.table);
    const wanted = new Set(
      candidates.map((c) => tenantIndexName(definition.table, definition.dimension, c.organizationId)),
    );
    const ofDimension = `${tenantIndexPrefix(definition.table)}${definition.dimension}_`;
    for (const name of live.keys()) {
      if (name.startsWith(ofDimension) && !wanted.has(name)) await dropTenantIndex(client, name);
    }
    for (const candidate of candidates) {
      const indexName = tenantIndexName(definition.table, definition.dimension, candidate.organizationId);
      let buildMs: number | undefined;
      try {
        if (!live.get(indexName)?.valid) buildMs = await buildTenantIndex(client, definition, candidate);
      } catch (error) {
        // The tenant keeps the dimension's index (or exact search); the release goes on and says why.
        tenantIndexFailures.push({
          organizationId: candidate.organizationId,
          indexName,
          message: (error as Error).message,
        });
        continue;
      }
      const tenant =
        classes.find((c) => c.organizationId === candidate.organizationId) ??
        (await classOf({ class: "large", ...candidate }));
      const own = (efSearch: number): TenantIndexEntry => ({
        table,
        dimension: definition.dimension,
        organizationId: candidate.organizationId,
        indexName,
        exactRows: 0,
        efSearch,
      });
      const tenantRun = await searchSmallest(
        { min: HNSW_MIN_EF_SEARCH, max: HNSW_MAX_EF_SEARCH },
        options.targetRecall,
        async (value) => {
          const runs = await runSearch(client, definition, tenant, both, {
            tuning: [...others, entry(first, unfiltered.value)],
            tenantIndexes: [...otherTenantIndexes, ...kept, own(value)],
            ...noGraphs,
          });
          return bothKinds(value, runs);
        },
      );
      const tenantExactRows = crossover(percentile(tenantRun.latenciesMs, 50));
      // Kept only when it reaches the target and beats exact search over the tenant's rows.
      if (!tenantRun.targetReached || candidate.rows <= tenantExactRows) {
        await dropTenantIndex(client, indexName);
        continue;
      }
      kept = [...kept, { ...own(tenantRun.value), exactRows: tenantExactRows }];
      const estimatedRows = await indexRowsEstimate(client, indexName);
      const relfilenode = await indexStorage(client, indexName);
      tenantIndexes.push({
        organizationId: candidate.organizationId,
        rows: candidate.rows,
        ...(estimatedRows !== null ? { estimatedRows } : {}),
        ...(relfilenode !== null ? { relfilenode } : {}),
        indexName,
        efSearch: tenantRun.value,
        exactRows: tenantExactRows,
        ...(buildMs !== undefined ? { buildMs } : {}),
      });
    }
    await keepTenantIndexes(client, definition, kept, otherTenantIndexes);
  }
  const ownIndex = new Map(kept.map((e) => [e.organizationId, e]));

  // The index setting: the smallest at which every tenant above the crossover reaches the target, checked on
  // the classes above it and on the smallest tenant above it (the most selective filter the index serves).
  const boundary = sizes.tenants.find((t) => t.rows > first);
  if (boundary && !classes.some((c) => c.organizationId === boundary.organizationId)) {
    classes.push(await classOf({ class: "boundary", ...boundary }));
  }
  // The tenants the dimension's index serves: above the crossover, without an index of their own. None (every
  // tenant below the crossover, as the prefilter makes likely): the unfiltered setting stands, which is also
  // the one hand-written unfiltered queries get (a setting raised for a filter no tenant has would slow them).
  const searchesTheIndex = (t: { organizationId: string }) =>
    !ownIndex.has(t.organizationId) && !ownGraph.has(t.organizationId);
  const served = classes.filter((c) => c.rows > first && searchesTheIndex(c));
  // None above the crossover: the first tenant to grow past the threshold will search the index all the same,
  // at whatever setting this leaves, and nothing recalibrates until the dimension's rows double. Left at the
  // unfiltered setting, a tenant of 1,000 of 4,590 rows grown to 1,700 got recall@10 0.36-0.41 (256
  // dimensions, probes 4). So the setting is checked on the largest tenant below the crossover, searched
  // through the index as if it had crossed (its filter keeps a share of what the index reads no larger than a
  // tenant just past the threshold would): kept where one reaches the target for it before the index is slower
  // than searching it below the threshold; otherwise every tenant the table has now is searched below it.
  const nextToCross =
    served.length === 0
      ? sizes.tenants.filter((t) => t.rows <= first && t.rows >= MIN_CLASS_ROWS && searchesTheIndex(t)).at(-1)
      : undefined;
  const next = nextToCross
    ? (classes.find((c) => c.organizationId === nextToCross.organizationId) ??
      (await classOf({ class: "next", ...nextToCross })))
    : undefined;
  // A setting that falls short while the index is already slower than searching the largest of those tenants
  // below the threshold serves none of them: the search for one stops there (each larger setting measures
  // their queries again, and is slower still), and they are searched below the threshold. Met when the
  // crossover at the unfiltered setting lands just below the largest tenant: 1,657 statements in 26 s for
  // a calibration that ended where 442 in 5.6 s had.
  const belowThresholdMs = perRowMs * Math.max(0, ...served.map((c) => c.rows));
  const searched =
    served.length > 0
      ? await searchSmallest(
          { min: unfiltered.value, max: unfiltered.max },
          options.targetRecall,
          (value) => indexRun(served, value),
          { abandon: (m) => percentile(m.latenciesMs, 50) >= belowThresholdMs },
        )
      : undefined;
  // Abandoned as soon as a setting falls short while already slower than searching that tenant below the
  // threshold: any that reaches the target is slower still, so it would be searched below the threshold at
  // any size the table has now (exactRows below), and one that crosses it is planned for a recalibration
  // (crossed-threshold.ts). Not abandoned, the search went on to probes 260 of 1,000 lists on the benchmark's
  // corpus (70 ms a query, 50 s of calibration) and made that every session's default.
  const searchedForNext = next
    ? await searchSmallest(
        { min: unfiltered.value, max: unfiltered.max },
        options.targetRecall,
        (value) => indexRun([next], value),
        { abandon: (m) => percentile(m.latenciesMs, 50) >= perRowMs * next.rows },
      )
    : undefined;
  const indexServes = searched !== undefined && !searched.abandoned;
  const chosen = indexServes
    ? searched
    : searchedForNext?.targetReached
      ? searchedForNext
      : { ...(await indexRun([], unfiltered.value)), targetReached: true };
  // A slower index at the chosen setting moves the crossover up: tenants near it are then searched exactly.
  // When no setting reaches the target (or none is worth reaching), every tenant is.
  // So does a setting that no tenant needs yet and that falls short for the next to cross: every tenant up to
  // the largest's rows is searched exactly, the next to cross among them.
  const exactRows =
    !chosen.targetReached || searched?.abandoned || (searchedForNext && !searchedForNext.targetReached)
      ? Math.max(first, largest.rows + 1)
      : indexServes || searchedForNext
        ? Math.max(first, crossover(percentile(chosen.latenciesMs, 50)))
        : first;
  const indexPathTenants = sizes.tenants
    .filter((t) => t.rows > exactRows && searchesTheIndex(t))
    .map((t) => t.organizationId);
  const final = [...others, entry(exactRows, chosen.value)];
  await client.query(searchTuningSql(final));

  const measured: ClassMeasurement[] = [];
  const measure = (c: TenantClass, path: ClassMeasurement["path"], runs: Record<QueryKind, Run>) => {
    for (const kind of both) measured.push(classMeasurement(c, path, kind, runs[kind], sizes.total, options));
  };
  classes.sort((a, b) => a.rows - b.rows);
  for (const c of classes) {
    const path = ownGraph.has(c.organizationId)
      ? "graph"
      : c.rows > (ownIndex.get(c.organizationId)?.exactRows ?? Infinity)
        ? "tenant-index"
        : c.rows > exactRows
          ? "index"
          : prefilterEntry && prefilters(prefilterEntry, c.rows)
            ? "prefilter"
            : "exact";
    measure(c, path, await runSearch(client, definition, c, both, undefined));
  }
  // The next to cross, once more through the index at the setting chosen for it, as status shows it: the one
  // measurement of the path that no tenant takes yet.
  if (next && searchedForNext?.targetReached) {
    const runs = await runSearch(client, definition, next, both, {
      tuning: [...others, entry(0, chosen.value)],
      tenantIndexes: withTenantIndexes ? [...otherTenantIndexes, ...kept] : undefined,
    });
    measure({ ...next, class: "next" }, "index", runs);
  }
  return {
    exactRows,
    indexPathTenants,
    setting: unfiltered.setting,
    value: chosen.value,
    targetRecall: options.targetRecall,
    targetReached: measured.every((m) => m.targetReached),
    classes: measured,
    tenantIndexes,
    ...(isPrefilterTable(table)
      ? {
          prefilter:
            prefilter.facts.state === "on"
              ? {
                  ...prefilter.facts,
                  ...(withGraphs ? { graphs: graphs.facts } : {}),
                  ...(small ? { small: small.facts } : {}),
                }
              : prefilter.facts,
        }
      : {}),
    ...(tenantIndexFailures.length > 0 ? { tenantIndexFailures } : {}),
  };
}

/**
 * The prefilter's depth: the smallest at which the largest tenant, searched below the exact threshold (the
 * filter that keeps most rows, where sign bits tell rows apart least), reaches the target recall for both
 * kinds of query. Builds the prefilter's b-tree first (prefilter.ts). Saves this dimension's entry when the
 * target is reached and removes it when not; the latencies are those of the chosen depth.
 */
async function calibratePrefilter(
  client: ClientBase,
  definition: IndexDefinition,
  largest: TenantClass,
  { targetRecall, log }: TenantSearchOptions,
  base: Overrides & { prefilters: readonly PrefilterEntry[] },
): Promise<{ facts: PrefilterFacts; latenciesMs?: number[] }> {
  const { table } = definition.table;
  const off = async (reason: string, cause: PrefilterOffCause) => {
    // This dimension's entry removed, where the list exists (its migrations may stop before it).
    if (await prefilterEntriesExist(client)) await client.query(searchPrefilterSql(base.prefilters));
    return { facts: { state: "off", reason, cause } as const };
  };
  const unavailable = await prefilterUnavailable(client, table);
  if (unavailable) return off(unavailable.reason, unavailable.cause);
  let built: Awaited<ReturnType<typeof ensurePrefilterIndex>>;
  try {
    built = await ensurePrefilterIndex(client, table, log);
  } catch (error) {
    return off(
      `building its b-tree failed (${(error as Error).message}): exact search instead`,
      "build-failed",
    );
  }
  const both: QueryKind[] = ["own", "table-wide"];
  const own = (depth: number): PrefilterEntry => ({ table, dimension: definition.dimension, depth });
  const chosen = await searchSmallest(
    { min: PREFILTER_MIN_DEPTH, max: PREFILTER_MAX_DEPTH },
    targetRecall,
    async (depth) => {
      const runs = await runSearch(client, definition, largest, both, {
        ...base,
        prefilters: [...base.prefilters, own(depth)],
      });
      return bothKinds(depth, runs);
    },
  );
  if (!chosen.targetReached) {
    return off(
      `at depth ${chosen.value} the largest tenant's recall@10 was ${chosen.recallLowerBound.toFixed(3)} ` +
        `(lower bound), under the target ${targetRecall}: exact search instead`,
      "target-missed",
    );
  }
  await client.query(searchPrefilterSql([...base.prefilters, own(chosen.value)]));
  return {
    facts: {
      state: "on",
      indexName: built.indexName,
      depth: chosen.value,
      recall: Number(chosen.recall.toFixed(4)),
      latencyP50Ms: Number(percentile(chosen.latenciesMs, 50).toFixed(3)),
      ...(built.buildMs !== undefined ? { buildMs: built.buildMs } : {}),
      ...(built.backfilledRows > 0 ? { backfilledRows: built.backfilledRows } : {}),
    },
    latenciesMs: chosen.latenciesMs,
  };
}

/**
 * The smaller depth of the smallest tenants the prefilter serves: the smallest, from PREFILTER_SMALL_MIN_DEPTH
 * up to the depth calibrated on the largest tenant, at which the smallest tenant class reaches the target
 * for both kinds of query. Tenants of at most that class's rows take it (a tenant with fewer rows has fewer
 * near rivals of its nearest rows among the Hamming candidates), and those above 4 times it are prefiltered.
 * Saved with the prefilter's entry when it is smaller than that depth; the entry is left without it otherwise.
 */
async function calibratePrefilterSmall(
  client: ClientBase,
  definition: IndexDefinition,
  { smallest, largest, depth }: { smallest: TenantClass; largest: TenantClass; depth: number },
  { targetRecall }: TenantSearchOptions,
  base: Overrides & { prefilters: readonly PrefilterEntry[] },
): Promise<{ facts: PrefilterSmallFacts; entry?: NonNullable<PrefilterEntry["small"]> }> {
  const { table } = definition.table;
  const least = PREFILTER_MIN_FACTOR * PREFILTER_SMALL_MIN_DEPTH;
  if (smallest.organizationId === largest.organizationId || smallest.rows <= least) {
    return {
      facts: {
        state: "off",
        reason: `no tenant class smaller than the largest with more than ${formatCount(least)} rows to calibrate it on`,
      },
    };
  }
  const withSmall = (smallDepth: number): PrefilterEntry => ({
    table,
    dimension: definition.dimension,
    depth,
    small: { rows: smallest.rows, depth: smallDepth },
  });
  const chosen = await searchSmallest(
    { min: PREFILTER_SMALL_MIN_DEPTH, max: depth },
    targetRecall,
    async (smallDepth) => {
      const runs = await runSearch(client, definition, smallest, ["own", "table-wide"], {
        ...base,
        prefilters: [...base.prefilters, withSmall(smallDepth)],
      });
      return bothKinds(smallDepth, runs);
    },
  );
  if (!chosen.targetReached || chosen.value >= depth) {
    const of = `the smallest tenant class (${formatCount(smallest.rows)} rows)`;
    return {
      facts: {
        state: "off",
        reason: chosen.targetReached
          ? `${of} needs the depth of the largest, ${depth}`
          : `at depth ${depth} ${of} reached recall@10 ${chosen.recallLowerBound.toFixed(3)} (lower bound), under the target ${targetRecall}`,
      },
    };
  }
  const entry = withSmall(chosen.value);
  await client.query(searchPrefilterSql([...base.prefilters, entry]));
  return {
    facts: {
      state: "on",
      organizationId: smallest.organizationId,
      rows: smallest.rows,
      depth: chosen.value,
      recall: Number(chosen.recall.toFixed(4)),
      latencyP50Ms: Number(percentile(chosen.latenciesMs, 50).toFixed(3)),
    },
    entry: entry.small!,
  };
}

/** Lists `kept` (and the other tables' and dimensions' entries) and drops this dimension's other ones. */
async function keepTenantIndexes(
  client: ClientBase,
  definition: IndexDefinition,
  kept: readonly TenantIndexEntry[],
  others: readonly TenantIndexEntry[],
): Promise<void> {
  await client.query(searchTenantIndexesSql([...others, ...kept]));
  const ofDimension = `${tenantIndexPrefix(definition.table)}${definition.dimension}_`;
  const keep = new Set(kept.map((e) => e.indexName));
  for (const name of (await liveTenantIndexes(client, definition.table)).keys()) {
    if (name.startsWith(ofDimension) && !keep.has(name)) await dropTenantIndex(client, name);
  }
}

/**
 * Graphs over the largest tenants' sign bits (prefilter-graphs.ts): for each candidate (a tenant with a tenth
 * of the dimension's rows that the prefilter serves), one is built, its hnsw.ef_search calibrated at
 * PREFILTER_GRAPH_DEPTH_FACTOR times the prefilter's depth on both query kinds, and kept when it reaches the
 * target and is faster than the prefilter's b-tree for that tenant (each by its slower kind's p50). Saves the
 * kept ones with the other tables' and dimensions' and drops this dimension's others; a failed build leaves
 * the tenant on the b-tree, said as a failure.
 */
async function calibratePrefilterGraphs(
  client: ClientBase,
  definition: IndexDefinition,
  { targetRecall }: TenantSearchOptions,
  input: {
    candidates: readonly { organizationId: string; rows: number }[];
    tenantClass: (t: { organizationId: string; rows: number }) => Promise<TenantClass>;
    depth: number;
    base: Overrides;
    others: readonly PrefilterGraphEntry[];
  },
): Promise<{
  entries: PrefilterGraphEntry[];
  facts: PrefilterGraphFacts[];
  failures: NonNullable<TenantCalibration["tenantIndexFailures"]>;
}> {
  const both: QueryKind[] = ["own", "table-wide"];
  const live = await livePrefilterGraphs(client, definition.table);
  const entries: PrefilterGraphEntry[] = [];
  const facts: PrefilterGraphFacts[] = [];
  const failures: NonNullable<TenantCalibration["tenantIndexFailures"]> = [];
  const depth = PREFILTER_GRAPH_DEPTH_FACTOR * input.depth;
  for (const candidate of input.candidates) {
    const indexName = prefilterGraphName(definition.table, definition.dimension, candidate.organizationId);
    const tenant = await input.tenantClass(candidate);
    const btree = slowerKind(
      await runSearch(client, definition, tenant, both, { ...input.base, graphs: entries }),
    );
    const btreeP50 = percentile(btree.latenciesMs, 50);
    let buildMs: number | undefined;
    try {
      if (!live.get(indexName)?.valid)
        buildMs = await buildPrefilterGraph(
          client,
          definition.table,
          definition.dimension,
          candidate.organizationId,
        );
    } catch (error) {
      failures.push({
        organizationId: candidate.organizationId,
        indexName,
        message: (error as Error).message,
      });
      continue;
    }
    const own = (efSearch: number): PrefilterGraphEntry => ({
      table: definition.table.table,
      dimension: definition.dimension,
      organizationId: candidate.organizationId,
      indexName,
      depth,
      efSearch,
    });
    const run = await searchSmallest(
      { min: Math.max(HNSW_MIN_EF_SEARCH, depth), max: HNSW_MAX_EF_SEARCH },
      targetRecall,
      async (efSearch) => {
        const runs = await runSearch(client, definition, tenant, both, {
          ...input.base,
          graphs: [...entries, own(efSearch)],
        });
        return bothKinds(efSearch, runs);
      },
      // A setting already slower than the b-tree is not worth reaching.
      { abandon: (m) => percentile(m.latenciesMs, 50) >= btreeP50 },
    );
    // Decided on the figures recorded (to 0.001 ms), so that a graph kept is one its record shows faster.
    const p50 = Number(percentile(run.latenciesMs, 50).toFixed(3));
    const btreeShown = Number(btreeP50.toFixed(3));
    if (!run.targetReached || p50 >= btreeShown) {
      await dropPrefilterGraph(client, indexName);
      continue;
    }
    entries.push(own(run.value));
    const relfilenode = await indexStorage(client, indexName);
    facts.push({
      organizationId: candidate.organizationId,
      rows: candidate.rows,
      ...(relfilenode !== null ? { relfilenode } : {}),
      indexName,
      depth,
      efSearch: run.value,
      recall: Number(run.recall.toFixed(4)),
      latencyP50Ms: p50,
      prefilterP50Ms: btreeShown,
      ...(buildMs !== undefined ? { buildMs } : {}),
    });
  }
  await keepPrefilterGraphs(client, definition, entries, input.others);
  return { entries, facts, failures };
}

/** Lists `kept` graphs (and the other tables' and dimensions' entries) and drops this dimension's other ones. */
async function keepPrefilterGraphs(
  client: ClientBase,
  definition: IndexDefinition,
  kept: readonly PrefilterGraphEntry[],
  others: readonly PrefilterGraphEntry[],
): Promise<void> {
  await client.query(searchPrefilterGraphsSql([...others, ...kept]));
  const ofDimension = `${prefilterGraphPrefix(definition.table)}${definition.dimension}_`;
  const keep = new Set(kept.map((e) => e.indexName));
  for (const name of (await livePrefilterGraphs(client, definition.table)).keys()) {
    if (name.startsWith(ofDimension) && !keep.has(name)) await dropPrefilterGraph(client, name);
  }
}
