// The indexes the search functions list for single tenants (search_tenant_indexes(): a large tenant's own
// HNSW index; search_prefilter_graphs(): a graph over a tenant's sign bits), each with whether it is there
// and valid now. A listed index that was dropped outside the release, or left INVALID by an interrupted
// REINDEX CONCURRENTLY, is one the planner cannot use: the tenant's search still takes that path (the list
// says so, uncounted) and lands on the dimension's index, whose setting was calibrated for other tenants
// (on search-messages.test.ts's corpus, a tenant's index dropped and still listed: recall 0.7-0.8 on some
// queries of one of its spaces). The vector-index step plans a recalibration for it, which builds it again
// if the tenant still gets one, or takes it off the list (calibrate-tenants.ts).
//
// Nor is a listed index's tenant counted at search time (a graph's count cost 2 ms): an index calibrated on a
// tenant that has grown since is searched at the same settings over more rows, and its recall falls unseen
// (HNSW at a fixed ef_search: RECALIBRATE_FACTOR). So the read also takes each listed index's tenant's rows
// now, and a tenant grown by a quarter plans a recalibration too: a graph's tenant counted from the
// prefilter's b-tree, a tenant with an index of its own from PostgreSQL's estimate of that index's rows.
import type { ClientBase } from "pg";
import { formatCount, rowsText } from "../count-format";
import { literal } from "../sql";
import { RECALIBRATE_FACTOR, REBUILT_SINCE_CALIBRATION } from "../vector-indexes/decide";
import { quoteIdent } from "../vector-indexes/spec";
import { isPrefilterTable, prefilterTables } from "./prefilter";
import { indexRowsEstimateSql, indexStorageSql } from "./tenant-indexes";

export type ListedIndexState = "valid" | "INVALID" | "missing";

/**
 * A listed index's tenant grown by a quarter is recalibrated: both kinds are HNSW indexes, and this is HNSW's
 * growth rule (RECALIBRATE_FACTOR.hnsw). Measured for a graph on the benchmark's largest tenant (19,331 rows,
 * depth 80, ef_search 302 as calibrated), grown with new draws of its own topics, 50 table-wide held-out
 * queries: a recall@10 lower bound of 0.969 as calibrated, 0.945 at 1.5 times the rows, 0.918 at 2; in a
 * second series 0.954 as calibrated, 0.938 at 1.25 (own-topic queries: 1.0 throughout).
 */
const LISTED_RECALIBRATE_FACTOR = RECALIBRATE_FACTOR.hnsw;

export interface ListedIndex {
  table: string;
  dimension: number;
  organizationId: string;
  indexName: string;
  kind: "own index" | "graph over its sign bits";
  state: ListedIndexState;
  /**
   * The tenant's rows of the dimension now: a graph's counted (its sign bits), an own index's PostgreSQL's
   * estimate of the index's rows (`rowsEstimated`); null when the index is gone, or not readable.
   */
  rowsNow: number | null;
  /** rowsNow is the index's pg_class.reltuples, PostgreSQL's estimate (what sets it: rowsNowSql). */
  rowsEstimated?: boolean;
  /** The index's storage now (pg_class.relfilenode), compared with its calibration's; null when it is gone. */
  relfilenode?: number | null;
}

/**
 * A listed index's tenant's rows of the dimension. A graph's: an index-only scan of the prefilter's b-tree (rows
 * with sign bits of the dimension's length are the embedded ones), a few ms for the largest tenants. An own
 * index's: its reltuples, which costs nothing, as `"Message"` has no sign bits and counting its embedded rows
 * would read each row's page. PostgreSQL sets it when the index is built, at a plain ANALYZE of the table
 * (autovacuum analyzes "Chunk" and "Message" once 2% of their rows changed, migration 20250126001500: a tenant
 * of a tenth of the rows growing alone is planned by about 1.4 times its rows at the latest), and at a VACUUM
 * that passes over the index (not one that skips it for a few dead rows).
 */
function rowsNowSql(countable: readonly string[]): string {
  const tables = countable.filter(isPrefilterTable);
  const cases = tables.map(
    (table) =>
      `WHEN ${literal(table)} THEN (SELECT count(*) FROM ${quoteIdent(table)} c
        WHERE c."organizationId" = l.organization_id AND c."embeddingBits" IS NOT NULL
          AND length(c."embeddingBits") = l.dims)`,
  );
  const graphRows = tables.length === 0 ? "NULL" : `CASE l.table_name ${cases.join(" ")} END`;
  return `CASE WHEN l.kind = 'graph over its sign bits' THEN ${graphRows}
            ELSE ${indexRowsEstimateSql("x.indexrelid")} END`;
}

