// The schema migrations resource on a Prisma-era database, when the release settings carry `legacyUpgrade`
// (core/release-config.ts): preview shows the upgrade's steps (and fails on the legacy rows that would stop
// it), and up runs the core's upgrade before the release, the same function as `apply --upgrade-legacy`.
import { planLegacyUpgradeIfNeeded, upgradeLegacyIfNeeded, type LegacyUpgradeSetting } from "../../core";
import { RELEASE_PROBLEM, type InputProblem } from "./inputs";
import type { PartContext } from "./release";
import type { ResolvedInputs } from "./types";

export function legacyUpgradeOf(inputs: ResolvedInputs): LegacyUpgradeSetting | undefined {
  if (inputs.part !== "migrations") return undefined;
  return inputs.steps.legacyUpgrade as LegacyUpgradeSetting | undefined;
}

/** Preview: undefined when the database needs no upgrade (the usual ledger check applies). */
export async function legacyUpgradeFailures(
  context: PartContext,
  setting: LegacyUpgradeSetting,
): Promise<InputProblem[] | undefined> {
  const { options } = context;
  const plan = await planLegacyUpgradeIfNeeded(options, {
    organization: setting.organization,
    organizationSource: "legacyUpgrade.organization",
    batchSize: setting.batchSize,
  });
  if (!plan) return undefined;
  for (const step of plan.steps) {
    const rows = step.estimatedRows !== undefined ? ` [~${step.estimatedRows} rows]` : "";
    options.log?.info(`upgrade ${step.done ? "(done) " : ""}${step.step}${rows}: ${step.detail}`);
  }
  return [
    ...plan.problems.map((p) => ({ property: RELEASE_PROBLEM, reason: `${p.message} fix: ${p.fix}` })),
    ...plan.defects.map((d) => ({
      property: RELEASE_PROBLEM,
      reason: `${d.column}: ${d.message} (e.g. ids ${d.sampleIds.join(", ")}). fix: ${d.fix}`,
    })),
  ];
}

/** Up: the upgrade (resumed if an earlier one was interrupted), before the release's own apply. */
export async function runLegacyUpgrade(context: PartContext, setting: LegacyUpgradeSetting): Promise<void> {
  const result = await upgradeLegacyIfNeeded(context.options, {
    organization: setting.organization,
    organizationSource: "legacyUpgrade.organization",
    batchSize: setting.batchSize,
  });
  if (result) {
    context.options.log?.info(
      `upgraded the legacy database for organization ${result.organization.slug}: ${result.rowsPerSecond} rows/s, longest lock ${result.longestLock.ms} ms (${result.longestLock.step})`,
    );
  }
}
