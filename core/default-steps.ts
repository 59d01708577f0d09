// The steps a release runs after its migrations, as this project defines them.
import { ReleaseError } from "./errors";
import type { ReleaseStep } from "./steps";

export interface DefaultStepOptions {
  /** Seed sets to apply, by name (folders under seeds/). */
  seedSets: readonly string[];
}

export const AVAILABLE_SEED_SETS: readonly string[] = [];

export function defaultReleaseSteps(options: DefaultStepOptions): ReleaseStep[] {
  for (const name of options.seedSets) {
    if (!AVAILABLE_SEED_SETS.includes(name)) {
      throw new ReleaseError(
        "invalid-input",
        `Unknown seed set "${name}".`,
        AVAILABLE_SEED_SETS.length
          ? `Available: ${AVAILABLE_SEED_SETS.join(", ")}.`
          : "This project defines no seed sets yet.",
      );
    }
  }
  return [];
}
