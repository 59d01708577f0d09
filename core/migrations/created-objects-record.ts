// The record of what each migration's Up section created (created-objects.ts), as bookkeeping DDL: its table,
// and the functions an Up section's transaction calls after its BEGIN and before its ledger row. They are
// PL/pgSQL so that the record's catalog query is planned once per session, not once per migration (a first
// apply runs dozens of them). Part of the ledger DDL (core/bookkeeping.ts), given the bookkeeping schema's name
// rather than importing it, which that module's own import of this one would leave unset.

/** The record's table, in the bookkeeping schema. */
export const CREATED_OBJECTS_TABLE = "created_objects";

/** The functions an Up section's transaction calls (createdObjectsDdl). */
export const MARK_FUNCTION = "mark_catalogs_before_migration";
export const RECORD_FUNCTION = "record_created_objects";
/** Whether a catalog row was written by this transaction (createdObjectsDdl); the revert's check uses it too. */
export const MADE_HERE_FUNCTION = "made_in_this_transaction";
/** The transaction-local setting, in the bookkeeping schema's namespace, that holds the mark (MARK_FUNCTION). */
export const MARK_SETTING = "created_before";

/**
 * SQL: the catalog row `alias` was created by this transaction (or a subtransaction of it) after the mark, an
 * oid: an oid past it, written here. A row at or under it existed before and was only altered. The record of
 * an Up section and the revert's check of a Down section both decide by it.
 */
export function createdSinceMark(schema: string, alias: string, mark: string): string {
  return `${alias}.oid > ${mark} AND ${schema}.${MADE_HERE_FUNCTION}(${alias}.xmin)`;
}

/**
 * The table, and the functions: made_in_this_transaction, whether a row's xmin is this transaction or one of
 * its subtransactions (a DO block's EXCEPTION clause runs in one: the xid is widened to the xid8 nearest the
 * current one; a row another session committed meanwhile reads "committed", a frozen or old one NULL); the mark,
 * the highest oid of the catalogs the record reads, each table's column count and the names of the indexes and
 * constraints, kept for the transaction alone; the record, the catalog rows past the mark that this transaction
 * wrote (a column: a number past its table's count), in place of what an earlier apply of the migration
 * recorded. An index or constraint of a name the table had is one made again, not a new one: ALTER COLUMN ...
 * TYPE rebuilds those on the column (a new oid, the same name), which a Down section changing the type back
 * rebuilds again, and which it must not be told to drop.
 */
