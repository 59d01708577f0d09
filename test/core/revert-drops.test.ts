// What revert's preview lists for a Down section: every statement that destroys objects or data, dropped
// columns with their table included, and nothing that only looks like one (comments, strings, function bodies).
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, dropsOf, readMigrationFiles } from "../../core";

const fixture = (dir: string, name: string) => {
  const file = readMigrationFiles(dir).find((f) => f.name === name);
  if (!file) throw new Error(`no migration ${name} in ${dir}`);
  return file;
};

describe("dropsOf", () => {
  it("lists dropped columns, TRUNCATE and DELETE, and the statements of a DO block", () => {
    const file = fixture(
      path.resolve(__dirname, "..", "fixtures", "revert-drops"),
      "20250101000400_destructive_down",
    );
    expect(dropsOf(file)).toEqual([
      'ALTER TABLE "Widget" DROP COLUMN IF EXISTS weight',
      'ALTER TABLE "Widget" DROP COLUMN "sizeLabel"',
      'TRUNCATE "WidgetLog"',
      "DELETE FROM \"Widget\" WHERE name = 'DROP TABLE x'",
      'DROP TABLE "WidgetLog"',
    ]);
  });

  it("shows the column the tenant search prefilter's Down section drops", () => {
    const file = fixture(DEFAULT_MIGRATIONS_DIR, "20261203120000_tenant_search_prefilter");
    expect(dropsOf(file)).toContain('ALTER TABLE "Chunk" DROP COLUMN "embeddingBits"');
  });
});
