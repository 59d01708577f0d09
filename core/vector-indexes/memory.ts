// The maintenance_work_mem an index build needs, computed before the build starts.
//
// IVFFlat: k-means runs on a sample of max(10,000, 50 x lists) rows held in memory, and pgvector refuses to
// start it when its arrays exceed maintenance_work_mem ("memory required is 65 MB, maintenance_work_mem is
// 64 MB"): 10,000 samples of 1536 dimensions alone are 61.5 MB. The sizes below are pgvector 0.8.0's own
// (ElkanKmeans in src/ivfkmeans.c, sample size in ComputeCenters, src/ivfbuild.c) and reproduce the figures
// its error message reports.
// HNSW: the graph is built in maintenance_work_mem; when it does not fit, pgvector says so in a NOTICE and
// goes on on disk, much slower (https://github.com/pgvector/pgvector#index-build-time). There the size is
// an estimate, and too little memory is a warning, not a failure.
import { count } from "./lists";
import type { IndexDefinition } from "./spec";
import { indexedType } from "./spec";

const MiB = 1024 * 1024;
const MAXALIGN = (n: number) => Math.ceil(n / 8) * 8;
/** sizeof(VectorArrayData) */
const VECTOR_ARRAY_HEADER = 32;
const FLOAT4 = 4;
const INT4 = 4;

/** Headroom over the k-means arrays, for allocator overhead that some pgvector releases also count. */
export const KMEANS_HEADROOM = 1.1;
/** PostgreSQL gives a parallel build's participants at least 32 MB each, or fewer workers (plan_create_index_workers). */
export const MIN_MB_PER_PARTICIPANT = 32;

/** Bytes of one vector as the index stores it: header plus 4-byte (`vector`) or 2-byte (`halfvec`) floats. */
export function itemBytes(dimension: number): number {
  return MAXALIGN(8 + (indexedType(dimension) === "vector" ? 4 : 2) * dimension);
}

/** k-means samples max(10,000, 50 x lists) rows (ComputeCenters). */
export function kmeansSampleSize(lists: number): number {
  return Math.max(10_000, lists * 50);
}

/**
 * Bytes pgvector's k-means checks against maintenance_work_mem, or 0 when it does not run it (no more
 * sampled rows than lists: the rows become the centers as they are).
 */
export function ivfflatKmeansBytes(input: { rows: number; lists: number; dimension: number }): number {
  const { lists, dimension } = input;
  const maxSamples = kmeansSampleSize(lists);
  const samples = Math.min(maxSamples, input.rows);
  if (samples <= lists) return 0;
  const item = itemBytes(dimension);
  const arrayOf = (n: number) => VECTOR_ARRAY_HEADER + n * item;
  return (
    arrayOf(maxSamples) + // the samples
    2 * arrayOf(lists) + // centers and new centers
    FLOAT4 * lists * dimension + // per-center sums
    INT4 * lists + // center counts
    INT4 * samples + // closest center of each sample
    FLOAT4 * samples * lists + // lower bounds
    FLOAT4 * samples + // upper bounds
    FLOAT4 * lists + // s
    FLOAT4 * lists * lists + // half distances between centers
    FLOAT4 * lists // center moves
  );
}

/** Allocations under 8 kB are rounded up to a power of two by PostgreSQL's allocator. */
function allocated(bytes: number): number {
  return bytes >= 8192 ? bytes + 16 : 2 ** Math.ceil(Math.log2(Math.max(bytes, 8)));
}

/**
 * Estimated bytes of an HNSW graph held in memory: per row the vector, the element, and its neighbor lists
 * (2m candidates of 16 bytes on layer 0; upper layers hold 1/m of the rows and add little).
 */
export function hnswGraphBytes(input: { rows: number; dimension: number; m: number }): number {
  const perRow = allocated(itemBytes(input.dimension)) + 256 + allocated(16 * 2 * input.m + 16) + 64;
  return Math.ceil(input.rows * perRow * 1.1);
}

