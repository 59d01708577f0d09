// The vector indexes of a release, as its last ReleaseStep: built after the data they index (lists from the
// rows present), with the memory the build needs, calibrated, recorded; rebuilt when the table has drifted.
// docs/vector-indexes.md explains the choices.
import type { ClientBase } from "pg";
import { ReleaseError } from "../errors";
import type { Logger } from "../logger";
import type { ReleaseStep, StepItemPlan, StepItemResult, StepManifestEntry } from "../steps";
import { buildIndex, dropLeftovers } from "./build";
import { calibrate } from "./calibrate";
import { decideTable, type IndexDecision } from "./decide";
import { readInventory, type TableInventory } from "./inventory";
import { chooseMemory } from "./memory";
import {
  PARALLEL_MIN_ROWS,
  checkVectorIndexOptions,
  completeVectorIndexOptions,
  resolveOptions,
  type ResolvedOptions,
  type VectorIndexOptions,
} from "./options";
import {
  RELEASE_SETTINGS_DDL,
  readRecordedSettings,
  recordSettings,
  settingChanges,
} from "../release-settings";
import { sameTargetConnector, type MonitorConnector } from "./progress";
import {
  VECTOR_INDEX_BOOKKEEPING_DDL,
  readIndexRecords,
  saveBuildRecord,
  saveCalibration,
  type Calibration,
  type IndexRecord,
} from "./records";
import { REBUILD_SUFFIX, indexPredicate, nearestQuery, operatorClass, settingsChecksum } from "./spec";

export interface VectorIndexStepOptions extends VectorIndexOptions {
  /** Opens the connection that watches build progress; by default a second one like the release's. */
  progressConnection?: MonitorConnector;
  /**
   * Options left unset take what the database records from the last release (the CLI, which is not the
   * source of the settings); without it, unset means the default (the stack, whose config is).
   */
  unsetFromRecord?: boolean;
}

/** The settings a run uses, and what the database recorded before it (undefined before the first record). */
interface Settled {
  recorded: Record<string, unknown> | undefined;
  effective: Required<VectorIndexOptions>;
}

interface Survey {
  inventories: TableInventory[];
  decisions: IndexDecision[];
  serverMemoryMb: number;
}

export class VectorIndexStep implements ReleaseStep {
  readonly kind = "vectorIndexes";
  readonly bookkeepingDdl = VECTOR_INDEX_BOOKKEEPING_DDL + RELEASE_SETTINGS_DDL;
  /** The resolved options; with unsetFromRecord, settled against the database's record at plan and apply. */
  options: ResolvedOptions;
  private readonly given: VectorIndexOptions;
  private readonly unsetFromRecord: boolean;
  private readonly progressConnection?: MonitorConnector;

  /** Options are validated here, so that a wrong setting fails before any connection. */
  constructor(options: VectorIndexStepOptions = {}) {
    const { progressConnection, unsetFromRecord, ...settings } = options;
    this.given = checkVectorIndexOptions(settings);
    this.options = resolveOptions(this.given);
    this.unsetFromRecord = unsetFromRecord ?? false;
    this.progressConnection = progressConnection;
  }

  /** The options this run uses: the given ones, over the recorded ones when asked to keep those. */
  private async settle(client: ClientBase): Promise<Settled> {
    const recorded = await readRecordedSettings(client, "vectorIndexes");
    const base = this.unsetFromRecord && recorded ? (recorded as VectorIndexOptions) : {};
    const effective = completeVectorIndexOptions({ ...base, ...this.given });
    this.options = resolveOptions(effective);
    return { recorded, effective };
  }

  /** A changed setting as a plan item: "setting vectorIndexes.method" ("hnsw -> ivfflat"). */
  private settingItems({ recorded, effective }: Settled): StepItemPlan[] {
    if (!recorded) return [];
    return settingChanges("vectorIndexes", recorded, effective).map((line) => {
      const [name, change] = line.split(": ");
      return { name: name!, action: "update", reason: change! };
    });
  }

  manifest(): StepManifestEntry[] {
    return this.options.tables.map(({ table, settings }) => ({
      name: table.indexName,
      checksum: settingsChecksum(table, settings, this.options.targetRecall),
    }));
  }

  async plan(client: ClientBase | undefined): Promise<StepItemPlan[]> {
    if (!client) {
      return this.options.tables.map(({ table }) => ({
        name: table.indexName,
        action: "create",
        reason: `no release yet: built at the end of the first apply if "${table.table}" has embedded rows`,
      }));
    }
    const settled = await this.settle(client);
    const { decisions } = await this.survey(client);
    return [
      ...this.settingItems(settled),
      ...decisions.map(({ name, action, reason }): StepItemPlan => ({ name, action, reason })),
    ];
  }

