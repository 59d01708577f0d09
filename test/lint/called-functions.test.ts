// The safety lint reads the body of a function the section defines and calls: a backfill written as
// `CREATE FUNCTION backfill() ... UPDATE ...; SELECT backfill();` went unweighed, the body a string to squawk and
// the call a SELECT. On real PostgreSQL, with the table holding rows: each SQL command of a called function is
// weighed at its own line, where the call runs (rows the function gives a table count for what runs after the
// call); a function the section defines but does not call, or names only in a trigger, is not weighed; a
// function the function calls is followed; what its body builds at run time is a warning naming the function.
import { describe, expect, it } from "vitest";
import { applyRelease, destroyingStatements } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy } from "../support/fixtures";
import { findingPlaces as where, productionLint } from "../support/production-lint";

describe("a function a migration defines and calls", () => {
  const db = useTestDatabase("lintfn");
  const dir = fixtureMigrationsCopy();
  const lint = productionLint(() => db.current.url, dir, "called_function", 500);

  it("is weighed statement by statement on a table with rows, at each statement's line in its body", async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'widget ' || g FROM generate_series(1, 500) g`,
      ),
    );
    const report = await lint(
      [
        "CREATE FUNCTION backfill_widgets() RETURNS void LANGUAGE plpgsql AS $$", // line 2
        "BEGIN",
        '  UPDATE "Widget" SET name = upper(name);',
        "  PERFORM index_widgets();",
        "END",
        "$$;",
        "CREATE OR REPLACE FUNCTION index_widgets() RETURNS void AS $body$", // line 8
        '  CREATE INDEX widget_name ON "Widget" (name);',
        "$body$ LANGUAGE sql;",
        "SELECT backfill_widgets();",
        "SELECT backfill_widgets();",
      ].join("\n"),
    );
    expect(where(report.findings)).toEqual([
      "error 4 updating-all-rows",
      "error 9 require-concurrent-index-creation",
    ]);
    expect(report.findings.find((f) => f.line === 4)).toMatchObject({
      table: '"Widget"',
      tableSize: expect.stringMatching(/^500 rows/),
    });
  });

  it("is not weighed when the section only defines it, or names it in a trigger, a comment or a grant", async () => {
    const report = await lint(
      [
        "CREATE FUNCTION widget_touch() RETURNS trigger LANGUAGE plpgsql AS $$",
        "BEGIN",
        '  UPDATE "Widget" SET name = upper(name);',
        "  RETURN NEW;",
        "END",
        "$$;",
        `CREATE TRIGGER widget_touch AFTER INSERT ON "Widget" FOR EACH ROW EXECUTE FUNCTION widget_touch();`,
        "COMMENT ON FUNCTION widget_touch() IS 'keeps names upper case';",
        "REVOKE ALL ON FUNCTION widget_touch() FROM PUBLIC;",
        "SELECT 'widget_touch()';",
      ].join("\n"),
    );
    expect(report.findings.filter((f) => f.rule === "updating-all-rows")).toEqual([]);
  });

  it("takes an exemption written above the function for its first statement", async () => {
    const report = await lint(
      [
        "-- neonhub-db:allow updating-all-rows because the table holds 500 rows and the update takes milliseconds",
        "CREATE FUNCTION backfill_widgets() RETURNS void LANGUAGE plpgsql AS $$",
        "BEGIN",
        '  UPDATE "Widget" SET name = upper(name);',
        "END",
        "$$;",
        "DO $$ BEGIN PERFORM backfill_widgets(); END $$;",
      ].join("\n"),
    );
    expect(where(report.findings)).toEqual(["exempted 5 updating-all-rows"]);
  });

  it("takes it for the first statement a function it calls runs, when its own body runs none first", async () => {
    const report = await lint(
      [
        "-- neonhub-db:allow updating-all-rows because the table holds 500 rows and the update takes milliseconds",
        "CREATE FUNCTION run_backfill() RETURNS void LANGUAGE plpgsql AS $$ BEGIN PERFORM backfill_widgets(); END $$;",
        "CREATE FUNCTION backfill_widgets() RETURNS void LANGUAGE plpgsql AS $$",
        "BEGIN",
        '  UPDATE "Widget" SET name = upper(name);',
        "END",
        "$$;",
        "SELECT run_backfill();",
      ].join("\n"),
    );
    expect(where(report.findings)).toEqual(["exempted 6 updating-all-rows"]);
  });

  it("keeps an exemption above a function that runs no command on that function, not on what its caller runs next", async () => {
    const report = await lint(
      [
        "-- neonhub-db:allow updating-all-rows because the table holds 500 rows and the update takes milliseconds",
        "CREATE FUNCTION note_start() RETURNS void LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'start'; END $$;",
        'DO $$ BEGIN PERFORM note_start(); UPDATE "Widget" SET name = upper(name); END $$;',
      ].join("\n"),
    );
    expect(where(report.findings)).toEqual(["error 4 updating-all-rows", "warning 2 neonhub-db:allow"]);
  });

  it("says what it cannot read of a called function, naming it", async () => {
    const report = await lint(
      [
        "CREATE FUNCTION index_by_name(t text) RETURNS void LANGUAGE plpgsql AS $$",
        "BEGIN",
        `  EXECUTE format('CREATE INDEX %I ON %I (name)', t || '_name', t);`,
        "END",
        "$$;",
        "CREATE FUNCTION say_hello() RETURNS text LANGUAGE sql AS 'SELECT ''hello''';",
        "SELECT index_by_name('Widget'), say_hello();",
      ].join("\n"),
    );
    expect(where(report.findings)).toEqual(["warning 4 unchecked-do-block", "warning 7 unchecked-do-block"]);
    expect(report.errors).toBe(0);
    expect(report.findings.find((f) => f.line === 4)!.problem).toMatch(
      /^This EXECUTE in function index_by_name, which this section calls, runs SQL built when it runs/,
    );
    expect(report.findings.find((f) => f.line === 7)!.problem).toMatch(
      /^The body of function say_hello, which this section calls, is not PL\/pgSQL or SQL in dollar quotes/,
    );
  });

  it("is listed by revert's preview when the Down section calls it, and not when it only defines it", () => {
    const body = [
      "CREATE FUNCTION clear_widgets() RETURNS void LANGUAGE plpgsql AS $$",
      "BEGIN",
      '  DELETE FROM "Widget" WHERE name IS NULL;',
      "END",
      "$$;",
    ].join("\n");
    expect(destroyingStatements(`${body}\nSELECT clear_widgets();`)).toEqual([
      'DELETE FROM "Widget" WHERE name IS NULL',
    ]);
    expect(destroyingStatements(body)).toEqual([]);
  });
});
