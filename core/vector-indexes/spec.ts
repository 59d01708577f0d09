// What a vector index is: the table and column it covers, under which name, with which method and
// parameters, and the SQL that builds it and the SQL that uses it.
//
// Embedding columns are `vector` without a dimension (see migrations/20250126000500_embedding_spaces.sql), and
// pgvector can only index a column of known dimension. So each index covers one dimension, through an
// expression with that dimension and a predicate that keeps the other rows out:
//   ((embedding::vector(1536)) vector_cosine_ops) ... WHERE vector_dims(embedding) = 1536
// `vector` indexes up to 2,000 dimensions; above, up to 4,000, the expression is `halfvec(n)` (2-byte floats):
// https://github.com/pgvector/pgvector#half-precision-indexing
import { sha256 } from "../checksum";
import { quoteIdentifier } from "../identifiers";

export type IndexMethod = "ivfflat" | "hnsw";

/** The most dimensions a `vector` index can cover; `halfvec` goes to HALFVEC_MAX_INDEX_DIM. */
export const VECTOR_MAX_INDEX_DIM = 2000;
export const HALFVEC_MAX_INDEX_DIM = 4000;
/** halfvec's largest finite value: an embedding indexed as halfvec must keep every component within ±this. */
export const HALFVEC_MAX_VALUE = 65504;
/**
 * The largest magnitude halfvec rounds to 0: half its smallest value (the subnormal 2^-24, ~6e-8), where the
 * tie rounds to even, 0. An embedding of more than VECTOR_MAX_INDEX_DIM dimensions whose every component is
 * within ±this is the zero halfvec in its index, which no search through the index finds: the dimension
 * trigger refuses it (migration 20261206160000, by the cast itself: its test holds the cast to this bound), and
 * load-chunks before it is sent.
 */
export const HALFVEC_ZERO_BOUND = 2 ** -25;
/**
 * How the trigger (migration 20261206200000, its test holds it to this), load-chunks and health say, after
 * "every", that an embedding's components are within ±HALFVEC_ZERO_BOUND.
 */
export const HALFVEC_ZERO_WORDS = `embedding value is at most ${HALFVEC_ZERO_BOUND.toPrecision(3)} in magnitude`;

/** pgvector's HNSW defaults (https://github.com/pgvector/pgvector#index-options). */
export const HNSW_DEFAULT_M = 16;
export const HNSW_DEFAULT_EF_CONSTRUCTION = 64;

/** A table whose embeddings get cosine indexes: one per dimension present in its rows. */
export interface EmbeddingTable {
  /** The index's base name (the app's), given to the index of the table's main dimension. */
  indexName: string;
  table: string;
  column: string;
  /** The column naming each row's "EmbeddingSpace" (whose "dimension" the row's vector has). */
  spaceColumn: string;
  /** The column naming each row's organization (migration 20261202030000), which row-level security reads. */
  tenantColumn: string;
  /**
   * The parent whose tenant a row takes: the trigger of migration 20261202030000 sets the row's tenant column to
   * the parent's (`table`, whose tenant column has the same name), found by the row's `column` naming its `key`.
   */
  tenantParent: { table: string; column: string; key: string };
  idColumn: string;
  /** The b-tree that counts the embedded rows per tenant and space (core/vector-indexes/count-index.ts). */
  countIndexName: string;
}

export const EMBEDDING_TABLES: readonly EmbeddingTable[] = [
  {
    indexName: "idx_chunk_embedding_cosine",
    table: "Chunk",
    column: "embedding",
    spaceColumn: "embeddingSpaceId",
    tenantColumn: "organizationId",
    tenantParent: { table: "Dataset", column: "datasetId", key: "id" },
    idColumn: "id",
    countIndexName: "idx_chunk_embedded_rows",
  },
  {
    indexName: "idx_message_embedding_cosine",
    table: "Message",
    column: "embedding",
    spaceColumn: "embeddingSpaceId",
    tenantColumn: "organizationId",
    tenantParent: { table: "Conversation", column: "conversationId", key: "id" },
    idColumn: "id",
    countIndexName: "idx_message_embedded_rows",
  },
];

/** Whether `name` is a table's count index (count-index.ts): a b-tree of the release's, not a vector index. */
export function isCountIndexName(name: string): boolean {
  return EMBEDDING_TABLES.some((t) => t.countIndexName === name);
}

/** How one table's indexes are built (options, resolved with their defaults). */
export interface IndexSettings {
  method: IndexMethod;
  /** HNSW: connections per layer. */
  m: number;
  /** HNSW: candidate list size while building. */
  efConstruction: number;
  /** The dimension that gets the base name; others get a `_<dimension>` suffix. Unset: see mainDimension. */
  dimension?: number;
}

/** Method-specific build parameters, as recorded. */
export type IndexParams = { lists: number } | { m: number; efConstruction: number };

