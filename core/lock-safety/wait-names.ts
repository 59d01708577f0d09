// How a lock timeout's messages name what bounded the wait and what to run again. The CLI's words are its
// flags and the command that failed, printed to run as it is (lockWaitWordsFor); the dynamic providers give a
// stack's config keys and the pulumi command instead (ReleaseOptions.lockWaitNames). Every message asks
// lockWaitNamesOf, so that none of them names a CLI flag on a stack.
import type { CommandPrinter } from "../command-to-run";

export interface LockWaitNames {
  /** What sets ReleaseOptions.lockTimeoutMs: the release lock's wait and the reads' (`--lock-timeout`). */
  lockTimeout: string;
  /** What sets the migrations' lock timeout, lockSafety.lockTimeoutMs (`--migration-lock-timeout`). */
  migrationLockTimeout: string;
  /** What sets how often a migration that timed out on a lock is retried, lockSafety.lockRetries (`--lock-retries`). */
  migrationLockRetries: string;
  /** What to run again once the blocker is gone. */
  rerun: string;
}

/**
 * The names a message uses: `rerun` unset where no command to run is known (a library caller), and each
 * message says the command it failed in, in words.
 */
export type LockWaitWords = Omit<LockWaitNames, "rerun"> & { rerun?: string };

/** The CLI's: its flags; what to run again is the command that failed. */
export const CLI_LOCK_WAIT_WORDS: LockWaitWords = {
  lockTimeout: "--lock-timeout",
  migrationLockTimeout: "--migration-lock-timeout",
  migrationLockRetries: "--lock-retries",
};

/** The names given with the options (a stack's, or the CLI's with its command: lockWaitWordsFor), or the CLI's. */
export function lockWaitNamesOf(options: { lockWaitNames?: LockWaitWords }): LockWaitWords {
  return options.lockWaitNames ?? CLI_LOCK_WAIT_WORDS;
}

/** What a run gives to name the command a lock timeout's fix says to run again (ReleaseOptions'). */
export interface RerunSource {
  lockWaitNames?: LockWaitWords;
  /** ReleaseOptions.printCommand: the CLI's prints the operator's options with the command. */
  printCommand?: CommandPrinter;
  /** ReleaseOptions.commandAsRun: the command as the operator ran it, printed to run as it is. */
  commandAsRun?: string;
}

/**
 * The names for a lock timeout in `command` (as the CLI names it: apply, revert, plan, ...), with what to run
 * again once the blocker is gone, decided here alone: a stack's words where they are given (`pulumi up`);
 * else, for apply, the apply as the run prints it (its --database-url, and the --lock-timeout,
 * --migration-lock-timeout and --lock-retries the operator gave, as every other "run apply again" prints it:
 * command-to-run.ts applyAgain; the legacy upgrade's printer prints the upgrade); for any other command, the
 * command as the operator ran it (a revert --confirm with its --expect-last, which refuses a ledger another
 * release moved meanwhile: the preview is then run again, as that refusal says). A library caller that gives
 * neither keeps the words.
 */
export function lockWaitWordsFor(options: RerunSource, command: string): LockWaitWords {
  const names = lockWaitNamesOf(options);
  if (names.rerun !== undefined) return names;
  const printed = command === "apply" ? options.printCommand?.(["apply"]) : undefined;
  const rerun = printed ?? options.commandAsRun;
  return rerun === undefined ? names : { ...names, rerun };
}
