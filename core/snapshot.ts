// A catalog snapshot of the application schemas: one signature string per object (table column,
// constraint, index, enum, function, trigger, policy; since format 2 also owners, grants, default
// privileges, storage settings and extension versions). `apply` records it; `verify` diffs the live catalog
// against it to name objects that drifted (changed by hand, or left invalid by an interrupted build).
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA } from "./bookkeeping";

export type SchemaSnapshot = Record<string, string>;

/**
 * The snapshot format `takeSnapshot` writes. A snapshot recorded by an older format lacks the later kinds:
 * verify then compares only the kinds that format had (see `snapshotOfFormat`).
 */
export const SNAPSHOT_FORMAT = 2;

/** The object kinds (a key's first word) each format records. */
const KINDS_OF_FORMAT: Record<number, readonly string[]> = {
  1: ["table", "column", "constraint", "index", "type", "function", "trigger", "policy", "extension"],
  2: [
    ...["table", "column", "constraint", "index", "type", "function", "trigger", "policy", "extension"],
    ...["owner", "grant", "default-privileges", "storage", "extension-version"],
  ],
};

/** Where the format is stored among the objects: every object key has a space, this one has none. */
const FORMAT_KEY = "format";

export interface SnapshotDiff {
  added: string[];
  removed: string[];
  changed: string[];
}

// Objects that belong to an extension (pgvector's types and operators live in public) are not ours.
const NOT_EXTENSION = (oidColumn: string, catalog: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oidColumn} AND d.deptype = 'e')`;

const APP_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', '${BOOKKEEPING_SCHEMA}') AND n.nspname NOT LIKE 'pg\\_%'`;

// Format 2: who owns and who may use each object, and the settings a hand can change without DDL on the
// schema's shape. Keys name the object as SQL does (quote_ident), so a repair statement is the key's words.
const RELATION_KIND = `CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END`;
const APP_TYPES = `t.typtype IN ('e', 'd', 'c') AND ${APP_SCHEMAS} AND ${NOT_EXTENSION("t.oid", "pg_type")}
   AND NOT EXISTS (SELECT 1 FROM pg_class rc WHERE rc.reltype = t.oid AND rc.relkind <> 'c')`;
const FUNCTION_TARGET = `CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' ELSE 'FUNCTION ' END || format('%I.%I', n.nspname, p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')'`;
/** target (as GRANT names it), owner target (as ALTER ... OWNER names it), acl (the default one when none is set), owner. */
const ACL_OBJECTS = `
SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE ' ELSE 'TABLE ' END || format('%I.%I', n.nspname, c.relname) AS target,
       ${RELATION_KIND} || ' ' || format('%I.%I', n.nspname, c.relname) AS owned,
       coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner)) AS acl, c.relowner AS owner
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND ${APP_SCHEMAS} AND ${NOT_EXTENSION("c.oid", "pg_class")}
UNION ALL
SELECT ${FUNCTION_TARGET}, ${FUNCTION_TARGET}, coalesce(p.proacl, acldefault('f', p.proowner)), p.proowner
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE p.prokind IN ('f', 'p') AND ${APP_SCHEMAS} AND ${NOT_EXTENSION("p.oid", "pg_proc")}
UNION ALL
SELECT 'TYPE ' || format('%I.%I', n.nspname, t.typname), 'TYPE ' || format('%I.%I', n.nspname, t.typname),
       coalesce(t.typacl, acldefault('T', t.typowner)), t.typowner
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
 WHERE ${APP_TYPES}
UNION ALL
SELECT 'SCHEMA ' || quote_ident(n.nspname), 'SCHEMA ' || quote_ident(n.nspname), coalesce(n.nspacl, acldefault('n', n.nspowner)), n.nspowner
  FROM pg_namespace n
 WHERE ${APP_SCHEMAS}`;
const GRANTEE = `CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END`;
const PRIVILEGE = `a.privilege_type || CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END`;
const DEFAULT_ACL_OBJECTS = `CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES' WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END`;
// The owner and grant parts read the same objects: listed once, as the query's one common table.
const FORMAT_2_OBJECTS = `WITH acl_objects AS MATERIALIZED (${ACL_OBJECTS})`;
const FORMAT_2_QUERY = `
UNION ALL
SELECT 'owner ' || o.owned, quote_ident(pg_get_userbyid(o.owner)) FROM acl_objects o
UNION ALL
SELECT 'grant ' || g.target || ' TO ' || g.grantee,
       jsonb_build_object('on', g.target, 'to', g.grantee, 'privileges', g.privileges)::text
  FROM (SELECT o.target, ${GRANTEE} AS grantee, jsonb_agg(DISTINCT ${PRIVILEGE} ORDER BY ${PRIVILEGE}) AS privileges
          FROM acl_objects o, aclexplode(o.acl) a
         WHERE a.grantee <> o.owner
         GROUP BY 1, 2) g
UNION ALL
SELECT 'default-privileges ' || g.scope || ' ON ' || g.objects || ' TO ' || g.grantee,
       jsonb_build_object('scope', g.scope, 'on', g.objects, 'to', g.grantee, 'privileges', g.privileges)::text
  FROM (SELECT 'FOR ROLE ' || quote_ident(pg_get_userbyid(d.defaclrole)) || coalesce(' IN SCHEMA ' || quote_ident(n.nspname), '') AS scope,
               ${DEFAULT_ACL_OBJECTS} AS objects, ${GRANTEE} AS grantee,
               jsonb_agg(DISTINCT ${PRIVILEGE} ORDER BY ${PRIVILEGE}) AS privileges
          FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a
         WHERE d.defaclnamespace = 0 OR (${APP_SCHEMAS})
         GROUP BY 1, 2, 3) g
UNION ALL
SELECT 'storage ' || ${RELATION_KIND} || ' ' || format('%I.%I', n.nspname, c.relname),
       (SELECT jsonb_agg(o ORDER BY o) FROM unnest(c.reloptions) o)::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'm') AND c.reloptions IS NOT NULL AND ${APP_SCHEMAS} AND ${NOT_EXTENSION("c.oid", "pg_class")}
UNION ALL
SELECT 'extension-version ' || quote_ident(e.extname), e.extversion FROM pg_extension e WHERE e.extname <> 'plpgsql'`;

