// Every failure the release engine reports on purpose is a ReleaseError: a message that names the input and
// the problem, and a `fix` that says what to do. Anything else reaching the CLI is a bug.
import type { PlanProblem } from "./plan-problems";
import type { FailedMigration } from "./results";

export type ReleaseErrorCode =
  | "invalid-input"
  | "connection"
  | "authentication"
  | "missing-database"
  | "missing-pgvector"
  | "lock-timeout"
  | "migration-files"
  | "ledger-mismatch"
  | "unsafe-migration"
  | "migration-failed"
  | "seed-failed"
  | "index-failed"
  | "schema-drift"
  | "permission"
  // Not thrown: the CLI's --json error when SIGINT or SIGTERM stopped apply or revert (core/interrupted-commands.ts).
  | "interrupted";

export class ReleaseError extends Error {
  override readonly name = "ReleaseError";
  /** Set when a migration failed: which one and where, as fields (the message says the same in words). */
  readonly failedMigration?: FailedMigration;
  /**
   * Set when apply or revert refused before running anything: each problem it refused on, as plan's top-level
   * `problems` lists it (core/plan-problems.ts), so that CI reads why it stopped as it reads a plan.
   */
  readonly problems?: readonly PlanProblem[];
  constructor(
    readonly code: ReleaseErrorCode,
    message: string,
    /** What the operator should do about it. */
    readonly fix?: string,
    options?: { cause?: unknown; failedMigration?: FailedMigration; problems?: readonly PlanProblem[] },
  ) {
    super(message, options);
    this.failedMigration = options?.failedMigration;
    this.problems = options?.problems;
  }

  /** The same error, carrying the problems it refuses on (for a refusal written where they are not known). */
  withProblems(problems: readonly PlanProblem[]): ReleaseError {
    return new ReleaseError(this.code, this.message, this.fix, {
      cause: this.cause,
      failedMigration: this.failedMigration,
      problems,
    });
  }

  /** The message and the fix, as one text for people. */
  describe(): string {
    return this.fix ? `${this.message}\n  fix: ${this.fix}` : this.message;
  }
}

export function isReleaseError(error: unknown): error is ReleaseError {
  return error instanceof ReleaseError;
}

/**
 * The fix for a command run with a login that may not do what it needs (health, load-chunks): where the
 * migrator's connection string comes from, on a stack and locally.
 */
export function asMigratorFix(command: string): string {
  return (
    `Run ${command} as the migrator: --database-url "$DIRECT_URL" ` +
    "(`pulumi stack output --show-secrets directUrl` on a stack, `npm run -s local -- env` locally)."
  );
}
