// What each seed set wrote, kept in the release engine's schema: the set's checksum, and the key of every
// row it owns. The row keys are how a row removed from a seed file gets deleted from the database, and the
// only rows a seed set ever deletes.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA } from "../bookkeeping";

const SETS = `${BOOKKEEPING_SCHEMA}.seed_sets`;
const ROWS = `${BOOKKEEPING_SCHEMA}.seed_rows`;

export const SEED_BOOKKEEPING_DDL = `
CREATE TABLE IF NOT EXISTS ${SETS} (
  name text PRIMARY KEY,
  checksum text NOT NULL,
  row_count integer NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  applied_by text NOT NULL DEFAULT current_user
);
CREATE TABLE IF NOT EXISTS ${ROWS} (
  seed_set text NOT NULL REFERENCES ${SETS} (name) ON DELETE CASCADE,
  table_name text NOT NULL,
  row_key jsonb NOT NULL,
  -- Where the row's table comes in the set: rows are written in this order and deleted in reverse.
  position integer NOT NULL,
  PRIMARY KEY (seed_set, table_name, row_key)
);
`;

export interface SeedSetRecord {
  name: string;
  checksum: string;
  rowCount: number;
  appliedAt: string;
  appliedBy: string;
}

export interface RecordedRow {
  table: string;
  key: Record<string, unknown>;
  position: number;
}

/** Whether this database has the seed bookkeeping tables (plan and status must not create them). */
export async function seedRecordsExist(client: ClientBase): Promise<boolean> {
  const result = await client.query<{ exists: boolean }>(
    "SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL AS exists",
    [SETS, ROWS],
  );
  return result.rows[0]?.exists === true;
}

export async function readSeedSetRecords(client: ClientBase, name?: string): Promise<SeedSetRecord[]> {
  const result = await client.query<{
    name: string;
    checksum: string;
    row_count: number;
    applied_at: Date;
    applied_by: string;
  }>(
    `SELECT name, checksum, row_count, applied_at, applied_by FROM ${SETS}
      WHERE $1::text IS NULL OR name = $1 ORDER BY name`,
    [name ?? null],
  );
  return result.rows.map((r) => ({
    name: r.name,
    checksum: r.checksum,
    rowCount: r.row_count,
    appliedAt: r.applied_at.toISOString(),
    appliedBy: r.applied_by,
  }));
}

export async function readRecordedRows(client: ClientBase, name: string): Promise<RecordedRow[]> {
  const result = await client.query<{
    table_name: string;
    row_key: Record<string, unknown>;
    position: number;
  }>(`SELECT table_name, row_key, position FROM ${ROWS} WHERE seed_set = $1 ORDER BY position, table_name`, [
    name,
  ]);
  return result.rows.map((r) => ({ table: r.table_name, key: r.row_key, position: r.position }));
}

export interface SeedSetRecordChange {
  name: string;
  checksum: string;
  rowCount: number;
  /** Every row the set now owns. */
  rows: RecordedRow[];
  /** Rows the set no longer owns. */
  forget: RecordedRow[];
}

/** Records a set's new state. Rows already recorded with the same position are left untouched. */
export async function writeSeedSetRecord(client: ClientBase, change: SeedSetRecordChange): Promise<void> {
  await client.query(
    `INSERT INTO ${SETS} AS s (name, checksum, row_count) VALUES ($1, $2, $3)
     ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, row_count = EXCLUDED.row_count,
       applied_at = now(), applied_by = current_user`,
    [change.name, change.checksum, change.rowCount],
  );
  if (change.forget.length) {
    await client.query(
      `DELETE FROM ${ROWS} r USING jsonb_to_recordset($2::jsonb) AS f(table_name text, row_key jsonb)
        WHERE r.seed_set = $1 AND r.table_name = f.table_name AND r.row_key = f.row_key`,
      [change.name, JSON.stringify(change.forget.map((r) => ({ table_name: r.table, row_key: r.key })))],
    );
  }
  await client.query(
    `INSERT INTO ${ROWS} AS r (seed_set, table_name, row_key, position)
     SELECT $1, n.table_name, n.row_key, n.position
       FROM jsonb_to_recordset($2::jsonb) AS n(table_name text, row_key jsonb, position integer)
     ON CONFLICT (seed_set, table_name, row_key) DO UPDATE SET position = EXCLUDED.position
       WHERE r.position IS DISTINCT FROM EXCLUDED.position`,
    [
      change.name,
      JSON.stringify(change.rows.map((r) => ({ table_name: r.table, row_key: r.key, position: r.position }))),
    ],
  );
}
