// Release engine overhead: a fresh apply of all migrations vs `psql -1 -f` of the same SQL on the same
// server, and the cost of a no-op apply and of a plan with nothing pending (milliseconds and round trips),
// with every step of the release (row-level security, the demo seed set, vector indexes); then whole
// processes as CI runs them: a no-op `neonhub-db apply` against a no-op `node-pg-migrate up` (the upstream CLI,
// on a copy database it migrated itself), `neonhub-db plan`, and `neonhub-db --version` (start-up alone).
//   npm run bench:release [-- --runs N]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "pg";
import { DEFAULT_MIGRATIONS_DIR, applyRelease, planRelease, readMigrationFiles } from "../core";
import { defaultReleaseSteps } from "../core";
import { median, withBenchCluster } from "./support/cluster";

const runs = Number(process.argv[process.argv.indexOf("--runs") + 1]) || 7;
const ROOT = path.resolve(__dirname, "..");
const NEONHUB_DB = path.join(ROOT, "bin", "neonhub-db.js");
const NODE_PG_MIGRATE = path.join(ROOT, "node_modules", "node-pg-migrate", "bin", "node-pg-migrate.js");

/** Wall-clock time of one process, from spawn to exit; fails on a non-zero exit. */
function processMs(script: string, args: readonly string[], databaseUrl: string): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, [script, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl },
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0) throw new Error(`${path.basename(script)} ${args.join(" ")} failed: ${run.stderr}`);
  return ms;
}

/** Counts every query sent by any pg Client in this process: one query is one round trip. */
function countRoundTrips(): { reset(): void; readonly count: number } {
  const original = Client.prototype.query;
  let count = 0;
  Client.prototype.query = function (this: Client, ...args: unknown[]) {
    count++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof Client.prototype.query;
  return {
    reset: () => void (count = 0),
    get count() {
      return count;
    },
  };
}

/** The up sections of every migration, as one script: what a DBA would run by hand with psql. */
function concatenatedUpSql(): string {
  return readMigrationFiles(DEFAULT_MIGRATIONS_DIR)
    .map((m) => m.sql.split(/^\s*--[\s-]*down\s+migration/im)[0])
    .join("\n;\n");
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

async function main() {
  const work = mkdtempSync(path.join(tmpdir(), "neonhub-bench-"));
  const sqlFile = path.join(work, "release.sql");
  writeFileSync(sqlFile, concatenatedUpSql());
  const trips = countRoundTrips();
  try {
    await withBenchCluster(async (cluster) => {
      const psql = path.join(cluster.bindir, "psql");
      const fresh: number[] = [];
      const baseline: number[] = [];
      for (let i = 0; i < runs; i++) {
        const engineDb = await cluster.createDatabase("engine");
        fresh.push(
          await timed(() => applyRelease({ databaseUrl: engineDb, migrationsDir: DEFAULT_MIGRATIONS_DIR })),
        );
        const psqlDb = await cluster.createDatabase("psql");
        baseline.push(
          await timed(async () => {
            const run = spawnSync(psql, ["-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f", sqlFile, psqlDb], {
              encoding: "utf8",
            });
            if (run.status !== 0) throw new Error(`psql failed: ${run.stderr}`);
          }),
        );
      }
      const target = await cluster.createDatabase("noop");
      // What `neonhub-db apply --seed demo` runs: every step, so the no-op cost is the real one.
      const options = {
        databaseUrl: target,
        migrationsDir: DEFAULT_MIGRATIONS_DIR,
        steps: defaultReleaseSteps({ seedSets: ["demo"] }),
      };
      await applyRelease(options);
      const noop: number[] = [];
      const plan: number[] = [];
      let noopTrips = 0;
      let planTrips = 0;
      for (let i = 0; i < runs * 3; i++) {
        trips.reset();
        noop.push(await timed(() => applyRelease(options)));
        noopTrips = trips.count;
        trips.reset();
        plan.push(await timed(() => planRelease(options)));
        planTrips = trips.count;
      }
      // Whole processes. The copy database is migrated by node-pg-migrate itself, into its own table.
      const upstreamDb = await cluster.createDatabase("upstream");
      const upstreamArgs = ["up", "-m", DEFAULT_MIGRATIONS_DIR, "--migrations-table", "pgmigrations"];
      processMs(NODE_PG_MIGRATE, upstreamArgs, upstreamDb);
      processMs(NEONHUB_DB, ["--version"], target); // builds the CLI bundle if the sources changed
      const cliApply: number[] = [];
      const upstreamUp: number[] = [];
      const cliPlan: number[] = [];
      const cliVersion: number[] = [];
      for (let i = 0; i < runs; i++) {
        cliApply.push(processMs(NEONHUB_DB, ["apply", "--json"], target));
        upstreamUp.push(processMs(NODE_PG_MIGRATE, upstreamArgs, upstreamDb));
        cliPlan.push(processMs(NEONHUB_DB, ["plan", "--json"], target));
        cliVersion.push(processMs(NEONHUB_DB, ["--version"], target));
      }
      const migrations = readMigrationFiles(DEFAULT_MIGRATIONS_DIR).length;
      const report = {
        migrations,
        runs,
        freshApplyMs: Number(median(fresh).toFixed(1)),
        psqlSingleTransactionMs: Number(median(baseline).toFixed(1)),
        ratio: Number((median(fresh) / median(baseline)).toFixed(2)),
        noopApplyMs: Number(median(noop).toFixed(1)),
        noopApplyRoundTrips: noopTrips,
        planNothingPendingMs: Number(median(plan).toFixed(1)),
        planRoundTrips: planTrips,
        cliNoopApplyMs: Number(median(cliApply).toFixed(1)),
        nodePgMigrateNoopUpMs: Number(median(upstreamUp).toFixed(1)),
        cliVsNodePgMigrate: Number((median(cliApply) / median(upstreamUp)).toFixed(2)),
        cliPlanMs: Number(median(cliPlan).toFixed(1)),
        cliVersionMs: Number(median(cliVersion).toFixed(1)),
      };
      console.log(JSON.stringify(report, null, 2));
      console.log(
        `fresh apply of ${migrations} migrations: ${report.freshApplyMs} ms vs psql -1 -f ${report.psqlSingleTransactionMs} ms (x${report.ratio}); ` +
          `no-op apply ${report.noopApplyMs} ms / ${noopTrips} round trips; plan ${report.planNothingPendingMs} ms / ${planTrips} round trips`,
      );
      console.log(
        `processes: no-op neonhub-db apply ${report.cliNoopApplyMs} ms vs node-pg-migrate up ${report.nodePgMigrateNoopUpMs} ms (x${report.cliVsNodePgMigrate}); ` +
          `neonhub-db plan ${report.cliPlanMs} ms; neonhub-db --version ${report.cliVersionMs} ms`,
      );
      const goals = [
        [report.ratio <= 1.1, `fresh apply <= 1.1x psql (x${report.ratio})`],
        [noopTrips <= 3, `no-op apply <= 3 round trips (${noopTrips})`],
        [planTrips <= 2, `plan <= 2 round trips (${planTrips})`],
        [
          report.cliVsNodePgMigrate <= 1,
          `no-op neonhub-db apply <= node-pg-migrate up (x${report.cliVsNodePgMigrate})`,
        ],
        [report.cliPlanMs < 150, `neonhub-db plan < 150 ms (${report.cliPlanMs} ms)`],
      ] as const;
      for (const [met, goal] of goals) console.log(`${met ? "met" : "MISSED"}: ${goal}`);
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
