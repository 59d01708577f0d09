// Migration folders for engine tests: copies of test/fixtures/migrations in a temporary folder that a test
// may change (tamper, delete, add) without touching the repository.
import { copyFileSync, cpSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll } from "vitest";
import type { ClientBase } from "pg";
import { DEFAULT_MIGRATIONS_DIR, readMigrationFiles } from "../../core";
import { scratchDir } from "./scratch";

export const FIXTURE_MIGRATIONS = path.resolve(__dirname, "..", "fixtures", "migrations");

/** A private copy of the fixture migrations, removed after the file's tests. */
export function fixtureMigrationsCopy(): string {
  const dir = scratchDir("neonhub-migrations-");
  cpSync(FIXTURE_MIGRATIONS, dir, { recursive: true });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A temporary folder with the first `count` of the repository's migrations: a database at an older release. */
export function repoMigrationsUpTo(count: number): string {
  const dir = scratchDir("neonhub-migrations-");
  const files = readdirSync(DEFAULT_MIGRATIONS_DIR)
    .filter((f) => f.endsWith(".sql"))
    .sort()
    .slice(0, count);
  for (const file of files) copyFileSync(path.join(DEFAULT_MIGRATIONS_DIR, file), path.join(dir, file));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeMigration(dir: string, file: string, up: string, down = "SELECT 1;"): string {
  const full = path.join(dir, file);
  writeFileSync(full, `-- Up Migration\n${up}\n\n-- Down Migration\n${down}\n`);
  return full;
}

/**
 * The schema made without the engine, as baseline's and adopt's users have it: the up part of each of `dir`'s
 * first `upTo` migrations (all by default), run as `client`, with no ledger.
 */
export async function buildSchemaByHand(
  client: ClientBase,
  dir = FIXTURE_MIGRATIONS,
  upTo?: number,
): Promise<void> {
  for (const file of readMigrationFiles(dir).slice(0, upTo))
    await client.query(file.sql.split(/^-- Down Migration/m)[0]!);
}
