// What runs after the migrations, in order: row-level security enforcement (core/row-level-security.ts),
// seed sets, then vector indexes (built after the data they index). Each is a ReleaseStep so that
// plan/apply/status treat them alike.
import type { ClientBase } from "pg";
import type { CommandPrinter } from "./command-to-run";
import type { Logger } from "./logger";
import type { StepItemResult, StepKind, StepPlanMap, StepStatus } from "./results";

export type { StepItemPlan, StepItemResult, StepKind, StepPlanMap, StepStatus } from "./results";

/**
 * What a step is doing, told as it starts (core/interrupted-commands.ts names it when a signal stops the
 * apply): the step, and the item it is on when the step tells it (an index, a seed set).
 */
export interface RunningStep {
  step: StepKind;
  /** The item: a vector or count index, a seed set. */
  item?: string;
  /** vectorIndexes: whether the index is being built (built, calibrated and recorded) or only calibrated. */
  action?: "build" | "calibrate";
}

/** What apply gives a step besides its connection and log. */
export interface StepApplyOptions {
  /** Told the item the step starts on, where it has items worth naming if the apply is stopped there. */
  onRunning?: (running: RunningStep) => void;
  /**
   * How a fix names the apply to run again on this database (ReleaseOptions.printCommand): the CLI's with the
   * operator's options, the schema-release provider's `pulumi up`; unset, the words the fix had before.
   */
  printCommand?: CommandPrinter;
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
export interface StepBatch<K extends StepKind = StepKind> {
  /** A jsonb-valued SQL expression over the catalog only: valid on any database, even an empty one. */
  probeSql(): string;
  /**
   * A jsonb-valued SQL expression reading the step's records and facts, once the probe's value is known and
   * the bookkeeping tables are current; undefined when the probe shows that only the step's own plan()
   * can tell (a table it needs is missing, say). `actingAs`: the --owner-role the release acts as, which plan
   * and apply have both set as the session's role (current_user); what the step decides by the acting role's
   * privileges is read for it (core/acting-owner.ts, actingRoleSql).
   */
  stateSql(probe: unknown, actingAs?: string): string | undefined;
  /** The plan from the state; undefined when it is not settled by the state (plan() then reads on its own). */
  planFromState(state: unknown): StepPlanMap[K][] | undefined;
  /** Whether apply would change and write nothing at all, judged from the state. */
  noopFromState(state: unknown): boolean;
  /** What a no-op apply reports for the step's items, and logs, as its apply() would. */
  noopResults(state: unknown, log: Logger): StepItemResult<K>[];
  statusFromState(state: unknown): StepStatus<K>[];
  /** recordedSettings() read from the state. */
  recordedSettingsFromState?(state: unknown): Record<string, unknown> | undefined;
}

/** A step of kind K: its plan items, results and statuses are K's own types (core/results.ts). */
export interface ReleaseStep<K extends StepKind = StepKind> {
  readonly kind: K;
  /** Bookkeeping tables this step needs (idempotent DDL, run in the engine's schema). */
  readonly bookkeepingDdl: string;
  /** Computed without a database. */
  manifest(): StepManifestEntry[];
  /**
   * Read-only. `client` is undefined when the database has no release yet (everything would be created).
   * `actingAs`: as for StepBatch.stateSql.
   */
  plan(client: ClientBase | undefined, actingAs?: string): Promise<StepPlanMap[K][]>;
  /** Runs under the release lock, after the migrations (and earlier steps) are applied. */
  apply(client: ClientBase, log: Logger, options?: StepApplyOptions): Promise<StepItemResult<K>[]>;
  /** What the database records for this step, for `status` and the release summary. Read-only. */
  status(client: ClientBase): Promise<StepStatus<K>[]>;
  /**
   * Optional: the release settings the database records for this step (core/release-settings.ts, the
   * section named as the step's kind), as `status` shows them; undefined before the first record. Read-only.
   */
  recordedSettings?(client: ClientBase): Promise<Record<string, unknown> | undefined>;
  /**
   * Optional: refuses the settings this run would use, the given ones over what the database records, as the
   * step's plan and apply would (a recorded value this version no longer accepts). Apply calls it before its
   * first write, so that such a refusal leaves the migrations unapplied. Read-only.
   */
  checkSettings?(client: ClientBase): Promise<void>;
  /** Optional: the step's part in the batched reads (see StepBatch); without it the step reads on its own. */
  readonly batch?: StepBatch<K>;
}
