// The vector indexes, as the release records them (core/vector-indexes: method, parameters, rows at build,
// calibrated search setting) next to the table as it is now. Whether one needs a rebuild or a new
// calibration is the vector-index step's own plan: health says "run apply" exactly when apply would act.
import type { ClientBase } from "pg";
import type { ReleaseStep, StepItemPlan } from "../steps";
import { readInventory } from "../vector-indexes/inventory";
import { EMBEDDING_TABLES, readIndexRecords, type IndexRecord } from "../vector-indexes";
import { REBUILD_LEFTOVER, isCountIndexName, isRebuildLeftover } from "../vector-indexes/spec";
import { missedTargets, readSearchCalibrations, type SearchCalibrationRecord } from "../search";
import { tenantIndexPrefix } from "../search/tenant-indexes";

const isTenantIndex = (name: string) => EMBEDDING_TABLES.some((t) => name.startsWith(tenantIndexPrefix(t)));
import type { IndexStats } from "./index-stats";
import type { HealthFinding, IndexHealth } from "./report";

export const VECTOR_METHODS: readonly string[] = ["ivfflat", "hnsw"];

export interface VectorReading {
  records: IndexRecord[];
  /** The step's decision per index name (what apply would do). */
  decisions: Map<string, StepItemPlan>;
  /** Embedded rows now, per table and dimension. */
  rows: Map<string, Map<number, number>>;
  /** The calibrations under the tenant filter (core/search). */
  searches?: SearchCalibrationRecord[];
}

/** Records, the step's plan (read-only) and the rows each table holds per dimension now. */
export async function readVectorIndexes(
  client: ClientBase,
  step: ReleaseStep | undefined,
  released: boolean,
): Promise<VectorReading> {
  const records = await readIndexRecords(client);
  const plans = step ? await step.plan(released ? client : undefined) : [];
  const rows = new Map<string, Map<number, number>>();
  for (const table of EMBEDDING_TABLES) {
    const inventory = await readInventory(client, table);
    if (inventory.exists) rows.set(table.table, inventory.rowsByDimension);
  }
  const searches = await readSearchCalibrations(client);
  return { records, decisions: new Map(plans.map((p) => [p.name, p])), rows, searches };
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
  const rowsNow = record ? (reading.rows.get(record.table)?.get(record.dimension) ?? 0) : null;
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

/** What apply would do to the index, as a finding; nothing when apply would leave it as it is. */
export function vectorIndexFindings(index: IndexHealth, reading: VectorReading): HealthFinding[] {
  const decision = reading.decisions.get(index.name);
  if (!decision && isRebuildLeftover(index.name)) {
    return [{ severity: "action", subject: index.name, ...REBUILD_LEFTOVER }];
  }
  if (!decision) {
    return index.exists && !reading.records.some((r) => r.name === index.name)
      ? [
          {
            severity: "info",
            subject: index.name,
            problem: `a ${index.method ?? "vector"} index on "${index.table}" that no release built`,
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
            problem: missed,
            action:
              'raise vectorIndexes.targetRecall a little or use method "hnsw" and run `neonhub-db apply` (see docs/search.md)',
          },
        ]
      : [];
    // The prefilter turned off by a disabled trigger: small and medium tenants' searches read every row.
    const prefilter = search?.prefilter;
    if (prefilter?.state === "off" && prefilter.cause === "trigger-disabled") {
      findings.push({
        severity: "action",
        subject: index.name,
        problem: `tenant search runs without its prefilter: ${prefilter.reason}`,
        action: "enable the trigger as said, then run `neonhub-db apply`",
      });
    }
    return findings;
  }
  const verb = { create: "build it", rebuild: "rebuild it", update: "recalibrate it" }[decision.action];
  return [
    {
      severity: "action",
      subject: index.name,
      // The step's reason names the rows (built on, now) and what apply would build.
      problem: decision.reason,
      action: `${verb} with \`neonhub-db apply\``,
    },
  ];
}
