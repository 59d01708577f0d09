// The vector-index step's options (stack settings), validated and completed with their defaults.
import { closestName } from "../closest-name";
import { SettingError } from "../errors";
import { MAINTENANCE_WORK_MEM_MAX_KB, MAINTENANCE_WORK_MEM_MAX_MB, parseMemoryMb } from "./memory";
import {
  EMBEDDING_TABLES,
  HALFVEC_MAX_INDEX_DIM,
  HNSW_DEFAULT_EF_CONSTRUCTION,
  HNSW_DEFAULT_M,
  type EmbeddingTable,
  type IndexMethod,
  type IndexSettings,
} from "./spec";

/** Per index (by its base name): method and HNSW parameters, and which dimension carries the name. */
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
  /** Per index, by its base name (idx_chunk_embedding_cosine, idx_message_embedding_cosine). */
  indexes?: Record<string, PerIndexOptions>;
  /** CREATE INDEX CONCURRENTLY: writes go on during builds (default false). */
  concurrently?: boolean;
  /** recall@10 the calibrated search setting must reach (default 0.95). */
  targetRecall?: number;
  /** The most maintenance_work_mem a build may raise its session to: MB, or "2GB" (default 1GB). */
  maxMaintenanceWorkMem?: number | string;
  /** Parallel workers for builds of tables with PARALLEL_MIN_ROWS rows or more (default 2). */
  parallelWorkers?: number;
  /** Held-out queries (not rows of the table) the calibration measures with (default 50). */
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

/** A refused option at `path` (under vectorIndexes), with a valid value of it as the example. */
function invalid(path: readonly string[], rule: string, value: unknown, example: unknown): SettingError {
  const at = ["vectorIndexes", ...path];
  return new SettingError(at, rule, { value }, { path: at, value: example });
}

type Kind = "method" | "boolean" | "number" | "integer" | "memory" | "object";

/** Every setting the step knows, with its kind and an example value (shown in errors). */
const SETTINGS: Record<keyof VectorIndexOptions, { kind: Kind; example: unknown }> = {
  method: { kind: "method", example: "hnsw" },
  indexes: { kind: "object", example: { idx_chunk_embedding_cosine: { method: "hnsw" } } },
  concurrently: { kind: "boolean", example: true },
  targetRecall: { kind: "number", example: 0.95 },
  maxMaintenanceWorkMem: { kind: "memory", example: "2GB" },
  parallelWorkers: { kind: "integer", example: 2 },
  calibrationQueries: { kind: "integer", example: 50 },
  progressIntervalMs: { kind: "integer", example: 10_000 },
};

const PER_INDEX_SETTINGS: Record<keyof PerIndexOptions, { kind: Kind; example: unknown }> = {
  method: { kind: "method", example: "hnsw" },
  m: { kind: "integer", example: 16 },
  efConstruction: { kind: "integer", example: 64 },
  dimension: { kind: "integer", example: 1536 },
};

const KIND_WORDS: Record<Kind, string> = {
  method: 'must be "ivfflat" or "hnsw"',
  boolean: "must be true or false",
  number: "must be a number",
  integer: "must be a whole number",
  memory: 'must be MB as a number, or a size such as "512MB" or "2GB"',
  object: "must be an object",
};

function hasKind(value: unknown, kind: Kind): boolean {
  switch (kind) {
    case "method":
      return value === "ivfflat" || value === "hnsw";
    case "boolean":
      return typeof value === "boolean";
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "memory":
      return typeof value === "number" || typeof value === "string";
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
  }
}

function checkObject(
  value: unknown,
  path: readonly string[],
  known: Record<string, { kind: Kind; example: unknown }>,
): void {
  if (!hasKind(value, "object")) {
    throw invalid(path, "must be an object", value, { method: "hnsw" });
  }
  for (const [key, setting] of Object.entries(value as Record<string, unknown>)) {
    // Own keys only: "constructor" or "toString" would find Object.prototype's.
    const spec = Object.hasOwn(known, key) ? known[key] : undefined;
    const at = [...path, key];
    if (!spec) {
      const meant = closestName(key, Object.keys(known));
      const shown = meant ?? Object.keys(known)[0]!;
      throw new SettingError(
        ["vectorIndexes", ...at],
        "is not a setting",
        { value: setting },
        { path: ["vectorIndexes", ...path, shown], value: known[shown]!.example },
        `${meant ? `Did you mean ${["vectorIndexes", ...path, meant].join(".")}? ` : ""}Known here: ${Object.keys(known).join(", ")}. `,
      );
    }
    if (setting === undefined) continue;
    if (!hasKind(setting, spec.kind)) {
      throw invalid(at, KIND_WORDS[spec.kind], setting, spec.example);
    }
  }
}

