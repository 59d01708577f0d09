// What the release records about the search under the tenant filter, per vector index: the settings handed
// to the search functions and what each tenant-size class measured (core/search/calibrate-tenants.ts).
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA } from "../bookkeeping";
import { isoTime } from "../sql";
import type { TenantCalibration } from "./calibrate-tenants";

const TABLE = `${BOOKKEEPING_SCHEMA}.search_calibrations`;

export const SEARCH_BOOKKEEPING_DDL = `
CREATE TABLE IF NOT EXISTS ${TABLE} (
  index_name text PRIMARY KEY,
  exact_rows integer NOT NULL,
  search_setting text NOT NULL,
  search_value integer NOT NULL,
  target_recall double precision NOT NULL,
  target_reached boolean NOT NULL,
  classes jsonb NOT NULL,
  calibrated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE ${TABLE} ADD COLUMN IF NOT EXISTS tenant_indexes jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE ${TABLE} ADD COLUMN IF NOT EXISTS cost jsonb;
ALTER TABLE ${TABLE} ADD COLUMN IF NOT EXISTS prefilter jsonb;
ALTER TABLE ${TABLE} ADD COLUMN IF NOT EXISTS index_path_tenants jsonb;
`;

export interface SearchCalibrationRecord extends TenantCalibration {
  indexName: string;
  calibratedAt: string;
}

export async function saveSearchCalibration(
  client: ClientBase,
  indexName: string,
  c: TenantCalibration,
): Promise<void> {
  await client.query(
    `INSERT INTO ${TABLE} (index_name, exact_rows, search_setting, search_value, target_recall, target_reached, classes,
       tenant_indexes, cost, prefilter, index_path_tenants)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (index_name) DO UPDATE SET exact_rows = EXCLUDED.exact_rows, search_setting = EXCLUDED.search_setting,
       search_value = EXCLUDED.search_value, target_recall = EXCLUDED.target_recall,
       target_reached = EXCLUDED.target_reached, classes = EXCLUDED.classes,
       tenant_indexes = EXCLUDED.tenant_indexes, cost = EXCLUDED.cost, prefilter = EXCLUDED.prefilter,
       index_path_tenants = EXCLUDED.index_path_tenants, calibrated_at = now()`,
    [
      indexName,
      c.exactRows,
      c.setting,
      c.value,
      c.targetRecall,
      c.targetReached,
      JSON.stringify(c.classes),
      JSON.stringify(c.tenantIndexes ?? []),
      c.cost ? JSON.stringify(c.cost) : null,
      c.prefilter ? JSON.stringify(c.prefilter) : null,
      c.indexPathTenants ? JSON.stringify(c.indexPathTenants) : null,
    ],
  );
}

/** Whether the records' table exists: a database released before it has none. */
export const SEARCH_CALIBRATIONS_EXIST_SQL = `to_regclass('${TABLE}') IS NOT NULL`;

/** Every record as one jsonb array of rows, for the batched read of a release (core/batched-release.ts). */
export const SEARCH_CALIBRATIONS_JSON_SQL = `(SELECT coalesce(jsonb_agg(jsonb_build_object(
    'index_name', index_name, 'exact_rows', exact_rows, 'search_setting', search_setting,
    'search_value', search_value, 'target_recall', target_recall, 'target_reached', target_reached,
    'classes', classes, 'tenant_indexes', tenant_indexes, 'cost', cost, 'prefilter', prefilter, 'index_path_tenants', index_path_tenants, 'calibrated_at', ${isoTime("calibrated_at")}) ORDER BY index_name), '[]'::jsonb)
  FROM ${TABLE})`;

/** A row of the records' table, as either read path returns it. */
export interface SearchCalibrationRow {
  index_name: string;
  exact_rows: number;
  search_setting: TenantCalibration["setting"];
  search_value: number;
  target_recall: number;
  target_reached: boolean;
  classes: TenantCalibration["classes"];
  tenant_indexes?: NonNullable<TenantCalibration["tenantIndexes"]>;
  cost?: TenantCalibration["cost"] | null;
  prefilter?: TenantCalibration["prefilter"] | null;
  index_path_tenants?: string[] | null;
  calibrated_at: Date | string;
}

export function searchCalibrationFromRow(r: SearchCalibrationRow): SearchCalibrationRecord {
  return {
    indexName: r.index_name,
    exactRows: r.exact_rows,
    setting: r.search_setting,
    value: r.search_value,
    targetRecall: r.target_recall,
    targetReached: r.target_reached,
    classes: r.classes,
    tenantIndexes: r.tenant_indexes ?? [],
    ...(r.cost ? { cost: r.cost } : {}),
    ...(r.prefilter ? { prefilter: r.prefilter } : {}),
    ...(r.index_path_tenants ? { indexPathTenants: r.index_path_tenants } : {}),
    calibratedAt: typeof r.calibrated_at === "string" ? r.calibrated_at : r.calibrated_at.toISOString(),
  };
}

/** Every record; none when the bookkeeping table does not exist yet (a database released before it). */
export async function readSearchCalibrations(client: ClientBase): Promise<SearchCalibrationRecord[]> {
  const exists = await client.query<{ t: boolean }>(`SELECT ${SEARCH_CALIBRATIONS_EXIST_SQL} AS t`);
  if (!exists.rows[0]?.t) return [];
  const result = await client.query<SearchCalibrationRow>(`SELECT * FROM ${TABLE} ORDER BY index_name`);
  return result.rows.map(searchCalibrationFromRow);
}

/** One line for `status`, `plan` and `health`: what a missed target is. */
export function missedTargets(c: TenantCalibration): string | undefined {
  const missed = c.classes.filter((m) => !m.targetReached);
  if (missed.length === 0) return undefined;
  return (
    `search under the tenant filter misses recall@10 ${c.targetRecall} for ` +
    missed
      .map(
        (m) =>
          `${m.class} tenants (${m.tenantRows} rows, ${m.kind} queries: recall ${m.recall}, at least ${m.recallLowerBound}, ${m.rowsMin} rows at least)`,
      )
      .join("; ")
  );
}
