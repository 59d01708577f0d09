// A failure as the providers hand it on: one text for people (the engine's message and fix, no password),
// and, rethrown, the error it describes, so that shown-text.ts still tells a user's mistake from a bug.
import { ReleaseError, redactSecrets } from "../../core";

/** A failure as one text for people: the engine's message and fix, with no password in it. */
export function describeFailure(error: unknown): string {
  const text =
    error instanceof ReleaseError ? error.describe() : error instanceof Error ? error.message : String(error);
  return redactSecrets(text);
}

/**
 * A failure rethrown as one text for people (describeFailure's, or `message` when the caller adds to it), the
 * error it describes kept as its cause: whether it was a user's mistake (a ReleaseError) or a bug, and a bug's
 * own stack trace, are still known where the error is handed to Pulumi (shown-text.ts, shownError).
 */
export class DescribedFailure extends Error {
  constructor(failure: unknown, message = describeFailure(failure)) {
    super(message, { cause: failure });
  }
}
