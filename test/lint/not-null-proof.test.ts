// SET NOT NULL after the lint's own safer form (a CHECK (col IS NOT NULL) added NOT VALID, then validated):
// PostgreSQL skips the scan, which the server says at DEBUG1, and the lint no longer calls it an error.
import { beforeEach, describe, expect, it } from "vitest";
import { columnsProvenNotNull, lintMigrations, readMigrationFiles, type SafetyFinding } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { writeMigration } from "../support/fixtures";
import { scratchDir } from "../support/scratch";

const ADD_CHECK =
  'ALTER TABLE "Campaign" ADD CONSTRAINT campaign_description_not_null CHECK ("description" IS NOT NULL) NOT VALID;';
const VALIDATE = 'ALTER TABLE "Campaign" VALIDATE CONSTRAINT campaign_description_not_null;';
const SET_NOT_NULL = 'ALTER TABLE "Campaign" ALTER COLUMN "description" SET NOT NULL;';

/** PostgreSQL's DEBUG1 message when a CHECK spares SET NOT NULL its scan (ATRewriteTables, PostgreSQL 12+). */
const SCAN_SKIPPED =
  /existing constraints on column "Campaign\.description" are sufficient to prove that it does not contain nulls/;

describe("SET NOT NULL after a validated CHECK (col IS NOT NULL)", () => {
  const db = useTestDatabase("lintnotnull");
  const dir = scratchDir("neonhub-migrations-");

  beforeEach(async () => {
    await withClient(db.current.url, (c) =>
      c.query(`
        DROP TABLE IF EXISTS "Campaign";
        CREATE TABLE "Campaign" (id int PRIMARY KEY, "description" text, "ownerId" int);
        INSERT INTO "Campaign" SELECT g, 'campaign ' || g, g FROM generate_series(1, 100) g;`),
    );
  });

  /** The server's DEBUG1 messages while SET NOT NULL runs (rolled back), after `setup` ran, and `before` in
   *  SET NOT NULL's own transaction. */
  const setNotNullMessages = (setup: string, before = "SELECT 1") =>
    withClient(db.current.url, async (c) => {
      await c.query(setup);
      const messages: string[] = [];
      c.on("notice", (notice) => messages.push(notice.message ?? ""));
      await c.query("BEGIN");
      await c.query(before);
      await c.query("SET LOCAL client_min_messages = debug1");
      await c.query(SET_NOT_NULL);
      await c.query("ROLLBACK");
      return messages;
    });

  const lint = async (...migrations: string[]): Promise<SafetyFinding[]> => {
    migrations.forEach((up, i) =>
      writeMigration(dir, `2025010100${String(i + 1).padStart(2, "0")}00_step.sql`, up),
    );
    const report = await withClient(db.current.url, (c) =>
      lintMigrations(c, readMigrationFiles(dir), { environment: "production" }),
    );
    return report.findings;
  };
  const rules = (findings: SafetyFinding[]) =>
    findings.map((f) => `${f.level} ${f.file}:${f.line} ${f.rule}`);

  it("PostgreSQL 15 skips the scan with a validated CHECK, not with a NOT VALID one or none", async () => {
    expect((await setNotNullMessages("SELECT 1")).join("\n")).not.toMatch(SCAN_SKIPPED);
    expect((await setNotNullMessages(ADD_CHECK)).join("\n")).not.toMatch(SCAN_SKIPPED);
    // Validated in SET NOT NULL's own transaction, before it: the same.
    expect((await setNotNullMessages("SELECT 1", VALIDATE)).join("\n")).toMatch(SCAN_SKIPPED);
    expect((await setNotNullMessages(VALIDATE)).join("\n")).toMatch(SCAN_SKIPPED);
  });

  it("the user's case: CHECK added and validated by applied migrations, SET NOT NULL pending: a warning, not an error", async () => {
    await withClient(db.current.url, (c) => c.query(`${ADD_CHECK} ${VALIDATE}`));
    const findings = await lint(SET_NOT_NULL);
    expect(rules(findings)).toEqual(["warning 20250101000100_step.sql:2 adding-not-nullable-field"]);
    expect(findings[0]!.problem).toContain(
      "skips its scan of the table: the validated CHECK constraint campaign_description_not_null proves",
    );
    expect(findings[0]!.lock).toContain("for a moment: no scan");
    expect(findings[0]!.saferForm).toContain("a later migration may drop it");
  });

  it("a CHECK of more than the column, AND-ed, proves it too", async () => {
    await withClient(db.current.url, (c) =>
      c.query(
        `ALTER TABLE "Campaign" ADD CONSTRAINT campaign_description_set CHECK (length("description") > 0 AND "description" IS NOT NULL)`,
      ),
    );
    expect((await setNotNullMessages("SELECT 1")).join("\n")).toMatch(SCAN_SKIPPED);
    expect(rules(await lint(SET_NOT_NULL))).toEqual([
      "warning 20250101000100_step.sql:2 adding-not-nullable-field",
    ]);
  });

  it("without a CHECK, or with one NOT VALID, it stays an error", async () => {
    expect(rules(await lint(SET_NOT_NULL))).toEqual([
      "error 20250101000100_step.sql:2 adding-not-nullable-field",
    ]);
    await withClient(db.current.url, (c) => c.query(ADD_CHECK));
    const findings = await lint(SET_NOT_NULL);
    expect(rules(findings)).toEqual(["error 20250101000100_step.sql:2 adding-not-nullable-field"]);
    expect(findings[0]!.saferForm).toContain("VALIDATE it in a later migration, then SET NOT NULL");
  });

  it("follows the pending migrations: added and validated before it counts, a VALIDATE missing or a DROP after it does not", async () => {
    // All three pending, in three migrations: the VALIDATE has committed when SET NOT NULL runs.
    expect(rules(await lint(ADD_CHECK, VALIDATE, SET_NOT_NULL))).toEqual([
      "warning 20250101000300_step.sql:2 adding-not-nullable-field",
    ]);
    // Validated earlier in SET NOT NULL's own migration, the runbook's second migration (squawk itself then
    // reports nothing): the lint's own finding, proven.
    const sameMigration = await lint(ADD_CHECK, `${VALIDATE}\n${SET_NOT_NULL}`, "SELECT 1;");
    expect(rules(sameMigration)).toEqual(["warning 20250101000200_step.sql:3 adding-not-nullable-field"]);
    expect(sameMigration[0]!.problem).toContain("skips its scan of the table");
    // Never validated: SET NOT NULL scans.
    expect(rules(await lint(ADD_CHECK, SET_NOT_NULL, "SELECT 1;"))).toEqual([
      "error 20250101000200_step.sql:2 adding-not-nullable-field",
    ]);
    // Validated live, dropped by a pending migration before SET NOT NULL.
    await withClient(db.current.url, (c) => c.query(`${ADD_CHECK} ${VALIDATE}`));
    expect(
      rules(
        await lint(
          'ALTER TABLE "Campaign" DROP CONSTRAINT campaign_description_not_null;',
          SET_NOT_NULL,
          "SELECT 1;",
        ),
      ),
    ).toEqual(["error 20250101000200_step.sql:2 adding-not-nullable-field"]);
  });
});

