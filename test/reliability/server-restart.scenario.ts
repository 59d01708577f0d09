// Server restart: PostgreSQL stopped under a running `neonhub-db apply` (a fast shutdown in the middle of a
// migration, an immediate one, i.e. a crash, likewise, and a fast one while the apply waits for the release
// lock), then started again. The apply must fail within a bounded time with an error that says the connection
// was lost and what to do; the next apply must complete the release.
//
// The run's shared cluster is never stopped: this file starts a cluster of its own and destroys it afterwards.
import { chmodSync, rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { DEFAULT_MIGRATIONS_DIR } from "../../core";
import { RELEASE_LOCK_KEY } from "../../core";
import { runCli } from "../support/cli";
import { withClient, withDatabase } from "../support/database";
import {
  pausableMigrationsCopy,
  setPause,
  sleeping,
  startCli,
  waitUntil,
  type ProcessResult,
  type RunningProcess,
} from "../support/kill-points";
import { cliJson, ledgerNames, migrationNames } from "./support/release-state";
import { scratchDir } from "../support/scratch";

// The setup scripts are plain CommonJS (they run before `npm ci`).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const postgres = require("../../scripts/lib/postgres") as typeof import("../../scripts/lib/postgres");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cluster = require("../../scripts/lib/cluster") as typeof import("../../scripts/lib/cluster");

/** How long a failed apply may take to notice the server went away. */
const FAILS_WITHIN_MS = 15_000;

const dir = pausableMigrationsCopy(DEFAULT_MIGRATIONS_DIR);
const names = migrationNames(dir);

describe("PostgreSQL stopped and started during an apply", () => {
  const pg = postgres.ensurePostgres();
  const name = `restart-${process.pid}`;
  let root = "";
  let port = 0;
  let admin = "";

  const start = async () => {
    const running = await cluster.ensureCluster({ pg, name, port, root, settings: { fsync: "off" } });
    admin = running.adminUrl;
  };
  const stop = (mode: "fast" | "immediate") => {
    const { data } = cluster.clusterPaths(name, root);
    const result = cluster.runServerCommand(pg, "pg_ctl", ["stop", "-D", data, "-m", mode, "-w", "-t", "60"]);
    expect(result.status, result.stderr).toBe(0);
  };

  beforeAll(async () => {
    // The server runs as the postgres user when we are root: it must be able to enter the folder.
    root = scratchDir("neonhub-restart-");
    chmodSync(root, 0o755);
    port = await cluster.freePort();
    await start();
  });
  afterAll(() => {
    if (root) {
      // destroyCluster's JSDoc types `root` as undefined only; stopping and deleting the folder is the same.
      if (cluster.isRunning(pg, cluster.clusterPaths(name, root))) stop("fast");
      rmSync(root, { recursive: true, force: true });
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function createDatabase(database: string): Promise<string> {
    await withClient(admin, (c) => c.query(`CREATE DATABASE "${database}"`));
    await withClient(admin, (c) => setPause(c, database, undefined));
    return withDatabase(admin, database);
  }

  /** Stops the server, then waits for the apply to exit: it fails the test if that takes FAILS_WITHIN_MS. */
  async function stopUnder(run: RunningProcess, mode: "fast" | "immediate"): Promise<ProcessResult> {
    const stopped = Date.now();
    stop(mode);
    const left = FAILS_WITHIN_MS - (Date.now() - stopped);
    const timer = new Promise<"hung">((resolve) => setTimeout(() => resolve("hung"), Math.max(0, left)));
    const outcome = await Promise.race([run.done, timer]);
    if (outcome === "hung") {
      run.child.kill("SIGKILL");
      throw new Error(`apply still running ${FAILS_WITHIN_MS} ms after the server stopped:\n${run.stderr()}`);
    }
    return outcome;
  }

  function expectConnectionLost(result: ProcessResult, url: string): void {
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`Lost the connection to PostgreSQL at 127\\.0\\.0\\.1:${port} \\(the server stopped`),
    );
    // The apply as it was run, to run again as printed (its URL without the password: PGPASSWORD gives it).
    expect(result.stderr).toMatch(/run `neonhub-db apply [^`]*` (\([^)]*\) )?again/);
    expect(result.stderr).not.toContain("unexpected error");
    const password = decodeURIComponent(new URL(url).password);
    expect(result.stderr + result.stdout).not.toContain(password);
  }

  async function completes(url: string): Promise<void> {
    const apply = await cliJson("apply", url, ["--migrations-dir", dir]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(await ledgerNames(url)).toEqual(names);
    const verify = await runCli(["verify", "--migrations-dir", dir], { DATABASE_URL: url });
    expect(verify.code, verify.stdout).toBe(0);
  }

  it.each(["fast", "immediate"] as const)(
    "%s shutdown inside a migration: the apply fails naming the lost server, the next one completes",
    async (mode) => {
      const database = `restart_${mode}`;
      const url = await createDatabase(database);
      const stopAt = names[8]!;
      await withClient(admin, (c) => setPause(c, database, `after:${stopAt}`));
      const run = startCli(["apply", "--migrations-dir", dir], { DATABASE_URL: url });
      await withClient(admin, (c) =>
        waitUntil(`the apply to reach ${stopAt}`, () => sleeping(c, database), { while: run.running }),
      );

      const result = await stopUnder(run, mode);
      expectConnectionLost(result, url);
      expect(result.stderr).toContain(`Migration ${stopAt}.sql failed`);

      await start();
      await withClient(admin, (c) => setPause(c, database, undefined));
      // Everything before the stopped migration was committed; it and what follows were not.
      expect(await ledgerNames(url)).toEqual(names.slice(0, 8));
      await completes(url);
    },
  );

  it("fast shutdown while the apply waits for the release lock: it fails, the next one completes", async () => {
    const url = await createDatabase("restart_lock");
    const holder = new Client({ connectionString: url });
    holder.on("error", () => {});
    await holder.connect();
    await holder.query("SELECT pg_advisory_lock($1::bigint)", [RELEASE_LOCK_KEY.toString()]);
    const run = startCli(["apply", "--migrations-dir", dir], { DATABASE_URL: url });
    await waitUntil(
      "the apply to wait for the lock",
      async () => run.stderr().includes("waiting for the release lock"),
      {
        while: run.running,
      },
    );

    const result = await stopUnder(run, "fast");
    await holder.end().catch(() => {});
    expectConnectionLost(result, url);

    await start();
    expect(await ledgerNames(url)).toEqual([]);
    await completes(url);
  });
});
