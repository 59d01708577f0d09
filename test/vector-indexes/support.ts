// Shared by the vector-index tests: the release with only the vector-index step, and catalog readers.
import { copyFileSync, readdirSync } from "node:fs";
import path from "node:path";
import type { ClientBase } from "pg";
import {
  DEFAULT_MIGRATIONS_DIR,
  applyRelease,
  collectingLogger,
  planRelease,
  type ReleaseOptions,
} from "../../core";
import { VectorIndexStep, type VectorIndexStepOptions } from "../../core";
import {
  nearestQuery,
  EMBEDDING_TABLES,
  isCountIndexName,
  neighboursOf,
  recallOf,
  type Neighbour,
} from "../../core";
import { scratchDir } from "../support/scratch";
import { vectorText } from "./data";

export const CHUNK = EMBEDDING_TABLES[0]!;
export const MESSAGE = EMBEDDING_TABLES[1]!;

/**
 * 200 calibration queries rather than 50: the tests compare the calibrated recall with recall measured on
 * other queries, and more queries narrow the sampling error of both.
 */
export function releaseOptions(databaseUrl: string, step: VectorIndexStepOptions = {}): ReleaseOptions {
  const options = { calibrationQueries: 200, ...step };
  return { databaseUrl, migrationsDir: DEFAULT_MIGRATIONS_DIR, steps: [new VectorIndexStep(options)] };
}

/** A step's items about a changed setting ("setting vectorIndexes.targetRecall"), apart from the indexes. */
const isSetting = (item: { name: string }) => item.name.startsWith("setting ");

/** A step's items about a table's count index (test/vector-indexes/count-index.test.ts tests those). */
export const isCountIndex = (item: { name: string }) => isCountIndexName(item.name);

const isVectorIndex = (item: { name: string }) => !isSetting(item) && !isCountIndex(item);

/**
 * Applies with `step`; the result's vectorIndexes are the vector indexes, `settings` the settings that
 * changed, `countIndexes` the count indexes built.
 */
export async function apply(databaseUrl: string, step: VectorIndexStepOptions = {}) {
  const log = collectingLogger();
  const result = await applyRelease({ ...releaseOptions(databaseUrl, step), log });
  return {
    result: { ...result, vectorIndexes: result.vectorIndexes.filter(isVectorIndex) },
    settings: result.vectorIndexes.filter(isSetting),
    countIndexes: result.vectorIndexes.filter(isCountIndex),
    lines: log.lines,
  };
}

/**
 * Applies the release with only the migrations before `first` (a migration's name): a database as it was
 * before that migration, which then stores rows that migration would refuse, as an existing database did.
 */
export async function applyMigrationsBefore(databaseUrl: string, first: string): Promise<void> {
  const dir = scratchDir("migrations-before-");
  for (const file of readdirSync(DEFAULT_MIGRATIONS_DIR).filter((f) => f < first)) {
    copyFileSync(path.join(DEFAULT_MIGRATIONS_DIR, file), path.join(dir, file));
  }
  await applyRelease({ ...releaseOptions(databaseUrl), migrationsDir: dir, log: collectingLogger() });
}

/** What plan would do to each vector index (the settings that changed: planSettings). */
export async function planIndexes(databaseUrl: string, step: VectorIndexStepOptions = {}) {
  return (await planRelease(releaseOptions(databaseUrl, step))).vectorIndexes.filter(isVectorIndex);
}

export async function planSettings(databaseUrl: string, step: VectorIndexStepOptions = {}) {
  return (await planRelease(releaseOptions(databaseUrl, step))).vectorIndexes.filter(isSetting);
}

export interface IndexFacts {
  oid: number;
  method: string;
  operatorClass: string;
  options: string[] | null;
  expression: string;
  predicate: string;
  valid: boolean;
}

/** The catalog's view of one index, or undefined when there is none of that name. */
export async function indexFacts(client: ClientBase, name: string): Promise<IndexFacts | undefined> {
  const result = await client.query<IndexFacts>(
    `SELECT c.oid::int AS oid, am.amname AS method, oc.opcname AS "operatorClass", c.reloptions AS options,
            pg_get_indexdef(i.indexrelid, 1, true) AS expression,
            pg_get_expr(i.indpred, i.indrelid) AS predicate, i.indisvalid AS valid
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
       JOIN pg_opclass oc ON oc.oid = i.indclass[0]
      WHERE c.relname = $1`,
    [name],
  );
  return result.rows[0];
}

/** Names of the indexes of a table that start with `prefix`. */
export async function indexNames(client: ClientBase, table: string, prefix: string): Promise<string[]> {
  const result = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = $1::regclass AND starts_with(c.relname, $2) ORDER BY 1`,
    [`"${table}"`, prefix],
  );
  return result.rows.map((r) => r.name);
}

/** The plan of the app's query with a search setting, as text; `prepare` runs first in its transaction. */
export async function explainNearest(
  client: ClientBase,
  table: typeof CHUNK,
  dimension: number,
  setting: string,
  query: Float32Array,
  prepare?: () => Promise<unknown>,
): Promise<string> {
  await client.query("BEGIN");
  try {
    await prepare?.();
    await client.query(`SET LOCAL ${setting}`);
    const plan = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${nearestQuery(table, dimension)}`, [
      vectorText(query),
    ]);
    return plan.rows.map((r) => r["QUERY PLAN"]).join("\n");
  } finally {
    await client.query("ROLLBACK");
  }
}

/**
 * recall@10 of the app's query at `setting` for queries that are not rows of the table, against exact
 * search (a sequential scan at full precision), counted as the release counts it (core's recallOf).
 */
export async function heldOutRecall(
  client: ClientBase,
  table: typeof CHUNK,
  dimension: number,
  setting: string,
  queries: readonly Float32Array[],
): Promise<number> {
  let sum = 0;
  for (const q of queries) {
    const text = vectorText(q);
    const exact = await client.query<Neighbour>(
      `SELECT "id", ("embedding" <=> $1::vector)::float8 AS distance FROM "${table.table}"
        WHERE vector_dims("embedding") = ${dimension} ORDER BY "embedding" <=> $1::vector LIMIT 10`,
      [text],
    );
    await client.query("BEGIN");
    await client.query(`SET LOCAL ${setting}`);
    const approximate = await client.query<{ id: string }>(nearestQuery(table, dimension), [text]);
    await client.query("ROLLBACK");
    const found = await neighboursOf(
      client,
      table,
      text,
      approximate.rows.map((r) => r.id),
    );
    sum += recallOf(exact.rows, found);
  }
  return sum / queries.length;
}