/** The live tables as the snapshot keys them ("table public.Brand"): also what the gone-tables check reads. */
export const LIVE_TABLES_SQL = `SELECT 'table ' || n.nspname || '.' || c.relname AS key,
       c.relkind::text || ' rls=' || c.relrowsecurity || ' force=' || c.relforcerowsecurity AS sig
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm') AND ${APP_SCHEMAS} AND ${NOT_EXTENSION("c.oid", "pg_class")}`;

export const LIVE_COLUMNS_SQL = `SELECT 'column ' || n.nspname || '.' || c.relname || '.' || a.attname AS key,
       format_type(a.atttypid, a.atttypmod) || ' notnull=' || a.attnotnull || ' default=' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '') AS sig
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm') AND ${APP_SCHEMAS}
   AND ${NOT_EXTENSION("c.oid", "pg_class")}`;

const SNAPSHOT_QUERY = `${FORMAT_2_OBJECTS}
${LIVE_TABLES_SQL}
UNION ALL
${LIVE_COLUMNS_SQL}
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
${FORMAT_2_QUERY}`;

export async function takeSnapshot(client: ClientBase): Promise<SchemaSnapshot> {
  const result = await client.query<{ key: string; sig: string }>(SNAPSHOT_QUERY);
  const snapshot: SchemaSnapshot = {};
  for (const row of result.rows) snapshot[row.key] = row.sig;
  return snapshot;
}

/** The part of a snapshot an older format recorded: what a snapshot of that format is compared with. */
export function snapshotOfFormat(snapshot: SchemaSnapshot, format: number): SchemaSnapshot {
  const kinds = KINDS_OF_FORMAT[format] ?? KINDS_OF_FORMAT[SNAPSHOT_FORMAT]!;
  return Object.fromEntries(
    Object.entries(snapshot).filter(([key]) => kinds.includes(key.split(" ", 1)[0]!)),
  );
}

/** The schema's shape only (format 1: no owners, grants or settings), for comparing two databases' schemas. */
export function shapeOf(snapshot: SchemaSnapshot): SchemaSnapshot {
  return snapshotOfFormat(snapshot, 1);
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
    [lastMigration ?? null, JSON.stringify({ ...snapshot, [FORMAT_KEY]: String(SNAPSHOT_FORMAT) })],
  );
}

/**
 * Takes the snapshot and records it in one statement, as saveSnapshot(takeSnapshot()) would: the catalog's
 * rows (some 80 kB) never travel to the client and back. Later keys win as in a JavaScript object; the
 * format key has no space, so no object's key is it.
 */
export async function recordSnapshot(client: ClientBase, lastMigration: string | undefined): Promise<void> {
  await client.query(
    `INSERT INTO ${BOOKKEEPING_SCHEMA}.schema_snapshot (id, taken_at, last_migration, objects)
     SELECT 1, now(), $1, coalesce(jsonb_object_agg(s.key, s.sig), '{}'::jsonb) || jsonb_build_object('${FORMAT_KEY}', $2::text)
       FROM (${SNAPSHOT_QUERY}) s
     ON CONFLICT (id) DO UPDATE SET taken_at = now(), last_migration = $1, objects = EXCLUDED.objects`,
    [lastMigration ?? null, String(SNAPSHOT_FORMAT)],
  );
}

export async function readSnapshot(
  client: ClientBase,
): Promise<
  { takenAt: string; lastMigration: string | null; format: number; objects: SchemaSnapshot } | undefined
> {
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
  if (!row) return undefined;
  const { [FORMAT_KEY]: format, ...objects } = row.objects;
  return {
    takenAt: row.taken_at.toISOString(),
    lastMigration: row.last_migration,
    format: snapshotFormat(format),
    objects,
  };
}

/** The format a recorded snapshot's stored format value names: snapshots from before formats were stored are 1. */
export function snapshotFormat(stored: unknown): number {
  return stored === undefined || stored === null ? 1 : Number(stored);
}

/** SQL reading the recorded snapshot's format from the snapshot row (for the batched state read). */
export const SNAPSHOT_FORMAT_SQL = `objects ->> '${FORMAT_KEY}'`;
