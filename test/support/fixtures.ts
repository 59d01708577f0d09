// Migration folders for engine tests: copies of test/fixtures/migrations in a temporary folder that a test
// may change (tamper, delete, add) without touching the repository.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll } from "vitest";

export const FIXTURE_MIGRATIONS = path.resolve(__dirname, "..", "fixtures", "migrations");

/** A private copy of the fixture migrations, removed after the file's tests. */
export function fixtureMigrationsCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "neonhub-migrations-"));
  cpSync(FIXTURE_MIGRATIONS, dir, { recursive: true });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function writeMigration(dir: string, file: string, up: string, down = "SELECT 1;"): string {
  const full = path.join(dir, file);
  writeFileSync(full, `-- Up Migration\n${up}\n\n-- Down Migration\n${down}\n`);
  return full;
}