  async apply(client: ClientBase, log: Logger): Promise<StepItemResult[]> {
    const settled = await this.settle(client);
    const { inventories, decisions, serverMemoryMb } = await this.survey(client);
    refuseBlockedBuilds(decisions);
    const leftovers = inventories.flatMap((inv) =>
      [...inv.indexes.keys()].filter((name) => name.endsWith(REBUILD_SUFFIX)),
    );
    await dropLeftovers(client, leftovers, this.options.concurrently, log);
    const results: StepItemResult[] = [];
    for (const decision of decisions) {
      const started = Date.now();
      let details: Record<string, unknown>;
      if (decision.action === "create" || decision.action === "rebuild") {
        details = await this.build(client, decision, serverMemoryMb, log);
      } else if (decision.action === "update") {
        details = await this.recalibrate(client, decision, log);
      } else {
        details = { reason: decision.reason };
      }
      results.push({
        name: decision.name,
        action: decision.action,
        durationMs: Date.now() - started,
        details,
      });
    }
    for (const item of this.settingItems(settled)) {
      log.info(`${item.name}: ${item.reason}`);
      results.push({ name: item.name, action: "update", durationMs: 0, details: { change: item.reason } });
    }
    await recordSettings(client, "vectorIndexes", settled.effective);
    return results;
  }

  async status(client: ClientBase): Promise<Record<string, unknown>[]> {
    const records = await readIndexRecords(client);
    if (records.length === 0) return [];
    const live = await client.query<{ name: string; valid: boolean }>(
      `SELECT c.relname AS name, i.indisvalid AS valid
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ANY($1)`,
      [records.map((r) => r.name)],
    );
    const state = new Map(live.rows.map((r) => [r.name, r.valid ? "valid" : "INVALID"]));
    return records.map((r) => statusOf(r, this.options, state.get(r.name) ?? "missing"));
  }

  private async survey(client: ClientBase): Promise<Survey> {
    const records = await readIndexRecords(client);
    const serverMemoryMb = await sessionMemoryMb(client);
    const inventories: TableInventory[] = [];
    const decisions: IndexDecision[] = [];
    for (const { table, settings } of this.options.tables) {
      const inventory = await readInventory(client, table);
      inventories.push(inventory);
      decisions.push(
        ...decideTable({
          inventory,
          records,
          settings,
          targetRecall: this.options.targetRecall,
          serverMemoryMb,
          maxMemoryMb: this.options.maxMemoryMb,
        }),
      );
    }
    return { inventories, decisions, serverMemoryMb };
  }

  private async build(
    client: ClientBase,
    decision: IndexDecision,
    serverMemoryMb: number,
    log: Logger,
  ): Promise<Record<string, unknown>> {
    const definition = decision.definition!;
    const rows = decision.rows;
    const memory = chooseMemory({
      need: decision.memory!,
      serverMb: serverMemoryMb,
      boundMb: this.options.maxMemoryMb,
      workers: rows >= PARALLEL_MIN_ROWS ? this.options.parallelWorkers : 0,
    });
    if (memory.shortfall) log.warn(`${decision.name}: ${memory.shortfall}`);
    log.info(`${decision.name}: ${decision.action} (${decision.reason})`);
    const outcome = await buildIndex(
      client,
      {
        definition,
        rows,
        replaces: decision.live !== undefined,
        memoryMb: memory.setMb,
        workers: memory.workers,
        concurrently: this.options.concurrently,
        progress: {
          connect: this.progressConnection ?? sameTargetConnector(client),
          intervalMs: this.options.progressIntervalMs,
        },
      },
      log,
    );
    const calibration = await this.calibrateLogged(client, decision, log);
    const buildSettings = {
      maintenanceWorkMemMb: memory.setMb ?? serverMemoryMb,
      parallelWorkers: memory.workers,
      ...(outcome.launchedWorkers !== undefined ? { parallelWorkersLaunched: outcome.launchedWorkers } : {}),
      concurrently: this.options.concurrently,
    };
    await saveBuildRecord(client, {
      name: decision.name,
      table: definition.table.table,
      dimension: definition.dimension,
      method: definition.method,
      operatorClass: operatorClass(definition.dimension),
      params: definition.params,
      definition: outcome.definition,
      rowsAtBuild: rows,
      buildMs: outcome.durationMs,
      buildSettings,
      calibration,
    });
    return {
      table: definition.table.table,
      dimension: definition.dimension,
      rows,
      method: definition.method,
      ...definition.params,
      buildMs: outcome.durationMs,
      ...buildSettings,
      ...calibrationFacts(calibration),
    };
  }

