import { renameSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { applyRelease, planRelease, ReleaseError, type ReleaseOptions } from "../../core";
import { runCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, useTestDatabase, withClient } from "../support/database";
import { FIXTURE_MIGRATIONS, fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

/** A moment as a migration name's 14-digit UTC timestamp, YYYYMMDDHHMMSS. */
const utcSecond = (at: Date) => at.toISOString().replace(/\D/g, "").slice(0, 14);

const options = (databaseUrl: string, migrationsDir = FIXTURE_MIGRATIONS): ReleaseOptions => ({
  databaseUrl,
  migrationsDir,
});

async function ledgerNames(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const rows = await c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id");
    return rows.rows.map((r) => r.name);
  });
}

async function expectReleaseError(
  promise: Promise<unknown>,
  code: string,
  ...fragments: string[]
): Promise<ReleaseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReleaseError);
  const releaseError = error as ReleaseError;
  expect(releaseError.code).toBe(code);
  for (const fragment of fragments) expect(releaseError.describe()).toContain(fragment);
  return releaseError;
}

describe("apply", () => {
  const db = useTestDatabase();

  it("applies each pending migration exactly once and records name, checksum and duration", async () => {
    const first = await applyRelease(options(db.current.url));
    expect(first.changed).toBe(true);
    expect(first.migrations.map((m) => m.name)).toEqual([
      "20250101000100_widgets",
      "20250101000200_widget_color",
      "20250101000300_gadgets",
    ]);
    const ledger = await withClient(db.current.url, (c) =>
      c.query<{ name: string; checksum: string; duration_ms: number; applied_by: string }>(
        "SELECT name, checksum, duration_ms, applied_by FROM neonhub_release.migrations ORDER BY id",
      ),
    );
    expect(ledger.rows).toHaveLength(3);
    for (const row of ledger.rows) {
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.duration_ms).toBeGreaterThanOrEqual(0);
      expect(row.applied_by).toBe("postgres");
    }
    const columns = await withClient(db.current.url, (c) =>
      c.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'Widget' ORDER BY 1"),
    );
    expect(columns.rows.map((r) => r.column_name)).toEqual(["color", "id", "name"]);
  });

  it("changes nothing when run again", async () => {
    const again = await applyRelease(options(db.current.url));
    expect(again.changed).toBe(false);
    expect(again.migrations).toEqual([]);
    expect(again.summary.appliedMigrations).toBe(3);
    expect(await ledgerNames(db.current.url)).toHaveLength(3);
  });
});

describe("plan", () => {
  const db = useTestDatabase();

  it("lists pending migrations of an empty database without creating, locking or writing anything", async () => {
    const readonlyUrl = await withClient(db.current.url, async (c) => {
      await c.query("DROP ROLE IF EXISTS plan_reader");
      await c.query("CREATE ROLE plan_reader LOGIN PASSWORD 'reader-pw' IN ROLE pg_read_all_data");
      // Any write at all would fail for this role.
      await c.query("ALTER ROLE plan_reader SET default_transaction_read_only = on");
      const url = new URL(db.current.url);
      url.username = "plan_reader";
      url.password = "reader-pw";
      return url.toString();
    });
    const plan = await planRelease(options(readonlyUrl));
    expect(plan.pending).toBe(true);
    expect(plan.migrations.applied).toBe(0);
    expect(plan.migrations.pending.map((m) => m.name)).toHaveLength(3);
    const after = await withClient(db.current.url, (c) =>
      c.query<{ schema: string | null; locks: string }>(
        "SELECT to_regnamespace('neonhub_release')::text AS schema, (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS locks",
      ),
    );
    expect(after.rows[0]).toEqual({ schema: null, locks: "0" });

    await applyRelease(options(db.current.url));
    const planAfter = await planRelease(options(readonlyUrl));
    expect(planAfter.pending).toBe(false);
    expect(planAfter.migrations.applied).toBe(3);
  });
});

