// A failed migration in `--json`: CI reads which migration failed, where and why from `error.failedMigration`,
// without parsing the message. Apply's failures (a position from the server, a statement found by counting, a
// lock it could not take) and a revert's failed Down section.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { Client } from "pg";
import { describe, expect, it } from "vitest";
import type { FailedMigration } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

interface ErrorDocument {
  error: { code: string; message: string; fix: string | null; failedMigration?: FailedMigration };
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

async function cliJson(url: string, ...args: string[]): Promise<{ code: number | null; doc: ErrorDocument }> {
  const run = await runCli([...args, "--json"], { DATABASE_URL: url });
  return { code: run.code, doc: JSON.parse(run.stdout) as ErrorDocument };
}

/** The fixture's ledger, oldest first. */
const ledgerRows = (url: string) =>
  withClient(url, async (c) =>
    (await c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id")).rows.map(
      (r) => r.name,
    ),
  );

/** Runs `fn` while another session holds ACCESS EXCLUSIVE on "Widget", with that session's pid. */
async function withWidgetLocked(url: string, fn: (pid: number) => Promise<void>): Promise<void> {
  const holder = new Client({ connectionString: url });
  await holder.connect();
  try {
    await holder.query('BEGIN; LOCK TABLE "Widget" IN ACCESS EXCLUSIVE MODE');
    const pid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    await fn(pid);
  } finally {
    await holder.end();
  }
}

describe("apply --json on a migration the server refuses at a position", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("names the migration, its checksum, line, statement and SQLSTATE, and how many were applied before it", async () => {
    const file = writeMigration(
      dir,
      "20250101000400_broken.sql",
      ['CREATE TABLE "Half" (id int);', "", 'ALTER TABLE "Widget" ADD COLUMN size intt;'].join("\n"),
    );
    const { code, doc } = await cliJson(db.current.url, "apply", "--migrations-dir", dir);
    expect(code).toBe(1);
    expect(doc.error.code).toBe("migration-failed");
    expect(doc.error.failedMigration).toEqual({
      name: "20250101000400_broken",
      checksum: sha256(file),
      direction: "up",
      sqlstate: "42704",
      line: 4,
      statement: 2,
      finished: 3,
    });
  });
});

describe("apply --json on a migration that fails while a statement runs", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("gives the statement found by counting, and finished 0 when it was the first of the run", async () => {
    await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    writeMigration(
      dir,
      "20250101000400_missing_column.sql",
      ['ALTER TABLE "Widget" ADD COLUMN size int;', 'ALTER TABLE "Widget" DROP COLUMN doesnotexist;'].join(
        "\n",
      ),
    );
    const { code, doc } = await cliJson(db.current.url, "apply", "--migrations-dir", dir);
    expect(code).toBe(1);
    expect(doc.error.failedMigration).toMatchObject({
      name: "20250101000400_missing_column",
      direction: "up",
      sqlstate: "42703",
      line: 3,
      statement: 2,
      finished: 0,
    });
  });
});

describe("apply --json on a migration that cannot take its table lock", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("is a lock-timeout naming the migration, with SQLSTATE 55P03", async () => {
    await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    writeMigration(dir, "20250101000400_blocked.sql", 'ALTER TABLE "Widget" ADD COLUMN size int;');
    const holder = new Client({ connectionString: db.current.url });
    await holder.connect();
    try {
      // A long read of the table (ACCESS SHARE): the migration's ALTER TABLE waits for it, while the reads
      // apply makes before its first write do not.
      await holder.query('BEGIN; LOCK TABLE "Widget" IN ACCESS SHARE MODE');
      const { code, doc } = await cliJson(
        db.current.url,
        "apply",
        "--migrations-dir",
        dir,
        "--migration-lock-timeout",
        "0.1",
        "--lock-retries",
        "0",
      );
      expect(code).toBe(1);
      expect(doc.error.code).toBe("lock-timeout");
      expect(doc.error.failedMigration).toMatchObject({
        name: "20250101000400_blocked",
        direction: "up",
        sqlstate: "55P03",
        finished: 0,
      });
    } finally {
      await holder.end();
    }
  });
});

