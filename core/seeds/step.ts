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
import { applySeedSet, diffSeedSet, planItem, type SeedSetDiff } from "./sync";

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
  /**
   * The diffs each plan's items were decided from, by the items plan() returned: plan counts the embedded rows
   * the pending sets change from these (core/vector-indexes/seeded-plan.ts) instead of diffing each set again.
   * Keyed by the very array, so a later plan (the rows may have changed since) never finds an older one's.
   */
  private readonly plannedDiffs = new WeakMap<readonly StepItemPlan[], ReadonlyMap<SeedSet, SeedSetDiff>>();

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
    const diffs = new Map<SeedSet, SeedSetDiff>();
    for (const set of this.sets) {
      const diff = await diffSeedSet(client, set, recordsExist);
      diffs.set(set, diff);
      items.push(planItem(set, diff));
    }
    this.plannedDiffs.set(items, diffs);
    return items;
  }

  /**
   * The diff of each set that plan() read to return `items` (these very items); undefined for items it did not
   * return, such as a plan the release's batched reads settled (every set unchanged, nothing diffed).
   */
  diffsPlanned(items: readonly StepItemPlan[]): ReadonlyMap<SeedSet, SeedSetDiff> | undefined {
    return this.plannedDiffs.get(items);
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
