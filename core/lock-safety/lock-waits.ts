// What a migration waits for, seen from a second connection: the lock it queues for and the sessions that
// block it (pg_blocking_pids), each with the mode it holds on that object, or queues for ahead of it. Polled
// while migrations run, so that a waiting apply says every few seconds who blocks it, and a lock timeout's
// final error can name the blocker after the wait itself is gone.
import type { ClientBase } from "pg";
import type { Logger } from "../logger";
import { endSessionColumns, howToEnd, type EndableSession } from "./end-session";
import { literal } from "../sql";
import { hiddenDetailsText } from "../stat-activity";
import {
  describePreparedTransaction,
  PREPARED_LOCKS_CTE,
  preparedLocksJoin,
  howToFinish,
  preparedTransactionJson,
  type PreparedTransaction,
} from "./prepared-transactions";

export interface LockBlocker extends EndableSession {
  /** The role that read pg_stat_activity (current_user), named when the details are hidden from it. */
  viewer: string;
  /**
   * The modes it holds on the object waited for (pg_locks, granted): rarely the mode the migration wants (an
   * app's SELECT holds AccessShareLock, which conflicts with the AccessExclusiveLock an ALTER TABLE wants).
   */
  holding: string[];
  /** The mode it queues for on that object, ahead of the migration, when it holds none there yet. */
  queuedFor: string | null;
  applicationName: string;
  user: string;
  /**
   * pg_stat_activity.state: "idle in transaction", "active", ...; null, like ageSeconds, when pg_stat_activity
   * hides the session's details from `viewer` (stat-activity.ts).
   */
  state: string | null;
  /** How long its transaction (or, outside one, its session) has been open. */
  ageSeconds: number | null;
  /**
   * Whether ageSeconds is its transaction's (pg_stat_activity.xact_start): an "active" session runs its
   * statement in one too, so the state alone does not say which age it is.
   */
  inTransaction: boolean;
}

export interface LockWait {
  /** The table (or other object) waited for, as regclass text; null for a lock on something else. */
  relation: string | null;
  /**
   * pg_locks.locktype: "relation", "tuple", ...; "transactionid" when a row lock is waited for (the wait is
   * on the transaction that locked or changed the row). Absent: not known.
   */
  locktype?: string;
  mode: string;
  /**
   * How long the session has waited for this lock, by the server's clock (pg_locks.waitstart); absent in the
   * moment after the wait starts, before the server sets it.
   */
  waitedMs?: number;
  blockers: LockBlocker[];
  /**
   * The prepared transactions that hold a lock on the object waited for, when one blocks the wait
   * (pg_blocking_pids names a prepared transaction as pid 0; it has no session: prepared-transactions.ts).
   */
  prepared: PreparedHolder[];
}

/** A prepared transaction holding a lock on the object waited for, with the modes it holds there. */
export interface PreparedHolder extends PreparedTransaction {
  holding: string[];
}

/** The same lockable object in pg_locks rows `h` and `w`: pg_locks' identifying columns, NULLs included. */
function sameObject(h: string, w: string): string {
  return [
    "locktype",
    "database",
    "relation",
    "page",
    "tuple",
    "virtualxid",
    "transactionid",
    "classid",
    "objid",
    "objsubid",
  ]
    .map((column) => `${h}.${column} IS NOT DISTINCT FROM ${w}.${column}`)
    .join(" AND ");
}

/** The same lockable object as the waited-for lock `w`. */
const SAME_OBJECT = sameObject("h", "w");

/**
 * The prepared transactions holding a granted lock on the object of the waiting pg_locks row `w` (of session
 * `pid`), as a jsonb array of PreparedHolder, empty unless a prepared transaction blocks it (pid 0 among
 * pg_blocking_pids): one expression, for the watcher's reading and health's.
 */
export function preparedHoldersSql(w: string, pid: string): string {
  return `CASE WHEN 0 = ANY (pg_blocking_pids(${pid})) THEN coalesce((
      WITH ${PREPARED_LOCKS_CTE}
      SELECT jsonb_agg(holder.prepared ORDER BY holder.since) FROM (
        SELECT ${preparedTransactionJson("p")} || jsonb_build_object('holding', array_agg(DISTINCT h.mode)) AS prepared,
               p.prepared AS since
          FROM pg_prepared_xacts p ${preparedLocksJoin("p", "held", "h")}
         WHERE ${sameObject("h", w)}
         GROUP BY p.gid, p.prepared, p.owner, p.database) holder), '[]'::jsonb)
    ELSE '[]'::jsonb END`;
}

