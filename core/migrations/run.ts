// Applies pending migrations with node-pg-migrate's programmatic runner, each in its own transaction, on a
// client that already holds the release lock, under the release's lock safety (lock-safe-runner.ts). Failures
// come back naming the file, line and statement (failure.ts).
import type { ClientBase } from "pg";
import { checksumSettings } from "../bookkeeping";
import type { MigrationFile } from "./files";
import { runWithLockSafety, type LockSafeRunOptions, type RanMigration } from "./lock-safe-runner";

export type AppliedMigration = RanMigration;

export interface MigrationRunOptions extends LockSafeRunOptions {
  pending: readonly MigrationFile[];
}

export async function runPendingMigrations(
  client: ClientBase,
  options: MigrationRunOptions,
): Promise<AppliedMigration[]> {
  const { pending, ...rest } = options;
  // The ledger trigger fills each row's checksums from these session settings (core/bookkeeping.ts).
  return runWithLockSafety(client, "up", pending, {
    ...rest,
    sessionSettings: checksumSettings(pending, false),
  });
}
