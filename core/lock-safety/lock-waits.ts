// What a migration waits for, seen from a second connection: the lock it queues for and the sessions that
// hold it (pg_blocking_pids). Polled while migrations run, so that a waiting apply says every few seconds
// who blocks it, and a lock timeout's final error can name the blocker after the wait itself is gone.
import type { ClientBase } from "pg";
import type { Logger } from "../logger";
import { hiddenDetailsText } from "../stat-activity";

export interface LockBlocker {
  pid: number;
  applicationName: string;
  user: string;
  /**
   * pg_stat_activity.state: "idle in transaction", "active", ...; null, like ageSeconds, when pg_stat_activity
   * hides the session's details from `viewer` (stat-activity.ts).
   */
  state: string | null;
  /** How long its transaction (or, outside one, its session) has been open. */
  ageSeconds: number | null;
  /** The role that read pg_stat_activity (current_user), named when the details are hidden from it. */
  viewer: string;
}

export interface LockWait {
  /** The table (or other object) waited for, as regclass text; null for a lock on something else. */
  relation: string | null;
  mode: string;
  blockers: LockBlocker[];
}

export async function readLockWait(monitor: ClientBase, pid: number): Promise<LockWait | undefined> {
  const waiting = await monitor.query<{ relation: string | null; mode: string }>(
    `SELECT l.relation::regclass::text AS relation, l.mode
       FROM pg_locks l WHERE l.pid = $1 AND NOT l.granted LIMIT 1`,
    [pid],
  );
  const lock = waiting.rows[0];
  if (!lock) return undefined;
  const blockers = await monitor.query<{
    pid: number;
    application_name: string | null;
    usename: string | null;
    state: string | null;
    age: number | null;
    viewer: string;
  }>(
    `SELECT a.pid, a.application_name, a.usename, a.state, current_user AS viewer,
            floor(extract(epoch FROM now() - coalesce(a.xact_start, a.backend_start)))::int AS age
       FROM pg_stat_activity a WHERE a.pid = ANY (pg_blocking_pids($1)) ORDER BY a.pid`,
    [pid],
  );
  return {
    relation: lock.relation,
    mode: lock.mode,
    blockers: blockers.rows.map((row) => ({
      pid: row.pid,
      applicationName: row.application_name || "(no application name)",
      user: row.usename ?? "(a dropped role)",
      state: row.state,
      ageSeconds: row.age,
      viewer: row.viewer,
    })),
  };
}

export function describeBlocker(blocker: LockBlocker): string {
  const who = `pid ${blocker.pid}, application "${blocker.applicationName}", user ${blocker.user}`;
  const { state, ageSeconds } = blocker;
  if (state === null || ageSeconds === null) return `${who}; ${hiddenDetailsText(blocker.viewer)}`;
  const open = state.includes("transaction") ? "transaction open" : "connected";
  return `${who}, ${state}, ${open} for ${ageSeconds} s`;
}

export function describeLockWait(wait: LockWait): string {
  const what = wait.relation ? `${wait.mode} on ${wait.relation}` : wait.mode;
  const who =
    wait.blockers.length > 0
      ? wait.blockers.map(describeBlocker).join("; ")
      : "a session that has just released it";
  return `${what}, held by ${who}`;
}

export interface LockWatch {
  /** The last wait seen with at least one blocker (kept after the wait ends). */
  lastWait(): LockWait | undefined;
  /** Forgets the last wait: a new attempt starts. */
  reset(): void;
  stop(): Promise<void>;
}

const POLL_MS = 200;

/**
 * Polls what `pid` waits for until stopped. Says it on `log` once the wait has lasted `progressIntervalMs`,
 * then every `progressIntervalMs`. `label()` names what is running (the migration). The monitor may still be
 * connecting (core/lock-safety/monitor-connection.ts): polls start once it is ready, none if it never is.
 */
export function watchLockWaits(
  monitor: ClientBase | Promise<ClientBase | undefined>,
  pid: number,
  options: { progressIntervalMs: number; log: Logger; label: () => string },
): LockWatch {
  let last: LockWait | undefined;
  let waitingSince: number | undefined;
  let reportedAt: number | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const poll = async () => {
    const client = await monitor;
    if (!client) return;
    const wait = await readLockWait(client, pid).catch(() => undefined);
    const now = Date.now();
    if (!wait) {
      waitingSince = undefined;
      reportedAt = undefined;
      return;
    }
    if (wait.blockers.length > 0) last = wait;
    waitingSince ??= now;
    const due = (reportedAt ?? waitingSince) + options.progressIntervalMs;
    if (now >= due) {
      reportedAt = now;
      const waited = Math.round((now - waitingSince) / 1000);
      options.log.info(`${options.label()}: waiting ${waited} s for ${describeLockWait(wait)}`);
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = poll().finally(schedule);
    }, POLL_MS);
  };
  schedule();
  return {
    lastWait: () => last,
    reset: () => {
      last = undefined;
    },
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
