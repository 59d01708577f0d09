// What the release's steps do after the Prisma-era upgrade's cutover, as plan shows it (ReleasePlan's
// `afterUpgrade`, and through it the vector-index work a stack's preview lists, infra/dynamic/
// pending-index-work.ts). Plan reads the legacy database, where the release's tables do not exist yet; the
// upgrade's apply runs the steps on the tables its cutover made, holding the legacy rows without embeddings
// (core/adopt/upgrade/mapping.ts maps no embedding column), then the seed sets' rows. The vector-index step
// decides on those tables as it would on any (VectorIndexStep.planOnUpgradedTables), so that the preview
// lists no index the up then skips for having no embedded rows, with the maintenance_work_mem the plan's session
// reads, so that it says a build cannot start (or can) as the up then finds.
import type { ClientBase } from "pg";
import type { StepPlanMap } from "../../results";
import { embeddedRowsOf } from "../../seeds/seed-set";
import type { ReleaseStep } from "../../steps";
import { seedSetsBefore, type StepPlans } from "../../vector-indexes/seeded-plan";
import { VectorIndexStep } from "../../vector-indexes/step";

/**
 * Each step's items after the upgrade, in the steps' order: the vector-index step's decided on the upgraded
 * tables with the embedded rows the seed sets before it write, and the build memory `client` (the plan's
 * session) has, as the upgrade's own session will; the others' as they planned them on the database (none of
 * their records exists yet, so their first run's).
 */
export async function stepPlansAfterUpgrade(client: ClientBase, stepPlans: StepPlans): Promise<StepPlans> {
  const steps = [...stepPlans.keys()];
  const upgraded = new Map<ReleaseStep, StepPlanMap[ReleaseStep["kind"]][]>();
  for (const step of steps) {
    if (!(step instanceof VectorIndexStep)) {
      upgraded.set(step, stepPlans.get(step) ?? []);
      continue;
    }
    const embedded = embeddedRowsOf(
      seedSetsBefore(steps, step),
      step.options.tables.map(({ table }) => table),
    );
    upgraded.set(step, await step.planOnUpgradedTables(client, embedded));
  }
  return upgraded;
}
