// A Prisma-era database that lacks one of the legacy tables (renamed by the app, or dropped) is still
// recognised as the legacy one by its "Message", and the upgrade copies every legacy table: plan names the
// missing table, with the rename that brings it back when a table of a close name is there, apply refuses
// before it writes anything (no staging schema, no mirror trigger on the tables the old app still writes),
// and the fix followed lets it run.
import { afterAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  ReleaseError,
  planLegacyUpgrade,
  upgradeLegacyDatabase,
  type LegacyUpgradePlan,
} from "../../core";
import { runCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { LEGACY_SCALES, createLegacySchema, generateLegacyData } from "../fixtures/legacy/generate";

const created: TestDatabase[] = [];
afterAll(async () => {
  for (const db of created) await dropTestDatabase(db);
});

async function legacyDatabase(change: string): Promise<TestDatabase> {
  const db = await createTestDatabase("legmissing");
  created.push(db);
  await withClient(db.url, async (c) => {
    await createLegacySchema(c);
    await generateLegacyData(c, LEGACY_SCALES.small);
    await c.query(change);
  });
  return db;
}

const upgradeArgs = ["--upgrade-legacy", "--legacy-organization", "acme", "--json"];
const plan = (db: TestDatabase) => runCli(["plan", ...upgradeArgs], { DATABASE_URL: db.url });
const apply = (db: TestDatabase) => runCli(["apply", ...upgradeArgs], { DATABASE_URL: db.url });

interface CliError {
  error: { code: string; message: string; fix: string };
}

/** What a refused upgrade must not leave: its schemas, and its mirror triggers on the legacy tables. */
const upgradeLeftovers = (db: TestDatabase) =>
  withClient(db.url, async (c) => [
    ...(
      await c.query<{ name: string }>(
        "SELECT nspname AS name FROM pg_namespace WHERE nspname IN ('neonhub_upgrade', 'neonhub_upgrade_work', 'neonhub_release')",
      )
    ).rows.map((r) => r.name),
    ...(
      await c.query<{ name: string }>(
        `SELECT tgname AS name FROM pg_trigger WHERE NOT tgisinternal AND tgrelid = '"User"'::regclass`,
      )
    ).rows.map((r) => r.name),
  ]);

describe("a legacy table renamed", () => {
  let db: TestDatabase;

  it("plan names it with the rename that brings it back, and is not ready", async () => {
    db = await legacyDatabase(`ALTER TABLE "Campaign" RENAME TO "Campaigns"`);
    const run = await plan(db);
    expect(run.code, run.stderr).toBe(1);
    const planned = JSON.parse(run.stdout) as LegacyUpgradePlan;
    expect(planned.ready).toBe(false);
    const missing = planned.problems.find((p) => p.message.includes("not in schema public"))!;
    expect(missing.message).toContain(
      '1 legacy table(s) of the Prisma-era schema are not in schema public: "Campaign".',
    );
    expect(missing.fix).toContain(
      'public."Campaigns" looks like "Campaign" renamed: rename it back (ALTER TABLE public."Campaigns" RENAME TO "Campaign";)',
    );
  });

  it("apply refuses before it writes anything, and runs once the rename is undone as the fix says", async () => {
    const refused = await apply(db);
    expect(refused.code).toBe(1);
    const { error } = JSON.parse(refused.stdout) as CliError;
    expect(error.code).toBe("invalid-input");
    expect(error.message).toContain('not in schema public: "Campaign"');
    expect(await upgradeLeftovers(db)).toEqual([]);
    // After the rename, the upgrade to run again as printed (with the operator's options), not in words; plan's
    // problem says the same.
    const rerun =
      "; then run `neonhub-db apply --upgrade-legacy --legacy-organization acme` again. Nothing was written.";
    expect(error.fix.endsWith(rerun), error.fix).toBe(true);
    const planned = JSON.parse((await plan(db)).stdout) as LegacyUpgradePlan;
    expect(planned.problems.find((p) => p.message.includes("not in schema public"))!.fix).toBe(error.fix);

    const rename = /\((ALTER TABLE [^)]*;)\)/.exec(error.fix)![1]!;
    await withClient(db.url, (c) => c.query(rename));
    const ready = await plan(db);
    expect(ready.code, ready.stdout).toBe(2);
    expect((JSON.parse(ready.stdout) as LegacyUpgradePlan).ready).toBe(true);
    const upgrade = await apply(db);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    const campaigns = await withClient(
      db.url,
      async (c) => (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Campaign"`)).rows[0]!.n,
    );
    expect(campaigns).toBe(LEGACY_SCALES.small.campaigns);
  });
});

describe("a legacy table dropped", () => {
  it("plan and apply name it with the snapshot to restore it from, and nothing is written", async () => {
    const db = await legacyDatabase(`DROP TABLE "ABTest"`);
    const run = await plan(db);
    expect(run.code, run.stderr).toBe(1);
    const missing = (JSON.parse(run.stdout) as LegacyUpgradePlan).problems.find((p) =>
      p.message.includes("not in schema public"),
    )!;
    expect(missing.message).toContain('not in schema public: "ABTest".');
    expect(missing.fix).toContain('restore "ABTest" from the snapshot taken before the upgrade');

    const refused = await apply(db);
    expect(refused.code).toBe(1);
    expect((JSON.parse(refused.stdout) as CliError).error.fix).toContain(
      'restore "ABTest" from the snapshot',
    );
    expect(await upgradeLeftovers(db)).toEqual([]);
  });

  it("called as a library, without a printer, the fix names what to call again, not a command it never ran", async () => {
    const db = await legacyDatabase(`DROP TABLE "ABTest"`);
    const options = { databaseUrl: db.url, migrationsDir: DEFAULT_MIGRATIONS_DIR };
    const request = { organization: "acme" };
    const rerun =
      "; then call upgradeLegacyDatabase (or upgradeLegacyIfNeeded) again with the same options. Nothing was written.";
    const refused = await upgradeLegacyDatabase(options, request).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(ReleaseError);
    const fix = (refused as ReleaseError).fix!;
    expect(fix).toContain('restore "ABTest" from the snapshot');
    expect(fix.endsWith(rerun), fix).toBe(true);
    expect(fix).not.toContain("the same command");
    expect(await upgradeLeftovers(db)).toEqual([]);
    // The library's plan lists the same problem with the same fix.
    const planned = await planLegacyUpgrade(options, request);
    expect(planned.problems.find((p) => p.message.includes("not in schema public"))!.fix).toBe(fix);
  });
});
