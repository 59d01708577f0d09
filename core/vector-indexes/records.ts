// What the release records about each vector index it built: how (method, parameters, memory, workers), on
// how many rows, and the search setting its calibration chose. `plan` compares the table against it.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA } from "../bookkeeping";
import type { IndexMethod, IndexParams } from "./spec";

const TABLE = `${BOOKKEEPING_SCHEMA}.vector_indexes`;

/**
 * The cluster the database runs on, as an SQL expression of text: pg_control_system()'s system identifier,
 * which initdb makes and every physical copy keeps (a replica, a base backup, a volume snapshot), while a
 * pg_dump restored into another cluster runs on that cluster's. NULL where the login may not run the function
 * (a managed service can revoke it), which then decides nothing. A relfilenode says which storage an index
 * has within one cluster only: another cluster's counter can hand a restored index the number the recorded one
 * had, by chance, and the storage check would take the rebuilt index for the calibrated one.
 */
export const CLUSTER_IDENTITY_SQL = `(CASE WHEN has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
  THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) END)`;

/**
 * A record's storage as this cluster can compare it, as jsonb to lay over the record's row `v` (SQL): -1, which
 * no index has, when the record's relfilenode was taken on another cluster (CLUSTER_IDENTITY_SQL), so that its
 * index reads as built again (decide.ts, rebuiltSinceCalibration); nothing otherwise. Read through the row's
 * jsonb, as the records of an earlier release have neither column.
 */
function storageOnThisClusterSql(v: string): string {
  return `CASE WHEN to_jsonb(${v})->>'index_relfilenode' IS NOT NULL
                AND to_jsonb(${v})->>'index_cluster' <> ${CLUSTER_IDENTITY_SQL}
           THEN '{"index_relfilenode": -1}'::jsonb ELSE '{}'::jsonb END`;
}

export const VECTOR_INDEX_BOOKKEEPING_DDL = `
CREATE TABLE IF NOT EXISTS ${TABLE} (
  name text PRIMARY KEY,
  table_name text NOT NULL,
  dimension integer NOT NULL,
  method text NOT NULL,
  operator_class text NOT NULL,
  params jsonb NOT NULL,
  definition text NOT NULL,
  rows_at_build bigint NOT NULL,
  built_at timestamptz NOT NULL,
  build_ms integer NOT NULL,
  build_settings jsonb NOT NULL,
  search_setting text NOT NULL,
  search_value integer NOT NULL,
  target_recall double precision NOT NULL,
  recall double precision NOT NULL,
  recall_lower_bound double precision NOT NULL,
  target_reached boolean NOT NULL,
  latency_p50_ms double precision NOT NULL,
  latency_p95_ms double precision NOT NULL,
  exact_p50_ms double precision NOT NULL,
  calibration_queries integer NOT NULL,
  rows_at_calibration bigint NOT NULL,
  calibrated_at timestamptz NOT NULL,
  built_by text NOT NULL DEFAULT current_user
);
-- Records made before the calibration measured held-out queries were measured on rows of the table.
ALTER TABLE ${TABLE} ADD COLUMN IF NOT EXISTS calibration_query_source text NOT NULL DEFAULT 'rows';
-- The index's storage (pg_class.relfilenode) when it was built or last calibrated: a table rewrite or a REINDEX
-- gives it new storage, and the calibrated setting was measured on the index it replaced. A record made before
-- the column takes the storage the index has when this runs (the first apply after the upgrade that changes
-- something), so that the upgrade recalibrates nothing; a rewrite before it goes unseen.
ALTER TABLE ${TABLE} ADD COLUMN IF NOT EXISTS index_relfilenode bigint;
UPDATE ${TABLE} v SET index_relfilenode = ${indexRelfilenodeSql("v.name", "v.table_name")}
 WHERE v.index_relfilenode IS NULL;
-- The cluster that storage was on (CLUSTER_IDENTITY_SQL): taken the same way for records made before it.
ALTER TABLE ${TABLE} ADD COLUMN IF NOT EXISTS index_cluster text;
UPDATE ${TABLE} v SET index_cluster = ${CLUSTER_IDENTITY_SQL} WHERE v.index_cluster IS NULL;
`;

/**
 * The storage of the index `name` on the table `table` (SQL expressions of text): NULL when it does not exist.
 * One definition for the records' writes and status's live read (RECORDED_INDEX_STORAGE_SQL); the plan reads
 * the live storage with the table's indexes (inventory.ts), by the same pg_class column.
 */
export function indexRelfilenodeSql(name: string, table: string): string {
  return `(SELECT c.relfilenode::bigint FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE c.relname = ${name} AND i.indrelid = to_regclass(quote_ident(${table})))`;
}

