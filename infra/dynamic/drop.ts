// What deleting the schema migrations resource does when the stack opted in (dropOnDelete): every applied
// migration's Down section, newest first, then the release's own schema. Seeded rows and vector indexes go
// with their tables. The core's revert does it: under the release lock (the ledger is read once the lock is
// held), as the owner role, each migration in its own transaction under the stack's migration lock timeout and
// retries, failures named by file, line and caret, lock timeouts by the blocking session and the stack's keys.
import {
  ReleaseError,
  STACK_CONFIG_NAMESPACE,
  isReleaseError,
  withReleaseSession,
  type Logger,
  type ReleaseOptions,
} from "../../core";
import { pulumiCommand, withStackNote, type StackNamed } from "./stack-name";

/**
 * The part's engine options (release.ts partContext, from the recorded settings): the stack's owner role,
 * lock timeouts and retries, and the names a lock timeout's error gives them, as create and update have.
 */
export type DropOptions = ReleaseOptions & { log: Logger };

/**
 * How to keep the schema instead of dropping it, on `stack`: its dropSchemaOnDelete set to false, then an up
 * that records it, both naming the stack (with another selected, they would set and update that one).
 */
export function keepSchemaInstead(stack: StackNamed): string {
  const set = `\`pulumi config set --stack ${stack.word} ${STACK_CONFIG_NAMESPACE}:dropSchemaOnDelete false\``;
  return withStackNote(
    `set dropSchemaOnDelete to false with ${set} and run ${pulumiCommand("up", stack)}`,
    stack,
  );
}

/**
 * Reverts every applied migration and drops the bookkeeping schema, on `stack` (its fixes name it). Returns the
 * reverted migrations.
 */
export async function dropRelease(options: DropOptions, stack: StackNamed): Promise<string[]> {
  const result = await withReleaseSession(options, "drop", (session) =>
    session.revert({ to: null, dropBookkeeping: true }),
  ).catch((error: unknown) => {
    if (!isReleaseError(error) || error.code !== "migration-failed") throw error;
    throw new ReleaseError(
      error.code,
      `Dropping the schema failed: ${error.message}`,
      `${error.fix ?? ""} Then run ${withStackNote(pulumiCommand("destroy", stack), stack)} again, or ${keepSchemaInstead(stack)} to keep the schema.`.trim(),
      { cause: error },
    );
  });
  if (result.droppedBookkeeping) {
    options.log.info(
      `dropped: ${result.reverted.length} migration(s) reverted and the release's schema removed`,
    );
  }
  return result.reverted.map((m) => m.name);
}
