// The migration safety lint on real PostgreSQL: squawk's findings weighed with the live tables. A blocking
// statement on a table with rows fails a production plan with its safer form; on an empty or new table it
// is not shown; a reasoned exemption accepts it; an exemption without a reason is an error.
import { describe, expect, it } from "vitest";
import {
  applyRelease,
  defaultReleaseSteps,
  DEFAULT_MIGRATIONS_DIR,
  lintMigrations,
  planRelease,
  readMigrationFiles,
  type SafetyReport,
} from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, repoMigrationsUpTo, writeMigration } from "../support/fixtures";

const UNSAFE = [
  'CREATE INDEX widget_name ON "Widget" (name);',
  'ALTER TABLE "Widget" ALTER COLUMN name TYPE varchar(20);',
].join("\n");

function rules(report: SafetyReport): string[] {
  return report.findings.map((f) => `${f.level} ${f.rule}`).sort();
}

describe("the repository's own migrations", () => {
  const db = useTestDatabase("lintrepo");

  it("pass the production lint on an empty database: every table they touch, they create", async () => {
    const files = readMigrationFiles(DEFAULT_MIGRATIONS_DIR);
    expect(files.length).toBeGreaterThanOrEqual(16);
    const report = await withClient(db.current.url, (c) =>
      lintMigrations(c, files, { environment: "production" }),
    );
    // squawk has plenty to say about them (the indexes, the constraints) ...
    expect(report.checked).toBeGreaterThan(0);
    // ... and none of it concerns a table holding data.
    expect(report.errors).toBe(0);
    expect(report.findings).toEqual([]);
  });
});

