// PostgreSQL settings from a machine's size and workload: PGTune's formulas
// (https://github.com/le0pard/pgtune, src/features/configuration/configurationSlice.js) plus overrides for
// pgvector index builds, rendered for each server kind. Pure: no Pulumi, no I/O.

export type Workload = "web" | "oltp" | "dw" | "mixed" | "desktop";
export type StorageKind = "ssd" | "hdd" | "san";

export const WORKLOADS: readonly Workload[] = ["web", "oltp", "dw", "mixed", "desktop"];
export const STORAGE_KINDS: readonly StorageKind[] = ["ssd", "hdd", "san"];

export interface TuningInput {
  /** Memory the PostgreSQL server may use, in MiB. */
  memoryMb: number;
  /** CPUs the server may use. */
  cpus: number;
  /** Storage class: `san` for network block storage such as EBS. */
  storage: StorageKind;
  /** PGTune's workload profile. */
  workload: Workload;
  /** The `max_connections` the server allows. */
  maxConnections: number;
}

/** The settings we manage. Memory sizes are in kB, PostgreSQL's base unit for memory. */
export interface PostgresSettings {
  max_connections: number;
  shared_buffers: number;
  effective_cache_size: number;
  maintenance_work_mem: number;
  autovacuum_work_mem: number;
  work_mem: number;
  wal_buffers: number;
  min_wal_size: number;
  max_wal_size: number;
  checkpoint_completion_target: number;
  default_statistics_target: number;
  random_page_cost: number;
  effective_io_concurrency: number;
  huge_pages: "try" | "off";
  max_worker_processes: number;
  max_parallel_workers: number;
  max_parallel_workers_per_gather: number;
  max_parallel_maintenance_workers: number;
}

export type SettingName = keyof PostgresSettings;

const KB_PER_MB = 1024;
const KB_PER_GB = 1024 * 1024;

/** Smallest machine the formulas make sense for; PGTune warns below 256 MB too. */
export const MIN_MEMORY_MB = 256;

// PGTune's defaults when the connection count is not given.
const PGTUNE_CONNECTIONS: Record<Workload, number> = { web: 200, oltp: 300, dw: 40, desktop: 20, mixed: 100 };

/** PGTune's default connection count for a workload (the config default follows it). */
export function defaultMaxConnections(workload: Workload): number {
  return PGTUNE_CONNECTIONS[workload];
}

/** PGTune's settings, then the pgvector overrides. Throws a RangeError for impossible machines. */
export function tunePostgres(input: TuningInput): PostgresSettings {
  assertTuningInput(input);
  return withPgvectorOverrides(pgtune(input), input);
}

function assertTuningInput({ memoryMb, cpus, maxConnections }: TuningInput): void {
  if (!Number.isInteger(memoryMb) || memoryMb < MIN_MEMORY_MB) {
    throw new RangeError(`memoryMb must be a whole number of at least ${MIN_MEMORY_MB}, got ${memoryMb}`);
  }
  if (!Number.isInteger(cpus) || cpus < 1) throw new RangeError(`cpus must be at least 1, got ${cpus}`);
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw new RangeError(`maxConnections must be at least 1, got ${maxConnections}`);
  }
}

/** PGTune for PostgreSQL 16 on Linux, value for value. */
export function pgtune({ memoryMb, cpus, storage, workload, maxConnections }: TuningInput): PostgresSettings {
  const memoryKb = memoryMb * KB_PER_MB;
  const sharedBuffers = Math.floor(workload === "desktop" ? memoryKb / 16 : memoryKb / 4);
  const effectiveCacheSize = Math.floor(workload === "desktop" ? memoryKb / 4 : (memoryKb * 3) / 4);
  const maintenanceWorkMem = Math.min(
    Math.floor(workload === "dw" ? memoryKb / 8 : memoryKb / 16),
    2 * KB_PER_GB,
  );
  const parallel = parallelSettings(cpus, workload);
  const wal = WAL_SIZES_MB[workload];

  // (RAM - shared_buffers) / ((connections + worker processes) * 3): a query may use work_mem several
  // times, so PGTune budgets three per connection and then divides further for analytic workloads.
  const workMemBase = (memoryKb - sharedBuffers) / ((maxConnections + parallel.max_worker_processes) * 3);
  const workMemDivisor: Record<Workload, number> = { web: 1, oltp: 1, dw: 2, mixed: 2, desktop: 6 };
  const workMem = Math.max(64, Math.floor(workMemBase / workMemDivisor[workload]));

  return {
    max_connections: maxConnections,
    shared_buffers: sharedBuffers,
    effective_cache_size: effectiveCacheSize,
    maintenance_work_mem: maintenanceWorkMem,
    // PGTune leaves this at -1 (follow maintenance_work_mem); the pgvector overrides pin it.
    autovacuum_work_mem: maintenanceWorkMem,
    work_mem: workMem,
    wal_buffers: walBuffers(sharedBuffers),
    min_wal_size: wal.min * KB_PER_MB,
    max_wal_size: wal.max * KB_PER_MB,
    checkpoint_completion_target: 0.9,
    default_statistics_target: workload === "dw" ? 500 : 100,
    random_page_cost: storage === "hdd" ? 4 : 1.1,
    effective_io_concurrency: { hdd: 2, ssd: 200, san: 300 }[storage],
    huge_pages: memoryKb >= 32 * KB_PER_GB ? "try" : "off",
    ...parallel,
  };
}

