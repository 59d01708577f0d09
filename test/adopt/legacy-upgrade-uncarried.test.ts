// What the upgrade of a Prisma-era database does not carry into the release: a legacy column the mapping
// has no release column for, and the app's own objects that depend on the legacy tables (a foreign key from
// another table, a view, a function). The legacy tables are dropped at the end, so each would be lost
// silently: plan names each, apply refuses before it writes anything, and the fix it gives lets it run
// with nothing lost. A column added while the upgrade runs fails the proof by name.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  ReleaseError,
  upgradeLegacyDatabase,
  type LegacyUpgradePlan,
  type LegacyUpgradeResult,
  type UncarriedColumn,
  type LegacyDependent,
} from "../../core";
import { runCli } from "../support/cli";
import { backends, startCli, waitUntil } from "../support/kill-points";
import {
  adminUrl,
  createTestDatabase,
  dropTestDatabase,
  withClient,
  type TestDatabase,
} from "../support/database";
import { dumpSchema } from "../support/migrations";
import { LEGACY_SCALES, createLegacySchema, generateLegacyData } from "../fixtures/legacy/generate";

const created: TestDatabase[] = [];
/** Watches the upgrade's sessions from outside. */
let watching: Client | undefined;
const watcher = () => watching!;
beforeAll(async () => {
  watching = new Client({ connectionString: adminUrl() });
  await watching.connect();
});
afterAll(async () => {
  await watching?.end();
  for (const db of created) await dropTestDatabase(db);
});

async function legacyDatabase(extra: string): Promise<TestDatabase> {
  const db = await createTestDatabase("uncarried");
  created.push(db);
  await withClient(db.url, async (c) => {
    await createLegacySchema(c);
    await generateLegacyData(c, LEGACY_SCALES.small);
    if (extra) await c.query(extra);
    await c.query("ANALYZE");
  });
  return db;
}

const upgradeArgs = ["--upgrade-legacy", "--legacy-organization", "acme", "--json"];
const plan = (db: TestDatabase) => runCli(["plan", ...upgradeArgs], { DATABASE_URL: db.url });
const apply = (db: TestDatabase, ...extra: string[]) =>
  runCli(["apply", ...upgradeArgs, ...extra], { DATABASE_URL: db.url });

interface CliError {
  error: { code: string; message: string; fix: string };
}

const scalar = async <T>(url: string, sql: string): Promise<T> =>
  withClient(url, async (c) => (await c.query<{ v: T }>(sql)).rows[0]!.v);

/** Users given a phone: every third. */
const PHONES = Math.floor(LEGACY_SCALES.small.users / 3);
const PHONE_COLUMN = `ALTER TABLE "User" ADD COLUMN phone text;
  UPDATE "User" SET phone = '+1-555-' || right(md5(id), 4) WHERE id IN (SELECT id FROM "User" ORDER BY id LIMIT ${PHONES});`;

