// What a table holds today, read-only: how many embedded rows of each dimension, and the vector indexes
// named after it that exist (valid or left INVALID by an interrupted concurrent build), with what a count
// index's interrupted rebuild left.
import type { ClientBase } from "pg";
import {
  prefilterIndexStateSql,
  signBitsTriggerStateSql,
  type PrefilterIndexState,
  type SignBitsTriggerState,
} from "../search/prefilter";
import { literal } from "../sql";
import type { EmbeddedRowChanges } from "../seeds/seeded-row-changes";
import { countIndexStateSql, type CountIndexReading } from "./count-index";
import { quoteIdent, rebuildName, type EmbeddingTable } from "./spec";

export interface LiveIndex {
  name: string;
  valid: boolean;
  /** pg_get_indexdef */
  definition: string;
  /** pg_class.relfilenode: new storage after a table rewrite or a REINDEX (compared with the record's). */
  relfilenode: number;
}

export interface TableInventory {
  table: EmbeddingTable;
  /** False while the table's migration is pending. */
  exists: boolean;
  /** Row-level security hides rows from this role (a read-only login running plan): counts mean nothing. */
  rowsHidden: boolean;
  /** Embedded rows per dimension (rowsByDimensionSql), largest count first. */
  rowsByDimension: Map<number, number>;
  /**
   * The largest tenants' embedded rows per dimension (largestTenantsSql), largest first; empty before the
   * table has its tenant column.
   */
  largestTenants: Map<number, TenantRows[]>;
  /** The table's indexes the step builds or drops (stepIndexSql), by name. */
  indexes: Map<string, LiveIndex>;
  /** The b-tree the counts come from (count-index.ts); absent while the table does not exist. */
  countIndex?: CountIndexReading;
  /** The trigger keeping the table's sign bits for the search's prefilter; absent for a table without one. */
  signBitsTrigger?: SignBitsTriggerState;
  /** The search's prefilter b-tree (search/prefilter.ts); absent for a table without one. */
  prefilterIndex?: PrefilterIndexState;
}

/**
 * The embedded rows of each dimension, as (dimension, rows): rows come from each row's "EmbeddingSpace" (the
 * migration's trigger keeps every vector the dimension of its space). One definition for readInventory and the
 * step's single-statement read. Whether a row has its embedding is only in the row, a heap page each since
 * 20261203100000_embeddings_stored_inline.sql; the planner answers this from the table's count index
 * (count-index.ts: a b-tree over the embedded rows only) with an index-only scan once the step has built it,
 * and reads the whole heap before that. Counting rows still waiting for their embedding would be wrong: an
 * IVFFlat index would be sized for, and trained on, vectors that are not there (docs/vector-indexes.md).
 */
/**
 * A condition on `c.relname` (pg_class of an index on the table) that holds for the indexes the step builds
 * or drops: the table's vector indexes (their names start with its index name) and a rebuild's leftover of
 * its count index, which an interrupted rebuild leaves under its temporary name (count-index.ts).
 */
export function stepIndexSql(table: EmbeddingTable): string {
  return (
    `(starts_with(c.relname, ${literal(table.indexName)}) ` +
    `OR c.relname = ${literal(rebuildName(table.countIndexName))})`
  );
}

export function rowsByDimensionSql(table: EmbeddingTable): string {
  // Counted per space first, then joined: the join then sees one row per space, not one per table row
  // (44 -> 18 ms on 100,000 rows with the count index, in one busy run each).
  const space = quoteIdent(table.spaceColumn);
  return `SELECT s."dimension" AS dimension, sum(t.rows)::bigint AS rows
            FROM (SELECT ${space} AS space, count(*) AS rows FROM ${quoteIdent(table.table)}
                   WHERE ${quoteIdent(table.column)} IS NOT NULL GROUP BY ${space}) t
            JOIN "EmbeddingSpace" s ON s."id" = t.space
           GROUP BY s."dimension"`;
}

