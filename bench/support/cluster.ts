// A throwaway PostgreSQL + pgvector cluster for one benchmark run, on a free loopback port, with the
// server's stock settings (benchmarks measure what users get). Destroyed when the run ends, even on failure.
import { randomBytes } from "node:crypto";
import { Client } from "pg";

// One definition of a percentile for the engine's calibration and the benchmarks.
export { percentile } from "../../core";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const postgres = require("../../scripts/lib/postgres") as typeof import("../../scripts/lib/postgres");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cluster = require("../../scripts/lib/cluster") as typeof import("../../scripts/lib/cluster");

export interface BenchCluster {
  adminUrl: string;
  bindir: string;
  /** Creates an empty database and returns its superuser URL. */
  createDatabase(prefix?: string): Promise<string>;
}

export async function withBenchCluster<T>(fn: (c: BenchCluster) => Promise<T>): Promise<T> {
  const pg = postgres.ensurePostgres();
  const name = `bench-${process.pid}`;
  const running = await cluster.ensureCluster({ pg, name, port: await cluster.freePort() });
  const stop = () => cluster.destroyCluster({ pg, name });
  process.once("SIGINT", () => {
    stop();
    process.exit(130);
  });
  try {
    return await fn({
      adminUrl: running.adminUrl,
      bindir: pg.bindir,
      async createDatabase(prefix = "bench") {
        const database = `${prefix}_${randomBytes(4).toString("hex")}`;
        const client = new Client({ connectionString: running.adminUrl });
        await client.connect();
        try {
          await client.query(`CREATE DATABASE "${database}"`);
        } finally {
          await client.end();
        }
        const url = new URL(running.adminUrl);
        url.pathname = `/${database}`;
        return url.toString();
      },
    });
  } finally {
    stop();
  }
}

/** Milliseconds `fn` took, from the monotonic clock. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
