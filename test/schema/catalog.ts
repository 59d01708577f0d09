// Reads the shape of the `public` schema from the system catalogs, in the spelling of expected-schema.ts.
import type { ClientBase } from "pg";

/** table → column → "type[ NOT NULL]". */
export async function readColumns(client: ClientBase): Promise<Record<string, Record<string, string>>> {
  const { rows } = await client.query<{ table: string; column: string; spec: string }>(`
    SELECT c.relname AS table, a.attname AS column,
           format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END AS spec
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'pgmigrations'
    ORDER BY c.relname, a.attnum`);
  const tables: Record<string, Record<string, string>> = {};
  for (const row of rows) (tables[row.table] ??= {})[row.column] = row.spec;
  return tables;
}

/** table → column → default expression, for columns that have one. */
export async function readDefaults(client: ClientBase): Promise<Record<string, Record<string, string>>> {
  const { rows } = await client.query<{ table: string; column: string; expr: string }>(`
    SELECT c.relname AS table, a.attname AS column, pg_get_expr(d.adbin, d.adrelid) AS expr
    FROM pg_attrdef d
    JOIN pg_class c ON c.oid = d.adrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
    WHERE n.nspname = 'public' AND c.relname <> 'pgmigrations'
    ORDER BY 1, 2`);
  const tables: Record<string, Record<string, string>> = {};
  for (const row of rows) (tables[row.table] ??= {})[row.column] = row.expr;
  return tables;
}

/** enum type → labels in order. */
export async function readEnums(client: ClientBase): Promise<Record<string, string[]>> {
  const { rows } = await client.query<{ name: string; labels: string[] }>(`
    SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
    FROM pg_type t
    JOIN pg_namespace n ON n.oid = t.typnamespace
    JOIN pg_enum e ON e.enumtypid = t.oid
    WHERE n.nspname = 'public'
    GROUP BY t.typname`);
  return Object.fromEntries(rows.map((r) => [r.name, r.labels]));
}

export interface ForeignKeyRow {
  name: string;
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: string;
  onUpdate: string;
}

const ACTIONS: Record<string, string> = {
  a: "NO ACTION",
  r: "RESTRICT",
  c: "CASCADE",
  n: "SET NULL",
  d: "SET DEFAULT",
};

export async function readForeignKeys(client: ClientBase): Promise<ForeignKeyRow[]> {
  const { rows } = await client.query<{
    name: string;
    table: string;
    columns: string[];
    ref_table: string;
    ref_columns: string[];
    del: string;
    upd: string;
  }>(`
    SELECT con.conname AS name, c.relname AS table, r.relname AS ref_table,
           ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                 JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns,
           ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                 JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i) AS ref_columns,
           con.confdeltype AS del, con.confupdtype AS upd
    FROM pg_constraint con
    JOIN pg_class c ON c.oid = con.conrelid
    JOIN pg_class r ON r.oid = con.confrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE con.contype = 'f' AND n.nspname = 'public'
    ORDER BY 1`);
  return rows.map((r) => ({
    name: r.name,
    table: r.table,
    columns: r.columns,
    refTable: r.ref_table,
    refColumns: r.ref_columns,
    onDelete: ACTIONS[r.del] ?? r.del,
    onUpdate: ACTIONS[r.upd] ?? r.upd,
  }));
}

/** index name → "[UNIQUE ]<table> <method> (<keys>)[ WHERE ...]". */
export async function readIndexes(client: ClientBase): Promise<Record<string, string>> {
  const { rows } = await client.query<{ name: string; table: string; unique: boolean; def: string }>(`
    SELECT i.relname AS name, c.relname AS table, x.indisunique AS unique, pg_get_indexdef(x.indexrelid) AS def
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class c ON c.oid = x.indrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relname <> 'pgmigrations'`);
  return Object.fromEntries(
    rows.map((r) => {
      const using = / USING (.*)$/.exec(r.def)?.[1] ?? r.def;
      return [r.name, `${r.unique ? "UNIQUE " : ""}${r.table} ${using}`];
    }),
  );
}

/** CHECK constraint name → definition. */
export async function readChecks(client: ClientBase): Promise<Record<string, string>> {
  const { rows } = await client.query<{ name: string; def: string }>(`
    SELECT con.conname AS name, pg_get_constraintdef(con.oid) AS def
    FROM pg_constraint con
    JOIN pg_namespace n ON n.oid = con.connamespace
    WHERE con.contype = 'c' AND n.nspname = 'public'`);
  return Object.fromEntries(rows.map((r) => [r.name, r.def]));
}

/** "<table>.<trigger>" → "<timing> <events> → <function>" for user triggers. */
export async function readTriggers(client: ClientBase): Promise<Record<string, string>> {
  const { rows } = await client.query<{ key: string; def: string }>(`
    SELECT c.relname || '.' || t.tgname AS key, pg_get_triggerdef(t.oid) AS def
    FROM pg_trigger t
    JOIN pg_class c ON c.oid = t.tgrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT t.tgisinternal AND n.nspname = 'public'`);
  return Object.fromEntries(
    rows.map((r) => {
      const match = /TRIGGER \S+ (.*?) ON .* FOR EACH ROW EXECUTE FUNCTION (\w+)\(\)$/.exec(r.def);
      return [r.key, match ? `${match[1]} → ${match[2]}` : r.def];
    }),
  );
}
