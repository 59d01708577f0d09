// The one place a checksum is shortened: for people (CLI text, error messages, the providers' diff lines). Data
// (plans, results, status, the ledger, the providers' state) holds full sha256 hex, and comparisons use it whole.
import type { LedgerProblem } from "./migrations/ledger";

/** How many characters of a sha256 people are shown: for display only, never for a comparison. */
export const DISPLAY_CHECKSUM_LENGTH = 12;

/** A full checksum shortened for people. */
export function displayChecksum(checksum: string | undefined): string {
  return checksum === undefined ? "(none)" : checksum.slice(0, DISPLAY_CHECKSUM_LENGTH);
}

/**
 * Two checksums shortened for people side by side ("applied X, file now Y"): 12 characters each, or as many as
 * it takes for the two to read differently when they differ (they share their first 12 by chance).
 */
export function displayChecksumPair(before: string | undefined, after: string | undefined): [string, string] {
  if (before === undefined || after === undefined) return [displayChecksum(before), displayChecksum(after)];
  let differ = 0;
  while (differ < before.length && before[differ] === after[differ]) differ++;
  const length = before === after ? DISPLAY_CHECKSUM_LENGTH : Math.max(DISPLAY_CHECKSUM_LENGTH, differ + 1);
  return [before.slice(0, length), after.slice(0, length)];
}

/** A ledger problem's message for people: a changed migration also names both checksums, shortened. */
export function ledgerProblemText(problem: LedgerProblem): string {
  const sums = problem.checksums;
  if (!sums) return problem.message;
  const [applied, file] = displayChecksumPair(sums.applied, sums.file);
  return `${problem.message} Checksum applied ${applied}, file now ${file}.`;
}
