// Lock reports in the stacks' role layout: the migrator logs in and becomes the owner role (SET ROLE), and
// pg_stat_activity shows a role other sessions' details (backend_start, state, xact_start, query...) only with
// pg_read_all_stats or the privileges of the session's user; the owner has neither of the migrator. Without
// the access layer's grant a second apply that meets the release lock, and a migration that waits for a table
// lock, must still name the holder and say its details are hidden, never print "null" or crash.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyRelease,
  collectingLogger,
  describeLockWait,
  quoteIdentifier,
  readLockWait,
  RELEASE_LOCK_KEY,
  ReleaseError,
  type ReleaseOptions,
} from "../../core";
import { runCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { fixtureMigrationsCopy } from "../support/fixtures";
import { createAccessRoles, dropAccessRoles, type AccessRoles, type Login } from "../support/roles";

describe("lock reports when pg_stat_activity hides the holder's details", () => {
  const dir = fixtureMigrationsCopy();
  let db: TestDatabase;
  let roles: AccessRoles;
  const owner = () => quoteIdentifier(roles.names.owner);
  const asMigrator = (extra: Partial<ReleaseOptions> = {}): ReleaseOptions => ({
    databaseUrl: roles.url("migrator"),
    migrationsDir: dir,
    ...extra,
  });
  const setStatsGrant = (granted: boolean) =>
    withClient(db.adminUrl, (c) =>
      c.query(granted ? `GRANT pg_read_all_stats TO ${owner()}` : `REVOKE pg_read_all_stats FROM ${owner()}`),
    );

  /** A session of `login` named `application`, connected; the caller ends it. */
  async function session(
    login: Login | "admin",
    application: string,
  ): Promise<{ client: Client; pid: number }> {
    const url = login === "admin" ? db.url : roles.url(login);
    const client = new Client({ connectionString: url, application_name: application });
    await client.connect();
    const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    return { client, pid };
  }

  /** Runs `fn` while another migrator session, as a running apply would, holds the release lock. */
  async function whileLockHeld<T>(fn: (holderPid: number) => Promise<T>): Promise<T> {
    const holder = await session("migrator", "neonhub-db:apply");
    try {
      await holder.client.query("SELECT pg_advisory_lock($1::bigint)", [RELEASE_LOCK_KEY.toString()]);
      return await fn(holder.pid);
    } finally {
      await holder.client.end();
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase("lockview");
    roles = await createAccessRoles(db);
    await applyRelease(asMigrator());
  });
  afterAll(async () => {
    await dropTestDatabase(db);
    await dropAccessRoles(db, roles);
  });

  it("the layout hides the other apply's details from the owner role (what the tests below rely on)", async () => {
    await setStatsGrant(false);
    await whileLockHeld(async (holderPid) => {
      const viewer = await session("migrator", "viewer");
      try {
        const row = (
          await viewer.client.query(
            "SELECT current_user AS role, usename, backend_start, state FROM pg_stat_activity WHERE pid = $1",
            [holderPid],
          )
        ).rows[0];
        expect(row).toMatchObject({ role: roles.names.owner, usename: roles.names.migrator });
        expect(row.backend_start).toBeNull();
        expect(row.state).toBeNull();
      } finally {
        await viewer.client.end();
      }
    });
  });

  it("a second apply times out naming the holder and saying its details are hidden", async () => {
    await setStatsGrant(false);
    const log = collectingLogger();
    const error = await whileLockHeld(async (holderPid) => {
      const failure = await applyRelease(asMigrator({ lockTimeoutMs: 600, log })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(ReleaseError);
      const released = failure as ReleaseError;
      expect(released.code).toBe("lock-timeout");
      expect(released.message).toContain(`pid ${holderPid}, application "neonhub-db:apply"`);
      expect(released.message).toContain(`user ${roles.names.migrator}`);
      // The fix names the holder's pid, not a placeholder.
      expect(released.fix).toContain(`SELECT pg_terminate_backend(${holderPid})`);
      return released;
    });
    for (const text of [error.message, log.lines.join("\n")]) {
      expect(text).toContain(`hidden from role ${roles.names.owner}`);
      expect(text).toContain(`GRANT pg_read_all_stats TO ${owner()}`);
      expect(text).not.toMatch(/null|undefined|\(unknown\)/);
    }
    expect(log.lines.join("\n")).toContain("waiting for the release lock (held by pid");
  });

  it("the CLI's second apply fails as a lock timeout, not as an internal error", async () => {
    await setStatsGrant(false);
    const run = await whileLockHeld(() =>
      runCli(["apply", "--json", "--migrations-dir", dir, "--lock-timeout", "1"], {
        DATABASE_URL: roles.url("migrator"),
      }),
    );
    expect(run.code).toBe(1);
    const body = JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } };
    expect(body.error.code).toBe("lock-timeout");
    expect(body.error.message).toContain("hidden from role");
    // The CLI's words: its flag, and the apply to run again as printed, carrying the --lock-timeout it was given.
    expect(body.error.fix).toMatch(
      /^Wait for it to finish and run `neonhub-db apply [^`]*` again, or raise the wait with --lock-timeout\. /,
    );
    expect(body.error.fix).toContain(`\`neonhub-db apply --migrations-dir ${dir} --lock-timeout 1\``);
    expect(run.stderr).not.toContain("TypeError");
  });

  it("with the access layer's pg_read_all_stats the holder's details are shown", async () => {
    await setStatsGrant(true);
    const error = await whileLockHeld(() =>
      applyRelease(asMigrator({ lockTimeoutMs: 600 })).then(
        () => undefined,
        (e: unknown) => e as ReleaseError,
      ),
    );
    expect(error?.code).toBe("lock-timeout");
    expect(error?.message).toMatch(/connected since \d{4}-\d\d-\d\dT[\d:.]+Z, idle/);
    expect(error?.message).not.toContain("hidden from role");
  });

  it("a table-lock wait names a blocker whose details are hidden without printing null", async () => {
    await setStatsGrant(false);
    const blocker = await session("app", "app-report-job");
    const waiter = await session("admin", "waiting-migration");
    const monitor = await session("migrator", "neonhub-db:lock-monitor");
    try {
      await blocker.client.query("BEGIN");
      await blocker.client.query('LOCK TABLE "Widget" IN ACCESS SHARE MODE');
      await waiter.client.query("BEGIN");
      const waiting = waiter.client.query('LOCK TABLE "Widget" IN ACCESS EXCLUSIVE MODE').catch(() => {});
      let wait = await readLockWait(monitor.client, waiter.pid);
      for (let i = 0; i < 50 && !wait?.blockers.length; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        wait = await readLockWait(monitor.client, waiter.pid);
      }
      expect(wait?.blockers.map((b) => b.pid)).toEqual([blocker.pid]);
      const text = describeLockWait(wait!);
      expect(text).toContain(
        `blocked by pid ${blocker.pid} (holding AccessShareLock; application "app-report-job", user ${roles.names.app}`,
      );
      expect(text).toContain(`hidden from role ${roles.names.owner}`);
      expect(text).not.toMatch(/null|undefined|\(unknown\)/);

      await setStatsGrant(true);
      const seen = describeLockWait((await readLockWait(monitor.client, waiter.pid))!);
      expect(seen).toMatch(/idle in transaction, transaction open for \d+ s/);
      await blocker.client.query("ROLLBACK");
      await waiting;
      await waiter.client.query("ROLLBACK");
    } finally {
      for (const s of [blocker, waiter, monitor]) await s.client.end();
    }
  });
});
