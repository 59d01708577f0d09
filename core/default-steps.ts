// The steps a release runs after its migrations, as this project defines them.
import type { LegacyUpgradeSetting } from "./adopt/upgrade/setting";
import { DEFAULT_SEEDS_DIR } from "./project";
import { RowLevelSecurityStep, type RowLevelSecurityMode } from "./row-level-security";
import { SeedsStep } from "./seeds/step";
import { listSeedSets, unknownSeedSetError } from "./seeds/seed-set";
import type { ReleaseStep } from "./steps";
import { VectorIndexStep, type VectorIndexOptions } from "./vector-indexes";

export interface DefaultStepOptions {
  /** Seed sets to apply, by name (folders under seeds/). */
  seedSets: readonly string[];
  /** Whether the tenant tables' policies are enforced; unset keeps what the database records ("enforce"). */
  rowLevelSecurity?: RowLevelSecurityMode;
  /** How the vector indexes are built and calibrated (docs/vector-indexes.md); defaults when unset. */
  vectorIndexes?: VectorIndexOptions;
  /**
   * Settings left unset keep what the database recorded at its last release (the CLI); otherwise unset is the
   * default (the stack, whose config is the source of the settings).
   */
  unsetFromRecord?: boolean;
  /** Not a step's: carried with the steps' options so that the migrations resource can run the upgrade first. */
  legacyUpgrade?: LegacyUpgradeSetting;
}

/** The folders of seeds/ (today: demo). */
export const AVAILABLE_SEED_SETS: readonly string[] = listSeedSets(DEFAULT_SEEDS_DIR);

export function defaultReleaseSteps(options: DefaultStepOptions): ReleaseStep[] {
  for (const name of options.seedSets) {
    if (!AVAILABLE_SEED_SETS.includes(name)) throw unknownSeedSetError(name, AVAILABLE_SEED_SETS);
  }
  // Always present, even with no set named: its bookkeeping tables then stay the same from run to run.
  return [
    new RowLevelSecurityStep({ mode: options.rowLevelSecurity }),
    new SeedsStep({ seedSets: options.seedSets }),
    // Last: built after the data it indexes.
    new VectorIndexStep({ ...options.vectorIndexes, unsetFromRecord: options.unsetFromRecord }),
  ];
}
