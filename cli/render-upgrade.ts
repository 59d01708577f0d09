// Human-readable output of `neonhub-db plan|apply --upgrade-legacy`.
import {
  UPGRADING_SECTION,
  commandToRun,
  type CommandPrinter,
  type LegacyUpgradePlan,
  type LegacyUpgradeResult,
} from "../core";
import { renderApply } from "./render";

/** `print`: how the next command to run on this database is printed (ReleaseOptions.printCommand). */
export function renderUpgradePlan(plan: LegacyUpgradePlan, print?: CommandPrinter): string {
  const lines = [
    `Upgrade of the Prisma-era database ${plan.database} to the release, for organization ${plan.organization.slug}:`,
  ];
  for (const step of plan.steps) {
    const rows = step.estimatedRows !== undefined ? ` [~${step.estimatedRows} rows]` : "";
    lines.push(`  ${step.done ? "= done" : "+"} ${step.step}${rows}: ${step.detail}`);
  }
  for (const d of plan.defects) {
    lines.push(`  ! ${d.column}: ${d.message} (e.g. ids ${d.sampleIds.join(", ")})`, `    fix: ${d.fix}`);
  }
  for (const p of plan.problems) lines.push(`  problem: ${p.message}`, `    fix: ${p.fix}`);
  lines.push(
    plan.finished
      ? `The upgrade moved the data and dropped the legacy tables in an earlier run: what is left is the release's own (${commandToRun(print, ["plan"])} lists it; ${commandToRun(print, ["apply"])}, or this upgrade's apply, runs it).`
      : plan.ready
        ? `Run ${commandToRun(print, ["apply", "--upgrade-legacy", "--legacy-organization", plan.organization.slug], "`neonhub-db apply --upgrade-legacy` with the same --legacy-organization")} to do it (after a snapshot: ${UPGRADING_SECTION}).`
        : "Fix what is above first: the upgrade refuses to start while it stands. Nothing was written.",
  );
  return lines.join("\n");
}

export function renderUpgrade(result: LegacyUpgradeResult): string {
  if (result.contractedEarlier) {
    // Stopped in the release's own steps: this run ran what plain apply runs, and reports it the same way.
    return [
      `The upgrade of ${result.database} for organization ${result.organization.slug} moved the data and dropped the legacy tables in an earlier run; what was left of the release:`,
      ...(result.release ? [renderApply(result.release)] : []),
    ].join("\n");
  }
  const listed = (rows: Record<string, number>) =>
    Object.entries(rows)
      .map(([table, n]) => `${table} ${n}`)
      .join(", ");
  const thisRun = listed(result.backfill.rowsThisRun);
  const soFar = listed(result.backfill.rows);
  const lines = [
    result.complete
      ? `Upgraded ${result.database} to the release for organization ${result.organization.slug} in ${(result.durationMs / 1000).toFixed(1)} s`
      : `Upgrade of ${result.database} stopped during the backfill, as asked: ${result.toContinue ?? "run it again to continue"}`,
    `  backfill this run: ${result.backfill.batches} batch(es)${thisRun ? ` (${thisRun})` : ""}, ${result.rowsPerSecond} rows/s`,
    ...(soFar ? [`  backfill so far, all runs: ${soFar}`] : []),
    `  longest lock held: ${result.longestLock.ms} ms (${result.longestLock.step})`,
  ];
  if (result.proof) {
    for (const t of result.proof.tables) {
      const uncarried = t.uncarriedColumns ?? [];
      lines.push(
        `  ${t.equal && uncarried.length === 0 ? "=" : "!"} ${t.table}: ${t.releaseRows} rows, md5 ${t.releaseChecksum} over ${t.columns?.length ?? "its"} legacy column(s)${
          uncarried.length > 0 ? `; not carried: ${uncarried.join(", ")}` : ""
        }`,
      );
    }
    const fk = result.proof.foreignKeys;
    lines.push(
      `  foreign keys: ${fk.checked} checked, ${fk.notValidated.length} not validated, ${fk.violated.length} violated`,
    );
    const rls = result.proof.rowLevelSecurity;
    if (rls)
      lines.push(
        `  row-level security: ${rls.enabled} of ${rls.tablesWithPolicies} tables with policies enabled`,
      );
  }
  return lines.join("\n");
}
