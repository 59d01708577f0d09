// How a release's migrations wait for table locks: one small, self-contained set of settings with its
// defaults and validation, so that the CLI flags and the stack settings decide them in one place.
import { ReleaseError } from "../errors";

/** SQLSTATE lock_not_available: a statement gave up waiting for a lock after `lock_timeout`. */
export const LOCK_NOT_AVAILABLE = "55P03";
/**
 * Whether `error` is a lock timeout, as the server raised it or wrapped (as its cause) in a ReleaseError by a
 * command's own error mapping. A read that catches its errors to go on without them (a table the login may not
 * read) rethrows this one: under a bounded wait it means "held by another session", not "not readable".
 */
export function isLockTimeout(error: unknown): boolean {
  const code = (e: unknown) => (e as { code?: string } | undefined)?.code;
  return (
    code(error) === LOCK_NOT_AVAILABLE || code((error as { cause?: unknown })?.cause) === LOCK_NOT_AVAILABLE
  );
}

/** SQLSTATE deadlock_detected: the server chose this transaction as a deadlock's victim. */
export const DEADLOCK_DETECTED = "40P01";

export interface LockSafetySettings {
  /** `lock_timeout` of each migration: how long one statement waits for a table lock. 0 = no limit. */
  lockTimeoutMs: number;
  /** `statement_timeout` of each migration. 0 = off (the default: a long backfill is not a failure). */
  statementTimeoutMs: number;
  /** How many times a migration that timed out on a lock is retried whole (0 = never). */
  lockRetries: number;
  /** First pause before a retry; it doubles each time, with jitter, up to `retryMaxDelayMs`. */
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** How often a waiting migration says on stderr what it waits for. */
  progressIntervalMs: number;
}

/**
 * Where the operator sets the migrations' statement_timeout, as a message names it where it cannot print the
 * command to run (a library caller): both ways.
 */
export const STATEMENT_TIMEOUT_SETTINGS =
  "--statement-timeout or the stack's neonhub-db:migrationStatementTimeoutSeconds";

/** The placeholder a printed command gives the statement timeout to raise in (RAISED_STATEMENT_TIMEOUT). */
export const STATEMENT_TIMEOUT_PLACEHOLDER = "<seconds>";

/**
 * The statement timeout a statement-timeout fix's rerun gives, as the flag and its value: a placeholder, not
 * the value that stopped the statement (copied as it ran, the rerun would stop at the same point) nor a guess
 * (nothing tells how long the statement needs). The CLI prints it in place of the run's own
 * --statement-timeout; a stack's printer as the `pulumi config set` of its key before the up.
 */
export const RAISED_STATEMENT_TIMEOUT: readonly string[] = [
  "--statement-timeout",
  STATEMENT_TIMEOUT_PLACEHOLDER,
];

export const DEFAULT_LOCK_SAFETY: LockSafetySettings = {
  lockTimeoutMs: 5_000,
  statementTimeoutMs: 0,
  lockRetries: 5,
  retryBaseDelayMs: 1_000,
  retryMaxDelayMs: 30_000,
  progressIntervalMs: 2_000,
};

/**
 * The largest value of each setting, whichever way it is given (CLI flag, stack setting, release engine
 * option): a table-lock wait beyond an hour is a stuck deploy, a migration may run for a day.
 */
export const LOCK_SAFETY_MAX: Readonly<Record<keyof LockSafetySettings, number>> = {
  lockTimeoutMs: 3_600_000,
  statementTimeoutMs: 86_400_000,
  lockRetries: 100,
  retryBaseDelayMs: 86_400_000,
  retryMaxDelayMs: 86_400_000,
  progressIntervalMs: 86_400_000,
};

/** The settings with every unset field at its default, each checked. `source` names where a value came from. */
export function resolveLockSafety(
  given: Partial<LockSafetySettings> | undefined,
  source: (field: keyof LockSafetySettings) => string = (field) => field,
): LockSafetySettings {
  const settings = { ...DEFAULT_LOCK_SAFETY };
  for (const field of Object.keys(DEFAULT_LOCK_SAFETY) as (keyof LockSafetySettings)[]) {
    const value = given?.[field];
    if (value === undefined) continue;
    const limit = LOCK_SAFETY_MAX[field];
    if (!Number.isInteger(value) || value < 0 || value > limit) {
      throw new ReleaseError(
        "invalid-input",
        `${source(field)} must be a whole number from 0 to ${limit}, got ${String(value)}.`,
        `Leave it unset for the default (${DEFAULT_LOCK_SAFETY[field]}).`,
      );
    }
    settings[field] = value;
  }
  return settings;
}

/**
 * Whether the statement timeout ends a migration's lock waits before the lock timeout does. A statement waiting
 * for a lock is cancelled by whichever timeout fires first: at or below the lock timeout, the statement timeout
 * ends the wait, and a statement timeout is not retried, so the lock retries never run. Either at 0 (off)
 * leaves the other alone. The one rule for the CLI's flags (cli/args.ts) and the stack's settings
 * (infra/release-safety-config.ts), each of which names its own keys.
 */
export function statementTimeoutEndsLockWaits(
  settings: Pick<LockSafetySettings, "lockTimeoutMs" | "statementTimeoutMs">,
): boolean {
  const { lockTimeoutMs, statementTimeoutMs } = settings;
  return statementTimeoutMs > 0 && lockTimeoutMs > 0 && statementTimeoutMs <= lockTimeoutMs;
}

/** Why statementTimeoutEndsLockWaits refuses, said after the two settings' names in either message. */
export const STATEMENT_TIMEOUT_ENDS_LOCK_WAITS =
  "a migration waiting for a table lock would be cancelled by the statement timeout, which is not retried, so the lock retries would never run";

/**
 * The statement timeout a refusal suggests for `lockTimeoutMs`: 10 minutes (a long backfill), or ten lock
 * timeouts when that is longer; at most LOCK_SAFETY_MAX's.
 */
export function suggestedStatementTimeoutMs(lockTimeoutMs: number): number {
  return Math.min(LOCK_SAFETY_MAX.statementTimeoutMs, Math.max(600_000, 10 * lockTimeoutMs));
}

/** The pause before retry `attempt` (1-based): exponential, capped, with "equal jitter" (half fixed, half random). */
export function retryDelayMs(settings: LockSafetySettings, attempt: number, random = Math.random): number {
  const ceiling = Math.min(settings.retryMaxDelayMs, settings.retryBaseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** PostgreSQL's interval text for a number of milliseconds; 0 disables the timeout. */
export function intervalText(ms: number): string {
  return `${ms}ms`;
}
