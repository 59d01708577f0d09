// The vector indexes, as the release records them (core/vector-indexes: method, parameters, rows at build,
// calibrated search setting) next to the table as it is now. Whether one needs a rebuild or a new
// calibration is the vector-index step's own plan: health says "run apply" exactly when apply would act.
import { commandToRun, settingToChange, type CommandPrinter } from "../command-to-run";
import type { ReleaseInProgress } from "../lock";
import type { ClientBase } from "pg";
import type { ReleaseStep, StepItemPlan } from "../steps";
import type { SeenWaits } from "../lock-safety/bounded-waits";
import { lockTimeoutWords, type LockWait } from "../lock-safety/lock-waits";
import { isLockTimeout } from "../lock-safety/settings";
import type { LockWaitWords } from "../lock-safety/wait-names";
import { quoteIdentifier as quoteIdent } from "../identifiers";
import { literal } from "../sql";
import { shownName } from "../shown-names";
import { readInventory } from "../vector-indexes/inventory";
import { EMBEDDING_TABLES, readIndexRecords, type IndexRecord } from "../vector-indexes";
import {
  REBUILD_LEFTOVER,
  isCountIndexName,
  isRebuildLeftover,
  rebuildLeftoverAction,
} from "../vector-indexes/spec";
import { missedTargets, readSearchCalibrations, type SearchCalibrationRecord } from "../search";
import { tenantIndexPrefix } from "../search/tenant-indexes";

const isTenantIndex = (name: string) => EMBEDDING_TABLES.some((t) => name.startsWith(tenantIndexPrefix(t)));
import type { IndexStats } from "./index-stats";
import type { HealthFinding, IndexHealth } from "./report";

export const VECTOR_METHODS: readonly string[] = ["ivfflat", "hnsw"];

/** The table whose "dimension" each embedded row's space has, which the vector readings join. */
export const SPACES_TABLE = "EmbeddingSpace";

export interface VectorReading {
  records: IndexRecord[];
  /** The step's decision per index name (what apply would do). */
  decisions: Map<string, StepItemPlan>;
  /** Embedded rows now, per table and dimension. */
  rows: Map<string, Map<number, number>>;
  /** The calibrations under the tenant filter (core/search). */
  searches?: SearchCalibrationRecord[];
  /**
   * Set when another session's lock on `table` outlasted the report's lock timeout: `decisions` and `rows` are
   * then empty, not read. `wait`: what the watcher saw (absent when it saw no blocker).
   */
  locked?: { table: string; wait: LockWait | undefined };
}

/**
 * Records, the step's plan (read-only) and the rows each table holds per dimension now. The plan and the rows
 * join each row's "EmbeddingSpace", which nothing else in the report reads but the embedding scan: a lock on it
 * that outlasts --lock-timeout leaves them unread (`locked`) rather than failing the whole report, in a
 * savepoint of health's transaction. "EmbeddingSpace" is locked first, on its own, so that such a wait is
 * known to be on it; a wait on an embedded table still fails the report, whose tables section reads those
 * tables too. `seen`: the lock-wait watcher's, whose blocker the note names.
 */
export async function readVectorIndexes(
  client: ClientBase,
  step: ReleaseStep | undefined,
  released: boolean,
  seen?: SeenWaits,
): Promise<VectorReading> {
  const records = await readIndexRecords(client);
  const searches = await readSearchCalibrations(client);
  const spaces = await client.query<{ present: boolean }>(
    `SELECT to_regclass(${literal(quoteIdent(SPACES_TABLE))}) IS NOT NULL AS present`,
  );
  let lockingSpaces = false;
  await client.query("SAVEPOINT vector_readings");
  try {
    if (spaces.rows[0]?.present) {
      seen?.reset();
      lockingSpaces = true;
      await client.query(`LOCK TABLE ${quoteIdent(SPACES_TABLE)} IN ACCESS SHARE MODE`);
      lockingSpaces = false;
    }
    const plans = step ? await step.plan(released ? client : undefined) : [];
    const rows = new Map<string, Map<number, number>>();
    for (const table of EMBEDDING_TABLES) {
      const inventory = await readInventory(client, table);
      if (inventory.exists) rows.set(table.table, inventory.rowsByDimension);
    }
    await client.query("RELEASE SAVEPOINT vector_readings");
    return { records, decisions: new Map(plans.map((p) => [p.name, p])), rows, searches };
  } catch (error) {
    // Any other error is the report's, as before: thrown as it came (a lost connection fails the rollback too).
    const rolledBack = await client
      .query("ROLLBACK TO SAVEPOINT vector_readings; RELEASE SAVEPOINT vector_readings")
      .then(
        () => true,
        () => false,
      );
    if (!rolledBack || !lockingSpaces || !isLockTimeout(error)) throw error;
    const wait = seen?.lastWait();
    return {
      records,
      decisions: new Map(),
      rows: new Map(),
      searches,
      locked: { table: SPACES_TABLE, wait },
    };
  }
}

/**
 * The finding of vector indexes left unread behind another session's lock: an action, as the lock timeout it
 * replaces was a failure. A report that could not compare the indexes with the rows cannot say that nothing
 * needs action (exit 0, which a gate on stale indexes would take as fresh ones); it names the holder and the fix
 * in the words of every lock timeout (lockTimeoutWords; `names`: the bound's flag and the health to run again,
 * lockWaitWordsFor), and the rest of the report stands.
 */