/**
 * Which of the two lists the database has (its migrations may stop before either), and which prefilter tables
 * the release's role may read to count a graph's tenant, as a jsonb object. PostgreSQL checks a statement's
 * table privileges before it runs any of it, so a count of a table the role may not read (an adopted
 * database's tables owned by another login) must be left out of the statement's text, not skipped in it.
 */
export const LISTED_INDEXES_PROBE_SQL = `jsonb_build_object(
  'tenantIndexes', to_regprocedure('search_tenant_indexes()') IS NOT NULL,
  'graphs', to_regprocedure('search_prefilter_graphs()') IS NOT NULL,
  'countable', (SELECT coalesce(jsonb_agg(t), '[]'::jsonb) FROM unnest(ARRAY[${prefilterTables()
    .map((t) => literal(t))
    .join(", ")}]::text[]) t
    WHERE to_regclass(quote_ident(t)) IS NOT NULL AND has_table_privilege(to_regclass(quote_ident(t)), 'SELECT')))`;

export interface ListedIndexesProbe {
  tenantIndexes: boolean;
  graphs: boolean;
  /** The prefilter tables the role may read, whose graphs' tenants the read counts (none when absent). */
  countable?: string[];
}

/**
 * The tables whose graphs' tenants the read counts: none without the graphs' list. A database whose migrations
 * stop before it (one reverted past migration 20261203180000, or 20261203120000, whose Down section drops the
 * sign bits' column) has no graph to count, and a count naming "embeddingBits" would fail the whole statement
 * where the column is gone: PostgreSQL resolves every branch of the CASE, taken or not.
 */
function graphsCountable(probe: ListedIndexesProbe | undefined): readonly string[] {
  return probe?.graphs ? (probe.countable ?? []) : [];
}

/**
 * Every listed index with its state, as one jsonb array (for the batched read of a release); only the lists the
 * probe found are read, as naming a function that does not exist fails the whole statement.
 */
export function listedIndexesJsonSql(probe: ListedIndexesProbe | undefined): string {
  const lists = [
    probe?.tenantIndexes
      ? `SELECT table_name, dims, organization_id, index_name, 'own index' AS kind FROM search_tenant_indexes()`
      : undefined,
    probe?.graphs
      ? `SELECT table_name, dims, organization_id, index_name, 'graph over its sign bits' AS kind FROM search_prefilter_graphs()`
      : undefined,
  ].filter((sql): sql is string => sql !== undefined);
  if (lists.length === 0) return "'[]'::jsonb";
  return `(SELECT coalesce(jsonb_agg(jsonb_build_object(
            'table', l.table_name, 'dimension', l.dims, 'organizationId', l.organization_id,
            'indexName', l.index_name, 'kind', l.kind, 'rowsNow', ${rowsNowSql(graphsCountable(probe))},
            'rowsEstimated', l.kind = 'own index',
            'relfilenode', ${indexStorageSql("x.indexrelid")},
            'state', CASE WHEN x.indexrelid IS NULL THEN 'missing' WHEN x.indisvalid THEN 'valid' ELSE 'INVALID' END)
            ORDER BY l.index_name), '[]'::jsonb)
     FROM (${lists.join(" UNION ALL ")}) l
     LEFT JOIN pg_index x ON x.indexrelid = to_regclass(quote_ident(l.index_name)))`;
}

/** The listed indexes and their states, read now. */
export async function readListedIndexes(client: ClientBase): Promise<ListedIndex[]> {
  const probe = await client.query<{ p: ListedIndexesProbe }>(`SELECT ${LISTED_INDEXES_PROBE_SQL} AS p`);
  const listed = await client.query<{ l: ListedIndex[] }>(
    `SELECT ${listedIndexesJsonSql(probe.rows[0]?.p)} AS l`,
  );
  return listed.rows[0]?.l ?? [];
}

