// What the migrations' `check` read of the ledger, carried to `diff` in the inputs. The state holds the ledger
// and the engine's reading of rows deleted by hand (`migrations`, `lostLedgerRows`) as the last up or refresh
// found them: once an operator puts a lost row back, they would keep the preview refusing until a refresh. So
// when check reached the database, its reading decides what the state recorded as lost (as
// pending-index-work.ts does for the vector indexes); when it could not, the recorded reading stands.
import type { LedgerProblem, ReleasePlan } from "../../core";
import type { Manifest } from "./types";

/** The input property that carries check's reading. */
export const LEDGER_READING = "ledgerReading";

export interface LedgerReading {
  /** The engine's `missing-from-ledger` problems now (rows still deleted by hand), whole. */
  lostRows: LedgerProblem[];
  /**
   * The migrations apply would run now. A row the state recorded as lost that is in neither list is back in
   * the ledger; one made pending (its snapshot deleted as well, say) would run again, so it is not.
   */
  pending: string[];
}

/** The reading of the core's plan (core/release.ts), as check asked it. */
export function ledgerReadingOf(plan: ReleasePlan): LedgerReading {
  return {
    lostRows: plan.migrations.problems.filter((problem) => problem.kind === "missing-from-ledger"),
    pending: plan.migrations.pending.map((migration) => migration.name),
  };
}

const isText = (value: unknown): value is string => typeof value === "string";

/** The reading as the inputs hold it, or why it is not one (something other than check put it there). */
export function parseLedgerReading(value: unknown): LedgerReading | string {
  const shape =
    "must be the ledger as check read it (lostRows: the engine's problems, pending: names), set by check: remove it";
  if (typeof value !== "object" || value === null) return shape;
  const { lostRows, pending } = value as Partial<LedgerReading>;
  const problem = (row: unknown) =>
    typeof row === "object" &&
    row !== null &&
    (row as LedgerProblem).kind === "missing-from-ledger" &&
    isText((row as LedgerProblem).migration) &&
    isText((row as LedgerProblem).message) &&
    isText((row as LedgerProblem).fix);
  if (!Array.isArray(lostRows) || !lostRows.every(problem)) return shape;
  if (!Array.isArray(pending) || !pending.every(isText)) return shape;
  return { lostRows, pending };
}

/** What the last up or refresh recorded of the ledger: the applied migrations, and the rows lost by hand. */
export interface RecordedLedger {
  applied: Manifest;
  lostRows: readonly LedgerProblem[];
}

/** The ledger the diff compares the files with, and whether its lost rows are the recorded reading. */
export interface LedgerToCompare extends RecordedLedger {
  recordedReading: boolean;
}

/**
 * The recorded ledger, corrected by check's reading when there is one: a row the state recorded as lost that
 * check found neither lost nor pending was put back, and is applied with the file's checksum (check compared
 * it with the ledger's). Everything else stays as recorded: a migration applied outside Pulumi still shows as
 * one to apply, so that `up` records it.
 */
export function ledgerToCompare(
  recorded: RecordedLedger,
  reading: LedgerReading | undefined,
  files: Manifest,
): LedgerToCompare {
  if (!reading) return { ...recorded, recordedReading: true };
  const stillLost = new Set(reading.lostRows.map((problem) => problem.migration));
  const pending = new Set(reading.pending);
  const putBack = recorded.lostRows
    .map((problem) => problem.migration)
    .filter((name) => !stillLost.has(name) && !pending.has(name) && files[name] !== undefined);
  return {
    applied: { ...recorded.applied, ...Object.fromEntries(putBack.map((name) => [name, files[name]!])) },
    lostRows: reading.lostRows,
    recordedReading: false,
  };
}