describe("legacy columns the upgrade does not carry", () => {
  let db: TestDatabase;
  let phones: number;

  it("plan names each with its count of values, and is not ready", async () => {
    db = await legacyDatabase(`${PHONE_COLUMN} ALTER TABLE "Document" ADD COLUMN "legacyRef" text;`);
    phones = await scalar<number>(db.url, `SELECT count(phone)::int AS v FROM "User"`);
    expect(phones).toBe(PHONES);
    const before = await dumpSchema(db.url);
    const run = await plan(db);
    expect(run.code, run.stderr).toBe(1);
    const planned = JSON.parse(run.stdout) as LegacyUpgradePlan;
    expect(planned.ready).toBe(false);
    const problem = planned.problems.find((p) => p.details && "columns" in p.details)!;
    expect(problem.details).toEqual({
      columns: [
        { table: "User", column: "phone", nonNullValues: phones },
        { table: "Document", column: "legacyRef", nonNullValues: 0 },
      ] satisfies UncarriedColumn[],
    });
    expect(problem.message).toContain(`User.phone (${phones} non-null value(s))`);
    expect(problem.message).toContain("Document.legacyRef (0 non-null value(s))");
    expect(problem.fix).toContain(`ALTER TABLE "public"."User" DROP COLUMN "phone";`);
    expect(await dumpSchema(db.url)).toBe(before);
  });

  it("apply refuses before it writes anything; its fix lets it run with the values kept", async () => {
    const before = await dumpSchema(db.url);
    const run = await apply(db);
    expect(run.code, run.stdout).toBe(1);
    const { error } = JSON.parse(run.stdout) as CliError;
    expect(error.code).toBe("invalid-input");
    expect(error.message).toContain("so the upgrade did not start");
    expect(error.message).toContain(`User.phone (${phones} non-null value(s))`);
    expect(error.fix).toContain("Nothing was written.");
    expect(await dumpSchema(db.url)).toBe(before);

    // The fix: the values into a table of the app's own, then the columns dropped.
    const keep = /e\.g\. (CREATE TABLE .*? IS NOT NULL;)/.exec(error.fix)![1]!;
    const drops = error.fix.match(/ALTER TABLE \S+ DROP COLUMN \S+;/g)!;
    expect(drops).toHaveLength(2);
    await withClient(db.url, (c) => c.query([keep, ...drops].join("\n")));
    const done = await apply(db);
    expect(done.code, done.stderr).toBe(0);
    const result = JSON.parse(done.stdout) as LegacyUpgradeResult;
    expect(result.proof!.ok).toBe(true);
    expect(result.proof!.tables.find((t) => t.table === "User")!.columns).toEqual([
      "id",
      "email",
      "name",
      "image",
      "emailVerified",
      "createdAt",
      "updatedAt",
    ]);
    // The kept values still name their users, now the release's.
    expect(
      await scalar<number>(
        db.url,
        `SELECT count(*)::int AS v FROM "legacy_User_phone" p JOIN public."User" u ON u.id = p.id`,
      ),
    ).toBe(phones);
  });

  it("stops an interrupted upgrade from going on when one was added since", async () => {
    const db = await legacyDatabase("");
    const first = await apply(db, "--batch-size", "500", "--max-batches", "2");
    expect(first.code, first.stderr).toBe(2);
    await withClient(db.url, (c) => c.query(PHONE_COLUMN));
    const before = await dumpSchema(db.url);
    const run = await apply(db, "--batch-size", "500");
    expect(run.code, run.stdout).toBe(1);
    const { error } = JSON.parse(run.stdout) as CliError;
    expect(error.message).toContain("so the interrupted upgrade did not go on");
    expect(error.message).toContain(`User.phone (${PHONES} non-null value(s))`);
    expect(error.fix).toContain("Nothing more was written");
    expect(await dumpSchema(db.url)).toBe(before);
  });

  it("called as a library, without a printer, the fixes name what to call again, not a command it never ran", async () => {
    const db = await legacyDatabase("");
    const options = { databaseUrl: db.url, migrationsDir: DEFAULT_MIGRATIONS_DIR };
    const first = await upgradeLegacyDatabase(options, {
      organization: "acme",
      batchSize: 500,
      maxBatches: 2,
    });
    expect(first.complete).toBe(false);
    expect(first.toContinue).toBe(
      "call upgradeLegacyDatabase (or upgradeLegacyIfNeeded) again with the same options to continue: it resumes where this one stopped. " +
        "With maxBatches 2 it stops again after 2 more batch(es); without maxBatches it copies the rest and finishes the upgrade (proof, cutover, contract)",
    );
    await withClient(db.url, (c) => c.query(PHONE_COLUMN));
    const refused = await upgradeLegacyDatabase(options, { organization: "acme", batchSize: 500 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(ReleaseError);
    const fix = (refused as ReleaseError).fix!;
    expect(fix).toContain(`ALTER TABLE "public"."User" DROP COLUMN "phone";`);
    expect(fix).toContain(
      " Then call upgradeLegacyDatabase (or upgradeLegacyIfNeeded) again with the same options. Nothing more was written",
    );
    expect(fix).not.toContain("the same command");
  });

  it("fails the proof by name when one is added while the batches run; once dropped, the upgrade goes on", async () => {
    const db = await legacyDatabase("");
    const first = await apply(db, "--batch-size", "500", "--max-batches", "2");
    expect(first.code, first.stderr).toBe(2);
    // The next run's first message batch waits for its progress row; the column is added meanwhile, after
    // the run's own checks at its start.
    const holder = new Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query("BEGIN");
      await holder.query(
        "SELECT 1 FROM neonhub_upgrade_work.progress WHERE step = 'backfill:Message' FOR SHARE",
      );
      const run = startCli(
        ["apply", ...upgradeArgs, "--batch-size", "500", "--migration-lock-timeout", "0"],
        {
          DATABASE_URL: db.url,
        },
      );
      await waitUntil("a message batch waiting for its progress row", async () =>
        (await backends(watcher(), db.name, "neonhub-db:upgrade")).some((b) => b.waitEventType === "Lock"),
      );
      await withClient(db.url, (c) => c.query(PHONE_COLUMN));
      await holder.query("COMMIT");
      const done = await run.done;
      expect(done.code, done.stderr).toBe(1);
      const { error } = JSON.parse(done.stdout) as CliError;
      expect(error.message).toContain("so the cutover did not happen");
      expect(error.message).toContain("User.phone: a legacy column the upgrade does not carry");
      expect(error.fix).not.toContain("defect");
      // The upgrade to run again as the operator ran it, with the flags given.
      expect(error.fix).toContain(
        "then run `neonhub-db apply --upgrade-legacy --legacy-organization acme --migration-lock-timeout 0 --batch-size 500` again: the backfill is kept.",
      );
    } finally {
      await holder.end();
    }
    // Not switched: the legacy table, its column and its values are still the app's.
    expect(await scalar<number>(db.url, `SELECT count(phone)::int AS v FROM public."User"`)).toBe(PHONES);
    await withClient(db.url, (c) => c.query(`ALTER TABLE "User" DROP COLUMN phone`));
    const last = await apply(db, "--batch-size", "500");
    expect(last.code, last.stderr).toBe(0);
    expect((JSON.parse(last.stdout) as LegacyUpgradeResult).proof!.ok).toBe(true);
  });
});

describe("the app's own objects that depend on the legacy tables", () => {
  let db: TestDatabase;
  let dependents: LegacyDependent[];

  it("plan names each and what it depends on", async () => {
    db = await legacyDatabase(`
      CREATE TABLE "Invoice" (id text PRIMARY KEY, "userId" text NOT NULL REFERENCES "User"(id), amount int);
      INSERT INTO "Invoice" SELECT 'inv-' || id, id, 100 FROM "User" ORDER BY id LIMIT 10;
      CREATE VIEW user_emails AS SELECT id, email FROM "User";
      CREATE FUNCTION campaign_count() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM "Campaign"; END;`);
    const before = await dumpSchema(db.url);
    const run = await plan(db);
    expect(run.code, run.stderr).toBe(1);
    const planned = JSON.parse(run.stdout) as LegacyUpgradePlan;
    expect(planned.ready).toBe(false);
    const problem = planned.problems.find((p) => p.details && "dependents" in p.details)!;
    dependents = (problem.details as { dependents: LegacyDependent[] }).dependents;
    expect(dependents.map((d) => [d.object, d.dependsOn])).toEqual([
      ['constraint Invoice_userId_fkey on table "Invoice"', ['"User".id']],
      ["function campaign_count()", ['"Campaign"']],
      ["view user_emails", ['"User".email', '"User".id']],
    ]);
    expect(problem.message).toContain("view user_emails (on");
    expect(problem.fix).toContain("DROP VIEW user_emails;");
    expect(await dumpSchema(db.url)).toBe(before);
  });

  it("apply refuses before it writes anything; dropped first and re-created after, each works on the release", async () => {
    const before = await dumpSchema(db.url);
    const run = await apply(db);
    expect(run.code, run.stdout).toBe(1);
    const { error } = JSON.parse(run.stdout) as CliError;
    expect(error.message).toContain('constraint Invoice_userId_fkey on table "Invoice"');
    expect(error.message).toContain("view user_emails");
    expect(error.fix).toContain("Nothing was written.");
    expect(await dumpSchema(db.url)).toBe(before);

    await withClient(db.url, (c) => c.query(dependents.map((d) => d.drop!).join("\n")));
    const done = await apply(db);
    expect(done.code, done.stderr).toBe(0);
    await withClient(db.url, (c) => c.query(dependents.map((d) => d.definition!).join("\n")));
    expect(await scalar<number>(db.url, `SELECT count(*)::int AS v FROM user_emails`)).toBe(
      LEGACY_SCALES.small.users,
    );
    expect(await scalar<number>(db.url, `SELECT campaign_count()::int AS v`)).toBe(
      LEGACY_SCALES.small.campaigns,
    );
    // The foreign key holds again, on the release's "User".
    const orphan = await withClient(db.url, (c) =>
      c.query(`INSERT INTO "Invoice" VALUES ('inv-orphan', 'no-such-user', 1)`).then(
        () => "inserted",
        (e: { code?: string }) => e.code,
      ),
    );
    expect(orphan).toBe("23503");
    expect(await scalar<number>(db.url, `SELECT count(*)::int AS v FROM "Invoice"`)).toBe(10);
  });
});
