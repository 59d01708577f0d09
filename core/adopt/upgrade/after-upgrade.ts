// What the release's steps do after the Prisma-era upgrade's cutover, as plan shows it (ReleasePlan's
// `afterUpgrade`, and through it the vector-index work a stack's preview lists, infra/dynamic/
// pending-index-work.ts). Plan reads the legacy database, where the release's tables do not exist yet; the
// upgrade's apply runs the steps on the tables its cutover made, holding the legacy rows without embeddings
// (core/adopt/upgrade/mapping.ts maps no embedding column), then the seed sets' rows. The vector-index step
// decides on those tables as it would on any (VectorIndexStep.planOnUpgradedTables), so that the preview
// lists no index the up then skips for having no embedded rows.
import type { StepPlanMap } from "../../results";
import { SeedsStep } from "../../seeds/step";
import { embeddedRowsOf } from "../../seeds/seed-set";
import type { ReleaseStep } from "../../steps";
import { VectorIndexStep } from "../../vector-indexes/step";

type StepPlans = ReadonlyMap<ReleaseStep, StepPlanMap[ReleaseStep["kind"]][]>;

/**
 * Each step's items after the upgrade, in the steps' order: the vector-index step's decided on the upgraded
 * tables with the embedded rows the seed sets before it write; the others' as they planned them on the
 * database (none of their records exists yet, so their first run's).
 */
export function stepPlansAfterUpgrade(stepPlans: StepPlans): StepPlans {
  const steps = [...stepPlans.keys()];
  return new Map(
    steps.map((step, i) => {
      if (!(step instanceof VectorIndexStep)) return [step, stepPlans.get(step) ?? []];
      const seeded = steps.slice(0, i).filter((s): s is SeedsStep => s instanceof SeedsStep);
      const embedded = embeddedRowsOf(
        seeded.flatMap((s) => s.sets),
        step.options.tables.map(({ table }) => table),
      );
      return [step, step.planOnUpgradedTables(embedded)];
    }),
  );
}
