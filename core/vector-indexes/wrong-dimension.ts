// Rows whose embedding has another dimension than their embedding space, named after a calibration failed.
//
// The calibrations (calibrate.ts, core/search/calibrate-tenants.ts) read a dimension's rows by their space's
// "dimension", and compare them with each other and with queries of that dimension: one row of another
// dimension made them fail with pgvector's bare `different vector dimensions 3072 and 3`, naming no row, which
// the CLI reported as a bug. The dimension trigger (check_embedding_dimension) refuses such rows, so one is
// corruption: written with the trigger disabled, or before migration 20261206020000 by a session whose
// temporary table named "EmbeddingSpace" gave the trigger another dimension. The rows are looked for only once
// a calibration has failed: a healthy apply pays nothing. The look reads the dimension's embedded rows, under
// a statement timeout of its own, and returns a few of them and how many in all. `neonhub-db health` looks for
// them in every space (core/health/wrong-dimension-embeddings.ts) by the same condition, defined here only.
import type { ClientBase } from "pg";
import { applyAgain, type CommandPrinter } from "../command-to-run";
import { formatCount, rowsText } from "../count-format";
import { quoteIdent, type EmbeddingTable, type IndexDefinition } from "./spec";

/** How many offending rows the error lists by id (it also says how many there are in all). */
export const LISTED_ROWS = 5;
/** The look's statement timeout: it reads every embedded row of the dimension. */
export const FIND_TIMEOUT_MS = 60_000;

/** One row whose embedding's dimension is not its space's. */
export interface WrongDimensionRow {
  id: string;
  dimensions: number;
  space: string;
}

export type WrongDimensionFinding =
  | { kind: "found"; total: number; rows: WrongDimensionRow[] }
  | { kind: "timed-out" }
  | { kind: "failed"; message: string };

/**
 * Whether a calibration failed on vectors of different dimensions: pgvector's distance between two of them
 * (`different vector dimensions 3072 and 3`, halfvec's alike), its cast to a fixed dimension (`expected 3072
 * dimensions, not 3`), or the sign bits' (`different bit lengths`, `bit string length 3 does not match type
 * bit(3072)`).
 */
export function isWrongDimensionError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  return (
    (code === "22000" || code === "22026") &&
    /different (?:vector|halfvec|sparsevec) dimensions|expected \d+ dimensions, not \d+|different bit lengths|bit string length \d+ does not match type bit/.test(
      message ?? "",
    )
  );
}

/** A table whose embeddings the dimension trigger checks against their space's "dimension". */
export type SpacedEmbeddingTable = Pick<EmbeddingTable, "table" | "idColumn" | "column" | "spaceColumn">;

/**
 * What a wrong-dimension row is, the one place that says so: the row `x` of the table, embedded, whose space `s`
 * (joined by the caller on s."id" = x.<spaceColumn>) has another "dimension" than its embedding; only the spaces
 * of `dimension` dimensions when one is given (a calibration's), every space when not (health's).
 */
function wrongDimensionWhere(table: SpacedEmbeddingTable, dimension?: number): string {
  const column = quoteIdent(table.column);
  const test =
    dimension === undefined
      ? wrongDimensionTest(table)
      : `s."dimension" = ${dimension} AND vector_dims(x.${column}) <> ${dimension}`;
  return `x.${column} IS NOT NULL AND ${test}`;
}

/**
 * Whether the embedded row `x` is one, in every space: its embedding's number of dimensions against its space
 * `s`'s (not true when the row has no space in `s`). Health's scan tests each embedded row with it.
 */
export function wrongDimensionTest(table: SpacedEmbeddingTable): string {
  return `vector_dims(x.${quoteIdent(table.column)}) <> s."dimension"`;
}

/**
 * The rows of `table` whose embedding has another number of dimensions than their space (in spaces of
 * `dimension` dimensions when given), by id, with their dimensions and space.
 */
export function wrongDimensionRowsSql(table: SpacedEmbeddingTable, dimension?: number): string {
  const id = quoteIdent(table.idColumn);
  const column = quoteIdent(table.column);
  return (
    `SELECT x.${id}, vector_dims(x.${column}) AS dimensions, x.${quoteIdent(table.spaceColumn)} AS space ` +
    `FROM ${quoteIdent(table.table)} x JOIN "EmbeddingSpace" s ON s."id" = x.${quoteIdent(table.spaceColumn)} ` +
    `WHERE ${wrongDimensionWhere(table, dimension)} ORDER BY x.${id}`
  );
}

