// The seed sets of a release, as a ReleaseStep: after the migrations, each named set in its own
// transaction. Sets not named in a run are left as they are (naming a set is opting in, not naming it
// never deletes anything).
import type { ClientBase } from "pg";
import { rowsText } from "../count-format";
import { DEFAULT_SEEDS_DIR } from "../project";
import type { Logger } from "../logger";
import type { SeedSetItemResult, SeedSetStatus } from "../results";
import type { ReleaseStep, StepApplyOptions, StepBatch, StepItemPlan, StepManifestEntry } from "../steps";
import { seedsBatch, upToDate } from "./batch";
import { SEED_BOOKKEEPING_DDL, readSeedSetRecords, seedRecordsExist } from "./records";
import { loadSeedSet, type SeedSet } from "./seed-set";
import { applySeedSet, diffSeedSet, planItem } from "./sync";

export interface SeedsStepOptions {
  /** Names of the seed sets to apply (folders of `seedsDir`), in order. */
  seedSets: readonly string[];
  /** Where the seed sets live; seeds/ of this project by default. */
  seedsDir?: string;
}

export class SeedsStep implements ReleaseStep<"seeds"> {
  readonly kind = "seeds";
  readonly bookkeepingDdl = SEED_BOOKKEEPING_DDL;
  /** Read and validated when the step is made, so that a broken seed file fails before any connection. */
  readonly sets: readonly SeedSet[];
  readonly batch: StepBatch<"seeds">;

  constructor(options: SeedsStepOptions) {
    const dir = options.seedsDir ?? DEFAULT_SEEDS_DIR;
    this.sets = [...new Set(options.seedSets)].map((name) => loadSeedSet(dir, name));
    this.batch = seedsBatch(this.sets);
  }

  manifest(): StepManifestEntry[] {
    return this.sets.map((s) => ({ name: s.name, checksum: s.checksum }));
  }

  async plan(client: ClientBase | undefined): Promise<StepItemPlan[]> {
    if (!client) {
      return this.sets.map((s) => ({
        name: s.name,
        action: "create",
        reason: `no release yet: ${rowsText(s.rowCount)} to insert`,
      }));
    }
    const recordsExist = await seedRecordsExist(client);
    const items: StepItemPlan[] = [];
    for (const set of this.sets) items.push(planItem(set, await diffSeedSet(client, set, recordsExist)));
    return items;
  }

  async apply(
    client: ClientBase,
    log: Logger,
    { onRunning, printCommand }: StepApplyOptions = {},
  ): Promise<SeedSetItemResult[]> {
    const results: SeedSetItemResult[] = [];
    for (const set of this.sets) {
      const started = Date.now();
      onRunning?.({ step: "seeds", item: set.name });
      const outcome = await applySeedSet(client, set, log, printCommand);
      onRunning?.({ step: "seeds" });
      results.push({
        name: set.name,
        action: outcome.action,
        durationMs: Date.now() - started,
        ...(outcome.action === "unchanged" ? { skipped: upToDate(set) } : {}),
        details: {
          checksum: set.checksum,
          rows: set.rowCount,
          inserted: outcome.inserted,
          updated: outcome.updated,
          deleted: outcome.deleted,
        },
      });
    }
    return results;
  }

  async status(client: ClientBase): Promise<SeedSetStatus[]> {
    if (!(await seedRecordsExist(client))) return [];
    return (await readSeedSetRecords(client)).map((r) => ({
      name: r.name,
      checksum: r.checksum,
      rows: r.rowCount,
      appliedAt: r.appliedAt,
      appliedBy: r.appliedBy,
    }));
  }
}