/** Those of one table and dimension the planner cannot use, said for a plan's reason; undefined if none. */
export function unusableListedIndexes(
  listed: readonly ListedIndex[],
  table: string,
  dimension: number,
): string | undefined {
  const unusable = listed.filter(
    (l) => l.table === table && l.dimension === dimension && l.state !== "valid",
  );
  if (unusable.length === 0) return undefined;
  return unusable
    .map(
      (l) =>
        `the ${l.kind} of tenant ${l.organizationId} that the search lists, ${l.indexName}, is ` +
        (l.state === "missing" ? "missing (dropped outside the release)" : "INVALID (an interrupted build)"),
    )
    .join("; ");
}

/**
 * The rows each listed index's tenant had when the release calibrated it, and the index's storage then
 * (`relfilenode`, absent in records made before it), as its record keeps them.
 */
export interface CalibratedTenantRows {
  graphs: readonly { organizationId: string; rows: number; relfilenode?: number }[];
  /** With the index's estimate then (`estimatedRows`), which an own index's estimate now is compared with. */
  ownIndexes: readonly {
    organizationId: string;
    rows: number;
    estimatedRows?: number;
    relfilenode?: number;
  }[];
}

/** The record's facts of a listed index: its tenant's graph or own index, by the list it is on. */
function calibratedFacts(
  calibrated: CalibratedTenantRows,
  l: ListedIndex,
): { rows: number; estimatedRows?: number; relfilenode?: number } | undefined {
  return (l.kind === "own index" ? calibrated.ownIndexes : calibrated.graphs).find(
    (g) => g.organizationId === l.organizationId,
  );
}

/**
 * The listed indexes of one table and dimension whose tenant has grown LISTED_RECALIBRATE_FACTOR times the rows
 * its calibration measured (`calibrated`, the record's), said for a plan's reason; undefined if none.
 */
export function outgrownListedIndexes(
  listed: readonly ListedIndex[],
  calibrated: CalibratedTenantRows,
  table: string,
  dimension: number,
): string | undefined {
  const outgrown = listed.flatMap((l) => {
    if (l.table !== table || l.dimension !== dimension || l.rowsNow === null) return [];
    const facts = calibratedFacts(calibrated, l);
    if (!facts) return [];
    // An estimate is compared with the estimate of its calibration where the record has one: a count that
    // the estimate lags behind (rows deleted and not yet vacuumed) would otherwise read as growth.
    const then = l.rowsEstimated ? (facts.estimatedRows ?? facts.rows) : facts.rows;
    if (l.rowsNow < LISTED_RECALIBRATE_FACTOR * Math.max(1, then)) return [];
    const calibratedOn =
      l.rowsEstimated && facts.estimatedRows !== undefined && facts.estimatedRows !== facts.rows
        ? `${rowsText(facts.rows)} (PostgreSQL's estimate then ${formatCount(facts.estimatedRows)})`
        : rowsText(facts.rows);
    const now = l.rowsEstimated
      ? `about ${formatCount(l.rowsNow)} now (PostgreSQL's estimate, pg_class.reltuples)`
      : `${formatCount(l.rowsNow)} now`;
    return [
      `the ${l.kind} of tenant ${l.organizationId}, ${l.indexName}, was calibrated on ${calibratedOn}, ` +
        `and the tenant has ${now}`,
    ];
  });
  return outgrown.length === 0 ? undefined : outgrown.join("; ");
}

/**
 * The listed indexes of one table and dimension built again since their calibration (a REINDEX of that index
 * alone, say: a table rewrite or a restore builds the dimension's index again too, which recalibrates them all),
 * said for a plan's reason; undefined if none. Their ef_search was measured on the graph the REINDEX replaced,
 * as a dimension's index's setting is (decide.ts, rebuiltSinceCalibration). A record without the storage decides
 * nothing.
 */
export function rebuiltListedIndexes(
  listed: readonly ListedIndex[],
  calibrated: CalibratedTenantRows,
  table: string,
  dimension: number,
): string | undefined {
  const rebuilt = listed.flatMap((l) => {
    if (l.table !== table || l.dimension !== dimension || l.state !== "valid") return [];
    const then = calibratedFacts(calibrated, l)?.relfilenode;
    if (then === undefined || l.relfilenode == null || l.relfilenode === then) return [];
    return [`the ${l.kind} of tenant ${l.organizationId}, ${l.indexName}, was ${REBUILT_SINCE_CALIBRATION}`];
  });
  return rebuilt.length === 0 ? undefined : rebuilt.join("; ");
}