describe("concurrent applies", () => {
  it("two applies started at the same moment apply each migration once; the second finds nothing to do", async () => {
    const db = await createTestDatabase();
    try {
      const [a, b] = await Promise.all([applyRelease(options(db.url)), applyRelease(options(db.url))]);
      expect([a.migrations.length, b.migrations.length].sort()).toEqual([0, 3]);
      expect([a.changed, b.changed].sort()).toEqual([false, true]);
      expect(await ledgerNames(db.url)).toHaveLength(3);
    } finally {
      await dropTestDatabase(db);
    }
  });

  it("gives up after the lock timeout, naming who holds the lock", async () => {
    const db = await createTestDatabase();
    try {
      await withClient(db.url, async (holder) => {
        await holder.query("SET application_name = 'long-running-deploy'");
        await holder.query("SELECT pg_advisory_lock(7241865325823965)");
        const started = Date.now();
        const error = await expectReleaseError(
          applyRelease({ ...options(db.url), lockTimeoutMs: 600 }),
          "lock-timeout",
          "long-running-deploy",
          "pid ",
          "connected since",
        );
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(error.fix).toContain("--lock-timeout");
      });
      // Nothing ran while the lock was held elsewhere.
      const schema = await withClient(db.url, (c) =>
        c.query("SELECT to_regnamespace('neonhub_release') AS s"),
      );
      expect(schema.rows[0].s).toBeNull();
    } finally {
      await dropTestDatabase(db);
    }
  });
});

describe("ledger validation refuses to run", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("when an applied migration's file changed, naming the file, and applies nothing new", async () => {
    await applyRelease(options(db.current.url, dir));
    appendFileSync(path.join(dir, "20250101000200_widget_color.sql"), "\n-- an innocent comment\n");
    writeMigration(dir, "20250101000400_more.sql", 'CREATE TABLE "More" (id int);');
    await expectReleaseError(
      applyRelease(options(db.current.url, dir)),
      "ledger-mismatch",
      // The comment went into its Down section: the Up section is the applied one, which the message says.
      "20250101000200_widget_color.sql does not match the checksum its ledger row records",
      "Its Up section is the applied one",
      "new migration",
    );
    expect(await ledgerNames(db.current.url)).toHaveLength(3);
    const plan = await planRelease(options(db.current.url, dir));
    expect(plan.migrations.problems.map((p) => p.kind)).toEqual(["changed"]);
    rmSync(path.join(dir, "20250101000400_more.sql"));
  });

  it("when an applied migration's file is gone", async () => {
    const fresh = fixtureMigrationsCopy();
    const other = await createTestDatabase();
    try {
      await applyRelease(options(other.url, fresh));
      renameSync(path.join(fresh, "20250101000100_widgets.sql"), path.join(fresh, ".removed"));
      await expectReleaseError(
        applyRelease(options(other.url, fresh)),
        "ledger-mismatch",
        "20250101000100_widgets.sql",
        "file is gone",
      );
    } finally {
      await dropTestDatabase(other);
    }
  });

  it("when a new migration is ordered before an applied one", async () => {
    const fresh = fixtureMigrationsCopy();
    const other = await createTestDatabase();
    try {
      await applyRelease(options(other.url, fresh));
      writeMigration(fresh, "20250101000150_late_arrival.sql", 'CREATE TABLE "Late" (id int);');
      await expectReleaseError(
        applyRelease(options(other.url, fresh)),
        "ledger-mismatch",
        "20250101000150_late_arrival.sql is new but ordered before the applied migration 20250101000300_gadgets.sql",
      );
      const late = await withClient(other.url, (c) => c.query(`SELECT to_regclass('"Late"') AS t`));
      expect(late.rows[0].t).toBeNull();
    } finally {
      await dropTestDatabase(other);
    }
  });
});

describe("a migration with an SQL error", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("names the file, line and statement, rolls its transaction back and keeps the ones before", async () => {
    writeMigration(
      dir,
      "20250101000400_broken.sql",
      ['CREATE TABLE "Half" (id int);', "", 'ALTER TABLE "Widget" ADD COLUMN size intt;'].join("\n"),
    );
    const error = await expectReleaseError(
      applyRelease(options(db.current.url, dir)),
      "migration-failed",
      "Migration 20250101000400_broken.sql failed at line 4",
      'type "intt" does not exist',
      'ALTER TABLE "Widget" ADD COLUMN size intt;',
      "rolled back",
    );
    expect(error.describe()).toMatch(/\n\s+\^/);
    expect(await ledgerNames(db.current.url)).toHaveLength(3);
    const half = await withClient(db.current.url, (c) => c.query(`SELECT to_regclass('"Half"') AS t`));
    expect(half.rows[0].t).toBeNull();

    // Fixing the file lets the next apply continue where this one stopped.
    writeMigration(dir, "20250101000400_broken.sql", 'ALTER TABLE "Widget" ADD COLUMN size int;');
    const fixed = await applyRelease(options(db.current.url, dir));
    expect(fixed.migrations.map((m) => m.name)).toEqual(["20250101000400_broken"]);
  });
});

