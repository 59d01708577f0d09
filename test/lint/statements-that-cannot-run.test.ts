// Statements PostgreSQL cannot run as a migration, on real PostgreSQL: a syntax error (one squawk's parser
// finds and the server's parser confirms) and a statement that cannot run inside a transaction block fail
// every apply, whatever the table holds. plan reports them as errors in every environment (exit 1), on new
// and empty tables too, naming file and line; no exemption accepts them; apply refuses them before it applies
// anything. (What squawk's parser cannot read and the server's can: unreadable-statements.test.ts.)
import { describe, expect, it } from "vitest";
import { lintMigrations, readMigrationFiles, type SafetyFinding, type SafetyReport } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

interface PlanJson {
  safety: SafetyReport;
}

function cliOn(url: string, dir: string) {
  return (...args: string[]) => runCli([...args, "--migrations-dir", dir], { DATABASE_URL: url });
}

async function released(url: string, dir: string, rows = 6): Promise<void> {
  const apply = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: url });
  expect(apply.code).toBe(0);
  await withClient(url, (c) =>
    c.query(
      `INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'widget ' || g FROM generate_series(1, ${rows}) g`,
    ),
  );
}

const ledger = (url: string) =>
  withClient(url, async (c) => (await c.query("SELECT name FROM neonhub_release.migrations")).rowCount);

