// The vector-index step's plan on a released database whose apply loads seed sets first. apply runs the seed
// sets before the vector indexes, so a pending set's embedded rows are in the tables when the step decides:
// on an empty table they make it build an index that a plan deciding on the tables as they are would list as a
// skip ("no embedded rows yet"). Plan decides instead on each table's rows and largest tenants plus how the
// pending sets change them (the rows they insert, update, delete and move to another tenant:
// core/seeds/seeded-row-changes.ts), counted from the diffs the seeds step's plan read, so that its items are what
// apply then does. The Prisma-era
// upgrade's plan counts the same sets' rows on the tables it leaves empty (core/adopt/upgrade/after-upgrade.ts).
import type { ClientBase } from "pg";
import type { StepPlanMap } from "../results";
import { embeddedRowChanges, type PendingSeedSet } from "../seeds/seeded-row-changes";
import type { SeedSet } from "../seeds/seed-set";
import { SeedsStep } from "../seeds/step";
import type { ReleaseStep } from "../steps";
import { VectorIndexStep } from "./step";

/** Each step's plan items, in the steps' order: what plan assembles its report from. */
export type StepPlans = ReadonlyMap<ReleaseStep, StepPlanMap[ReleaseStep["kind"]][]>;

/** The seed sets the seed steps before `step` load, in the order they run. */
export function seedSetsBefore(steps: readonly ReleaseStep[], step: ReleaseStep): SeedSet[] {
  return steps
    .slice(0, steps.indexOf(step))
    .filter((s): s is SeedsStep => s instanceof SeedsStep)
    .flatMap((s) => s.sets);
}

/**
 * The seed sets the seed steps before `step` load whose plan item is not `unchanged` (those apply writes), in the
 * order they run, each with the diff its step's plan read (SeedsStep.diffsPlanned): each set is diffed once.
 */
function pendingSetsBefore(step: ReleaseStep, stepPlans: StepPlans): PendingSeedSet[] {
  const steps = [...stepPlans.keys()];
  return steps
    .slice(0, steps.indexOf(step))
    .filter((s): s is SeedsStep => s instanceof SeedsStep)
    .flatMap((seeds) => {
      const items = stepPlans.get(seeds) ?? [];
      const diffs = seeds.diffsPlanned(items);
      return seeds.sets
        .filter((set) => items.some((item) => item.name === set.name && item.action !== "unchanged"))
        .map((set) => {
          const diff = diffs?.get(set);
          return diff ? { set, diff } : { set };
        });
    });
}

/**
 * `stepPlans` (a released database's, in the steps' order) with each vector-index step's items decided on how
 * the pending seed sets before it change the embedded rows (VectorIndexStep.planWithSeededRows); unchanged, with
 * nothing read, when no set before it is pending, and as planned when none changes an embedded row.
 */
export async function stepPlansWithPendingSeeds(
  client: ClientBase,
  stepPlans: StepPlans,
  actingAs: string | undefined,
): Promise<Map<ReleaseStep, StepPlanMap[ReleaseStep["kind"]][]>> {
  const steps = [...stepPlans.keys()];
  const planned = new Map(stepPlans);
  for (const step of steps) {
    if (!(step instanceof VectorIndexStep)) continue;
    const pending = pendingSetsBefore(step, stepPlans);
    if (pending.length === 0) continue;
    const seeded = await embeddedRowChanges(
      client,
      pending,
      step.options.tables.map(({ table }) => table),
    );
    if (![...seeded.values()].some((c) => c.byDimension.size > 0 || c.byTenant.size > 0)) continue;
    planned.set(step, await step.planWithSeededRows(client, actingAs, seeded));
  }
  return planned;
}
