// The safety lint follows a function a migration calls but does not define: one an earlier migration defined
// (the database's, read with pg_get_functiondef) or an earlier pending migration defines. A backfill written
// once as a function and run by a later migration (`SELECT backfill();`) went unweighed: the later migration's
// lint read only a SELECT. On real PostgreSQL, with the table holding rows: the body's findings are said at the
// call, naming the function and where it is defined; an exemption above the call accepts them; a function that
// only computes a value, and the extensions' functions, are not followed; the file's own lines keep their numbers.
import { rmSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { applyRelease, lintMigrations, planRelease, type MigrationFile } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { findingPlaces as where, productionLint } from "../support/production-lint";

const BACKFILL = [
  "CREATE FUNCTION backfill_widgets() RETURNS void LANGUAGE plpgsql AS $$",
  "BEGIN",
  '  UPDATE "Widget" SET name = upper(name);',
  "END",
  "$$;",
].join("\n");

describe("a function a migration calls but does not define", () => {
  const db = useTestDatabase("lintelse");
  const dir = fixtureMigrationsCopy();
  const lint = productionLint(() => db.current.url, dir, "calls_elsewhere", 500);

  beforeAll(async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    await withClient(db.current.url, async (c) => {
      await c.query(
        `INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'widget ' || g FROM generate_series(1, 500) g`,
      );
      // As an applied migration left them: a backfill, a procedure that commits, a function computing a value.
      await c.query(BACKFILL);
      await c.query(
        'CREATE PROCEDURE backfill_in_batches() LANGUAGE plpgsql AS $$ BEGIN UPDATE "Widget" SET name = lower(name); COMMIT; END $$',
      );
      await c.query(
        "CREATE FUNCTION widget_label(n text) RETURNS text LANGUAGE sql AS $$ SELECT upper(n) $$",
      );
      // A function that only calls the backfill, one that calls that one, and one that calls itself.
      await c.query(
        "CREATE FUNCTION backfill_outer() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM backfill_widgets(); END $$",
      );
      await c.query(
        "CREATE FUNCTION backfill_outermost() RETURNS void LANGUAGE sql AS $$ SELECT backfill_outer() $$",
      );
      await c.query(
        `CREATE FUNCTION backfill_down(n int) RETURNS void LANGUAGE plpgsql AS $$
         BEGIN IF n > 0 THEN UPDATE "Widget" SET name = name; PERFORM backfill_down(n - 1); END IF; END $$`,
      );
      // Overloads: the one taking a batch size updates every row; the newer one taking none only counts them.
      await c.query(
        'CREATE FUNCTION widget_pass(batch int) RETURNS void LANGUAGE sql AS $$ UPDATE "Widget" SET name = name $$',
      );
      await c.query(
        'CREATE FUNCTION widget_pass() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM "Widget" $$',
      );
      // An OUT parameter is not passed; VARIADIC takes any number more.
      await c.query(
        `CREATE FUNCTION widget_touch(batch int, OUT touched bigint) LANGUAGE plpgsql AS $$
         BEGIN UPDATE "Widget" SET name = name; touched := 0; END $$`,
      );
      await c.query(
        `CREATE FUNCTION widget_tag(VARIADIC tags text[]) RETURNS void LANGUAGE plpgsql AS $$
         BEGIN UPDATE "Widget" SET name = name || array_to_string(tags, ','); END $$`,
      );
      // Two taking one argument, told apart only by its type: which one a call runs the lint cannot say.
      await c.query(
        "CREATE FUNCTION widget_mark(label text) RETURNS text LANGUAGE sql AS $$ SELECT upper(label) $$",
      );
      await c.query(
        `CREATE FUNCTION widget_mark(n int, note text DEFAULT 'x') RETURNS void LANGUAGE plpgsql AS $$
         BEGIN UPDATE "Widget" SET name = name || note; END $$`,
      );
    });
  });

  it("weighs the database's function at the call, naming it and where it is defined", async () => {
    const report = await lint(["SELECT 1;", "SELECT backfill_widgets();"].join("\n"));
    expect(where(report.findings)).toEqual(["error 3 updating-all-rows"]);
    const finding = report.findings[0]!;
    expect(finding.problem).toMatch(
      /^In function backfill_widgets \(defined in the database\), which this statement calls: /,
    );
    expect(finding).toMatchObject({ table: '"Widget"', tableSize: expect.stringMatching(/^500 rows/) });
  });

  // backfill_outer runs no command of its own before it PERFORMs backfill_widgets.
  it.each(["backfill_widgets", "backfill_outer"])(
    "takes an exemption written above the call of %s for the first statement it runs, and says nothing of it matching nothing",
    async (called) => {
      const report = await lint(
        [
          "-- neonhub-db:allow updating-all-rows because the table holds 500 rows and the update takes milliseconds",
          `SELECT ${called}();`,
        ].join("\n"),
      );
      expect(where(report.findings)).toEqual(["exempted 3 updating-all-rows"]);
    },
  );

  it("follows the functions a called function calls, as deep as they go, naming the way", async () => {
    const report = await lint("SELECT 1;\n\nSELECT backfill_outermost();");
    expect(where(report.findings)).toEqual(["error 4 updating-all-rows"]);
    expect(report.findings[0]!.problem).toMatch(
      /^In function backfill_widgets \(defined in the database\), which backfill_outer calls, which backfill_outermost calls, which this statement calls: /,
    );
  });

  it("follows a function that calls itself once", async () => {
    const report = await lint("SELECT backfill_down(3);");
    expect(where(report.findings)).toEqual(["error 2 updating-all-rows"]);
  });

  it("follows the overload taking as many arguments as the call passes, naming it by its parameters", async () => {
    expect(await lint("SELECT widget_pass();")).toMatchObject({ findings: [] });
    const report = await lint("SELECT widget_pass(100);");
    expect(where(report.findings)).toEqual(["error 2 updating-all-rows"]);
    expect(report.findings[0]!.problem).toMatch(
      /^In function widget_pass\(batch integer\) \(defined in the database\), which this statement calls: /,
    );
  });

  // Guards of the count: neither has an overload, and each call runs it.
  it.each(["widget_touch(5)", "widget_tag('a', 'b', 'c')"])(
    "counts the arguments a call of %s passes as its parameters take them",
    async (call) => {
      expect(where((await lint(`SELECT ${call};`)).findings)).toEqual(["error 2 updating-all-rows"]);
    },
  );

  it("follows every overload a call may run where only the arguments' types tell them apart", async () => {
    // widget_mark(n int, note text DEFAULT 'x') takes one argument as well as two.
    const report = await lint("SELECT widget_mark(7);");
    expect(where(report.findings)).toEqual(["error 2 updating-all-rows"]);
    expect(report.findings[0]!.problem).toMatch(
      /^In function widget_mark\(n integer, note text DEFAULT 'x'::text\) \(defined in the database\)/,
    );
    expect(await lint("SELECT widget_mark(1, 'a', 'b');")).toMatchObject({ findings: [] });
  });

  it("says a COMMIT in the database's procedure at the call", async () => {
    const report = await lint("CALL backfill_in_batches();");
    expect(where(report.findings)).toContain("error 2 transaction-control");
    expect(report.findings.find((f) => f.rule === "transaction-control")!.problem).toMatch(
      /COMMIT in the body of procedure public\.backfill_in_batches, which this statement calls/,
    );
  });

  it("follows neither a function that only computes a value nor an extension's", async () => {
    const report = await lint(
      `SELECT widget_label('a'), l2_distance('[1,2]'::vector, '[2,3]'::vector), count(*) FROM (VALUES (1)) v(x);`,
    );
    expect(report.findings).toEqual([]);
  });

  it("keeps the lines of the file's own statements after the section, and reads the Down section as written", async () => {
    const report = await lint(
      "SELECT backfill_widgets();",
      ["SELECT backfill_widgets();", 'CREATE INDEX widget_name ON "Widget" (name);'].join("\n"),
    );
    // The Up section's call (line 2); the Down section's CREATE INDEX at its own line (6), its call not followed
    // by plan (revert follows it when it runs the section).
    expect(where(report.findings)).toEqual([
      "error 2 updating-all-rows",
      "warning 6 require-concurrent-index-creation",
    ]);
  });

  it("weighs a function an earlier pending migration defines, at the later one's call", async () => {
    const first = "20250101000600_defines_backfill";
    const second = "20250101000601_runs_backfill";
    writeMigration(dir, `${first}.sql`, BACKFILL.replace("backfill_widgets", "backfill_widgets_again"));
    writeMigration(dir, `${second}.sql`, "SELECT 1;\nSELECT backfill_widgets_again();");
    try {
      const plan = await planRelease({
        databaseUrl: db.current.url,
        migrationsDir: dir,
        environment: "production",
      });
      const found = plan.safety.findings.map((f) => `${f.file}:${f.line} ${f.rule}`);
      expect(found).toEqual([`${second}.sql:3 updating-all-rows`]);
      expect(plan.safety.findings[0]!.problem).toMatch(
        new RegExp(`^In function backfill_widgets_again \\(defined by migration ${first}\\)`),
      );
    } finally {
      rmSync(`${dir}/${first}.sql`);
      rmSync(`${dir}/${second}.sql`);
    }
  });

  it("follows the database's overload where an earlier pending migration defines another", async () => {
    const first = "20250101000650_defines_other_pass";
    const second = "20250101000651_runs_pass";
    // The pending overload takes two arguments and only reads; the call passes one: the database's runs.
    writeMigration(
      dir,
      `${first}.sql`,
      'CREATE FUNCTION widget_pass(a int, b int) RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM "Widget" $$;',
    );
    writeMigration(dir, `${second}.sql`, "SELECT widget_pass(10);");
    try {
      const plan = await planRelease({
        databaseUrl: db.current.url,
        migrationsDir: dir,
        environment: "production",
      });
      expect(plan.safety.findings.map((f) => `${f.file}:${f.line} ${f.rule}`)).toEqual([
        `${second}.sql:2 updating-all-rows`,
      ]);
      expect(plan.safety.findings[0]!.problem).toMatch(
        /^In function widget_pass\(batch integer\) \(defined in the database\)/,
      );
    } finally {
      rmSync(`${dir}/${first}.sql`);
      rmSync(`${dir}/${second}.sql`);
    }
  });

  it("weighs it where a Down section that a revert runs calls it", async () => {
    const sql = "-- Up Migration\nSELECT 1;\n\n-- Down Migration\nSELECT backfill_widgets();\n";
    const file: MigrationFile = {
      name: "20250101000700_down_calls",
      path: `${dir}/20250101000700_down_calls.sql`,
      checksum: "",
      bytesChecksum: "",
      sql,
    };
    const report = await withClient(db.current.url, (c) =>
      lintMigrations(c, [file], { environment: "production", runs: "down" }),
    );
    expect(where(report.findings)).toEqual(["error 5 updating-all-rows"]);
  });
});
