// What apply would do to each vector index, from the table as it is and what the last release recorded.
// Pure: plan shows these decisions, apply carries them out.
import { shownName } from "../shown-names";
import type { StepItemPlan, VectorIndexPlanItem } from "../results";
import type { TableInventory, LiveIndex } from "./inventory";
import { measuredNothing } from "./calibrate";
import { rowsText } from "../count-format";
import { count, listsDrift, targetLists } from "./lists";
import { buildMemoryNeed, memoryProblem, type MemoryNeed } from "./memory";
import type { IndexRecord } from "./records";
import {
  HALFVEC_MAX_INDEX_DIM,
  indexNameFor,
  searchSetting,
  type EmbeddingTable,
  type IndexDefinition,
  type IndexMethod,
  type IndexSettings,
} from "./spec";

/**
 * Recalibrate (without rebuilding) once the rows differ from those calibrated on by this factor, either way.
 * Measured on the tenant-search benchmark's 100,000 chunks of 1,536 dimensions, grown with new draws of the
 * same topics, 50 held-out queries (docs/vector-indexes.md, "Growth and the calibrated setting"):
 * - IVFFlat, 2: at a fixed `probes` its recall holds as rows come from the same data (probes 26 as calibrated:
 *   recall@10 0.968 at 100,000 rows, 0.968-0.976 at 1.25, 1.5 and 2 times), its latency grows with the rows per
 *   list; recalibrated at twice the rows it took probes 22.
 * - HNSW, a quarter: at a fixed `ef_search` the same search over more rows finds less (ef_search 182 as
 *   calibrated, recall lower bound 0.951: 0.888-0.922 at 1.5 times the rows, 0.927-0.944 at 2 times; a graph
 *   built afresh at 2 times, 0.918-0.926), and the calibration stops at the least setting that reaches the
 *   target, so any growth eats into its margin; recalibrated at twice the rows it took ef_search 272. A quarter
 *   is also where the graphs over a tenant's sign bits are recalibrated (listed-indexes.ts), measured the same
 *   way.
 */
export const RECALIBRATE_FACTOR: Readonly<Record<IndexMethod, number>> = { ivfflat: 2, hnsw: 1.25 };

/** Why a recorded index's calibration is for another index (rebuiltSinceCalibration): plan's and status's words. */
export const REBUILT_SINCE_CALIBRATION =
  "built again since it was calibrated (a table rewrite, a REINDEX or a pg_restore)";

/**
 * Whether the live index is not the one the record's calibration measured: its storage (pg_class.relfilenode)
 * is not the one recorded at the build or the last calibration. VACUUM FULL, CLUSTER, an ALTER TABLE that
 * rewrites the table (a column's new type, a volatile default) and REINDEX [CONCURRENTLY] build the index
 * again from the rows of the day: IVFFlat's lists get new centres, HNSW a new graph, under the same name and
 * definition. VACUUM and ANALYZE keep the storage. ALTER INDEX ... SET TABLESPACE gives new storage too, a
 * copy of the same index, which cannot be told apart from REINDEX (TABLESPACE ...): it is recalibrated as
 * well, a needless calibration rather than a setting for another index. A pg_dump restored into another
 * cluster builds every index again, under storage numbers of that cluster's: the record's storage reads -1
 * there (records.ts, storageOnThisClusterSql), as it does after a pg_upgrade, whose new cluster keeps the indexes'
 * files (a needless calibration once more). A record without the storage (none
 * written yet) decides nothing.
 */
export function rebuiltSinceCalibration(record: IndexRecord, liveRelfilenode: number | undefined): boolean {
  return (
    record.relfilenode !== undefined &&
    liveRelfilenode !== undefined &&
    liveRelfilenode !== record.relfilenode
  );
}

/** Why an index cannot be decided on yet: nothing is built, and apply has nothing to run for it. */
export type SkipCause =
  /** The table's migration is pending. */
  | "table-missing"
  /** Row-level security hides the rows from the planning role. */
  | "rows-hidden"
  /** No embedded rows of this dimension (yet, or any more). */
  | "no-rows"
  /** A dimension a cosine index cannot have. */
  | "dimension-unsupported"
  /** The release's role does not own the table, so it cannot build the table's count index. */
  | "not-owner";

/**
 * The skips an operator must act on and apply cannot: the release's role does not own what it would change,
 * and the item's reason names the hand-over. plan counts them as work (`operatorItems`): not "nothing to do".
 * The others settle themselves (a pending migration, rows to come), say to plan as the migrator, or are no
 * one's to change (a dimension pgvector cannot index).
 */
const OPERATOR_SKIPS: ReadonlySet<SkipCause> = new Set<SkipCause>(["not-owner"]);

/** Whether a plan item is a skip the operator must act on (OPERATOR_SKIPS). */
export function needsOperator(item: StepItemPlan | VectorIndexPlanItem): boolean {
  return (
    "skip" in item && item.decision === "skip" && item.skip !== undefined && OPERATOR_SKIPS.has(item.skip)
  );
}

interface DecisionBase {
  name: string;
  table: EmbeddingTable;
  rows: number;
  /** Why, in words: the plan item's reason. */
  reason: string;
}

