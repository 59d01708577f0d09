// A backfill in the migration that took a strong lock on its table runs while that lock is held: the lock
// timeout bounds the wait for a lock, not the time it is held. Measured on PostgreSQL (pg_locks in the
// migration's own transaction, after the backfill), and reported by the lint as backfilling-under-lock.
import { beforeEach, describe, expect, it } from "vitest";
import { lintMigrations, readMigrationFiles, type SafetyFinding } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { writeMigration } from "../support/fixtures";
import { relationChanges } from "../support/relation-changes";
import { scratchDir } from "../support/scratch";

const BACKFILL = 'UPDATE "Message" SET "charCount" = length("contentJson"::text) WHERE "charCount" IS NULL;';

/** Statements before the backfill, and the lock pg_locks shows on "Message" once the backfill ran. */
const STRONG = [
  { before: 'ALTER TABLE "Message" ADD COLUMN "extra" text;', mode: "ACCESS EXCLUSIVE" },
  { before: 'ALTER TABLE "Message" ALTER COLUMN "note" SET DEFAULT \'\';', mode: "ACCESS EXCLUSIVE" },
  { before: 'CREATE INDEX "Message_note_idx" ON "Message" ("note");', mode: "SHARE" },
  {
    before:
      'ALTER TABLE "Message" ADD CONSTRAINT "Message_parent_fkey" FOREIGN KEY ("parentId") REFERENCES "Message" ("id") NOT VALID;',
    mode: "SHARE ROW EXCLUSIVE",
  },
  {
    before:
      'CREATE TRIGGER "Message_touch" BEFORE UPDATE ON "Message" FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();',
    mode: "SHARE ROW EXCLUSIVE",
  },
  { before: 'LOCK TABLE "Message" IN EXCLUSIVE MODE;', mode: "EXCLUSIVE" },
  { before: 'LOCK TABLE "Message";', mode: "ACCESS EXCLUSIVE" },
  // Every table TRUNCATE names, not only the first.
  { before: 'TRUNCATE "Scratch", "Message";', mode: "ACCESS EXCLUSIVE" },
];

/** Statements that let the app's reads and writes go on (SHARE UPDATE EXCLUSIVE): nothing to report. */
const WEAK = [
  'ALTER TABLE "Message" VALIDATE CONSTRAINT "Message_size_check";',
  'ALTER TABLE "Message" ALTER COLUMN "contentJson" SET STATISTICS 500;',
  'ALTER TABLE "Message" SET (fillfactor = 90);',
];

/** pg_locks' name of a mode. */
const pgMode = (mode: string) =>
  `${mode
    .toLowerCase()
    .split(" ")
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join("")}Lock`;