describe("a migration that fails while a statement runs (no position from the server)", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("names the statement that failed, by its line and number, after the ones that completed", async () => {
    writeMigration(
      dir,
      "20250101000400_missing_column.sql",
      [
        "-- a comment with a ; in it",
        'ALTER TABLE "Widget" ADD COLUMN size int;',
        "/* another; */ SELECT ';' AS semicolon;",
        "",
        'ALTER TABLE "Widget"',
        "  DROP COLUMN doesnotexist;",
        'ALTER TABLE "Widget" ADD COLUMN later int;',
      ].join("\n"),
    );
    const error = await expectReleaseError(
      applyRelease(options(db.current.url, dir)),
      "migration-failed",
      'Migration 20250101000400_missing_column.sql failed at line 6 (statement 3 of its Up section): column "doesnotexist" of relation "Widget" does not exist',
      '  6 | ALTER TABLE "Widget"\n  7 |   DROP COLUMN doesnotexist;',
      "Fix the file and run apply again.",
    );
    expect(error.describe()).not.toContain("later int");
    expect(await ledgerNames(db.current.url)).toHaveLength(3);
  });
});

describe("a failed statement is counted by PostgreSQL's lexical rules", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  // Each earlier statement hides a `;` (or a quote that looks like an end) where only PostgreSQL's rules see
  // it is not one: an escape string's \', a nested block comment, a dollar quote with a digit in its tag, and a
  // `$` inside a name. Counting any of them wrongly names another statement than the one that failed.
  it("names the right statement after escape strings, nested comments and tagged dollar quotes", async () => {
    writeMigration(
      dir,
      "20250101000400_lexical.sql",
      [
        "SELECT E'it\\'s; not the end' AS escaped;",
        "/* outer /* inner; */ still a comment; */ SELECT 1;",
        "DO $body1$ BEGIN PERFORM ';'; END $body1$;",
        "CREATE TABLE \"Lexical\" (price$usd$ int, note text DEFAULT e'\\\\');",
        'ALTER TABLE "Widget"',
        "  DROP COLUMN doesnotexist;",
        'ALTER TABLE "Widget" ADD COLUMN later int;',
      ].join("\n"),
    );
    await expectReleaseError(
      applyRelease(options(db.current.url, dir)),
      "migration-failed",
      'Migration 20250101000400_lexical.sql failed at line 6 (statement 5 of its Up section): column "doesnotexist" of relation "Widget" does not exist',
      '  6 | ALTER TABLE "Widget"\n  7 |   DROP COLUMN doesnotexist;',
    );
  });
});

describe("a migration stopped by the statement timeout", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("names the statement and, in its fix, the timeout and where it is set", async () => {
    await applyRelease(options(db.current.url, dir));
    writeMigration(
      dir,
      "20250101000400_slow.sql",
      'SELECT 1;\nSELECT pg_sleep(3);\nCREATE TABLE "Late" (id int);',
    );
    // The statement timeout longer than the lock timeout, as the CLI requires.
    const timeouts = ["--statement-timeout", "0.2", "--migration-lock-timeout", "0.1"];
    const run = await runCli(["apply", "--migrations-dir", dir, ...timeouts, "--json"], {
      DATABASE_URL: db.current.url,
    });
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } };
    expect(error.code).toBe("migration-failed");
    expect(error.message).toContain(
      "Migration 20250101000400_slow.sql failed at line 3 (statement 2 of its Up section): canceling statement due to statement timeout",
    );
    expect(error.message).toContain("3 | SELECT pg_sleep(3);");
    // The apply to run again gives the timeout to raise, not the 0.2 that stopped the statement (copied as
    // run, it would stop there again), with the operator's other flags; the CLI's words are its flag alone.
    expect(error.fix).toContain(
      `longer than the statement timeout (200 ms): raise it, or make the statement faster, then run \`neonhub-db apply --statement-timeout '<seconds>' --migrations-dir ${dir} --migration-lock-timeout 0.1\` with <seconds> more than 0.2 seconds, or 0 to turn it off.`,
    );
    expect(error.fix).not.toContain("--statement-timeout 0.2");
    expect(error.fix).not.toContain("neonhub-db:migrationStatementTimeoutSeconds");
    expect(error.fix).not.toContain("Fix the file");
    expect(await ledgerNames(db.current.url)).toHaveLength(3);
  });
});