/** The statements that set those rows' embedding to NULL (the app embeds them again) and that delete them. */
export function wrongDimensionRepairSql(table: SpacedEmbeddingTable): { clear: string; remove: string } {
  const name = quoteIdent(table.table);
  const joined = `s."id" = x.${quoteIdent(table.spaceColumn)} AND ${wrongDimensionWhere(table)}`;
  return {
    clear: `UPDATE ${name} x SET ${quoteIdent(table.column)} = NULL FROM "EmbeddingSpace" s WHERE ${joined}`,
    remove: `DELETE FROM ${name} x USING "EmbeddingSpace" s WHERE ${joined}`,
  };
}

/** Why such rows exist, as the errors and health's finding say it. */
export const WRONG_DIMENSION_CAUSE =
  `the trigger check_embedding_dimension refuses such rows: they were written with it disabled, or before ` +
  `migration 20261206020000 by a session whose temporary table named "EmbeddingSpace" gave it another dimension`;

/** How to correct such rows of `table`, and keep new ones out (the trigger on): after the query that lists them. */
export function wrongDimensionCorrection(table: SpacedEmbeddingTable): string {
  const { clear, remove } = wrongDimensionRepairSql(table);
  return (
    `store each one's embedding as its space's model returns it (or under the space of the model that made it), ` +
    `or set ${quoteIdent(table.column)} to NULL so that the app embeds them again (${clear}), or delete them ` +
    `(${remove}). Check that the trigger is enabled: ` +
    `ALTER TABLE ${quoteIdent(table.table)} ENABLE TRIGGER check_embedding_dimension.`
  );
}

/** Looks for the rows wrongDimensionRowsSql names: the first LISTED_ROWS and the total, bounded in time. */
export async function findWrongDimensionRows(
  client: ClientBase,
  definition: Pick<IndexDefinition, "table" | "dimension">,
): Promise<WrongDimensionFinding> {
  const { table, dimension } = definition;
  const sql =
    `SELECT r.${quoteIdent(table.idColumn)}::text AS id, r.dimensions, r.space::text AS space, ` +
    `count(*) OVER () AS total FROM (${wrongDimensionRowsSql(table, dimension)}) r ORDER BY 1 LIMIT ${LISTED_ROWS}`;
  await client.query("BEGIN");
  try {
    await client.query(`SET LOCAL statement_timeout = ${FIND_TIMEOUT_MS}`);
    const result = await client.query<{ id: string; dimensions: number; space: string; total: string }>(sql);
    await client.query("COMMIT");
    return {
      kind: "found",
      total: Number(result.rows[0]?.total ?? 0),
      rows: result.rows.map(({ id, dimensions, space }) => ({ id, dimensions, space })),
    };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    if ((error as { code?: string }).code === "57014") return { kind: "timed-out" };
    return { kind: "failed", message: (error as Error).message ?? String(error) };
  }
}

/**
 * What the calibration-failed error says about those rows, and its fix; undefined when the look found none
 * (the failure had another cause, reported as it is). `print` prints the apply the fix names to run again
 * (ReleaseOptions.printCommand).
 */
export function describeWrongDimension(
  definition: Pick<IndexDefinition, "table" | "dimension">,
  finding: WrongDimensionFinding,
  print?: CommandPrinter,
): { cause: string; fix: string } | undefined {
  if (finding.kind === "found" && finding.total === 0) return undefined;
  const { table, dimension } = definition;
  const name = quoteIdent(table.table);
  const column = quoteIdent(table.column);
  const what = `in embedding spaces of ${dimension} dimensions whose ${column} has another number of dimensions`;
  const why = WRONG_DIMENSION_CAUSE;
  let cause: string;
  if (finding.kind === "found") {
    const listed = finding.rows.map(
      (r) => `- ${name} "${r.id}": ${r.dimensions} dimensions, in embedding space "${r.space}"`,
    );
    const more = finding.total - finding.rows.length;
    if (more > 0) listed.push(`- and ${formatCount(more)} more`);
    cause = `${name} has ${rowsText(finding.total)} ${what} (${why}):\n${listed.join("\n")}`;
  } else {
    const looked =
      finding.kind === "timed-out"
        ? `looking for them took over ${FIND_TIMEOUT_MS / 1000} s and was stopped`
        : `looking for them failed: ${finding.message}`;
    cause = `${name} may have rows ${what} (${why}); ${looked}.`;
  }
  const fix =
    `Correct or delete those rows, then ${applyAgain(print)}. Find them all with: ${wrongDimensionRowsSql(table, dimension)}; ` +
    wrongDimensionCorrection(table);
  return { cause, fix };
}
