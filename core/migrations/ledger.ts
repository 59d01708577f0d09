// Reading the migration ledger and checking it against the files, before anything runs.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA, MIGRATIONS_TABLE, bookkeepingExists } from "../bookkeeping";
import type { MigrationFile } from "./files";

export interface LedgerEntry {
  name: string;
  checksum: string;
  appliedAt: string;
  durationMs: number;
  appliedBy: string;
}

export interface LedgerProblem {
  /** `foreign-database` and `existing-objects` come from the pre-flight (core/adopt/preflight.ts). */
  kind:
    | "changed"
    | "missing-file"
    | "out-of-order"
    | "foreign-database"
    | "existing-objects"
    | "legacy-schema"
    | "legacy-rows";
  migration: string;
  message: string;
  fix: string;
  /** changed: the full sha256 the ledger recorded and the file's now (core/display.ts shortens them for people). */
  checksums?: { applied: string; file: string };
  /** legacy-rows: how many rows, which (a sample), and the offending values. */
  details?: { column: string; count: number; sampleIds: string[]; values?: string[] };
}

export interface MigrationComparison<F extends MigrationIdentity = MigrationFile> {
  applied: LedgerIdentity[];
  pending: F[];
  problems: LedgerProblem[];
}

/** What the comparison needs of a migration file: its name and checksum (a manifest entry will do). */
export interface MigrationIdentity {
  name: string;
  checksum: string;
}

/** What it needs of a ledger row, in applied order; `appliedAt` when known, for the messages. */
export type LedgerIdentity = MigrationIdentity & { appliedAt?: string };

/** The applied migrations in order; empty when the ledger does not exist yet. Read-only. */
export async function readLedger(client: ClientBase): Promise<LedgerEntry[]> {
  if (!(await bookkeepingExists(client))) return [];
  const result = await client.query<{
    name: string;
    checksum: string;
    applied_at: Date;
    duration_ms: number;
    applied_by: string;
  }>(
    `SELECT name, checksum, applied_at, duration_ms, applied_by
       FROM ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE} ORDER BY run_on, id`,
  );
  return result.rows.map((row) => ({
    name: row.name,
    checksum: row.checksum,
    appliedAt: row.applied_at.toISOString(),
    durationMs: row.duration_ms,
    appliedBy: row.applied_by,
  }));
}

/** Flyway-style validation: what is pending, and what makes the release unsafe to run. */
export function compareWithLedger<F extends MigrationIdentity = MigrationFile>(
  files: readonly F[],
  ledger: readonly LedgerIdentity[],
): MigrationComparison<F> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const appliedNames = new Set(ledger.map((e) => e.name));
  const problems: LedgerProblem[] = [];
  for (const entry of ledger) {
    const file = byName.get(entry.name);
    if (!file) {
      problems.push({
        kind: "missing-file",
        migration: entry.name,
        message: `Migration ${entry.name}.sql was applied${entry.appliedAt ? ` (${entry.appliedAt})` : ""} but its file is gone.`,
        fix: `Restore migrations/${entry.name}.sql from version control: applied migrations are never deleted; undo a change with a new migration.`,
      });
    } else if (file.checksum !== entry.checksum) {
      problems.push({
        kind: "changed",
        migration: entry.name,
        message: `Migration ${entry.name}.sql was changed after it was applied.`,
        checksums: { applied: entry.checksum, file: file.checksum },
        fix: `Restore migrations/${entry.name}.sql to the applied version and put the change in a new migration.`,
      });
    }
  }
  const lastApplied = ledger.at(-1)?.name;
  const pending = files.filter((f) => !appliedNames.has(f.name));
  for (const file of pending) {
    if (lastApplied !== undefined && file.name < lastApplied) {
      problems.push({
        kind: "out-of-order",
        migration: file.name,
        message: `Migration ${file.name}.sql is new but ordered before the applied migration ${lastApplied}.sql.`,
        fix: `Rename it with a timestamp later than ${lastApplied.slice(0, 14)} so that it runs after what is already applied.`,
      });
    }
  }
  return { applied: [...ledger], pending, problems };
}
