// Vector indexes of their own for the largest tenants (migration 20261202060000_tenant_search_indexes.sql).
//
// Under a tenant filter that keeps a large share of a dimension's rows, neither path of the search functions
// is fast: exact search reads all of the tenant's vectors, and the dimension's index, filtered, needs a far
// larger setting than unfiltered to keep recall for queries far from the tenant's topics. A partial HNSW
// index over one tenant's rows makes that tenant's search an unfiltered one. HNSW whatever the dimension's
// method: a tenant's index is small (its build costs the tenant's rows, not the table's), and it needs no
// `lists` to re-tune as the tenant grows.
//
// Which tenants: those holding at least TENANT_INDEX_MIN_SHARE of the dimension's rows (so at most ten per
// dimension, and together no more rows than the dimension's own index) and more rows than the dimension's
// exact threshold. Each is kept only when, calibrated, it reaches the target recall and beats exact search
// over the tenant; search_tenant_indexes() lists the kept ones with their exact threshold and ef_search.
import { createHash } from "node:crypto";
import type { ClientBase } from "pg";
import { literal } from "../sql";
import {
  dropIndexConcurrently,
  dropListedIndex,
  indexListSql,
  indexListSupported,
  readIndexList,
  saveIndexList,
  type IndexList,
} from "./index-lists";
import { hnswGraphBytes } from "../vector-indexes/memory";
import {
  HNSW_DEFAULT_EF_CONSTRUCTION,
  HNSW_DEFAULT_M,
  indexExpression,
  indexPredicate,
  operatorClass,
  quoteIdent,
  type EmbeddingTable,
  type IndexDefinition,
} from "../vector-indexes/spec";

/** A tenant with at least this share of a dimension's rows may get an index of its own. */
export const TENANT_INDEX_MIN_SHARE = 0.1;
/** The build's maintenance_work_mem is raised to the graph's estimate, up to this (MB); above, it goes on disk. */
const TENANT_INDEX_MAX_MEMORY_MB = 1024;

export interface TenantIndexEntry {
  table: string;
  dimension: number;
  organizationId: string;
  indexName: string;
  /** Visible rows up to which the tenant's search stays exact (a dataset filter can narrow it that far). */
  exactRows: number;
  efSearch: number;
}

/** The prefix of every tenant index of a table: never the dimension's index's own prefix (inventory.ts). */
export function tenantIndexPrefix(table: EmbeddingTable): string {
  return `idx_${table.table.toLowerCase()}_tenant_`;
}

/** 12 hex of the organization's id: an index name stays within PostgreSQL's 63 bytes, whatever the id. */
export function organizationHash(organizationId: string): string {
  return createHash("sha256").update(organizationId).digest("hex").slice(0, 12);
}

/** `idx_chunk_tenant_1536_<12 hex of the organization>`. */
export function tenantIndexName(table: EmbeddingTable, dimension: number, organizationId: string): string {
  return `${tenantIndexPrefix(table)}${dimension}_${organizationHash(organizationId)}`;
}

/**
 * The tenants large enough for a structure of their own (a tenant index, or a graph over their sign bits),
 * largest first: at least `minShare` of the rows, and not all of them.
 */
export function largeTenants(
  tenants: readonly { organizationId: string; rows: number }[],
  minShare: number = TENANT_INDEX_MIN_SHARE,
): { organizationId: string; rows: number }[] {
  const total = tenants.reduce((a, b) => a + b.rows, 0);
  // One tenant alone is the dimension's index's own case: nothing to gain from a copy of it.
  if (tenants.length < 2 || total === 0) return [];
  return tenants
    .filter((t) => t.rows / total >= minShare && t.rows < total)
    .sort((a, b) => b.rows - a.rows || a.organizationId.localeCompare(b.organizationId));
}

/** The tenants that qualify for an index of their own, largest first: large, more rows than `exactRows`. */
export function tenantIndexCandidates(
  tenants: readonly { organizationId: string; rows: number }[],
  options: { exactRows: number; minShare?: number },
): { organizationId: string; rows: number }[] {
  return largeTenants(tenants, options.minShare).filter((t) => t.rows > options.exactRows);
}

/** CREATE INDEX of one tenant's partial HNSW index: the dimension's expression, predicate and the tenant. */
export function tenantIndexSql(
  definition: Pick<IndexDefinition, "table" | "dimension">,
  organizationId: string,
  options: { concurrently: boolean },
): string {
  const { table, dimension } = definition;
  const tenant = literal(organizationId);
  return [
    `CREATE INDEX${options.concurrently ? " CONCURRENTLY" : ""}`,
    quoteIdent(tenantIndexName(table, dimension, organizationId)),
    `ON ${quoteIdent(table.table)} USING hnsw`,
    `(${indexExpression(table, dimension)} ${operatorClass(dimension)})`,
    `WITH (m = ${HNSW_DEFAULT_M}, ef_construction = ${HNSW_DEFAULT_EF_CONSTRUCTION})`,
    `WHERE ${indexPredicate(table, dimension)} AND "organizationId" = ${tenant}`,
  ].join(" ");
}

/** The tenant indexes of a table that exist (valid or left INVALID by an interrupted build), by name. */
export async function liveTenantIndexes(
  client: ClientBase,
  table: EmbeddingTable,
): Promise<Map<string, { valid: boolean }>> {
  return liveIndexesNamed(client, table, tenantIndexPrefix(table));
}

