// Release engine overhead: a fresh apply of all migrations vs `psql -1 -f` of the same SQL on the same
// server, and vs psql running each migration in a transaction of its own (as the engine commits them), with
// the fresh apply's time split by what its queries are for; the cost of a no-op apply and of a plan with
// nothing pending (milliseconds and round trips), with every step of the release (row-level security, the
// demo seed set, vector indexes); then whole processes as CI runs them: a no-op `neonhub-db apply` against a
// no-op `node-pg-migrate up` (the upstream CLI, on a copy database it migrated itself), `neonhub-db plan`, and
// `neonhub-db --version` (start-up alone).
//   npm run bench:release [-- --runs N]
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Client } from "pg";
import { DEFAULT_MIGRATIONS_DIR, applyRelease, planRelease, readMigrationFiles } from "../core";
import { defaultReleaseSteps } from "../core";
import { median, timed, withBenchCluster } from "./support/cluster";

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

/**
 * What a query of the fresh apply is for, to split its time: a migration's transaction (BEGIN, its SQL, its
 * ledger row and COMMIT, sent as one message: core/migrations/transaction-messages.ts), or the engine's work.
 */
type QueryKind = "migrationTransactions" | "engine";

function kindOf(text: string): QueryKind | "lockWatch" {
  // The lock-wait watcher's polls run on a second connection, alongside the migrations: not added up.
  if (/FROM pg_locks/.test(text)) return "lockWatch";
  if (/^BEGIN;\s*-- Up Migration/i.test(text)) return "migrationTransactions";
  return "engine";
}

/**
 * Counts every query sent by any pg Client in this process (one query is one round trip) and, per kind, the
 * time from sending it to its answer (the engine awaits each query, so these times add up).
 */
function countRoundTrips(): {
  reset(): void;
  readonly count: number;
  readonly ms: Record<QueryKind, number>;
} {
  const original = Client.prototype.query;
  let count = 0;
  let ms: Record<QueryKind, number> = { migrationTransactions: 0, engine: 0 };
  Client.prototype.query = function (this: Client, ...args: unknown[]) {
    count++;
    const first = args[0] as string | { text?: string } | undefined;
    const kind = kindOf(typeof first === "string" ? first : (first?.text ?? ""));
    const started = process.hrtime.bigint();
    const result = (original as (...a: unknown[]) => unknown).apply(this, args);
    const done = () => {
      if (kind !== "lockWatch") ms[kind] += Number(process.hrtime.bigint() - started) / 1e6;
    };
    if (result instanceof Promise) result.then(done, done);
    return result;
  } as typeof Client.prototype.query;
  return {
    reset: () => {
      count = 0;
      ms = { migrationTransactions: 0, engine: 0 };
    },
    get count() {
      return count;
    },
    get ms() {
      return ms;
    },
  };
}

function upSections(): string[] {
  return readMigrationFiles(DEFAULT_MIGRATIONS_DIR).map(
    (m) => m.sql.split(/^\s*--[\s-]*down\s+migration/im)[0]!,
  );
}

/** The up sections of every migration, as one script: what a DBA would run by hand with psql. */
function concatenatedUpSql(): string {
  return upSections().join("\n;\n");
}

/** The same script with each migration in a transaction of its own, as the engine commits them. */
function perMigrationUpSql(): string {
  return upSections()
    .map((sql) => `BEGIN;\n${sql}\n;\nCOMMIT;`)
    .join("\n");
}

async function main() {
  const work = mkdtempSync(path.join(tmpdir(), "neonhub-bench-"));
  const sqlFile = path.join(work, "release.sql");
  writeFileSync(sqlFile, concatenatedUpSql());
  const perMigrationFile = path.join(work, "release-per-migration.sql");
  writeFileSync(perMigrationFile, perMigrationUpSql());
  const trips = countRoundTrips();
  try {
    await withBenchCluster(async (cluster) => {
      const psql = path.join(cluster.bindir, "psql");
      const runPsql = (args: readonly string[], db: string) => {
        const run = spawnSync(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", ...args, db], { encoding: "utf8" });
        if (run.status !== 0) throw new Error(`psql failed: ${run.stderr}`);
      };
      const fresh: number[] = [];
      const baseline: number[] = [];
      const perMigration: number[] = [];
      const split: Record<QueryKind, number[]> = { migrationTransactions: [], engine: [] };
      for (let i = 0; i < runs; i++) {
        const engineDb = await cluster.createDatabase("engine");
        trips.reset();
        fresh.push(
          await timed(() => applyRelease({ databaseUrl: engineDb, migrationsDir: DEFAULT_MIGRATIONS_DIR })),
        );
        for (const kind of Object.keys(split) as QueryKind[]) split[kind].push(trips.ms[kind]);
        const psqlDb = await cluster.createDatabase("psql");
        baseline.push(await timed(async () => runPsql(["-1", "-f", sqlFile], psqlDb)));
        const perMigrationDb = await cluster.createDatabase("psqltx");
        perMigration.push(await timed(async () => runPsql(["-f", perMigrationFile], perMigrationDb)));
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
        psqlTransactionPerMigrationMs: Number(median(perMigration).toFixed(1)),
        ratioToTransactionPerMigration: Number((median(fresh) / median(perMigration)).toFixed(2)),
        // Where the fresh apply's time goes, by query kind (medians); the rest is connecting and client work.
        freshApplySplitMs: Object.fromEntries(
          Object.entries(split).map(([kind, values]) => [kind, Number(median(values).toFixed(1))]),
        ),
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
        `fresh apply of ${migrations} migrations: ${report.freshApplyMs} ms vs psql -1 -f ${report.psqlSingleTransactionMs} ms (x${report.ratio}), ` +
          `vs psql with a transaction per migration ${report.psqlTransactionPerMigrationMs} ms (x${report.ratioToTransactionPerMigration}); ` +
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