describe("a blocking migration on a table", () => {
  const db = useTestDatabase("lintrows");
  const dir = fixtureMigrationsCopy();
  const plan = (environment: "production" | "development") =>
    planRelease({ databaseUrl: db.current.url, migrationsDir: dir, environment });

  it("is not shown while the table is empty", async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    writeMigration(dir, "20250101000400_widget_name.sql", UNSAFE);
    const report = (await plan("production")).safety;
    expect(report.checked).toBeGreaterThan(0);
    expect(report.findings).toEqual([]);
    const run = await runCli(["plan", "--migrations-dir", dir, "--environment", "production"], {
      DATABASE_URL: db.current.url,
    });
    expect(run.code).toBe(2);
  });

  it("is an error in production once it holds rows, naming file, line, rule, size, lock and safer form", async () => {
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'widget ' || g FROM generate_series(1, 500) g`,
      ),
    );
    const report = (await plan("production")).safety;
    // varchar(20) is advice (a text column's limit is easier to change later), not a blocking rewrite: the
    // type change is changing-column-type's.
    expect(rules(report)).toEqual([
      "error changing-column-type",
      "error require-concurrent-index-creation",
      "warning prefer-text-field",
    ]);
    const index = report.findings.find((f) => f.rule === "require-concurrent-index-creation")!;
    expect(index).toMatchObject({
      file: "20250101000400_widget_name.sql",
      line: 2,
      table: '"Widget"',
      lock: expect.stringContaining("SHARE (blocks writes)") as unknown,
      saferForm: expect.stringContaining("CREATE INDEX CONCURRENTLY") as unknown,
    });
    expect(index.tableSize).toMatch(/^500 rows, \d+ kB$/);
    expect(report.findings.find((f) => f.rule === "changing-column-type")!.line).toBe(3);

    const run = await runCli(["plan", "--json", "--migrations-dir", dir, "--environment", "production"], {
      DATABASE_URL: db.current.url,
    });
    expect(run.code).toBe(1);
    const json = JSON.parse(run.stdout) as { safety: SafetyReport };
    expect(json.safety.errors).toBe(2);
    const text = await runCli(["plan", "--migrations-dir", dir, "--environment", "production"], {
      DATABASE_URL: db.current.url,
    });
    expect(text.stdout).toContain(
      'error: 20250101000400_widget_name.sql:2 require-concurrent-index-creation on "Widget"',
    );
    expect(text.stdout).toContain("safer: build it with CREATE INDEX CONCURRENTLY");
  });

  it("is a warning outside production", async () => {
    const report = (await plan("development")).safety;
    expect(report.errors).toBe(0);
    expect(rules(report)).toEqual([
      "warning changing-column-type",
      "warning prefer-text-field",
      "warning require-concurrent-index-creation",
    ]);
  });

  it("is accepted by a reasoned exemption, and an exemption without a reason is an error", async () => {
    writeMigration(
      dir,
      "20250101000400_widget_name.sql",
      [
        "-- neonhub-db:allow require-concurrent-index-creation because Widget holds 500 rows: the build takes milliseconds",
        'CREATE INDEX widget_name ON "Widget" (name);',
        "-- neonhub-db:allow changing-column-type",
        'ALTER TABLE "Widget" ALTER COLUMN name TYPE varchar(20);',
      ].join("\n"),
    );
    const report = (await plan("production")).safety;
    expect(rules(report)).toEqual([
      "error changing-column-type",
      "error neonhub-db:allow",
      "exempted require-concurrent-index-creation",
      "warning prefer-text-field",
    ]);
    expect(report.findings.find((f) => f.level === "exempted")!.exemption).toBe(
      "Widget holds 500 rows: the build takes milliseconds",
    );
    expect(report.findings.find((f) => f.rule === "neonhub-db:allow")).toMatchObject({
      line: 4,
      problem: "The exemption for changing-column-type gives no reason.",
    });
  });

  it("is not shown on a table the migration creates itself", async () => {
    writeMigration(
      dir,
      "20250101000400_widget_name.sql",
      [
        'CREATE TABLE "Sprocket" (id text PRIMARY KEY, name varchar(10));',
        'CREATE INDEX sprocket_name ON "Sprocket" (name);',
        'ALTER TABLE "Sprocket" ALTER COLUMN name TYPE varchar(20);',
      ].join("\n"),
    );
    const report = (await plan("production")).safety;
    expect(report.checked).toBeGreaterThan(0);
    expect(report.findings).toEqual([]);
  });
});

describe("the repository's migrations after the first release", () => {
  const db = useTestDatabase("lintlater");

  it("pass the production lint on a database that holds the first release's data, or say why in an exemption", async () => {
    // The first release (the plan's sixteen migrations), with the demo data in its tables.
    const all = readMigrationFiles(DEFAULT_MIGRATIONS_DIR);
    const first = repoMigrationsUpTo(16);
    await applyRelease({
      databaseUrl: db.current.url,
      migrationsDir: first,
      steps: defaultReleaseSteps({ seedSets: ["demo"] }),
    });
    const later = all.slice(16);
    const report = await withClient(db.current.url, (c) =>
      lintMigrations(c, later, { environment: "production" }),
    );
    // The tenant column rewrites and locks "Chunk" and "Message", which now hold rows: squawk sees it, the
    // weighing keeps it, and the migration's own reasoned exemptions accept it. Its backfills run under the
    // ACCESS EXCLUSIVE its ADD COLUMNs took (its header says so), which backfilling-under-lock would report;
    // but the rule came after that file was released, and does not judge it (a released file cannot take an
    // exemption without becoming another file).
    expect(report.findings.filter((f) => f.rule === "backfilling-under-lock")).toEqual([]);
    expect(report.findings.length).toBeGreaterThan(0);
    // Its Down section drops the unique indexes its Up section builds on tables that hold rows: revert would
    // hold ACCESS EXCLUSIVE on each table, a warning (a Down section's blocking never stops apply).
    expect(
      report.findings
        .filter((f) => f.level !== "exempted")
        .map((f) => `${f.level} ${f.section} ${f.rule} ${f.table}`),
    ).toEqual([
      'warning down require-concurrent-index-deletion "Conversation"',
      'warning down require-concurrent-index-deletion "Dataset"',
    ]);
    expect(report.errors).toBe(0);
  });

  it("judge a copy of that migration under another name: its backfills are errors", async () => {
    const tenantColumn = readMigrationFiles(DEFAULT_MIGRATIONS_DIR).find((m) =>
      m.name.startsWith("20261202030000_"),
    )!;
    const copy = { ...tenantColumn, name: "29990101000000_tenant_column_again" };
    const report = await withClient(db.current.url, (c) =>
      lintMigrations(c, [copy], { environment: "production" }),
    );
    const underLock = report.findings.filter((f) => f.rule === "backfilling-under-lock");
    expect(underLock.map((f) => `${f.level} ${f.line} ${f.table}`)).toEqual([
      `error 29 "Chunk"`,
      `error 30 "Message"`,
    ]);
  });
});

describe("apply in production", () => {
  const db = useTestDatabase("lintapply");
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--migrations-dir", dir], { DATABASE_URL: db.current.url });
  const state = () =>
    withClient(db.current.url, async (c) => {
      const ledger = await c.query<{ name: string }>(
        "SELECT name FROM neonhub_release.migrations ORDER BY id",
      );
      const objects = await c.query<{ sprocket: boolean; index: boolean }>(
        `SELECT to_regclass('"Sprocket"') IS NOT NULL AS sprocket, to_regclass('widget_name') IS NOT NULL AS index`,
      );
      return { ledger: ledger.rows.map((r) => r.name), ...objects.rows[0]! };
    });

  it("refuses what plan refuses, before applying anything; outside production it applies", async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    await withClient(db.current.url, (c) =>
      c.query(`INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'w' || g FROM generate_series(1, 500) g`),
    );
    // A safe migration first: refusing only at the unsafe one would leave this one applied.
    writeMigration(dir, "20250101000400_sprocket.sql", 'CREATE TABLE "Sprocket" (id text PRIMARY KEY);');
    writeMigration(dir, "20250101000500_widget_name.sql", 'CREATE INDEX widget_name ON "Widget" (name);');
    const before = await state();

    const plan = await cli("plan", "--environment", "production");
    expect(plan.code).toBe(1);
    // Its closing line agrees with the exit code (not "Changes pending: `neonhub-db apply` applies them.").
    expect(plan.stdout.trimEnd().split("\n").at(-1)).toMatch(/^Blocked: `neonhub-db apply` refuses/);
    expect(plan.stdout).toContain(
      'error: 20250101000500_widget_name.sql:2 require-concurrent-index-creation on "Widget"',
    );

    const apply = await cli("apply", "--environment", "production", "--json");
    expect(apply.code).toBe(1);
    const { error } = JSON.parse(apply.stdout) as { error: { code: string; message: string; fix: string } };
    expect(error.code).toBe("unsafe-migration");
    expect(error.message).toContain("nothing was applied");
    expect(error.message).toContain(
      'error: 20250101000500_widget_name.sql:2 require-concurrent-index-creation on "Widget"',
    );
    expect(error.fix).toContain("-- neonhub-db:allow <rule> because <reason>");
    expect(apply.stderr).not.toContain("unexpected error");
    expect(await state()).toEqual({ ...before, sprocket: false, index: false });
    expect(before.ledger).toHaveLength(3);

    const development = await cli("apply");
    expect(development.code).toBe(0);
    expect(await state()).toMatchObject({ sprocket: true, index: true });
  });
});