  private async recalibrate(
    client: ClientBase,
    decision: IndexDecision,
    log: Logger,
  ): Promise<Record<string, unknown>> {
    log.info(`${decision.name}: ${decision.reason}`);
    const calibration = await this.calibrateLogged(client, decision, log);
    await saveCalibration(client, decision.name, calibration);
    return {
      table: decision.table.table,
      dimension: decision.dimension,
      rows: decision.rows,
      ...calibrationFacts(calibration),
    };
  }

  private async calibrateLogged(
    client: ClientBase,
    decision: IndexDecision,
    log: Logger,
  ): Promise<Calibration> {
    const record = decision.record;
    const definition = decision.definition ?? {
      name: decision.name,
      table: decision.table,
      dimension: decision.dimension!,
      method: record!.method,
      params: record!.params,
    };
    const calibration = await calibrate(client, definition, decision.rows, {
      targetRecall: this.options.targetRecall,
      queries: this.options.calibrationQueries,
    });
    const line =
      `${decision.name}: ${calibration.setting} = ${calibration.value} gives recall@10 ${calibration.recall} ` +
      `(at least ${calibration.recallLowerBound} at 95% confidence over ${calibration.queries} queries; ` +
      `target ${calibration.targetRecall}), p50 ${calibration.latencyP50Ms} ms ` +
      `(exact search ${calibration.exactP50Ms} ms)`;
    if (calibration.targetReached) log.info(line);
    else log.warn(`${line}: the target is out of reach even at the largest setting`);
    return calibration;
  }
}

function refuseBlockedBuilds(decisions: readonly IndexDecision[]): void {
  const blocked = decisions.filter((d) => d.memoryProblem);
  if (blocked.length === 0) return;
  const needed = Math.max(...blocked.map((d) => d.memory!.mb));
  throw new ReleaseError(
    "index-failed",
    `Not enough memory to build ${blocked.map((d) => d.name).join(", ")}; nothing was built:\n` +
      blocked.map((d) => `- ${d.name}: ${d.memoryProblem}`).join("\n"),
    `Raise vectorIndexes.maxMaintenanceWorkMem to at least ${needed}MB (the server needs that much free memory during the build; it is raised for the build's session only), or use method "hnsw", which can build with less (on disk, slower).`,
  );
}

async function sessionMemoryMb(client: ClientBase): Promise<number> {
  const result = await client.query<{ kb: string }>(
    "SELECT setting AS kb FROM pg_settings WHERE name = 'maintenance_work_mem'",
  );
  return Math.floor(Number(result.rows[0]?.kb ?? 65536) / 1024);
}

function calibrationFacts(c: Calibration): Record<string, unknown> {
  return {
    searchSetting: c.setting,
    searchValue: c.value,
    recall: c.recall,
    recallLowerBound: c.recallLowerBound,
    targetRecall: c.targetRecall,
    targetReached: c.targetReached,
    latencyP50Ms: c.latencyP50Ms,
    latencyP95Ms: c.latencyP95Ms,
    exactP50Ms: c.exactP50Ms,
  };
}

function statusOf(record: IndexRecord, options: ResolvedOptions, state: string): Record<string, unknown> {
  const table = options.tables.find((t) => t.table.table === record.table)?.table;
  const c = record.calibration;
  return {
    name: record.name,
    state,
    table: record.table,
    dimension: record.dimension,
    method: record.method,
    ...record.params,
    operatorClass: record.operatorClass,
    rowsAtBuild: record.rowsAtBuild,
    builtAt: record.builtAt,
    buildMs: record.buildMs,
    maintenanceWorkMemMb: record.buildSettings.maintenanceWorkMemMb,
    parallelWorkers: record.buildSettings.parallelWorkers,
    searchSetting: `${c.setting} = ${c.value}`,
    recall: c.recall,
    recallLowerBound: c.recallLowerBound,
    targetRecall: c.targetRecall,
    targetReached: c.targetReached,
    latencyP50Ms: c.latencyP50Ms,
    latencyP95Ms: c.latencyP95Ms,
    ...(table
      ? {
          query: nearestQuery(table, record.dimension),
          predicate: indexPredicate(table, record.dimension),
        }
      : {}),
  };
}
