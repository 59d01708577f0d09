// A command other than a migration that meets a lock another session holds (status, plan, verify, health,
// prisma-schema reading a table under an ALTER TABLE or a LOCK TABLE; load-chunks behind a row lock on its
// dataset) waits at most its lock timeout (the session's lock_timeout, commandSessionSql), says on stderr what
// it waits for as apply's migrations do (lock-waits.ts), and then fails naming the blocker and the fix.
import type { ClientBase } from "pg";
import type { DatabaseTarget } from "../dsn";
import { ReleaseError } from "../errors";
import type { Logger } from "../logger";
import { lockTimeoutWords, watchLockWaits, type LockWait } from "./lock-waits";
import { openMonitorInBackground } from "./monitor-connection";
import { DEFAULT_LOCK_SAFETY, isLockTimeout } from "./settings";
import { CLI_LOCK_WAIT_WORDS } from "./wait-names";

/**
 * How long a command runs before its lock-wait watcher connects: a command that is done by then (nearly
 * all are) opens no second connection.
 */
export const WATCH_AFTER_MS = 1_000;

/**
 * When the watcher connects for a bound of `lockTimeoutMs`: WATCH_AFTER_MS, or a quarter of the bound when
 * that is sooner, so that a short bound's error still names its blocker (watching from 1 s, a wait bounded at
 * 1 s ended before the first poll and its error said the blocker "was not seen"; a quarter leaves the
 * monitor's connection and a few polls most of the bound).
 */
export function watchAfterMs(lockTimeoutMs: number): number {
  return lockTimeoutMs > 0 ? Math.min(WATCH_AFTER_MS, Math.floor(lockTimeoutMs / 4)) : WATCH_AFTER_MS;
}

export interface BoundedWaitOptions {
  /** The command as the CLI names it: the messages' label and the monitor's application_name. */
  command: string;
  /** The lock_timeout the session was opened with (commandSessionSql). */
  lockTimeoutMs: number;
  connectTimeoutMs?: number;
  log: Logger;
  /** What became of the command's work when it gave up, for the fix ("Nothing was loaded."). */
  outcome?: string;
  /** What sets the bound, as the messages name it (default the CLI's `--lock-timeout`, wait-names.ts). */
  flag?: string;
  /** What the fix says to run again once the blocker is gone (default: the command). */
  rerun?: string;
}

/**
 * What the watcher saw, for a command that goes on past a lock timeout of one of its readings (health's
 * sections) and names the holder itself: the last wait seen with a blocker, and forgetting it before a reading.
 */
export interface SeenWaits {
  lastWait(): LockWait | undefined;
  reset(): void;
}

/**
 * Runs `fn` on `client` (opened with commandSessionSql(options.lockTimeoutMs)); a lock timeout becomes a
 * `lock-timeout` error that names the session it waited for.
 */
export async function withBoundedLockWaits<T>(
  client: ClientBase,
  target: DatabaseTarget,
  options: BoundedWaitOptions,
  fn: (seen: SeenWaits) => Promise<T>,
): Promise<T> {
  // pg keeps the backend's pid from the connection's start (BackendKeyData): no query needed.
  const pid = (client as unknown as { processID: number }).processID;
  let watch: ReturnType<typeof watchLockWaits> | undefined;
  let monitor: ReturnType<typeof openMonitorInBackground> | undefined;
  const timer = setTimeout(() => {
    monitor = openMonitorInBackground(target, {
      connectTimeoutMs: options.connectTimeoutMs,
      log: options.log,
      command: options.command,
    });
    watch = watchLockWaits(monitor.ready, pid, {
      progressIntervalMs: DEFAULT_LOCK_SAFETY.progressIntervalMs,
      log: options.log,
      label: () => options.command,
    });
  }, watchAfterMs(options.lockTimeoutMs));
  const seen: SeenWaits = { lastWait: () => watch?.lastWait(), reset: () => watch?.reset() };
  try {
    return await fn(seen);
  } catch (error) {
    if (isLockTimeout(error)) throw lockWaitTimeout(options, watch?.lastWait(), error);
    throw error;
  } finally {
    clearTimeout(timer);
    await watch?.stop();
    await monitor?.close();
  }
}

function lockWaitTimeout(
  options: BoundedWaitOptions,
  wait: LockWait | undefined,
  cause: unknown,
): ReleaseError {
  const seconds = options.lockTimeoutMs / 1000;
  const { blocker, terminate: end, until } = lockTimeoutWords(wait);
  const outcome = options.outcome ? `${options.outcome} ` : "";
  const flag = options.flag ?? CLI_LOCK_WAIT_WORDS.lockTimeout;
  return new ReleaseError(
    "lock-timeout",
    `${options.command} gave up waiting for a lock after ${seconds} s (${flag}): ${blocker}.`,
    `${outcome}Run ${options.rerun ?? options.command} again ${until}, or raise ${flag}.${end}`,
    { cause },
  );
}