/** A decimal number as text: "0.9", "1", ".95"; no sign, exponent, spaces or hex. */
const DECIMAL_TEXT = /^(\d+(\.\d*)?|\.\d+)$/;

/**
 * The options as a stack's config holds them, with a decimal written as text made a number. Pulumi keeps
 * integers and booleans typed in a stack file but stores a decimal as a string, even with --type float, so
 * `pulumi config set --path 'neonhub-db:vectorIndexes.targetRecall' 0.9` reaches the program as "0.9", and
 * the stack's documented command could not set it otherwise. Only options that take a decimal, only text
 * that is one; the range checks then apply as to a number. The CLI does not call it: a JSON or YAML file
 * and --set can write 0.9, so "0.9" there is a mistake the strict check names.
 */
export function decimalsFromStackConfig(value: unknown): unknown {
  if (!hasKind(value, "object")) return value;
  const options = { ...(value as Record<string, unknown>) };
  for (const [key, setting] of Object.entries(options)) {
    const spec = Object.hasOwn(SETTINGS, key) ? SETTINGS[key as keyof VectorIndexOptions] : undefined;
    if (spec?.kind === "number" && typeof setting === "string" && DECIMAL_TEXT.test(setting)) {
      options[key] = Number(setting);
    }
  }
  return options;
}

/**
 * The strict shape check of the options as a person wrote them (stack config, a CLI config file, flags):
 * an unknown key or a value of the wrong type is an error naming the key, the value and an example. A
 * misspelt key is never ignored and "no" is never a boolean.
 */
export function checkVectorIndexOptions(value: unknown): VectorIndexOptions {
  checkObject(value, [], SETTINGS);
  const options = value as VectorIndexOptions;
  for (const [name, own] of Object.entries(options.indexes ?? {})) {
    checkObject(own, ["indexes", name], PER_INDEX_SETTINGS);
  }
  return options;
}

/**
 * The options with every default written out: what a release records and compares, so that "unset" and
 * "set to the default" are the same setting.
 */
export function completeVectorIndexOptions(options: VectorIndexOptions = {}): Required<VectorIndexOptions> {
  return {
    method: options.method ?? DEFAULTS.method,
    indexes: options.indexes ?? {},
    concurrently: options.concurrently ?? false,
    targetRecall: options.targetRecall ?? DEFAULTS.targetRecall,
    maxMaintenanceWorkMem: options.maxMaintenanceWorkMem ?? DEFAULTS.maxMaintenanceWorkMem,
    parallelWorkers: options.parallelWorkers ?? DEFAULTS.parallelWorkers,
    calibrationQueries: options.calibrationQueries ?? DEFAULTS.calibrationQueries,
    progressIntervalMs: options.progressIntervalMs ?? DEFAULTS.progressIntervalMs,
  };
}

/** A whole number from min to max at `path`; `example` a valid one. */
function integerIn(
  path: readonly string[],
  value: number | undefined,
  [min, max]: readonly [number, number],
  example: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(path, `must be a whole number from ${min} to ${max}`, value, example);
  }
  return value;
}

function method(path: readonly string[], value: unknown): IndexMethod | undefined {
  if (value === undefined || value === "ivfflat" || value === "hnsw") return value;
  throw invalid(path, KIND_WORDS.method, value, "hnsw");
}

