// Session settings of a release's connections: its statements give up waiting for a table lock, and its
// server session ends when the client does.
import type { ClientBase } from "pg";
import type { Logger } from "../logger";
import { literal } from "../sql";
import { intervalText, type LockSafetySettings } from "./settings";

/** How often the server checks, while a statement runs, that the client is still there. */
export const CLIENT_CHECK_INTERVAL_MS = 2_000;

/**
 * A Ctrl-C'd or killed CLI closes its socket, but the server notices only when it next writes to it: a
 * session queued behind a lock would stay in the queue (and every app query behind it) until the lock goes.
 * PostgreSQL 14+ can check the socket while a statement runs; older servers have no such setting (no row in
 * pg_settings, so nothing is set), and a stricter interval set on the server, role or database stays. One
 * statement, so that it can travel in the same message as the release's first statements.
 */
export const END_SESSION_WITH_CLIENT_SQL = `SELECT set_config('client_connection_check_interval', '${CLIENT_CHECK_INTERVAL_MS}', false)
  FROM pg_settings WHERE name = 'client_connection_check_interval'
    AND (setting::int = 0 OR setting::int > ${CLIENT_CHECK_INTERVAL_MS})`;

/**
 * A command's session settings (openClient's sessionSql): it ends with the client, and, given `lockTimeoutMs`,
 * each statement waits at most that long for a lock (lock_timeout; see bounded-waits.ts for what is said).
 */
export function commandSessionSql(lockTimeoutMs?: number): string[] {
  return [
    END_SESSION_WITH_CLIENT_SQL,
    ...(lockTimeoutMs === undefined ? [] : [lockTimeoutSql(lockTimeoutMs)]),
  ];
}

/** Sets the session's lock_timeout: each statement then waits at most `lockTimeoutMs` for a lock. */
export function lockTimeoutSql(lockTimeoutMs: number): string {
  return `SELECT set_config('lock_timeout', ${literal(intervalText(lockTimeoutMs))}, false)`;
}

/**
 * Sets the session's lock_timeout for a read that must not wait long, returning the value it replaces (column
 * `was`) for restoreLockTimeoutSql. One statement, so that it can travel in a message with others.
 */
export function swapLockTimeoutSql(lockTimeoutMs: number): string {
  return `SELECT current_setting('lock_timeout') AS was, set_config('lock_timeout', ${literal(intervalText(lockTimeoutMs))}, false)`;
}

/** Sets lock_timeout back to what swapLockTimeoutSql read. */
export function restoreLockTimeoutSql(was: string): string {
  return `SELECT set_config('lock_timeout', ${literal(was)}, false)`;
}

/**
 * Runs `fn` with the session's lock_timeout at `lockTimeoutMs`, and sets it back afterwards. When `fn` failed,
 * its error is the one thrown: the restore then often fails too (on a connection that dropped under the read,
 * with words that say nothing of why), and its failure is only logged.
 */
export async function withLockTimeout<T>(
  client: ClientBase,
  lockTimeoutMs: number,
  log: Logger,
  fn: () => Promise<T>,
): Promise<T> {
  const set = await client.query<{ was: string }>(swapLockTimeoutSql(lockTimeoutMs));
  const restore = () => client.query(restoreLockTimeoutSql(set.rows[0]!.was));
  let result: T;
  try {
    result = await fn();
  } catch (error) {
    await restore().catch((failure: unknown) => {
      log.warn(`lock_timeout was not set back after the failure: ${(failure as Error).message}`);
    });
    throw error;
  }
  await restore();
  return result;
}

export async function endSessionWithClient(client: ClientBase): Promise<void> {
  await client.query(END_SESSION_WITH_CLIENT_SQL);
}

/** Sets the migrations' lock and statement timeouts on the session; the function returned restores them. */
export async function setMigrationTimeouts(
  client: ClientBase,
  settings: Pick<LockSafetySettings, "lockTimeoutMs" | "statementTimeoutMs">,
): Promise<() => Promise<void>> {
  // One round trip: the materialized row holds the settings as they were before set_config changes them.
  const before = await client.query<{ lock: string; statement: string }>(
    `WITH before AS MATERIALIZED (
       SELECT current_setting('lock_timeout') AS lock, current_setting('statement_timeout') AS statement)
     SELECT before.lock, before.statement,
            set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)
       FROM before`,
    [intervalText(settings.lockTimeoutMs), intervalText(settings.statementTimeoutMs)],
  );
  const { lock, statement } = before.rows[0]!;
  return async () => {
    await client.query(
      "SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)",
      [lock, statement],
    );
  };
}
