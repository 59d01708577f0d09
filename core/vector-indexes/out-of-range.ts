// Rows a halfvec index cannot hold, named after a build failed on one.
//
// Above 2,000 dimensions the index is over `embedding::halfvec(n)` (spec.ts, indexedType), and a component
// beyond halfvec's range makes the build fail with pgvector's bare `"100000" is out of range for type halfvec`,
// naming no row. The dimension trigger has refused such embeddings since migration 20261205060000, but rows
// stored before it were never checked again, so an existing database can hold some. The rows are looked for
// only once a build has failed that way: a healthy build pays nothing. The look reads the dimension's rows as
// the build did, under a statement timeout of its own, and returns a few of them and how many in all.
import type { ClientBase } from "pg";
import { applyAgain, commandToRun, type CommandPrinter } from "../command-to-run";
import { formatCount, rowsText } from "../count-format";
import {
  HALFVEC_MAX_VALUE,
  indexedType,
  quoteIdent,
  type EmbeddingTable,
  type IndexDefinition,
} from "./spec";

/** How many offending rows the error lists by id (it also says how many there are in all). */
export const LISTED_ROWS = 5;
/** The look's statement timeout: it reads every row of the dimension, as the failed build did. */
export const FIND_TIMEOUT_MS = 60_000;

/** One row whose embedding halfvec cannot hold: its first component beyond the range, counted from 0. */
export interface OutOfRangeRow {
  id: string;
  component: number;
  value: number;
}

export type OutOfRangeFinding =
  | { kind: "found"; total: number; rows: OutOfRangeRow[] }
  | { kind: "timed-out" }
  | { kind: "failed"; message: string };

/** Whether a build of `definition` failed because a component does not fit its halfvec expression. */
export function isHalfvecRangeError(definition: Pick<IndexDefinition, "dimension">, error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  return (
    indexedType(definition.dimension) === "halfvec" &&
    code === "22003" &&
    /out of range for type halfvec/.test(message ?? "")
  );
}

/**
 * The rows of `dimension` in `table` with a component beyond ±HALFVEC_MAX_VALUE (the trigger's rule), each with
 * its first such component, ordered by id. The norm is at least every component's magnitude, so only rows whose
 * norm is beyond the limit are unnested (the trigger's test, migration 20261205060000). The fix quotes it as is;
 * the look adds the total and a limit.
 */
export function outOfRangeRowsSql(table: EmbeddingTable, dimension: number): string {
  const id = quoteIdent(table.idColumn);
  const column = quoteIdent(table.column);
  return (
    `SELECT x.${id}, (u.i - 1)::int AS component, u.v AS value FROM ${quoteIdent(table.table)} x, ` +
    `LATERAL (SELECT u.i, u.v FROM unnest(x.${column}::real[]) WITH ORDINALITY AS u(v, i) ` +
    `WHERE abs(u.v) > ${HALFVEC_MAX_VALUE} ORDER BY u.i LIMIT 1) u ` +
    `WHERE vector_dims(x.${column}) = ${dimension} AND vector_norm(x.${column}) > ${HALFVEC_MAX_VALUE} ` +
    `ORDER BY x.${id}`
  );
}

/** Looks for the rows outOfRangeRowsSql names: the first LISTED_ROWS and the total, bounded in time. */
export async function findOutOfRangeRows(
  client: ClientBase,
  definition: Pick<IndexDefinition, "table" | "dimension">,
): Promise<OutOfRangeFinding> {
  const { table, dimension } = definition;
  const sql =
    `SELECT r.${quoteIdent(table.idColumn)}::text AS id, r.component, r.value, count(*) OVER () AS total ` +
    `FROM (${outOfRangeRowsSql(table, dimension)}) r ORDER BY 1 LIMIT ${LISTED_ROWS}`;
  await client.query("BEGIN");
  try {
    await client.query(`SET LOCAL statement_timeout = ${FIND_TIMEOUT_MS}`);
    const result = await client.query<{ id: string; component: number; value: number; total: string }>(sql);
    await client.query("COMMIT");
    return {
      kind: "found",
      total: Number(result.rows[0]?.total ?? 0),
      rows: result.rows.map(({ id, component, value }) => ({ id, component, value })),
    };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    if ((error as { code?: string }).code === "57014") return { kind: "timed-out" };
    return { kind: "failed", message: (error as Error).message ?? String(error) };
  }
}