export function createdObjectsDdl(schema: string): string {
  const table = `${schema}.${CREATED_OBJECTS_TABLE}`;
  const madeHere = `${schema}.${MADE_HERE_FUNCTION}`;
  const setting = `${schema}.${MARK_SETTING}`;
  // An oid past the mark (a range scan of the catalog's oid index), written by this transaction.
  const created = (alias: string) => createdSinceMark(schema, alias, "(SELECT mark FROM before)");
  // What goes with another object: an extension's members, a constraint's index, an identity's sequence.
  const notExtensionOrInternal = (alias: string, catalog: string) =>
    `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.${catalog}'::regclass AND d.objid = ${alias}.oid AND d.deptype IN ('e', 'i'))`;
  return `
CREATE TABLE IF NOT EXISTS ${table} (
  migration text NOT NULL,
  kind text NOT NULL,
  object_oid oid NOT NULL,
  column_number integer NOT NULL DEFAULT 0,
  schema_name text NOT NULL,
  table_name text,
  name text NOT NULL,
  arguments text
);
CREATE INDEX IF NOT EXISTS ${CREATED_OBJECTS_TABLE}_migration_idx ON ${table} (migration);
CREATE OR REPLACE FUNCTION ${madeHere}(x xid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT pg_catalog.pg_xact_status((cur + ((((x::text::bigint - (cur & 4294967295)) % 4294967296 + 6442450944) % 4294967296) - 2147483648))::text::xid8) = 'in progress'
    FROM (SELECT pg_catalog.pg_current_xact_id()::text::bigint AS cur) c
$$;
CREATE OR REPLACE FUNCTION ${schema}.${MARK_FUNCTION}() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_catalog.set_config('${setting}', pg_catalog.json_build_object(
  'oid', greatest((SELECT max(oid) FROM pg_catalog.pg_class), (SELECT max(oid) FROM pg_catalog.pg_proc),
                  (SELECT max(oid) FROM pg_catalog.pg_type), (SELECT max(oid) FROM pg_catalog.pg_constraint),
                  (SELECT max(oid) FROM pg_catalog.pg_trigger), (SELECT max(oid) FROM pg_catalog.pg_namespace),
                  (SELECT max(oid) FROM pg_catalog.pg_policy)),
  'columns', (SELECT coalesce(pg_catalog.json_object_agg(oid, relnatts), '{}') FROM pg_catalog.pg_class
               WHERE relkind IN ('r', 'p', 'f') AND oid >= 16384),
  'indexes', (SELECT coalesce(pg_catalog.json_agg(relnamespace::text || '.' || relname), '[]') FROM pg_catalog.pg_class
               WHERE relkind IN ('i', 'I') AND oid >= 16384),
  'constraints', (SELECT coalesce(pg_catalog.json_agg(conrelid::text || '.' || conname), '[]')
                    FROM pg_catalog.pg_constraint WHERE conrelid >= 16384))::text, true);
END $$;
CREATE OR REPLACE FUNCTION ${schema}.${RECORD_FUNCTION}(migration_name text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM ${table} WHERE migration = migration_name;
  INSERT INTO ${table} (migration, kind, object_oid, column_number, schema_name, table_name, name, arguments)
  SELECT migration_name, made.* FROM (
WITH before AS (
  SELECT (b ->> 'oid')::oid AS mark, b -> 'columns' AS columns, b -> 'indexes' AS indexes, b -> 'constraints' AS constraints
    FROM (SELECT nullif(current_setting('${setting}', true), '')::jsonb AS b) s WHERE b IS NOT NULL
), new_schemas AS (
  SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n
   WHERE ${created("n")} AND n.nspname NOT LIKE 'pg\\_%'
), new_relations AS (
  SELECT c.oid, c.relkind, c.relname, c.relnamespace FROM pg_catalog.pg_class c WHERE ${created("c")}
), app AS (
  SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n
   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', '${schema}') AND n.nspname NOT LIKE 'pg\\_%'
     AND n.oid NOT IN (SELECT oid FROM new_schemas)
)
SELECT 'schema' AS kind, oid, 0 AS column_number, nspname AS schema_name, NULL AS table_name, nspname AS name, NULL AS arguments
  FROM new_schemas
UNION ALL
SELECT CASE r.relkind WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view'
                      WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' ELSE 'table' END,
       r.oid, 0, app.nspname, NULL, r.relname, NULL
  FROM new_relations r JOIN app ON app.oid = r.relnamespace
 WHERE r.relkind IN ('r', 'p', 'f', 'v', 'm', 'S', 'i', 'I')
   AND NOT (r.relkind IN ('i', 'I') AND (SELECT indexes FROM before) ? (r.relnamespace::text || '.' || r.relname))
   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = r.oid
                      AND (d.deptype IN ('e', 'i')
                           OR (d.deptype = 'a' AND (r.relkind = 'S' OR d.refobjid IN (SELECT oid FROM new_relations)))))
UNION ALL
SELECT 'column', c.oid, a.attnum, app.nspname, c.relname, a.attname, NULL
  FROM before, pg_catalog.jsonb_each_text(before.columns) b
  JOIN pg_catalog.pg_class c ON c.oid = b.key::oid AND c.relnatts > b.value::int
  JOIN app ON app.oid = c.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > b.value::int AND NOT a.attisdropped
 WHERE ${madeHere}(a.xmin)
UNION ALL
SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END, p.oid, 0, app.nspname,
       NULL, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)
  FROM pg_catalog.pg_proc p JOIN app ON app.oid = p.pronamespace
 WHERE ${created("p")} AND ${notExtensionOrInternal("p", "pg_proc")}
UNION ALL
SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, t.oid, 0, app.nspname, NULL, t.typname, NULL
  FROM pg_catalog.pg_type t JOIN app ON app.oid = t.typnamespace
 WHERE ${created("t")}
   AND (t.typtype IN ('e', 'd', 'r')
        OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_catalog.pg_class rc WHERE rc.oid = t.typrelid AND rc.relkind = 'c')))
   AND ${notExtensionOrInternal("t", "pg_type")}
UNION ALL
SELECT 'constraint', con.oid, 0, app.nspname, c.relname, con.conname, NULL
  FROM pg_catalog.pg_constraint con JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
  JOIN app ON app.oid = c.relnamespace
 WHERE ${created("con")} AND con.conparentid = 0 AND c.oid NOT IN (SELECT oid FROM new_relations)
   AND NOT (SELECT constraints FROM before) ? (con.conrelid::text || '.' || con.conname)
UNION ALL
SELECT 'trigger', tg.oid, 0, app.nspname, c.relname, tg.tgname, NULL
  FROM pg_catalog.pg_trigger tg JOIN pg_catalog.pg_class c ON c.oid = tg.tgrelid JOIN app ON app.oid = c.relnamespace
 WHERE ${created("tg")} AND NOT tg.tgisinternal AND tg.tgparentid = 0 AND c.oid NOT IN (SELECT oid FROM new_relations)
UNION ALL
SELECT 'policy', pol.oid, 0, app.nspname, c.relname, pol.polname, NULL
  FROM pg_catalog.pg_policy pol JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid JOIN app ON app.oid = c.relnamespace
 WHERE ${created("pol")} AND c.oid NOT IN (SELECT oid FROM new_relations)) made;
END $$`;
}
