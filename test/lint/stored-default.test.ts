// ADD COLUMN with a DEFAULT squawk cannot tell is not volatile (adding-field-with-default): the lint asks the
// live catalog, and a DEFAULT that calls only immutable or stable functions is a warning (PostgreSQL stores it
// once), where it was an error that blocked a production apply. Each case is checked against what PostgreSQL
// does: the ALTER run in a rolled-back transaction on the same table, a rewrite seen as a new relfilenode.
import { beforeAll, describe, expect, it } from "vitest";
import { applyRelease } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy } from "../support/fixtures";
import { findingPlaces as where, productionLint } from "../support/production-lint";

describe("a DEFAULT squawk takes for volatile, as the live catalog shows it", () => {
  const db = useTestDatabase("storeddef");
  const dir = fixtureMigrationsCopy();
  const lint = productionLint(() => db.current.url, dir, "stored_default", 500);

  beforeAll(async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    await withClient(db.current.url, async (c) => {
      await c.query(
        `INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'widget ' || g FROM generate_series(1, 500) g`,
      );
      await c.query("CREATE FUNCTION tenant_default() RETURNS int LANGUAGE sql STABLE AS $$ SELECT 7 $$");
      await c.query(
        "CREATE FUNCTION fresh_number() RETURNS int LANGUAGE plpgsql VOLATILE AS $$ BEGIN RETURN 7; END $$",
      );
      await c.query("CREATE DOMAIN positive_int AS int CHECK (VALUE > 0)");
      await c.query(
        "CREATE FUNCTION bump(a int, b int) RETURNS int LANGUAGE plpgsql VOLATILE AS $$ BEGIN RETURN a + b; END $$",
      );
      await c.query("CREATE OPERATOR #+# (LEFTARG = int, RIGHTARG = int, FUNCTION = bump)");
      // Overloads taking one argument: which one runs, only the argument's type tells.
      await c.query("CREATE FUNCTION pick(n int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT n $$");
      await c.query("CREATE FUNCTION pick(t text) RETURNS int LANGUAGE sql VOLATILE AS $$ SELECT 1 $$");
    });
  });

  /** Whether PostgreSQL rewrites "Widget" to add the column, the ALTER rolled back. */
  const rewrites = (column: string) =>
    withClient(db.current.url, async (c) => {
      const node = `SELECT relfilenode FROM pg_class WHERE oid = '"Widget"'::regclass`;
      await c.query("BEGIN");
      try {
        const before = (await c.query<{ relfilenode: number }>(node)).rows[0]!.relfilenode;
        await c.query(`ALTER TABLE "Widget" ADD COLUMN ${column}`);
        return (await c.query<{ relfilenode: number }>(node)).rows[0]!.relfilenode !== before;
      } finally {
        await c.query("ROLLBACK");
      }
    });

  it.each([
    ["a stable function of the database", "t int DEFAULT tenant_default()", false],
    ["an immutable function of PostgreSQL's", "t int DEFAULT abs(-1)", false],
    ["a function of a string", "t text DEFAULT lower('A(, b)')", false],
    ["a cast of a stable function's value", "t text DEFAULT tenant_default()::text NOT NULL", false],
    ["a volatile function of the database", "t int DEFAULT fresh_number()", true],
    ["a volatile function of PostgreSQL's", "t uuid DEFAULT gen_random_uuid()", true],
    ["a stable function inside a volatile one", "t int DEFAULT abs(fresh_number())", true],
    ["a domain with a CHECK, whatever its DEFAULT", "t positive_int DEFAULT abs(1)", true],
    ["a volatile operator", "t int DEFAULT abs(1) #+# 2", true],
  ])("%s: the lint says what PostgreSQL does (%s)", async (_, column, rewritten) => {
    expect(await rewrites(column)).toBe(rewritten);
    const report = await lint(`ALTER TABLE "Widget" ADD COLUMN ${column};`);
    expect(where(report.findings)).toEqual([
      `${rewritten ? "error" : "warning"} 2 adding-field-with-default`,
    ]);
    if (!rewritten) {
      expect(report.findings[0]).toMatchObject({
        lock: expect.stringMatching(/^ACCESS EXCLUSIVE .*, for a moment: no rewrite$/),
        problem: expect.stringMatching(
          /^The DEFAULT calls no volatile function \(.*\(\): immutable or stable/,
        ),
      });
    }
  });

  it("stays an error where only the argument's type tells a volatile overload from the one that runs", async () => {
    // PostgreSQL runs pick(int), immutable: no rewrite. The lint cannot tell the types: it says what may.
    expect(await rewrites("t int DEFAULT pick(3)")).toBe(false);
    expect(where((await lint('ALTER TABLE "Widget" ADD COLUMN t int DEFAULT pick(3);')).findings)).toEqual([
      "error 2 adding-field-with-default",
    ]);
  });

  it("stays an error where an earlier statement may change the function the DEFAULT calls", async () => {
    const report = await lint(
      [
        "CREATE OR REPLACE FUNCTION tenant_default() RETURNS int LANGUAGE sql VOLATILE AS $$ SELECT 8 $$;",
        'ALTER TABLE "Widget" ADD COLUMN t int DEFAULT tenant_default();',
      ].join("\n"),
    );
    expect(where(report.findings)).toEqual(["error 3 adding-field-with-default"]);
  });
});
