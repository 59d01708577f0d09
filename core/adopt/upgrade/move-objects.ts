// Moving every object of one schema into another, catalog-only: the relations (their indexes, constraints,
// row types and owned sequences go with them), the free-standing types, the functions, and the extensions
// whose members live there. Extension members move with their extension, so they are left out.
import type { ClientBase } from "pg";

/**
 * The ALTER ... SET SCHEMA statements that move the objects of `from` into `to`. Extensions last: the
 * statements name argument types as they are spelt before any move (a function taking `vector`).
 */
export async function moveStatements(client: ClientBase, from: string, to: string): Promise<string[]> {
  const r = await client.query<{ sql: string }>(
    `WITH src AS (SELECT oid FROM pg_namespace WHERE nspname = $1),
     member AS (SELECT objid, classid FROM pg_depend WHERE deptype = 'e')
     SELECT sql FROM (
       SELECT 5 AS ord, e.extname AS name,
              format('ALTER EXTENSION %I SET SCHEMA %I', e.extname, $2::text) AS sql
         FROM pg_extension e WHERE e.extnamespace = (SELECT oid FROM src)
       UNION ALL
       SELECT 1, c.relname,
              format('ALTER %s %I.%I SET SCHEMA %I',
                     CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE'
                                    WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                     $1::text, c.relname, $2::text)
         FROM pg_class c
        WHERE c.relnamespace = (SELECT oid FROM src) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
          AND NOT EXISTS (SELECT 1 FROM member m WHERE m.classid = 'pg_class'::regclass AND m.objid = c.oid)
          -- A sequence owned by a column moves with its table.
          AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                                 AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
          AND NOT c.relispartition
       UNION ALL
       SELECT 2, t.typname, format('ALTER TYPE %I.%I SET SCHEMA %I', $1::text, t.typname, $2::text)
         FROM pg_type t
        WHERE t.typnamespace = (SELECT oid FROM src) AND t.typtype IN ('e', 'd', 'r', 'c', 'b')
          AND (t.typtype <> 'c' OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
          AND NOT EXISTS (SELECT 1 FROM pg_type b WHERE b.typarray = t.oid)
          AND NOT EXISTS (SELECT 1 FROM member m WHERE m.classid = 'pg_type'::regclass AND m.objid = t.oid)
       UNION ALL
       SELECT 3, p.proname,
              format('ALTER %s %I.%I(%s) SET SCHEMA %I',
                     CASE p.prokind WHEN 'p' THEN 'PROCEDURE' WHEN 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END,
                     $1::text, p.proname, pg_get_function_identity_arguments(p.oid), $2::text)
         FROM pg_proc p
        WHERE p.pronamespace = (SELECT oid FROM src)
          AND NOT EXISTS (SELECT 1 FROM member m WHERE m.classid = 'pg_proc'::regclass AND m.objid = p.oid)
     ) s ORDER BY ord, name`,
    [from, to],
  );
  return r.rows.map((row) => row.sql);
}

/** Every object of `from` (the staging schema, built by the upgrade alone) into `to`. */
export async function moveSchemaObjects(client: ClientBase, from: string, to: string): Promise<number> {
  return runAll(client, await moveStatements(client, from, to));
}

/**
 * Only the named tables of `from` (the legacy app's, with their indexes, constraints and owned sequences):
 * whatever else is in `public` (an administrator's extensions, objects the app did not create) stays.
 */
export async function moveTables(
  client: ClientBase,
  from: string,
  to: string,
  tables: readonly string[],
): Promise<number> {
  const r = await client.query<{ sql: string }>(
    `SELECT format('ALTER TABLE %I.%I SET SCHEMA %I', $1::text, c.relname, $2::text) AS sql
       FROM pg_class c WHERE c.relnamespace = to_regnamespace($1) AND c.relkind IN ('r', 'p') AND c.relname = ANY($3)
      ORDER BY c.relname`,
    [from, to, tables],
  );
  return runAll(
    client,
    r.rows.map((row) => row.sql),
  );
}

async function runAll(client: ClientBase, statements: readonly string[]): Promise<number> {
  for (const sql of statements) {
    try {
      await client.query(sql);
    } catch (error) {
      (error as Error).message = `${sql}: ${(error as Error).message}`;
      throw error;
    }
  }
  return statements.length;
}
