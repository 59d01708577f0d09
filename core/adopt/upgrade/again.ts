// What a fix of the upgrade says to do once its problem is fixed: run the upgrade again, which resumes where it
// stopped. Where a command runs it, the upgrade's printer (upgradePrinter, run.ts) prints its apply with the
// operator's options (the CLI's `apply --upgrade-legacy --legacy-organization <slug> ...`, a stack's `pulumi
// up`). A library caller ran no command: it is told what to call again, in these words alone.
import { applyAgain, type CommandPrinter } from "../../command-to-run";

/** What a library caller calls again to run (or resume) the upgrade: how it ran it, with the same options. */
export const UPGRADE_CALL_AGAIN =
  "call upgradeLegacyDatabase (or upgradeLegacyIfNeeded) again with the same options";

/** A fix's "run the upgrade again": `print`, the upgrade's printer (upgradePrinter), else UPGRADE_CALL_AGAIN. */
export function upgradeAgain(print: CommandPrinter | undefined): string {
  return applyAgain(print, UPGRADE_CALL_AGAIN);
}
