// Statements squawk does not report, which rewrite a table or change all of its rows, on real PostgreSQL: each
// is measured (a new relfilenode, the locks pg_locks shows in its transaction) and the lint reports it, an
// error in production on a table holding rows, accepted by a reasoned exemption like squawk's findings.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lintMigrations, readMigrationFiles, type SafetyFinding } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { writeMigration } from "../support/fixtures";
import { relationChanges } from "../support/relation-changes";
import { scratchDir } from "../support/scratch";

const TABLESPACE = "lint_elsewhere";
/** A second table access method (heap's handler under another name, as PostgreSQL's own tests make one): SET
 *  ACCESS METHOD to the one a table already has changes nothing. */
const ACCESS_METHOD = "lint_heap2";

/** Statements that give the table a new file under ACCESS EXCLUSIVE, and the rule each is reported under. */
const REWRITES = [
  { statement: "ALTER TABLE t ADD COLUMN n serial;", rule: "adding-field-with-default", says: "serial" },
  { statement: "ALTER TABLE t ADD COLUMN n bigserial;", rule: "adding-field-with-default", says: "serial" },
  {
    statement: 'ALTER TABLE t ADD COLUMN "n" smallserial;',
    rule: "adding-field-with-default",
    says: "serial",
  },
  { statement: "CLUSTER t USING t_pkey;", rule: "clustering-table", says: "CLUSTER" },
  { statement: `ALTER TABLE t SET TABLESPACE ${TABLESPACE};`, rule: "moving-tablespace", says: "copies" },
  { statement: "ALTER TABLE t SET UNLOGGED;", rule: "changing-table-logging", says: "SET UNLOGGED" },
  {
    statement: `ALTER TABLE t SET ACCESS METHOD ${ACCESS_METHOD};`,
    rule: "changing-access-method",
    says: "SET ACCESS METHOD rewrites",
  },
  { statement: "TRUNCATE t;", rule: "truncating-table", says: "every row" },
];

/** Statements that change every row without a new file: no ACCESS EXCLUSIVE, but row locks until commit. */
const ALL_ROWS = [
  { statement: "DELETE FROM t;", rule: "deleting-all-rows" },
  { statement: "UPDATE t SET c = (SELECT max(id) FROM t u WHERE u.id > 0);", rule: "updating-all-rows" },
];

/** The same inside a WITH: PostgreSQL runs each data-modifying query of a WITH, and the statement after it, as
 *  a statement of its own, however the WITH's result is used. `changed`: the rows of t it deletes or updates. */
const IN_WITH = [
  { statement: "WITH d AS (DELETE FROM t RETURNING 1) SELECT count(*) FROM d;", rule: "deleting-all-rows" },
  {
    statement: "WITH d AS (DELETE FROM t RETURNING id) SELECT id FROM d WHERE id > 50;",
    rule: "deleting-all-rows",
  },
  {
    statement: "WITH u AS (UPDATE t SET c = 0 RETURNING id) SELECT count(*) FROM u;",
    rule: "updating-all-rows",
  },
  {
    statement: "WITH RECURSIVE k (n) AS (SELECT 1), u AS NOT MATERIALIZED (SELECT 2) DELETE FROM t;",
    rule: "deleting-all-rows",
  },
  {
    statement: "WITH s AS (SELECT max(c) AS m FROM t) UPDATE t SET c = s.m FROM s;",
    rule: "updating-all-rows",
  },
];

