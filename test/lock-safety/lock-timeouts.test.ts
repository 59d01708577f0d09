// Migrations under lock_timeout on real PostgreSQL: a migration blocked by an app transaction is rolled back
// and retried whole, succeeds once the lock is gone, and otherwise fails naming the blocker with nothing of
// it applied. A killed CLI's session leaves the lock queue.
import { spawn } from "node:child_process";
import path from "node:path";
import { Client } from "pg";
import { describe, expect, it } from "vitest";
import {
  applyRelease,
  collectingLogger,
  describeLockWait,
  readLockWait,
  ReleaseError,
  type LockWait,
  type ReleaseOptions,
} from "../../core";
import { CLI, runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const FAST = { lockTimeoutMs: 500, retryBaseDelayMs: 100, retryMaxDelayMs: 200, progressIntervalMs: 200 };

async function holdReadLock(url: string, table: string): Promise<Client> {
  const holder = new Client({ connectionString: url, application_name: "app-report-job" });
  await holder.connect();
  await holder.query("BEGIN");
  await holder.query(`LOCK TABLE "${table}" IN ACCESS SHARE MODE`);
  return holder;
}

async function widgetColumns(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const rows = await c.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'Widget' ORDER BY 1",
    );
    return rows.rows.map((r) => r.column_name);
  });
}

async function ledgerCount(url: string): Promise<number> {
  return withClient(url, async (c) => {
    const rows = await c.query<{ n: number }>("SELECT count(*)::int AS n FROM neonhub_release.migrations");
    return rows.rows[0]!.n;
  });
}

describe("a migration blocked by an app transaction", () => {
  const db = useTestDatabase("lockto");
  const dir = fixtureMigrationsCopy();
  const options = (extra: Partial<ReleaseOptions> = {}): ReleaseOptions => ({
    databaseUrl: db.current.url,
    migrationsDir: dir,
    ...extra,
  });

  it("fails after its retries naming the blocker, with nothing of it applied", async () => {
    await applyRelease(options());
    writeMigration(dir, "20250101000400_widget_size.sql", 'ALTER TABLE "Widget" ADD COLUMN size int;');
    const holder = await holdReadLock(db.current.url, "Widget");
    const holderPid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    const log = collectingLogger();
    try {
      const error = await applyRelease(
        options({ lockSafety: { ...FAST, lockTimeoutMs: 1_500, lockRetries: 2 }, log }),
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ReleaseError);
      const failure = error as ReleaseError;
      expect(failure.code).toBe("lock-timeout");
      expect(failure.message).toContain("20250101000400_widget_size.sql");
      expect(failure.message).toContain("in 3 attempt(s)");
      // The blocker holds an AccessShareLock (the app's read), not the AccessExclusiveLock the migration wants.
      expect(failure.message).toContain(
        `AccessExclusiveLock on "Widget", blocked by pid ${holderPid} (holding AccessShareLock; application "app-report-job"`,
      );
      expect(failure.message).toContain("idle in transaction");
      expect(failure.message).toMatch(/ACCESS EXCLUSIVE|AccessExclusiveLock/);
      expect(failure.fix).toContain(`pg_terminate_backend(${holderPid})`);
      // While it waited it said for what, and each timeout said it retries.
      const lines = log.lines.join("\n");
      expect(lines).toMatch(
        /migration 20250101000400_widget_size: waiting \d+ s for AccessExclusiveLock on "Widget", blocked by pid \d+ \(holding AccessShareLock; /,
      );
      expect(lines.match(/rolled back, retrying in/g)).toHaveLength(2);
    } finally {
      await holder.query("ROLLBACK");
      await holder.end();
    }
    expect(await widgetColumns(db.current.url)).not.toContain("size");
    expect(await ledgerCount(db.current.url)).toBe(3);
  });

  it("retries and succeeds once the lock is gone", async () => {
    const holder = await holdReadLock(db.current.url, "Widget");
    const log = collectingLogger();
    // Held until an attempt has timed out and said it retries, not for a fixed time: on a loaded machine the
    // release may reach the table only after a timer would have freed it.
    const release = (async () => {
      while (!log.lines.some((line) => line.includes("rolled back, retrying in")))
        await new Promise((resolve) => setTimeout(resolve, 20));
      await holder.query("COMMIT");
      await holder.end();
    })();
    const result = await applyRelease(options({ lockSafety: { ...FAST, lockRetries: 30 }, log }));
    await release;
    expect(result.migrations.map((m) => m.name)).toEqual(["20250101000400_widget_size"]);
    expect(log.lines.join("\n")).toMatch(/rolled back, retrying in/);
    expect(log.lines.join("\n")).toMatch(/attempt [2-9]\d* of 31/);
    expect(await widgetColumns(db.current.url)).toContain("size");
    expect(await ledgerCount(db.current.url)).toBe(4);
    // The session's own settings are back as they were for the steps after the migrations.
  });

  it("the CLI's apply that gives up names itself to run again as printed, with the lock flags it was given", async () => {
    writeMigration(dir, "20250101000500_widget_colour.sql", 'ALTER TABLE "Widget" ADD COLUMN colour text;');
    const flags = ["--lock-timeout", "5", "--migration-lock-timeout", "1", "--lock-retries", "0"];
    const holder = await holdReadLock(db.current.url, "Widget");
    let run: Awaited<ReturnType<typeof runCli>>;
    try {
      run = await runCli(["apply", "--json", "--migrations-dir", dir, ...flags], {
        DATABASE_URL: db.current.url,
      });
    } finally {
      await holder.query("ROLLBACK");
      await holder.end();
    }
    expect(run.code, run.stderr).toBe(1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; fix: string } };
    expect(error.code).toBe("lock-timeout");
    // Run again as printed, it waits and retries as this one was told to: not by the defaults.
    expect(error.fix).toContain(
      `Run \`neonhub-db apply --migrations-dir ${dir} ${flags.join(" ")}\` again when that session has finished, or raise --migration-lock-timeout / --lock-retries.`,
    );
    expect(await widgetColumns(db.current.url)).not.toContain("colour");
  });
});