/** Build the index (first time, or again replacing the live one): what is built and the memory it needs. */
export interface BuildDecision extends DecisionBase {
  kind: "create" | "rebuild";
  action: "create" | "rebuild";
  dimension: number;
  definition: IndexDefinition;
  memory: MemoryNeed;
  /** Set when the build cannot get the memory it needs: apply refuses to start. */
  memoryProblem?: string;
  /** What the last release recorded (absent for a first build or an unrecorded index). */
  record?: IndexRecord;
  /** The index as it is (absent when it does not exist). */
  live?: LiveIndex;
}

/** Keep the built index, calibrate its search setting again. */
export interface RecalibrateDecision extends DecisionBase {
  kind: "recalibrate";
  action: "update";
  dimension: number;
  record: IndexRecord;
  live: LiveIndex;
}

/** The index is as recorded and calibrated for these rows: nothing to do. */
export interface KeepDecision extends DecisionBase {
  kind: "keep";
  action: "unchanged";
  dimension: number;
  record: IndexRecord;
  live: LiveIndex;
}

/** Nothing can be built yet (or any more): see `skip`. */
export interface SkipDecision extends DecisionBase {
  kind: "skip";
  action: "unchanged";
  skip: SkipCause;
  dimension?: number;
  live?: LiveIndex;
}

/** What apply does to one vector index: a discriminated union on `kind` (its `action` is the plan's word). */
export type IndexDecision = BuildDecision | RecalibrateDecision | KeepDecision | SkipDecision;

/** The plan item of a decision: name, action and reason, and which decision it is. */
export function planItemOf(decision: IndexDecision): VectorIndexPlanItem {
  const { name, action, reason, kind } = decision;
  return kind === "skip"
    ? { name, action, reason, decision: kind, skip: decision.skip }
    : { name, action, reason, decision: kind };
}

export interface DecideInput {
  inventory: TableInventory;
  records: readonly IndexRecord[];
  settings: IndexSettings;
  targetRecall: number;
  /** The session's maintenance_work_mem and the bound apply may raise it to, in MB. */
  serverMemoryMb: number;
  maxMemoryMb: number;
}

/**
 * The dimension that carries the base name: the configured one; else the one it already carries (so that a
 * name never moves to another dimension by itself); else the dimension with the most rows.
 */
export function mainDimension(input: DecideInput): number | undefined {
  const { inventory, records, settings } = input;
  if (settings.dimension !== undefined) return settings.dimension;
  const recorded = records.find((r) => r.name === inventory.table.indexName);
  if (recorded) return recorded.dimension;
  return inventory.rowsByDimension.keys().next().value;
}

export function decideTable(input: DecideInput): IndexDecision[] {
  const { inventory, records } = input;
  const table = inventory.table;
  if (!inventory.exists) {
    return [
      {
        name: table.indexName,
        table,
        rows: 0,
        kind: "skip",
        action: "unchanged",
        skip: "table-missing",
        reason: `table ${shownName(table.table)} does not exist yet (its migration is pending)`,
      },
    ];
  }
  if (inventory.rowsHidden) {
    return [
      {
        name: table.indexName,
        table,
        rows: 0,
        kind: "skip",
        action: "unchanged",
        skip: "rows-hidden",
        // Row-level security spares only the table's owner: the migrator's owner role is not that on a table a
        // restore left to the admin (pg_restore --no-owner), which verify names with its repair.
        reason: `row-level security hides the rows of ${shownName(table.table)} from this role: plan as the migrator to see what apply would do (as the migrator, the table is not its owner role's: verify names its owner and the repair)`,
      },
    ];
  }
  const main = mainDimension(input);
  const ours = records.filter((r) => r.table === table.table);
  const dimensions = new Set<number>([...inventory.rowsByDimension.keys(), ...ours.map((r) => r.dimension)]);
  if (main !== undefined) dimensions.add(main);
  const decisions = [...dimensions]
    .sort((a, b) => (a === main ? -1 : b === main ? 1 : a - b))
    .map((dimension) => decideIndex(input, dimension, dimension === main));
  if (decisions.length > 0) return decisions;
  return [
    {
      name: table.indexName,
      table,
      rows: 0,
      kind: "skip",
      action: "unchanged",
      skip: "no-rows",
      reason: `no embedded rows yet: built by the first apply after ${shownName(table.table)} has some`,
    },
  ];
}

