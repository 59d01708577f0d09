// How a lock timeout's messages name what bounded the wait and what to run again. The CLI's words are its
// flags and the command that failed; the dynamic providers give a stack's config keys and the pulumi command
// instead (ReleaseOptions.lockWaitNames). Every message asks lockWaitNamesOf, so that none of them names a
// CLI flag on a stack.

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

/** The names a message uses: `rerun` unset is the CLI's, where each message says the command it failed in. */
export type LockWaitWords = Omit<LockWaitNames, "rerun"> & { rerun?: string };

/** The CLI's: its flags; what to run again is the command that failed. */
export const CLI_LOCK_WAIT_WORDS: LockWaitWords = {
  lockTimeout: "--lock-timeout",
  migrationLockTimeout: "--migration-lock-timeout",
  migrationLockRetries: "--lock-retries",
};

/** The names given with the options (a stack's), or the CLI's. */
export function lockWaitNamesOf(options: { lockWaitNames?: LockWaitNames }): LockWaitWords {
  return options.lockWaitNames ?? CLI_LOCK_WAIT_WORDS;
}
