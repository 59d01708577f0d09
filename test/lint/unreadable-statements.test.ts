// A statement squawk's parser cannot read but PostgreSQL's can (squawk 2.61 takes a column named `exclude`
// for EXCLUDE and stumbles on a table named `sequence`), on real PostgreSQL: the lint asks the server's parser
// (core/lint/server-parse.ts), and such a statement is a warning that nothing was checked on it, not a syntax
// error: plan and apply go ahead. squawk checks the statements around it as usual, and the server is asked
// once per statement squawk cannot read, never when squawk reads them all.
import { describe, expect, it } from "vitest";
import type { Client, QueryConfig } from "pg";
import { lintMigrations, readMigrationFiles, type SafetyFinding, type SafetyReport } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

interface PlanJson {
  safety: SafetyReport;
}

const FILE = "20250101000400_tags.sql";
const TAG = 'CREATE TABLE "Tag" (id text PRIMARY KEY, exclude boolean NOT NULL DEFAULT false);';
const SEQUENCE = "CREATE TABLE sequence (id bigint PRIMARY KEY, next bigint NOT NULL);";

const UNCHECKED: Omit<SafetyFinding, "line" | "detail"> = {
  level: "warning",
  file: FILE,
  section: "up",
  rule: "unchecked-statement",
  table: null,
  tableSize: null,
  lock: null,
  problem:
    "squawk's parser cannot read this statement, but the server's parser can: it is valid SQL, and none of squawk's rules was checked on it, so what it locks or rewrites on a table with data was not weighed.",
  saferForm:
    'check by hand what it locks and rewrites before it runs on a table with data (docs/runbook.md#the-safety-lint-blocking-migrations-on-tables-with-data), or write it in a form squawk\'s parser reads, so that plan checks it: squawk misreads some keywords used as names, which it reads when quoted (a column "exclude", a table "sequence")',
  exemptable: false,
};

