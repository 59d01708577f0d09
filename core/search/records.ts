// What the release records about the search under the tenant filter, per vector index: the settings handed
// to the search functions and what each tenant-size class measured (core/search/calibrate-tenants.ts).
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA } from "../bookkeeping";
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
    `INSERT INTO ${TABLE} (index_name, exact_rows, search_setting, search_value, target_recall, target_reached, classes)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (index_name) DO UPDATE SET exact_rows = EXCLUDED.exact_rows, search_setting = EXCLUDED.search_setting,
       search_value = EXCLUDED.search_value, target_recall = EXCLUDED.target_recall,
       target_reached = EXCLUDED.target_reached, classes = EXCLUDED.classes, calibrated_at = now()`,
    [indexName, c.exactRows, c.setting, c.value, c.targetRecall, c.targetReached, JSON.stringify(c.classes)],
  );
}

/** Every record; none when the bookkeeping table does not exist yet (a database released before it). */
export async function readSearchCalibrations(client: ClientBase): Promise<SearchCalibrationRecord[]> {
  const exists = await client.query<{ t: string | null }>("SELECT to_regclass($1) AS t", [TABLE]);
  if (!exists.rows[0]?.t) return [];
  const result = await client.query<{
    index_name: string;
    exact_rows: number;
    search_setting: TenantCalibration["setting"];
    search_value: number;
    target_recall: number;
    target_reached: boolean;
    classes: TenantCalibration["classes"];
    calibrated_at: Date;
  }>(`SELECT * FROM ${TABLE} ORDER BY index_name`);
  return result.rows.map((r) => ({
    indexName: r.index_name,
    exactRows: r.exact_rows,
    setting: r.search_setting,
    value: r.search_value,
    targetRecall: r.target_recall,
    targetReached: r.target_reached,
    classes: r.classes,
    calibratedAt: r.calibrated_at.toISOString(),
  }));
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
