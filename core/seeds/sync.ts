// Brings the database in line with one seed set, in one transaction: rows that are missing are inserted,
// rows that differ are updated in place, rows the set wrote before but no longer lists are deleted, and
// nothing else is touched. A set whose rows all match writes nothing at all, not even its record.
import type { ClientBase } from "pg";
import { applyAgain, type CommandPrinter } from "../command-to-run";
import { isConnectionLost } from "../connection";
import { rowsText } from "../count-format";
import { ReleaseError } from "../errors";
import type { Logger } from "../logger";
import type { SeedSetItemResult } from "../results";
import type { StepItemPlan } from "../steps";
import {
  readRecordedRows,
  readSeedSetRecords,
  writeSeedSetRecord,
  type RecordedRow,
  type SeedSetRecord,
} from "./records";
import { deleteRows, diffGroup, groupRows, readTableShapes, upsertRows, type RowGroup } from "./rows";
import { canonicalJson, rowKey, rowKeyText, type SeedSet, type SeedTable } from "./seed-set";

interface RowRef {
  table: SeedTable;
  position: number;
  index: number;
}

export interface SeedSetDiff {
  record: SeedSetRecord | undefined;
  missing: RowRef[];
  differ: RowRef[];
  /** Rows the set wrote before and no longer lists. */
  removed: RecordedRow[];
  /** Problems with tables or columns (a pending migration, in a plan; a bad seed file, in an apply). */
  shapeProblems: string[];
}

function describeRefs(refs: readonly { table: string; key: string }[]): string {
  const shown = refs.slice(0, 3).map((r) => `${r.table} ${r.key}`);
  return refs.length > 3 ? `${shown.join(", ")} and ${refs.length - 3} more` : shown.join(", ");
}

const ref = (r: RowRef) => ({ table: r.table.table, key: rowKeyText(r.table, r.table.rows[r.index]!) });
const recordedRef = (r: RecordedRow) => ({ table: r.table, key: Object.values(r.key).map(String).join("/") });
const recordedId = (table: string, key: Record<string, unknown>) => `${table} ${canonicalJson(key)}`;

async function shapeProblems(client: ClientBase, set: SeedSet): Promise<Map<string, string>> {
  const shapes = await readTableShapes(
    client,
    set.tables.map((t) => t.table),
  );
  const problems = new Map<string, string>();
  for (const t of set.tables) {
    const shape = shapes.get(t.table);
    if (!shape?.exists) {
      problems.set(t.table, `table "${t.table}" does not exist`);
      continue;
    }
    const unknown = [...new Set(t.rows.flatMap((r) => Object.keys(r)))].filter((c) => !shape.columns.has(c));
    if (unknown.length) {
      problems.set(
        t.table,
        `table "${t.table}" has no column ${unknown.map((c) => `"${c}"`).join(", ")} (file ${t.file})`,
      );
    }
  }
  return problems;
}

/** What applying `set` would change. Read-only. */
export async function diffSeedSet(
  client: ClientBase,
  set: SeedSet,
  recordsExist: boolean,
): Promise<SeedSetDiff> {
  const record = recordsExist ? (await readSeedSetRecords(client, set.name))[0] : undefined;
  const recorded = record ? await readRecordedRows(client, set.name) : [];
  const problems = await shapeProblems(client, set);
  const diff: SeedSetDiff = {
    record,
    missing: [],
    differ: [],
    removed: [],
    shapeProblems: [...problems.values()],
  };
  const wanted = new Set<string>();
  for (const [position, table] of set.tables.entries()) {
    for (const row of table.rows) wanted.add(recordedId(table.table, rowKey(table, row)));
    if (problems.has(table.table)) {
      // Its rows cannot be compared; in a plan they would all be written once the migrations ran.
      diff.missing.push(...table.rows.map((_, index) => ({ table, position, index })));
      continue;
    }
    for (const group of groupRows(table)) {
      const found = await diffGroup(client, group);
      diff.missing.push(...found.missing.map((index) => ({ table, position, index })));
      diff.differ.push(...found.differ.map((index) => ({ table, position, index })));
    }
  }
  diff.removed = recorded.filter((r) => !wanted.has(recordedId(r.table, r.key)));
  return diff;
}

export function hasRowChanges(diff: SeedSetDiff): boolean {
  return diff.missing.length + diff.differ.length + diff.removed.length > 0;
}

/** The plan line of a set whose rows all match, whether or not its files changed since its record. */
export function unchangedSetPlan(set: SeedSet, recordedChecksum: string): StepItemPlan {
  const note = recordedChecksum === set.checksum ? "" : "; the seed files changed but the rows already match";
  return { name: set.name, action: "unchanged", reason: `${rowsText(set.rowCount)} up to date${note}` };
}

