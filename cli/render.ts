// Human-readable output of each command. (--json prints the result objects as they are.)
import type { ReleasePlan, ReleaseResult, ReleaseStatus, VerifyReport } from "../core";
import { renderHandedOver } from "./render-adopt";
import type {
  BaselineResult,
  PolicyTableName,
  ReleaseLockHolders,
  LoadChunksResult,
  StepItemPlan,
  StepResult,
  StepStatus,
  VectorIndexPlanItem,
} from "../core";
import {
  commandToRun,
  type CommandPrinter,
  countText,
  describePreparedTransaction,
  displayChecksum,
  elapsedText,
  documentsLeftEmptyText,
  driftWarningText,
  rebuildLeftoverText,
  REBUILD_LEFTOVER,
  flattenSettings,
  ledgerProblemText,
  planVerdict,
  shownObjectKey,
  shownQualifiedName,
  shownSql,
} from "../core";
import { renderSafety } from "./render-safety";
import { renderTenantSearch } from "./render-search";

const MARK: Record<StepItemPlan["action"], string> = {
  create: "+",
  update: "~",
  rebuild: "~",
  unchanged: "=",
};

/** An item's name as a line shows it: a row-level security item's table as quote_ident writes it. */
function shownItemName(item: { name: string; table?: PolicyTableName }): string {
  return item.table ? shownQualifiedName(item.table.schema, item.table.name) : item.name;
}

function items(title: string, list: readonly (StepItemPlan | VectorIndexPlanItem)[]): string[] {
  if (list.length === 0) return [];
  return [`  ${title}:`, ...list.map((i) => `    ${itemLine(i)}`)];
}

/** A vector index's decision says more than its action: a recalibration, or a skip (nothing to build yet). */
function itemLine(item: StepItemPlan | VectorIndexPlanItem): string {
  const decision = "decision" in item ? item.decision : undefined;
  const mark = decision === "skip" ? "·" : MARK[item.action];
  const word = decision === "skip" ? "skipped" : decision === "recalibrate" ? "recalibrate" : item.action;
  // A recalibration's reason starts with the word already ("recalibrate ivfflat.probes: …"): said once.
  const name = shownItemName(item);
  if (item.reason?.startsWith(word)) return `${mark} ${name}: ${item.reason}`;
  return `${mark} ${name}: ${word}${item.reason ? ` (${item.reason})` : ""}`;
}

/**
 * The release lock's holder, before what plan, status and the revert preview show: another session's release,
 * whose committed state they read, or a prepared transaction, which no release is and which every lock taker
 * fails on until it is finished.
 */
export function releaseInProgressLines(holders: ReleaseLockHolders): string[] {
  const { releaseInProgress: release, releaseLockPrepared: prepared } = holders;
  if (prepared) {
    return [
      `  the release lock is held by ${describePreparedTransaction(prepared)}, not by a release`,
      `    fix: ${prepared.fix}`,
    ];
  }
  if (!release) return [];
  const since = release.since ? `, connected since ${release.since}` : "";
  return [
    `  a release is in progress: pid ${release.pid}, application "${release.applicationName}"${since}; what follows is what it has committed so far`,
  ];
}