/** A tenant's embedded rows of one dimension. */
export interface TenantRows {
  organizationId: string;
  rows: number;
}

/** How many of each dimension's largest tenants are read: enough to name those grown past a threshold. */
const LARGEST_TENANTS = 20;

/**
 * The LARGEST_TENANTS largest tenants of each dimension by embedded rows, as (dimension, org, rows): what the
 * search's exact threshold is compared with (search/crossed-threshold.ts). From the same index-only scan of the
 * count index as rowsByDimensionSql, grouped by tenant and space first. Only for a table with its tenant column.
 */
export function largestTenantsSql(table: EmbeddingTable): string {
  const space = quoteIdent(table.spaceColumn);
  const tenant = quoteIdent(table.tenantColumn);
  return `SELECT r.dimension, r.org, r.rows FROM (
            SELECT s."dimension" AS dimension, t.org, sum(t.rows)::bigint AS rows,
                   row_number() OVER (PARTITION BY s."dimension" ORDER BY sum(t.rows) DESC, t.org) AS rank
              FROM (SELECT ${tenant} AS org, ${space} AS space, count(*) AS rows FROM ${quoteIdent(table.table)}
                     WHERE ${quoteIdent(table.column)} IS NOT NULL GROUP BY 1, 2) t
              JOIN "EmbeddingSpace" s ON s."id" = t.space
             GROUP BY s."dimension", t.org) r
           WHERE r.rank <= ${LARGEST_TENANTS}`;
}

/** (dimension, org, rows) rows, as largestTenantsSql gives them, by dimension, largest first. */
export function largestTenantsByDimension(
  rows: readonly (readonly [number, string, number | string])[],
): Map<number, TenantRows[]> {
  const byDimension = new Map<number, TenantRows[]>();
  for (const [dimension, organizationId, count] of rows) {
    const list = byDimension.get(dimension) ?? [];
    list.push({ organizationId, rows: Number(count) });
    byDimension.set(dimension, list);
  }
  for (const list of byDimension.values()) list.sort((a, b) => b.rows - a.rows);
  return byDimension;
}

/**
 * The table's rows per dimension and its vector indexes. `actingAs`: the --owner-role plan judges the count
 * index's build for (countIndexStateSql).
 */
export async function readInventory(
  client: ClientBase,
  table: EmbeddingTable,
  actingAs?: string,
): Promise<TableInventory> {
  const triggerSql = signBitsTriggerStateSql(table.table);
  const prefilterIndexSql = prefilterIndexStateSql(table.table);
  const found = await client.query<{
    ok: boolean;
    hidden: boolean | null;
    count_index: CountIndexReading | null;
    sign_bits: SignBitsTriggerState | null;
    prefilter_index: PrefilterIndexState | null;
  }>(
    `SELECT to_regclass($1) IS NOT NULL AND to_regclass('"EmbeddingSpace"') IS NOT NULL AS ok,
            row_security_active(to_regclass($1)) AS hidden, ${countIndexStateSql(table, actingAs)} AS count_index,
            ${triggerSql ?? "NULL"} AS sign_bits, ${prefilterIndexSql ?? "NULL"} AS prefilter_index`,
    [quoteIdent(table.table)],
  );
  const countIndex = found.rows[0]?.count_index ?? undefined;
  const signBitsTrigger = found.rows[0]?.sign_bits ?? undefined;
  const prefilterIndex = found.rows[0]?.prefilter_index ?? undefined;
  const empty = {
    table,
    rowsHidden: false,
    rowsByDimension: new Map<number, number>(),
    largestTenants: new Map<number, TenantRows[]>(),
    indexes: new Map<string, LiveIndex>(),
    ...(countIndex ? { countIndex } : {}),
    ...(signBitsTrigger ? { signBitsTrigger } : {}),
    ...(prefilterIndex ? { prefilterIndex } : {}),
  };
  if (!found.rows[0]?.ok) return { ...empty, exists: false };
  if (found.rows[0].hidden) return { ...empty, exists: true, rowsHidden: true };
  const counts = await client.query<{ dimension: number; rows: string }>(
    `SELECT c.dimension, c.rows FROM (${rowsByDimensionSql(table)}) c ORDER BY c.rows DESC, c.dimension`,
  );
  const largest = countIndex?.keyable
    ? await client.query<{ dimension: number; org: string; rows: string }>(largestTenantsSql(table))
    : { rows: [] };
  const indexes = await client.query<Omit<LiveIndex, "relfilenode"> & { relfilenode: string }>(
    `SELECT c.relname AS name, i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS definition,
            c.relfilenode::bigint AS relfilenode
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = $1::regclass AND ${stepIndexSql(table)}`,
    [quoteIdent(table.table)],
  );
  return {
    table,
    exists: true,
    rowsHidden: false,
    rowsByDimension: new Map(counts.rows.map((r) => [r.dimension, Number(r.rows)])),
    largestTenants: largestTenantsByDimension(largest.rows.map((r) => [r.dimension, r.org, r.rows] as const)),
    indexes: new Map(indexes.rows.map((r) => [r.name, { ...r, relfilenode: Number(r.relfilenode) }])),
    ...(countIndex ? { countIndex } : {}),
    ...(signBitsTrigger ? { signBitsTrigger } : {}),
    ...(prefilterIndex ? { prefilterIndex } : {}),
  };
}