/** How a build ran: the settings it was given. */
export interface BuildSettings {
  maintenanceWorkMemMb: number;
  parallelWorkers: number;
  /** Workers PostgreSQL reported it launched, when it said. */
  parallelWorkersLaunched?: number;
  concurrently: boolean;
}

export interface Calibration {
  setting: "ivfflat.probes" | "hnsw.ef_search";
  value: number;
  targetRecall: number;
  /** Mean recall@10 of the sampled queries at `value`... */
  recall: number;
  /** ...and the lower bound of its one-sided 95% confidence interval (what must reach the target). */
  recallLowerBound: number;
  targetReached: boolean;
  latencyP50Ms: number;
  latencyP95Ms: number;
  /** The same queries as exact searches (no index), for comparison. */
  exactP50Ms: number;
  queries: number;
  /** What the queries were: held out (held-out.ts), or rows of the table (records of older releases, whose
   * recall flattered the index: decide.ts recalibrates them), or none: the build recorded before its first
   * calibration, which an apply stopped before (decide.ts calibrates it, rather than building it again). */
  querySource: CalibrationQuerySource;
  rows: number;
}

export type CalibrationQuerySource = "held-out" | "rows" | "none";

export interface IndexRecord {
  name: string;
  table: string;
  dimension: number;
  method: IndexMethod;
  operatorClass: string;
  params: IndexParams;
  /** pg_get_indexdef right after the build: a different live definition means someone changed it. */
  definition: string;
  rowsAtBuild: number;
  builtAt: string;
  buildMs: number;
  buildSettings: BuildSettings;
  calibration: Calibration;
  builtBy: string;
  /**
   * The index's pg_class.relfilenode when it was built or last calibrated, -1 when that was on another cluster
   * (storageOnThisClusterSql); absent in a record nothing has written it to yet (the bookkeeping's upgrade fills
   * it), which decides nothing.
   */
  relfilenode?: number;
}

export interface RecordRow {
  name: string;
  table_name: string;
  dimension: number;
  method: IndexMethod;
  operator_class: string;
  params: IndexParams;
  definition: string;
  rows_at_build: string;
  built_at: Date;
  build_ms: number;
  build_settings: BuildSettings;
  search_setting: Calibration["setting"];
  search_value: number;
  target_recall: number;
  recall: number;
  recall_lower_bound: number;
  target_reached: boolean;
  latency_p50_ms: number;
  latency_p95_ms: number;
  exact_p50_ms: number;
  calibration_queries: number;
  calibration_query_source: CalibrationQuerySource;
  rows_at_calibration: string;
  built_by: string;
  /** NULL while the index is missing; absent before the bookkeeping's upgrade (bigint: text from the driver). */
  index_relfilenode?: string | number | null;
}

export async function indexRecordsExist(client: ClientBase): Promise<boolean> {
  const result = await client.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [TABLE]);
  return result.rows[0]?.ok === true;
}

/**
 * The records as one jsonb array, each with its storage as this cluster compares it (storageOnThisClusterSql), for
 * the release's batched reads (core/steps.ts StepBatch) and readIndexRecords.
 */
export const INDEX_RECORDS_JSON_SQL = `(SELECT coalesce(jsonb_agg(to_jsonb(v) || ${storageOnThisClusterSql("v")}
     ORDER BY v.table_name, v.name), '[]'::jsonb)
   FROM ${TABLE} v)`;

export async function readIndexRecords(client: ClientBase): Promise<IndexRecord[]> {
  if (!(await indexRecordsExist(client))) return [];
  const result = await client.query<{ r: (Omit<RecordRow, "built_at"> & { built_at: string })[] }>(
    `SELECT ${INDEX_RECORDS_JSON_SQL} AS r`,
  );
  return (result.rows[0]?.r ?? []).map(indexRecordFromRow);
}

/** The live validity of each recorded index, by name, as one jsonb object. */
export const RECORDED_INDEX_VALIDITY_SQL = `(SELECT coalesce(jsonb_object_agg(c.relname, i.indisvalid), '{}'::jsonb)
   FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname IN (SELECT name FROM ${TABLE}))`;

/** The live storage (pg_class.relfilenode) of each recorded index, by name, as one jsonb object. */
export const RECORDED_INDEX_STORAGE_SQL = `(SELECT coalesce(jsonb_object_agg(v.name, ${indexRelfilenodeSql("v.name", "v.table_name")}), '{}'::jsonb)
   FROM ${TABLE} v)`;

