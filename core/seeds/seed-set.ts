// A seed set is a folder under seeds/ of JSON files, read in name order. Each file lists tables in the order
// their rows are written (parents before children), each with its rows and the columns that identify a row
// (its primary key, "id" unless told otherwise):
//
//   { "tables": [ { "table": "Organization", "rows": [ { "id": "demo-org", "slug": "demo", ... } ] } ] }
//
// A value {"$vector": {"seed": "...", "topic": "..."}} is an embedding made by seededVector(), with the
// dimension of the embedding space the row names in "embeddingSpaceId" (a space of the same seed set).
// Reading a set needs no database: its checksum is what the Pulumi manifest carries.
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { sha256 } from "../checksum";
import { ReleaseError } from "../errors";
import { jsonSyntaxProblem } from "../shown-value";
import { seededVector, vectorLiteral, type SeededVectorSpec } from "./vectors";

export type SeedRow = Record<string, unknown>;

export interface SeedTable {
  table: string;
  /** Columns that identify a row: the conflict target of the upsert. */
  key: string[];
  /** Rows with embeddings resolved to pgvector's text form. */
  rows: SeedRow[];
  /** The file the rows come from (its name within the set's folder), for messages. */
  file: string;
}

export interface SeedSet {
  name: string;
  tables: SeedTable[];
  rowCount: number;
  /** sha256 of the resolved rows: changes exactly when what the set writes changes. */
  checksum: string;
}

/** Bumped if the way rows are resolved changes, so that every set's checksum changes with it. */
const FORMAT = "neonhub-db seed set 1";
const NAME = /^[a-z0-9][a-z0-9_-]*$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The seed sets in `dir`: its sub-folders that hold at least one .json file. */
export function listSeedSets(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries
    .filter((entry) => NAME.test(entry) && statSync(path.join(dir, entry)).isDirectory())
    .filter((entry) => jsonFiles(path.join(dir, entry)).length > 0)
    .sort();
}

function jsonFiles(folder: string): string[] {
  return readdirSync(folder)
    .filter((f) => f.endsWith(".json"))
    .sort();
}

export function unknownSeedSetError(name: string, available: readonly string[]): ReleaseError {
  return new ReleaseError(
    "invalid-input",
    `Unknown seed set "${name}".`,
    available.length
      ? `Available: ${available.join(", ")}.`
      : "This project defines no seed sets (folders of JSON files under seeds/).",
  );
}

/** Reads, validates and resolves one seed set. Throws a ReleaseError naming the file and row at fault. */
export function loadSeedSet(dir: string, name: string): SeedSet {
  const available = listSeedSets(dir);
  if (!available.includes(name)) throw unknownSeedSetError(name, available);
  const folder = path.join(dir, name);
  const tables: SeedTable[] = [];
  for (const file of jsonFiles(folder)) tables.push(...readSeedFile(name, folder, file));
  checkUniqueKeys(name, tables);
  const resolved = resolveVectors(name, tables);
  const rowCount = resolved.reduce((n, t) => n + t.rows.length, 0);
  const content = resolved.map(({ table, key, rows }) => ({ table, key, rows }));
  return { name, tables: resolved, rowCount, checksum: sha256(`${FORMAT}\n${canonicalJson(content)}`) };
}

function seedError(set: string, where: string, problem: string, fix?: string): ReleaseError {
  return new ReleaseError(
    "invalid-input",
    `Seed set "${set}", ${where}: ${problem}`,
    fix ?? `Fix seeds/${set}/ (see docs/seeds.md for the format).`,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readSeedFile(set: string, folder: string, file: string): SeedTable[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path.join(folder, file), "utf8"));
  } catch (error) {
    throw seedError(set, `file ${file}`, `not valid JSON (${jsonSyntaxProblem(error)}).`);
  }
  if (!isObject(parsed) || !Array.isArray(parsed.tables)) {
    throw seedError(set, `file ${file}`, 'expected an object with a "tables" array.');
  }
  return parsed.tables.map((entry, i) => readSeedTable(set, file, entry, i));
}

function readSeedTable(set: string, file: string, entry: unknown, index: number): SeedTable {
  const where = `file ${file}, tables[${index}]`;
  if (!isObject(entry)) throw seedError(set, where, "expected an object.");
  const { table, key = ["id"], rows } = entry;
  if (typeof table !== "string" || !IDENTIFIER.test(table)) {
    throw seedError(set, where, '"table" must name a table (letters, digits, underscores).');
  }
  if (
    !Array.isArray(key) ||
    key.length === 0 ||
    !key.every((k) => typeof k === "string" && IDENTIFIER.test(k))
  ) {
    throw seedError(set, `${where} ("${table}")`, '"key" must be a non-empty array of column names.');
  }
  if (!Array.isArray(rows)) throw seedError(set, `${where} ("${table}")`, '"rows" must be an array.');
  rows.forEach((row, r) => {
    const at = `file ${file}, table "${table}", row ${r + 1}`;
    if (!isObject(row)) throw seedError(set, at, "expected an object of column values.");
    for (const column of Object.keys(row)) {
      if (!IDENTIFIER.test(column)) throw seedError(set, at, `"${column}" is not a column name.`);
    }
    for (const k of key as string[]) {
      const value = row[k];
      if (typeof value !== "string" && typeof value !== "number") {
        throw seedError(set, at, `key column "${k}" must be a string or a number.`);
      }
    }
  });
  return { table, key: key as string[], rows: rows as SeedRow[], file };
}

