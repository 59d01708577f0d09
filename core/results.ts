// The typed results of a release: what each migration and each step item did (or why it was skipped), how long
// each step took, and what each step records for `status`. One type per step, keyed by the step's kind, so
// that the CLI's renderers, `--json` and the providers' outputs read named fields instead of bags of values.
// Checksums are full sha256 hex everywhere here; only renderers shorten them (core/display.ts).
import type { ClassMeasurement, TenantCalibration, TenantIndexFacts } from "./search/calibrate-tenants";
import type { PrefilterFacts } from "./search/prefilter";
import type { SkipCause } from "./vector-indexes/decide";
import type { IndexMethod } from "./vector-indexes/spec";

/** The steps that run after the migrations, in order. */
export const STEP_KINDS = ["rowLevelSecurity", "seeds", "vectorIndexes"] as const;
export type StepKind = (typeof STEP_KINDS)[number];

/** What a migration run did to one migration: applied by apply, reverted by revert. */
export interface MigrationResult {
  name: string;
  /** The file's full sha256 (hex, 64 characters): the value the ledger records. */
  checksum: string;
  outcome: "applied" | "reverted";
  durationMs: number;
}

/**
 * The migration a run stopped at, for machines (`--json`: `error.failedMigration`), so that CI learns which one
 * without reading the message. The migrations this run finished before it stay applied (up) or reverted (down).
 */
export interface FailedMigration {
  name: string;
  /** The file's full sha256. */
  checksum: string;
  direction: "up" | "down";
  /** The server's SQLSTATE (55P03 for a lock it could not take in time); null when it gave none. */
  sqlstate: string | null;
  /** The file's line where the failed statement is (at the server's position when it gave one); null when not known. */
  line: number | null;
  /** The failed statement's 1-based number in its section (Up for apply, Down for revert); null when not known. */
  statement: number | null;
  /** Migrations this run finished before it failed: applied before it (up), reverted after it (down). */
  finished: number;
}

/** One thing a step manages (a seed set, an index), as it is now and what apply would do to it. */
export interface StepItemPlan {
  name: string;
  action: "create" | "update" | "rebuild" | "unchanged";
  /** Why the action, in words (e.g. "file changed: 3 rows differ", "table grew from 1,000 to 250,000 rows"). */
  reason: string;
  /**
   * A seed set's tables or columns the schema does not have (yet): apply refuses the set unless a pending
   * migration adds them, and with none pending the plan reports it as a problem.
   */
  schemaMismatch?: string[];
}

/**
 * A vector-index plan item says which decision it is (core/vector-indexes/decide.ts), a changed setting, or the
 * database's search default set again to the record (core/vector-indexes/search-default.ts).
 */
export interface VectorIndexPlanItem extends StepItemPlan {
  decision: "create" | "rebuild" | "recalibrate" | "keep" | "skip" | "setting" | "search-default";
  /** Why nothing can be done yet, for a skip. */
  skip?: SkipCause;
}

/**
 * The table a row-level security item turns enforcement on or off for, by its raw names. The item's `name`
 * leaves out the schema when it is public (`Chunk`, `other.Chunk`), which machine readers match; the text shows
 * the table from these names as quote_ident writes them (`public."Chunk"`), like every other report line.
 */
export interface PolicyTableName {
  schema: string;
  name: string;
}

export interface RowLevelSecurityPlanItem extends StepItemPlan {
  /** Absent for the "tenant tables" a first release's migrations have yet to create. */
  table?: PolicyTableName;
}

export interface StepPlanMap {
  rowLevelSecurity: RowLevelSecurityPlanItem;
  seeds: StepItemPlan;
  vectorIndexes: VectorIndexPlanItem;
}

/** Fields every item result has: `skipped` says why nothing ran for it (absent when something ran). */
interface ItemResultBase {
  name: string;
  durationMs: number;
  skipped?: string;
}

export interface RowLevelSecurityItemResult extends ItemResultBase {
  action: "update";
  table: PolicyTableName;
  details: { rowLevelSecurity: "enabled" | "disabled" };
}

export interface SeedSetItemResult extends ItemResultBase {
  action: "create" | "update" | "unchanged";
  /** `checksum`: the set's full sha256. */
  details: { checksum: string; rows: number; inserted: number; updated: number; deleted: number };
}

/** A search calibration's figures, as a build or a recalibration reports them. */
export interface CalibrationFacts {
  searchSetting: "ivfflat.probes" | "hnsw.ef_search";
  searchValue: number;
  recall: number;
  recallLowerBound: number;
  targetRecall: number;
  targetReached: boolean;
  latencyP50Ms: number;
  latencyP95Ms: number;
  exactP50Ms: number;
}

