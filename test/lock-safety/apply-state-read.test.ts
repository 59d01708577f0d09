// A no-op apply reads its state (ledger, snapshot, each step's records and facts, some of which lock their
// table: a row count, a column default) in one statement under the release lock. Behind a session holding a
// table's lock it waits at most --migration-lock-timeout, names the blocker and writes nothing, and sets the
// session's lock_timeout back: the migrations, seed sets and index builds set their own.
import type { Client } from "pg";
import { Client as PgClient } from "pg";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  defaultReleaseSteps,
  isReleaseError,
  withReleaseSession,
  type ReleaseOptions,
} from "../../core";
import { useReleasedDatabase } from "../security/released-database";

const target = useReleasedDatabase("applystate");

const options = (): ReleaseOptions => ({
  databaseUrl: target.current.roles.url("migrator"),
  migrationsDir: DEFAULT_MIGRATIONS_DIR,
  ownerRole: target.current.roles.names.owner,
  steps: defaultReleaseSteps({ seedSets: [] }),
  lockSafety: { lockTimeoutMs: 1_500 },
});

async function records(admin: Client): Promise<unknown[]> {
  const ledger = await admin.query("SELECT name FROM neonhub_release.migrations ORDER BY id");
  const snapshot = await admin.query("SELECT taken_at, last_migration FROM neonhub_release.schema_snapshot");
  return [ledger.rows, snapshot.rows];
}

describe("a no-op apply behind a table lock", () => {
  it("waits at most --migration-lock-timeout, names the blocking session, and writes nothing", async () => {
    const admin = new PgClient({ connectionString: target.current.db.url });
    await admin.connect();
    const holder = new PgClient({ connectionString: target.current.db.url });
    await holder.connect();
    try {
      const before = await records(admin);
      await holder.query('BEGIN; LOCK TABLE "Chunk" IN ACCESS EXCLUSIVE MODE');
      const pid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      // Unbounded, it would wait as long as the holder: the race's sentinel then fails the code's assertion
      // below, rather than hanging the test.
      const refused = await Promise.race([
        withReleaseSession(options(), "apply", (s) => s.apply()).then(
          () => undefined,
          (error: unknown) => error,
        ),
        new Promise((resolve) => setTimeout(() => resolve("still waiting after 10 s"), 10_000)),
      ]);
      expect(isReleaseError(refused) && refused.code).toBe("lock-timeout");
      if (!isReleaseError(refused)) return;
      expect(refused.message).toContain(
        "apply gave up waiting for a lock after 1.5 s (--migration-lock-timeout)",
      );
      expect(refused.message).toContain(`blocked by pid ${pid}`);
      expect(refused.fix).toContain("Nothing was written.");
      await holder.query("ROLLBACK");
      expect(await records(admin)).toEqual(before);
    } finally {
      await holder.end();
      await admin.end();
    }
  });

  it("sets the session's lock_timeout back once it is done", async () => {
    await withReleaseSession(options(), "apply", async (s) => {
      expect((await s.apply()).changed).toBe(false);
      const client = (s as unknown as { client: Client }).client;
      expect(
        (await client.query<{ t: string }>("SELECT current_setting('lock_timeout') AS t")).rows[0]!.t,
      ).toBe("0");
    });
  });
});