/** `print`: how the closing line prints apply to run on this database (ReleaseOptions.printCommand). */
export function renderPlan(plan: ReleasePlan, print?: CommandPrinter): string {
  const { migrations } = plan;
  const lines = [
    `Release plan for ${plan.database}`,
    ...releaseInProgressLines(plan),
    ...(isLegacyPlan(plan)
      ? legacyLines(plan)
      : [
          `  migrations: ${migrations.applied} applied, ${migrations.pending.length} pending`,
          ...migrations.pending.map((m) => `    + ${m.name} (sha256 ${displayChecksum(m.checksum)})`),
        ]),
    ...items("row-level security", plan.rowLevelSecurity),
    ...items("seed sets", plan.seedSets),
    ...items("vector indexes", plan.vectorIndexes),
    ...renderSafety(plan.safety),
    // The drift apply refuses is a problem below; what it takes over with a warning is said here.
    ...plan.drift
      .filter((d) => d.handling !== "refuse")
      .map((d) => `  ${d.handling === "warn" ? "warning" : "note"}: ${driftWarningText(d)}`),
  ];
  // The safety section above shows its errors with their lines and safer forms already, and the release
  // lock's lines at the top its prepared holder and fix.
  for (const p of plan.problems.filter((p) => p.section !== "safety" && p.section !== "releaseLock"))
    lines.push(`  problem: ${p.message}`, `    fix: ${p.fix}`);
  if (plan.interruption) lines.push(`  note: ${plan.interruption}`);
  lines.push(planClosingLine(plan, print));
  return lines.join("\n");
}

/** The Prisma-era database, before its upgrade or during it: the pending migrations are not plain apply's. */
function isLegacyPlan(plan: ReleasePlan): boolean {
  return plan.legacyNotUpgraded !== undefined || plan.legacyUpgrade !== undefined;
}

/**
 * What matters first on the Prisma-era database: the upgrade in place, as status says it, and not "N pending",
 * which reads as if apply would run them (it refuses the database; the upgrade builds them beside the legacy
 * tables). --json keeps the pending list, under the same legacyNotUpgraded or legacyUpgrade field. The steps'
 * items are the upgrade's too (the plan holds none: core/release.ts, assemblePlan), which the last line says.
 */
function legacyLines(plan: ReleasePlan): string[] {
  const { migrations } = plan;
  return [
    plan.legacyUpgrade
      ? `  upgrade in progress: ${plan.legacyUpgrade.continueWith}`
      : `  note: ${plan.legacyNotUpgraded!.note}`,
    `  migrations: ${migrations.applied} applied; the release's ${migrations.pending.length} are the upgrade's to build, not plain apply's`,
    "  row-level security, seed sets, vector indexes: the upgrade's to run after its cutover, not plain apply's",
  ];
}

/** The verdict as words (planVerdict: the exit code reads the same). */
function planClosingLine(plan: ReleasePlan, print?: CommandPrinter): string {
  const apply = commandToRun(print, ["apply"]);
  const names = plan.operatorItems.join(", ");
  const waiting =
    plan.operatorItems.length === 1
      ? `the item skipped above (${names}) waits for the operator`
      : `the ${plan.operatorItems.length} items skipped above (${names}) wait for the operator`;
  const asSaid = `${plan.operatorItems.length === 1 ? "its" : "each one's"} reason says what to run, and as whom`;
  switch (planVerdict(plan)) {
    case "blocked":
      if (plan.problems.every((p) => p.section === "releaseLock"))
        return "Blocked: `neonhub-db apply` would wait for the prepared transaction above and fail until it is finished.";
      if (plan.legacyUpgrade)
        return "Blocked: `neonhub-db apply` refuses the Prisma-era schema while its upgrade is in progress: continue the upgrade, as the line above says.";
      if (plan.legacyNotUpgraded)
        return "Blocked: `neonhub-db apply` refuses the Prisma-era schema: its path is the upgrade in place, whose plan the note above names.";
      return "Blocked: `neonhub-db apply` refuses until the problems or errors above are fixed.";
    case "pending":
      return plan.operatorItems.length > 0
        ? `Changes pending: ${apply} applies them; ${waiting} (${asSaid}).`
        : `Changes pending: ${apply} applies them.`;
    case "operator":
      return `Operator action needed: ${apply} has nothing it can do, but ${waiting} (${asSaid}); then ${apply} does it.`;
    case "nothing":
      return "Nothing to do: the database is up to date.";
  }
}

