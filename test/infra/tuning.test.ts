// Parameter tuning: PGTune's formulas, the pgvector overrides and the three renderings.
import { describe, expect, it } from "vitest";
import {
  PostgresSettings,
  TuningInput,
  WORKLOADS,
  dockerShmSizeMb,
  formatMemory,
  pgtune,
  toDockerFlags,
  toPostgresqlConf,
  toRdsParameters,
  toSettingsMap,
  tunePostgres,
} from "../../infra/tuning";

const GB = 1024 * 1024; // in kB
const MB = 1024;

const web16: TuningInput = { memoryMb: 16384, cpus: 4, storage: "ssd", workload: "web", maxConnections: 200 };

describe("pgtune", () => {
  it("matches PGTune for 16 GB, 4 CPUs, SSD, web, 200 connections", () => {
    expect(pgtune(web16)).toEqual({
      max_connections: 200,
      shared_buffers: 4 * GB,
      effective_cache_size: 12 * GB,
      maintenance_work_mem: 1 * GB,
      autovacuum_work_mem: 1 * GB,
      // (16 GB - 4 GB) / ((200 + 4 workers) * 3) = 20560.3 kB
      work_mem: 20560,
      wal_buffers: 16 * MB,
      min_wal_size: 1 * GB,
      max_wal_size: 4 * GB,
      checkpoint_completion_target: 0.9,
      default_statistics_target: 100,
      random_page_cost: 1.1,
      effective_io_concurrency: 200,
      huge_pages: "off",
      max_worker_processes: 4,
      max_parallel_workers: 4,
      max_parallel_workers_per_gather: 2,
      max_parallel_maintenance_workers: 2,
    } satisfies PostgresSettings);
  });

  it("follows the workload: data warehouse gets more maintenance memory, less work_mem, more statistics", () => {
    const dw = pgtune({ ...web16, workload: "dw", maxConnections: 40, cpus: 16 });
    expect(dw.maintenance_work_mem).toBe(2 * GB); // RAM/8, capped at 2 GB
    expect(dw.default_statistics_target).toBe(500);
    expect(dw.min_wal_size).toBe(4 * GB);
    expect(dw.max_wal_size).toBe(16 * GB);
    // (16 GB - 4 GB) / ((40 + 16) * 3) / 2
    expect(dw.work_mem).toBe(Math.floor((12 * GB) / (56 * 3) / 2));
    // Only data warehouses may use more than 4 workers per gather.
    expect(dw.max_parallel_workers_per_gather).toBe(8);
    expect(pgtune({ ...web16, cpus: 16 }).max_parallel_workers_per_gather).toBe(4);
  });

  it("follows the storage: random_page_cost and effective_io_concurrency", () => {
    expect(pgtune({ ...web16, storage: "hdd" })).toMatchObject({
      random_page_cost: 4,
      effective_io_concurrency: 2,
    });
    expect(pgtune({ ...web16, storage: "san" })).toMatchObject({
      random_page_cost: 1.1,
      effective_io_concurrency: 300,
    });
  });

  it("keeps PostgreSQL's parallel defaults below 4 CPUs, as PGTune does", () => {
    expect(pgtune({ ...web16, cpus: 2 })).toMatchObject({
      max_worker_processes: 8,
      max_parallel_workers: 8,
      max_parallel_workers_per_gather: 2,
      max_parallel_maintenance_workers: 2,
    });
  });

  it("turns huge pages on from 32 GB", () => {
    expect(pgtune({ ...web16, memoryMb: 32768 }).huge_pages).toBe("try");
    expect(pgtune({ ...web16, memoryMb: 32767 }).huge_pages).toBe("off");
  });

  it("caps wal_buffers at 16 MB and never goes below 32 kB", () => {
    expect(pgtune({ ...web16, memoryMb: 65536 }).wal_buffers).toBe(16 * MB);
    expect(pgtune({ ...web16, memoryMb: 256, workload: "desktop" }).wal_buffers).toBe(491);
  });
});

