// The stack settings of migration safety, in one small module: which kind of stack this is (on
// `production`, a blocking migration on a table with data fails the preview) and how migrations wait for
// table locks. config.ts folds them into the release's configuration.
import {
  LOCK_SAFETY_MAX,
  RELEASE_ENVIRONMENTS,
  type LockSafetySettings,
  type ReleaseEnvironment,
} from "../core";
import * as v from "./validators";

export const RELEASE_SAFETY_DEFAULTS = {
  environment: "development" as ReleaseEnvironment,
  migrationLockTimeoutSeconds: 5,
  migrationStatementTimeoutSeconds: 0,
  migrationLockRetries: 5,
};

export interface ReleaseSafetyConfig {
  environment: ReleaseEnvironment;
  lockSafety: Pick<LockSafetySettings, "lockTimeoutMs" | "statementTimeoutMs" | "lockRetries">;
}

type Take = <T>(parse: () => T, fallback: T) => T;
/** How a message about another key shows that key's value (never a secret's). */
type Shown = (key: string, value: unknown) => string;

export function parseReleaseSafety(
  get: (key: string) => string | undefined,
  take: Take,
  shown: Shown,
): ReleaseSafetyConfig {
  const d = RELEASE_SAFETY_DEFAULTS;
  const integer = (key: keyof typeof d, max: number, example: number) =>
    take(() => v.parseIntegerOr(key, get(key), { min: 0, max, example }, d[key] as number), d[key] as number);
  const lockTimeoutSeconds = integer("migrationLockTimeoutSeconds", LOCK_SAFETY_MAX.lockTimeoutMs / 1000, 5);
  const statementTimeoutSeconds = take(
    () =>
      statementTimeout(
        integer("migrationStatementTimeoutSeconds", LOCK_SAFETY_MAX.statementTimeoutMs / 1000, 600),
        lockTimeoutSeconds,
        shown,
      ),
    d.migrationStatementTimeoutSeconds,
  );
  return {
    environment: take(
      () => v.parseChoice("environment", get("environment"), RELEASE_ENVIRONMENTS, d.environment),
      d.environment,
    ),
    lockSafety: {
      lockTimeoutMs: 1000 * lockTimeoutSeconds,
      statementTimeoutMs: 1000 * statementTimeoutSeconds,
      lockRetries: integer("migrationLockRetries", LOCK_SAFETY_MAX.lockRetries, 5),
    },
  };
}

/**
 * A statement waiting for a lock is cancelled by whichever timeout fires first: a statement timeout at or below
 * the lock timeout ends the wait as a statement timeout, which is not retried, so the lock retries never run.
 * Either at 0 (off) leaves the other alone.
 */
function statementTimeout(statementSeconds: number, lockSeconds: number, shown: Shown): number {
  if (statementSeconds > 0 && lockSeconds > 0 && statementSeconds <= lockSeconds) {
    const lock = shown("migrationLockTimeoutSeconds", lockSeconds);
    // An example ten times the lock timeout would tell a secret one.
    const example = lock === v.SECRET_VALUE ? 600 : Math.max(600, lockSeconds * 10);
    throw v.refusal(
      "migrationStatementTimeoutSeconds",
      statementSeconds,
      (got) =>
        `must be longer than migrationLockTimeoutSeconds (${lock}), or a migration waiting for a table lock is cancelled by the statement timeout and never retried (got ${got})`,
      `pulumi config set ${v.fullKey("migrationStatementTimeoutSeconds")} ${example}`,
    );
  }
  return statementSeconds;
}
