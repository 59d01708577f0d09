// A second `baseline` or `adopt` of a database they already took over (a CI job run again): the ledger already
// holds what the command would record, so there is nothing to do and it says so, with exit 0, changing
// nothing. Any other ledger is a database in a different state, refused by the command with the reason given
// here.
import { commandToRun, type CommandPrinter } from "../command-to-run";
import { ledgerProblemText } from "../display";
import { ReleaseError } from "../errors";
import type { MigrationFile } from "../migrations/files";
import { compareWithLedger, type LedgerIdentity } from "../migrations/ledger";

export type RerunVerdict =
  /** The ledger starts with exactly the migrations the command records; `pending`: files apply would run. */
  | { done: true; pending: string[] }
  /** Why this ledger is not the one the command would leave. */
  | { done: false; reason: string };

/**
 * Whether `ledger` already records `recorded` (the migrations baseline or adopt would record), first, in
 * order, with the files' checksums. Migrations that follow them in the ledger are the folder's next ones,
 * applied since by `apply` (checked against the folder like any release): the command's work still stands.
 */
export function judgeRerun(
  command: "baseline" | "adopt",
  ledger: readonly LedgerIdentity[],
  recorded: readonly MigrationFile[],
  folder: readonly MigrationFile[],
  /** The migrations folder as the user named it, for the fixes that name a file in it. */
  folderName: string,
): RerunVerdict {
  const comparison = compareWithLedger(folder, ledger, folderName);
  if (comparison.problems.length > 0) {
    return { done: false, reason: comparison.problems.map((p) => ledgerProblemText(p)).join(" ") };
  }
  const differs = recorded.findIndex((file, i) => ledger[i]?.name !== file.name);
  if (differs >= 0) {
    const last = ledger.at(-1)!.name;
    return {
      done: false,
      reason: `it records them up to ${last}, where ${command} records ${recorded.length}, up to ${recorded.at(-1)!.name}.`,
    };
  }
  return { done: true, pending: comparison.pending.map((f) => f.name) };
}

/** The refusal of a database whose ledger is not what the command leaves (nothing is written). */
export function rerunRefusal(
  command: "baseline" | "adopt",
  ledger: readonly LedgerIdentity[],
  reason: string,
  fix?: string,
  print?: CommandPrinter,
): ReleaseError {
  fix ??= `Use ${commandToRun(print, ["apply"])} to continue its release, or ${commandToRun(print, ["verify"])} to check it.`;
  return new ReleaseError(
    "invalid-input",
    `This database already records ${ledger.length} applied migration(s) in the neonhub-db ledger, and not as ${command} leaves it: ${reason}`,
    `${fix} Nothing was written.`,
  );
}
