// What apply and revert read under the release lock before their first write: the ledger, the checks of the
// pending migrations (the lost-last-rows reading, the pre-flight, the safety lint's weighing of the live
// tables), the drift. Several of those lock a table while they read it (pg_get_expr on a column default or a
// policy, pg_total_relation_size, a count of a table or of another tool's ledger, the ledger and snapshot
// tables themselves), and the release session has no lock_timeout of its own: the migrations, seed sets and
// index builds set theirs. A session holding one of those tables would hold the release there, without a word
// and without end. So they run as one bounded stretch: each statement waits at most the migrations' lock
// timeout, the command says what it waits for, and then fails naming the blocker, nothing written.
import type { ClientBase } from "pg";
import type { RecordingCommand } from "./drift-before-release";
import { targetOf } from "./dsn";
import { NOTHING_WRITTEN } from "./errors";
import { withBoundedLockWaits, type BoundedWaitOptions } from "./lock-safety/bounded-waits";
import { withLockTimeout } from "./lock-safety/session";
import { resolveLockSafety } from "./lock-safety/settings";
import { lockWaitWordsFor } from "./lock-safety/wait-names";
import { silentLogger } from "./logger";
import type { ReleaseOptions } from "./release";

/**
 * How apply and revert bound their reads before the first write: the migrations' lock timeout
 * (--migration-lock-timeout), the lock_timeout to set for the reads alone.
 */
export function releaseReadWaits(
  options: ReleaseOptions,
  command: RecordingCommand,
  outcome = NOTHING_WRITTEN,
): BoundedWaitOptions {
  const names = lockWaitWordsFor(options, command);
  return {
    command,
    lockTimeoutMs: resolveLockSafety(options.lockSafety).lockTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
    log: options.log ?? silentLogger,
    outcome,
    flag: names.migrationLockTimeout,
    rerun: names.rerun,
  };
}

/**
 * Runs `reads` (which must write nothing) with the session's lock_timeout at the migrations' lock timeout,
 * set back afterwards, whatever happens (a failed read's error wins over a failed restore); a lock timeout
 * becomes a `lock-timeout` error naming the blocker, whose fix says `outcome`: what state the database is in
 * (a resumed legacy upgrade's is not "nothing").
 */
export async function readsBeforeFirstWrite<T>(
  client: ClientBase,
  options: ReleaseOptions,
  command: RecordingCommand,
  reads: () => Promise<T>,
  outcome = NOTHING_WRITTEN,
): Promise<T> {
  const waits = releaseReadWaits(options, command, outcome);
  const target = targetOf(options);
  return withLockTimeout(client, waits.lockTimeoutMs, waits.log, () =>
    withBoundedLockWaits(client, target, waits, reads),
  );
}
