// A connection that drops during a bounded read (core/reads-before-first-write.ts): the read's lock_timeout is
// set back afterwards, and on a dead connection that fails too. The caller must see why the read failed (the
// server ended the session), not the failure of the statement that set lock_timeout back. The backend is
// ended for real, by pg_terminate_backend from another session, while it waits for a table lock.
import { Client } from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import {
  applyRelease,
  collectingLogger,
  isReleaseError,
  withReleaseSession,
  type ReleaseOptions,
} from "../../core";
import { useTestDatabase } from "../support/database";
import { fixtureMigrationsCopy } from "../support/fixtures";

const LEDGER = "neonhub_release.migrations";
const APPLICATION = "neonhub-db:revert-under-test";

/** The pid of the session named `application` once it waits for a lock (it is in the lock queue). */
async function waitingSession(monitor: Client, application: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = await monitor.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
      [application],
    );
    if (found.rows[0]) return found.rows[0].pid;
    if (Date.now() > deadline) throw new Error(`${application} never waited for a lock`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("a connection ended during revert's bounded reads", () => {
  const db = useTestDatabase("lostread");
  const dir = fixtureMigrationsCopy();
  let options: ReleaseOptions;

  beforeAll(async () => {
    options = {
      databaseUrl: db.current.url,
      migrationsDir: dir,
      // Long enough that the wait is still going when the backend is ended.
      lockSafety: { lockTimeoutMs: 20_000 },
    };
    await applyRelease(options);
  });

  it("fails with the ended session's error, not the restore's; the restore's failure is logged", async () => {
    const log = collectingLogger();
    const holder = new Client({
      connectionString: db.current.url,
      application_name: "lock-holder-of-the-test",
    });
    // Not the holder: pg_stat_activity is read once per transaction, and the holder's stays open.
    const monitor = new Client({ connectionString: db.current.url });
    await holder.connect();
    await monitor.connect();
    try {
      await holder.query(`BEGIN; LOCK TABLE ${LEDGER} IN ACCESS EXCLUSIVE MODE`);
      const preview = withReleaseSession({ ...options, log }, "revert-under-test", (session) =>
        session.planRevert(null),
      ).then(
        () => undefined,
        (error: unknown) => error,
      );
      const pid = await waitingSession(monitor, APPLICATION);
      await monitor.query("SELECT pg_terminate_backend($1)", [pid]);
      const error = await preview;

      expect(isReleaseError(error), String(error)).toBe(true);
      if (!isReleaseError(error)) return;
      expect(error.code).toBe("connection");
      expect(error.message).toContain("Lost the connection to PostgreSQL");
      // The cause is the server's own word for the ended session (57P01), not the client's refusal to send
      // the restore on a closed connection.
      const cause = error.cause as { code?: string; message?: string };
      expect(cause.code, cause.message).toBe("57P01");
      expect(cause.message).toContain("terminating connection due to administrator command");
      expect(log.lines.some((line) => line.startsWith("warning: lock_timeout was not set back"))).toBe(true);
    } finally {
      await holder.end();
      await monitor.end();
    }
  }, 30_000);
});
