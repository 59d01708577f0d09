// One release at a time per database: a session-level advisory lock, waited for up to a bound. When the wait
// runs out the error names who holds the lock, so the operator can tell a stuck deploy from a running one.
import type { ClientBase } from "pg";
import { RELEASE_LOCK_KEY } from "./bookkeeping";
import { ReleaseError } from "./errors";
import type { Logger } from "./logger";

export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;
const POLL_MS = 200;

export interface LockHolder {
  pid: number;
  applicationName: string;
  user: string;
  since: string;
  state: string;
}

export async function acquireReleaseLock(
  client: ClientBase,
  options: { timeoutMs?: number; log: Logger },
): Promise<() => Promise<void>> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    const got = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::bigint) AS ok", [
      RELEASE_LOCK_KEY.toString(),
    ]);
    if (got.rows[0]?.ok) break;
    if (!announced) {
      const holder = await lockHolder(client);
      options.log.info(`waiting for the release lock (held by ${describeHolder(holder)})`);
      announced = true;
    }
    if (Date.now() >= deadline) {
      const holder = await lockHolder(client);
      throw new ReleaseError(
        "lock-timeout",
        `Another release holds the lock on this database (${describeHolder(holder)}); gave up after ${Math.round(timeoutMs / 1000)} s.`,
        "Wait for it to finish and run again, or raise the wait with --lock-timeout. If that session is stuck, end it with SELECT pg_terminate_backend(<pid>).",
      );
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))),
    );
  }
  return async () => {
    await client
      .query("SELECT pg_advisory_unlock($1::bigint)", [RELEASE_LOCK_KEY.toString()])
      .catch(() => {});
  };
}

export async function lockHolder(client: ClientBase): Promise<LockHolder | undefined> {
  // Advisory locks on a bigint key appear in pg_locks split into classid (high 32 bits) and objid (low).
  const key = RELEASE_LOCK_KEY;
  const result = await client.query<{
    pid: number;
    application_name: string;
    usename: string;
    backend_start: Date;
    state: string;
  }>(
    `SELECT a.pid, a.application_name, a.usename, a.backend_start, a.state
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      LIMIT 1`,
    [Number(key >> 32n), Number(key & 0xffffffffn)],
  );
  const row = result.rows[0];
  return row
    ? {
        pid: row.pid,
        applicationName: row.application_name || "(no application name)",
        user: row.usename,
        since: row.backend_start.toISOString(),
        state: row.state,
      }
    : undefined;
}

function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return "a session that has just ended";
  return `pid ${holder.pid}, application "${holder.applicationName}", user ${holder.user}, connected since ${holder.since}, ${holder.state}`;
}