describe("a syntax error", () => {
  const db = useTestDatabase("lintsyntax");
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) => cliOn(db.current.url, dir)(...args);

  it("on a table with rows is a plan problem in development, in the server's words, with squawk's as detail", async () => {
    await released(db.current.url, dir);
    writeMigration(dir, "20250101000400_other.sql", 'ALTER TABLE "Widget" ADD COLUMN "other" text NOT NUL;');
    const text = await cli("plan");
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(
      `    error: 20250101000400_other.sql:2 syntax-error: syntax error at or near "NUL": the statement is not valid SQL (the server's parser refuses it too), so apply would stop at it.\n` +
        "      squawk: expected NULL_KW\n" +
        "      fix: correct the statement (no exemption accepts a syntax error)\n",
    );
    expect(text.stdout).not.toContain("see squawk's documentation");
    expect(text.stdout).toContain("An error blocks this development release.");
    expect(text.stdout.trimEnd().split("\n").at(-1)).toMatch(/^Blocked: /);

    const json = JSON.parse((await cli("plan", "--json")).stdout) as PlanJson;
    // One finding for the statement: squawk's recovery after the error ("expected command, found IDENT") is not another.
    expect(json.safety.findings).toEqual([
      {
        level: "error",
        file: "20250101000400_other.sql",
        line: 2,
        section: "up",
        rule: "syntax-error",
        table: null,
        tableSize: null,
        lock: null,
        problem:
          'syntax error at or near "NUL": the statement is not valid SQL (the server\'s parser refuses it too), so apply would stop at it.',
        saferForm: "correct the statement (no exemption accepts a syntax error)",
        exemptable: false,
        detail: "expected NULL_KW",
      } satisfies SafetyFinding,
    ]);
  });

  it("is said where PostgreSQL points, in its words, where squawk's parser stops earlier or says it otherwise", async () => {
    writeMigration(
      dir,
      "20250101000400_other.sql",
      ['CREATE TABLE "Tag" (', "  id text PRIMARY KEY,", "  exclude boolean", "    NOT NUL", ");"].join("\n"),
    );
    const { safety } = JSON.parse((await cli("plan", "--json")).stdout) as PlanJson;
    // squawk's parser stops at line 4 (it takes `exclude` for EXCLUDE); PostgreSQL reads on to the NUL.
    expect(safety.findings.map((f) => [f.level, f.line, f.rule, f.problem, f.detail])).toEqual([
      [
        "error",
        5,
        "syntax-error",
        'syntax error at or near "NUL": the statement is not valid SQL (the server\'s parser refuses it too), so apply would stop at it.',
        "expected L_PAREN",
      ],
    ]);

    writeMigration(dir, "20250101000400_other.sql", 'ALTER TABLE "Widget" ADD COLUMN note text DEFAULT \'x;');
    const unterminated = JSON.parse((await cli("plan", "--json")).stdout) as PlanJson;
    expect(unterminated.safety.findings.map((f) => [f.line, f.problem, f.detail])).toEqual([
      [
        2,
        // The literal's text is masked: it may be a password (test/security/secrets-lint.test.ts).
        "unterminated quoted string at or near \"'****'\": the statement is not valid SQL (the server's parser refuses it too), so apply would stop at it.",
        "Missing trailing `'` symbol to terminate the string literal",
      ],
    ]);
  });

  it("is not accepted by an exemption, in production either", async () => {
    writeMigration(
      dir,
      "20250101000400_other.sql",
      [
        "-- neonhub-db:allow syntax-error because why not",
        'ALTER TABLE "Widget" ADD COLUMN "other" text NOT NUL;',
      ].join("\n"),
    );
    const run = await cli("plan", "--json", "--environment", "production");
    expect(run.code).toBe(1);
    const { safety } = JSON.parse(run.stdout) as PlanJson;
    expect(safety.findings.map((f) => [f.level, f.line, f.rule])).toEqual([
      ["error", 2, "neonhub-db:allow"],
      ["error", 3, "syntax-error"],
    ]);
    expect(safety.findings[0]!.problem).toBe(
      "The exemption names syntax-error, which no exemption accepts: PostgreSQL cannot run such a statement whatever the comment says.",
    );
  });

  it("on a table the migration creates is shown, and apply refuses it before applying anything", async () => {
    writeMigration(
      dir,
      "20250101000400_other.sql",
      [
        'CREATE TABLE "Tag" (id text PRIMARY KEY, name text);',
        'CREATE INDEX "Tag_name_idx" ON "Tag" (name;',
      ].join("\n"),
    );
    const plan = await cli("plan");
    expect(plan.code).toBe(1);
    // The server's parser cannot be asked about a statement whose parentheses do not pair up: squawk's reading
    // stands, and the finding says so.
    expect(plan.stdout).toContain(
      "error: 20250101000400_other.sql:3 syntax-error: syntax error at or near \";\": the statement is not valid SQL as squawk's parser reads it, so apply would stop at it. The server's parser could not check it: its parentheses do not pair up, and PL/pgSQL, which the check compiles it in, cannot find its end.",
    );

    const apply = await cli("apply", "--json");
    expect(apply.code).toBe(1);
    const { error } = JSON.parse(apply.stdout) as { error: { code: string; message: string; fix: string } };
    expect(error.code).toBe("unsafe-migration");
    expect(error.message).toContain("nothing was applied");
    expect(error.message).toContain('20250101000400_other.sql:3 syntax-error: syntax error at or near ";"');
    expect(error.fix).toContain("Correct the statements and comments that no exemption accepts");
    expect(error.fix).not.toContain("neonhub-db:allow");
    const tag = await withClient(db.current.url, (c) => c.query(`SELECT to_regclass('"Tag"') AS t`));
    expect(tag.rows[0].t).toBeNull();
    expect(await ledger(db.current.url)).toBe(3);
  });
});

