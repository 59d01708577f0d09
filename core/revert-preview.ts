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
