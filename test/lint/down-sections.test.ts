// A pending migration's Down section is linted too: revert runs it on a table with data. A statement it cannot
// run is an error (revert would stop at it), what it would block is a warning in every environment for plan
// (apply never runs it) and an error in production for revert, which runs it, and what it destroys is left to
// revert's preview. Each finding says it is in the Down section.
import { describe, expect, it } from "vitest";
import { type SafetyReport } from "../../core";
import { runCli } from "../support/cli";
import { columnsOf, useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const UP = 'ALTER TABLE "Widget" ADD COLUMN note text;';
const FILE = "20250101000400_widget_note.sql";

describe("a Down section", () => {
  const db = useTestDatabase("lintdown");
  const dir = fixtureMigrationsCopy();
  const plan = async (...args: string[]) => {
    const run = await runCli(["plan", ...args, "--migrations-dir", dir, "--environment", "production"], {
      DATABASE_URL: db.current.url,
    });
    return run;
  };
  const planJson = async () => {
    const run = await plan("--json");
    return { code: run.code, safety: (JSON.parse(run.stdout) as { safety: SafetyReport }).safety };
  };

  it("that blocks a table with rows is a warning, in production too, saying it is the Down section", async () => {
    const apply = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(apply.code).toBe(0);
    await withClient(db.current.url, (c) =>
      c.query(`INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'w' || g FROM generate_series(1, 50) g`),
    );
    writeMigration(
      dir,
      FILE,
      UP,
      ['ALTER TABLE "Widget" DROP COLUMN note;', 'CREATE INDEX widget_name ON "Widget" (name);'].join("\n"),
    );
    const { code, safety } = await planJson();
    // Pending, and nothing that stops the release: the DROP COLUMN is what revert is for (its preview says so).
    expect(code).toBe(2);
    expect(safety.findings.map((f) => [f.level, f.line, f.section, f.rule])).toEqual([
      ["warning", 6, "down", "require-concurrent-index-creation"],
    ]);
    const text = await plan();
    expect(text.stdout).toContain(
      `warning: ${FILE}:6 (Down section, run by revert) require-concurrent-index-creation on "Widget"`,
    );
  });

  it("that cannot run is an error, in development too, naming revert", async () => {
    writeMigration(
      dir,
      FILE,
      UP,
      'DROP INDEX CONCURRENTLY IF EXISTS widget_name;\nALTER TABLE "Widget" DROP COLUMN note;',
    );
    const run = await runCli(["plan", "--json", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(run.code).toBe(1);
    const { safety } = JSON.parse(run.stdout) as { safety: SafetyReport };
    expect(safety.findings).toMatchObject([
      {
        level: "error",
        line: 5,
        section: "down",
        rule: "cannot-run-in-transaction",
        problem: expect.stringContaining("revert would stop at it") as unknown,
      },
    ]);
    // apply refuses it too: once applied, only revert --corrected-down could run a corrected Down section.
    const apply = await runCli(["apply", "--json", "--migrations-dir", dir], {
      DATABASE_URL: db.current.url,
    });
    expect(apply.code).toBe(1);
    expect((JSON.parse(apply.stdout) as { error: { code: string } }).error.code).toBe("unsafe-migration");
  });

  it("that does not parse is an error", async () => {
    writeMigration(dir, FILE, UP, 'ALTER TABLE "Widget" DROP COLUMN note NUL;');
    const { code, safety } = await planJson();
    expect(code).toBe(1);
    expect(safety.findings.map((f) => [f.level, f.section, f.rule])).toEqual([
      ["error", "down", "syntax-error"],
    ]);
  });

  it("takes exemptions as the Up section does", async () => {
    writeMigration(
      dir,
      FILE,
      UP,
      [
        'ALTER TABLE "Widget" DROP COLUMN note;',
        "-- neonhub-db:allow require-concurrent-index-creation because Widget holds 50 rows",
        'CREATE INDEX widget_name ON "Widget" (name);',
      ].join("\n"),
    );
    const { code, safety } = await planJson();
    expect(code).toBe(2);
    expect(safety.findings.map((f) => [f.level, f.section, f.rule, f.exemption])).toEqual([
      ["exempted", "down", "require-concurrent-index-creation", "Widget holds 50 rows"],
    ]);
  });
});

// apply never runs a Down section: what it would block is plan's to show for review, not a line of apply's.
// What it cannot run still stops apply (above): once applied, only revert --corrected-down could correct it.
describe("apply", () => {
  const db = useTestDatabase("lintdownapply");
  const dir = fixtureMigrationsCopy();

  it("says only its Up sections' warnings, not a Down section's", async () => {
    const env = { DATABASE_URL: db.current.url };
    expect((await runCli(["apply", "--migrations-dir", dir], env)).code).toBe(0);
    await withClient(db.current.url, (c) =>
      c.query(`INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'w' || g FROM generate_series(1, 50) g`),
    );
    writeMigration(
      dir,
      FILE,
      'ALTER TABLE "Widget" ADD COLUMN note text;\nCREATE INDEX widget_note ON "Widget" (note);',
      ['ALTER TABLE "Widget" DROP COLUMN note;', 'CREATE INDEX widget_name ON "Widget" (name);'].join("\n"),
    );
    const plan = await runCli(["plan", "--json", "--migrations-dir", dir], env);
    const { safety } = JSON.parse(plan.stdout) as { safety: SafetyReport };
    // plan shows both, for review.
    expect(safety.findings.map((f) => [f.section, f.line, f.rule])).toEqual([
      ["up", 3, "require-concurrent-index-creation"],
      ["down", 7, "require-concurrent-index-creation"],
    ]);
    const apply = await runCli(["apply", "--json", "--migrations-dir", dir], env);
    expect(apply.code).toBe(0);
    const { warnings } = JSON.parse(apply.stdout) as { warnings: string[] };
    expect(warnings.filter((w) => w.startsWith("safety lint:"))).toEqual([
      expect.stringMatching(
        new RegExp(`^safety lint: ${FILE}:3 require-concurrent-index-creation on "Widget"`),
      ),
    ]);
    expect(apply.stderr).not.toContain("Down section");
  });
});

// revert runs the Down sections of the migrations it undoes: it lints them as apply lints its Up sections, with
// the same environment and exemptions, before its first write.
describe("revert", () => {
  const db = useTestDatabase("lintrevert");
  const dir = fixtureMigrationsCopy();
  const env = () => ({ DATABASE_URL: db.current.url });
  const KEEP = "20250101000300_gadgets";
  const BLOCKING_DOWN = [
    'ALTER TABLE "Widget" DROP COLUMN note;',
    'CREATE INDEX widget_name ON "Widget" (name);',
  ];
  const revert = (...args: string[]) =>
    runCli(["revert", "--to", KEEP, "--json", "--migrations-dir", dir, ...args], env());
  const applied = () =>
    withClient(db.current.url, async (c) =>
      (await c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id")).rows.map(
        (r) => r.name,
      ),
    );
  const applyWithRows = async (down: string[]) => {
    writeMigration(dir, FILE, UP, down.join("\n"));
    const apply = await runCli(["apply", "--migrations-dir", dir], env());
    expect(apply.code).toBe(0);
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'w' || g FROM generate_series(1, 50) g ON CONFLICT DO NOTHING`,
      ),
    );
  };

  it("shows what a Down section it runs would block, in its preview and as a warning", async () => {
    await applyWithRows(BLOCKING_DOWN);
    const preview = await revert();
    expect(preview.code).toBe(2);
    const { plan } = JSON.parse(preview.stdout) as { plan: { safety: SafetyReport } };
    expect(plan.safety.findings.map((f) => [f.level, f.line, f.section, f.rule])).toEqual([
      ["warning", 6, "down", "require-concurrent-index-creation"],
    ]);
    const text = await runCli(["revert", "--to", KEEP, "--migrations-dir", dir], env());
    expect(text.stdout).toContain(
      `warning: ${FILE}:6 (Down section, run by revert) require-concurrent-index-creation on "Widget"`,
    );
    const run = await revert("--confirm");
    expect(run.code).toBe(0);
    const { warnings } = JSON.parse(run.stdout) as { warnings: string[] };
    expect(warnings).toContainEqual(
      expect.stringContaining(
        `safety lint: ${FILE}:6 (Down section, run by revert) require-concurrent-index-creation on "Widget"`,
      ),
    );
    expect(await applied()).not.toContain(FILE.replace(/\.sql$/, ""));
  });

  it("refuses it in production before its first write, and takes an exemption as apply does", async () => {
    await withClient(db.current.url, (c) => c.query("DROP INDEX IF EXISTS widget_name"));
    await applyWithRows(BLOCKING_DOWN);
    const before = await applied();
    const preview = await revert("--environment", "production");
    expect(preview.code).toBe(1);
    const { plan } = JSON.parse(preview.stdout) as { plan: { safety: SafetyReport } };
    expect(plan.safety.findings.map((f) => [f.level, f.section, f.rule])).toEqual([
      ["error", "down", "require-concurrent-index-creation"],
    ]);
    const refused = await revert("--environment", "production", "--confirm");
    expect(refused.code).toBe(1);
    const { error } = JSON.parse(refused.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe("unsafe-migration");
    expect(error.message).toContain("nothing was reverted");
    expect(await applied()).toEqual(before);
    expect(await columnsOf(db.current.url, '"Widget"')).toContain("note");
    // An exemption comment changes no checksum: the applied file takes one without --corrected-down.
    writeMigration(
      dir,
      FILE,
      UP,
      [
        BLOCKING_DOWN[0],
        "-- neonhub-db:allow require-concurrent-index-creation because Widget holds 50 rows",
        BLOCKING_DOWN[1],
      ].join("\n"),
    );
    const exempted = await revert("--environment", "production", "--confirm");
    expect(exempted.code).toBe(0);
    expect(await applied()).not.toContain(FILE.replace(/\.sql$/, ""));
  });

  it("refuses a corrected Down section that would end its transaction, before the first write", async () => {
    await withClient(db.current.url, (c) => c.query("DROP INDEX IF EXISTS widget_name"));
    await applyWithRows(['ALTER TABLE "Widget" DROP COLUMN note;']);
    const before = await applied();
    writeMigration(dir, FILE, UP, 'ALTER TABLE "Widget" DROP COLUMN note;\nCOMMIT;');
    const refused = await revert("--corrected-down", FILE.replace(/\.sql$/, ""), "--confirm");
    expect(refused.code).toBe(1);
    const { error } = JSON.parse(refused.stdout) as { error: { code: string; message: string } };
    expect(error.code).toBe("unsafe-migration");
    expect(error.message).toContain("transaction-control");
    expect(await applied()).toEqual(before);
    expect(await columnsOf(db.current.url, '"Widget"')).toContain("note");
  });
});

// revert runs its Down sections one after another: a table one of them gives rows back to is not the empty
// table the live database shows when a later one runs.
describe("revert of several migrations", () => {
  const db = useTestDatabase("lintrevertorder");
  const dir = fixtureMigrationsCopy();
  const env = () => ({ DATABASE_URL: db.current.url });
  const INDEX_FILE = "20250101000400_widget_name_lower.sql";
  const ARCHIVE_FILE = "20250101000500_widget_archive.sql";
  const widgets = () =>
    withClient(
      db.current.url,
      async (c) => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM "Widget"')).rows[0]!.n,
    );

  it("weighs a table an earlier Down section gives rows back to as one with data", async () => {
    expect((await runCli(["apply", "--migrations-dir", dir], env())).code).toBe(0);
    await withClient(db.current.url, (c) =>
      c.query(`INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'w' || g FROM generate_series(1, 50) g`),
    );
    writeMigration(
      dir,
      INDEX_FILE,
      'CREATE INDEX widget_name_lower ON "Widget" (lower(name));',
      'DROP INDEX widget_name_lower;\nCREATE INDEX widget_name ON "Widget" (name);',
    );
    writeMigration(
      dir,
      ARCHIVE_FILE,
      [
        'CREATE TABLE "WidgetArchive" (LIKE "Widget");',
        'INSERT INTO "WidgetArchive" SELECT * FROM "Widget";',
        'DELETE FROM "Widget";',
      ].join("\n"),
      'INSERT INTO "Widget" SELECT * FROM "WidgetArchive";\nDROP TABLE "WidgetArchive";',
    );
    expect((await runCli(["apply", "--migrations-dir", dir], env())).code).toBe(0);
    expect(await widgets()).toBe(0);
    // As autovacuum leaves it: the planner's estimate no longer counts the deleted rows either.
    await withClient(db.current.url, (c) => c.query('VACUUM ANALYZE "Widget"'));

    // The index build of the older Down section runs after the newer one put the 50 rows back.
    const revert = (...args: string[]) =>
      runCli(
        [
          "revert",
          "--to",
          "20250101000300_gadgets",
          "--json",
          "--migrations-dir",
          dir,
          "--environment",
          "production",
          ...args,
        ],
        env(),
      );
    const preview = await revert();
    expect(preview.code).toBe(1);
    const { plan } = JSON.parse(preview.stdout) as { plan: { safety: SafetyReport } };
    // Both statements of the older Down section lock "Widget" as it will be: with the 50 rows back.
    const given = `The table is empty now, but ${ARCHIVE_FILE}:7 (Down section) adds rows to it before this statement runs, so the lint weighs it as one that holds data.`;
    expect(plan.safety.findings.map((f) => [f.level, f.file, f.line, f.section, f.rule, f.table])).toEqual([
      ["error", INDEX_FILE, 5, "down", "require-concurrent-index-deletion", '"Widget"'],
      ["error", INDEX_FILE, 6, "down", "require-concurrent-index-creation", '"Widget"'],
    ]);
    for (const finding of plan.safety.findings) expect(finding.problem).toContain(given);
    const refused = await revert("--confirm");
    expect(refused.code).toBe(1);
    expect((JSON.parse(refused.stdout) as { error: { code: string } }).error.code).toBe("unsafe-migration");
    expect(await widgets()).toBe(0);
    // In development it is a warning, and the build does run on the rows put back.
    const run = await runCli(
      ["revert", "--to", "20250101000300_gadgets", "--confirm", "--json", "--migrations-dir", dir],
      env(),
    );
    expect(run.code).toBe(0);
    expect(await widgets()).toBe(50);
  });
});

// The same holds for apply's Up sections, which run in order too.
describe("pending Up sections", () => {
  const db = useTestDatabase("lintupgivenrows");
  const dir = fixtureMigrationsCopy();

  it("weigh a table an earlier one fills as one with data", async () => {
    const env = { DATABASE_URL: db.current.url };
    expect((await runCli(["apply", "--migrations-dir", dir], env)).code).toBe(0);
    writeMigration(
      dir,
      "20250101000400_widget_rows.sql",
      `WITH made AS (SELECT g FROM generate_series(1, 20) g) INSERT INTO public."Widget" (id, name) SELECT 'w' || g, 'w' || g FROM made;`,
      "DELETE FROM \"Widget\" WHERE id LIKE 'w%';",
    );
    writeMigration(dir, "20250101000500_widget_name.sql", 'CREATE INDEX widget_name ON "Widget" (name);');
    const plan = await runCli(
      ["plan", "--json", "--migrations-dir", dir, "--environment", "production"],
      env,
    );
    expect(plan.code).toBe(1);
    const { safety } = JSON.parse(plan.stdout) as { safety: SafetyReport };
    const up = safety.findings.filter((f) => f.section === "up");
    expect(up.map((f) => [f.level, f.file, f.rule])).toEqual([
      ["error", "20250101000500_widget_name.sql", "require-concurrent-index-creation"],
    ]);
    expect(up[0]!.problem).toContain(
      "The table is empty now, but 20250101000400_widget_rows.sql:2 adds rows to it before this statement runs",
    );
  });
});