const WAL_SIZES_MB: Record<Workload, { min: number; max: number }> = {
  web: { min: 1024, max: 4096 },
  oltp: { min: 2048, max: 8192 },
  dw: { min: 4096, max: 16384 },
  desktop: { min: 100, max: 2048 },
  mixed: { min: 1024, max: 4096 },
};

// PostgreSQL's auto-tuning rule: 3% of shared_buffers, at most 16 MB, rounded up to 16 MB when close.
function walBuffers(sharedBuffersKb: number): number {
  const max = 16 * KB_PER_MB;
  const value = Math.min(Math.floor((3 * sharedBuffersKb) / 100), max);
  if (value > 14 * KB_PER_MB) return max;
  return Math.max(value, 32);
}

type ParallelSettings = Pick<
  PostgresSettings,
  | "max_worker_processes"
  | "max_parallel_workers"
  | "max_parallel_workers_per_gather"
  | "max_parallel_maintenance_workers"
>;

function parallelSettings(cpus: number, workload: Workload): ParallelSettings {
  // Below 4 CPUs PGTune keeps PostgreSQL's defaults; we write them out so every server states them.
  if (cpus < 4) {
    return {
      max_worker_processes: 8,
      max_parallel_workers: 8,
      max_parallel_workers_per_gather: 2,
      max_parallel_maintenance_workers: 2,
    };
  }
  const half = Math.ceil(cpus / 2);
  return {
    max_worker_processes: cpus,
    max_parallel_workers: cpus,
    max_parallel_workers_per_gather: workload === "dw" ? half : Math.min(half, 4),
    max_parallel_maintenance_workers: Math.min(half, 4),
  };
}

/** Largest maintenance_work_mem we give index builds; more rarely helps and risks the OOM killer. */
const MAX_INDEX_BUILD_MEMORY_KB = 8 * KB_PER_GB;
/** Autovacuum could not use more than 1 GB of dead-tuple memory before PostgreSQL 17. */
const MAX_AUTOVACUUM_MEMORY_KB = KB_PER_GB;
/** pgvector's README builds HNSW indexes with 7 workers plus the leader. */
const MAX_INDEX_BUILD_WORKERS = 7;

/**
 * pgvector builds HNSW/IVFFlat indexes much faster when the graph fits in maintenance_work_mem and with
 * parallel workers (https://github.com/pgvector/pgvector#index-build-time). So index builds get an eighth of
 * memory (PGTune gives a sixteenth, capped at 2 GB) and CPUs-1 workers; autovacuum keeps PGTune's
 * maintenance_work_mem, capped at 1 GB, or each of its workers would claim the larger budget.
 */