describe("what a waiting migration is told about its blockers", () => {
  const db = useTestDatabase("lockmode");

  it("names the mode each one holds, or queues for ahead of it, not the mode the migration wants", async () => {
    await withClient(db.current.url, (c) => c.query('CREATE TABLE "Widget" (id int)'));
    const sessions: Client[] = [];
    const open = async (application: string) => {
      const client = new Client({ connectionString: db.current.url, application_name: application });
      await client.connect();
      sessions.push(client);
      const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      return { client, pid };
    };
    try {
      const reader = await holdReadLock(db.current.url, "Widget");
      sessions.push(reader);
      const readerPid = (await reader.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      // An earlier ALTER queues behind the reader; the migration's then queues behind both.
      const earlier = await open("earlier-ddl");
      const migration = await open("migration");
      const monitor = await open("monitor");
      await earlier.client.query("BEGIN");
      const earlierDone = earlier.client
        .query('LOCK TABLE "Widget" IN ACCESS EXCLUSIVE MODE')
        .catch(() => {});
      await waitUntilBlocked(monitor.client, earlier.pid, 1);
      await migration.client.query("BEGIN");
      const migrationDone = migration.client
        .query('LOCK TABLE "Widget" IN ACCESS EXCLUSIVE MODE')
        .catch(() => {});
      const wait = await waitUntilBlocked(monitor.client, migration.pid, 2);
      expect(wait.mode).toBe("AccessExclusiveLock");
      expect(wait.blockers).toMatchObject([
        { pid: Math.min(readerPid, earlier.pid) },
        { pid: Math.max(readerPid, earlier.pid) },
      ]);
      const text = describeLockWait(wait);
      expect(text).toContain('AccessExclusiveLock on "Widget", blocked by ');
      expect(text).toContain(`pid ${readerPid} (holding AccessShareLock; application "app-report-job"`);
      expect(text).toContain(
        `pid ${earlier.pid} (queued ahead of it for AccessExclusiveLock; application "earlier-ddl"`,
      );
      // An active statement runs in a transaction: the age given is that transaction's, and is said so.
      expect(text).toMatch(
        new RegExp(`pid ${earlier.pid} \\(queued ahead [^)]*, active, transaction open for \\d+ s\\)`),
      );
      await reader.query("ROLLBACK");
      await earlierDone;
      await earlier.client.query("ROLLBACK");
      await migrationDone;
      await migration.client.query("ROLLBACK");
    } finally {
      for (const client of sessions) await client.end();
    }
  });
});

/** Polls until `pid` waits for a lock with `blockers` sessions blocking it. */
async function waitUntilBlocked(monitor: Client, pid: number, blockers: number): Promise<LockWait> {
  for (let i = 0; i < 100; i++) {
    const wait = await readLockWait(monitor, pid);
    if (wait && wait.blockers.length === blockers) return wait;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`pid ${pid} was not seen waiting behind ${blockers} session(s)`);
}

describe("a killed CLI", () => {
  const db = useTestDatabase("lockkill");
  const dir = fixtureMigrationsCopy();

  it("leaves no session of its own in the lock queue", async () => {
    expect((await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url })).code).toBe(0);
    writeMigration(dir, "20250101000400_widget_size.sql", 'ALTER TABLE "Widget" ADD COLUMN size int;');
    const holder = await holdReadLock(db.current.url, "Widget");
    const child = spawn(
      process.execPath,
      [CLI, "apply", "--migrations-dir", dir, "--migration-lock-timeout", "0"],
      {
        cwd: path.resolve(__dirname, "..", ".."),
        env: { PATH: process.env.PATH, DATABASE_URL: db.current.url },
        stdio: "ignore",
      },
    );
    const exited = new Promise((resolve) => child.on("exit", resolve));
    try {
      const waiting = await pollFor(db.current.url, 30_000, async (c) => {
        const rows = await c.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'neonhub-db:apply' AND wait_event_type = 'Lock'`,
        );
        return rows.rows[0]?.pid;
      });
      child.kill("SIGKILL");
      await exited;
      // The server notices the closed socket on its next check (every 2 s) and ends the session.
      const gone = await pollFor(db.current.url, 20_000, async (c) => {
        const rows = await c.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [waiting]);
        return rows.rowCount === 0 ? true : undefined;
      });
      expect(gone).toBe(true);
    } finally {
      child.kill("SIGKILL");
      await holder.query("ROLLBACK").catch(() => {});
      await holder.end();
    }
  });
});

async function pollFor<T>(
  url: string,
  limitMs: number,
  probe: (c: Client) => Promise<T | undefined>,
): Promise<T> {
  return withClient(url, async (c) => {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const value = await probe(c);
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`not seen within ${limitMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
}
