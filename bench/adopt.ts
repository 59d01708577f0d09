// The cost of recognising a Prisma-era database: `plan` on the legacy schema with generated data (the
// pre-flight, the bad-row inspection and the row estimates) against `plan` on an empty database (baseline,
// same run), and the time a refused `apply` takes to say so. Also how fast the fixture is generated, and the
// in-place upgrade (`apply --upgrade-legacy`) on a copy without defects: rows/s against a plain copy of the
// same rows (CREATE TABLE AS, the same run's baseline), and the longest lock any of its transactions held.
//   npm run bench:adopt [-- --scale medium|large] [--runs N] [--batch-size N]
// The default (medium: 10,000 users, 200,000 messages) stays short on a shared 2-core machine; `large` is
// the scale the upgrade was designed for: 50,000 users and 1,000,000 messages.
import { Client } from "pg";
import {
  DEFAULT_MIGRATIONS_DIR,
  DEFAULT_UPGRADE_BATCH_SIZE,
  applyRelease,
  planRelease,
  upgradeLegacyDatabase,
} from "../core";
import {
  LEGACY_SCALES,
  createLegacySchema,
  generateLegacyData,
  type LegacyScale,
} from "../test/fixtures/legacy/generate";
import { median, timed, withBenchCluster } from "./support/cluster";

const SCALES: Record<string, LegacyScale> = {
  medium: {
    ...LEGACY_SCALES.large,
    users: 10_000,
    messages: 200_000,
    campaigns: 1_000,
    documents: 10_000,
    auditRows: 100_000,
  },
  large: LEGACY_SCALES.large,
};

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at < 0 ? undefined : process.argv[at + 1];
}

const scaleName = flag("--scale") ?? "medium";
const scale = SCALES[scaleName];
const runs = Number(flag("--runs")) || 5;
const batchSize = Number(flag("--batch-size")) || DEFAULT_UPGRADE_BATCH_SIZE;

/** The upgrade on a database of the scale without defects, and a plain copy of its rows as the baseline. */
async function benchUpgrade(createDatabase: (name: string) => Promise<string>) {
  const url = await createDatabase("upgrade");
  const client = new Client({ connectionString: url });
  await client.connect();
  await createLegacySchema(client);
  const counts = await generateLegacyData(client, scale!);
  await client.query("ANALYZE");
  const rows = Object.values(counts).reduce((a, b) => a + b, 0);
  const copyMs = await timed(async () => {
    await client.query("CREATE SCHEMA copy_baseline");
    for (const table of Object.keys(counts)) {
      await client.query(`CREATE TABLE copy_baseline."${table}" AS SELECT * FROM public."${table}"`);
    }
    await client.query("DROP SCHEMA copy_baseline CASCADE");
  });
  await client.end();
  let result: Awaited<ReturnType<typeof upgradeLegacyDatabase>> | undefined;
  const upgradeMs = await timed(async () => {
    result = await upgradeLegacyDatabase(
      { databaseUrl: url, migrationsDir: DEFAULT_MIGRATIONS_DIR },
      { organization: "legacy", batchSize },
    );
  });
  return {
    rows,
    batchSize,
    upgradeSeconds: Number((upgradeMs / 1000).toFixed(1)),
    upgradeRowsPerSecond: Math.round(rows / (upgradeMs / 1000)),
    plainCopyRowsPerSecond: Math.round(rows / (copyMs / 1000)),
    longestLockMs: result!.longestLock.ms,
    longestLockStep: result!.longestLock.step,
    batches: result!.backfill.batches,
    proofOk: result!.proof?.ok ?? false,
  };
}

async function main() {
  if (!scale) throw new Error(`--scale takes one of ${Object.keys(SCALES).join(", ")}, got "${scaleName}"`);
  await withBenchCluster(async (cluster) => {
    const legacy = await cluster.createDatabase("legacy");
    const client = new Client({ connectionString: legacy });
    await client.connect();
    let counts: Record<string, number> = {};
    const generateMs = await timed(async () => {
      await createLegacySchema(client);
      counts = await generateLegacyData(client, scale, {
        caseDuplicateEmails: 10,
        unknownRoles: 10,
        messagesWithoutAuthor: 10,
        auditOrphans: 10,
      });
    });
    await client.end();
    const rows = Object.values(counts).reduce((a, b) => a + b, 0);
    const empty = await cluster.createDatabase("empty");
    const options = (databaseUrl: string) => ({ databaseUrl, migrationsDir: DEFAULT_MIGRATIONS_DIR });
    const planLegacy: number[] = [];
    const planEmpty: number[] = [];
    const refusedApply: number[] = [];
    let defects = 0;
    for (let i = 0; i < runs; i++) {
      planLegacy.push(
        await timed(async () => {
          const plan = await planRelease(options(legacy));
          defects = plan.migrations.problems.filter((p) => p.kind === "legacy-rows").length;
        }),
      );
      planEmpty.push(await timed(() => planRelease(options(empty))));
      refusedApply.push(await timed(() => applyRelease(options(legacy)).catch(() => undefined)));
    }
    const upgrade = await benchUpgrade((name) => cluster.createDatabase(name));
    const report = {
      scale: scaleName,
      rows: counts,
      generateSeconds: Number((generateMs / 1000).toFixed(1)),
      generatedRowsPerSecond: Math.round(rows / (generateMs / 1000)),
      runs,
      planLegacyMs: Number(median(planLegacy).toFixed(1)),
      planEmptyMs: Number(median(planEmpty).toFixed(1)),
      refusedApplyMs: Number(median(refusedApply).toFixed(1)),
      legacyRowDefectsReported: defects,
      upgrade,
    };
    console.log(JSON.stringify(report, null, 2));
    console.log(
      `${scaleName}: ${rows} legacy rows generated in ${report.generateSeconds} s (${report.generatedRowsPerSecond} rows/s); ` +
        `plan on it ${report.planLegacyMs} ms vs ${report.planEmptyMs} ms on an empty database; refused apply ${report.refusedApplyMs} ms; ` +
        `upgrade ${upgrade.upgradeSeconds} s (${upgrade.upgradeRowsPerSecond} rows/s vs a plain copy's ${upgrade.plainCopyRowsPerSecond} rows/s), ` +
        `longest lock ${upgrade.longestLockMs} ms (${upgrade.longestLockStep}), proof ${upgrade.proofOk ? "ok" : "FAILED"}`,
    );
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