describe("a statement squawk's parser cannot read and the server's parser can", () => {
  const db = useTestDatabase("lintunread");
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--migrations-dir", dir], { DATABASE_URL: db.current.url });
  const planJson = async (...args: string[]) => {
    const run = await cli("plan", "--json", ...args);
    return { code: run.code, safety: (JSON.parse(run.stdout) as PlanJson).safety };
  };

  it("is a warning, in production too, and apply runs it", async () => {
    expect((await cli("apply")).code).toBe(0);
    await withClient(db.current.url, (c) =>
      c.query(`INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'w' || g FROM generate_series(1, 20) g`),
    );
    writeMigration(dir, FILE, [TAG, SEQUENCE].join("\n"));
    for (const environment of ["development", "production"]) {
      const { code, safety } = await planJson("--environment", environment);
      // Pending and not blocked.
      expect(code, environment).toBe(2);
      expect(safety.findings).toEqual([
        { ...UNCHECKED, line: 2, detail: "expected L_PAREN" },
        { ...UNCHECKED, line: 3, detail: "expected command, found CREATE_KW" },
      ]);
    }
    const text = await cli("plan");
    expect(text.stdout).toContain(
      `warning: ${FILE}:2 unchecked-statement: squawk's parser cannot read this statement, but the server's parser can`,
    );
    expect(text.stdout).toContain("      squawk: expected L_PAREN\n");

    const apply = await cli("apply", "--environment", "production");
    expect(apply.code).toBe(0);
    const made = await withClient(db.current.url, (c) =>
      c.query(`SELECT to_regclass('"Tag"') IS NOT NULL AS tag, to_regclass('sequence') IS NOT NULL AS sequence,
                      (SELECT count(*)::int FROM neonhub_release.migrations) AS applied`),
    );
    expect(made.rows[0]).toEqual({ tag: true, sequence: true, applied: 4 });
  });

  it("leaves the statements around it checked: a blocking one on a table with rows is still an error in production", async () => {
    writeMigration(
      dir,
      "20250101000500_widget_name.sql",
      [
        'CREATE TABLE "Label" (id text PRIMARY KEY, exclude boolean);',
        'CREATE INDEX widget_name ON "Widget" (name);',
      ].join("\n"),
    );
    const { code, safety } = await planJson("--environment", "production");
    expect(code).toBe(1);
    expect(safety.findings.map((f) => [f.level, f.line, f.rule, f.table])).toEqual([
      ["warning", 2, "unchecked-statement", null],
      ["error", 3, "require-concurrent-index-creation", '"Widget"'],
    ]);
  });

  it("is asked about once per statement squawk cannot read, in one round trip, and not at all when squawk reads them all", async () => {
    const dos: string[] = [];
    const lint = (pendingNames: string[]) =>
      withClient(db.current.url, (c) => {
        const counting = new Proxy(c, {
          get(target, key, receiver) {
            if (key !== "query") return Reflect.get(target, key, receiver) as unknown;
            return (config: string | QueryConfig, ...rest: unknown[]) => {
              const text = typeof config === "string" ? config : config.text;
              if (text.includes(" DO $")) dos.push(text);
              return (target.query as (...args: unknown[]) => unknown)(config, ...rest);
            };
          },
        }) as Client;
        const pending = readMigrationFiles(dir).filter((f) => pendingNames.includes(f.name));
        return lintMigrations(counting, pending);
      });
    writeMigration(dir, "20250101000600_more.sql", 'ALTER TABLE "Widget" ADD COLUMN note text;', TAG);
    await lint(["20250101000600_more"]);
    // The Down section's statement too: revert runs it.
    expect(dos).toHaveLength(1);
    expect(dos[0]).toContain('CREATE TABLE "Tag"');

    dos.length = 0;
    writeMigration(dir, "20250101000600_more.sql", 'ALTER TABLE "Widget" ADD COLUMN note text;');
    const report = await lint(["20250101000600_more"]);
    expect(report.findings).toEqual([]);
    expect(dos).toEqual([]);
  });

  it("is not accepted by an exemption, which has nothing to accept", async () => {
    writeMigration(
      dir,
      "20250101000500_widget_name.sql",
      [
        "-- neonhub-db:allow unchecked-statement because it is fine",
        'CREATE TABLE "Shelf" (id text PRIMARY KEY, exclude boolean);',
      ].join("\n"),
    );
    writeMigration(dir, "20250101000600_more.sql", "SELECT 1;");
    const { code, safety } = await planJson("--environment", "production");
    expect(code).toBe(2);
    expect(safety.findings.map((f) => [f.level, f.line, f.rule, f.problem])).toEqual([
      [
        "warning",
        2,
        "neonhub-db:allow",
        "The exemption names unchecked-statement, a warning that blocks nothing: there is nothing for it to accept.",
      ],
      ["warning", 3, "unchecked-statement", UNCHECKED.problem],
    ]);
  });
});

describe("a statement the server's parser cannot be asked about", () => {
  const db = useTestDatabase("lintunasked");
  const dir = fixtureMigrationsCopy();

  it("stays the error squawk's parser finds, saying the server could not check it", async () => {
    // Valid SQL (SELECT INTO makes a table), which squawk cannot read; PL/pgSQL would take its INTO for its own.
    writeMigration(dir, FILE, "SELECT 1 escape INTO widget_copy;");
    const run = await runCli(["plan", "--json", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(run.code).toBe(1);
    const { safety } = JSON.parse(run.stdout) as PlanJson;
    expect(safety.findings.map((f) => [f.level, f.line, f.rule, f.problem, f.saferForm])).toEqual([
      [
        "error",
        2,
        "syntax-error",
        "syntax error at or near \"INTO\": the statement is not valid SQL as squawk's parser reads it, so apply would stop at it. The server's parser could not check it: PL/pgSQL, which the check compiles it in, takes its INTO for a variable of its own.",
        "correct the statement (no exemption accepts a syntax error); if PostgreSQL runs it as written, write it in a form squawk's parser reads",
      ],
    ]);
  });
});
