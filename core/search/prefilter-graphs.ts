// Graphs over the largest tenants' sign bits (migration 20261203180000_search_plans_reused.sql).
//
// The prefilter (prefilter.ts) reads every sign bit a tenant has from its b-tree: for the largest tenants that
// scan is most of the search (19,331 entries, 6-7.5 ms, in the benchmark). A partial HNSW index over one
// tenant's sign bits (pgvector's bit_hamming_ops) finds the nearest of them without reading them all; the
// search ranks that many rows by their exact distance, as the prefilter does. It is small (192 bytes a row
// for 1,536 dimensions: 9.5 MB and 2 s to build for that tenant) and, like a tenant index, built CONCURRENTLY
// by the release, calibrated on the tenant's held-out queries of both kinds, and kept only when it reaches
// the target and is faster than the b-tree for that tenant. search_prefilter_graphs() lists the kept ones.
import type { ClientBase } from "pg";
import { literal } from "../sql";
import { dropInvalid } from "../vector-indexes/build";
import { quoteIdent, type EmbeddingTable } from "../vector-indexes/spec";
import {
  dropIndexConcurrently,
  dropListedIndex,
  indexListSql,
  indexListSupported,
  readIndexList,
  saveIndexList,
  type IndexList,
} from "./index-lists";
import { liveIndexesNamed, organizationHash, tenantIndexPrefix } from "./tenant-indexes";

/** A graph's depth (candidates ranked exactly, for k = 10) is this many times the b-tree prefilter's. */
export const PREFILTER_GRAPH_DEPTH_FACTOR = 2;

/** A kept graph, as the calibration records it and status shows it. */
export interface PrefilterGraphFacts {
  organizationId: string;
  rows: number;
  /** The graph's storage when it was calibrated (pg_class.relfilenode); absent in records made before it. */
  relfilenode?: number;
  indexName: string;
  depth: number;
  efSearch: number;
  /** Mean recall@10 of the query kind with the lower bound, at the chosen setting. */
  recall: number;
  /** p50 of the slower query kind through the graph, and through the prefilter's b-tree. */
  latencyP50Ms: number;
  prefilterP50Ms: number;
  /** Set when this calibration built it. */
  buildMs?: number;
}

export interface PrefilterGraphEntry {
  table: string;
  dimension: number;
  organizationId: string;
  indexName: string;
  /** Candidates taken from the graph and ranked exactly, for k = 10 (grown in proportion for a larger k). */
  depth: number;
  efSearch: number;
}

/**
 * `idx_chunk_tenant_bits_1536_<12 hex of the organization>`: under the tenant indexes' prefix, so that health
 * and status treat it as the tenant search's, never as a dimension's own tenant index (`..._tenant_1536_`).
 */
export function prefilterGraphName(table: EmbeddingTable, dimension: number, organizationId: string): string {
  return `${prefilterGraphPrefix(table)}${dimension}_${organizationHash(organizationId)}`;
}

export function prefilterGraphPrefix(table: EmbeddingTable): string {
  return `${tenantIndexPrefix(table)}bits_`;
}

/**
 * CREATE INDEX CONCURRENTLY of one tenant's graph. The predicate holds the tenant, and the bits' length so that
 * another dimension's rows (whose bits could not be cast to this bit(n)) stay out of it; search_chunks()
 * states both as literals so that the planner matches it.
 */
export function prefilterGraphSql(table: EmbeddingTable, dimension: number, organizationId: string): string {
  const n = Math.trunc(dimension);
  return (
    `CREATE INDEX CONCURRENTLY ${quoteIdent(prefilterGraphName(table, dimension, organizationId))} ` +
    `ON ${quoteIdent(table.table)} USING hnsw (("embeddingBits"::bit(${n})) bit_hamming_ops) ` +
    `WHERE "organizationId" = ${literal(organizationId)} AND "embeddingBits" IS NOT NULL ` +
    `AND length("embeddingBits") = ${n}`
  );
}

/** Builds one tenant's graph (replacing an INVALID one an interrupted build left); how long it took, in ms. */
export async function buildPrefilterGraph(
  client: ClientBase,
  table: EmbeddingTable,
  dimension: number,
  organizationId: string,
): Promise<number> {
  const name = prefilterGraphName(table, dimension, organizationId);
  await dropIndexConcurrently(client, name);
  const started = Date.now();
  try {
    await client.query(prefilterGraphSql(table, dimension, organizationId));
  } catch (error) {
    throw new Error(`${(error as Error).message}. ${await dropInvalid(client, name)}`, { cause: error });
  }
  return Date.now() - started;
}

/** The graphs of a table that exist (valid or INVALID), by name. */
export async function livePrefilterGraphs(
  client: ClientBase,
  table: EmbeddingTable,
): Promise<Map<string, { valid: boolean }>> {
  return liveIndexesNamed(client, table, prefilterGraphPrefix(table));
}

/** The list of the kept graphs, with each one's depth: search_prefilter_graphs(). */
export const PREFILTER_GRAPH_LIST: IndexList<"depth"> = {
  fn: "search_prefilter_graphs",
  column: "depth",
  key: "depth",
};

/** Drops a graph as dropTenantIndex() drops a tenant's own index: off search_prefilter_graphs() first. */
export async function dropPrefilterGraph(client: ClientBase, name: string): Promise<void> {
  await dropListedIndex(client, PREFILTER_GRAPH_LIST, name);
}

/** CREATE OR REPLACE of search_prefilter_graphs() listing exactly `entries`. */
export function searchPrefilterGraphsSql(entries: readonly PrefilterGraphEntry[]): string {
  return indexListSql(PREFILTER_GRAPH_LIST, entries);
}

/** Whether the database has search_prefilter_graphs() (its migrations may stop before it). */
export async function prefilterGraphsSupported(client: ClientBase): Promise<boolean> {
  return indexListSupported(client, PREFILTER_GRAPH_LIST);
}

/** What search_prefilter_graphs() lists today; none where the migrations stop before it. */
export async function readPrefilterGraphs(client: ClientBase): Promise<PrefilterGraphEntry[]> {
  return readIndexList(client, PREFILTER_GRAPH_LIST);
}

/** One line on a kept graph, for apply's log and status. */
export function describePrefilterGraph(g: PrefilterGraphFacts): string {
  const built = g.buildMs !== undefined ? ` (built in ${(g.buildMs / 1000).toFixed(1)} s)` : "";
  return (
    `tenant ${g.organizationId} (${g.rows.toLocaleString("en-US")} rows): graph over its sign bits ` +
    `${g.indexName}${built}, the ${g.depth} nearest at hnsw.ef_search = ${g.efSearch} ranked exactly; ` +
    `recall@10 ${g.recall}, p50 ${g.latencyP50Ms} ms (through the prefilter's b-tree ${g.prefilterP50Ms} ms)`
  );
}

export async function savePrefilterGraphs(
  client: ClientBase,
  entries: readonly PrefilterGraphEntry[],
): Promise<void> {
  await saveIndexList(client, PREFILTER_GRAPH_LIST, entries);
}