export function vectorLockFinding(reading: VectorReading, names: LockWaitWords): HealthFinding | undefined {
  const lockTimeoutFlag = names.lockTimeout;
  const locked = reading.locked;
  if (!locked) return undefined;
  const { blocker, terminate, until } = lockTimeoutWords(locked.wait);
  return {
    severity: "action",
    subject: "vector indexes",
    problem:
      `not compared with the rows now (what apply would build, rebuild or recalibrate): another session held a lock on ${quoteIdent(locked.table)} ` +
      `longer than ${lockTimeoutFlag}, and the readings join each row's space there; ${blocker}`,
    action: `run ${names.rerun ?? "health"} again ${until}, or raise ${lockTimeoutFlag}.${terminate}`,
  };
}

/** Names to report: recorded, live (ivfflat/hnsw), or ones apply would create or change. */
export function vectorIndexNames(reading: VectorReading, live: Map<string, IndexStats>): string[] {
  const names = new Set<string>(reading.records.map((r) => r.name));
  for (const stats of live.values()) {
    // A large tenant's own index is the tenant search's (core/search/tenant-indexes.ts): status shows it
    // under the dimension's index, and the release drops or rebuilds it.
    if (isTenantIndex(stats.name)) continue;
    if (VECTOR_METHODS.includes(stats.method)) names.add(stats.name);
  }
  for (const decision of reading.decisions.values()) {
    // A table's count index is a b-tree for the release's own counts (core/vector-indexes/count-index.ts),
    // not a vector index: plan and verify report it.
    if (isCountIndexName(decision.name)) continue;
    if (decision.action !== "unchanged") names.add(decision.name);
  }
  return [...names].sort();
}

export function vectorIndexHealth(
  name: string,
  reading: VectorReading,
  live: Map<string, IndexStats>,
): IndexHealth {
  const record = reading.records.find((r) => r.name === name);
  const stats = live.get(name);
  const table =
    record?.table ?? stats?.table ?? EMBEDDING_TABLES.find((t) => name.startsWith(t.indexName))?.table;
  const rowsNow =
    record && !reading.locked ? (reading.rows.get(record.table)?.get(record.dimension) ?? 0) : null;
  return {
    name,
    table: table ?? "",
    kind: "vector",
    exists: stats !== undefined,
    valid: stats?.valid ?? null,
    sizeBytes: stats?.sizeBytes ?? null,
    scans: stats?.scans ?? null,
    tuplesRead: stats?.tuplesRead ?? null,
    method: record?.method ?? stats?.method,
    build: record ? { ...record.params } : undefined,
    rowsAtBuild: record?.rowsAtBuild ?? null,
    rowsNow,
    searchSetting: record ? { [record.calibration.setting]: record.calibration.value } : null,
  };
}

/**
 * What apply would do to the index, as a finding; nothing when apply would leave it as it is. `print`: how an
 * action prints the command to run on this database (ReleaseOptions.printCommand).
 */
export function vectorIndexFindings(
  index: IndexHealth,
  reading: VectorReading,
  print?: CommandPrinter,
  release?: ReleaseInProgress,
): HealthFinding[] {
  const decision = reading.decisions.get(index.name);
  // What a release running now builds or calibrates is its work in progress, not the reader's to do.
  const running = release && {
    severity: "info" as const,
    subject: index.name,
    subjectKind: "index" as const,
    action: `none now: a release is in progress (pid ${release.pid}, application "${release.applicationName}"), which builds and calibrates the vector indexes; run ${commandToRun(print, ["health"])} again once it has finished`,
  };
  if (!decision && isRebuildLeftover(index.name)) {
    // An action to take: the apply as printed to run on this database.
    const action = rebuildLeftoverAction(commandToRun(print, ["apply"]));
    return [
      running
        ? {
            ...running,
            problem: `${shownName(index.name)}: a rebuild's index, which the release running now may be building`,
          }
        : { severity: "action", subject: index.name, subjectKind: "index", ...REBUILD_LEFTOVER, action },
    ];
  }
  if (!decision) {
    return index.exists && !reading.records.some((r) => r.name === index.name)
      ? [
          {
            severity: "info",
            subject: index.name,
            subjectKind: "index",
            problem: `a ${index.method ?? "vector"} index on ${shownName(index.table)} that no release built`,
            action:
              "none from neonhub-db: it is not managed by the release; rebuild it by hand as the table grows",
          },
        ]
      : [];
  }
  if (decision.action === "unchanged") {
    const search = reading.searches?.find((c) => c.indexName === index.name);
    const missed = search && missedTargets(search);
    const findings: HealthFinding[] = missed
      ? [
          {
            severity: "action",
            subject: index.name,
            subjectKind: "index",
            problem: missed,
            action: `raise ${settingToChange(print, "vectorIndexes.targetRecall")} a little or use method "hnsw" and run ${commandToRun(print, ["apply"])} (see docs/search.md)`,
          },
        ]
      : [];
    // The prefilter turned off by a disabled trigger: small and medium tenants' searches read every row.
    const prefilter = search?.prefilter;
    if (prefilter?.state === "off" && prefilter.cause === "trigger-disabled") {
      findings.push({
        severity: "action",
        subject: index.name,
        subjectKind: "index",
        problem: `tenant search runs without its prefilter: ${prefilter.reason}`,
        action: `enable the trigger as said, then run ${commandToRun(print, ["apply"])}`,
      });
    }
    return findings;
  }
  if (running) return [{ ...running, problem: decision.reason }];
  const verb = { create: "build it", rebuild: "rebuild it", update: "recalibrate it" }[decision.action];
  return [
    {
      severity: "action",
      subject: index.name,
      subjectKind: "index",
      // The step's reason names the rows (built on, now) and what apply would build.
      problem: decision.reason,
      action: `${verb} with ${commandToRun(print, ["apply"])}`,
    },
  ];
}
