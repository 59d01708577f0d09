// The settings a release applied, recorded in the engine's schema: one row per section (today the vector
// indexes; the row-level security mode keeps its own record). A run that is given no setting for a section
// (the CLI without --config or --set) plans and applies with what the database records, so `neonhub-db plan`
// against a database that `pulumi up` released sees the stack's settings, and a deliberate change shows as
// "setting vectorIndexes.method: hnsw -> ivfflat".
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA } from "./bookkeeping";
import { resolvedSettings, type VectorIndexOptions } from "./vector-indexes/options";

const TABLE = `${BOOKKEEPING_SCHEMA}.release_settings`;

export const RELEASE_SETTINGS_DDL = `
CREATE TABLE IF NOT EXISTS ${TABLE} (
  section text PRIMARY KEY,
  value jsonb NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  applied_by text NOT NULL DEFAULT current_user
);
`;

export type SettingsSection = "vectorIndexes";

/** Whether the record's table exists (for the batched read of a release: core/batched-release.ts). */
export const RELEASE_SETTINGS_EXIST_SQL = `to_regclass('${TABLE}') IS NOT NULL`;

/** The recorded value of `section` as a jsonb expression (null when none), for the batched read. */
export function recordedSettingsSql(section: SettingsSection): string {
  return `(SELECT value FROM ${TABLE} WHERE section = '${section}')`;
}

/** What the database records for `section`; undefined before the first release that recorded it. */
export async function readRecordedSettings(
  client: ClientBase,
  section: SettingsSection,
): Promise<Record<string, unknown> | undefined> {
  const exists = await client.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [TABLE]);
  if (!exists.rows[0]?.ok) return undefined;
  const { rows } = await client.query<{ value: Record<string, unknown> }>(
    `SELECT value FROM ${TABLE} WHERE section = $1`,
    [section],
  );
  return rows[0]?.value;
}

/** Records the settings a release applied; writes nothing when they are already recorded. */
export async function recordSettings(
  client: ClientBase,
  section: SettingsSection,
  value: Record<string, unknown>,
): Promise<void> {
  await client.query(
    `INSERT INTO ${TABLE} (section, value) VALUES ($1, $2)
     ON CONFLICT (section) DO UPDATE SET value = EXCLUDED.value, applied_at = now(), applied_by = current_user
     WHERE ${TABLE}.value IS DISTINCT FROM EXCLUDED.value`,
    [section, JSON.stringify(value)],
  );
}

/** Every leaf of a settings object, by its dotted path: {"indexes.idx_chunk_embedding_cosine.method": "hnsw"}. */
export function flattenSettings(value: unknown, prefix = ""): Map<string, unknown> {
  const leaves = new Map<string, unknown>();
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) {
      for (const [path, leaf] of flattenSettings(child, prefix ? `${prefix}.${key}` : key))
        leaves.set(path, leaf);
    }
  } else if (prefix) {
    leaves.set(prefix, value);
  }
  return leaves;
}

/**
 * How a section's settings resolve, leaf by leaf: the value the release uses. A document that does not
 * resolve (a record an older release wrote in another shape) is compared as written.
 */
function resolver(section: SettingsSection, settings: unknown): (path: string) => unknown {
  switch (section) {
    case "vectorIndexes":
      try {
        return resolvedSettings((settings ?? {}) as VectorIndexOptions);
      } catch {
        const leaves = flattenSettings(settings);
        return (path) => leaves.get(path);
      }
  }
}

/**
 * "setting vectorIndexes.method: hnsw -> ivfflat", one line per setting whose resolved value differs, shown
 * as each side wrote it: 1024 for a recorded "1GB", or an index's own method equal to every index's, is no
 * change.
 */
export function settingChanges(section: SettingsSection, before: unknown, after: unknown): string[] {
  const old = flattenSettings(before);
  const now = flattenSettings(after);
  const was = resolver(section, before);
  const is = resolver(section, after);
  const show = (v: unknown) => (v === undefined ? "(unset)" : typeof v === "string" ? v : JSON.stringify(v));
  return [...new Set([...old.keys(), ...now.keys()])]
    .sort()
    .filter((path) => JSON.stringify(was(path)) !== JSON.stringify(is(path)))
    .map((path) => `setting ${section}.${path}: ${show(old.get(path))} -> ${show(now.get(path))}`);
}
