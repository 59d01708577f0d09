// The vector indexes of a release, as its last ReleaseStep: built after the data they index (lists from the
// rows present), with the memory the build needs, calibrated, recorded; rebuilt when the table has drifted.
// docs/vector-indexes.md explains the choices.
import { shownName } from "../shown-names";
import type { ClientBase } from "pg";
import { ReleaseError, SettingError, settingDocument } from "../errors";
import type { Logger } from "../logger";
import { literal } from "../sql";
import { applyAgain, settingToChange, type CommandPrinter } from "../command-to-run";
import type { ReleaseStep, StepApplyOptions, StepBatch, StepManifestEntry } from "../steps";
import type {
  CalibrationFacts,
  IndexBuildFacts,
  IndexCalibrationFacts,
  StepItemResult,
  TenantSearchFacts,
  VectorIndexPlanItem,
  VectorIndexStatus,
} from "../results";
import { buildIndex, dropLeftovers } from "./build";
import {
  buildCountIndex,
  countIndexPlanItem,
  countIndexStateSql,
  type CountIndexReading,
} from "./count-index";
import { calibrate, measuredNothing, settingRange } from "./calibrate";
import { withCalibrationProgress } from "./calibration-progress";
import { describeWrongDimension, findWrongDimensionRows, isWrongDimensionError } from "./wrong-dimension";
import {
  SEARCH_BOOKKEEPING_DDL,
  SEARCH_CALIBRATIONS_EXIST_SQL,
  SEARCH_CALIBRATIONS_JSON_SQL,
  calibrateTenantSearch,
  searchCalibrationFromRow,
  type SearchCalibrationRow,
  missedTargets,
  readSearchCalibrations,
  saveSearchCalibration,
  setDatabaseSearchDefault,
  type SearchCalibrationRecord,
  type TenantCalibration,
  describePrefilterSmall,
  isPrefilterTable,
  PREFILTER_MIN_FACTOR,
  prefilterIndexStateSql,
  signBitsTriggerStateSql,
  type PrefilterIndexState,
  type SignBitsTriggerState,
} from "../search";
import {
  decideTable,
  planItemOf,
  rebuiltSinceCalibration,
  REBUILT_SINCE_CALIBRATION,
  type BuildDecision,
  type IndexDecision,
  type RecalibrateDecision,
} from "./decide";
import { describePrefilterGraph, prefilterGraphPrefix } from "../search/prefilter-graphs";
import {
  LISTED_INDEXES_PROBE_SQL,
  listedIndexesJsonSql,
  outgrownListedIndexes,
  rebuiltListedIndexes,
  readListedIndexes,
  unusableListedIndexes,
  type CalibratedTenantRows,
  type ListedIndex,
  type ListedIndexesProbe,
} from "../search/listed-indexes";
import { crossedThreshold } from "../search/crossed-threshold";
import {
  largestTenantsByDimension,
  largestTenantsSql,
  readInventory,
  rowsByDimensionSql,
  stepIndexSql,
  withSeededRows,
  type LiveIndex,
  type TableInventory,
  type TenantRows,
} from "./inventory";
import { formatCount, rowsText } from "../count-format";
import type { EmbeddedRowChanges } from "../seeds/seeded-row-changes";
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
  RELEASE_SETTINGS_EXIST_SQL,
  readRecordedSettings,
  recordedSettingsSql,
  recordSettings,
  settingChanges,
} from "../release-settings";
import { sameTargetConnector, type MonitorConnector } from "./progress";
import {
  searchDefaultReadingSql,
  readSearchDefault,
  recordedSearchDefault,
  restoreSearchDefault,
  searchDefaultDifference,
  searchDefaultPlanItem,
  searchDefaultStatus,
  type RecordedSearchDefault,
  type SearchDefaultReading,
} from "./search-default";
import {
  INDEX_RECORDS_JSON_SQL,
  RECORDED_INDEX_STORAGE_SQL,
  RECORDED_INDEX_VALIDITY_SQL,
  VECTOR_INDEX_BOOKKEEPING_DDL,
  indexRecordFromRow,
  readIndexRecords,
  type RecordRow,
  saveBuildRecord,
  saveCalibration,
  type Calibration,
  type IndexRecord,
} from "./records";
import { mergeSettings } from "../release-config";
import {
  isRebuildLeftover,
  indexPredicate,
  nearestQuery,
  operatorClass,
  quoteIdent,
  searchSetting,
  settingsChecksum,
  type EmbeddingTable,
  type IndexDefinition,
} from "./spec";

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

/** PostgreSQL's default maintenance_work_mem (64 MB): the build memory assumed where none was read. */
const DEFAULT_MAINTENANCE_WORK_MEM_MB = 64;

/**
 * The session's maintenance_work_mem in kB, as text: what a build starts from (chooseMemory never sets less),
 * read by apply's survey, plan's batched read and the plan of what runs after the Prisma-era upgrade alike.
 */
const SESSION_MEMORY_KB_SQL = "(SELECT setting FROM pg_settings WHERE name = 'maintenance_work_mem')";

/** SESSION_MEMORY_KB_SQL's reading in whole MB; PostgreSQL's default where none was read (every server has one). */
function sessionMemoryMbOf(kb: string | null | undefined): number {
  return Math.floor(Number(kb ?? DEFAULT_MAINTENANCE_WORK_MEM_MB * 1024) / 1024);
}

/** The session's maintenance_work_mem in MB (SESSION_MEMORY_KB_SQL), one round trip. */
async function sessionMemoryMb(client: ClientBase): Promise<number> {
  const result = await client.query<{ kb: string | null }>(`SELECT ${SESSION_MEMORY_KB_SQL} AS kb`);
  return sessionMemoryMbOf(result.rows[0]?.kb);
}

interface Survey {
  inventories: TableInventory[];
  decisions: IndexDecision[];
  serverMemoryMb: number;
  /**
   * The count indexes (count-index.ts) of the tables that exist without a valid one: built first, or
   * skipped when the release's role may not build them.
   */
  countItems: VectorIndexPlanItem[];
  /** The database's search default when it is not the recorded one (search-default.ts), and what apply does. */
  searchDefault?: { recorded: RecordedSearchDefault; item: VectorIndexPlanItem };
}

