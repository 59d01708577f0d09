// The one place a checksum is shortened: for people (CLI text, error messages, the providers' diff lines). Data
// (plans, results, status, the ledger, the providers' state) holds full sha256 hex, and comparisons use it whole.
import type { LedgerProblem } from "./migrations/ledger";

/** How many characters of a sha256 people are shown: for display only, never for a comparison. */
export const DISPLAY_CHECKSUM_LENGTH = 12;

/** A full checksum shortened for people. */
export function displayChecksum(checksum: string | undefined): string {
  return checksum === undefined ? "(none)" : checksum.slice(0, DISPLAY_CHECKSUM_LENGTH);
}

/** A ledger problem's message for people: a changed migration also names both checksums, shortened. */
export function ledgerProblemText(problem: LedgerProblem): string {
  const sums = problem.checksums;
  if (!sums) return problem.message;
  return `${problem.message} Checksum applied ${displayChecksum(sums.applied)}, file now ${displayChecksum(sums.file)}.`;
}
