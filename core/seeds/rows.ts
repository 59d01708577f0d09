// Seed rows against the database, one table (and one set of columns) at a time. Rows travel as one JSON
// array and are turned into the table's own row type by jsonb_populate_recordset, so every value goes
// through its column type's input function (text, enums, jsonb, timestamps, pgvector's `vector`) and the
// comparison below uses the types' own equality: no type mapping is written twice.
import type { ClientBase } from "pg";
import { quoteIdentifier } from "../identifiers";
import type { SeedRow, SeedTable } from "./seed-set";

/** Rows of one table that set the same columns: one statement each for compare, write and delete. */
export interface RowGroup {
  table: string;
  key: string[];
  columns: string[];
  rows: SeedRow[];
  /** Where each row sits in its SeedTable's rows. */
  indexes: number[];
}

export function groupRows(table: SeedTable): RowGroup[] {
  const groups = new Map<string, RowGroup>();
  table.rows.forEach((row, index) => {
    const columns = Object.keys(row).sort();
    const signature = columns.join(",");
    let group = groups.get(signature);
    if (!group) {
      group = { table: table.table, key: table.key, columns, rows: [], indexes: [] };
      groups.set(signature, group);
    }
    group.rows.push(row);
    group.indexes.push(index);
  });
  return [...groups.values()];
}

const ident = quoteIdentifier;

function matchKey(key: readonly string[], a: string, b: string): string {
  return key.map((k) => `${a}.${ident(k)} = ${b}.${ident(k)}`).join(" AND ");
}

function tuple(columns: readonly string[], alias: string): string {
  return `ROW(${columns.map((c) => `${alias}.${ident(c)}`).join(", ")})`;
}

export interface GroupDiff {
  /** Indexes (into the SeedTable's rows) of rows that do not exist. */
  missing: number[];
  /** Indexes of rows that exist with other values. */
  differ: number[];
}

/** The rows of a group (given as the jsonb expression `rows`) that are missing or differ: (n, missing). */
export function diffGroupSql(group: RowGroup, rows: string): string {
  const values = group.columns.filter((c) => !group.key.includes(c));
  const differs = values.length ? ` OR ${tuple(values, "t")} IS DISTINCT FROM ${tuple(values, "d")}` : "";
  return `SELECT d.ordinality::integer AS n, t.ctid IS NULL AS missing
       FROM ROWS FROM (jsonb_populate_recordset(NULL::${ident(group.table)}, ${rows})) WITH ORDINALITY AS d
       LEFT JOIN ${ident(group.table)} AS t ON ${matchKey(group.key, "t", "d")}
      WHERE t.ctid IS NULL${differs}`;
}

/** Which rows of a group are missing or differ. Read-only. */
export async function diffGroup(client: ClientBase, group: RowGroup): Promise<GroupDiff> {
  const result = await client.query<{ n: number; missing: boolean }>(
    `${diffGroupSql(group, "$1::jsonb")} ORDER BY 1`,
    [JSON.stringify(group.rows)],
  );
  const diff: GroupDiff = { missing: [], differ: [] };
  for (const row of result.rows) {
    const index = group.indexes[row.n - 1]!;
    (row.missing ? diff.missing : diff.differ).push(index);
  }
  return diff;
}

/**
 * Inserts the rows, or updates them in place where they exist and differ. The WHERE clause keeps a row
 * whose values already match from being rewritten (a new row version, a trigger firing) even if another
 * session changed it since diffGroup looked.
 */