describe("bad migration files are refused before connecting", () => {
  // An unreachable URL proves no connection was attempted: the file check must fail first.
  const nowhere = "postgresql://nobody:secret-pw@127.0.0.1:1/none";

  // Each refusal says what is wrong with the name and the name to give it; renamed so, the file is accepted
  // (the refusal is then the connection's, after the files were read).
  it.each([
    [
      "node-pg-migrate create's name (milliseconds since 1970, a dash)",
      "1796591630050_add-thing.sql",
      "it starts with 1796591630050, a time in milliseconds (as node-pg-migrate create names files), not a 14-digit UTC timestamp; " +
        'its name "add-thing" is not snake_case (lower-case letters and digits, single underscores)',
      "20261206211350_add_thing.sql",
    ],
    [
      "node-pg-migrate create's UTC name (17 digits)",
      "20261206211350426_add_thing.sql",
      "it starts with 20261206211350426, 17 digits, not a 14-digit UTC timestamp",
      "20261206211350_add_thing.sql",
    ],
    [
      "an upper-case name",
      "20250101000500_AddThing.sql",
      'its name "AddThing" is not snake_case (lower-case letters and digits, single underscores)',
      "20250101000500_add_thing.sql",
    ],
    [
      "a dash after the timestamp",
      "20250101000500-add_thing.sql",
      "an underscore does not follow the timestamp",
      "20250101000500_add_thing.sql",
    ],
    [
      "no .sql extension",
      "20250101000500_add_thing",
      "it has no .sql extension",
      "20250101000500_add_thing.sql",
    ],
  ])("%s", async (_label, file, problem, renameTo) => {
    const dir = fixtureMigrationsCopy();
    const sql = "-- Up Migration\nSELECT 1;\n-- Down Migration\nSELECT 1;\n";
    writeFileSync(path.join(dir, file), sql);
    const error = await expectReleaseError(
      applyRelease(options(nowhere, dir)),
      "migration-files",
      `Migration file name ${JSON.stringify(file)} is malformed: ${problem}.`,
    );
    expect(error.fix).toContain(`Rename it ${renameTo}: migrations are named`);
    renameSync(path.join(dir, file), path.join(dir, renameTo));
    await expectReleaseError(applyRelease(options(nowhere, dir)), "connection");
  });

  it("a name without a timestamp is given the time now", async () => {
    const dir = fixtureMigrationsCopy();
    writeFileSync(
      path.join(dir, "2025_01_widgets.sql"),
      "-- Up Migration\nSELECT 1;\n-- Down Migration\nSELECT 1;\n",
    );
    const before = utcSecond(new Date());
    const error = await expectReleaseError(
      applyRelease(options(nowhere, dir)),
      "migration-files",
      'Migration file name "2025_01_widgets.sql" is malformed: it starts with 2025, 4 digits, not a 14-digit UTC timestamp.',
    );
    const after = utcSecond(new Date());
    // The time the refusal was made: between the two readings (14 digits compare as text).
    const example = /Rename it (\d{14})_01_widgets\.sql/.exec(error.fix ?? "")?.[1];
    expect(example).toBeDefined();
    expect(example! >= before && example! <= after, `${before} <= ${example} <= ${after}`).toBe(true);
  });

  it("a name whose own time sorts before the newest migration is given the time now, after it", async () => {
    const dir = fixtureMigrationsCopy();
    writeMigration(dir, "20240601120000-add_thing.sql", "SELECT 1;");
    const before = utcSecond(new Date());
    const error = await expectReleaseError(
      applyRelease(options(nowhere, dir)),
      "migration-files",
      'Migration file name "20240601120000-add_thing.sql" is malformed: an underscore does not follow the timestamp.',
    );
    const after = utcSecond(new Date());
    const example =
      /^Rename it (\d{14})_add_thing\.sql \(after 20250101000300_gadgets\.sql, the newest migration here: a name before it is refused as out of order once that one is applied\): /.exec(
        error.fix ?? "",
      )?.[1];
    expect(example, error.fix).toBeDefined();
    expect(example! >= before && example! <= after, `${before} <= ${example} <= ${after}`).toBe(true);
    renameSync(path.join(dir, "20240601120000-add_thing.sql"), path.join(dir, `${example}_add_thing.sql`));
    await expectReleaseError(applyRelease(options(nowhere, dir)), "connection");
  });

  it("a name is given the second after the newest migration when that one is later than now", async () => {
    const dir = fixtureMigrationsCopy();
    writeMigration(dir, "29991231235959_later.sql", "SELECT 1;");
    writeMigration(dir, "1796591630050_add-thing.sql", "SELECT 1;");
    const error = await expectReleaseError(applyRelease(options(nowhere, dir)), "migration-files");
    expect(error.fix).toMatch(/^Rename it 30000101000000_add_thing\.sql \(after 29991231235959_later\.sql, /);
    // So are a timestamp that is no date and one another migration has.
    rmSync(path.join(dir, "1796591630050_add-thing.sql"));
    writeMigration(dir, "20261399999999_bad_date.sql", "SELECT 1;");
    await expectReleaseError(
      applyRelease(options(nowhere, dir)),
      "migration-files",
      "e.g. 30000101000000_bad_date.sql (after 29991231235959_later.sql, the newest migration here, which is later than now).",
    );
    rmSync(path.join(dir, "20261399999999_bad_date.sql"));
    writeMigration(dir, "20250101000300_twin.sql", "SELECT 1;");
    await expectReleaseError(
      applyRelease(options(nowhere, dir)),
      "migration-files",
      'Give "20250101000300_twin.sql" a later timestamp, e.g. 30000101000000_twin.sql (after 29991231235959_later.sql, ',
    );
  });

  it("a file that is not SQL is to be moved out, not renamed", async () => {
    const dir = fixtureMigrationsCopy();
    writeFileSync(path.join(dir, "20250101000500_notes.txt"), "notes\n");
    const error = await expectReleaseError(
      applyRelease(options(nowhere, dir)),
      "migration-files",
      'Migration file name "20250101000500_notes.txt" is malformed: it is not a .sql file, and the migrations folder holds migrations alone.',
    );
    expect(error.fix).toMatch(/^Move it out of the migrations folder/);
  });

  it.each([
    [
      "month 13, day, hour, minute and second 99",
      "20261399999999",
      ["month 13", "day 99", "hour 99", "minute 99", "second 99"],
    ],
    ["30 February", "20260230120000", ["day 30 (2026-02 has 28 days)"]],
    ["29 February of a year that is not a leap year", "20250229000000", ["day 29 (2025-02 has 28 days)"]],
    ["minute and second 60", "20260101006060", ["minute 60", "second 60"]],
  ])("a timestamp with %s", async (_label, timestamp, parts) => {
    const dir = fixtureMigrationsCopy();
    writeMigration(dir, `${timestamp}_bad_date.sql`, "SELECT 1;");
    const error = await expectReleaseError(
      applyRelease(options(nowhere, dir)),
      "migration-files",
      `Migration file name "${timestamp}_bad_date.sql" starts with ${timestamp}, which is not a UTC date and time (YYYYMMDDHHMMSS): ${parts.join(", ")}.`,
    );
    // The fix's example is now, in the same form.
    const example = /e\.g\. (\d{14})_bad_date\.sql/.exec(error.fix ?? "")?.[1];
    const now = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
    expect(Math.abs(Number(now) - Number(example))).toBeLessThan(100);
  });

  it("a timestamp on 29 February of a leap year is one", async () => {
    const dir = fixtureMigrationsCopy();
    writeMigration(dir, "20280229235959_leap_day.sql", "SELECT 1;");
    // Accepted: the refusal is the connection's, after the files were read.
    await expectReleaseError(applyRelease(options(nowhere, dir)), "connection");
  });

  it("a duplicate timestamp", async () => {
    const dir = fixtureMigrationsCopy();
    writeMigration(dir, "20250101000300_twin.sql", "SELECT 1;");
    await expectReleaseError(
      applyRelease(options(nowhere, dir)),
      "migration-files",
      "share the timestamp 20250101000300",
    );
  });

  it("a file that is not UTF-8", async () => {
    const dir = fixtureMigrationsCopy();
    writeFileSync(
      path.join(dir, "20250101000500_latin1.sql"),
      Buffer.concat([
        Buffer.from("-- Up Migration\nSELECT 'caf"),
        Buffer.from([0xe9]),
        Buffer.from("';\n-- Down Migration\n"),
      ]),
    );
    await expectReleaseError(
      applyRelease(options(nowhere, dir)),
      "migration-files",
      "20250101000500_latin1.sql",
      "not valid UTF-8",
    );
  });

  it("a file without a down migration", async () => {
    const dir = fixtureMigrationsCopy();
    writeFileSync(path.join(dir, "20250101000500_oneway.sql"), "-- Up Migration\nSELECT 1;\n");
    await expectReleaseError(applyRelease(options(nowhere, dir)), "migration-files", "Down Migration");
  });

  it.each([
    ["nothing", ""],
    ["only comments and an empty statement", "-- nothing to undo\n/* the column stays */\n;"],
  ])("a Down section holding %s", async (_label, down) => {
    const dir = fixtureMigrationsCopy();
    writeMigration(dir, "20250101000500_widget_z.sql", 'ALTER TABLE "Widget" ADD COLUMN z int;', down);
    await expectReleaseError(
      applyRelease(options(nowhere, dir)),
      "migration-files",
      'Migration "20250101000500_widget_z.sql" has an empty "-- Down Migration" section',
      "RAISE EXCEPTION",
    );
  });
});

describe("a migration whose timestamp is not a UTC date and time", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("is refused by plan and apply, naming the file and the bad parts, and nothing runs", async () => {
    await applyRelease(options(db.current.url, dir));
    writeMigration(dir, "20261399999999_bad_date.sql", 'ALTER TABLE "Widget" ADD COLUMN z int;');
    for (const command of ["plan", "apply"]) {
      const run = await runCli([command, "--migrations-dir", dir], { DATABASE_URL: db.current.url });
      expect(run.code, command).toBe(1);
      expect(run.stderr).toContain(
        'Migration file name "20261399999999_bad_date.sql" starts with 20261399999999, which is not a UTC date and time (YYYYMMDDHHMMSS): month 13, day 99, hour 99, minute 99, second 99.',
      );
      expect(run.stderr).toMatch(
        /fix: Name it after the UTC time it was written, e\.g\. \d{14}_bad_date\.sql/,
      );
    }
    expect(await ledgerNames(db.current.url)).toHaveLength(3);
  });
});