/** One table as the batched read sees it: null while the table (or "EmbeddingSpace") does not exist. */
type TableState = {
  hidden: boolean;
  counts: [number, number][];
  /** largestTenantsSql's rows; absent for a hidden table. */
  largest?: [number, string, number][];
  indexes: LiveIndex[];
  countIndex: CountIndexReading | null;
  signBitsTrigger?: SignBitsTriggerState | null;
  prefilterIndex?: PrefilterIndexState | null;
} | null;

interface IndexState {
  /** SESSION_MEMORY_KB_SQL: null where the server has no such setting. */
  memoryKb: string | null;
  records: RecordRow[];
  valid: Record<string, boolean>;
  /** Each recorded index's live pg_class.relfilenode (null when missing). */
  storage: Record<string, number | null>;
  tables: TableState[];
  searches: SearchCalibrationRow[];
  recordedSettings: Record<string, unknown> | null;
  /** The tenant indexes and graphs the search functions list, with their states. */
  listed: ListedIndex[];
  searchDefault: SearchDefaultReading;
}

/** What the probe tells: which tables exist, and whether the search calibrations' table does. */
interface IndexProbe {
  tables: ("absent" | "readable" | "hidden")[];
  /** Per table: it has its tenant column (a partial release may stop before the migration adding it). */
  tenantColumns?: boolean[];
  searches: boolean;
  settings: boolean;
  listings: ListedIndexesProbe;
}

export class VectorIndexStep implements ReleaseStep<"vectorIndexes"> {
  readonly kind = "vectorIndexes";
  readonly bookkeepingDdl = VECTOR_INDEX_BOOKKEEPING_DDL + SEARCH_BOOKKEEPING_DDL + RELEASE_SETTINGS_DDL;
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

