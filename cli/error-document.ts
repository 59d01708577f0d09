// The --json document of a command that failed, for the engine's refusals, an interruption and a bug alike, so
// that CI reads `error.code` from one list: the codes below, each documented with its exit code and what an
// operator does in the README's "Exit codes and error codes" (test/docs/error-codes.test.ts keeps them equal).
import { RELEASE_ERROR_CODES, type FailedMigration, type PlanProblem, type ReleaseError } from "../core";

/** Every code `error.code` takes: a ReleaseError's, and `internal` for anything else reaching the CLI (a bug). */
export const CLI_ERROR_CODES = [...RELEASE_ERROR_CODES, "internal"] as const;

export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

export interface ErrorDocument {
  error: {
    code: CliErrorCode;
    message: string;
    /** What the operator should do about it; null when the error says nothing more. */
    fix: string | null;
    /** Only when a migration failed: which one, as fields CI can read. */
    failedMigration?: FailedMigration;
    /** Only when apply or revert refused before running anything: each reason, as plan lists it. */
    problems?: readonly PlanProblem[];
  };
  /** The warnings the command wrote on stderr before it stopped, as every --json document holds them. */
  warnings: readonly string[];
}

export function releaseErrorDocument(error: ReleaseError, warnings: readonly string[]): ErrorDocument {
  return {
    error: {
      code: error.code,
      message: error.message,
      fix: error.fix ?? null,
      ...(error.failedMigration ? { failedMigration: error.failedMigration } : {}),
      ...(error.problems ? { problems: error.problems } : {}),
    },
    warnings,
  };
}

/** An error no ReleaseError describes: a bug; stderr gets its stack. */
export function internalErrorDocument(error: unknown, warnings: readonly string[]): ErrorDocument {
  return {
    error: {
      code: "internal",
      message: String(error),
      fix: "This is a bug in neonhub-db: report it with the command you ran and its stderr (the stack trace).",
    },
    warnings,
  };
}