export async function upsertRows(
  client: ClientBase,
  group: RowGroup,
  rows: readonly SeedRow[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const columns = group.columns.map(ident).join(", ");
  const values = group.columns.filter((c) => !group.key.includes(c));
  const onConflict = values.length
    ? `DO UPDATE SET ${values.map((c) => `${ident(c)} = EXCLUDED.${ident(c)}`).join(", ")}
        WHERE ${tuple(values, "t")} IS DISTINCT FROM ${tuple(values, "EXCLUDED")}`
    : "DO NOTHING";
  const result = await client.query(
    `INSERT INTO ${ident(group.table)} AS t (${columns})
     SELECT ${group.columns.map((c) => `d.${ident(c)}`).join(", ")}
       FROM jsonb_populate_recordset(NULL::${ident(group.table)}, $1::jsonb) AS d
     ON CONFLICT (${group.key.map(ident).join(", ")}) ${onConflict}`,
    [JSON.stringify(rows)],
  );
  return result.rowCount ?? 0;
}

/** Deletes the rows with these keys (objects of key columns) from a table; returns how many went. */
export async function deleteRows(
  client: ClientBase,
  table: string,
  key: readonly string[],
  keys: readonly Record<string, unknown>[],
): Promise<number> {
  if (keys.length === 0) return 0;
  const result = await client.query(
    `DELETE FROM ${ident(table)} AS t
      USING jsonb_populate_recordset(NULL::${ident(table)}, $1::jsonb) AS d
      WHERE ${matchKey(key, "t", "d")}`,
    [JSON.stringify(keys)],
  );
  return result.rowCount ?? 0;
}

export interface TableShape {
  exists: boolean;
  columns: Set<string>;
}

/** The columns of each table (in the search path), to catch a misspelt column before writing anything. */
export async function readTableShapes(
  client: ClientBase,
  tables: readonly string[],
): Promise<Map<string, TableShape>> {
  const result = await client.query<{ table_name: string; columns: string[] | null }>(
    `SELECT t.name AS table_name,
            (SELECT array_agg(a.attname::text) FROM pg_attribute a
              WHERE a.attrelid = to_regclass(quote_ident(t.name)) AND a.attnum > 0 AND NOT a.attisdropped) AS columns
       FROM unnest($1::text[]) AS t(name)`,
    [[...new Set(tables)]],
  );
  return new Map(
    result.rows.map((r) => [r.table_name, { exists: r.columns !== null, columns: new Set(r.columns ?? []) }]),
  );
}

/** A row's embedding as the table holds it: the dimension of its space, and its tenant when asked for. */
export interface EmbeddedRowState {
  dimension: number;
  tenant?: string;
}

/**
 * Of the rows of `table` with these keys (objects of the `key` columns), those holding an embedding, by their
 * place in `keys`: the "dimension" of the row's "EmbeddingSpace" (as the vector-index step counts a row,
 * core/vector-indexes/inventory.ts) and, with `tenantColumn`, that column's value. Read-only; the caller makes
 * sure the table, its columns and "EmbeddingSpace" exist (readTableShapes).
 */
export async function readEmbeddedRows(
  client: ClientBase,
  table: string,
  key: readonly string[],
  keys: readonly Record<string, unknown>[],
  columns: { column: string; spaceColumn: string; tenantColumn?: string },
): Promise<Map<number, EmbeddedRowState>> {
  if (keys.length === 0) return new Map();
  const tenant = columns.tenantColumn ? `t.${ident(columns.tenantColumn)}::text` : "NULL::text";
  const result = await client.query<{ n: number; dimension: number; tenant: string | null }>(
    `SELECT d.ordinality::integer AS n, s."dimension" AS dimension, ${tenant} AS tenant
       FROM ROWS FROM (jsonb_populate_recordset(NULL::${ident(table)}, $1::jsonb)) WITH ORDINALITY AS d
       JOIN ${ident(table)} AS t ON ${matchKey(key, "t", "d")}
       JOIN "EmbeddingSpace" AS s ON s."id" = t.${ident(columns.spaceColumn)}
      WHERE t.${ident(columns.column)} IS NOT NULL`,
    [JSON.stringify(keys)],
  );
  return new Map(
    result.rows.map((r) => [
      r.n - 1,
      { dimension: r.dimension, ...(r.tenant !== null ? { tenant: r.tenant } : {}) },
    ]),
  );
}

/** Embedded rows of one parent, tenant and dimension (countEmbeddedRowsByParent). */
export interface ParentRowCount {
  /** The parent's key, as text. */
  parent: string;
  tenant: string;
  dimension: number;
  rows: number;
}

/**
 * The rows of `table` holding an embedding whose `parentColumn` is one of `parents`, other than those with the
 * keys of `except` (per set of key columns, objects of those columns), counted per parent, tenant and the
 * "dimension" of the row's "EmbeddingSpace". Read-only: counted in the database, whatever a parent holds; the
 * caller makes sure the table, its columns and "EmbeddingSpace" exist (readTableShapes).
 */
export async function countEmbeddedRowsByParent(
  client: ClientBase,
  table: string,
  columns: { column: string; spaceColumn: string; tenantColumn: string; parentColumn: string },
  parents: readonly string[],
  except: readonly { key: readonly string[]; keys: readonly Record<string, unknown>[] }[],
): Promise<ParentRowCount[]> {
  if (parents.length === 0) return [];
  const parent = ident(columns.parentColumn);
  // The keys travel typed by the table's own row type, as every comparison here does.
  const excluded = except
    .filter(({ keys }) => keys.length > 0)
    .map(
      ({ key }, i) => `AND NOT EXISTS (
         SELECT 1 FROM jsonb_populate_recordset(NULL::${ident(table)}, $${i + 2}::jsonb) AS x
          WHERE ${matchKey(key, "t", "x")})`,
    );
  const result = await client.query<{
    parent: string;
    tenant: string | null;
    dimension: number;
    rows: number;
  }>(
    `SELECT t.${parent}::text AS parent, t.${ident(columns.tenantColumn)}::text AS tenant,
            s."dimension" AS dimension, count(*)::integer AS rows
       FROM ${ident(table)} AS t
       JOIN "EmbeddingSpace" AS s ON s."id" = t.${ident(columns.spaceColumn)}
      WHERE t.${ident(columns.column)} IS NOT NULL
        AND t.${parent} IN (SELECT p.${parent} FROM jsonb_populate_recordset(NULL::${ident(table)}, $1::jsonb) AS p)
        ${excluded.join("\n        ")}
      GROUP BY 1, 2, 3`,
    [
      JSON.stringify(parents.map((p) => ({ [columns.parentColumn]: p }))),
      ...except.filter(({ keys }) => keys.length > 0).map(({ keys }) => JSON.stringify(keys)),
    ],
  );
  return result.rows.flatMap((r) => (r.tenant === null ? [] : [{ ...r, tenant: r.tenant }]));
}

/**
 * `column` of the rows of `table` whose `key` column is one of `keys`, by key (as text). Read-only; the caller
 * makes sure the table and both columns exist (readTableShapes).
 */
export async function readColumnByKey(
  client: ClientBase,
  table: string,
  key: string,
  column: string,
  keys: readonly string[],
): Promise<Map<string, string>> {
  if (keys.length === 0) return new Map();
  const result = await client.query<{ key: string; value: string | null }>(
    `SELECT t.${ident(key)}::text AS key, t.${ident(column)}::text AS value
       FROM jsonb_populate_recordset(NULL::${ident(table)}, $1::jsonb) AS d
       JOIN ${ident(table)} AS t ON t.${ident(key)} = d.${ident(key)}`,
    [JSON.stringify(keys.map((k) => ({ [key]: k })))],
  );
  return new Map(result.rows.flatMap((r) => (r.value === null ? [] : [[r.key, r.value] as const])));
}
