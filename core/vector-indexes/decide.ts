// What apply would do to each vector index, from the table as it is and what the last release recorded.
// Pure: plan shows these decisions, apply carries them out.
import type { StepItemPlan } from "../steps";
import type { TableInventory, LiveIndex } from "./inventory";
import { count, listsDrift, targetLists } from "./lists";
import { buildMemoryNeed, memoryProblem, type MemoryNeed } from "./memory";
import type { IndexRecord } from "./records";
import {
  HALFVEC_MAX_INDEX_DIM,
  indexNameFor,
  searchSetting,
  type EmbeddingTable,
  type IndexDefinition,
  type IndexSettings,
} from "./spec";

/** Recalibrate (without rebuilding) once the rows differ from those calibrated on by this factor. */
export const RECALIBRATE_FACTOR = 2;

export interface IndexDecision extends StepItemPlan {
  table: EmbeddingTable;
  dimension?: number;
  rows: number;
  /** What a create or rebuild builds. */
  definition?: IndexDefinition;
  memory?: MemoryNeed;
  /** Set when the build cannot get the memory it needs: apply refuses to start. */
  memoryProblem?: string;
  record?: IndexRecord;
  live?: LiveIndex;
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
 * The dimension that carries the plan's name: the configured one; else the one it already carries (so that a
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
        action: "unchanged",
        reason: `table "${table.table}" does not exist yet (its migration is pending)`,
      },
    ];
  }
  if (inventory.rowsHidden) {
    return [
      {
        name: table.indexName,
        table,
        rows: 0,
        action: "unchanged",
        reason: `row-level security hides the rows of "${table.table}" from this role: plan as the migrator to see what apply would do`,
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
      action: "unchanged",
      reason: `no embedded rows yet: built by the first apply after "${table.table}" has some`,
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
  const base = { name, table, dimension, rows, record, live };
  if (dimension < 2 || dimension > HALFVEC_MAX_INDEX_DIM) {
    return {
      ...base,
      action: "unchanged",
      reason: `${dimension} dimensions cannot have a cosine index (2 to ${HALFVEC_MAX_INDEX_DIM})`,
    };
  }
  if (rows === 0) {
    const reason = live
      ? `no rows of ${dimension} dimensions left; the index stays as it is`
      : `no rows of ${dimension} dimensions yet: built by the first apply after some exist`;
    return { ...base, action: "unchanged", reason };
  }
  const build = (action: "create" | "rebuild", why: string): IndexDecision => {
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
    const what = `${describeParams(definition)} on ${count(rows)} rows of ${dimension} dimensions`;
    return {
      ...base,
      action,
      reason: `${why}: ${what}${problem ? ` (cannot start: ${problem})` : ""}`,
      definition,
      memory,
      memoryProblem: problem,
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
  const calibration = record.calibration;
  if (calibration.targetRecall !== input.targetRecall) {
    return {
      ...base,
      action: "update",
      reason: `recalibrate ${calibration.setting} for target recall ${calibration.targetRecall} -> ${input.targetRecall}`,
    };
  }
  const ratio = rows / Math.max(1, calibration.rows);
  if (ratio >= RECALIBRATE_FACTOR || ratio <= 1 / RECALIBRATE_FACTOR) {
    return {
      ...base,
      action: "update",
      reason: `recalibrate ${calibration.setting}: ${count(calibration.rows)} rows when calibrated, ${count(rows)} now`,
    };
  }
  return {
    ...base,
    action: "unchanged",
    reason:
      `${describeParams(record)} built on ${count(record.rowsAtBuild)} rows (${count(rows)} now); ` +
      `${searchSetting(record.method)} = ${calibration.value} gives recall@10 ${calibration.recall.toFixed(3)}`,
  };
}

/** "ivfflat lists=20", "hnsw m=16 ef_construction=64". */
export function describeParams(index: Pick<IndexDefinition, "method" | "params">): string {
  const p = index.params;
  return "lists" in p ? `ivfflat lists=${p.lists}` : `hnsw m=${p.m} ef_construction=${p.efConstruction}`;
}
