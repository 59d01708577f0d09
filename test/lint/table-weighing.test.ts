// Which table a finding is weighed with, on real PostgreSQL: REINDEX is weighed with its table (an index's
// own table for REINDEX INDEX), TRUNCATE and DROP TABLE with every table they name, a CREATE TABLE IF NOT
// EXISTS of a table that holds rows creates nothing (so what follows it is weighed with those rows), and a
// finding whose table the lint cannot find is weighed as one on a table with data and says so, rather than
// passing. Adding a varchar(n) column rewrites nothing: squawk's prefer-text-field is advice, never an error.
import { describe, expect, it } from "vitest";
import { lintMigrations, readMigrationFiles, type SafetyFinding } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { writeMigration } from "../support/fixtures";
import { relationChanges } from "../support/relation-changes";
import { scratchDir } from "../support/scratch";

describe("the table a finding is weighed with", () => {
  const db = useTestDatabase("lintweigh");

  const withRows = (rows: number) =>
    withClient(db.current.url, (c) =>
      c.query(`
        DROP TABLE IF EXISTS t;
        CREATE TABLE t (id int PRIMARY KEY, c int, note text);
        INSERT INTO t SELECT g, g, 'n' FROM generate_series(1, ${rows}) g;`),
    );

  const lint = async (...migrations: string[]): Promise<SafetyFinding[]> => {
    // A folder of its own for each lint: only these migrations are pending.
    const dir = scratchDir("neonhub-migrations-");
    migrations.forEach((sql, i) => writeMigration(dir, `2025010100${i + 1}000_m.sql`, sql));
    const report = await withClient(db.current.url, (c) =>
      lintMigrations(c, readMigrationFiles(dir), { environment: "production" }),
    );
    return report.findings;
  };
  const levels = (findings: SafetyFinding[]) => findings.map((f) => `${f.level} ${f.rule} ${f.table}`);

  it.each([
    { statement: "REINDEX TABLE t;", relations: ["t", "t_pkey"] },
    { statement: "REINDEX INDEX t_pkey;", relations: ["t", "t_pkey"] },
    { statement: "REINDEX (VERBOSE) INDEX public.t_pkey;", relations: ["t", "t_pkey"] },
  ])("$statement is weighed with the table: an error in production", async ({ statement, relations }) => {
    await withRows(100);
    const { locks } = await relationChanges(db.current.url, statement, "t", relations);
    expect(locks.t).toContain("ShareLock");
    expect(locks.t_pkey).toContain("AccessExclusiveLock");
    const findings = await lint(statement);
    expect(levels(findings)).toEqual(["error require-concurrent-reindex t"]);
    expect(findings[0]!.tableSize).toMatch(/^100 rows, /);
    expect(findings[0]!.lock).toMatch(
      /^SHARE on the table \(blocks writes\) and ACCESS EXCLUSIVE on each index/,
    );
    await withRows(0);
    expect(await lint(statement)).toEqual([]);
  });

  it.each([
    { command: "TRUNCATE", rule: "truncating-table" },
    { command: "DROP TABLE", rule: "ban-drop-table" },
  ])(
    "$command of several tables weighs each: a new or empty first one hides no table with data",
    async ({ command, rule }) => {
      await withRows(100);
      await withClient(db.current.url, (c) => c.query("DROP TABLE IF EXISTS e; CREATE TABLE e (id int);"));
      const { locks } = await relationChanges(db.current.url, `${command} e, t;`, "e", ["e", "t"]);
      expect(locks.e).toContain("AccessExclusiveLock");
      expect(locks.t).toContain("AccessExclusiveLock");
      // A table the release creates and an empty one come first: only t holds data, and the finding names it.
      const findings = await lint(`CREATE TABLE n (id int);\n${command} n, e, t;`);
      expect(levels(findings)).toEqual([`error ${rule} t`]);
      expect(findings[0]!.tableSize).toMatch(/^100 rows, /);
      // Each table that holds data is a finding of its own, with its size.
      await withClient(db.current.url, (c) => c.query("INSERT INTO e VALUES (1), (2)"));
      const both = await lint(`${command} e, t;`);
      expect(levels(both)).toEqual([`error ${rule} e`, `error ${rule} t`]);
      expect(both.map((f) => f.tableSize?.split(",")[0])).toEqual(["2 rows", "100 rows"]);
      await withClient(db.current.url, (c) => c.query("TRUNCATE e, t"));
      expect(await lint(`${command} e, t;`)).toEqual([]);
    },
  );

  it("a CREATE TABLE IF NOT EXISTS of a table that holds rows creates nothing", async () => {
    await withRows(100);
    const findings = await lint("CREATE TABLE IF NOT EXISTS t (id int);\nCREATE INDEX t_note ON t (note);");
    expect(levels(findings)).toEqual(["error require-concurrent-index-creation t"]);
    expect(findings[0]!.line).toBe(3);
    // Of a table that is not there, it creates it: nothing after it concerns data.
    expect(
      await lint(
        "CREATE TABLE IF NOT EXISTS fresh (id int, note text);\nCREATE INDEX fresh_note ON fresh (note);",
      ),
    ).toEqual([]);
  });

  it("a finding whose table is not in the database is weighed as one with data, and says so", async () => {
    await withRows(100);
    const findings = await lint("CREATE INDEX g_note ON gone (note);");
    expect(levels(findings)).toEqual(["error require-concurrent-index-creation gone"]);
    expect(findings[0]!.tableSize).toBeNull();
    expect(findings[0]!.problem).toContain(
      "The table is not in the database and no pending migration creates it with CREATE TABLE, so the lint weighs it as one that holds data.",
    );
    // A renamed table is the case in point: its rows are the old name's.
    const renamed = await lint('ALTER TABLE t RENAME TO "u";\nCREATE INDEX u_note ON "u" (note);');
    expect(levels(renamed)).toEqual([
      "warning renaming-table t",
      'error require-concurrent-index-creation "u"',
    ]);
    // An index the release creates on a table it creates: dropping or rebuilding it later is not shown.
    const created = await lint(
      "CREATE TABLE n (id int, note text);\nCREATE INDEX n_note ON n (note);",
      "DROP INDEX n_note;\nREINDEX INDEX n_note;",
    );
    expect(created).toEqual([]);
  });

  it.each([
    { statement: "DROP INDEX t_c;", rule: "require-concurrent-index-deletion", mode: "AccessExclusiveLock" },
    { statement: "REINDEX INDEX t_c;", rule: "require-concurrent-reindex", mode: "ShareLock" },
  ])(
    "$statement of an index a pending migration creates on a table with data is weighed with that table",
    async ({ statement, rule, mode }) => {
      await withRows(100);
      await withClient(db.current.url, (c) => c.query("CREATE INDEX t_c ON t (c)"));
      const { locks } = await relationChanges(db.current.url, statement, "t");
      expect(locks.t).toContain(mode);
      await withClient(db.current.url, (c) => c.query("DROP INDEX t_c"));
      const build =
        "-- neonhub-db:allow require-concurrent-index-creation because it was built by hand first\nCREATE INDEX IF NOT EXISTS t_c ON t (c);";
      const findings = await lint(build, statement);
      expect(levels(findings)).toEqual(["exempted require-concurrent-index-creation t", `error ${rule} t`]);
      expect(findings[1]!.tableSize).toMatch(/^100 rows, /);
      // Of an index on a table the release creates, it concerns no data (the test above), nor on an empty one.
      await withRows(0);
      expect(await lint(build, statement)).toEqual([]);
    },
  );

  it("adding a varchar(n) column rewrites nothing: prefer-text-field is a warning, not an error", async () => {
    await withRows(100);
    const statement = "ALTER TABLE t ADD COLUMN v varchar(10) NOT NULL DEFAULT 'a';";
    const { rewritten } = await relationChanges(db.current.url, statement, "t");
    expect(rewritten).toBe(false);
    const findings = await lint(statement);
    expect(levels(findings)).toEqual(["warning prefer-text-field t"]);
    expect(findings[0]!.lock).toBeNull();
    expect(findings[0]!.problem).toContain("Adding or declaring the column rewrites nothing.");
    // A narrower type rewrites the table: that is changing-column-type's error.
    await withClient(db.current.url, (c) => c.query("ALTER TABLE t ADD COLUMN w varchar(20)"));
    const narrower = "ALTER TABLE t ALTER COLUMN w TYPE varchar(5);";
    expect((await relationChanges(db.current.url, narrower, "t")).rewritten).toBe(true);
    expect(levels(await lint(narrower))).toEqual([
      "error changing-column-type t",
      "warning prefer-text-field t",
    ]);
  });
});
