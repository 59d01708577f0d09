// The safety lint reads what a PL/pgSQL DO block runs: squawk sees `DO $$ ... $$` as one statement and nothing
// inside it, so a blocking statement written in a block went unweighed. On real PostgreSQL, with the table
// holding rows: each SQL command of the block is weighed at its own line, an exemption inside the block accepts
// one, a CASE inside a command is not taken for the block's control, and what the block builds at run time
// (EXECUTE) or runs in another language is a warning that says it was not checked.
import { rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { applyRelease } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { findingPlaces as where, productionLint } from "../support/production-lint";

describe("a DO block in a migration", () => {
  const db = useTestDatabase("lintdo");
  const dir = fixtureMigrationsCopy();
  const lint = productionLint(() => db.current.url, dir, "do_block", 400);

  it("is weighed statement by statement on a table with rows, at each statement's line", async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'widget ' || g FROM generate_series(1, 500) g`,
      ),
    );
    const report = await lint(
      [
        "DO $$", // line 2 (line 1 is the Up marker)
        "DECLARE",
        "  n integer;",
        "BEGIN",
        "  IF to_regclass('\"Widget\"') IS NOT NULL THEN",
        '    UPDATE "Widget" SET name = upper(name);',
        "  END IF;",
        '  CREATE INDEX widget_name ON "Widget" (name);',
        "END",
        "$$;",
      ].join("\n"),
    );
    expect(where(report.findings)).toEqual([
      "error 7 updating-all-rows",
      "error 9 require-concurrent-index-creation",
    ]);
    expect(report.errors).toBe(2);
    expect(report.findings.find((f) => f.line === 9)).toMatchObject({
      table: '"Widget"',
      tableSize: expect.stringMatching(/^500 rows/),
    });
  });

  it("takes an exemption written above the statement inside the block, and reads a CASE in a statement as the statement's", async () => {
    const report = await lint(
      [
        "DO $$",
        "BEGIN",
        "  FOR i IN 1..2 LOOP",
        `    UPDATE "Widget" SET name = CASE WHEN i = 1 THEN 'a' ELSE 'b' END WHERE id = 'w' || i;`,
        "  END LOOP;",
        "  -- neonhub-db:allow require-concurrent-index-creation because the table is small and the build takes milliseconds",
        '  CREATE INDEX widget_name ON "Widget" (name);',
        "  RAISE NOTICE 'done';",
        "END",
        "$$;",
      ].join("\n"),
    );
    expect(where(report.findings)).toEqual(["exempted 8 require-concurrent-index-creation"]);
    expect(report.findings[0]!.exemption).toMatch(/table is small/);
  });

  it("refuses CREATE INDEX CONCURRENTLY in a block, as outside one", async () => {
    const report = await lint(
      ['DO $$ BEGIN CREATE INDEX CONCURRENTLY widget_name ON "Widget" (name); END $$;'].join("\n"),
    );
    expect(where(report.findings)).toEqual(["error 2 cannot-run-in-transaction"]);
  });

  it("says what it cannot read: SQL built at run time, and a body in another language", async () => {
    const report = await lint(
      [
        "DO $$",
        "BEGIN",
        `  EXECUTE format('CREATE INDEX %I ON "Widget" (name)', 'widget_name');`,
        "  FOR r IN EXECUTE 'SELECT 1' LOOP",
        "    NULL;",
        "  END LOOP;",
        "END",
        "$$;",
        "DO LANGUAGE sql 'SELECT 1';",
      ].join("\n"),
    );
    expect(where(report.findings)).toEqual([
      "warning 10 unchecked-do-block",
      "warning 4 unchecked-do-block",
      "warning 5 unchecked-do-block",
    ]);
    expect(report.errors).toBe(0);
    expect(report.findings.find((f) => f.line === 4)!.problem).toMatch(
      /EXECUTE in a DO block runs SQL built when the block runs/,
    );
    expect(report.findings.find((f) => f.line === 10)!.problem).toMatch(/not PL\/pgSQL in dollar quotes/);
  });

  it("weighs a Down section's block for revert too", async () => {
    const report = await lint(
      "SELECT 1;",
      [
        'DO $$ BEGIN DELETE FROM "Widget" WHERE true; ALTER TABLE "Widget" ALTER COLUMN name TYPE varchar(10); END $$;',
      ].join("\n"),
    );
    expect(report.findings.map((f) => `${f.level} ${f.rule}`)).toContain("warning changing-column-type");
    expect(report.findings.find((f) => f.rule === "changing-column-type")!.section).toBe("down");
  });
  it("sees rows an earlier block's INSERT gives an empty table", async () => {
    await withClient(db.current.url, (c) => c.query(`CREATE TABLE "Gizmo" (id text PRIMARY KEY, name text)`));
    const filler = writeMigration(
      dir,
      "20250101000400_gizmo_rows.sql",
      [
        "DO $$",
        "BEGIN",
        `  INSERT INTO "Gizmo" SELECT 'g' || g, 'g' || g FROM generate_series(1, 20) g;`,
        "END",
        "$$;",
      ].join("\n"),
    );
    const report = await lint('CREATE INDEX gizmo_name ON "Gizmo" (name);');
    rmSync(filler);
    expect(where(report.findings)).toEqual(["error 2 require-concurrent-index-creation"]);
    expect(report.findings[0]!.problem).toContain(
      "The table is empty now, but 20250101000400_gizmo_rows.sql:4 adds rows to it before this statement runs",
    );
  });
});
