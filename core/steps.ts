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

/**
 * How a step reads what it needs in the release's batched reads instead of its own queries: the session
 * sends one catalog probe (valid on any database) and then one statement that reads the ledger and every
 * step's records and facts, each as a jsonb value. A no-op apply is then three round trips and a plan two.
 */
export interface StepBatch {
  /** A jsonb-valued SQL expression over the catalog only: valid on any database, even an empty one. */
  probeSql(): string;
  /**
   * A jsonb-valued SQL expression reading the step's records and facts, once the probe's value is known and
   * the bookkeeping tables are current; undefined when the probe shows that only the step's own plan()
   * can tell (a table it needs is missing, say).
   */
  stateSql(probe: unknown): string | undefined;
  /** The plan from the state; undefined when it is not settled by the state (plan() then reads on its own). */
  planFromState(state: unknown): StepItemPlan[] | undefined;
  /** Whether apply would change and write nothing at all, judged from the state. */
  noopFromState(state: unknown): boolean;
  /** What a no-op apply reports for the step's items (the same as its apply() would). */
  noopResults(state: unknown): StepItemResult[];
  statusFromState(state: unknown): Record<string, unknown>[];
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
  /** Optional: the step's part in the batched reads (see StepBatch); without it the step reads on its own. */
  readonly batch?: StepBatch;
}