describe("SET NOT NULL that squawk does not report (after any VALIDATE CONSTRAINT in its file)", () => {
  const db = useTestDatabase("lintnotnullown");
  const dir = scratchDir("neonhub-migrations-");
  const SET_OWNER = 'ALTER TABLE "Campaign" ALTER COLUMN "ownerId" SET NOT NULL;';

  beforeEach(async () => {
    await withClient(db.current.url, (c) =>
      c.query(`
        DROP TABLE IF EXISTS "Campaign";
        CREATE TABLE "Campaign" (id int PRIMARY KEY, "description" text, "ownerId" int);
        INSERT INTO "Campaign" SELECT g, 'campaign ' || g, g FROM generate_series(1, 100) g;
        ${ADD_CHECK}`),
    );
  });

  const lint = async (...migrations: string[]): Promise<SafetyFinding[]> => {
    migrations.forEach((up, i) =>
      writeMigration(dir, `2025010100${String(i + 1).padStart(2, "0")}00_step.sql`, up),
    );
    const report = await withClient(db.current.url, (c) =>
      lintMigrations(c, readMigrationFiles(dir), { environment: "production" }),
    );
    return report.findings;
  };
  const rules = (findings: SafetyFinding[]) =>
    findings.map((f) => `${f.level} ${f.file}:${f.line} ${f.rule}`);

  it("the walk-through's case: a VALIDATE of another column's CHECK proves nothing of this one: an error", async () => {
    const findings = await lint(`${VALIDATE}\n${SET_OWNER}`);
    expect(rules(findings)).toEqual(["error 20250101000100_step.sql:3 adding-not-nullable-field"]);
    expect(findings[0]!.table).toBe('"Campaign"');
    expect(findings[0]!.lock).toContain("during a full scan");
    expect(findings[0]!.saferForm).toContain("add a CHECK (col IS NOT NULL) NOT VALID constraint");
  });

  it("two SET NOT NULLs of one ALTER TABLE after a VALIDATE: the proven one a warning, the other an error", async () => {
    const findings = await lint(
      `${VALIDATE}\nALTER TABLE "Campaign" ALTER COLUMN "description" SET NOT NULL, ALTER COLUMN "ownerId" SET NOT NULL;`,
    );
    const described = findings.map((f) => [
      f.level,
      f.rule,
      f.problem.startsWith("SET NOT NULL skips its scan"),
    ]);
    expect(described).toEqual([
      ["warning", "adding-not-nullable-field", true],
      ["error", "adding-not-nullable-field", false],
    ]);
  });

  it("one finding where squawk reports it too, and an exemption accepts the lint's own", async () => {
    // squawk reports this one (no VALIDATE before it in the file): not twice.
    expect(rules(await lint(SET_OWNER))).toEqual([
      "error 20250101000100_step.sql:2 adding-not-nullable-field",
    ]);
    const findings = await lint(
      `${VALIDATE}\n-- neonhub-db:allow adding-not-nullable-field because the table is small\n${SET_OWNER}`,
    );
    expect(rules(findings)).toEqual(["exempted 20250101000100_step.sql:4 adding-not-nullable-field"]);
    expect(findings[0]!.exemption).toBe("the table is small");
  });
});

describe("the columns a CHECK expression proves NOT NULL", () => {
  it("are its top-level AND terms of the form col IS NOT NULL, as written or as pg_get_expr prints them", () => {
    const proven = (expression: string) => [...columnsProvenNotNull(expression)].sort();
    expect(proven(`("description" IS NOT NULL)`)).toEqual(["description"]);
    expect(proven(`((brand IS NOT NULL) AND (length(brand) > 0) AND ("charCount" IS NOT NULL))`)).toEqual([
      "brand",
      "charCount",
    ]);
    // An OR proves nothing; nor does an AND inside parentheses or a string, or the "and" that ends a name.
    expect(proven(`(brand IS NOT NULL OR note IS NOT NULL)`)).toEqual([]);
    expect(proven(`(x > 0 OR (brand IS NOT NULL AND note IS NOT NULL))`)).toEqual([]);
    expect(proven(`(note <> 'a AND brand IS NOT NULL')`)).toEqual([]);
    expect(proven(`(brand IS NOT NULL)AND(note IS NOT NULL)`)).toEqual(["brand", "note"]);
  });
});
