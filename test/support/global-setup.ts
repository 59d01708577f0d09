// One throwaway PostgreSQL + pgvector cluster per test run, on a free loopback port. Each test file makes
// its own databases in it (see database.ts), so files run in parallel and leave nothing behind. The
// cluster is destroyed in teardown, which vitest runs whether tests passed or failed, and so is the run's
// scratch folder, which holds every temporary folder a test makes (scratch.ts).
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";

// The setup scripts are plain CommonJS so that they run before `npm ci` has installed anything.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const postgres = require("../../scripts/lib/postgres") as typeof import("../../scripts/lib/postgres");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cluster = require("../../scripts/lib/cluster") as typeof import("../../scripts/lib/cluster");

declare module "vitest" {
  export interface ProvidedContext {
    adminUrl: string;
    pgBindir: string;
    /** The run's temporary folder (scratch.ts), removed in teardown. */
    scratchDir: string;
  }
}

export default async function setup(project: TestProject) {
  const pg = postgres.ensurePostgres();
  const name = `test-${process.pid}`;
  const port = await cluster.freePort();
  const settings = {
    fsync: "off",
    synchronous_commit: "off",
    full_page_writes: "off",
    max_connections: "300",
    // Prepared transactions (two-phase commit) are off by default; the tests that hold one need a few.
    max_prepared_transactions: "5",
  };
  const running = await cluster.ensureCluster({ pg, name, port, settings });
  project.provide("adminUrl", running.adminUrl);
  project.provide("pgBindir", pg.bindir);
  const scratch = mkdtempSync(path.join(tmpdir(), "neonhub-test-run-"));
  // Traversable, as the system's temporary folder is: tests that run a cluster as the `postgres` user make
  // its data folder inside (each test's own folder keeps mkdtemp's private mode, or opens it itself).
  chmodSync(scratch, 0o755);
  project.provide("scratchDir", scratch);
  return async () => {
    cluster.destroyCluster({ pg, name });
    rmSync(scratch, { recursive: true, force: true });
  };
}
