// One release at a time per database: a session-level advisory lock, waited for up to a bound. When the wait
// runs out the error names who holds the lock, so the operator can tell a stuck deploy from a running one.
import type { ClientBase } from "pg";
import { RELEASE_LOCK_KEY } from "./bookkeeping";
import { ReleaseError } from "./errors";
import { lockWaitNamesOf, type LockWaitNames } from "./lock-safety/wait-names";
import type { Logger } from "./logger";
import { hiddenDetailsText } from "./stat-activity";

export const DEFAULT_LOCK_TIMEOUT_MS = 60_000;

/**
 * How long a release may wait for another one's lock, in whole seconds: one range for the one setting,
 * whichever way it is given (`--lock-timeout`, the `lockTimeoutSeconds` release setting, the stack's
 * `releaseLockTimeoutSeconds`).
 */
export const RELEASE_LOCK_TIMEOUT_SECONDS = { min: 1, max: 3600 } as const;

/** Whether `value` is a release-lock wait the engine takes: whole seconds within RELEASE_LOCK_TIMEOUT_SECONDS. */
export function isReleaseLockSeconds(value: unknown): value is number {
  const { min, max } = RELEASE_LOCK_TIMEOUT_SECONDS;
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}
const POLL_MS = 200;

export interface LockHolder {
  pid: number;
  applicationName: string;
  user: string;
  /** When it connected and its state; null when pg_stat_activity hides them from `viewer` (stat-activity.ts). */
  since: string | null;
  state: string | null;
  /** The role that read pg_stat_activity (current_user), named when the details are hidden from it. */
  viewer: string;
}

export async function acquireReleaseLock(
  client: ClientBase,
  options: { timeoutMs?: number; log: Logger; lockWaitNames?: LockWaitNames },
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
      // Without a holder the lock was just released: there is no session to end.
      const end = holder
        ? ` If that session is stuck, end it with SELECT pg_terminate_backend(${holder.pid}).`
        : "";
      const names = lockWaitNamesOf(options);
      // The CLI's words say "run again": the command is the one just typed.
      const rerun = names.rerun ? `${names.rerun} ` : "";
      throw new ReleaseError(
        "lock-timeout",
        `Another release holds the lock on this database (${describeHolder(holder)}); gave up after ${Math.round(timeoutMs / 1000)} s.`,
        `Wait for it to finish and run ${rerun}again, or raise the wait with ${names.lockTimeout}.${end}`,
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
    application_name: string | null;
    usename: string | null;
    backend_start: Date | null;
    state: string | null;
    viewer: string;
  }>(
    `SELECT a.pid, a.application_name, a.usename, a.backend_start, a.state, current_user AS viewer
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
        user: row.usename ?? "(a dropped role)",
        since: row.backend_start?.toISOString() ?? null,
        state: row.state,
        viewer: row.viewer,
      }
    : undefined;
}

function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return "a session that has just ended";
  const who = `pid ${holder.pid}, application "${holder.applicationName}", user ${holder.user}`;
  if (holder.since === null || holder.state === null) return `${who}; ${hiddenDetailsText(holder.viewer)}`;
  return `${who}, connected since ${holder.since}, ${holder.state}`;
}
