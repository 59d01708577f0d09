// The revert's preview as the fixes of a refused, stopped or disconnected revert --confirm say to run it: the
// operator's own command when the CLI gave it (ReleaseOptions.revertPreview), runnable as printed, so that the
// preview reads the database and folder the confirm worked on; else in words.

/**
 * The preview to run: `preview` when given, else `neonhub-db revert --to <to>` (without --confirm), or words
 * when `to` is not known here (undefined) or is every migration (null, the stack's dropSchemaOnDelete).
 */
export function revertPreviewText(preview: string | undefined, to?: string | null): string {
  if (preview !== undefined) return preview;
  if (to === undefined) return "the preview (without --confirm)";
  return to === null ? "the preview of the revert" : `\`neonhub-db revert --to ${to}\` (without --confirm)`;
}

/**
 * After a revert --confirm stopped part way (a signal, a lost connection): one given --expect-last refuses
 * when run again, as the ledger no longer ends at the migration it names; its rerun is the preview's new command.
 */
export function expectLastRerun(preview: string | undefined): string {
  return `; one given --expect-last refuses then, as the ledger no longer ends there: run ${revertPreviewText(preview)} again and the command it prints`;
}

/** What names the revert --confirm to run again after one stopped part way, as the run was given it. */
export interface RevertRerunWords {
  /** The run's --expect-last (RevertRequest.expectLast); unset, the same command runs the rest as it is. */
  expectLast?: string;
  /**
   * ReleaseOptions.revertConfirm: prints the run's own confirm with another --expect-last (and `flags`, a
   * flag and its value each, in place of the run's own).
   */
  confirmWith?: (lastMigration: string, flags?: readonly string[]) => string;
  /** ReleaseOptions.commandAsRunWith: the command as run with `flags` in place of the run's own. */
  asRunWith?: (flags: readonly string[]) => string;
}

/**
 * The revert --confirm to run again after one stopped at `stillApplied`, the migration whose Down section failed
 * or was stopped: rolled back, it stays applied and is where the ledger ends now, whatever the Down sections
 * before it committed. Decided here alone: the run's own confirm with `--expect-last <stillApplied>`, when its
 * --expect-last named a migration this run then reverted (copied as it ran, it would be refused for a ledger
 * that no longer ends there, refuseMovedLedger). Undefined when the command as it ran reverts the rest: no
 * --expect-last, or nothing reverted before `stillApplied`; or when no printer is given (a library caller).
 */
export function revertRerunAfter(words: RevertRerunWords, stillApplied: string): string | undefined {
  const { expectLast, confirmWith } = words;
  if (expectLast === undefined || confirmWith === undefined) return undefined;
  if (expectLast.replace(/\.sql$/, "") === stillApplied) return undefined;
  return confirmWith(stillApplied);
}

/** The revert --confirm a failed Down section's fix names to run again, printed to run as it is. */
export interface RevertRerun {
  command: string;
  /**
   * Its --expect-last is the ledger's last now, not the one the run was given (revertRerunAfter): the fix says
   * why (rerunReason), as the operator would otherwise copy the --expect-last they typed.
   */
  expectLastMoved: boolean;
  /**
   * The same command with `flags` (a flag and its value each) in place of the run's own value of each flag: a
   * statement timeout's fix gives the timeout to raise (RAISED_STATEMENT_TIMEOUT). Unset where the caller
   * gives no way to print it.
   */
  with?: (flags: readonly string[]) => string;
}

/**
 * What a failed Down section's fix names to run again, once the Down section of `stillApplied` failed:
 * revertRerunAfter's confirm when the run's --expect-last no longer holds, else `asRun` (the CLI's command as
 * the operator ran it, ReleaseOptions.commandAsRun); undefined (a library caller, a stack), the words.
 */
export function revertRerun(
  words: RevertRerunWords,
  stillApplied: string,
  asRun: string | undefined,
): RevertRerun | undefined {
  const moved = revertRerunAfter(words, stillApplied);
  const { confirmWith, asRunWith } = words;
  if (moved !== undefined)
    return {
      command: moved,
      expectLastMoved: true,
      with: (flags) => confirmWith!(stillApplied, flags),
    };
  return asRun === undefined
    ? undefined
    : { command: asRun, expectLastMoved: false, ...(asRunWith ? { with: asRunWith } : {}) };
}

/** ` (its --expect-last names ...)` after a rerun whose --expect-last is not the one typed; else nothing. */
export function rerunReason(rerun: RevertRerun | undefined): string {
  return rerun?.expectLastMoved ? " (its --expect-last names the migration the ledger ends at now)" : "";
}

/**
 * A failed Down section's "run the revert again" (`extra`: what to add to it, as ` with --corrected-down X`):
 * the command revertRerun printed, else the words.
 */
export function revertAgain(rerun: RevertRerun | undefined, extra = ""): string {
  return rerun === undefined
    ? `run the revert again${extra}`
    : `run ${rerun.command} again${extra}${rerunReason(rerun)}`;
}

/** The revert as a fix names it to run (`Run <it> again with ...`): the command revertRerun printed, else words. */
export function revertToRun(rerun: RevertRerun | undefined): string {
  return rerun === undefined ? "the revert" : `${rerun.command}${rerunReason(rerun)}`;
}
