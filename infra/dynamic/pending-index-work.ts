// What the vector-index step would do now, asked of the database during `check`: the core's own plan (the
// decision `neonhub-db plan` shows: create, rebuild or update, with its reason). The manifests in the inputs
// only say which definitions the files hold; an index the data has outgrown (or a first index once rows
// exist) is a fact of the rows, so without this a preview shows it only after a `pulumi refresh`. Carried in
// the inputs as "name: action (reason)", `diff` reports it and `pulumi up` runs the step.
import {
  defaultReleaseSteps,
  isReleaseError,
  planRelease,
  type ReleaseOptions,
  type ReleasePlan,
  type VectorIndexPlanItem,
} from "../../core";
import { describeFailure } from "./failure";
import { partContext, type PartContext } from "./release";
import type { ResolvedInputs } from "./types";

/** The input property that carries the pending decisions. */
export const PENDING_INDEX_WORK = "pendingIndexWork";

const UNREACHABLE = ["connection", "authentication", "missing-database"];

/** Why an item is pending on a Prisma-era database whose upgrade the stack's up runs first. */
const AFTER_THE_UPGRADE = "after the Prisma-era upgrade this up runs first (the legacyUpgrade setting)";

/**
 * "name: action (reason)" for each decision that runs something (not a keep or a skip); `when`, what comes
 * before it in the up, leads the reason.
 */
export function describePendingIndexWork(items: readonly VectorIndexPlanItem[], when?: string) {
  return items
    .filter((item) => item.decision !== "keep" && item.decision !== "skip")
    .map((i) => `${i.name}: ${i.action} (${when ? `${when}: ` : ""}${i.reason})`);
}

/**
 * What this up's vector-index step will do: the plan's own items, or, on the Prisma-era database of a stack
 * whose `legacyUpgrade` setting makes the up upgrade it first (the migrations resource's create, before this
 * resource's), the items the steps decide for it that the upgrade's release then runs (plain apply's, which
 * refuses the database, are none).
 */
export function pendingIndexWorkOf(plan: ReleasePlan, inputs: Pick<ResolvedInputs, "steps">): string[] {
  const upgradedFirst = inputs.steps.legacyUpgrade !== undefined ? plan.afterUpgrade : undefined;
  return upgradedFirst
    ? describePendingIndexWork(upgradedFirst.vectorIndexes, AFTER_THE_UPGRADE)
    : describePendingIndexWork(plan.vectorIndexes);
}

/** The index name a pending-work line is about (index names hold no ": "). */
export function pendingWorkName(line: string): string {
  const end = line.indexOf(": ");
  return end < 0 ? line : line.slice(0, end);
}

/**
 * The part's options with the stack's seeds step itself in place of its bookkeeping (partContext keeps each
 * other part's steps to theirs): the seeds resource runs before this one in the same up, and the plan decides
 * the vector indexes on the rows its pending sets insert only when it has their step
 * (core/vector-indexes/seeded-plan.ts). Planned, never applied: this is check's read.
 */
function withSeedsPlanned(context: PartContext, inputs: ResolvedInputs): ReleaseOptions {
  const stack = defaultReleaseSteps(inputs.steps);
  const steps = (context.options.steps ?? []).map((step, i) =>
    step.kind === "seeds" && stack[i]?.kind === "seeds" ? stack[i] : step,
  );
  return { ...context.options, steps };
}

/**
 * The pending decisions of the vector-index step, read-only; `undefined` when the database cannot be asked
 * (unreachable, or the plan failed), with a warning: the preview then compares manifests only, and `up`
 * plans again anyway. A plan that gave up waiting for a table lock another session holds is thrown instead:
 * the database answered, and check fails naming that session, as the migrations' check does.
 */
export async function pendingIndexWork(
  inputs: ResolvedInputs,
  source: string,
): Promise<string[] | undefined> {
  const context = partContext(inputs, inputs.databaseUrl, source, "check");
  try {
    return pendingIndexWorkOf(await planRelease(withSeedsPlanned(context, inputs)), inputs);
  } catch (error) {
    if (isReleaseError(error) && error.code === "lock-timeout") throw error;
    const why = describeFailure(error).split("\n")[0];
    const unreachable = isReleaseError(error) && UNREACHABLE.includes(error.code);
    context.options.log.warn(
      `${unreachable ? "database not reachable" : "could not plan"}: the vector indexes' data was not checked, ` +
        `so an index the rows have outgrown does not show in this preview (\`pulumi up\` plans again) (${why})`,
    );
    return undefined;
  }
}