describe("a migration with an empty Down section", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--migrations-dir", dir], { DATABASE_URL: db.current.url });
  const columnZ = () =>
    withClient(db.current.url, async (c) => {
      const found = await c.query(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'Widget' AND column_name = 'z'",
      );
      return found.rowCount === 1;
    });

  it("is refused by plan, apply and revert before anything runs", async () => {
    await applyRelease(options(db.current.url, dir));
    writeFileSync(
      path.join(dir, "20250101000400_widget_z.sql"),
      '-- Up Migration\nALTER TABLE "Widget" ADD COLUMN z int;\n-- Down Migration\n',
    );
    const refusal = 'Migration "20250101000400_widget_z.sql" has an empty "-- Down Migration" section';
    for (const command of [["plan"], ["apply"], ["revert", "--to", "20250101000100_widgets", "--confirm"]]) {
      const run = await cli(...command);
      expect(run.code, command.join(" ")).toBe(1);
      expect(run.stderr).toContain(refusal);
    }
    expect(await columnZ()).toBe(false);
    expect(await ledgerNames(db.current.url)).toHaveLength(3);
  });
});

describe("a malformed name among applied migrations", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("is given a name after the applied ones, which apply then runs rather than refuse as out of order", async () => {
    await applyRelease(options(db.current.url, dir));
    // Its own time is before the applied migrations': kept, apply would refuse it as out of order.
    writeMigration(dir, "20240101000000_AddThing.sql", 'ALTER TABLE "Widget" ADD COLUMN thing int;');
    const refused = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(refused.code).toBe(1);
    expect(refused.stderr).not.toContain("    at ");
    const renameTo = /fix: Rename it (\d{14}_add_thing\.sql) \(after 20250101000300_gadgets\.sql, /.exec(
      refused.stderr,
    )?.[1];
    expect(renameTo, refused.stderr).toBeDefined();
    expect(await ledgerNames(db.current.url)).toHaveLength(3);

    renameSync(path.join(dir, "20240101000000_AddThing.sql"), path.join(dir, renameTo!));
    const applied = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(applied.code, applied.stderr).toBe(0);
    expect((await ledgerNames(db.current.url)).at(-1)).toBe(renameTo!.replace(/\.sql$/, ""));
  });
});