describe("a backfill under a lock the migration took", () => {
  const db = useTestDatabase("lintheldlocks");
  const dir = scratchDir("neonhub-migrations-");

  beforeEach(async () => {
    await withClient(db.current.url, (c) =>
      c.query(`
        DROP TABLE IF EXISTS "Message", "Scratch";
        CREATE TABLE "Scratch" (id int);
        CREATE TABLE "Message" (id int PRIMARY KEY, "parentId" int, "contentJson" jsonb, "charCount" integer, note text);
        ALTER TABLE "Message" ADD CONSTRAINT "Message_size_check" CHECK (id > 0) NOT VALID;
        INSERT INTO "Message" (id, "contentJson") SELECT g, jsonb_build_object('text', 'hello ' || g) FROM generate_series(1, 100) g;`),
    );
  });

  const lint = async (up: string, environment: "production" | "development" = "production") => {
    writeMigration(dir, "20250101000100_backfill.sql", up);
    const report = await withClient(db.current.url, (c) =>
      lintMigrations(c, readMigrationFiles(dir), { environment }),
    );
    return report.findings;
  };
  const rules = (findings: SafetyFinding[]) => findings.map((f) => `${f.level} ${f.line} ${f.rule}`);

  it("the user's migration: ADD COLUMN, then UPDATE: ACCESS EXCLUSIVE is held through the UPDATE, an error in production", async () => {
    const migration = `ALTER TABLE "Message" ADD COLUMN "chars" integer;\n${BACKFILL}`;
    // The backfill's own lock is ROW EXCLUSIVE; ACCESS EXCLUSIVE is still held once it ran.
    const { locks } = await relationChanges(db.current.url, migration, '"Message"');
    expect(locks['"Message"']).toContain("AccessExclusiveLock");
    const findings = await lint(migration);
    expect(rules(findings)).toEqual(["error 3 backfilling-under-lock"]);
    expect(findings[0]).toMatchObject({ table: '"Message"', exemptable: true });
    expect(findings[0]!.tableSize).toMatch(/^100 rows, /);
    expect(findings[0]!.problem).toContain(
      'holds ACCESS EXCLUSIVE on "Message" (blocks reads and writes), taken at line 2, until it commits',
    );
    expect(findings[0]!.problem).toContain("not how long it holds one");
    expect(findings[0]!.saferForm).toContain("migration of its own");
  });

  it("the safer form, the backfill in a migration of its own, is not reported", async () => {
    writeMigration(dir, "20250101000100_backfill.sql", 'ALTER TABLE "Message" ADD COLUMN "chars" integer;');
    writeMigration(dir, "20250101000200_backfill_rows.sql", BACKFILL);
    const report = await withClient(db.current.url, (c) =>
      lintMigrations(c, readMigrationFiles(dir), { environment: "production" }),
    );
    expect(report.findings).toEqual([]);
  });

  it.each(STRONG)("$before, then a backfill: $mode held through it", async ({ before, mode }) => {
    const migration = `${before}\n${BACKFILL}`;
    const { locks } = await relationChanges(db.current.url, migration, '"Message"');
    expect(locks['"Message"']).toContain(pgMode(mode));
    const findings = await lint(migration);
    expect(rules(findings).filter((r) => r.endsWith("backfilling-under-lock"))).toEqual([
      "error 3 backfilling-under-lock",
    ]);
    expect(findings.find((f) => f.rule === "backfilling-under-lock")!.problem).toContain(`holds ${mode} on`);
  });

  it.each(WEAK)("%s lets reads and writes go on: a backfill after it is not reported", async (before) => {
    const migration = `${before}\n${BACKFILL}`;
    const { locks } = await relationChanges(db.current.url, migration, '"Message"');
    expect(locks['"Message"']).toContain("ShareUpdateExclusiveLock");
    for (const strong of ["ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"])
      expect(locks['"Message"']).not.toContain(strong);
    expect(await lint(migration)).toEqual([]);
  });

  it("DELETE and INSERT ... SELECT are backfills too; INSERT ... VALUES and a backfill of another table are not", async () => {
    const alter = 'ALTER TABLE "Message" ADD COLUMN "chars" integer;';
    expect(rules(await lint(`${alter}\nDELETE FROM "Message" WHERE id > 90;`))).toEqual([
      "error 3 backfilling-under-lock",
    ]);
    expect(
      rules(await lint(`${alter}\nINSERT INTO "Message" (id) SELECT id + 1000 FROM "Message" WHERE id < 5;`)),
    ).toEqual(["error 3 backfilling-under-lock"]);
    expect(await lint(`${alter}\nINSERT INTO "Message" (id) VALUES (5000);`)).toEqual([]);
    await withClient(db.current.url, (c) =>
      c.query("CREATE TABLE other (id int); INSERT INTO other VALUES (1)"),
    );
    expect(await lint(`${alter}\nUPDATE other SET id = 2 WHERE id = 1;`)).toEqual([]);
  });

  it("a WITH's UPDATE or DELETE is a backfill too, and one without WHERE is one finding", async () => {
    const alter = 'ALTER TABLE "Message" ADD COLUMN "chars" integer;';
    const update =
      'WITH u AS (UPDATE "Message" SET "chars" = 0 WHERE id < 5 RETURNING id)\nSELECT count(*) FROM u;';
    const { locks } = await relationChanges(db.current.url, `${alter}\n${update}`, '"Message"');
    expect(locks['"Message"']).toContain("AccessExclusiveLock");
    expect(rules(await lint(`${alter}\n${update}`))).toEqual(["error 3 backfilling-under-lock"]);
    const everyRow = await lint(`${alter}\nWITH s AS (SELECT 1)\nDELETE FROM "Message";`);
    expect(rules(everyRow)).toEqual(["error 3 backfilling-under-lock", "error 3 deleting-all-rows"]);
    expect(everyRow[0]!.problem).toContain("which changes every row");
    expect(rules(await lint(`${alter}\nWITH s AS (SELECT 1)\nUPDATE "Message" SET "chars" = 0;`))).toEqual([
      "error 3 backfilling-under-lock",
    ]);
  });

  it("an UPDATE without WHERE under the lock is one finding, which says it changes every row", async () => {
    const findings = await lint(
      'ALTER TABLE "Message" ADD COLUMN "chars" integer;\nUPDATE "Message" SET "chars" = 0;',
    );
    expect(rules(findings)).toEqual(["error 3 backfilling-under-lock"]);
    expect(findings[0]!.problem).toContain("which changes every row");
    // Without the lock before it, it is the all-rows finding it always was.
    expect(rules(await lint('UPDATE "Message" SET "charCount" = 0;'))).toEqual(["error 2 updating-all-rows"]);
  });

  it("is not shown on a new or empty table, warns outside production, and a reasoned exemption accepts it", async () => {
    expect(
      await lint(
        'CREATE TABLE "Fresh" (id int);\nALTER TABLE "Fresh" ADD COLUMN n int;\nUPDATE "Fresh" SET n = 1 WHERE id > 0;',
      ),
    ).toEqual([]);
    const migration = `ALTER TABLE "Message" ADD COLUMN "chars" integer;\n${BACKFILL}`;
    expect(rules(await lint(migration, "development"))).toEqual(["warning 3 backfilling-under-lock"]);
    const exempted = await lint(
      `ALTER TABLE "Message" ADD COLUMN "chars" integer;\n-- neonhub-db:allow backfilling-under-lock because the rows it updates are few and indexed\n${BACKFILL}`,
    );
    expect(rules(exempted)).toEqual(["exempted 4 backfilling-under-lock"]);
    await withClient(db.current.url, (c) => c.query('TRUNCATE "Message"'));
    expect(await lint(migration)).toEqual([]);
  });
});
