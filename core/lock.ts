// One release at a time per database: a session-level advisory lock, waited for up to a bound. When the wait
// runs out the error names who holds the lock, so the operator can tell a stuck deploy from a running one.
// Advisory locks are open to every role, and any client sets its own application_name: a login other than the
// release's (the app's, say) can take the key and look like an apply. A release acts as the owner role (or,
// without one, as its login): a holder that is not a member of that role cannot be running one, and the error
// says so whatever the holder calls itself. Ending the holder is offered only as a statement that works: by the
// release's login when PostgreSQL lets it, else by the admin.
import type { ClientBase } from "pg";
import { RELEASE_LOCK_KEY } from "./bookkeeping";
import { ReleaseError } from "./errors";
import { endSessionColumns, howToEnd, type EndableSession } from "./lock-safety/end-session";
import {
  describePreparedTransaction,
  finishPrepared,
  PREPARED_LOCKS_CTE,
  preparedLocksJoin,
  howToFinish,
  preparedTransactionJson,
  type PreparedTransaction,
} from "./lock-safety/prepared-transactions";
import { lockWaitNamesOf, type LockWaitWords } from "./lock-safety/wait-names";
import type { Logger } from "./logger";
import { isoTime } from "./sql";
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

export interface LockHolder extends EndableSession {
  user: string;
  /** The login the waiting release runs as (session_user; the migrator on a stack). */
  login: string;
  /** The role that read pg_stat_activity (current_user), named when the details are hidden from it. */
  viewer: string;
  applicationName: string;
  /** When it connected and its state; null when pg_stat_activity hides them from `viewer` (stat-activity.ts). */
  since: string | null;
  state: string | null;
  /**
   * Whether the holder's role is a member of the database's owner or of `viewer` (a superuser is a member of
   * every role): a release, baseline or adopt acts as the owner, and a role that is a member of neither cannot
   * be running one, whatever its application name.
   */
  mayBeRelease: boolean;
  /** The database's owner (the owner role on a stack). */
  databaseOwner: string;
}

/** A wait for the release lock, as a command stopped meanwhile names it: the holder's pid, when pg_locks shows it. */
export interface ReleaseLockWait {
  holderPid?: number;
  /** The gid of the prepared transaction that holds it, when no session does (a transaction-level lock). */
  holderPrepared?: string;
}

export async function acquireReleaseLock(
  client: ClientBase,
  options: {
    timeoutMs?: number;
    log: Logger;
    /** How the timeout's error names its bound and what to run again (lockWaitWordsFor); the CLI's words when unset. */
    lockWaitNames?: LockWaitWords;
    /** Told when the wait for another session's lock starts, and `undefined` once the lock is held. */
    onWait?: (wait: ReleaseLockWait | undefined) => void;
  },
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
      const prepared = holder ? undefined : await preparedLockHolder(client);
      const notRelease =
        (holder && !holder.mayBeRelease) || prepared ? "a session that is not a release: " : "";
      const named = prepared ? describePreparedTransaction(prepared) : describeHolder(holder);
      options.log.info(`waiting for the release lock (held by ${notRelease}${named})`);
      options.onWait?.(holder ? { holderPid: holder.pid } : prepared ? { holderPrepared: prepared.gid } : {});
      announced = true;
    }
    if (Date.now() >= deadline) {
      const holder = await lockHolder(client);
      const names = lockWaitNamesOf(options);
      const prepared = holder ? undefined : await preparedLockHolder(client);
      throw prepared
        ? preparedHolderError(prepared, timeoutMs, names)
        : lockTimeoutError(holder, timeoutMs, names);
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))),
    );
  }
  if (announced) options.onWait?.(undefined);
  return async () => {
    await client
      .query("SELECT pg_advisory_unlock($1::bigint)", [RELEASE_LOCK_KEY.toString()])
      .catch(() => {});
  };
}

/**
 * The granted pg_locks row `l` of the release lock in this database: an advisory lock on a bigint key appears
 * split into classid (its high 32 bits) and objid (its low), with objsubid 1.
 */
