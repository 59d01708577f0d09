// What the app's Prisma schema is made of, read from a released database's catalog (schema `public`): tables,
// columns, enums, keys, uniques, indexes and foreign keys. The migrations stay the one statement of the
// schema; this reads what they built, so the Prisma schema can never say something the database does not.
import type { ClientBase } from "pg";

export interface CatalogColumn {
  name: string;
  /** format_type() spelling, e.g. `text`, `timestamp(3) without time zone`, `"AgentStatus"`, `vector`. */
  type: string;
  /** The enum's name when the column's type (or its element type) is one of the schema's enums. */
  enumName?: string;
  /** True for an array column (`text[]`). */
  isArray: boolean;
  notNull: boolean;
  /** pg_get_expr() of the default, or undefined. */
  default?: string;
}

export interface CatalogIndexKey {
  /** The column; undefined for an expression key. */
  column?: string;
  descending: boolean;
}

export interface CatalogIndex {
  name: string;
  unique: boolean;
  primary: boolean;
  method: string;
  keys: CatalogIndexKey[];
  /** A partial index (WHERE) or one with an expression key: Prisma's schema cannot state it. */
  expressible: boolean;
  /** The whole definition, for the ones Prisma cannot state. */
  definition: string;
}

export type ReferentialAction = "Cascade" | "SetNull" | "Restrict" | "NoAction" | "SetDefault";

export interface CatalogForeignKey {
  name: string;
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: ReferentialAction;
  onUpdate: ReferentialAction;
}

export interface CatalogTable {
  name: string;
  columns: CatalogColumn[];
  indexes: CatalogIndex[];
  foreignKeys: CatalogForeignKey[];
  /** The table has a BEFORE UPDATE trigger running set_updated_at() (its "updatedAt" is kept by the database). */
  updatedAtTrigger: boolean;
  /** CHECK constraints, by name: Prisma's schema cannot state them, so the schema lists them in comments. */
  checks: Record<string, string>;
}

export interface PrismaCatalog {
  /** Enum → labels, both in creation order. */
  enums: Record<string, string[]>;
  tables: CatalogTable[];
}

const ACTIONS: Record<string, ReferentialAction> = {
  c: "Cascade",
  n: "SetNull",
  r: "Restrict",
  a: "NoAction",
  d: "SetDefault",
};

/** Reads schema `public`. Needs no privilege beyond CONNECT: the catalog is readable by every login. */
export async function readPrismaCatalog(client: ClientBase, schema = "public"): Promise<PrismaCatalog> {
  const enumRows = await client.query<{ name: string; labels: string[] }>(
    `SELECT t.typname AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text[] AS labels
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
       JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = $1
      GROUP BY t.oid, t.typname ORDER BY t.oid`,
    [schema],
  );
  const enums = Object.fromEntries(enumRows.rows.map((r) => [r.name, r.labels]));

  const columnRows = await client.query<{
    table: string;
    name: string;
    type: string;
    element_enum: string | null;
    is_array: boolean;
    not_null: boolean;
    default: string | null;
  }>(
    `SELECT c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            CASE WHEN et.typtype = 'e' THEN et.typname END AS element_enum,
            t.typcategory = 'A' AS is_array, a.attnotnull AS not_null,
            pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       JOIN pg_type t ON t.oid = a.atttypid
       LEFT JOIN pg_type et ON et.oid = CASE WHEN t.typelem <> 0 AND t.typcategory = 'A' THEN t.typelem ELSE t.oid END
       LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      ORDER BY c.oid, a.attnum`,
    [schema],
  );

  const indexRows = await client.query<{
    table: string;
    name: string;
    unique: boolean;
    primary: boolean;
    method: string;
    columns: (string | null)[];
    options: number[];
    expressible: boolean;
    definition: string;
  }>(
    `SELECT c.relname AS table, ic.relname AS name, i.indisunique AS unique, i.indisprimary AS primary,
            am.amname AS method,
            ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
                    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum AND k.attnum > 0
                   ORDER BY k.ord) AS columns,
            i.indoption::int2[]::int[] AS options,
            i.indexprs IS NULL AND i.indpred IS NULL AS expressible,
            pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       JOIN pg_class c ON c.oid = i.indrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_am am ON am.oid = ic.relam
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')
      ORDER BY c.relname, ic.relname`,
    [schema],
  );

  const fkRows = await client.query<{
    table: string;
    name: string;
    columns: string[];
    referenced_table: string;
    referenced_columns: string[];
    on_delete: string;
    on_update: string;
  }>(
    `SELECT c.relname AS table, con.conname AS name,
            ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.ord) AS columns,
            rc.relname AS referenced_table,
            ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.ord) AS referenced_columns,
            con.confdeltype AS on_delete, con.confupdtype AS on_update
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid
       JOIN pg_class rc ON rc.oid = con.confrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND con.contype = 'f'
      ORDER BY c.relname, con.conname`,
    [schema],
  );

  const checkRows = await client.query<{ table: string; name: string; definition: string }>(
    `SELECT c.relname AS table, con.conname AS name, pg_get_constraintdef(con.oid) AS definition
       FROM pg_constraint con
       JOIN pg_class c ON c.oid = con.conrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND con.contype = 'c'
      ORDER BY c.relname, con.conname`,
    [schema],
  );

  const triggerRows = await client.query<{ table: string }>(
    `SELECT DISTINCT c.relname AS table
       FROM pg_trigger tg
       JOIN pg_class c ON c.oid = tg.tgrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_proc p ON p.oid = tg.tgfoid
      WHERE n.nspname = $1 AND NOT tg.tgisinternal AND p.proname = 'set_updated_at'
        AND (tg.tgtype & 2) <> 0 AND (tg.tgtype & 16) <> 0`,
    [schema],
  );
  const withTrigger = new Set(triggerRows.rows.map((r) => r.table));

  const tables = new Map<string, CatalogTable>();
  const table = (name: string): CatalogTable => {
    let found = tables.get(name);
    if (!found) {
      found = {
        name,
        columns: [],
        indexes: [],
        foreignKeys: [],
        updatedAtTrigger: withTrigger.has(name),
        checks: {},
      };
      tables.set(name, found);
    }
    return found;
  };
  for (const r of columnRows.rows) {
    const enumName = r.element_enum ?? undefined;
    table(r.table).columns.push({
      name: r.name,
      type: r.type,
      ...(enumName ? { enumName } : {}),
      isArray: r.is_array,
      notNull: r.not_null,
      ...(r.default !== null ? { default: r.default } : {}),
    });
  }
  for (const r of indexRows.rows) {
    table(r.table).indexes.push({
      name: r.name,
      unique: r.unique,
      primary: r.primary,
      method: r.method,
      // indoption bit 0 is DESC.
      keys: r.columns.map((column, i) => ({
        ...(column ? { column } : {}),
        descending: ((r.options[i] ?? 0) & 1) === 1,
      })),
      expressible: r.expressible && r.columns.every((c) => c !== null),
      definition: r.definition,
    });
  }
  for (const r of fkRows.rows) {
    table(r.table).foreignKeys.push({
      name: r.name,
      columns: r.columns,
      referencedTable: r.referenced_table,
      referencedColumns: r.referenced_columns,
      onDelete: ACTIONS[r.on_delete] ?? "NoAction",
      onUpdate: ACTIONS[r.on_update] ?? "NoAction",
    });
  }
  for (const r of checkRows.rows) table(r.table).checks[r.name] = r.definition;
  // Tables in creation order (the columns query's order), so the schema reads in the migrations' order.
  return { enums, tables: [...tables.values()] };
}