export interface MemoryNeed {
  /** maintenance_work_mem the build should have, in MB. */
  mb: number;
  /** IVFFlat fails below it; HNSW only builds slower. */
  hard: boolean;
  /** What needs it, in words. */
  what: string;
}

export function buildMemoryNeed(definition: IndexDefinition, rows: number): MemoryNeed {
  const { dimension, params } = definition;
  if ("lists" in params) {
    const bytes = ivfflatKmeansBytes({ rows, lists: params.lists, dimension });
    return {
      mb: Math.ceil((bytes * KMEANS_HEADROOM) / MiB),
      hard: true,
      what: `k-means over ${count(Math.min(rows, kmeansSampleSize(params.lists)))} sampled rows`,
    };
  }
  return {
    mb: Math.ceil(hnswGraphBytes({ rows, dimension, m: params.m }) / MiB),
    hard: false,
    what: `the HNSW graph of ${count(rows)} rows`,
  };
}

export interface MemoryChoice {
  /** The maintenance_work_mem for the build in MB, or undefined to keep the session's. */
  setMb: number | undefined;
  /** Parallel workers that the memory allows (PostgreSQL drops workers below 32 MB per participant). */
  workers: number;
  /** Set when the bound keeps an HNSW build below its need: it goes on, on disk. */
  shortfall?: string;
}

/**
 * The setting for one build: never below the server's own, raised to what the build needs (and to 32 MB per
 * participant of a parallel build), never above `boundMb`. Throws nothing: a hard need above the bound is
 * reported by `memoryProblem` before any build starts.
 */
export function chooseMemory(input: {
  need: MemoryNeed;
  serverMb: number;
  boundMb: number;
  workers: number;
}): MemoryChoice {
  const { need, serverMb, boundMb } = input;
  let workers = input.workers;
  const cap = Math.max(serverMb, boundMb);
  while (workers > 0 && MIN_MB_PER_PARTICIPANT * (workers + 1) > cap) workers--;
  const wanted = Math.max(need.mb, workers > 0 ? MIN_MB_PER_PARTICIPANT * (workers + 1) : 0);
  const mb = Math.min(Math.max(serverMb, wanted), cap);
  const shortfall =
    !need.hard && need.mb > mb
      ? `${need.what} needs about ${need.mb} MB of maintenance_work_mem, above the bound of ${boundMb} MB: the build goes on disk and takes much longer`
      : undefined;
  return { setMb: mb > serverMb ? mb : undefined, workers, shortfall };
}

/** Why a build cannot start with the memory the bound allows, or undefined when it can. */
export function memoryProblem(need: MemoryNeed, serverMb: number, boundMb: number): string | undefined {
  if (!need.hard || need.mb <= Math.max(serverMb, boundMb)) return undefined;
  return `${need.what} needs ${need.mb} MB of maintenance_work_mem, above the bound of ${boundMb} MB (the server's setting is ${serverMb} MB)`;
}

/** PostgreSQL's largest maintenance_work_mem (MAX_KILOBYTES on 64-bit servers), in kB. */
export const MAINTENANCE_WORK_MEM_MAX_KB = 2_147_483_647;

/** The largest bound a release may set, in whole MB: what maintenance_work_mem can hold. */
export const MAINTENANCE_WORK_MEM_MAX_MB = Math.floor(MAINTENANCE_WORK_MEM_MAX_KB / 1024);

/** "1GB", "512MB", "65536kB" or a number of MB, as MB. Undefined when it is none of these. */
export function parseMemoryMb(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) && value > 0 ? Math.ceil(value) : undefined;
  const match = /^\s*(\d+)\s*(kB|MB|GB|TB)?\s*$/i.exec(value);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = (match[2] ?? "MB").toUpperCase();
  const factor = { KB: 1 / 1024, MB: 1, GB: 1024, TB: 1024 * 1024 }[unit] ?? 1;
  const mb = Math.ceil(amount * factor);
  return mb > 0 ? mb : undefined;
}