/**
 * The statement that scales the rows outOfRangeRowsSql names to unit length: cosine distance ignores the
 * length, so each row ranks as it did, and its components then fit a halfvec.
 */
export function normalizeOutOfRangeSql(table: EmbeddingTable, dimension: number): string {
  const column = quoteIdent(table.column);
  const id = quoteIdent(table.idColumn);
  return (
    `UPDATE ${quoteIdent(table.table)} SET ${column} = l2_normalize(${column}) ` +
    `WHERE ${id} IN (SELECT bad.${id} FROM (${outOfRangeRowsSql(table, dimension)}) bad)`
  );
}

/**
 * What the index-failed error says about those rows (after the build's own message), and its fix, whose apply
 * to run again `print` prints (ReleaseOptions.printCommand).
 */
export function describeOutOfRange(
  definition: Pick<IndexDefinition, "table" | "dimension">,
  finding: OutOfRangeFinding,
  print?: CommandPrinter,
): { cause: string; fix: string } {
  const { table, dimension } = definition;
  const name = quoteIdent(table.table);
  const column = quoteIdent(table.column);
  const beyond = `a component beyond ±${HALFVEC_MAX_VALUE}, the largest a halfvec holds`;
  const why =
    `above 2,000 dimensions the index is over ${column}::halfvec(${dimension}), and rows stored before ` +
    `migration 20261205060000 were not checked by the trigger that now refuses them`;
  if (finding.kind === "found" && finding.total === 0) {
    // CREATE INDEX also reads the old versions of rows changed since the oldest open transaction began (one
    // may still see them): rows corrected moments ago fail the build until those versions are gone.
    const cause =
      `No row of ${name} of ${dimension} dimensions now has ${beyond}: the build also read old versions of rows ` +
      `changed since a transaction still open began (an index holds every version a transaction may still see), ` +
      `such as rows corrected just before this apply.`;
    return {
      cause,
      fix:
        `Run ${commandToRun(print, ["apply"], "apply")} again once the transactions open since before the rows were corrected have ended, in any ` +
        `database of the server (pg_stat_activity: those whose xact_start is older), or after VACUUM ${name} ` +
        `has removed the old versions.`,
    };
  }
  let cause: string;
  if (finding.kind === "found") {
    const listed = finding.rows.map(
      (r) => `- ${name} "${r.id}": embedding value ${r.component} is ${r.value}`,
    );
    const more = finding.total - finding.rows.length;
    if (more > 0) listed.push(`- and ${formatCount(more)} more`);
    cause = `${name} has ${rowsText(finding.total)} of ${dimension} dimensions with ${beyond} (${why}):\n${listed.join("\n")}`;
  } else {
    const looked =
      finding.kind === "timed-out"
        ? `looking for them took over ${FIND_TIMEOUT_MS / 1000} s and was stopped`
        : `looking for them failed: ${finding.message}`;
    cause = `Rows of ${name} of ${dimension} dimensions have ${beyond} (${why}); ${looked}.`;
  }
  const fix =
    `Correct or delete those rows, then ${applyAgain(print)}. Find them all with: ${outOfRangeRowsSql(table, dimension)}; ` +
    `then store each one's embedding as the model returned it, or scale them to unit length, which leaves their ` +
    `cosine distances as they were: ${normalizeOutOfRangeSql(table, dimension)}; ` +
    `or set ${column} to NULL, or DELETE them, with the same WHERE.`;
  return { cause, fix };
}