/**
 * The inventory as the vector-index step finds it after the steps before it load `seeded` (how the seed sets
 * change the table's embedded rows: core/seeds/seeded-row-changes.ts, or all of theirs on a table the Prisma-era
 * upgrade leaves empty), which plan decides on since apply loads the seed sets first. Each dimension's rows plus
 * the seeded change, largest count first as rowsByDimensionSql orders them (the first is the main dimension),
 * none left at 0; and the largest tenants plus each tenant's change, once the table has its tenant column (as
 * readInventory reads them), largest first as largestTenantsSql orders them. A tenant outside the
 * LARGEST_TENANTS read is counted from its seeded rows alone: what it holds already is below the last one read,
 * not known.
 */
export function withSeededRows(
  inventory: TableInventory,
  seeded: EmbeddedRowChanges | undefined,
): TableInventory {
  if (!seeded || !inventory.exists || inventory.rowsHidden) return inventory;
  if (seeded.byDimension.size === 0 && seeded.byTenant.size === 0) return inventory;
  const rows = new Map(inventory.rowsByDimension);
  for (const [dimension, change] of seeded.byDimension) {
    rows.set(dimension, (rows.get(dimension) ?? 0) + change);
  }
  const largestTenants = new Map(inventory.largestTenants);
  if (inventory.countIndex?.keyable) {
    for (const [dimension, changes] of seeded.byTenant) {
      const tenants = new Map(
        (largestTenants.get(dimension) ?? []).map((t) => [t.organizationId, t.rows] as const),
      );
      for (const [tenant, change] of changes) tenants.set(tenant, (tenants.get(tenant) ?? 0) + change);
      largestTenants.set(
        dimension,
        [...tenants]
          .filter(([, n]) => n > 0)
          .sort(([oa, a], [ob, b]) => b - a || (oa < ob ? -1 : oa > ob ? 1 : 0))
          .map(([organizationId, n]) => ({ organizationId, rows: n })),
      );
    }
  }
  return {
    ...inventory,
    rowsByDimension: new Map([...rows].filter(([, n]) => n > 0).sort(([da, a], [db, b]) => b - a || da - db)),
    largestTenants,
  };
}

/** Embedded rows of one dimension, counted now (after a build, to record what it covered). */
export async function countRows(
  client: ClientBase,
  table: EmbeddingTable,
  dimension: number,
): Promise<number> {
  const result = await client.query<{ rows: string }>(
    `SELECT c.rows FROM (${rowsByDimensionSql(table)}) c WHERE c.dimension = $1`,
    [dimension],
  );
  return Number(result.rows[0]?.rows ?? 0);
}