export function withPgvectorOverrides(
  base: PostgresSettings,
  { memoryMb, cpus }: TuningInput,
): PostgresSettings {
  const memoryKb = memoryMb * KB_PER_MB;
  const indexBuildMemory = Math.min(Math.floor(memoryKb / 8), MAX_INDEX_BUILD_MEMORY_KB);
  const indexBuildWorkers = Math.min(Math.max(cpus - 1, 1), MAX_INDEX_BUILD_WORKERS);
  return {
    ...base,
    maintenance_work_mem: Math.max(base.maintenance_work_mem, indexBuildMemory),
    autovacuum_work_mem: Math.min(base.maintenance_work_mem, MAX_AUTOVACUUM_MEMORY_KB),
    max_parallel_maintenance_workers: Math.min(
      Math.max(base.max_parallel_maintenance_workers, indexBuildWorkers),
      base.max_parallel_workers,
    ),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Rendering

interface SettingSpec {
  /** Memory setting: the size of its unit in kB as RDS expects it (8 for 8kB pages, 1024 for MB). */
  rdsUnitKb?: 1 | 8 | 1024;
  /** Needs a server restart (context `postmaster`). */
  restart: boolean;
  /** Managed in an RDS for PostgreSQL parameter group. */
  rds: boolean;
  /** Managed in an Aurora PostgreSQL cluster parameter group. */
  aurora: boolean;
}

// Aurora's storage layer owns the WAL and its cache sizing, so those stay at Aurora's formulas; RDS turns
// huge pages on by itself.
const SPECS: Record<SettingName, SettingSpec> = {
  max_connections: { restart: true, rds: true, aurora: true },
  shared_buffers: { rdsUnitKb: 8, restart: true, rds: true, aurora: false },
  effective_cache_size: { rdsUnitKb: 8, restart: false, rds: true, aurora: false },
  maintenance_work_mem: { rdsUnitKb: 1, restart: false, rds: true, aurora: true },
  autovacuum_work_mem: { rdsUnitKb: 1, restart: false, rds: true, aurora: true },
  work_mem: { rdsUnitKb: 1, restart: false, rds: true, aurora: true },
  wal_buffers: { rdsUnitKb: 8, restart: true, rds: true, aurora: false },
  min_wal_size: { rdsUnitKb: 1024, restart: false, rds: true, aurora: false },
  max_wal_size: { rdsUnitKb: 1024, restart: false, rds: true, aurora: false },
  checkpoint_completion_target: { restart: false, rds: true, aurora: false },
  default_statistics_target: { restart: false, rds: true, aurora: true },
  random_page_cost: { restart: false, rds: true, aurora: true },
  effective_io_concurrency: { restart: false, rds: true, aurora: false },
  huge_pages: { restart: true, rds: false, aurora: false },
  max_worker_processes: { restart: true, rds: true, aurora: true },
  max_parallel_workers: { restart: false, rds: true, aurora: true },
  max_parallel_workers_per_gather: { restart: false, rds: true, aurora: true },
  max_parallel_maintenance_workers: { restart: false, rds: true, aurora: true },
};

const SETTING_NAMES = Object.keys(SPECS) as SettingName[];

/** Whether changing the setting needs a restart. */
export function needsRestart(name: SettingName): boolean {
  return SPECS[name].restart;
}

/** A memory size the way postgresql.conf and `-c` accept it: the largest exact unit. */
export function formatMemory(kb: number): string {
  if (kb % KB_PER_GB === 0) return `${kb / KB_PER_GB}GB`;
  if (kb % KB_PER_MB === 0) return `${kb / KB_PER_MB}MB`;
  return `${kb}kB`;
}

function formatValue(name: SettingName, settings: PostgresSettings): string {
  const value = settings[name];
  return SPECS[name].rdsUnitKb !== undefined && typeof value === "number"
    ? formatMemory(value)
    : String(value);
}

/** Setting name to value with units, in a stable order: for ALTER SYSTEM, reports and stack outputs. */
export function toSettingsMap(
  settings: PostgresSettings,
  names: readonly SettingName[] = SETTING_NAMES,
): Record<string, string> {
  return Object.fromEntries(names.map((name) => [name, formatValue(name, settings)]));
}

/** `postgres -c name=value` arguments for a container command. */
export function toDockerFlags(settings: PostgresSettings): string[] {
  return SETTING_NAMES.flatMap((name) => ["-c", `${name}=${formatValue(name, settings)}`]);
}

/** postgresql.conf lines (for an include file or a local cluster's configuration). */
export function toPostgresqlConf(settings: PostgresSettings): string {
  const lines = SETTING_NAMES.map((name) => `${name} = '${formatValue(name, settings)}'`);
  return ["# Generated by neonhub-db (infra/tuning.ts): PGTune with pgvector overrides.", ...lines, ""].join(
    "\n",
  );
}

export type RdsEngine = "postgres" | "aurora-postgresql";

export interface RdsParameter {
  name: string;
  /** The value in the parameter's base unit, as RDS expects (no unit suffix). */
  value: string;
  /** Static parameters only take effect after a reboot, and RDS refuses `immediate` for them. */
  applyMethod: "immediate" | "pending-reboot";
}

/** The settings an engine's parameter group sets; the engine keeps its own value of the others. */
function parameterGroupSettings(engine: RdsEngine): SettingName[] {
  return SETTING_NAMES.filter((name) => (engine === "postgres" ? SPECS[name].rds : SPECS[name].aurora));
}

/** toSettingsMap of what the engine's parameter group applies: what the server runs with. */
export function toRdsSettingsMap(settings: PostgresSettings, engine: RdsEngine): Record<string, string> {
  return toSettingsMap(settings, parameterGroupSettings(engine));
}

/** Parameter group entries for RDS for PostgreSQL or an Aurora PostgreSQL cluster. */
export function toRdsParameters(settings: PostgresSettings, engine: RdsEngine): RdsParameter[] {
  return parameterGroupSettings(engine).map((name) => {
    const spec = SPECS[name];
    const raw = settings[name];
    const value =
      spec.rdsUnitKb !== undefined && typeof raw === "number"
        ? String(Math.floor(raw / spec.rdsUnitKb))
        : String(raw);
    return { name, value, applyMethod: spec.restart ? "pending-reboot" : "immediate" };
  });
}

/**
 * `/dev/shm` for a container. Docker's 64 MB default makes parallel index builds fail with "could not
 * resize shared memory segment": pgvector keeps a parallel HNSW build's graph (up to maintenance_work_mem)
 * in dynamic shared memory, and parallel queries need some more.
 */
export function dockerShmSizeMb(settings: PostgresSettings): number {
  const maintenanceMb = Math.ceil(settings.maintenance_work_mem / KB_PER_MB);
  return Math.max(512, maintenanceMb + 256);
}