export function resolveOptions(input: VectorIndexOptions = {}): ResolvedOptions {
  const options = checkVectorIndexOptions(input);
  const known = EMBEDDING_TABLES.map((t) => t.indexName);
  for (const name of Object.keys(options.indexes ?? {})) {
    if (!known.includes(name)) {
      const meant = closestName(name, known);
      throw new SettingError(
        ["vectorIndexes", "indexes", name],
        "names no vector index",
        undefined,
        { path: ["vectorIndexes", "indexes", meant ?? known[0]!], value: { method: "hnsw" } },
        `${meant ? `Did you mean vectorIndexes.indexes.${meant}? ` : ""}Use one of: ${known.join(", ")}. `,
      );
    }
  }
  const defaultMethod = method(["method"], options.method) ?? DEFAULTS.method;
  const tables = EMBEDDING_TABLES.map((table) => {
    const own = options.indexes?.[table.indexName] ?? {};
    const at = ["indexes", table.indexName];
    const m = integerIn([...at, "m"], own.m, [2, 100], HNSW_DEFAULT_M) ?? HNSW_DEFAULT_M;
    const efConstruction =
      integerIn([...at, "efConstruction"], own.efConstruction, [4, 1000], HNSW_DEFAULT_EF_CONSTRUCTION) ??
      HNSW_DEFAULT_EF_CONSTRUCTION;
    if (efConstruction < 2 * m) {
      throw invalid(
        [...at, "efConstruction"],
        `must be at least 2 x m (${2 * m}), as pgvector requires`,
        efConstruction,
        2 * m,
      );
    }
    const settings: IndexSettings = {
      method: method([...at, "method"], own.method) ?? defaultMethod,
      m,
      efConstruction,
      dimension: integerIn([...at, "dimension"], own.dimension, [2, HALFVEC_MAX_INDEX_DIM], 1536),
    };
    return { table, settings };
  });
  const targetRecall = options.targetRecall ?? DEFAULTS.targetRecall;
  if (!(targetRecall > 0 && targetRecall <= 1)) {
    throw invalid(
      ["targetRecall"],
      "must be a recall above 0 and at most 1",
      targetRecall,
      DEFAULTS.targetRecall,
    );
  }
  const memory = options.maxMaintenanceWorkMem ?? DEFAULTS.maxMaintenanceWorkMem;
  const maxMemoryMb = parseMemoryMb(memory);
  if (maxMemoryMb === undefined) {
    throw invalid(["maxMaintenanceWorkMem"], KIND_WORDS.memory, memory, "2GB");
  }
  // A bound maintenance_work_mem could not be set to would fail the build, after the migrations: refused here.
  if (typeof memory === "number" && !Number.isInteger(memory)) {
    throw invalid(["maxMaintenanceWorkMem"], "must be a whole number of MB", memory, "2GB");
  }
  if (maxMemoryMb > MAINTENANCE_WORK_MEM_MAX_MB) {
    throw invalid(
      ["maxMaintenanceWorkMem"],
      `must be at most ${MAINTENANCE_WORK_MEM_MAX_MB} MB (PostgreSQL's maintenance_work_mem maximum, ${MAINTENANCE_WORK_MEM_MAX_KB} kB)`,
      memory,
      "2GB",
    );
  }
  return {
    tables,
    concurrently: options.concurrently ?? false,
    targetRecall,
    maxMemoryMb,
    parallelWorkers:
      integerIn(["parallelWorkers"], options.parallelWorkers, [0, 64], DEFAULTS.parallelWorkers) ??
      DEFAULTS.parallelWorkers,
    calibrationQueries:
      integerIn(
        ["calibrationQueries"],
        options.calibrationQueries,
        [1, 10_000],
        DEFAULTS.calibrationQueries,
      ) ?? DEFAULTS.calibrationQueries,
    progressIntervalMs:
      integerIn(
        ["progressIntervalMs"],
        options.progressIntervalMs,
        [10, 3_600_000],
        DEFAULTS.progressIntervalMs,
      ) ?? DEFAULTS.progressIntervalMs,
  };
}

/**
 * What the release makes of each setting of valid options, by the dotted path a settings document writes it
 * at ("maxMaintenanceWorkMem", "indexes.idx_chunk_embedding_cosine.m"): two documents are compared by it, so
 * that a value written another way (1024 for "1GB") or set to what it is anyway (an index's method equal to
 * every index's, m 16) is no change (docs/vector-indexes.md: unset and set to the default are the same).
 */
export function resolvedSettings(options: VectorIndexOptions): (path: string) => unknown {
  const resolved = resolveOptions(options);
  return (path) => {
    const [key, name, own, ...rest] = path.split(".");
    switch (key) {
      case "method":
        return options.method ?? DEFAULTS.method;
      case "maxMaintenanceWorkMem":
        return resolved.maxMemoryMb;
      case "indexes": {
        const index = resolved.tables.find(({ table }) => table.indexName === name);
        return index && own && rest.length === 0 ? index.settings[own as keyof IndexSettings] : undefined;
      }
      default:
        return rest.length === 0 && name === undefined
          ? (resolved as unknown as Record<string, unknown>)[key!]
          : undefined;
    }
  };
}
