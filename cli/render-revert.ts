// Human-readable output of `neonhub-db revert`: what it would undo (without --confirm) and what it undid.
import type { CommandPrinter, CorrectedDown, RevertPlan, RevertResult } from "../core";
import type { PrintedCommand } from "./confirm-command";
import { releaseInProgressLines } from "./render";
import { renderSafety } from "./render-safety";
import {
  displayChecksum,
  elapsedText,
  displayChecksumPair,
  driftPlanProblems,
  driftWarningText,
  ledgerProblemText,
  revertPlanBlocked,
  revertPlanProblems,
} from "../core";

/** `file sha256 X, applied Y; Up section as applied`: what --corrected-down accepted. */
function correctedText(sums: CorrectedDown): string {
  const [applied, file] = displayChecksumPair(sums.applied, sums.file);
  return `file sha256 ${file}, applied ${applied}; its Up section is the applied one`;
}

/**
 * The plan, and when it would go ahead the command that confirms it (cli/confirm-command.ts); `print` prints
 * the verify a drift fix names (ReleaseOptions.printCommand).
 */
export function renderRevertPlan(
  plan: RevertPlan,
  confirm: PrintedCommand | null = null,
  print?: CommandPrinter,
): string {
  const lines = [
    `Revert plan for ${plan.database}, keeping ${plan.to ?? "no migration"}`,
    ...releaseInProgressLines(plan),
  ];
  // A prepared transaction holding the release lock blocks even a confirm with nothing to revert: the lines
  // above name it and its fix.
  const blocked = revertPlanBlocked(plan);
  if (plan.migrations.length === 0 && !blocked) {
    lines.push(`Nothing to revert: ${plan.to} is the last applied migration.`);
    return lines.join("\n");
  }
  if (plan.migrations.length === 0)
    lines.push(`  nothing to revert: ${plan.to} is the last applied migration`);
  else lines.push(`  ${plan.migrations.length} migration(s) to revert, newest first:`);
  for (const m of plan.migrations) {
    lines.push(`    - ${m.name} (applied ${m.appliedAt})`);
    if (m.correctedDown)
      lines.push(
        `        its Down section corrected since it was applied (${correctedText(m.correctedDown)})`,
      );
    for (const drop of m.drops) lines.push(`        ${drop}`);
  }
  lines.push(...renderSafety(plan.safety));
  for (const p of plan.problems) lines.push(`  problem: ${ledgerProblemText(p)}`, `    fix: ${p.fix}`);
  for (const p of driftPlanProblems(plan.drift, print))
    lines.push(`  problem: ${p.message}`, `    fix: ${p.fix}`);
  for (const d of plan.drift.filter((d) => d.handling !== "refuse"))
    lines.push(`  warning: ${driftWarningText(d)}`);
  if (blocked) {
    lines.push(
      revertPlanProblems(plan).every((p) => p.section === "releaseLock")
        ? "Refused: `revert --confirm` would wait for the prepared transaction above and fail until it is finished."
        : "Refused: fix the problems above first.",
    );
    return lines.join("\n");
  }
  lines.push(
    `Nothing was changed. To revert, leaving the ledger at ${plan.lastMigrationAfter ?? "no migration"}, run this (it reverts nothing if the ledger no longer ends at ${plan.lastMigration}):`,
    `  ${confirm?.command ?? "the same command with --confirm"}`,
  );
  if (confirm?.passwordNote) lines.push(`  (${confirm.passwordNote})`);
  return lines.join("\n");
}

export function renderRevert(result: RevertResult): string {
  const lines = [`Reverted on ${result.database} in ${elapsedText(result.durationMs)}:`];
  if (result.reverted.length === 0) lines.push("  nothing: no migration was applied after it");
  for (const m of result.reverted) {
    lines.push(`  - ${m.name} (${elapsedText(m.durationMs)}, sha256 ${displayChecksum(m.checksum)})`);
    if (m.correctedDown)
      lines.push(
        `    with its Down section corrected since it was applied (${correctedText(m.correctedDown)})`,
      );
  }
  if (result.droppedBookkeeping) lines.push("  and the engine's own schema (ledger, records, snapshot)");
  lines.push(`The ledger now ends at ${result.lastMigration ?? "no migration"}.`);
  return lines.join("\n");
}
