// Where the upgrade stops when a check refuses it, in the operator's words: what did not happen and what
// state the database is in. One table for every refusal, because the same check runs before the first write
// and again on a resumed run, when the staging schema and the backfill already exist: "Nothing was written"
// is only true of the first.
import { LEGACY_KEPT_SCHEMA } from "./names";

/** Where a check runs: before the first write, on a resumed run, inside the cutover, before the final drop. */
export type UpgradeStop = "start" | "resume" | "cutover" | "contract";

export const UPGRADE_STOPS: Record<UpgradeStop, { stopped: string; state: string }> = {
  start: {
    stopped: "so the upgrade did not start",
    state: "Nothing was written.",
  },
  resume: {
    stopped: "so the interrupted upgrade did not go on",
    state:
      "Nothing more was written: the legacy tables stay in use and mirrored, and what the backfill copied is kept.",
  },
  cutover: {
    stopped: "so the cutover did not happen (they appeared while the upgrade ran)",
    state:
      "Nothing was switched: the legacy tables stay in use and mirrored, and the backfill is kept, so the next run resumes at the proof.",
  },
  contract: {
    stopped: `so the legacy tables kept in ${LEGACY_KEPT_SCHEMA} were not dropped`,
    state: `The cutover is done (the release is in public); only the drop of ${LEGACY_KEPT_SCHEMA} waits.`,
  },
};
