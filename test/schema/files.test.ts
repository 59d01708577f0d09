// The migration files keep the conventions the release engine and reviewers rely on.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { MIGRATIONS_DIR } from "../support/migrations";

const names = readdirSync(MIGRATIONS_DIR).sort();
// node-pg-migrate's own markers (its sqlMigration regular expressions).
const UP = /^\s*--[\s-]*up\s+migration/gim;
const DOWN = /^\s*--[\s-]*down\s+migration/gim;

function read(name: string): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(readFileSync(path.join(MIGRATIONS_DIR, name)));
}

/** The SQL without comment lines, so that examples in comments do not count. */
function statements(sql: string): string {
  return sql
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("--"))
    .join("\n");
}

describe("the migration files", () => {
  it("are named <14-digit UTC timestamp>_<snake_case_name>.sql, with distinct timestamps", () => {
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(/^\d{14}_[a-z0-9]+(_[a-z0-9]+)*\.sql$/);
    const stamps = names.map((n) => n.slice(0, 14));
    expect(new Set(stamps).size).toBe(stamps.length);
    expect(
      stamps.every((s) => !Number.isNaN(Date.parse(`${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`))),
    ).toBe(true);
  });

  it.each(names)("%s is UTF-8 with one up section followed by one down section", (name) => {
    const sql = read(name);
    const ups = [...sql.matchAll(UP)];
    const downs = [...sql.matchAll(DOWN)];
    expect(ups).toHaveLength(1);
    expect(downs).toHaveLength(1);
    expect(ups[0]!.index).toBeLessThan(downs[0]!.index);
    expect(statements(sql.slice(ups[0]!.index, downs[0]!.index)).trim()).not.toBe("");
    expect(statements(sql.slice(downs[0]!.index)).trim()).not.toBe("");
  });

  it.each(names)(
    "%s runs in a transaction as a non-superuser owner (no CONCURRENTLY, GRANT, FORCE RLS)",
    (name) => {
      const sql = statements(read(name));
      expect(sql).not.toMatch(/\bCONCURRENTLY\b/i);
      expect(sql).not.toMatch(/\bADD\s+VALUE\b/i);
      expect(sql).not.toMatch(/\bGRANT\b/i);
      expect(sql).not.toMatch(/\bFORCE\s+ROW\s+LEVEL\s+SECURITY\b/i);
      expect(sql).not.toMatch(/\bUSING\s+(ivfflat|hnsw)\b/i);
    },
  );
});
