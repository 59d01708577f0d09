// The seed sets' part in the release's batched reads (core/steps.ts StepBatch): one probe of the seeded tables'
// columns, then, in the release's one state statement, each named set's record and how many of its rows are
// missing, differ or are no longer listed. A set whose rows all match is settled there; any other plan is
// left to the step's own diff, which names the rows.
import { BOOKKEEPING_SCHEMA } from "../bookkeeping";
import { rowsText } from "../count-format";
import { isoTime, jsonbLiteral, literal } from "../sql";
import type { StepBatch, StepItemPlan } from "../steps";
import { diffGroupSql, groupRows } from "./rows";
import { rowKey, type SeedSet } from "./seed-set";
import { unchangedSetPlan } from "./sync";

interface SetState {
  checksum: string | null;
  /** Rows missing or different in the database, plus rows recorded for the set that it no longer lists. */
  changes: number;
}

interface RecordState {
  name: string;
  checksum: string;
  rowCount: number;
  appliedAt: string;
  appliedBy: string;
}

interface SeedsState {
  sets: SetState[];
  records: RecordState[];
}

/** Columns of each seeded table, null when the table does not exist. */
type Shapes = Record<string, string[] | null>;

export function seedsBatch(sets: readonly SeedSet[]): StepBatch<"seeds"> {
  const tables = [...new Set(sets.flatMap((s) => s.tables.map((t) => t.table)))];
  return {
    probeSql: () =>
      tables.length === 0
        ? "'{}'::jsonb"
        : `(SELECT jsonb_object_agg(t.name, (SELECT jsonb_agg(a.attname::text) FROM pg_attribute a
              WHERE a.attrelid = to_regclass(quote_ident(t.name)) AND a.attnum > 0 AND NOT a.attisdropped))
             FROM unnest(ARRAY[${tables.map(literal).join(", ")}]::text[]) AS t(name))`,
    stateSql: (probe) => {
      const shapes = (probe ?? {}) as Shapes;
      const fits = sets.every((set) =>
        set.tables.every((t) => {
          const columns = shapes[t.table];
          return columns != null && t.rows.every((row) => Object.keys(row).every((c) => columns.includes(c)));
        }),
      );
      if (!fits) return undefined;
      return `jsonb_build_object(
        'sets', jsonb_build_array(${sets.map(setStateSql).join(", ")}),
        'records', (SELECT coalesce(jsonb_agg(jsonb_build_object('name', name, 'checksum', checksum,
                      'rowCount', row_count, 'appliedAt', ${isoTime("applied_at")}, 'appliedBy', applied_by)
                      ORDER BY name), '[]'::jsonb) FROM ${BOOKKEEPING_SCHEMA}.seed_sets))`;
    },
    planFromState: (state) => {
      const plans: StepItemPlan[] = [];
      for (const [i, set] of sets.entries()) {
        const found = (state as SeedsState).sets[i]!;
        if (found.checksum === null || found.changes > 0) return undefined;
        plans.push(unchangedSetPlan(set, found.checksum));
      }
      return plans;
    },
    noopFromState: (state) =>
      sets.every((set, i) => {
        const found = (state as SeedsState).sets[i]!;
        return found.checksum === set.checksum && found.changes === 0;
      }),
    noopResults: () =>
      sets.map((set) => ({
        name: set.name,
        action: "unchanged" as const,
        durationMs: 0,
        skipped: upToDate(set),
        details: { checksum: set.checksum, rows: set.rowCount, inserted: 0, updated: 0, deleted: 0 },
      })),
    statusFromState: (state) =>
      (state as SeedsState).records.map((r) => ({
        name: r.name,
        checksum: r.checksum,
        rows: r.rowCount,
        appliedAt: r.appliedAt,
        appliedBy: r.appliedBy,
      })),
  };
}

/** Why apply wrote nothing for a set (its `skipped`). */
export function upToDate(set: SeedSet): string {
  return `its ${rowsText(set.rowCount)} already ${set.rowCount === 1 ? "matches" : "match"} the set`;
}

function setStateSql(set: SeedSet): string {
  const wanted = set.tables.flatMap((t) => t.rows.map((row) => ({ t: t.table, k: rowKey(t, row) })));
  const differing = set.tables
    .flatMap((t) => groupRows(t))
    .map((group) => `(SELECT count(*) FROM (${diffGroupSql(group, jsonbLiteral(group.rows))}) d)`);
  const unlisted = `(SELECT count(*) FROM ${BOOKKEEPING_SCHEMA}.seed_rows r
      WHERE r.seed_set = ${literal(set.name)} AND NOT EXISTS (
        SELECT 1 FROM jsonb_to_recordset(${jsonbLiteral(wanted)}) AS w(t text, k jsonb)
         WHERE w.t = r.table_name AND w.k = r.row_key))`;
  return `jsonb_build_object(
      'checksum', (SELECT checksum FROM ${BOOKKEEPING_SCHEMA}.seed_sets WHERE name = ${literal(set.name)}),
      'changes', ${[...differing, unlisted].join(" + ")})`;
}
