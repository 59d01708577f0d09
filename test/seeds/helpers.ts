// Shared by the seed tests: a private copy of a seed set that a test may edit, and small readers.
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { ClientBase } from "pg";
import { afterAll } from "vitest";
import { DEFAULT_SEEDS_DIR } from "../../core";
import { scratchDir } from "../support/scratch";

/** A copy of seeds/ in a temporary folder, removed after the file's tests. */
export function seedsCopy(): string {
  const dir = scratchDir("neonhub-seeds-");
  cpSync(DEFAULT_SEEDS_DIR, dir, { recursive: true });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface SeedFile {
  tables: { table: string; key?: string[]; rows: Record<string, unknown>[] }[];
}

/** Edits one seed file in place through a callback. */
export function editSeedFile(
  dir: string,
  set: string,
  file: string,
  edit: (content: SeedFile) => void,
): void {
  const full = path.join(dir, set, file);
  const content = JSON.parse(readFileSync(full, "utf8")) as SeedFile;
  edit(content);
  writeFileSync(full, JSON.stringify(content, null, 2));
}

export function seedTable(content: SeedFile, table: string): SeedFile["tables"][number] {
  const found = content.tables.find((t) => t.table === table);
  if (!found) throw new Error(`no table ${table} in this seed file`);
  return found;
}

/** id -> xmin of every row of `table`: xmin changes whenever a row is rewritten, even to equal values. */
export async function rowVersions(
  client: ClientBase,
  table: string,
  idExpression = "id",
): Promise<Map<string, string>> {
  const result = await client.query<{ id: string; xmin: string }>(
    `SELECT ${idExpression} AS id, xmin::text AS xmin FROM "${table}"`,
  );
  return new Map(result.rows.map((r) => [r.id, r.xmin]));
}
