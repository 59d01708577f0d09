// The vector indexes of a release, as its last ReleaseStep: built after the data they index (lists from the
// rows present), with the memory the build needs, calibrated, recorded; rebuilt when the table has drifted.
// docs/vector-indexes.md explains the choices.
import type { ClientBase } from "pg";
import { ReleaseError } from "../errors";
import type { Logger } from "../logger";
import type { ReleaseStep, StepItemPlan, StepItemResult, StepManifestEntry } from "../steps";
import { buildIndex, dropLeftovers } from "./build";
import { calibrate, settingRange } from "./calibrate";
import {
  SEARCH_BOOKKEEPING_DDL,
  calibrateTenantSearch,
  missedTargets,
  readSearchCalibrations,
  saveSearchCalibration,
  setDatabaseSearchDefault,
  type SearchCalibrationRecord,
  type TenantCalibration,
} from "../search";
import { decideTable, type IndexDecision } from "./decide";
import { readInventory, type TableInventory } from "./inventory";
import { chooseMemory } from "./memory";
import { PARALLEL_MIN_ROWS, resolveOptions, type ResolvedOptions, type VectorIndexOptions } from "./options";
import { sameTargetConnector, type MonitorConnector } from "./progress";
import {
  VECTOR_INDEX_BOOKKEEPING_DDL,
  readIndexRecords,
  saveBuildRecord,
  saveCalibration,
  type Calibration,
  type IndexRecord,
} from "./records";
import {
  REBUILD_SUFFIX,
  indexPredicate,
  nearestQuery,
  operatorClass,
  settingsChecksum,
  type IndexDefinition,
} from "./spec";

export interface VectorIndexStepOptions extends VectorIndexOptions {
  /** Opens the connection that watches build progress; by default a second one like the release's. */
  progressConnection?: MonitorConnector;
}

interface Survey {
  inventories: TableInventory[];
  decisions: IndexDecision[];
  serverMemoryMb: number;
}

export class VectorIndexStep implements ReleaseStep {
  readonly kind = "vectorIndexes";
  readonly bookkeepingDdl = VECTOR_INDEX_BOOKKEEPING_DDL + SEARCH_BOOKKEEPING_DDL;
  readonly options: ResolvedOptions;
  private readonly progressConnection?: MonitorConnector;

  /** Options are validated here, so that a wrong setting fails before any connection. */
  constructor(options: VectorIndexStepOptions = {}) {
    const { progressConnection, ...settings } = options;
    this.options = resolveOptions(settings);
    this.progressConnection = progressConnection;
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
    const { decisions } = await this.survey(client);
    return decisions.map(({ name, action, reason }) => ({ name, action, reason }));
  }

  async apply(client: ClientBase, log: Logger): Promise<StepItemResult[]> {
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
    const searches = await readSearchCalibrations(client);
    return records.map((r) => ({
      ...statusOf(r, this.options, state.get(r.name) ?? "missing"),
      ...tenantSearchFacts(searches.find((c) => c.indexName === r.name)),
    }));
  }

  private async survey(client: ClientBase): Promise<Survey> {
    const records = await readIndexRecords(client);
    const serverMemoryMb = await sessionMemoryMb(client);
    const searches = await readSearchCalibrations(client);
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
        }).map((d) => withTenantSearch(d, searches)),
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
    const tenantSearch = await this.calibrateSearchLogged(client, definition, calibration, log);
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
      ...(tenantSearch ? { tenantSearch } : {}),
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
    const tenantSearch = await this.calibrateSearchLogged(client, definitionOf(decision), calibration, log);
    return {
      table: decision.table.table,
      dimension: decision.dimension,
      rows: decision.rows,
      ...calibrationFacts(calibration),
      ...(tenantSearch ? { tenantSearch } : {}),
    };
  }

  private async calibrateLogged(
    client: ClientBase,
    decision: IndexDecision,
    log: Logger,
  ): Promise<Calibration> {
    const definition = definitionOf(decision);
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

  /** Calibration under the tenant filter (core/search/calibrate-tenants.ts), recorded and logged. */
  private async calibrateSearchLogged(
    client: ClientBase,
    definition: IndexDefinition,
    calibration: Calibration,
    log: Logger,
  ): Promise<TenantCalibration | undefined> {
    const tenant = await calibrateTenantSearch(
      client,
      definition,
      { setting: calibration.setting, value: calibration.value, max: settingRange(definition).max },
      { targetRecall: this.options.targetRecall, queries: this.options.calibrationQueries },
    );
    if (definition.name === definition.table.indexName && definition.table.table === "Chunk") {
      await setDatabaseSearchDefault(
        client,
        tenant?.setting ?? calibration.setting,
        tenant?.value ?? calibration.value,
        log,
      );
    }
    if (!tenant) return undefined;
    await saveSearchCalibration(client, definition.name, tenant);
    const line =
      `${definition.name}: tenant search exact up to ${tenant.exactRows} visible rows, ` +
      `${tenant.setting} = ${tenant.value} above; ` +
      tenant.classes
        .map((m) => `${m.class} ${m.kind} (${m.path}) recall ${m.recall}, p50 ${m.latencyP50Ms} ms`)
        .join(", ");
    const missed = missedTargets(tenant);
    if (missed) log.warn(`${line}: ${missed}`);
    else log.info(line);
    return tenant;
  }
}

function definitionOf(decision: IndexDecision): IndexDefinition {
  const record = decision.record;
  return (
    decision.definition ?? {
      name: decision.name,
      table: decision.table,
      dimension: decision.dimension!,
      method: record!.method,
      params: record!.params,
    }
  );
}

/**
 * An index left as it is still needs its calibration under the tenant filter when it has none (a database
 * released before it); a recorded one that missed its target is said in the reason.
 */
function withTenantSearch(
  decision: IndexDecision,
  searches: readonly SearchCalibrationRecord[],
): IndexDecision {
  if (decision.action !== "unchanged" || !decision.record) return decision;
  const search = searches.find((c) => c.indexName === decision.name);
  if (!search) {
    return {
      ...decision,
      action: "update",
      reason: "recalibrate: no calibration under the tenant filter yet",
    };
  }
  const missed = missedTargets(search);
  return missed ? { ...decision, reason: `${decision.reason}; ${missed}` } : decision;
}

function tenantSearchFacts(search: SearchCalibrationRecord | undefined): Record<string, unknown> {
  if (!search) return {};
  return {
    tenantSearch: {
      exactRows: search.exactRows,
      searchSetting: `${search.setting} = ${search.value}`,
      targetReached: search.targetReached,
      ...(missedTargets(search) ? { missed: missedTargets(search) } : {}),
      classes: search.classes,
      calibratedAt: search.calibratedAt,
    },
  };
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