export function renderApply(result: ReleaseResult): string {
  const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  if (!result.changed) {
    return `Nothing changed: ${result.summary.appliedMigrations} migrations applied, all up to date (${seconds(result.durationMs)}).`;
  }
  const lines = [`Release applied in ${seconds(result.durationMs)}:`];
  for (const m of result.migrations) {
    lines.push(`  migration ${m.name}: ${elapsedText(m.durationMs)} (sha256 ${displayChecksum(m.checksum)})`);
  }
  const steps = [...result.rowLevelSecurity, ...result.seedSets, ...result.vectorIndexes];
  for (const s of steps.filter((s) => s.action !== "unchanged")) {
    lines.push(`  ${shownItemName(s)}: ${s.action} in ${elapsedText(s.durationMs)}`);
  }
  for (const step of result.steps) lines.push(`  ${stepLine(step)}`);
  lines.push(
    `  ${result.summary.appliedMigrations} migrations applied in total; last ${result.summary.lastMigration}.`,
  );
  return lines.join("\n");
}

const STEP_TITLE: Record<StepResult["step"], string> = {
  rowLevelSecurity: "row-level security",
  seeds: "seed sets",
  vectorIndexes: "vector indexes",
};

/** "seed sets: 1 ran, 2 skipped (up to date) in 12 ms". */
function stepLine(step: StepResult): string {
  const skipped = step.skipped > 0 ? `, ${step.skipped} skipped (up to date or nothing to build yet)` : "";
  return `${STEP_TITLE[step.step]}: ${step.ran} ran${skipped} in ${elapsedText(step.durationMs)}`;
}

/** `print`: how a line prints the apply it names to run on this database (ReleaseOptions.printCommand). */
export function renderStatus(status: ReleaseStatus, print?: CommandPrinter): string {
  const lines = [
    `Release status of ${status.database}`,
    ...releaseInProgressLines(status),
    `  migrations applied: ${status.ledger.length}`,
  ];
  for (const e of status.ledger) {
    lines.push(
      `    ${e.name}  ${e.appliedAt}  ${e.durationMs} ms  by ${e.appliedBy}  sha256 ${displayChecksum(e.checksum)}`,
    );
  }
  if (status.pendingMigrations.length) lines.push(`  pending: ${status.pendingMigrations.join(", ")}`);
  if (status.legacyUpgrade) lines.push(`  upgrade in progress: ${status.legacyUpgrade.continueWith}`);
  if (status.legacyNotUpgraded) lines.push(`  note: ${status.legacyNotUpgraded.note}`);
  if (status.interruption) lines.push(`  note: ${status.interruption}`);
  for (const p of status.problems) lines.push(`  problem: ${ledgerProblemText(p)}`, `    fix: ${p.fix}`);
  const records = (title: string, list: readonly StepStatus[]) => {
    if (list.length === 0) return;
    lines.push(`  ${title}:`);
    for (const r of list) {
      const facts = Object.entries(r)
        .filter(([k]) => k !== "name" && k !== "tenantSearch")
        .map(([k, v]) => [k, displayValue(k, v)] as const);
      // A value with spaces (a setting, the status query) gets a line of its own: on the record's line,
      // `query=SELECT "id" FROM ...` could not be told from the facts around it, nor copied whole.
      const spaced = (value: string) => /\s/.test(value);
      const inline = facts.filter(([, v]) => !spaced(v)).map(([k, v]) => `${k}=${v}`);
      lines.push(inline.length ? `    ${r.name}  ${inline.join(" ")}` : `    ${r.name}`);
      for (const [k, v] of facts.filter(([, v]) => spaced(v))) lines.push(`      ${k}: ${v}`);
      if ("tenantSearch" in r && r.tenantSearch)
        lines.push(...renderTenantSearch(r.tenantSearch, "      ", print));
    }
  };
  records("row-level security", status.rowLevelSecurity);
  records("seed sets", status.seedSets);
  records("vector indexes", status.vectorIndexes);
  // What plan and apply use for a setting given neither by --config nor --set.
  const settings = Object.entries(status.releaseSettings).flatMap(([section, value]) =>
    [...flattenSettings(value)].map(([key, v]) => `    ${section}.${key}: ${displayValue(key, v)}`),
  );
  if (settings.length > 0) lines.push("  release settings recorded by the last release:", ...settings);
  return lines.join("\n");
}