function checkUniqueKeys(set: string, tables: readonly SeedTable[]): void {
  const seen = new Map<string, string>();
  for (const t of tables) {
    t.rows.forEach((row, r) => {
      const id = `${t.table} ${rowKeyText(t, row)}`;
      const first = seen.get(id);
      if (first) {
        throw seedError(
          set,
          `file ${t.file}, table "${t.table}", row ${r + 1}`,
          `${id} is already seeded by ${first}.`,
        );
      }
      seen.set(id, `file ${t.file}, row ${r + 1}`);
    });
  }
}

/** The key columns of a row, as an object: how the bookkeeping table records which rows a set wrote. */
export function rowKey(table: Pick<SeedTable, "key">, row: SeedRow): Record<string, unknown> {
  return Object.fromEntries(table.key.map((k) => [k, row[k]]));
}

export function rowKeyText(table: Pick<SeedTable, "key">, row: SeedRow): string {
  return table.key.map((k) => String(row[k])).join("/");
}

function vectorSpec(value: unknown): SeededVectorSpec | undefined {
  if (!isObject(value) || !("$vector" in value)) return undefined;
  const spec = value.$vector;
  if (
    !isObject(spec) ||
    typeof spec.seed !== "string" ||
    (spec.topic !== undefined && typeof spec.topic !== "string")
  ) {
    throw new Error('"$vector" takes {"seed": "<text>", "topic"?: "<text>"}');
  }
  return { seed: spec.seed, topic: spec.topic as string | undefined };
}

/** The "dimension" of each "EmbeddingSpace" row of a set, by its id (as written: checked where it is used). */
export function spaceDimensions(tables: readonly SeedTable[]): Map<string, unknown> {
  const dimensions = new Map<string, unknown>();
  for (const t of tables.filter((t) => t.table === "EmbeddingSpace")) {
    for (const row of t.rows) dimensions.set(String(row.id), row.dimension);
  }
  return dimensions;
}

/** A table whose rows may hold an embedding: its vector column and the column naming the row's space. */
export interface EmbeddedColumn {
  table: string;
  column: string;
  spaceColumn: string;
}

/**
 * The rows with an embedding the sets write into each of `tables`, per dimension (the dimension of the row's
 * space among the set's own "EmbeddingSpace" rows, the one resolveVectors sized it by): what a table holds
 * once the sets are loaded into it empty (the Prisma-era upgrade's tables, core/adopt/upgrade/after-upgrade.ts;
 * on a released database, core/seeds/seeded-row-changes.ts counts what the sets change). A row two sets write
 * (the same key) counts once.
 */
export function embeddedRowsOf(
  sets: readonly SeedSet[],
  tables: readonly EmbeddedColumn[],
): Map<string, Map<number, number>> {
  const keys = new Map<string, Map<string, number>>();
  for (const set of sets) {
    const dimensions = spaceDimensions(set.tables);
    for (const t of set.tables) {
      const embedded = tables.find((e) => e.table === t.table);
      if (!embedded) continue;
      const rows = keys.get(t.table) ?? new Map<string, number>();
      keys.set(t.table, rows);
      for (const row of t.rows) {
        const dimension = dimensions.get(String(row[embedded.spaceColumn]));
        if (row[embedded.column] == null || typeof dimension !== "number") continue;
        rows.set(JSON.stringify(t.key.map((k) => row[k])), dimension);
      }
    }
  }
  const counted = new Map<string, Map<number, number>>();
  for (const [table, rows] of keys) {
    const byDimension = new Map<number, number>();
    for (const dimension of rows.values()) byDimension.set(dimension, (byDimension.get(dimension) ?? 0) + 1);
    counted.set(table, byDimension);
  }
  return counted;
}

/** Replaces every {"$vector": ...} by the vector's text, sized by the dimension of the row's space. */
function resolveVectors(set: string, tables: readonly SeedTable[]): SeedTable[] {
  const dimensions = spaceDimensions(tables);
  return tables.map((t) => ({
    ...t,
    rows: t.rows.map((row, r) => {
      const out: SeedRow = {};
      for (const [column, value] of Object.entries(row)) {
        const at = `file ${t.file}, table "${t.table}", row ${r + 1}, column "${column}"`;
        let spec: SeededVectorSpec | undefined;
        try {
          spec = vectorSpec(value);
        } catch (error) {
          throw seedError(set, at, `${(error as Error).message}.`);
        }
        if (!spec) {
          out[column] = value;
          continue;
        }
        const space = row.embeddingSpaceId;
        const dimension = dimensions.get(String(space));
        if (typeof space !== "string" || !Number.isInteger(dimension) || (dimension as number) < 1) {
          throw seedError(
            set,
            at,
            `a "$vector" needs the row's "embeddingSpaceId" to name an EmbeddingSpace row of this seed set with an integer "dimension" (got ${JSON.stringify(space)}).`,
          );
        }
        out[column] = vectorLiteral(seededVector(spec, dimension as number));
      }
      return out;
    }),
  }));
}

/** JSON with object keys sorted at every level: the same content always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isObject(value)) {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}