/**
 * PostgreSQL's estimate of the rows of the index whose oid `indexOid` gives (pg_class.reltuples), as a SQL
 * expression: a bigint, NULL when the index is gone or has no estimate (-1, never set).
 */
export function indexRowsEstimateSql(indexOid: string): string {
  return `(SELECT round(r.reltuples)::bigint FROM pg_class r WHERE r.oid = ${indexOid} AND r.reltuples >= 0)`;
}

/**
 * An index's estimate of its rows now (indexRowsEstimateSql), null when it has none. The growth check of a
 * tenant's own index compares the estimate then, which the calibration records, with the estimate now
 * (listed-indexes.ts): an estimate with an estimate, so a count that the estimate has not caught up with yet
 * (rows deleted, not yet vacuumed or analyzed) does not read as growth.
 */
export async function indexRowsEstimate(client: ClientBase, indexName: string): Promise<number | null> {
  const result = await client.query<{ n: string | null }>(
    `SELECT ${indexRowsEstimateSql("to_regclass($1)")} AS n`,
    [quoteIdent(indexName)],
  );
  const n = result.rows[0]?.n;
  return n === undefined || n === null ? null : Number(n);
}

/** An index's storage (pg_class.relfilenode) by its oid, as an SQL expression: a bigint, NULL when it is gone. */
export function indexStorageSql(indexOid: string): string {
  return `(SELECT r.relfilenode::bigint FROM pg_class r WHERE r.oid = ${indexOid})`;
}

/**
 * An index's storage now (indexStorageSql), null when it is gone: recorded with its calibration, so that a
 * REINDEX of it alone since is seen (listed-indexes.ts, rebuiltListedIndexes).
 */
export async function indexStorage(client: ClientBase, indexName: string): Promise<number | null> {
  const result = await client.query<{ n: string | null }>(
    `SELECT ${indexStorageSql("to_regclass($1)")} AS n`,
    [quoteIdent(indexName)],
  );
  const n = result.rows[0]?.n;
  return n === undefined || n === null ? null : Number(n);
}

/** A table's indexes whose names start with `prefix` (valid or INVALID), by name. */
export async function liveIndexesNamed(
  client: ClientBase,
  table: EmbeddingTable,
  prefix: string,
): Promise<Map<string, { valid: boolean }>> {
  const result = await client.query<{ name: string; valid: boolean }>(
    `SELECT c.relname AS name, i.indisvalid AS valid
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = $1::regclass AND starts_with(c.relname, $2)`,
    [quoteIdent(table.table), prefix],
  );
  return new Map(result.rows.map((r) => [r.name, { valid: r.valid }]));
}

/**
 * Builds one tenant's index (concurrently: app writes go on), replacing an INVALID one an interrupted build
 * left. Returns how long the build took, in ms.
 */
export async function buildTenantIndex(
  client: ClientBase,
  definition: Pick<IndexDefinition, "table" | "dimension">,
  tenant: { organizationId: string; rows: number },
): Promise<number> {
  const name = tenantIndexName(definition.table, definition.dimension, tenant.organizationId);
  await dropIndexConcurrently(client, name);
  const needMb = Math.ceil(
    hnswGraphBytes({ rows: tenant.rows, dimension: definition.dimension, m: HNSW_DEFAULT_M }) / 2 ** 20,
  );
  const started = Date.now();
  await client.query(
    `SET maintenance_work_mem = '${Math.min(TENANT_INDEX_MAX_MEMORY_MB, Math.max(64, needMb))}MB'`,
  );
  try {
    await client.query(tenantIndexSql(definition, tenant.organizationId, { concurrently: true }));
  } catch (error) {
    await dropIndexConcurrently(client, name).catch(() => {});
    throw error;
  } finally {
    await client.query("RESET maintenance_work_mem");
  }
  return Date.now() - started;
}

/** The list of the kept tenant indexes, with each one's exact threshold: search_tenant_indexes(). */
export const TENANT_INDEX_LIST: IndexList<"exactRows"> = {
  fn: "search_tenant_indexes",
  column: "exact_rows",
  key: "exactRows",
};

/** Drops a tenant's own index without blocking the table's writes, after taking it off its list. */
export async function dropTenantIndex(client: ClientBase, name: string): Promise<void> {
  await dropListedIndex(client, TENANT_INDEX_LIST, name);
}

/** CREATE OR REPLACE of search_tenant_indexes() listing exactly `entries`. */
export function searchTenantIndexesSql(entries: readonly TenantIndexEntry[]): string {
  return indexListSql(TENANT_INDEX_LIST, entries);
}

/** Whether the database has the tenant indexes' list (its migrations may stop before it). */
export async function tenantIndexesSupported(client: ClientBase): Promise<boolean> {
  return indexListSupported(client, TENANT_INDEX_LIST);
}

/** What search_tenant_indexes() lists today. */
export async function readTenantIndexes(client: ClientBase): Promise<TenantIndexEntry[]> {
  return readIndexList(client, TENANT_INDEX_LIST);
}

export async function saveTenantIndexes(
  client: ClientBase,
  entries: readonly TenantIndexEntry[],
): Promise<void> {
  await saveIndexList(client, TENANT_INDEX_LIST, entries);
}