describe("pgvector overrides", () => {
  it("gives index builds an eighth of memory and CPUs-1 workers, and pins autovacuum to PGTune's value", () => {
    const tuned = tunePostgres({ ...web16, cpus: 8 });
    expect(tuned.maintenance_work_mem).toBe(2 * GB); // 16 GB / 8 (PGTune: 1 GB)
    expect(tuned.autovacuum_work_mem).toBe(1 * GB);
    expect(tuned.max_parallel_maintenance_workers).toBe(7); // PGTune: 4
  });

  it("caps index build memory at 8 GB, autovacuum at 1 GB and build workers at 7", () => {
    const big = tunePostgres({ ...web16, memoryMb: 262144, cpus: 64 });
    expect(big.maintenance_work_mem).toBe(8 * GB);
    expect(big.autovacuum_work_mem).toBe(1 * GB);
    expect(big.max_parallel_maintenance_workers).toBe(7);
  });

  it("never lowers PGTune's values and stays within the worker pool", () => {
    for (const workload of WORKLOADS) {
      for (const memoryMb of [256, 1024, 4096, 16384, 65536, 524288]) {
        for (const cpus of [1, 2, 4, 8, 32]) {
          const input: TuningInput = { memoryMb, cpus, storage: "ssd", workload, maxConnections: 100 };
          const base = pgtune(input);
          const tuned = tunePostgres(input);
          expect(tuned.maintenance_work_mem).toBeGreaterThanOrEqual(base.maintenance_work_mem);
          expect(tuned.maintenance_work_mem).toBeLessThanOrEqual(Math.max(8 * GB, base.maintenance_work_mem));
          expect(tuned.autovacuum_work_mem).toBeLessThanOrEqual(1 * GB);
          expect(tuned.max_parallel_maintenance_workers).toBeLessThanOrEqual(tuned.max_parallel_workers);
          expect(tuned.max_parallel_workers).toBeLessThanOrEqual(tuned.max_worker_processes);
          expect(tuned.work_mem).toBeGreaterThanOrEqual(64);
          expect(tuned.shared_buffers + tuned.maintenance_work_mem).toBeLessThan(memoryMb * MB);
          expect(dockerShmSizeMb(tuned) * MB).toBeGreaterThan(tuned.maintenance_work_mem);
        }
      }
    }
  });

  it("refuses machines the formulas cannot size", () => {
    expect(() => tunePostgres({ ...web16, memoryMb: 128 })).toThrow(
      /memoryMb must be a whole number of at least 256/,
    );
    expect(() => tunePostgres({ ...web16, cpus: 0 })).toThrow(/cpus must be at least 1/);
    expect(() => tunePostgres({ ...web16, maxConnections: 0 })).toThrow(/maxConnections/);
  });
});

describe("rendering", () => {
  const tuned = tunePostgres(web16);

  it("formats memory in the largest exact unit", () => {
    expect(formatMemory(4 * GB)).toBe("4GB");
    expect(formatMemory(512 * MB)).toBe("512MB");
    expect(formatMemory(20560)).toBe("20560kB");
  });

  it("renders Docker -c flags for every setting", () => {
    const flags = toDockerFlags(tuned);
    expect(flags.filter((_, i) => i % 2 === 0).every((flag) => flag === "-c")).toBe(true);
    expect(flags).toContain("shared_buffers=4GB");
    expect(flags).toContain("work_mem=20560kB");
    expect(flags).toContain("random_page_cost=1.1");
    expect(flags).toContain("max_parallel_maintenance_workers=3");
    expect(flags).toHaveLength(2 * Object.keys(tuned).length);
  });

  it("renders postgresql.conf lines and a settings map with the same values", () => {
    const conf = toPostgresqlConf(tuned);
    expect(conf).toMatch(/^# Generated by neonhub-db/);
    expect(conf).toContain("shared_buffers = '4GB'\n");
    expect(conf).toContain("maintenance_work_mem = '2GB'\n");
    const map = toSettingsMap(tuned);
    for (const [name, value] of Object.entries(map)) expect(conf).toContain(`${name} = '${value}'`);
  });

  it("renders RDS parameters in base units, static ones with pending-reboot", () => {
    const byName = Object.fromEntries(toRdsParameters(tuned, "postgres").map((p) => [p.name, p]));
    expect(byName.shared_buffers).toEqual({
      name: "shared_buffers",
      value: "524288",
      applyMethod: "pending-reboot",
    });
    expect(byName.effective_cache_size?.value).toBe(String((12 * GB) / 8));
    expect(byName.work_mem).toEqual({ name: "work_mem", value: "20560", applyMethod: "immediate" });
    expect(byName.max_wal_size?.value).toBe("4096");
    expect(byName.wal_buffers).toEqual({ name: "wal_buffers", value: "2048", applyMethod: "pending-reboot" });
    for (const name of ["max_connections", "max_worker_processes"]) {
      expect(byName[name]?.applyMethod, name).toBe("pending-reboot");
    }
    for (const name of ["maintenance_work_mem", "random_page_cost", "max_parallel_workers"]) {
      expect(byName[name]?.applyMethod, name).toBe("immediate");
    }
    // RDS manages huge pages itself.
    expect(byName.huge_pages).toBeUndefined();
  });

  it("leaves the settings Aurora owns (cache and WAL) out of its parameters", () => {
    const names = toRdsParameters(tuned, "aurora-postgresql").map((p) => p.name);
    for (const owned of [
      "shared_buffers",
      "effective_cache_size",
      "wal_buffers",
      "min_wal_size",
      "max_wal_size",
    ]) {
      expect(names).not.toContain(owned);
    }
    expect(names).toEqual(expect.arrayContaining(["work_mem", "maintenance_work_mem", "max_connections"]));
  });
});