function decideIndex(input: DecideInput, dimension: number, main: boolean): IndexDecision {
  const { inventory, settings } = input;
  const table = inventory.table;
  const name = indexNameFor(table, dimension, main);
  const rows = inventory.rowsByDimension.get(dimension) ?? 0;
  const record = input.records.find((r) => r.name === name);
  const live = inventory.indexes.get(name);
  const base = { name, table, dimension, rows };
  if (dimension < 2 || dimension > HALFVEC_MAX_INDEX_DIM) {
    return {
      ...base,
      live,
      kind: "skip",
      action: "unchanged",
      skip: "dimension-unsupported",
      reason: `${dimension} dimensions cannot have a cosine index (2 to ${HALFVEC_MAX_INDEX_DIM})`,
    };
  }
  if (rows === 0) {
    const reason = live
      ? `no rows of ${dimension} dimensions left; the index stays as it is`
      : `no rows of ${dimension} dimensions yet: built by the first apply after some exist`;
    return { ...base, live, kind: "skip", action: "unchanged", skip: "no-rows", reason };
  }
  const build = (action: "create" | "rebuild", why: string): BuildDecision => {
    const definition: IndexDefinition = {
      name,
      table,
      dimension,
      method: settings.method,
      params:
        settings.method === "ivfflat"
          ? { lists: targetLists(rows) }
          : { m: settings.m, efConstruction: settings.efConstruction },
    };
    const memory = buildMemoryNeed(definition, rows);
    const problem = memoryProblem(memory, input.serverMemoryMb, input.maxMemoryMb);
    const what = `${describeParams(definition)} on ${rowsText(rows)} of ${dimension} dimensions`;
    return {
      ...base,
      record,
      live,
      kind: action,
      action,
      reason: `${why}: ${what}${problem ? ` (cannot start: ${problem})` : ""}`,
      definition,
      memory,
      ...(problem ? { memoryProblem: problem } : {}),
    };
  };
  if (!live) return build("create", record ? "index missing (dropped outside a release)" : "new index");
  if (!live.valid) return build("rebuild", "the index is INVALID (an interrupted concurrent build)");
  if (!record) return build("rebuild", "the index exists but no release recorded how it was built");
  if (record.dimension !== dimension) {
    return build("rebuild", `the name moves from ${record.dimension} to ${dimension} dimensions`);
  }
  if (live.definition !== record.definition)
    return build("rebuild", "its definition was changed outside a release");
  if (record.method !== settings.method)
    return build("rebuild", `method ${record.method} -> ${settings.method}`);
  if (
    "m" in record.params &&
    (record.params.m !== settings.m || record.params.efConstruction !== settings.efConstruction)
  ) {
    return build(
      "rebuild",
      `HNSW parameters m=${record.params.m}, ef_construction=${record.params.efConstruction} -> m=${settings.m}, ef_construction=${settings.efConstruction}`,
    );
  }
  if ("lists" in record.params) {
    const drift = listsDrift(record.params.lists, record.rowsAtBuild, rows);
    if (drift) return build("rebuild", drift);
  }
  const built = { ...base, record, live };
  const calibration = record.calibration;
  // Recorded as built, never calibrated: an apply stopped in the calibration that follows a build (a signal,
  // a lost connection, a row it could not measure). The index is the one this plan would build.
  if (calibration.querySource === "none") {
    return {
      ...built,
      kind: "recalibrate",
      action: "update",
      reason: `calibrate ${calibration.setting}: the apply that built the index has not calibrated it (it stopped first, or is calibrating it now); the index is kept, not built again`,
    };
  }
  if (rebuiltSinceCalibration(record, live.relfilenode)) {
    return {
      ...built,
      kind: "recalibrate",
      action: "update",
      reason:
        `recalibrate ${calibration.setting}: ${REBUILT_SINCE_CALIBRATION}, so ${calibration.setting} = ` +
        `${calibration.value} was measured on the index it replaced; the index is kept, not built again`,
    };
  }
  if (calibration.targetRecall !== input.targetRecall) {
    return {
      ...built,
      kind: "recalibrate",
      action: "update",
      reason: `recalibrate ${calibration.setting} for target recall ${calibration.targetRecall} -> ${input.targetRecall}`,
    };
  }
  if (calibration.querySource === "rows") {
    return {
      ...built,
      kind: "recalibrate",
      action: "update",
      reason:
        `recalibrate ${calibration.setting}: its recall ${calibration.recall.toFixed(3)} was measured on rows of ` +
        `the table, which flatter the index; measure on held-out queries`,
    };
  }
  const ratio = rows / Math.max(1, calibration.rows);
  const factor = RECALIBRATE_FACTOR[record.method];
  if (ratio >= factor || ratio <= 1 / factor) {
    return {
      ...built,
      kind: "recalibrate",
      action: "update",
      reason: `recalibrate ${calibration.setting}: ${rowsText(calibration.rows)} when calibrated, ${count(rows)} now`,
    };
  }
  return {
    ...built,
    kind: "keep",
    action: "unchanged",
    reason:
      `${describeParams(record)} built on ${rowsText(record.rowsAtBuild)} (${count(rows)} now); ` +
      `${searchSetting(record.method)} = ${calibration.value} ` +
      (measuredNothing(calibration)
        ? `reads every row (too few rows for a held-out query, nothing measured)`
        : `gives recall@10 ${calibration.recall.toFixed(3)} on ${calibration.queries} held-out queries`),
  };
}

/** "ivfflat lists=20", "hnsw m=16 ef_construction=64". */
export function describeParams(index: Pick<IndexDefinition, "method" | "params">): string {
  const p = index.params;
  return "lists" in p ? `ivfflat lists=${p.lists}` : `hnsw m=${p.m} ef_construction=${p.efConstruction}`;
}
