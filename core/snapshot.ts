// A catalog snapshot of the application schemas: one signature string per object (table column,
// constraint, index, enum, function, trigger, policy). `apply` records it; `verify` diffs the live catalog
// against it to name objects that drifted (changed by hand, or left invalid by an interrupted build).
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA } from "./bookkeeping";

export type SchemaSnapshot = Record<string, string>;

export interface SnapshotDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

// Objects that belong to an extension (pgvector's types and operators live in public) are not ours.
const NOT_EXTENSION = (oidColumn: string, catalog: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oidColumn} AND d.deptype = 'e')`;

const APP_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', '${BOOKKEEPING_SCHEMA}') AND n.nspname NOT LIKE 'pg\\_%'`;

const SNAPSHOT_QUERY = `
SELECT 'table ' || n.nspname || '.' || c.relname AS key,
       c.relkind::text || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity AS sig
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm') AND ${APP_SCHEMAS} AND ${NOT_EXTENSION("c.oid", "pg_class")}
UNION ALL
SELECT 'column ' || n.nspname || '.' || c.relname || '.' || a.attname,
       format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull || ' default=' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '')
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm') AND ${APP_SCHEMAS}
   AND ${NOT_EXTENSION("c.oid", "pg_class")}
UNION ALL
SELECT 'constraint ' || n.nspname || '.' || c.relname || '.' || con.conname, pg_get_constraintdef(con.oid)
  FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE ${APP_SCHEMAS}
UNION ALL
SELECT 'index ' || n.nspname || '.' || ic.relname, pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid
  FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_namespace n ON n.oid = ic.relnamespace
 WHERE ${APP_SCHEMAS} AND ${NOT_EXTENSION("i.indrelid", "pg_class")}
UNION ALL
SELECT 'type ' || n.nspname || '.' || t.typname,
       t.typtype::text || coalesce(' ' || (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid), '')
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE t.typtype IN ('e', 'd', 'c') AND ${APP_SCHEMAS} AND ${NOT_EXTENSION("t.oid", "pg_type")}
   AND NOT EXISTS (SELECT 1 FROM pg_class rc WHERE rc.reltype = t.oid AND rc.relkind <> 'c')
UNION ALL
SELECT 'function ' || n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       md5(pg_get_functiondef(p.oid))
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE p.prokind IN ('f', 'p') AND ${APP_SCHEMAS} AND ${NOT_EXTENSION("p.oid", "pg_proc")}
UNION ALL
SELECT 'trigger ' || n.nspname || '.' || c.relname || '.' || tg.tgname, pg_get_triggerdef(tg.oid)
  FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE NOT tg.tgisinternal AND ${APP_SCHEMAS}
UNION ALL
SELECT 'policy ' || n.nspname || '.' || c.relname || '.' || pol.polname,
       pol.polcmd::text || ' ' || pol.polpermissive || ' ' || coalesce(pg_get_expr(pol.polqual, pol.polrelid), '') || ' / ' ||
       coalesce(pg_get_expr(pol.polwithcheck, pol.polrelid), '')
  FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE ${APP_SCHEMAS}
UNION ALL
SELECT 'extension ' || e.extname, 'installed' FROM pg_extension e WHERE e.extname <> 'plpgsql'
`;

export async function takeSnapshot(client: ClientBase): Promise<SchemaSnapshot> {
  const result = await client.query<{ key: string; sig: string }>(SNAPSHOT_QUERY);
  const snapshot: SchemaSnapshot = {};
  for (const row of result.rows) snapshot[row.key] = row.sig;
  return snapshot;
}

export function diffSnapshots(recorded: SchemaSnapshot, live: SchemaSnapshot): SnapshotDiff {
  const added = Object.keys(live).filter((k) => !(k in recorded));
  const removed = Object.keys(recorded).filter((k) => !(k in live));
  const changed = Object.keys(live).filter((k) => k in recorded && recorded[k] !== live[k]);
  return { added: added.sort(), removed: removed.sort(), changed: changed.sort() };
}

export async function saveSnapshot(
  client: ClientBase,
  snapshot: SchemaSnapshot,
  lastMigration: string | undefined,
): Promise<void> {
  await client.query(
    `INSERT INTO ${BOOKKEEPING_SCHEMA}.schema_snapshot (id, taken_at, last_migration, objects)
     VALUES (1, now(), $1, $2)
     ON CONFLICT (id) DO UPDATE SET taken_at = now(), last_migration = $1, objects = $2`,
    [lastMigration ?? null, JSON.stringify(snapshot)],
  );
}

export async function readSnapshot(
  client: ClientBase,
): Promise<{ takenAt: string; lastMigration: string | null; objects: SchemaSnapshot } | undefined> {
  const exists = await client.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [
    `${BOOKKEEPING_SCHEMA}.schema_snapshot`,
  ]);
  if (!exists.rows[0]?.ok) return undefined;
  const result = await client.query<{
    taken_at: Date;
    last_migration: string | null;
    objects: SchemaSnapshot;
  }>(`SELECT taken_at, last_migration, objects FROM ${BOOKKEEPING_SCHEMA}.schema_snapshot WHERE id = 1`);
  const row = result.rows[0];
  return row
    ? { takenAt: row.taken_at.toISOString(), lastMigration: row.last_migration, objects: row.objects }
    : undefined;
}
