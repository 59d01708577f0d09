// What the security tests read from the system catalogs: tables, their row-level security and policies, and
// the foreign keys between tenant tables.
import type { ClientBase } from "pg";

export interface TableSecurity {
  table: string;
  enabled: boolean;
  forced: boolean;
  /** "<name> <command>" of each policy, e.g. "tenant_isolation ALL". */
  policies: string[];
}

/** Every ordinary table of schema `public`, with its row-level security. */
export async function readTableSecurity(client: ClientBase): Promise<TableSecurity[]> {
  const { rows } = await client.query<TableSecurity>(`
    SELECT c.relname AS table, c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced,
           ARRAY(SELECT p.polname || ' ' || CASE p.polcmd WHEN '*' THEN 'ALL' WHEN 'r' THEN 'SELECT'
                          WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' END
                   FROM pg_policy p WHERE p.polrelid = c.oid ORDER BY 1) AS policies
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
     ORDER BY 1`);
  return rows;
}

/** table → primary key columns, in key order. */
export async function readPrimaryKeys(client: ClientBase): Promise<Record<string, string[]>> {
  const { rows } = await client.query<{ table: string; columns: string[] }>(`
    SELECT c.relname AS table,
           ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns
      FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE con.contype = 'p' AND n.nspname = 'public'`);
  return Object.fromEntries(rows.map((r) => [r.table, r.columns]));
}

export interface ForeignKey {
  name: string;
  table: string;
  columns: string[];
  refTable: string;
}

/** Foreign keys of `public` tables, in name order. */
export async function readForeignKeys(client: ClientBase): Promise<ForeignKey[]> {
  const { rows } = await client.query<ForeignKey>(`
    SELECT con.conname AS name, c.relname AS table, r.relname AS "refTable",
           ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                   JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS columns
      FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE con.contype = 'f' AND n.nspname = 'public'
     ORDER BY 1`);
  return rows;
}
