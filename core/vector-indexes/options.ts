// The vector-index step's options (stack settings), validated and completed with their defaults.
import { ReleaseError } from "../errors";
import { parseMemoryMb } from "./memory";
import {
  EMBEDDING_TABLES,
  HALFVEC_MAX_INDEX_DIM,
  HNSW_DEFAULT_EF_CONSTRUCTION,
  HNSW_DEFAULT_M,
  type EmbeddingTable,
  type IndexMethod,
  type IndexSettings,
} from "./spec";

/** Per index (by the plan's name): method and HNSW parameters, and which dimension carries the name. */
export interface PerIndexOptions {
  method?: IndexMethod;
  m?: number;
  efConstruction?: number;
  dimension?: number;
}

/** Plain data, so that it can travel in Pulumi inputs. */
export interface VectorIndexOptions {
  /** Method of every index unless set per index (default ivfflat). */
  method?: IndexMethod;
  /** Per index, by the plan's name (idx_chunk_embedding_cosine, idx_message_embedding_cosine). */
  indexes?: Record<string, PerIndexOptions>;
  /** CREATE INDEX CONCURRENTLY: writes go on during builds (default false). */
  concurrently?: boolean;
  /** recall@10 the calibrated search setting must reach (default 0.95). */
  targetRecall?: number;
  /** The most maintenance_work_mem a build may raise its session to: MB, or "2GB" (default 1GB). */
  maxMaintenanceWorkMem?: number | string;
  /** Parallel workers for builds of tables with PARALLEL_MIN_ROWS rows or more (default 2). */
  parallelWorkers?: number;
  /** Rows of the table used as calibration queries (default 50). */
  calibrationQueries?: number;
  /** How often a build's progress is logged (default 10 s). */
  progressIntervalMs?: number;
}

export interface ResolvedOptions {
  tables: readonly { table: EmbeddingTable; settings: IndexSettings }[];
  concurrently: boolean;
  targetRecall: number;
  maxMemoryMb: number;
  parallelWorkers: number;
  calibrationQueries: number;
  progressIntervalMs: number;
}

export const DEFAULTS = {
  method: "ivfflat" as IndexMethod,
  targetRecall: 0.95,
  maxMaintenanceWorkMem: "1GB",
  parallelWorkers: 2,
  calibrationQueries: 50,
  progressIntervalMs: 10_000,
};

/**
 * Below this many rows a build is quick and worker start-up costs more than it saves. Above, 2 workers cut an
 * HNSW build of 100,000 x 1536 from 57 s to 33 s (docs/vector-indexes.md).
 */
export const PARALLEL_MIN_ROWS = 10_000;

function invalid(property: string, problem: string, fix: string): ReleaseError {
  return new ReleaseError("invalid-input", `vectorIndexes.${property} ${problem}`, fix);
}

function integerIn(
  property: string,
  value: number | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(property, `is ${value}`, `Use a whole number from ${min} to ${max}.`);
  }
  return value;
}

function method(property: string, value: unknown): IndexMethod | undefined {
  if (value === undefined || value === "ivfflat" || value === "hnsw") return value;
  throw invalid(property, `is ${JSON.stringify(value)}`, 'Use "ivfflat" or "hnsw".');
}

export function resolveOptions(options: VectorIndexOptions = {}): ResolvedOptions {
  const known = EMBEDDING_TABLES.map((t) => t.indexName);
  for (const name of Object.keys(options.indexes ?? {})) {
    if (!known.includes(name)) {
      throw invalid(`indexes.${name}`, "names no vector index", `Use one of: ${known.join(", ")}.`);
    }
  }
  const defaultMethod = method("method", options.method) ?? DEFAULTS.method;
  const tables = EMBEDDING_TABLES.map((table) => {
    const own = options.indexes?.[table.indexName] ?? {};
    const at = `indexes.${table.indexName}`;
    const m = integerIn(`${at}.m`, own.m, 2, 100) ?? HNSW_DEFAULT_M;
    const efConstruction =
      integerIn(`${at}.efConstruction`, own.efConstruction, 4, 1000) ?? HNSW_DEFAULT_EF_CONSTRUCTION;
    if (efConstruction < 2 * m) {
      throw invalid(
        `${at}.efConstruction`,
        `(${efConstruction}) is below 2 x m (${2 * m})`,
        "pgvector requires ef_construction >= 2 x m.",
      );
    }
    const settings: IndexSettings = {
      method: method(`${at}.method`, own.method) ?? defaultMethod,
      m,
      efConstruction,
      dimension: integerIn(`${at}.dimension`, own.dimension, 2, HALFVEC_MAX_INDEX_DIM),
    };
    return { table, settings };
  });
  const targetRecall = options.targetRecall ?? DEFAULTS.targetRecall;
  if (!(targetRecall > 0 && targetRecall <= 1)) {
    throw invalid("targetRecall", `is ${targetRecall}`, "Use a recall between 0 and 1, e.g. 0.95.");
  }
  const memory = options.maxMaintenanceWorkMem ?? DEFAULTS.maxMaintenanceWorkMem;
  const maxMemoryMb = parseMemoryMb(memory);
  if (maxMemoryMb === undefined) {
    throw invalid(
      "maxMaintenanceWorkMem",
      `is ${JSON.stringify(memory)}`,
      'Use MB as a number, or "512MB", "2GB".',
    );
  }
  return {
    tables,
    concurrently: options.concurrently ?? false,
    targetRecall,
    maxMemoryMb,
    parallelWorkers: integerIn("parallelWorkers", options.parallelWorkers, 0, 64) ?? DEFAULTS.parallelWorkers,
    calibrationQueries:
      integerIn("calibrationQueries", options.calibrationQueries, 1, 10_000) ?? DEFAULTS.calibrationQueries,
    progressIntervalMs:
      integerIn("progressIntervalMs", options.progressIntervalMs, 10, 3_600_000) ??
      DEFAULTS.progressIntervalMs,
  };
}