/** Checksums are full sha256 everywhere but here: shortened for people. */
function displayValue(key: string, value: unknown): string {
  if (key === "checksum" && typeof value === "string") return displayChecksum(value);
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

export function renderVerify(report: VerifyReport): string {
  // Not compared while another release runs (drift.note says why): no problem found, nor clean.
  const verdict = report.clean
    ? "clean"
    : (report.releaseInProgress || report.releasesEnded) && report.problems.length === 0
      ? "not verified"
      : "PROBLEMS FOUND";
  const lines = [`Verify ${report.database}: ${verdict}`];
  for (const p of report.problems) lines.push(`  ${ledgerProblemText(p)}`, `    fix: ${p.fix}`);
  const { drift } = report;
  // Names as every report line shows them (core/shown-names.ts); --json has the keys and statements raw.
  const repair = (k: string) => (drift.repairs[k] ? [`    repair: ${shownSql(drift.repairs[k])}`] : []);
  for (const k of drift.added) {
    // An interrupted rebuild's index is no hand's: said as health says it.
    const leftover = rebuildLeftoverText(k);
    const text = leftover
      ? `${leftover}; ${REBUILD_LEFTOVER.action}`
      : `${shownObjectKey(k)} exists but was not created by the release`;
    lines.push(`  drift: ${text}`, ...repair(k));
  }
  for (const k of drift.removed)
    lines.push(`  drift: ${shownObjectKey(k)} was created by the release but is gone`, ...repair(k));
  for (const k of drift.changed)
    lines.push(`  drift: ${shownObjectKey(k)} differs from what the release created`, ...repair(k));
  if (drift.note) lines.push(`  note: ${drift.note}`);
  if (drift.formatNote) lines.push(`  note: ${drift.formatNote}`);
  if (drift.rolesNote) lines.push(`  note: ${drift.rolesNote}`);
  if (drift.snapshotTakenAt) lines.push(`  schema snapshot from ${drift.snapshotTakenAt}`);
  return lines.join("\n");
}

export function renderLoad(result: LoadChunksResult): string {
  const replaced = result.replaced ? `, replacing ${countText(result.replaced, "chunk")}` : "";
  return [
    `Loaded ${countText(result.chunks, "chunk")} and ${countText(result.documents, "document")} into dataset ${result.datasetId}${replaced}`,
    `  embedding space ${result.embeddingSpaceId} (${result.dimension} dimensions)`,
    `  ${(result.durationMs / 1000).toFixed(1)} s: ${result.chunksPerSecond} chunks/s, ${result.fileMegabytesPerSecond} MB/s of file`,
    ...(result.documentsWithoutChunks.length > 0
      ? [`  ${documentsLeftEmptyText(result.documentsWithoutChunks).replace(/^load-chunks: /, "")}`]
      : []),
  ].join("\n");
}

export function renderBaseline(result: BaselineResult): string {
  if (!result.changed) {
    return `Nothing to do: ${result.database} records these ${result.baselined.length} migration(s) already, up to ${result.baselined.at(-1) ?? "none"}; nothing was changed.`;
  }
  const lines = [
    `Baselined ${result.database}: ${result.baselined.length} migration(s) recorded as applied, up to ${result.baselined.at(-1) ?? "none"}.`,
  ];
  if (result.extraObjects.length) {
    lines.push("  objects the migrations do not create (kept, not managed by the release):");
    for (const k of result.extraObjects) lines.push(`    ${shownObjectKey(k)}`);
  }
  lines.push(...renderHandedOver(result.handedOver));
  return lines.join("\n");
}