describe("statements squawk does not report", () => {
  const db = useTestDatabase("lintunflagged");
  const dir = scratchDir("neonhub-migrations-");

  // A tablespace inside the cluster's own folder (a developer option of PostgreSQL 15), so that the server's
  // OS user needs no folder of ours.
  beforeAll(async () => {
    await withClient(db.current.url, (c) =>
      c
        .query("SET allow_in_place_tablespaces = on")
        .then(() => c.query(`CREATE TABLESPACE ${TABLESPACE} LOCATION ''`))
        .then(() => c.query(`CREATE ACCESS METHOD ${ACCESS_METHOD} TYPE TABLE HANDLER heap_tableam_handler`)),
    );
  });
  afterAll(async () => {
    // A test may leave t (and a materialized view on it) in the tablespace.
    await withClient(db.current.url, (c) =>
      c
        .query("DROP TABLE IF EXISTS t CASCADE")
        .then(() => c.query(`DROP TABLESPACE IF EXISTS ${TABLESPACE}`))
        .then(() => c.query(`DROP ACCESS METHOD IF EXISTS ${ACCESS_METHOD}`)),
    );
  });

  const withRows = (rows: number) =>
    withClient(db.current.url, (c) =>
      c.query(`
        DROP TABLE IF EXISTS t CASCADE;
        CREATE TABLE t (id int PRIMARY KEY, c int);
        INSERT INTO t SELECT g, g FROM generate_series(1, ${rows}) g;`),
    );

  const lint = async (statement: string): Promise<SafetyFinding[]> => {
    writeMigration(dir, "20250101000100_statement.sql", statement);
    const report = await withClient(db.current.url, (c) =>
      lintMigrations(c, readMigrationFiles(dir), { environment: "production" }),
    );
    return report.findings;
  };

  it.each(REWRITES)(
    "$statement rewrites the table and is an error in production",
    async ({ statement, rule, says }) => {
      await withRows(100);
      const { rewritten, locks } = await relationChanges(db.current.url, statement, "t");
      expect(rewritten).toBe(true);
      expect(locks.t).toContain("AccessExclusiveLock");
      const findings = await lint(statement);
      expect(findings.map((f) => `${f.level} ${f.rule}`)).toEqual([`error ${rule}`]);
      expect(findings[0]).toMatchObject({ table: "t", line: 2 });
      expect(findings[0]!.tableSize).toMatch(/^100 rows, /);
      expect(findings[0]!.problem).toContain(says);
      expect(findings[0]!.lock).toMatch(/^ACCESS EXCLUSIVE/);
    },
  );

  it.each(ALL_ROWS)(
    "$statement changes every row and is an error in production",
    async ({ statement, rule }) => {
      await withRows(100);
      const { rewritten, locks } = await relationChanges(db.current.url, statement, "t");
      expect(rewritten).toBe(false);
      expect(locks.t).toContain("RowExclusiveLock");
      expect(locks.t).not.toContain("AccessExclusiveLock");
      const findings = await lint(statement);
      expect(findings.map((f) => `${f.level} ${f.rule}`)).toEqual([`error ${rule}`]);
      expect(findings[0]!.lock).toMatch(/^ROW EXCLUSIVE, and a lock on every row/);
    },
  );

  it.each(IN_WITH)("$statement changes every row: $rule", async ({ statement, rule }) => {
    await withRows(100);
    // Each row t has left, and each one this transaction wrote, once the statement ran.
    const rows = await withClient(db.current.url, async (c) => {
      await c.query("BEGIN");
      try {
        await c.query(statement);
        return (
          await c.query<{ left: number; written: number }>(
            "SELECT count(*)::int AS left, (count(*) FILTER (WHERE xmin = pg_current_xact_id()::xid))::int AS written FROM t",
          )
        ).rows[0]!;
      } finally {
        await c.query("ROLLBACK");
      }
    });
    expect(rows).toEqual(
      rule === "deleting-all-rows" ? { left: 0, written: 0 } : { left: 100, written: 100 },
    );
    const { locks } = await relationChanges(db.current.url, statement, "t");
    expect(locks.t).toContain("RowExclusiveLock");
    const findings = await lint(statement);
    expect(findings.map((f) => `${f.level} ${f.rule} ${f.table}`)).toEqual([`error ${rule} t`]);
    expect(findings[0]!.tableSize).toMatch(/^100 rows, /);
  });

  it("inside a WITH, a DELETE or UPDATE with its own WHERE is not shown, and TRUNCATE cannot be written", async () => {
    await withRows(100);
    expect(
      await lint("WITH d AS (DELETE FROM t WHERE id > 50 RETURNING id) SELECT count(*) FROM d;"),
    ).toEqual([]);
    expect(await lint("WITH s AS (SELECT 1 AS one) UPDATE t SET c = 0 FROM s WHERE t.id = s.one;")).toEqual(
      [],
    );
    // PostgreSQL's grammar takes no TRUNCATE in a WITH: the lint says so, as the server does.
    const truncate = await lint("WITH x AS (TRUNCATE t) SELECT 1;");
    expect(truncate.map((f) => `${f.level} ${f.rule}`)).toEqual(["error syntax-error"]);
    expect(truncate[0]!.problem).toContain('syntax error at or near "TRUNCATE"');
  });

  it("ALTER INDEX ... SET TABLESPACE copies the index under ACCESS EXCLUSIVE, which stops the table's queries: an error in production", async () => {
    await withRows(100);
    const statement = `ALTER INDEX t_pkey SET TABLESPACE ${TABLESPACE};`;
    const { rewritten, locks } = await relationChanges(db.current.url, statement, "t_pkey", ["t", "t_pkey"]);
    expect(rewritten).toBe(true);
    expect(locks.t_pkey).toContain("AccessExclusiveLock");
    // The table itself is not locked, but a query plans with each of its indexes: it waits all the same.
    await withClient(db.current.url, async (mover) => {
      await mover.query("BEGIN");
      await mover.query(statement);
      try {
        await withClient(db.current.url, async (app) => {
          await app.query("SET lock_timeout = '200ms'");
          await expect(app.query("SELECT c FROM t WHERE c = 1")).rejects.toThrow(/lock timeout/);
          await expect(app.query("INSERT INTO t VALUES (1000, 1)")).rejects.toThrow(/lock timeout/);
        });
      } finally {
        await mover.query("ROLLBACK");
      }
    });
    const findings = await lint(statement);
    expect(findings.map((f) => `${f.level} ${f.rule} ${f.table}`)).toEqual(["error moving-tablespace t"]);
    expect(findings[0]!.tableSize).toMatch(/^100 rows, /);
    expect(findings[0]!.problem).toContain("ALTER INDEX");
    expect(findings[0]!.lock).toMatch(/^ACCESS EXCLUSIVE/);
    // Every index of a tablespace: the lint does not tell whose, and weighs it as holding data (below).
    const all = await lint(`ALTER INDEX ALL IN TABLESPACE pg_default SET TABLESPACE ${TABLESPACE};`);
    expect(all.map((f) => `${f.level} ${f.rule} ${f.table}`)).toEqual(["error moving-tablespace null"]);
    await withRows(0);
    expect(await lint(statement)).toEqual([]);
  });

  it("ALTER MATERIALIZED VIEW ... SET TABLESPACE copies the view under ACCESS EXCLUSIVE: an error in production, weighed with its rows", async () => {
    await withRows(100);
    const view = (rows: number) =>
      withClient(db.current.url, (c) =>
        c.query(
          `DROP MATERIALIZED VIEW IF EXISTS mv; CREATE MATERIALIZED VIEW mv AS SELECT id FROM t WHERE id <= ${rows};`,
        ),
      );
    await view(100);
    const statement = `ALTER MATERIALIZED VIEW mv SET TABLESPACE ${TABLESPACE};`;
    const { rewritten, locks } = await relationChanges(db.current.url, statement, "mv");
    expect(rewritten).toBe(true);
    expect(locks.mv).toContain("AccessExclusiveLock");
    const findings = await lint(statement);
    expect(findings.map((f) => `${f.level} ${f.rule} ${f.table}`)).toEqual(["error moving-tablespace mv"]);
    expect(findings[0]!.tableSize).toMatch(/^100 rows, /);
    expect(findings[0]!.problem).toContain("materialized view (ALTER MATERIALIZED VIEW)");
    expect(findings[0]!.saferForm).toContain("CREATE MATERIALIZED VIEW ... TABLESPACE");
    // Among other actions, and with IF EXISTS.
    const among = await lint(
      `ALTER MATERIALIZED VIEW IF EXISTS mv ALTER COLUMN id SET STATISTICS 100, SET TABLESPACE ${TABLESPACE};`,
    );
    expect(among.map((f) => `${f.level} ${f.rule} ${f.table}`)).toEqual(["error moving-tablespace mv"]);
    await view(0);
    expect(await lint(statement)).toEqual([]);
  });

  it("SET ACCESS METHOD to the table's own access method rewrites nothing: a warning, read from the live catalog", async () => {
    await withRows(100);
    for (const statement of [
      "ALTER TABLE t SET ACCESS METHOD heap;",
      'ALTER TABLE t SET ACCESS METHOD "heap";',
    ]) {
      expect((await relationChanges(db.current.url, statement, "t")).rewritten).toBe(false);
      const findings = await lint(statement);
      expect(findings.map((f) => `${f.level} ${f.rule} ${f.table}`)).toEqual([
        "warning changing-access-method t",
      ]);
      expect(findings[0]!.problem).toContain("uses the access method heap already");
      expect(findings[0]!.lock).toMatch(/^ACCESS EXCLUSIVE .*, for a moment: no rewrite$/);
    }
    // A table on the second method: naming heap is the rewrite, naming its own is not.
    await withClient(db.current.url, (c) => c.query(`ALTER TABLE t SET ACCESS METHOD ${ACCESS_METHOD}`));
    expect((await lint("ALTER TABLE t SET ACCESS METHOD heap;")).map((f) => f.level)).toEqual(["error"]);
    expect((await lint(`ALTER TABLE t SET ACCESS METHOD ${ACCESS_METHOD};`)).map((f) => f.level)).toEqual([
      "warning",
    ]);
  });

  it("SET ACCESS METHOD after a pending statement that may change the method is weighed as a rewrite", async () => {
    await withRows(100);
    const findings = await lint(
      `ALTER TABLE t SET ACCESS METHOD ${ACCESS_METHOD};\nALTER TABLE t SET ACCESS METHOD heap;`,
    );
    expect(findings.map((f) => `${f.level} ${f.rule} ${f.line}`)).toEqual([
      "error changing-access-method 2",
      "error changing-access-method 3",
    ]);
  });

  it("ALTER MATERIALIZED VIEW ... SET ACCESS METHOD rewrites the view under ACCESS EXCLUSIVE: an error in production, weighed with its rows", async () => {
    await withRows(100);
    const view = (rows: number) =>
      withClient(db.current.url, (c) =>
        c.query(
          `DROP MATERIALIZED VIEW IF EXISTS mv; CREATE MATERIALIZED VIEW mv AS SELECT id FROM t WHERE id <= ${rows};`,
        ),
      );
    await view(100);
    const statement = `ALTER MATERIALIZED VIEW mv SET ACCESS METHOD ${ACCESS_METHOD};`;
    const { rewritten, locks } = await relationChanges(db.current.url, statement, "mv");
    expect(rewritten).toBe(true);
    expect(locks.mv).toContain("AccessExclusiveLock");
    const findings = await lint(statement);
    expect(findings.map((f) => `${f.level} ${f.rule} ${f.table}`)).toEqual([
      "error changing-access-method mv",
    ]);
    expect(findings[0]!.tableSize).toMatch(/^100 rows, /);
    expect(findings[0]!.problem).toContain("materialized view (ALTER MATERIALIZED VIEW)");
    expect(findings[0]!.saferForm).toContain("CREATE MATERIALIZED VIEW ... USING");
    // Among other actions, and with IF EXISTS.
    const among = await lint(
      `ALTER MATERIALIZED VIEW IF EXISTS mv ALTER COLUMN id SET STATISTICS 100, SET ACCESS METHOD ${ACCESS_METHOD};`,
    );
    expect(among.map((f) => `${f.level} ${f.rule} ${f.table}`)).toEqual(["error changing-access-method mv"]);
    // The view's own method, among other actions too: nothing rewritten, a warning.
    const own = "ALTER MATERIALIZED VIEW mv ALTER COLUMN id SET STATISTICS 100, SET ACCESS METHOD heap;";
    expect((await relationChanges(db.current.url, own, "mv")).rewritten).toBe(false);
    expect((await lint(own)).map((f) => `${f.level} ${f.rule} ${f.table}`)).toEqual([
      "warning changing-access-method mv",
    ]);
    await view(0);
    expect(await lint(statement)).toEqual([]);
  });

  it.each([
    { statement: `ALTER TABLE ALL IN TABLESPACE ${TABLESPACE} SET TABLESPACE pg_default;`, kind: "table" },
    {
      statement: `ALTER TABLE ALL IN TABLESPACE ${TABLESPACE} OWNED BY CURRENT_USER SET TABLESPACE pg_default NOWAIT;`,
      kind: "table",
    },
    { statement: `ALTER INDEX ALL IN TABLESPACE ${TABLESPACE} SET TABLESPACE pg_default;`, kind: "index" },
    {
      statement: `ALTER MATERIALIZED VIEW ALL IN TABLESPACE ${TABLESPACE} SET TABLESPACE pg_default;`,
      kind: "materialized view",
    },
  ])(
    "$statement moves every $kind of the tablespace, not one named all: an error in production",
    async ({ statement, kind }) => {
      await withRows(100);
      await withClient(db.current.url, (c) =>
        c.query(`ALTER TABLE t SET TABLESPACE ${TABLESPACE}; ALTER INDEX t_pkey SET TABLESPACE ${TABLESPACE};
               DROP MATERIALIZED VIEW IF EXISTS mv; CREATE MATERIALIZED VIEW mv TABLESPACE ${TABLESPACE} AS SELECT id FROM t;`),
      );
      const moved = { table: "t", index: "t_pkey", "materialized view": "mv" }[kind]!;
      const { rewritten, locks } = await relationChanges(db.current.url, statement, moved);
      expect(rewritten).toBe(true);
      expect(locks[moved]).toContain("AccessExclusiveLock");
      const findings = await lint(statement);
      expect(findings.map((f) => `${f.level} ${f.rule} ${f.table}`)).toEqual([
        "error moving-tablespace null",
      ]);
      expect(findings[0]!.problem).toContain(`moves every ${kind} in tablespace ${TABLESPACE}`);
      expect(findings[0]!.problem).toContain('not one named "all"');
      expect(findings[0]!.lock).toMatch(/^ACCESS EXCLUSIVE .* on every /);
      expect(findings[0]!.problem).not.toContain("cannot tell which table");
    },
  );

  it("a DELETE or UPDATE with its own WHERE, SET TABLESPACE or ACCESS METHOD of an empty table and TRUNCATE of a new one are not shown", async () => {
    await withRows(100);
    expect(await lint("DELETE FROM t WHERE id > 50;")).toEqual([]);
    expect(await lint("UPDATE t SET c = 0 WHERE id IN (SELECT id FROM t WHERE c > 3);")).toEqual([]);
    expect(await lint("CREATE TABLE n (id int); TRUNCATE n;")).toEqual([]);
    await withRows(0);
    expect(await lint(`ALTER TABLE t SET TABLESPACE ${TABLESPACE};`)).toEqual([]);
    expect(await lint(`ALTER TABLE t SET ACCESS METHOD ${ACCESS_METHOD};`)).toEqual([]);
  });

  it("VACUUM FULL cannot run in a migration at all: an error on every stack", async () => {
    await withRows(100);
    const findings = await lint("VACUUM FULL t;");
    expect(findings.map((f) => `${f.level} ${f.rule}`)).toEqual(["error cannot-run-in-transaction"]);
  });

  it("is accepted by a reasoned exemption, and warns outside production", async () => {
    await withRows(100);
    writeMigration(
      dir,
      "20250101000100_statement.sql",
      "-- neonhub-db:allow truncating-table because t holds scratch rows the app rebuilds\nTRUNCATE t;",
    );
    const exempted = await withClient(db.current.url, (c) =>
      lintMigrations(c, readMigrationFiles(dir), { environment: "production" }),
    );
    expect(exempted.findings.map((f) => `${f.level} ${f.rule}`)).toEqual(["exempted truncating-table"]);
    writeMigration(dir, "20250101000100_statement.sql", "CLUSTER t USING t_pkey;");
    const development = await withClient(db.current.url, (c) =>
      lintMigrations(c, readMigrationFiles(dir), { environment: "development" }),
    );
    expect(development.findings.map((f) => `${f.level} ${f.rule}`)).toEqual(["warning clustering-table"]);
  });
});