/** One index to build: a table, one dimension of its embeddings, method and parameters. */
export interface IndexDefinition {
  name: string;
  table: EmbeddingTable;
  dimension: number;
  method: IndexMethod;
  params: IndexParams;
}

export const quoteIdent = quoteIdentifier;

/** `vector` up to 2,000 dimensions, `halfvec` above (pgvector cannot index more than 4,000). */
export function indexedType(dimension: number): "vector" | "halfvec" {
  return dimension <= VECTOR_MAX_INDEX_DIM ? "vector" : "halfvec";
}

export function operatorClass(dimension: number): string {
  return `${indexedType(dimension)}_cosine_ops`;
}

/** The indexed expression, e.g. `("embedding"::vector(1536))`. Queries must order by the same one. */
export function indexExpression(table: EmbeddingTable, dimension: number): string {
  return `(${quoteIdent(table.column)}::${indexedType(dimension)}(${dimension}))`;
}

/** The predicate that keeps rows of other dimensions out. Queries must repeat it with the literal dimension. */
export function indexPredicate(table: EmbeddingTable, dimension: number): string {
  return `vector_dims(${quoteIdent(table.column)}) = ${dimension}`;
}

/** The base name for the main dimension, `<name>_<dimension>` for the others. */
export function indexNameFor(table: EmbeddingTable, dimension: number, main: boolean): string {
  return main ? table.indexName : `${table.indexName}_${dimension}`;
}

/** Where a rebuild puts the new index before it replaces the old one: `<name>_rebuild`. */
export const REBUILD_SUFFIX = "_rebuild";
export function rebuildName(name: string): string {
  return `${name}${REBUILD_SUFFIX}`;
}

/**
 * Whether an index of that name is what a rebuild stopped between its build and its swap left (a
 * CONCURRENTLY build killed leaves it INVALID): the step's temporary name for one of its indexes, which the
 * next apply drops before it builds anything. One rule for the step, health and the drift comparisons.
 */
export function isRebuildLeftover(indexName: string): boolean {
  return (
    indexName.endsWith(REBUILD_SUFFIX) &&
    EMBEDDING_TABLES.some(
      (t) => indexName.startsWith(t.indexName) || indexName === rebuildName(t.countIndexName),
    )
  );
}

/** What becomes of such a leftover: `apply` (the command as printed to run) drops it. */
export function rebuildLeftoverAction(apply = "`neonhub-db apply`"): string {
  return `${apply} drops it before it builds anything`;
}

/** What such a leftover is and what becomes of it, as health, plan, apply and verify say it. */
export const REBUILD_LEFTOVER = {
  problem: "left behind by an interrupted rebuild: written on every insert, never used by a query",
  action: rebuildLeftoverAction(),
} as const;

function withClause(params: IndexParams): string {
  return "lists" in params
    ? `WITH (lists = ${params.lists})`
    : `WITH (m = ${params.m}, ef_construction = ${params.efConstruction})`;
}

/** CREATE INDEX for a definition, under `name` (the definition's own, or a rebuild's temporary one). */
export function createIndexSql(
  definition: IndexDefinition,
  options: { name: string; concurrently: boolean },
) {
  const { table, dimension } = definition;
  return [
    `CREATE INDEX${options.concurrently ? " CONCURRENTLY" : ""} ${quoteIdent(options.name)}`,
    `ON ${quoteIdent(table.table)} USING ${definition.method}`,
    `(${indexExpression(table, dimension)} ${operatorClass(dimension)})`,
    withClause(definition.params),
    `WHERE ${indexPredicate(table, dimension)}`,
  ].join(" ");
}

/** The session setting that trades recall for speed at query time. */
export function searchSetting(method: IndexMethod): "ivfflat.probes" | "hnsw.ef_search" {
  return method === "ivfflat" ? "ivfflat.probes" : "hnsw.ef_search";
}

/**
 * The query apps write to use the index: the same expression, the same predicate with the dimension as a
 * literal (a bound parameter would not match the partial index), the cosine operator, ORDER BY + LIMIT.
 */
export function nearestQuery(table: EmbeddingTable, dimension: number, limit: number | string = 10): string {
  const type = `${indexedType(dimension)}(${dimension})`;
  return (
    `SELECT ${quoteIdent(table.idColumn)} FROM ${quoteIdent(table.table)} ` +
    `WHERE ${indexPredicate(table, dimension)} ` +
    `ORDER BY ${indexExpression(table, dimension)} <=> $1::${type} LIMIT ${limit}`
  );
}

/** The offline identity of a table's index settings, for the Pulumi manifest. */
export function settingsChecksum(
  table: EmbeddingTable,
  settings: IndexSettings,
  targetRecall: number,
): string {
  const identity = {
    table: table.table,
    column: table.column,
    opclass: "cosine",
    method: settings.method,
    ...(settings.method === "hnsw" ? { m: settings.m, efConstruction: settings.efConstruction } : {}),
    dimension: settings.dimension ?? null,
    targetRecall,
  };
  return sha256(JSON.stringify(identity));
}
