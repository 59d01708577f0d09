// What revert's preview lists for a Down section: every statement that destroys objects or data, dropped
// columns with their table included, and nothing that only looks like one (comments, strings, function bodies).
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, destroyingStatements, dropsOf, readMigrationFiles } from "../../core";

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

describe("destroyingStatements in a DO block", () => {
  it("lists a DELETE whose own CASE has THEN and ELSE, where a statement's start is read from the block's control", () => {
    const sql = [
      "DO $$",
      "BEGIN",
      "  IF true THEN",
      `    DELETE FROM "Widget" WHERE name = CASE WHEN weight > 1 THEN 'heavy' ELSE 'light' END;`,
      "  ELSE",
      `    UPDATE "Widget" SET name = CASE WHEN weight > 1 THEN 'a' ELSE 'b' END;`,
      "  END IF;",
      "END",
      "$$;",
    ].join("\n");
    expect(destroyingStatements(sql)).toEqual([
      `DELETE FROM "Widget" WHERE name = CASE WHEN weight > 1 THEN 'heavy' ELSE 'light' END`,
    ]);
  });

  it("says where a block runs SQL built when it runs, which it cannot list", () => {
    const sql = [
      'DROP INDEX "widget_name";',
      "DO $$",
      "BEGIN",
      "  EXECUTE format('DROP TABLE %I', 'WidgetLog');",
      "END",
      "$$;",
      'TRUNCATE "Widget";',
    ].join("\n");
    expect(destroyingStatements(sql)).toEqual([
      'DROP INDEX "widget_name"',
      "EXECUTE in a DO block: SQL built when it runs, which this list cannot read",
      'TRUNCATE "Widget"',
    ]);
  });
});