export async function readLockWait(monitor: ClientBase, pid: number): Promise<LockWait | undefined> {
  // One row per blocker (one row with a NULL pid when none is left), each with what it holds on the object.
  const result = await monitor.query<{
    relation: string | null;
    locktype: string;
    mode: string;
    pid: number | null;
    holding: string[] | null;
    queued_for: string | null;
    application_name: string | null;
    usename: string | null;
    state: string | null;
    age: number | null;
    in_transaction: boolean;
    viewer: string;
    login: string;
    login_may_end: boolean;
    may_end: boolean;
    holder_super: boolean;
    prepared: PreparedHolder[];
    waited_ms: number | null;
  }>(
    `WITH w AS (SELECT * FROM pg_locks WHERE pid = $1 AND NOT granted LIMIT 1)
     SELECT w.relation::regclass::text AS relation, w.locktype, w.mode, a.pid, a.application_name, a.usename, a.state,
            (extract(epoch FROM clock_timestamp() - w.waitstart) * 1000)::float8 AS waited_ms,
            ${preparedHoldersSql("w", "$1")} AS prepared,
            ${endSessionColumns("r")},
            floor(extract(epoch FROM now() - coalesce(a.xact_start, a.backend_start)))::int AS age,
            a.xact_start IS NOT NULL AS in_transaction,
            (SELECT array_agg(DISTINCT h.mode) FROM pg_locks h
              WHERE h.pid = a.pid AND h.granted AND ${SAME_OBJECT}) AS holding,
            (SELECT min(h.mode) FROM pg_locks h
              WHERE h.pid = a.pid AND NOT h.granted AND ${SAME_OBJECT}) AS queued_for
       FROM w LEFT JOIN pg_stat_activity a ON a.pid = ANY (pg_blocking_pids($1))
       LEFT JOIN pg_roles r ON r.oid = a.usesysid
      ORDER BY a.pid`,
    [pid],
  );
  const lock = result.rows[0];
  if (!lock) return undefined;
  return {
    relation: lock.relation,
    locktype: lock.locktype,
    mode: lock.mode,
    ...(lock.waited_ms !== null ? { waitedMs: Math.max(0, lock.waited_ms) } : {}),
    prepared: lock.prepared,
    blockers: result.rows.flatMap((row) =>
      row.pid === null
        ? []
        : [
            {
              pid: row.pid,
              holding: row.holding ?? [],
              queuedFor: row.holding ? null : row.queued_for,
              applicationName: row.application_name || "(no application name)",
              user: row.usename ?? "(a dropped role)",
              state: row.state,
              ageSeconds: row.age,
              inTransaction: row.in_transaction,
              viewer: row.viewer,
              login: row.login,
              loginMayEnd: row.login_may_end,
              mayEnd: row.may_end,
              isSuperuser: row.holder_super,
            },
          ],
    ),
  };
}

/** `pid 4711 (holding AccessShareLock; application "report-job", user app, idle in transaction, ...)`. */
export function describeBlocker(blocker: LockBlocker): string {
  const mode =
    blocker.holding.length > 0
      ? `holding ${blocker.holding.join(", ")}; `
      : blocker.queuedFor
        ? `queued ahead of it for ${blocker.queuedFor}; `
        : "";
  const who = `application "${blocker.applicationName}", user ${blocker.user}`;
  const { state, ageSeconds } = blocker;
  if (state === null || ageSeconds === null) {
    return `pid ${blocker.pid} (${mode}${who}; ${hiddenDetailsText(blocker.viewer)})`;
  }
  const open = blocker.inTransaction ? "transaction open" : "connected";
  return `pid ${blocker.pid} (${mode}${who}, ${state}, ${open} for ${ageSeconds} s)`;
}

/**
 * What a lock timeout's error says of the wait: the session it waited for (or that none was seen), and the
 * sentence that ends a stuck blocker ("" when none was seen). One wording for a migration and any command.
 */
export function lockTimeoutWords(wait: LockWait | undefined): {
  blocker: string;
  terminate: string;
  until: string;
} {
  const blocker = wait
    ? `it waited for ${describeLockWait(wait)}`
    : "the session blocking it was not seen (it may have released its lock just as the wait ended)";
  const blockers = wait?.blockers ?? [];
  const prepared = wait?.prepared ?? [];
  const ending =
    blockers.length === 0
      ? ""
      : blockers.length === 1
        ? ` If that session is stuck, ${howToEnd(blockers[0]!)}.`
        : ` If those sessions are stuck: ${blockers.map((b) => `pid ${b.pid}: ${howToEnd(b)}`).join("; ")}.`;
  const finishing =
    prepared.length === 1
      ? ` That prepared transaction ${howToFinish(prepared[0]!)}.`
      : prepared.map((p) => ` Prepared transaction ${literal(p.gid)} ${howToFinish(p)}.`).join("");
  const until =
    prepared.length === 0
      ? "when that session has finished"
      : blockers.length === 0
        ? `when ${prepared.length === 1 ? "that prepared transaction is" : "those prepared transactions are"} committed or rolled back`
        : "when those sessions have finished and those prepared transactions are committed or rolled back";
  return { blocker, terminate: `${ending}${finishing}`, until };
}

/** `AccessExclusiveLock on "Chunk", blocked by pid 4711 (holding AccessShareLock; ...)`. */
export function describeLockWait(wait: LockWait): string {
  const what = wait.relation
    ? `${wait.mode} on ${wait.relation}`
    : wait.locktype === "transactionid"
      ? `${wait.mode} on a row another transaction locked or changed`
      : wait.mode;
  const holders = [
    ...wait.blockers.map(describeBlocker),
    ...wait.prepared.map((p) => describePreparedTransaction(p, p.holding)),
  ];
  const who = holders.length > 0 ? holders.join(", ") : "a session that has just released its lock";
  return `${what}, blocked by ${who}`;
}

export interface LockWatch {
  /** The last wait seen with at least one blocker, a session or a prepared transaction (kept after it ends). */
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
 * How long it waited is the server's count from the wait's start (LockWait.waitedMs), not from the first poll
 * that saw it: a command's watcher starts a second after the command (bounded-waits.ts), and counted from its
 * first poll, the line that said "waiting 2 s" came after 3.
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
    if (wait.blockers.length > 0 || wait.prepared.length > 0) last = wait;
    // Without the server's count (the wait has just started), from the first poll that saw it.
    const waitedMs = wait.waitedMs ?? now - (waitingSince ?? now);
    const since = now - waitedMs;
    // A wait that started after the last line (the next statement's, seen without a poll between) is new.
    if (reportedAt !== undefined && since > reportedAt) reportedAt = undefined;
    waitingSince = since;
    const due = (reportedAt ?? since) + options.progressIntervalMs;
    if (now >= due) {
      reportedAt = now;
      const waited = Math.floor(waitedMs / 1000);
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