/** The calibration under the tenant filter (core/search), as results and status show it. */
export interface TenantSearchFacts {
  exactRows: number;
  searchSetting: string;
  targetReached: boolean;
  missed?: string;
  classes: ClassMeasurement[];
  /** The largest tenants' own indexes, as the last calibration kept them. */
  tenantIndexes: TenantIndexFacts[];
  /** What the last calibration cost: statements sent and time taken. */
  calibrationCost?: { statements: number; ms: number };
  /** The prefilter below the exact threshold (core/search/prefilter.ts); absent before it was calibrated. */
  prefilter?: PrefilterFacts;
  calibratedAt: string;
  /** The tenant indexes and graphs the search lists that are missing or INVALID now (listed-indexes.ts). */
  unusableIndexes?: string;
  /** The tenant indexes and graphs whose tenant has grown by a quarter since they were calibrated (listed-indexes.ts). */
  outgrownIndexes?: string;
  /** The tenant indexes and graphs built again (a REINDEX) since they were calibrated (listed-indexes.ts). */
  rebuiltIndexes?: string;
  /** The tenants grown past the exact threshold into the dimension's index since it was calibrated (crossed-threshold.ts). */
  crossedThreshold?: string;
}

export interface IndexParamsFacts {
  lists?: number;
  m?: number;
  efConstruction?: number;
}

/** What a vector index's recalibration reports: the index and the calibration's figures. */
export interface IndexCalibrationFacts extends CalibrationFacts {
  table: string;
  dimension: number;
  rows: number;
  tenantSearch?: TenantCalibration;
}

/** What a vector index's build reports: how it was built, then its calibration. */
export interface IndexBuildFacts extends IndexCalibrationFacts, IndexParamsFacts {
  method: IndexMethod;
  buildMs: number;
  maintenanceWorkMemMb: number;
  parallelWorkers: number;
  parallelWorkersLaunched?: number;
  concurrently: boolean;
}

/** What the build of a table's count index reports (core/vector-indexes/count-index.ts). */
export interface CountIndexFacts {
  table: string;
  counts: "embedded rows";
  buildMs: number;
  concurrently: boolean;
}

export type VectorIndexItemResult =
  | (ItemResultBase & { action: "create" | "rebuild"; details: IndexBuildFacts })
  | (ItemResultBase & { action: "create" | "rebuild"; details: CountIndexFacts })
  | (ItemResultBase & { action: "update"; details: IndexCalibrationFacts })
  /** A setting that changed (vectorIndexes.method, ...), recorded by this apply. */
  | (ItemResultBase & { action: "update"; details: { change: string } })
  | (ItemResultBase & { action: "unchanged"; skipped: string; details: { reason: string } });

export interface StepItemResultMap {
  rowLevelSecurity: RowLevelSecurityItemResult;
  seeds: SeedSetItemResult;
  vectorIndexes: VectorIndexItemResult;
}

/** What one item of a step did; `StepItemResult<"seeds">` for one step's. */
export type StepItemResult<K extends StepKind = StepKind> = StepItemResultMap[K];

/** What one step did in an apply: its time, and how many of its items ran or were skipped. */
export interface StepResult {
  step: StepKind;
  durationMs: number;
  ran: number;
  skipped: number;
}

export interface RowLevelSecurityStatus {
  name: "row-level security";
  mode: "enforce" | "off";
  tables: number;
  enforced: number;
  changedAt: string | null;
  changedBy: string | null;
}

export interface SeedSetStatus {
  name: string;
  /** The applied set's full sha256. */
  checksum: string;
  rows: number;
  appliedAt: string;
  appliedBy: string;
}

export interface VectorIndexStatus extends IndexParamsFacts {
  name: string;
  state: "valid" | "INVALID" | "missing";
  table: string;
  dimension: number;
  method: IndexMethod;
  operatorClass: string;
  rowsAtBuild: number;
  builtAt: string;
  buildMs: number;
  maintenanceWorkMemMb: number;
  parallelWorkers: number;
  /** "ivfflat.probes = 10". */
  searchSetting: string;
  recall: number;
  recallLowerBound: number;
  targetRecall: number;
  targetReached: boolean;
  latencyP50Ms: number;
  latencyP95Ms: number;
  /**
   * What the recall and latencies were measured on (rows of the table in records of older releases; nothing
   * below two embedded rows, where the setting reads every row and the figures are not measurements).
   */
  calibrationQueries: number;
  calibratedOn:
    | "held-out queries"
    | "rows of the table"
    | "nothing: too few rows for a held-out query"
    | "not yet: the apply that built it has not calibrated it (it stopped first, or is calibrating it now)"
    | "the index it replaced: built again since it was calibrated (a table rewrite, a REINDEX or a pg_restore); apply recalibrates it";
  query?: string;
  predicate?: string;
  tenantSearch?: TenantSearchFacts;
  /**
   * On the index whose calibration the release makes the database's default (ALTER DATABASE ... SET): that
   * default as the database has it, "ivfflat.probes = 10", or how it differs from the record (a restore or a
   * copy leaves it behind) and what sets it (core/vector-indexes/search-default.ts).
   */
  databaseDefault?: string;
}

export interface StepStatusMap {
  rowLevelSecurity: RowLevelSecurityStatus;
  seeds: SeedSetStatus;
  vectorIndexes: VectorIndexStatus;
}

/** What the database records for a step's item; `StepStatus<"seeds">` for one step's. */
export type StepStatus<K extends StepKind = StepKind> = StepStatusMap[K];