  readonly batch: StepBatch<"vectorIndexes"> = {
    // Per table: whether it exists, and whether this role may count its rows (a table it cannot read, or
    // whose rows row-level security hides, is left out of the state read: a privilege check covers every
    // table a statement names, even in a branch that is not taken).
    probeSql: () =>
      `jsonb_build_object('tables', jsonb_build_array(${this.options.tables
        .map(({ table }) => {
          const regclass = `to_regclass(${literal(quoteIdent(table.table))})`;
          return `CASE WHEN ${regclass} IS NULL OR to_regclass('"EmbeddingSpace"') IS NULL THEN 'absent'
                       WHEN has_table_privilege(${regclass}, 'SELECT') AND NOT row_security_active(${regclass})
                       THEN 'readable' ELSE 'hidden' END`;
        })
        .join(", ")}), 'tenantColumns', jsonb_build_array(${this.options.tables
        .map(
          ({ table }) =>
            `EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass(${literal(quoteIdent(table.table))})
                        AND a.attname = ${literal(table.tenantColumn)} AND NOT a.attisdropped)`,
        )
        .join(
          ", ",
        )}), 'searches', ${SEARCH_CALIBRATIONS_EXIST_SQL}, 'settings', ${RELEASE_SETTINGS_EXIST_SQL},
        'listings', ${LISTED_INDEXES_PROBE_SQL})`,
    stateSql: (probe, actingAs) => {
      const found = probe as IndexProbe | undefined;
      const tables = this.options.tables.map(({ table }, i) => {
        const seen = found?.tables[i];
        if (seen === "readable") {
          return tableStateSql(table, found?.tenantColumns?.[i] ?? false, actingAs);
        }
        return seen === "hidden"
          ? `jsonb_build_object('hidden', true, 'counts', '[]'::jsonb, 'indexes', '[]'::jsonb,
                                'countIndex', ${countIndexStateSql(table, actingAs)})`
          : "'null'::jsonb";
      });
      return `jsonb_build_object(
        'memoryKb', ${SESSION_MEMORY_KB_SQL},
        'records', ${INDEX_RECORDS_JSON_SQL},
        'valid', ${RECORDED_INDEX_VALIDITY_SQL},
        'storage', ${RECORDED_INDEX_STORAGE_SQL},
        'tables', jsonb_build_array(${tables.join(", ")}),
        'searches', ${found?.searches ? SEARCH_CALIBRATIONS_JSON_SQL : "'[]'::jsonb"},
        'recordedSettings', ${found?.settings ? recordedSettingsSql("vectorIndexes") : "'null'::jsonb"},
        'listed', ${listedIndexesJsonSql(found?.listings)},
        'searchDefault', ${searchDefaultReadingSql(actingAs)})`;
    },
    planFromState: (state) => {
      const settled = this.settleWith((state as IndexState).recordedSettings ?? undefined);
      const survey = this.surveyOf(state as IndexState);
      return [...this.settingItems(settled), ...planItemsOf(survey)];
    },
    noopFromState: (state) => {
      const settled = this.settleWith((state as IndexState).recordedSettings ?? undefined);
      // Settings never recorded (a database released before the record) are written by a real apply.
      if (!settled.recorded || this.settingItems(settled).length > 0) return false;
      const { inventories, decisions, countItems, searchDefault } = this.surveyOf(state as IndexState);
      const leftovers = inventories.some((inv) => [...inv.indexes.keys()].some(isRebuildLeftover));
      return (
        !leftovers &&
        [...countItems, ...(searchDefault ? [searchDefault.item] : [])].every(
          (item) => item.decision === "skip",
        ) &&
        decisions.every((d) => d.kind === "keep" || d.kind === "skip")
      );
    },
    // A no-op apply has only keep and skip decisions (noopFromState).
    noopResults: (state, log) => {
      const { countItems, decisions, searchDefault } = this.surveyOf(state as IndexState);
      // A skipped count index or database default needs the operator (the owner): said as apply() says it.
      const defaultItems = searchDefault ? [searchDefault.item] : [];
      for (const item of [...countItems, ...defaultItems]) log.warn(`${item.name}: ${item.reason}`);
      return [...countItems, ...decisions, ...defaultItems].map(skippedResult);
    },
    recordedSettingsFromState: (state) => (state as IndexState).recordedSettings ?? undefined,
    statusFromState: (state) => {
      const { records, valid, storage, searches, recordedSettings, listed, searchDefault } =
        state as IndexState;
      this.settleForStatus(recordedSettings ?? undefined);
      const calibrations = searches.map(searchCalibrationFromRow);
      const inventories = this.inventoriesOf(state as IndexState);
      const indexRecords = records.map(indexRecordFromRow);
      const databaseDefault = databaseDefaultFact(indexRecords, calibrations, searchDefault);
      return indexRecords.map((r) => ({
        ...statusOf(
          r,
          this.options,
          valid[r.name] === undefined ? "missing" : valid[r.name] ? "valid" : "INVALID",
          storage[r.name] ?? undefined,
        ),
        ...tenantSearchFacts(
          calibrations.find((c) => c.indexName === r.name),
          listed,
          r,
          largestTenantsOf(inventories, r),
          dimensionRowsOf(inventories, r),
        ),
        ...(r.name === databaseDefault?.indexName ? { databaseDefault: databaseDefault.text } : {}),
      }));
    },
  };

  /** survey() from the batched read's state. */
  private surveyOf(state: IndexState): Survey {
    const records = state.records.map(indexRecordFromRow);
    const serverMemoryMb = sessionMemoryMbOf(state.memoryKb);
    const inventories = this.inventoriesOf(state);
    const searches = state.searches.map(searchCalibrationFromRow);
    const decisions = this.options.tables.flatMap(({ settings }, i) =>
      decideTable({
        inventory: inventories[i]!,
        records,
        settings,
        targetRecall: this.options.targetRecall,
        serverMemoryMb,
        maxMemoryMb: this.options.maxMemoryMb,
      }).map((d) => withTenantSearch(d, searches, inventories[i]!, state.listed)),
    );
    return {
      inventories,
      decisions,
      serverMemoryMb,
      countItems: countItemsOf(inventories),
      ...searchDefaultOf(records, searches, state.searchDefault, decisions),
    };
  }

  /** Each table's inventory, from the batched read's state. */
  private inventoriesOf(state: IndexState): TableInventory[] {
    return this.options.tables.map(({ table }, i): TableInventory => {
      const found = state.tables[i];
      const empty = {
        table,
        rowsHidden: false,
        rowsByDimension: new Map<number, number>(),
        largestTenants: new Map<number, TenantRows[]>(),
        indexes: new Map(),
        ...(found?.countIndex ? { countIndex: found.countIndex } : {}),
        ...(found?.signBitsTrigger ? { signBitsTrigger: found.signBitsTrigger } : {}),
        ...(found?.prefilterIndex ? { prefilterIndex: found.prefilterIndex } : {}),
      };
      if (!found) return { ...empty, exists: false };
      if (found.hidden) return { ...empty, exists: true, rowsHidden: true };
      return {
        ...empty,
        exists: true,
        rowsByDimension: new Map(found.counts),
        largestTenants: largestTenantsByDimension(found.largest ?? []),
        indexes: new Map(found.indexes.map((index) => [index.name, index])),
      };
    });
  }

  /** The options this run uses: the given ones, over the recorded ones when asked to keep those. */
  private async settle(client: ClientBase): Promise<Settled> {
    return this.settleWith(await readRecordedSettings(client, "vectorIndexes"));
  }

  /** settle() with the record already read (the batched read of a release). */
  private settleWith(recorded: Record<string, unknown> | undefined): Settled {
    const base = this.unsetFromRecord && recorded ? recorded : {};
    // Leaf by leaf, as --config and --set merge (one merge): a given per-index value keeps the other
    // recorded per-index values instead of replacing the whole `indexes` object.
    const effective = completeVectorIndexOptions(
      mergeSettings(base, this.given as Record<string, unknown>) as VectorIndexOptions,
    );
    try {
      this.options = resolveOptions(effective);
    } catch (error) {
      throw recordedRefusal(error, this.given as Record<string, unknown>, base) ?? error;
    }
    return { recorded, effective };
  }

  /**
   * settleWith() for status, which takes no settings: a recorded value this version refuses (recordedRefusal)
   * is left out, so that status still shows the records; plan and apply refuse it.
   */
  private settleForStatus(recorded: Record<string, unknown> | undefined): void {
    try {
      this.settleWith(recorded);
    } catch (error) {
      if (!(error instanceof RecordedSettingError)) throw error;
      this.settleWith(undefined);
    }
  }

  /** A changed setting as a plan item: "setting vectorIndexes.method" ("hnsw -> ivfflat"). */
  private settingItems({ recorded, effective }: Settled): VectorIndexPlanItem[] {
    if (!recorded) return [];
    return settingChanges("vectorIndexes", recorded, effective).map((line) => {
      const cut = line.indexOf(": ");
      return { name: line.slice(0, cut), action: "update", reason: line.slice(cut + 2), decision: "setting" };
    });
  }

  manifest(): StepManifestEntry[] {
    return this.options.tables.map(({ table, settings }) => ({
      name: table.indexName,
      checksum: settingsChecksum(table, settings, this.options.targetRecall),
    }));
  }

  async plan(client: ClientBase | undefined, actingAs?: string): Promise<VectorIndexPlanItem[]> {
    if (!client) {
      return this.options.tables.flatMap(({ table }): VectorIndexPlanItem[] => [
        {
          name: table.countIndexName,
          action: "create",
          decision: "create",
          reason: `no release yet: built by the first apply, to count the embedded rows of ${shownName(table.table)}`,
        },
        {
          name: table.indexName,
          action: "create",
          decision: "create",
          reason: `no release yet: built at the end of the first apply if ${shownName(table.table)} has embedded rows`,
        },
      ]);
    }
    const settled = await this.settle(client);
    return [...this.settingItems(settled), ...planItemsOf(await this.survey(client, actingAs))];
  }

  /**
   * What apply decides on the release's tables as the Prisma-era upgrade leaves them when it runs this step
   * after its cutover (plan's `afterUpgrade`): made by the upgrade's migrations, with none of this step's
   * indexes or records, and holding `embeddedRows` (per table name, the rows of each dimension). The upgrade
   * carries no embedding (core/adopt/upgrade/mapping.ts maps no embedding column), so these are only what the
   * steps before this one write (the seed sets). Decided by decideTable, as apply decides on what it reads:
   * a table without embedded rows is a skip, as plan says it of any empty table. `client`: the plan's session,
   * whose maintenance_work_mem is read as apply's survey reads it: the upgrade's release runs on the same
   * database as the same login (its role's and the database's settings, PGOPTIONS), so its builds start from
   * the same memory, and whether one fits the bound is decided alike.
   */
  async planOnUpgradedTables(
    client: ClientBase,
    embeddedRows: ReadonlyMap<string, ReadonlyMap<number, number>>,
  ): Promise<VectorIndexPlanItem[]> {
    const inventories = this.options.tables.map(
      ({ table }): TableInventory =>
        withSeededRows(
          {
            table,
            exists: true,
            rowsHidden: false,
            rowsByDimension: new Map(),
            largestTenants: new Map(),
            indexes: new Map(),
            // The upgrade's migrations made the table with its tenant column, as its owner: the count index to build.
            countIndex: { state: "missing", keyable: true, buildable: true, role: "", owner: "" },
          },
          { byDimension: new Map(embeddedRows.get(table.table)), byTenant: new Map() },
        ),
    );
    const serverMemoryMb = await sessionMemoryMb(client);
    const decisions = this.options.tables.flatMap(({ settings }, i) =>
      decideTable({
        inventory: inventories[i]!,
        records: [],
        settings,
        targetRecall: this.options.targetRecall,
        serverMemoryMb,
        maxMemoryMb: this.options.maxMemoryMb,
      }),
    );
    return planItemsOf({ inventories, decisions, serverMemoryMb, countItems: countItemsOf(inventories) });
  }

  /**
   * plan() on a released database whose apply loads `seeded` (per table name, how the seed sets change its
   * embedded rows, per dimension and per tenant) before this step runs: decided on each table's rows and largest
   * tenants plus those changes (withSeededRows), as apply then finds them (core/vector-indexes/seeded-plan.ts).
   */
  async planWithSeededRows(
    client: ClientBase,
    actingAs: string | undefined,
    seeded: ReadonlyMap<string, EmbeddedRowChanges>,
  ): Promise<VectorIndexPlanItem[]> {
    const settled = await this.settle(client);
    return [...this.settingItems(settled), ...planItemsOf(await this.survey(client, actingAs, seeded))];
  }

  async apply(
    client: ClientBase,
    log: Logger,
    { onRunning, printCommand }: StepApplyOptions = {},
  ): Promise<StepItemResult<"vectorIndexes">[]> {
    const settled = await this.settle(client);
    const { inventories, decisions, serverMemoryMb, countItems, searchDefault } = await this.survey(client);
    refuseBlockedBuilds(decisions, printCommand);
    const leftovers = inventories.flatMap((inv) => [...inv.indexes.keys()].filter(isRebuildLeftover));
    await dropLeftovers(client, leftovers, this.options.concurrently, log);
    const results: StepItemResult<"vectorIndexes">[] = [];
    // What an interrupted apply names: the index being built or calibrated, then the step alone again.
    const working = async <T>(item: string, action: "build" | "calibrate", work: () => Promise<T>) => {
      onRunning?.({ step: "vectorIndexes", item, action });
      const done = await work();
      onRunning?.({ step: "vectorIndexes" });
      return done;
    };
    for (const item of countItems) {
      if (item.decision === "skip") {
        log.warn(`${item.name}: ${item.reason}`);
        results.push(skippedResult(item));
        continue;
      }
      const { table } = this.options.tables.find((t) => t.table.countIndexName === item.name)!;
      results.push(
        await working(item.name, "build", () =>
          buildCountIndex(client, table, item, this.options.concurrently, log, printCommand),
        ),
      );
    }
    for (const decision of decisions) {
      const started = Date.now();
      const { name } = decision;
      switch (decision.kind) {
        case "create":
        case "rebuild": {
          const details = await working(name, "build", () =>
            this.build(client, decision, serverMemoryMb, log, printCommand, () =>
              onRunning?.({ step: "vectorIndexes", item: name, action: "calibrate" }),
            ),
          );
          results.push({ name, action: decision.action, durationMs: Date.now() - started, details });
          break;
        }
        case "recalibrate": {
          const details = await working(name, "calibrate", () =>
            this.recalibrate(client, decision, log, printCommand),
          );
          results.push({ name, action: "update", durationMs: Date.now() - started, details });
          break;
        }
        case "keep":
        case "skip":
          results.push(skippedResult(decision));
          break;
      }
    }
    // After the decisions: none of them calibrated the index whose setting it is (searchDefaultOf).
    if (searchDefault?.item.decision === "skip") {
      log.warn(`${searchDefault.item.name}: ${searchDefault.item.reason}`);
      results.push(skippedResult(searchDefault.item));
    } else if (searchDefault) {
      results.push(await restoreSearchDefault(client, searchDefault.item, searchDefault.recorded, log));
    }
    for (const item of this.settingItems(settled)) {
      log.info(`${item.name}: ${item.reason}`);
      results.push({ name: item.name, action: "update", durationMs: 0, details: { change: item.reason } });
    }
    await recordSettings(client, "vectorIndexes", settled.effective);
    return results;
  }

  recordedSettings(client: ClientBase): Promise<Record<string, unknown> | undefined> {
    return readRecordedSettings(client, "vectorIndexes");
  }

  async checkSettings(client: ClientBase): Promise<void> {
    await this.settle(client);
  }

  async status(client: ClientBase): Promise<VectorIndexStatus[]> {
    const records = await readIndexRecords(client);
    if (records.length === 0) return [];
    const live = await client.query<{ name: string; valid: boolean }>(
      `SELECT c.relname AS name, i.indisvalid AS valid
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ANY($1)`,
      [records.map((r) => r.name)],
    );
    const state = new Map(
      live.rows.map((r) => [r.name, r.valid ? ("valid" as const) : ("INVALID" as const)]),
    );
    const storage = (
      await client.query<{ storage: Record<string, number | null> }>(
        `SELECT ${RECORDED_INDEX_STORAGE_SQL} AS storage`,
      )
    ).rows[0]?.storage;
    const searches = await readSearchCalibrations(client);
    const listed = await readListedIndexes(client);
    const inventories: TableInventory[] = [];
    for (const { table } of this.options.tables) inventories.push(await readInventory(client, table));
    const databaseDefault = databaseDefaultFact(records, searches, await readSearchDefault(client));
    return records.map((r) => ({
      ...statusOf(r, this.options, state.get(r.name) ?? "missing", storage?.[r.name] ?? undefined),
      ...tenantSearchFacts(
        searches.find((c) => c.indexName === r.name),
        listed,
        r,
        largestTenantsOf(inventories, r),
        dimensionRowsOf(inventories, r),
      ),
      ...(r.name === databaseDefault?.indexName ? { databaseDefault: databaseDefault.text } : {}),
    }));
  }

  /**
   * `actingAs`: the --owner-role the release acts as, set by plan as by apply (countIndexStateSql). `seeded`:
   * how the seed sets before this step change the embedded rows, per table (planWithSeededRows).
   */
  private async survey(
    client: ClientBase,
    actingAs?: string,
    seeded?: ReadonlyMap<string, EmbeddedRowChanges>,
  ): Promise<Survey> {
    const records = await readIndexRecords(client);
    const serverMemoryMb = await sessionMemoryMb(client);
    const searches = await readSearchCalibrations(client);
    const listed = await readListedIndexes(client);
    const inventories: TableInventory[] = [];
    const decisions: IndexDecision[] = [];
    for (const { table, settings } of this.options.tables) {
      const inventory = withSeededRows(
        await readInventory(client, table, actingAs),
        seeded?.get(table.table),
      );
      inventories.push(inventory);
      decisions.push(
        ...decideTable({
          inventory,
          records,
          settings,
          targetRecall: this.options.targetRecall,
          serverMemoryMb,
          maxMemoryMb: this.options.maxMemoryMb,
        }).map((d) => withTenantSearch(d, searches, inventory, listed)),
      );
    }
    return {
      inventories,
      decisions,
      serverMemoryMb,
      countItems: countItemsOf(inventories),
      ...searchDefaultOf(records, searches, await readSearchDefault(client, actingAs), decisions),
    };
  }

  /** `print`: how a failure's fix names the apply to run again (ReleaseOptions.printCommand). */
  private async build(
    client: ClientBase,
    decision: BuildDecision,
    serverMemoryMb: number,
    log: Logger,
    print: CommandPrinter | undefined,
    onCalibrating: () => void,
  ): Promise<IndexBuildFacts> {
    const { definition, rows } = decision;
    const memory = chooseMemory({
      need: decision.memory,
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
      print,
    );
    const buildSettings = {
      maintenanceWorkMemMb: memory.setMb ?? serverMemoryMb,
      parallelWorkers: memory.workers,
      ...(outcome.launchedWorkers !== undefined ? { parallelWorkersLaunched: outcome.launchedWorkers } : {}),
      concurrently: this.options.concurrently,
    };
    const built = {
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
    };
    // The build is committed: recorded now, so that an apply stopped in the calibration (which takes longer than
    // the build on a large table, its tenant search most) leaves an index the next apply only calibrates, not
    // one whose definition differs from the record, which it would build again.
    await saveBuildRecord(client, {
      ...built,
      calibration: uncalibrated(decision, this.options.targetRecall),
    });
    onCalibrating();
    const { calibration, tenantSearch } = await this.calibrateBoth(client, decision, log, print);
    await saveBuildRecord(client, { ...built, calibration });
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
    decision: RecalibrateDecision,
    log: Logger,
    print: CommandPrinter | undefined,
  ): Promise<IndexCalibrationFacts> {
    log.info(`${decision.name}: ${decision.reason}`);
    const { calibration, tenantSearch } = await this.calibrateBoth(client, decision, log, print, (c) =>
      saveCalibration(client, decision.name, c),
    );
    return {
      table: decision.table.table,
      dimension: decision.dimension,
      rows: decision.rows,
      ...calibrationFacts(calibration),
      ...(tenantSearch ? { tenantSearch } : {}),
    };
  }

  /**
   * The index's calibration, then its tenant search's (`between` runs after the first). A row whose embedding
   * has another dimension than its space fails either with pgvector's bare error: traced to its rows
   * (wrong-dimension.ts), after the failure only, and reported as a release error naming them and the fix,
   * whose apply to run again `print` prints.
   */
  private async calibrateBoth(
    client: ClientBase,
    decision: BuildDecision | RecalibrateDecision,
    log: Logger,
    print: CommandPrinter | undefined,
    between?: (calibration: Calibration) => Promise<void>,
  ): Promise<{ calibration: Calibration; tenantSearch: TenantCalibration | undefined }> {
    const definition = definitionOf(decision);
    try {
      const calibration = await this.calibrateLogged(client, decision, log);
      await between?.(calibration);
      const tenantSearch = await this.calibrateSearchLogged(client, definition, calibration, log);
      return { calibration, tenantSearch };
    } catch (error) {
      if (!isWrongDimensionError(error)) throw error;
      const described = describeWrongDimension(
        definition,
        await findWrongDimensionRows(client, definition),
        print,
      );
      if (!described) throw error;
      throw new ReleaseError(
        "index-failed",
        `Calibrating ${decision.name} failed: ${(error as Error).message}\n${described.cause}\n` +
          `The index stays; the release stopped before recording this calibration in full.`,
        described.fix,
        { cause: error },
      );
    }
  }

  private async calibrateLogged(
    client: ClientBase,
    decision: BuildDecision | RecalibrateDecision,
    log: Logger,
  ): Promise<Calibration> {
    const definition = definitionOf(decision);
    const calibration = await withCalibrationProgress(
      client,
      {
        label: `${decision.name}: calibrating ${searchSetting(definition.method)}`,
        intervalMs: this.options.progressIntervalMs,
        log,
      },
      (counted) =>
        calibrate(counted, definition, decision.rows, {
          targetRecall: this.options.targetRecall,
          queries: this.options.calibrationQueries,
        }),
    );
    if (measuredNothing(calibration)) {
      log.info(
        `${decision.name}: ${calibration.setting} = ${calibration.value}, which reads every row: ` +
          `with ${rowsText(decision.rows)} embedded there is no held-out ` +
          `query (each is the sum of two rows), so nothing was measured; an apply recalibrates once the rows have doubled`,
      );
      return calibration;
    }
    const line =
      `${decision.name}: ${calibration.setting} = ${calibration.value} gives recall@10 ${calibration.recall} ` +
      `(at least ${calibration.recallLowerBound} at 95% confidence over ${calibration.queries} held-out queries; ` +
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
    const tenant = await withCalibrationProgress(
      client,
      {
        label: `${definition.name}: calibrating the tenant search`,
        intervalMs: this.options.progressIntervalMs,
        log,
      },
      (counted) =>
        calibrateTenantSearch(
          counted,
          definition,
          { setting: calibration.setting, value: calibration.value, max: settingRange(definition).max },
          { targetRecall: this.options.targetRecall, queries: this.options.calibrationQueries, log },
        ),
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
    const measured = tenant.classes
      .map((m) => `${m.class} ${m.kind} (${m.path}) recall ${m.recall}, p50 ${m.latencyP50Ms} ms`)
      .join(", ");
    const cost = tenant.cost
      ? `; calibrated with ${formatCount(tenant.cost.statements)} statements in ${(tenant.cost.ms / 1000).toFixed(1)} s`
      : "";
    const line =
      `${definition.name}: tenant search exact up to ${formatCount(tenant.exactRows)} visible rows, ` +
      `${tenant.setting} = ${tenant.value} above` +
      (measured
        ? `; ${measured}`
        : ` (no tenant filter measured: ${tenant.unmeasured ?? "none to measure"})`) +
      cost;
    for (const f of tenant.tenantIndexFailures ?? []) {
      const graph = f.indexName.startsWith(prefilterGraphPrefix(definition.table));
      log.warn(
        `${definition.name}: building ${f.indexName}, ` +
          (graph
            ? `the graph over tenant ${f.organizationId}'s sign bits, failed (${f.message}); that tenant is ` +
              `searched through the prefilter's b-tree until the next calibration`
            : `the own index of tenant ${f.organizationId}, failed (${f.message}); that tenant is searched ` +
              `through ${definition.name} or exactly until the next calibration`),
      );
    }
    const prefilter = tenant.prefilter;
    if (prefilter?.state === "on") {
      const built =
        prefilter.buildMs !== undefined
          ? ` (${prefilter.indexName} built in ${(prefilter.buildMs / 1000).toFixed(1)} s` +
            `${prefilter.backfilledRows ? `, sign bits filled for ${rowsText(prefilter.backfilledRows)} written earlier` : ""})`
          : "";
      log.info(
        `${definition.name}: below the exact threshold, tenants of more than ${PREFILTER_MIN_FACTOR * prefilter.depth} ` +
          `rows are searched through the prefilter at depth ${prefilter.depth}${built}: recall@10 ` +
          `${prefilter.recall}, p50 ${prefilter.latencyP50Ms} ms for the largest tenant`,
      );
      if (prefilter.small) log.info(`${definition.name}: ${describePrefilterSmall(prefilter.small)}`);
      for (const g of prefilter.graphs ?? []) log.info(`${definition.name}: ${describePrefilterGraph(g)}`);
    } else if (prefilter?.cause === "no-tenant-filter") {
      // The state of a database with one tenant (or none yet), said in the line above: nothing to act on.
      log.info(`${definition.name}: no prefilter until there is a tenant filter to measure it on`);
    } else if (prefilter && isPrefilterTable(definition.table.table)) {
      log.warn(`${definition.name}: no prefilter: ${prefilter.reason}`);
    }
    for (const t of tenant.tenantIndexes ?? []) {
      log.info(
        `${definition.name}: tenant ${t.organizationId} (${t.rows} rows) searches its own index ${t.indexName}` +
          `${t.buildMs !== undefined ? ` (built in ${(t.buildMs / 1000).toFixed(1)} s)` : ""}, ` +
          `hnsw.ef_search = ${t.efSearch} above ${t.exactRows} visible rows`,
      );
    }
    const missed = missedTargets(tenant);
    if (missed) log.warn(`${line}: ${missed}`);
    else log.info(line);
    return tenant;
  }
}

/** A survey's plan items: the count indexes, the vector indexes, then the database's search default. */
function planItemsOf({ countItems, decisions, searchDefault }: Survey): VectorIndexPlanItem[] {
  return [...countItems, ...decisions.map(planItemOf), ...(searchDefault ? [searchDefault.item] : [])];
}

/**
 * The database's search default when it differs from the record, unless a decision builds or recalibrates the
 * index it is the calibration of: that calibration sets it (calibrateSearchLogged), from its new value.
 */
function searchDefaultOf(
  records: readonly IndexRecord[],
  searches: readonly SearchCalibrationRecord[],
  reading: SearchDefaultReading | undefined,
  decisions: readonly IndexDecision[],
): Pick<Survey, "searchDefault"> {
  const difference = searchDefaultDifference(recordedSearchDefault(records, searches), reading);
  if (!difference) return {};
  const { recorded } = difference;
  if (decisions.some((d) => d.name === recorded.indexName && d.kind !== "keep" && d.kind !== "skip"))
    return {};
  return { searchDefault: { recorded, item: searchDefaultPlanItem(difference) } };
}

/** Status's `databaseDefault` and the index it goes on; undefined when nothing is recorded. */
function databaseDefaultFact(
  records: readonly IndexRecord[],
  searches: readonly SearchCalibrationRecord[],
  reading: SearchDefaultReading | undefined,
): { indexName: string; text: string } | undefined {
  const recorded = recordedSearchDefault(records, searches);
  if (!recorded || !reading) return undefined;
  return { indexName: recorded.indexName, text: searchDefaultStatus(recorded, reading) };
}

/**
 * The calibration a build is recorded with until it is calibrated (querySource "none", nothing measured): the
 * setting the last calibration of the same method left, which the database's session default still holds, or
 * the method's smallest.
 */
function uncalibrated(decision: BuildDecision, targetRecall: number): Calibration {
  const previous =
    decision.record?.method === decision.definition.method ? decision.record.calibration : undefined;
  return {
    setting: searchSetting(decision.definition.method),
    value: previous?.value ?? settingRange(decision.definition).min,
    targetRecall,
    recall: 0,
    recallLowerBound: 0,
    targetReached: false,
    latencyP50Ms: 0,
    latencyP95Ms: 0,
    exactP50Ms: 0,
    queries: 0,
    querySource: "none",
    rows: decision.rows,
  };
}

/** A release setting the database recorded that this version refuses (recordedRefusal). */
class RecordedSettingError extends ReleaseError {}

/** The value at `path` of nested settings, undefined where there is none. */
function settingAt(settings: Record<string, unknown>, path: readonly string[]): unknown {
  let at: unknown = settings;
  for (const key of path) {
    if (typeof at !== "object" || at === null || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/**
 * A setting this run did not give, refused as the last release recorded it: an earlier version accepted the
 * value (a fraction of a MB, say, before maxMaintenanceWorkMem was range-checked) or knew the key. Said as the
 * record's, with the way out (giving the setting, which apply records in its place), not as a mistake in
 * settings nobody gave. Undefined for any other error.
 */
function recordedRefusal(
  error: unknown,
  given: Record<string, unknown>,
  recorded: Record<string, unknown>,
): RecordedSettingError | undefined {
  if (!(error instanceof SettingError) || error.path[0] !== "vectorIndexes") return undefined;
  const path = error.path.slice(1);
  if (settingAt(given, path) !== undefined || settingAt(recorded, path) === undefined) return undefined;
  const name = error.path.join(".");
  const example = JSON.stringify(settingDocument(error.example.path, error.example.value));
  return new RecordedSettingError(
    "invalid-input",
    `${name} as the last release recorded it (neonhub_release.release_settings) ${error.problem}: an earlier ` +
      `version of neonhub-db accepted it, this one does not. Nothing was changed.`,
    `Give ${name} for this run, in the release settings (for example ${example}; the CLI also takes ` +
      `--set ${name}=<value>, a stack its neonhub-db:vectorIndexes config): apply records it in place of the ` +
      `recorded one.`,
    { cause: error },
  );
}

/** What a build builds, or what a recalibration calibrates: the index as recorded. */
function definitionOf(decision: BuildDecision | RecalibrateDecision): IndexDefinition {
  if (decision.kind !== "recalibrate") return decision.definition;
  const { name, table, dimension, record } = decision;
  return { name, table, dimension, method: record.method, params: record.params };
}

/** What apply reports for an index it left as it is, and why. */
function skippedResult(decision: Pick<IndexDecision, "name" | "reason">): StepItemResult<"vectorIndexes"> {
  const { name, reason } = decision;
  return { name, action: "unchanged", durationMs: 0, skipped: reason, details: { reason } };
}

/**
 * An index left as it is still needs its calibration under the tenant filter when it has none (a database
 * released before it), when a tenant index or graph the search lists for its dimension cannot be used, or when
 * its tenant has outgrown the rows it was calibrated on (listed-indexes.ts); a recorded one that missed its
 * target is said in the reason.
 */
function withTenantSearch(
  decision: IndexDecision,
  searches: readonly SearchCalibrationRecord[],
  inventory: TableInventory,
  listed: readonly ListedIndex[],
): IndexDecision {
  if (decision.kind !== "keep") return decision;
  const recalibrating = (why: string): IndexDecision => ({
    ...decision,
    kind: "recalibrate",
    action: "update",
    reason: `recalibrate: ${why}`,
  });
  const search = searches.find((c) => c.indexName === decision.name);
  if (!search) {
    return recalibrating("no calibration under the tenant filter yet");
  }
  // A record made before the prefilter (migration 20261203120000) has no word on it: calibrating builds it.
  if (search.prefilter === undefined && isPrefilterTable(decision.table.table)) {
    return recalibrating("the tenant search's prefilter is not built and calibrated yet");
  }
  // A record made before the sign-bit graphs (migration 20261203180000): calibrating builds the largest
  // tenants' (each record made since lists them, none included).
  if (search.prefilter?.state === "on" && search.prefilter.graphs === undefined) {
    return recalibrating("the largest tenants' graphs over their sign bits are not calibrated yet");
  }
  // A record made before the smaller depth of small tenants (migration 20261204050000).
  if (search.prefilter?.state === "on" && search.prefilter.small === undefined) {
    return recalibrating("the prefilter's smaller depth for small tenants is not calibrated yet");
  }
  // On, and its b-tree gone or INVALID since: a revert past migration 20261203120000 drops it with the column
  // it carries, and the migration applied again leaves the rows' bits empty; until the calibration fills them
  // and builds it again, the search reads its tenants exactly (a tenant of 4,000 rows: 9 -> 126 ms).
  if (
    search.prefilter?.state === "on" &&
    inventory.prefilterIndex !== undefined &&
    inventory.prefilterIndex !== "valid"
  ) {
    const gone = inventory.prefilterIndex === "missing" ? "is gone" : "is INVALID";
    return recalibrating(
      `the prefilter's b-tree ${search.prefilter.indexName} ${gone}; calibrating fills the sign bits and builds it again`,
    );
  }
  // Turned off because its trigger was disabled, and enabled again since: build and calibrate it now.
  if (
    search.prefilter?.state === "off" &&
    search.prefilter.cause === "trigger-disabled" &&
    inventory.signBitsTrigger === "enabled"
  ) {
    return recalibrating(
      "the trigger keeping the sign bits is enabled again; the prefilter is built and calibrated",
    );
  }
  const unusable = unusableListedIndexes(listed, decision.table.table, decision.dimension);
  if (unusable) {
    return recalibrating(
      `${unusable}; calibrating builds it again, or takes it off the list if the tenant no longer gets one (until then that tenant searches the dimension's index)`,
    );
  }
  const calibrated = calibratedRows(search);
  const outgrown = outgrownListedIndexes(listed, calibrated, decision.table.table, decision.dimension);
  if (outgrown) {
    return recalibrating(`${outgrown} (its search settings were measured on the smaller tenant)`);
  }
  const rebuilt = rebuiltListedIndexes(listed, calibrated, decision.table.table, decision.dimension);
  if (rebuilt) {
    return recalibrating(`${rebuilt}, so its hnsw.ef_search was measured on the index it replaced`);
  }
  const index = { table: decision.table.table, dimension: decision.dimension };
  const crossed = crossedThreshold(
    search,
    largestTenantsOf([inventory], index),
    listed,
    index,
    inventory.rowsByDimension.get(index.dimension),
  );
  if (crossed) {
    return recalibrating(`${crossed}; calibrating measures it there`);
  }
  const missed = missedTargets(search);
  return missed ? { ...decision, reason: `${decision.reason}; ${missed}` } : decision;
}

/**
 * The graphs and own indexes the calibration recorded, with the rows each was calibrated on (no graphs while the
 * prefilter is off).
 */
function calibratedRows(search: SearchCalibrationRecord): CalibratedTenantRows {
  return {
    graphs: search.prefilter?.state === "on" ? (search.prefilter.graphs ?? []) : [],
    ownIndexes: search.tenantIndexes ?? [],
  };
}

/** The embedded rows of an index's table and dimension, as the inventories read them. */
function dimensionRowsOf(
  inventories: readonly TableInventory[],
  index: { table: string; dimension: number },
): number | undefined {
  return inventories.find((inv) => inv.table.table === index.table)?.rowsByDimension.get(index.dimension);
}

/** The largest tenants of an index's table and dimension, as the inventories read them. */
function largestTenantsOf(
  inventories: readonly TableInventory[],
  index: { table: string; dimension: number },
): TenantRows[] {
  const inventory = inventories.find((inv) => inv.table.table === index.table);
  return inventory?.largestTenants.get(index.dimension) ?? [];
}

/** Status's tenant search of one index: the record, and what the listed indexes and the tenants say now. */
function tenantSearchFacts(
  search: SearchCalibrationRecord | undefined,
  listed: readonly ListedIndex[],
  index: { table: string; dimension: number },
  largestTenants: readonly TenantRows[],
  dimensionRows: number | undefined,
): {
  tenantSearch?: TenantSearchFacts;
} {
  if (!search) return {};
  const unusable = unusableListedIndexes(listed, index.table, index.dimension);
  const outgrown = outgrownListedIndexes(listed, calibratedRows(search), index.table, index.dimension);
  const rebuilt = rebuiltListedIndexes(listed, calibratedRows(search), index.table, index.dimension);
  const crossed = crossedThreshold(search, largestTenants, listed, index, dimensionRows);
  return {
    tenantSearch: {
      exactRows: search.exactRows,
      searchSetting: `${search.setting} = ${search.value}`,
      targetReached: search.targetReached,
      ...(missedTargets(search) ? { missed: missedTargets(search) } : {}),
      classes: search.classes,
      tenantIndexes: search.tenantIndexes ?? [],
      ...(search.prefilter ? { prefilter: search.prefilter } : {}),
      ...(search.cost ? { calibrationCost: search.cost } : {}),
      calibratedAt: search.calibratedAt,
      ...(unusable ? { unusableIndexes: unusable } : {}),
      ...(outgrown ? { outgrownIndexes: outgrown } : {}),
      ...(rebuilt ? { rebuiltIndexes: rebuilt } : {}),
      ...(crossed ? { crossedThreshold: crossed } : {}),
    },
  };
}

/** The count indexes a survey's tables need built (count-index.ts), in table order. */
function countItemsOf(inventories: readonly TableInventory[]): VectorIndexPlanItem[] {
  return inventories.flatMap((inv) =>
    inv.exists ? (countIndexPlanItem(inv.table, inv.countIndex) ?? []) : [],
  );
}

/** What readInventory reads, as one jsonb value (for a table that exists). */
function tableStateSql(table: EmbeddingTable, hasTenantColumn: boolean, actingAs?: string): string {
  const name = quoteIdent(table.table);
  const largest = hasTenantColumn
    ? `(SELECT coalesce(jsonb_agg(jsonb_build_array(l.dimension, l.org, l.rows)), '[]'::jsonb)
          FROM (${largestTenantsSql(table)}) l)`
    : "'[]'::jsonb";
  return `jsonb_build_object(
      'hidden', row_security_active(${literal(name)}::regclass),
      'largest', ${largest},
      'countIndex', ${countIndexStateSql(table, actingAs)},
      'signBitsTrigger', ${signBitsTriggerStateSql(table.table) ?? "NULL"},
      'prefilterIndex', ${prefilterIndexStateSql(table.table) ?? "NULL"},
      'counts', (SELECT coalesce(jsonb_agg(jsonb_build_array(c.dimension, c.rows) ORDER BY c.rows DESC, c.dimension), '[]'::jsonb)
                   FROM (${rowsByDimensionSql(table)}) c),
      'indexes', (SELECT coalesce(jsonb_agg(jsonb_build_object('name', c.relname, 'valid', i.indisvalid,
                          'definition', pg_get_indexdef(i.indexrelid), 'relfilenode', c.relfilenode::bigint)
                          ORDER BY c.relname), '[]'::jsonb)
                    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                   WHERE i.indrelid = ${literal(name)}::regclass AND ${stepIndexSql(table)}))`;
}

function refuseBlockedBuilds(decisions: readonly IndexDecision[], print: CommandPrinter | undefined): void {
  const blocked = decisions.filter(
    (d): d is BuildDecision & { memoryProblem: string } =>
      (d.kind === "create" || d.kind === "rebuild") && d.memoryProblem !== undefined,
  );
  if (blocked.length === 0) return;
  const needed = Math.max(...blocked.map((d) => d.memory.mb));
  throw new ReleaseError(
    "index-failed",
    `Not enough memory to build ${blocked.map((d) => d.name).join(", ")}; nothing was built:\n` +
      blocked.map((d) => `- ${d.name}: ${d.memoryProblem}`).join("\n"),
    `Raise ${settingToChange(print, "vectorIndexes.maxMaintenanceWorkMem")} to at least ${needed}MB (the server needs that much free memory during the build; it is raised for the build's session only), or use method "hnsw", which can build with less (on disk, slower); then ${applyAgain(print)}.`,
  );
}

function calibrationFacts(c: Calibration): CalibrationFacts {
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

function statusOf(
  record: IndexRecord,
  options: ResolvedOptions,
  state: VectorIndexStatus["state"],
  /** The index's live pg_class.relfilenode, compared with the record's (rebuiltSinceCalibration). */
  liveRelfilenode: number | undefined,
): VectorIndexStatus {
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
    calibrationQueries: c.queries,
    calibratedOn:
      c.querySource === "none"
        ? "not yet: the apply that built it has not calibrated it (it stopped first, or is calibrating it now)"
        : rebuiltSinceCalibration(record, liveRelfilenode)
          ? (`the index it replaced: ${REBUILT_SINCE_CALIBRATION}; apply recalibrates it` as const)
          : measuredNothing(c)
            ? "nothing: too few rows for a held-out query"
            : c.querySource === "held-out"
              ? "held-out queries"
              : "rows of the table",
    ...(table
      ? {
          query: nearestQuery(table, record.dimension),
          predicate: indexPredicate(table, record.dimension),
        }
      : {}),
  };
}
