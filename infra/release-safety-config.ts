// The stack settings of migration safety, in one small module: which kind of stack this is (on
// `production`, a blocking migration on a table with data fails the preview) and how migrations wait for
// table locks. config.ts folds them into the release's configuration.
import {
  DEFAULT_LOCK_SAFETY,
  LOCK_SAFETY_MAX,
  RELEASE_ENVIRONMENTS,
  STATEMENT_TIMEOUT_ENDS_LOCK_WAITS,
  statementTimeoutEndsLockWaits,
  suggestedStatementTimeoutMs,
  type LockSafetySettings,
  type ReleaseEnvironment,
} from "../core";
import { configSetCommand } from "./dynamic/config-command";
import * as v from "./validators";

// The migrations' lock defaults are core's (DEFAULT_LOCK_SAFETY), which the CLI and the release engine use: a
// stack left unset waits and retries as a CLI run does. The stack gives the timeouts in seconds.
export const RELEASE_SAFETY_DEFAULTS = {
  environment: "development" as ReleaseEnvironment,
  migrationLockTimeoutSeconds: DEFAULT_LOCK_SAFETY.lockTimeoutMs / 1000,
  migrationStatementTimeoutSeconds: DEFAULT_LOCK_SAFETY.statementTimeoutMs / 1000,
  migrationLockRetries: DEFAULT_LOCK_SAFETY.lockRetries,
};

export interface ReleaseSafetyConfig {
  environment: ReleaseEnvironment;
  lockSafety: Pick<LockSafetySettings, "lockTimeoutMs" | "statementTimeoutMs" | "lockRetries">;
}

type Take = <T>(parse: () => T, fallback: T) => T;
/** How a message about another key shows that key's value (never a secret's). */
type Shown = (key: string, value: unknown) => string;

export function parseReleaseSafety(
  stack: string,
  get: (key: string) => string | undefined,
  take: Take,
  shown: Shown,
): ReleaseSafetyConfig {
  const d = RELEASE_SAFETY_DEFAULTS;
  const integer = (key: keyof typeof d, max: number, example: number) =>
    take(
      () => v.parseIntegerOr(stack, key, get(key), { min: 0, max, example }, d[key] as number),
      d[key] as number,
    );
  const lockTimeoutSeconds = integer("migrationLockTimeoutSeconds", LOCK_SAFETY_MAX.lockTimeoutMs / 1000, 5);
  const statementTimeoutSeconds = take(
    () =>
      statementTimeout(
        integer("migrationStatementTimeoutSeconds", LOCK_SAFETY_MAX.statementTimeoutMs / 1000, 600),
        lockTimeoutSeconds,
        shown,
        stack,
      ),
    d.migrationStatementTimeoutSeconds,
  );
  return {
    environment: take(
      () => v.parseChoice(stack, "environment", get("environment"), RELEASE_ENVIRONMENTS, d.environment),
      d.environment,
    ),
    lockSafety: {
      lockTimeoutMs: 1000 * lockTimeoutSeconds,
      statementTimeoutMs: 1000 * statementTimeoutSeconds,
      lockRetries: integer("migrationLockRetries", LOCK_SAFETY_MAX.lockRetries, 5),
    },
  };
}

/** The statement timeout, refused where it would end the lock waits (core's statementTimeoutEndsLockWaits). */
function statementTimeout(
  statementSeconds: number,
  lockSeconds: number,
  shown: Shown,
  stack: string,
): number {
  if (
    statementTimeoutEndsLockWaits({
      lockTimeoutMs: 1000 * lockSeconds,
      statementTimeoutMs: 1000 * statementSeconds,
    })
  ) {
    const lock = shown("migrationLockTimeoutSeconds", lockSeconds);
    // An example derived from the lock timeout would tell a secret one.
    const example = lock === v.SECRET_VALUE ? 600 : suggestedStatementTimeoutMs(1000 * lockSeconds) / 1000;
    throw v.refusal(
      "migrationStatementTimeoutSeconds",
      statementSeconds,
      (got) =>
        `must be longer than migrationLockTimeoutSeconds (${lock}), or ${STATEMENT_TIMEOUT_ENDS_LOCK_WAITS} (got ${got})`,
      configSetCommand(stack, "migrationStatementTimeoutSeconds", String(example)),
    );
  }
  return statementSeconds;
}
