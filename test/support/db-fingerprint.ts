// A database's state in a form two runs can compare: the schema as pg_dump prints it, every table's row count
// and checksum, and every sequence's position. Two equal fingerprints mean nothing was written in between,
// neither DDL nor data (sequences included: nextval() survives a rollback).
import type { ClientBase } from "pg";
import { withClient } from "./database";
import { dumpSchema } from "./migrations";
import { quoteIdentifier } from "../../core";

export interface TableSum {
  rows: number;
  /** md5 of the rows' text forms, sorted; "" for an empty table. */
  checksum: string;
}

export interface DbFingerprint {
  /** pg_dump --schema-only. */
  schema: string;
  /** By "schema.table", every ordinary and partitioned table outside the system schemas. */
  tables: Record<string, TableSum>;
  /** By "schema.sequence": last_value and is_called, as text. */
  sequences: Record<string, string>;
}

const ident = quoteIdentifier;

const USER_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') AND n.nspname NOT LIKE 'pg\\_temp%'`;

/** The tables outside the system schemas, as [schema, table], sorted. */
export async function userTables(client: ClientBase): Promise<[string, string][]> {
  const result = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND ${USER_SCHEMAS}
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`,
  );
  return result.rows.map((r) => [r.schema, r.name]);
}

/**
 * Count and checksum of one table's rows. `columns` limits the checksum to those columns (in that order), so
 * that a table that gained a column can be compared on the ones it had.
 */
export async function tableSum(
  client: ClientBase,
  schema: string,
  table: string,
  columns?: readonly string[],
): Promise<TableSum> {
  const row = columns ? `ROW(${columns.map((c) => `t.${ident(c)}`).join(", ")})::text` : "t::text";
  const result = await client.query<{ rows: number; checksum: string }>(
    `SELECT count(*)::int AS rows, coalesce(md5(string_agg(r, E'\\n' ORDER BY r)), '') AS checksum
       FROM (SELECT ${row} AS r FROM ${ident(schema)}.${ident(table)} t) s`,
  );
  return result.rows[0]!;
}

export async function tableSums(client: ClientBase): Promise<Record<string, TableSum>> {
  const sums: Record<string, TableSum> = {};
  for (const [schema, table] of await userTables(client)) {
    sums[`${schema}.${table}`] = await tableSum(client, schema, table);
  }
  return sums;
}

async function sequencePositions(client: ClientBase): Promise<Record<string, string>> {
  const result = await client.query<{ name: string; position: string }>(
    `SELECT schemaname || '.' || sequencename AS name, coalesce(last_value::text, 'unused') AS position
       FROM pg_sequences ORDER BY 1`,
  );
  return Object.fromEntries(result.rows.map((r) => [r.name, r.position]));
}

/** The fingerprint of the database at `url` (a superuser URL: it reads every table, bypassing row security). */
export async function fingerprint(url: string): Promise<DbFingerprint> {
  const schema = await dumpSchema(url);
  return withClient(url, async (client) => ({
    schema,
    tables: await tableSums(client),
    sequences: await sequencePositions(client),
  }));
}