describe("a statement that cannot run in a transaction", () => {
  const db = useTestDatabase("linttxn");
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) => cliOn(db.current.url, dir)(...args);

  it("is a plan problem in development, naming file and line and the runbook's procedure; apply refuses it", async () => {
    await released(db.current.url, dir);
    writeMigration(
      dir,
      "20250101000400_widget_name.sql",
      'CREATE INDEX CONCURRENTLY widget_name ON "Widget" (name);',
    );
    const plan = await cli("plan");
    expect(plan.code).toBe(1);
    expect(plan.stdout).toContain(
      "error: 20250101000400_widget_name.sql:2 cannot-run-in-transaction: CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and every migration runs in one: apply would stop at it.",
    );
    expect(plan.stdout).toContain("fix: build the index by hand (CREATE INDEX CONCURRENTLY IF NOT EXISTS");
    expect(plan.stdout).toContain("docs/runbook.md#index-builds-on-a-big-table");

    const apply = await cli("apply", "--json");
    expect(apply.code).toBe(1);
    const { error } = JSON.parse(apply.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe("unsafe-migration");
    expect(error.message).toContain("20250101000400_widget_name.sql:2 cannot-run-in-transaction");
    const index = await withClient(db.current.url, (c) => c.query(`SELECT to_regclass('widget_name') AS i`));
    expect(index.rows[0].i).toBeNull();
    expect(await ledger(db.current.url)).toBe(3);
  });

  it("on a new or empty table too: it fails whatever the table holds", async () => {
    writeMigration(
      dir,
      "20250101000400_widget_name.sql",
      [
        'CREATE TABLE "Tag" (id text PRIMARY KEY, name text);',
        'CREATE INDEX CONCURRENTLY tag_name ON "Tag" (name);',
      ].join("\n"),
    );
    const { safety } = JSON.parse((await cli("plan", "--json")).stdout) as PlanJson;
    expect(safety.findings.map((f) => [f.level, f.line, f.rule, f.exemptable])).toEqual([
      ["error", 3, "cannot-run-in-transaction", false],
    ]);
  });

  it("is every statement PostgreSQL refuses in a transaction block, and none it runs there", async () => {
    await withClient(db.current.url, (c) =>
      c.query(`CREATE TYPE mood AS ENUM ('calm');
               CREATE TABLE parted (id int) PARTITION BY RANGE (id);
               CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10);
               CREATE INDEX widget_name_plain ON "Widget" (name);
               CREATE MATERIALIZED VIEW widget_names AS SELECT DISTINCT name FROM "Widget";
               CREATE UNIQUE INDEX widget_names_name ON widget_names (name);`),
    );
    const refused = [
      'CREATE INDEX CONCURRENTLY widget_name ON "Widget" (name);',
      'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS widget_id ON "Widget" (id);',
      "DROP INDEX CONCURRENTLY IF EXISTS widget_name_plain;",
      "REINDEX INDEX CONCURRENTLY widget_name_plain;",
      'REINDEX (VERBOSE) TABLE CONCURRENTLY "Widget";',
      "REINDEX SCHEMA public;",
      'VACUUM "Widget";',
      'VACUUM (ANALYZE) "Widget";',
      "CLUSTER;",
      "ALTER TABLE parted DETACH PARTITION parted_1 CONCURRENTLY;",
      "ALTER SYSTEM SET work_mem = '8MB';",
      "CREATE DATABASE not_from_a_migration;",
      "DROP DATABASE IF EXISTS not_from_a_migration;",
      `ALTER DATABASE ${db.current.name} SET TABLESPACE pg_default;`,
      "DROP TABLESPACE IF EXISTS not_from_a_migration;",
      "DISCARD ALL;",
      "COMMIT PREPARED 'not_from_a_migration';",
    ];
    const accepted = [
      'CREATE INDEX widget_name_2 ON "Widget" (name);',
      "DROP INDEX IF EXISTS widget_name_2;",
      'REINDEX TABLE "Widget";',
      'ANALYZE "Widget";',
      'CLUSTER "Widget" USING widget_name_plain;',
      "ALTER TYPE mood ADD VALUE 'tense';",
      "ALTER TABLE parted DETACH PARTITION parted_1;",
      "REFRESH MATERIALIZED VIEW CONCURRENTLY widget_names;",
      "DISCARD TEMP;",
    ];
    // PostgreSQL's own answer for each, in a transaction block as a migration runs.
    const inTransaction = (statement: string) =>
      withClient(db.current.url, async (c) => {
        await c.query("BEGIN");
        try {
          await c.query(statement);
          return "ran";
        } catch (error) {
          return (error as Error).message;
        } finally {
          await c.query("ROLLBACK");
        }
      });
    for (const statement of refused) {
      expect(await inTransaction(statement), statement).toMatch(/cannot run inside a transaction block/);
    }
    for (const statement of accepted) expect(await inTransaction(statement), statement).toBe("ran");

    // And the lint's, on one migration holding them all, one per line after the marker.
    writeMigration(dir, "20250101000400_widget_name.sql", [...refused, ...accepted].join("\n"));
    const pending = readMigrationFiles(dir).filter((f) => f.name === "20250101000400_widget_name");
    const report = await withClient(db.current.url, (c) => lintMigrations(c, pending));
    const lines = report.findings.filter((f) => f.rule === "cannot-run-in-transaction").map((f) => f.line);
    expect(lines).toEqual(refused.map((_, i) => i + 2));
  });
});