/** A row of the records table, as read by the driver or as jsonb (timestamps then come as text). */
export function indexRecordFromRow(
  r: RecordRow | (Omit<RecordRow, "built_at"> & { built_at: string }),
): IndexRecord {
  return {
    name: r.name,
    table: r.table_name,
    dimension: r.dimension,
    method: r.method,
    operatorClass: r.operator_class,
    params: r.params,
    definition: r.definition,
    rowsAtBuild: Number(r.rows_at_build),
    builtAt: new Date(r.built_at).toISOString(),
    buildMs: r.build_ms,
    buildSettings: r.build_settings,
    calibration: {
      setting: r.search_setting,
      value: r.search_value,
      targetRecall: r.target_recall,
      recall: r.recall,
      recallLowerBound: r.recall_lower_bound,
      targetReached: r.target_reached,
      latencyP50Ms: r.latency_p50_ms,
      latencyP95Ms: r.latency_p95_ms,
      exactP50Ms: r.exact_p50_ms,
      queries: r.calibration_queries,
      querySource: r.calibration_query_source,
      rows: Number(r.rows_at_calibration),
    },
    builtBy: r.built_by,
    ...(r.index_relfilenode != null ? { relfilenode: Number(r.index_relfilenode) } : {}),
  };
}

/** Records a build and its calibration (replacing what the name had). */
export async function saveBuildRecord(
  client: ClientBase,
  record: Omit<IndexRecord, "builtAt" | "builtBy" | "relfilenode">,
): Promise<void> {
  const c = record.calibration;
  await client.query(
    `INSERT INTO ${TABLE} (name, table_name, dimension, method, operator_class, params, definition,
       rows_at_build, built_at, build_ms, build_settings, search_setting, search_value, target_recall, recall,
       recall_lower_bound, target_reached, latency_p50_ms, latency_p95_ms, exact_p50_ms, calibration_queries,
       rows_at_calibration, calibrated_at, built_by, calibration_query_source, index_relfilenode, index_cluster)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now(), $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
       $21, now(), current_user, $22, ${indexRelfilenodeSql("$1::text", "$2::text")}, ${CLUSTER_IDENTITY_SQL})
     ON CONFLICT (name) DO UPDATE SET table_name = EXCLUDED.table_name, dimension = EXCLUDED.dimension,
       method = EXCLUDED.method, operator_class = EXCLUDED.operator_class, params = EXCLUDED.params,
       definition = EXCLUDED.definition, rows_at_build = EXCLUDED.rows_at_build, built_at = now(),
       build_ms = EXCLUDED.build_ms, build_settings = EXCLUDED.build_settings,
       search_setting = EXCLUDED.search_setting, search_value = EXCLUDED.search_value,
       target_recall = EXCLUDED.target_recall, recall = EXCLUDED.recall,
       recall_lower_bound = EXCLUDED.recall_lower_bound, target_reached = EXCLUDED.target_reached, latency_p50_ms = EXCLUDED.latency_p50_ms,
       latency_p95_ms = EXCLUDED.latency_p95_ms, exact_p50_ms = EXCLUDED.exact_p50_ms,
       calibration_queries = EXCLUDED.calibration_queries, rows_at_calibration = EXCLUDED.rows_at_calibration,
       calibrated_at = now(), built_by = current_user,
       calibration_query_source = EXCLUDED.calibration_query_source,
       index_relfilenode = EXCLUDED.index_relfilenode, index_cluster = EXCLUDED.index_cluster`,
    [
      record.name,
      record.table,
      record.dimension,
      record.method,
      record.operatorClass,
      JSON.stringify(record.params),
      record.definition,
      record.rowsAtBuild,
      record.buildMs,
      JSON.stringify(record.buildSettings),
      ...calibrationParams(c),
    ],
  );
}

/** A calibration's fields, in the order saveBuildRecord and saveCalibration list its columns. */
function calibrationParams(c: Calibration): unknown[] {
  return [
    c.setting,
    c.value,
    c.targetRecall,
    c.recall,
    c.recallLowerBound,
    c.targetReached,
    c.latencyP50Ms,
    c.latencyP95Ms,
    c.exactP50Ms,
    c.queries,
    c.rows,
    c.querySource,
  ];
}

/**
 * Records a new calibration of an index that was not rebuilt by a release, with the storage it was measured on
 * (a table rewrite or a REINDEX may have rebuilt it since its record).
 */
export async function saveCalibration(client: ClientBase, name: string, c: Calibration): Promise<void> {
  await client.query(
    `UPDATE ${TABLE} v SET search_setting = $2, search_value = $3, target_recall = $4, recall = $5,
       recall_lower_bound = $6, target_reached = $7, latency_p50_ms = $8, latency_p95_ms = $9,
       exact_p50_ms = $10, calibration_queries = $11, rows_at_calibration = $12, calibrated_at = now(),
       calibration_query_source = $13, index_relfilenode = ${indexRelfilenodeSql("v.name", "v.table_name")},
       index_cluster = ${CLUSTER_IDENTITY_SQL}
     WHERE v.name = $1`,
    [name, ...calibrationParams(c)],
  );
}
