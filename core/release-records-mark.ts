// Whether a release ended between verify's first reads and its last. verify reads the ledger and the recorded
// snapshot, then the live catalog, then (when something differs) whether a release holds the lock. A release
// that started after the first reads and ended before that look held no lock to be seen, yet its schema is in
// the live catalog and not in the snapshot verify read: every object it made would read as drift, with a
// repair that undoes it. Every release that changes the schema leaves a trace in what it records when it ends
// or stops: a ledger row added or deleted (ids only grow, so a revert and an apply of the same migration
// differ too) or a new snapshot. verify compares that trace as it read it with the same read after its look
// at the live catalog; when they differ, a release ran meanwhile and verify reads again.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA, MIGRATIONS_TABLE } from "./bookkeeping";
import { RELEASE_IN_PROGRESS_SQL, type ReleaseInProgress } from "./lock";

/** The ledger's size and last id, and the snapshot's time: what a release that changed anything moves. */
export interface ReleaseRecordsMark {
  ledgerRows: number;
  lastLedgerId: number | null;
  snapshotTakenAt: string | null;
}

/** The mark of a ledger and a snapshot as verify read them. */
export function releaseRecordsMark(
  ledger: readonly { id: number }[],
  snapshotTakenAt: string | null,
): ReleaseRecordsMark {
  return {
    ledgerRows: ledger.length,
    lastLedgerId: ledger.length === 0 ? null : Math.max(...ledger.map((e) => e.id)),
    snapshotTakenAt,
  };
}

export function sameReleaseRecords(a: ReleaseRecordsMark, b: ReleaseRecordsMark): boolean {
  return (
    a.ledgerRows === b.ledgerRows &&
    a.lastLedgerId === b.lastLedgerId &&
    a.snapshotTakenAt === b.snapshotTakenAt
  );
}

/**
 * In one statement, after the live catalog was read: the release holding the lock now (other than this
 * session), and the mark of the ledger and the snapshot now. Only where both tables exist (verify has read a
 * snapshot).
 */
export async function readReleaseRecordsNow(
  client: ClientBase,
): Promise<{ release?: ReleaseInProgress; mark: ReleaseRecordsMark }> {
  const { rows } = await client.query<{
    release: ReleaseInProgress | null;
    ledger_rows: number;
    last_id: number | null;
    taken_at: Date | null;
  }>(
    `SELECT ${RELEASE_IN_PROGRESS_SQL} AS release,
            (SELECT count(*)::int FROM ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}) AS ledger_rows,
            (SELECT max(id) FROM ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}) AS last_id,
            (SELECT taken_at FROM ${BOOKKEEPING_SCHEMA}.schema_snapshot WHERE id = 1) AS taken_at`,
  );
  const row = rows[0]!;
  return {
    ...(row.release ? { release: row.release } : {}),
    mark: {
      ledgerRows: row.ledger_rows,
      lastLedgerId: row.last_id === null ? null : Number(row.last_id),
      snapshotTakenAt: row.taken_at?.toISOString() ?? null,
    },
  };
}