/** The plan line of a set, from its diff. */
export function planItem(set: SeedSet, diff: SeedSetDiff): StepItemPlan {
  const parts: string[] = [];
  if (diff.differ.length)
    parts.push(`${diff.differ.length} to update (${describeRefs(diff.differ.map(ref))})`);
  if (diff.missing.length)
    parts.push(`${diff.missing.length} to insert (${describeRefs(diff.missing.map(ref))})`);
  if (diff.removed.length) {
    parts.push(`${diff.removed.length} to delete (${describeRefs(diff.removed.map(recordedRef))})`);
  }
  // What the schema lacks: a pending migration may bring it; with none pending the plan makes it a problem.
  const lacking = diff.shapeProblems.length ? `; ${diff.shapeProblems.join("; ")}` : "";
  const mismatch = diff.shapeProblems.length ? { schemaMismatch: diff.shapeProblems } : {};
  if (!diff.record) {
    return {
      name: set.name,
      action: "create",
      reason: `not applied yet: ${rowsText(set.rowCount)}${parts.length ? `, ${parts.join(", ")}` : ""}${lacking}`,
      ...mismatch,
    };
  }
  if (!hasRowChanges(diff)) {
    return unchangedSetPlan(set, diff.record.checksum);
  }
  const why =
    diff.record.checksum === set.checksum
      ? "rows were changed in the database since the last apply"
      : "seed files changed";
  return { name: set.name, action: "update", reason: `${why}: ${parts.join(", ")}${lacking}`, ...mismatch };
}

export interface SeedSetOutcome {
  action: SeedSetItemResult["action"];
  inserted: number;
  updated: number;
  deleted: number;
}

/**
 * Applies one seed set in its own transaction on `client` (which holds the release lock). `print`: how a
 * failure's fix names the apply to run again (ReleaseOptions.printCommand).
 */
export async function applySeedSet(
  client: ClientBase,
  set: SeedSet,
  log: Logger,
  print?: CommandPrinter,
): Promise<SeedSetOutcome> {
  await client.query("BEGIN");
  let stage = "reading what it wrote before";
  try {
    const diff = await diffSeedSet(client, set, true);
    if (diff.shapeProblems.length) {
      throw new ReleaseError(
        "seed-failed",
        `Seed set "${set.name}" does not fit the schema: ${diff.shapeProblems.join("; ")}.`,
        `Fix the table or column names in seeds/${set.name}/ to match the migrations.`,
      );
    }
    const rowsChanged = hasRowChanges(diff);
    if (!rowsChanged && diff.record?.checksum === set.checksum) {
      await client.query("COMMIT");
      return { action: "unchanged", inserted: 0, updated: 0, deleted: 0 };
    }
    // Deletions first, children before parents, so that a row moved to a new key never collides with itself.
    let deleted = 0;
    for (const batch of deletionBatches(diff.removed)) {
      stage = `deleting ${describeRefs(batch.map(recordedRef))}`;
      deleted += await deleteRows(
        client,
        batch[0]!.table,
        Object.keys(batch[0]!.key),
        batch.map((r) => r.key),
      );
    }
    const toWrite = new Set([...diff.missing, ...diff.differ].map((r) => `${r.position}:${r.index}`));
    let written = 0;
    for (const [position, table] of set.tables.entries()) {
      for (const group of groupRows(table)) {
        const rows = group.rows.filter((_, i) => toWrite.has(`${position}:${group.indexes[i]}`));
        stage = `writing ${describeGroup(group, table)}`;
        written += await upsertRows(client, group, rows);
      }
    }
    stage = "recording what it wrote";
    await writeSeedSetRecord(client, {
      name: set.name,
      checksum: set.checksum,
      rowCount: set.rowCount,
      rows: set.tables.flatMap((table, position) =>
        table.rows.map((row) => ({ table: table.table, key: rowKey(table, row), position })),
      ),
      forget: diff.removed,
    });
    await client.query("COMMIT");
    const outcome: SeedSetOutcome = {
      action: diff.record ? (rowsChanged ? "update" : "unchanged") : "create",
      inserted: diff.missing.length,
      updated: Math.max(0, written - diff.missing.length),
      deleted,
    };
    log.info(
      `seed set ${set.name}: ${outcome.inserted} inserted, ${outcome.updated} updated, ${outcome.deleted} deleted`,
    );
    return outcome;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw describeSeedError(error, set, stage, print);
  }
}

/** Removed rows by table and key columns, the last-written tables first. */
function deletionBatches(removed: readonly RecordedRow[]): RecordedRow[][] {
  const batches = new Map<string, RecordedRow[]>();
  for (const r of [...removed].sort((a, b) => b.position - a.position)) {
    const id = `${r.position} ${r.table} ${Object.keys(r.key).join(",")}`;
    batches.set(id, [...(batches.get(id) ?? []), r]);
  }
  return [...batches.values()];
}

function describeGroup(group: RowGroup, table: SeedTable): string {
  return `table "${group.table}" (rows of ${table.file})`;
}

function describeSeedError(
  error: unknown,
  set: SeedSet,
  stage: string,
  print: CommandPrinter | undefined,
): unknown {
  if (error instanceof ReleaseError || isConnectionLost(error)) return error;
  const pg = error as { message?: string; detail?: string; hint?: string };
  const detail = [pg.detail, pg.hint].filter(Boolean).join(" ");
  return new ReleaseError(
    "seed-failed",
    `Seed set "${set.name}" failed ${stage}: ${pg.message ?? String(error)}${detail ? ` (${detail})` : ""}`,
    `Nothing of seed set "${set.name}" was written (it applies in one transaction). Fix the seed file or the conflicting row in the database, then ${applyAgain(print, "apply again")}.`,
    { cause: error },
  );
}