describe("apply --json behind a lock that its drift read before the first write waits for", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("waits at most --migration-lock-timeout, names the blocking session, and writes nothing", async () => {
    await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    writeMigration(dir, "20250101000400_blocked.sql", 'ALTER TABLE "Widget" ADD COLUMN size int;');
    const before = await ledgerRows(db.current.url);
    // Reading "Widget"'s column default (pg_get_expr) takes ACCESS SHARE on it, which this lock excludes.
    await withWidgetLocked(db.current.url, async (pid) => {
      const { code, doc } = await cliJson(
        db.current.url,
        "apply",
        "--migrations-dir",
        dir,
        "--migration-lock-timeout",
        "3",
      );
      expect(code).toBe(1);
      expect(doc.error.code).toBe("lock-timeout");
      expect(doc.error.message).toContain(
        "apply gave up waiting for a lock after 3 s (--migration-lock-timeout)",
      );
      expect(doc.error.message).toContain(`blocked by pid ${pid}`);
      expect(doc.error.fix).toContain("Nothing was written.");
      expect(doc.error.fix).toContain(`SELECT pg_terminate_backend(${pid})`);
    });
    expect(await ledgerRows(db.current.url)).toEqual(before);
    const columns = await withClient(db.current.url, (c) =>
      c.query(`SELECT 1 FROM pg_attribute WHERE attrelid = '"Widget"'::regclass AND attname = 'size'`),
    );
    expect(columns.rowCount).toBe(0);
  });
});

describe("revert --confirm --json behind a lock that its drift read before the first write waits for", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("waits at most --migration-lock-timeout, names the blocking session, and reverts nothing", async () => {
    writeMigration(
      dir,
      "20250101000400_sprocket.sql",
      'CREATE TABLE "Sprocket" (id int);',
      'DROP TABLE "Sprocket";',
    );
    await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    const before = await ledgerRows(db.current.url);
    await withWidgetLocked(db.current.url, async (pid) => {
      const { code, doc } = await cliJson(
        db.current.url,
        "revert",
        "--to",
        "20250101000300_gadgets",
        "--confirm",
        "--migrations-dir",
        dir,
        "--migration-lock-timeout",
        "2",
      );
      expect(code).toBe(1);
      expect(doc.error.code).toBe("lock-timeout");
      expect(doc.error.message).toContain(
        "revert gave up waiting for a lock after 2 s (--migration-lock-timeout)",
      );
      expect(doc.error.message).toContain(`blocked by pid ${pid}`);
      expect(doc.error.fix).toContain("Nothing was written.");
    });
    expect(await ledgerRows(db.current.url)).toEqual(before);
  });
});

describe("revert --confirm --json on a failing Down section", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("names the migration whose Down section failed, its direction down, and the ones reverted before it", async () => {
    writeMigration(
      dir,
      "20250101000400_missing_column_down.sql",
      'CREATE TABLE "Sprocket" (id text PRIMARY KEY);',
      'DROP TABLE "Sprocket";\nALTER TABLE "Widget" DROP COLUMN doesnotexist;',
    );
    writeMigration(dir, "20250101000500_last.sql", 'CREATE TABLE "Last" (id int);', 'DROP TABLE "Last";');
    await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    const { code, doc } = await cliJson(
      db.current.url,
      "revert",
      "--to",
      "20250101000300_gadgets",
      "--confirm",
      "--migrations-dir",
      dir,
    );
    expect(code).toBe(1);
    expect(doc.error.code).toBe("migration-failed");
    expect(doc.error.failedMigration).toEqual({
      name: "20250101000400_missing_column_down",
      checksum: sha256(path.join(dir, "20250101000400_missing_column_down.sql")),
      direction: "down",
      sqlstate: "42703",
      line: 6,
      statement: 2,
      finished: 1,
    });
  });
});

describe("an error that is not a migration's", () => {
  const db = useTestDatabase();

  it("has no failedMigration", async () => {
    const { code, doc } = await cliJson(db.current.url, "revert", "--to", "20990101000000_nothing");
    expect(code).toBe(1);
    expect(doc.error.failedMigration).toBeUndefined();
  });
});