const RELEASE_LOCK_HELD = `l.locktype = 'advisory' AND l.granted AND l.classid = ${Number(RELEASE_LOCK_KEY >> 32n)}
      AND l.objid = ${Number(RELEASE_LOCK_KEY & 0xffffffffn)} AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/** A release another session is running, as plan and status name it: they read its committed state. */
export interface ReleaseInProgress {
  pid: number;
  applicationName: string;
  /** When its session connected; null when pg_stat_activity hides it from this login. */
  since: string | null;
}

/**
 * The session holding the release lock, other than this one, as a jsonb ReleaseInProgress (NULL when none):
 * an expression, so that plan and status read it in their probe at no extra round trip. It does not wait.
 */
export const RELEASE_IN_PROGRESS_SQL = `(SELECT jsonb_build_object('pid', a.pid,
       'applicationName', coalesce(nullif(a.application_name, ''), '(no application name)'),
       'since', ${isoTime("a.backend_start")})
     FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE ${RELEASE_LOCK_HELD} AND l.pid <> pg_backend_pid()
    LIMIT 1)`;

/**
 * The prepared transaction holding the release lock (no session does), as a jsonb PreparedTransaction (NULL
 * when none): an expression, so that plan and status read it in their probe beside RELEASE_IN_PROGRESS_SQL.
 */
export const PREPARED_RELEASE_LOCK_SQL = `(WITH ${PREPARED_LOCKS_CTE}
     SELECT ${preparedTransactionJson("p")}
       FROM pg_prepared_xacts p ${preparedLocksJoin("p", "held", "l")}
      WHERE ${RELEASE_LOCK_HELD}
      LIMIT 1)`;

/**
 * A prepared transaction holding the release lock, as plan, status and the revert preview carry it: no release
 * (a release holds the lock in its session and prepares nothing), and one that every lock taker waits for and
 * then fails on, until it is committed or rolled back. `fix` says how.
 */
export interface ReleaseLockPrepared extends PreparedTransaction {
  fix: string;
}

/** Who holds the release lock, as plan, status and the revert preview carry it; both absent when nobody does. */
export interface ReleaseLockHolders {
  releaseInProgress?: ReleaseInProgress;
  releaseLockPrepared?: ReleaseLockPrepared;
}

/**
 * The release lock's holder, read without waiting: a release another session runs (what they show is what it
 * has committed so far), or a prepared transaction. Absent when none.
 */
export function inProgress(
  release: ReleaseInProgress | null | undefined,
  prepared?: PreparedTransaction | null,
): ReleaseLockHolders {
  return {
    ...(release ? { releaseInProgress: release } : {}),
    ...(prepared ? { releaseLockPrepared: { ...prepared, fix: preparedHolderFix(prepared) } } : {}),
  };
}

/** What plan, status and the revert preview say to do about a prepared transaction holding the release lock. */
function preparedHolderFix(prepared: PreparedTransaction): string {
  const finish = finishPrepared(prepared);
  return (
    `${finish[0]!.toUpperCase()}${finish.slice(1)}. Until then apply, revert --confirm, baseline and adopt wait ` +
    "for it and fail: it outlives sessions and restarts, and no pg_terminate_backend ends it."
  );
}

/** RELEASE_IN_PROGRESS_SQL and PREPARED_RELEASE_LOCK_SQL on their own, for the reads that do not batch them. */
export async function releaseLockHolders(client: ClientBase): Promise<ReleaseLockHolders> {
  const result = await client.query<{
    release: ReleaseInProgress | null;
    prepared: PreparedTransaction | null;
  }>(`SELECT ${RELEASE_IN_PROGRESS_SQL} AS release, ${PREPARED_RELEASE_LOCK_SQL} AS prepared`);
  return inProgress(result.rows[0]?.release, result.rows[0]?.prepared);
}

export async function lockHolder(client: ClientBase): Promise<LockHolder | undefined> {
  const result = await client.query<{
    pid: number;
    application_name: string | null;
    usename: string | null;
    backend_start: Date | null;
    state: string | null;
    viewer: string;
    login: string;
    login_may_end: boolean;
    may_end: boolean;
    holder_super: boolean;
    may_be_release: boolean;
    database_owner: string;
  }>(
    `SELECT a.pid, a.application_name, a.usename, a.backend_start, a.state, ${endSessionColumns("r")},
            COALESCE(pg_has_role(r.oid, current_user, 'MEMBER')
                     OR pg_has_role(r.oid, (SELECT datdba FROM pg_database WHERE datname = current_database()), 'MEMBER'),
                     false) AS may_be_release,
            (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()) AS database_owner
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       LEFT JOIN pg_roles r ON r.oid = a.usesysid
      WHERE ${RELEASE_LOCK_HELD}
      LIMIT 1`,
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
        login: row.login,
        loginMayEnd: row.login_may_end,
        mayEnd: row.may_end,
        isSuperuser: row.holder_super,
        mayBeRelease: row.may_be_release,
        databaseOwner: row.database_owner,
      }
    : undefined;
}

/**
 * The prepared transaction holding the release lock, when no session does: a transaction-level advisory lock
 * (pg_advisory_xact_lock) taken in a transaction that was then prepared. A release takes a session-level lock
 * and prepares nothing, so it is never a release.
 */
export async function preparedLockHolder(client: ClientBase): Promise<PreparedTransaction | undefined> {
  const result = await client.query<{ prepared: PreparedTransaction | null }>(
    `SELECT ${PREPARED_RELEASE_LOCK_SQL} AS prepared`,
  );
  return result.rows[0]?.prepared ?? undefined;
}

function preparedHolderError(
  prepared: PreparedTransaction,
  timeoutMs: number,
  names: LockWaitWords,
): ReleaseError {
  const rerun = names.rerun ? `${names.rerun} ` : "";
  return new ReleaseError(
    "lock-timeout",
    `A prepared transaction holds the release lock on this database (${describePreparedTransaction(prepared)}); gave up after ${Math.round(timeoutMs / 1000)} s. ` +
      "It is not a release (a release holds the lock in its session and prepares no transaction): someone took the lock with pg_advisory_xact_lock and ran PREPARE TRANSACTION.",
    `Waiting will not help: it ${howToFinish(prepared)}; then run ${rerun}again.`,
  );
}

function lockTimeoutError(
  holder: LockHolder | undefined,
  timeoutMs: number,
  names: LockWaitWords,
): ReleaseError {
  const gaveUp = `gave up after ${Math.round(timeoutMs / 1000)} s.`;
  // Without a command to name (a library caller), "run again": the command is the caller's own.
  const rerun = names.rerun ? `${names.rerun} ` : "";
  if (holder && !holder.mayBeRelease) {
    return new ReleaseError(
      "lock-timeout",
      `A session that is not a release holds the release lock on this database (${describeHolder(holder)}); ${gaveUp} ` +
        `This command runs as ${holder.login}; every release, baseline or adopt acts as the database's owner ${holder.databaseOwner}, ` +
        `of which ${holder.user} is not a member, so it cannot be running one. Its application name is set by the client and proves nothing.`,
      `Waiting will not help: ${howToEnd(holder)}, then run ${rerun}again. ` +
        `A login that takes the release lock may be in the wrong hands: see docs/runbook.md, "A login's password is compromised".`,
    );
  }
  // Without a holder the lock was just released: there is no session to end.
  const end = holder ? ` If that session is stuck, ${howToEnd(holder)}.` : "";
  return new ReleaseError(
    "lock-timeout",
    `Another release holds the lock on this database (${describeHolder(holder)}); ${gaveUp}`,
    `Wait for it to finish and run ${rerun}again, or raise the wait with ${names.lockTimeout}.${end}`,
  );
}

function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return "a session that has just ended";
  const who = `pid ${holder.pid}, application "${holder.applicationName}", user ${holder.user}`;
  if (holder.since === null || holder.state === null) return `${who}; ${hiddenDetailsText(holder.viewer)}`;
  return `${who}, connected since ${holder.since}, ${holder.state}`;
}
