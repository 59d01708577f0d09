// What runs after the migrations, in order: row-level security enforcement (core/row-level-security.ts),
// seed sets, then vector indexes (built after the data they index). Each is a ReleaseStep so that
// plan/apply/status treat them alike.
import type { ClientBase } from "pg";
import type { Logger } from "./logger";

/** One thing a step manages (a seed set, an index), as it is now and what apply would do to it. */
export interface StepItemPlan {
  name: string;
  action: "create" | "update" | "rebuild" | "unchanged";
  /** Why the action, in words (e.g. "file changed: 3 rows differ", "table grew from 1,000 to 250,000 rows"). */
  reason: string;
}

export interface StepItemResult {
  name: string;
  action: StepItemPlan["action"];
  durationMs: number;
  /** Step-specific facts worth recording (rows written, lists, calibrated probes, recall...). */
  details: Record<string, unknown>;
}

/** The offline identity of an item, for the Pulumi manifest: a change here shows in `pulumi preview`. */
export interface StepManifestEntry {
  name: string;
  checksum: string;
}

export interface ReleaseStep {
  readonly kind: "rowLevelSecurity" | "seeds" | "vectorIndexes";
  /** Bookkeeping tables this step needs (idempotent DDL, run in the engine's schema). */
  readonly bookkeepingDdl: string;
  /** Computed without a database. */
  manifest(): StepManifestEntry[];
  /** Read-only. `client` is undefined when the database has no release yet (everything would be created). */
  plan(client: ClientBase | undefined): Promise<StepItemPlan[]>;
  /** Runs under the release lock, after the migrations (and earlier steps) are applied. */
  apply(client: ClientBase, log: Logger): Promise<StepItemResult[]>;
  /** What the database records for this step, for `status` and the release summary. Read-only. */
  status(client: ClientBase): Promise<Record<string, unknown>[]>;
}
