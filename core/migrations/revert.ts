// The down direction: runs the Down sections of the newest applied migrations, newest first, each in its own
// transaction, with node-pg-migrate's runner over a client that already holds the release lock, under the same
// lock safety as apply's Up sections (lock-safe-runner.ts): a Down section's DROP TABLE behind an app's open
// transaction gives up after the lock timeout, is rolled back and retried, instead of queueing every app query
// on the table behind it. node-pg-migrate deletes each ledger row inside the migration's transaction, so a
// reverted migration never stays recorded, and one rolled back keeps its row.
import type { ClientBase } from "pg";
import type { MigrationFile } from "./files";
import { runWithLockSafety, type LockSafeRunOptions, type RanMigration } from "./lock-safe-runner";

export type RevertedMigration = RanMigration;

/** Reverts `newestFirst` (the last applied migrations, newest first). */
export async function runRevert(
  client: ClientBase,
  options: LockSafeRunOptions & { newestFirst: readonly MigrationFile[] },
): Promise<RevertedMigration[]> {
  const { newestFirst, ...rest } = options;
  return runWithLockSafety(client, "down", newestFirst, rest);
}
