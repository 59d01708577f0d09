// The tables that take bulk embedding loads carry their own autovacuum settings (migration
// 20250126001500_bulk_load_autovacuum), and the down migration gives them back the server's.
import { readdirSync } from "node:fs";
import type { ClientBase } from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase, withClient } from "../support/database";
import { MIGRATIONS_DIR, migrate } from "../support/migrations";

const MIGRATION = "20250126001500_bulk_load_autovacuum";
const BULK_LOAD_SETTINGS = {
  autovacuum_analyze_scale_factor: "0.02",
  autovacuum_vacuum_insert_scale_factor: "0.05",
  autovacuum_vacuum_scale_factor: "0.05",
};

/** Beside them, the toaster's target that keeps embeddings in the row (20261203100000), on the same tables. */
const EMBEDDED = { ...BULK_LOAD_SETTINGS, toast_tuple_target: "8160" };

/** table → storage parameter → value, for every table of `public` that has any. */
async function storageParameters(client: ClientBase): Promise<Record<string, Record<string, string>>> {
  const { rows } = await client.query<{ table: string; name: string; value: string }>(`
    SELECT c.relname AS table, o.option_name AS name, o.option_value AS value
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL pg_options_to_table(c.reloptions) o
    WHERE n.nspname = 'public' AND c.relkind = 'r'
    ORDER BY 1, 2`);
  const tables: Record<string, Record<string, string>> = {};
  for (const row of rows) (tables[row.table] ??= {})[row.name] = row.value;
  return tables;
}

/** Rows changed since the last ANALYZE at which autovacuum analyzes a table, by its own formula. */
async function autoanalyzeThreshold(client: ClientBase, table: string, rows: number): Promise<number> {
  const { rows: result } = await client.query<{ threshold: number }>(
    `SELECT (coalesce(t.threshold, current_setting('autovacuum_analyze_threshold')::float8)
             + coalesce(t.scale, current_setting('autovacuum_analyze_scale_factor')::float8) * $2)::float8
              AS threshold
     FROM (SELECT (SELECT option_value::float8 FROM pg_options_to_table(c.reloptions)
                   WHERE option_name = 'autovacuum_analyze_threshold') AS threshold,
                  (SELECT option_value::float8 FROM pg_options_to_table(c.reloptions)
                   WHERE option_name = 'autovacuum_analyze_scale_factor') AS scale
           FROM pg_class c WHERE c.oid = format('public.%I', $1::text)::regclass) t`,
    [table, rows],
  );
  return Number(result[0]?.threshold);
}

describe("autovacuum settings for bulk-loaded tables", () => {
  const db = useTestDatabase("autovacuum");
  const query = <T>(fn: (client: ClientBase) => Promise<T>) => withClient(db.current.url, fn);

  beforeAll(async () => {
    expect(await migrate(db.current.url)).toContain(MIGRATION);
  });

  it('sets them on "Chunk" and "Message", and on no other table', async () => {
    expect(await query(storageParameters)).toEqual({ Chunk: EMBEDDED, Message: EMBEDDED });
  });

  it("makes autovacuum analyze a million-row table after a 50,000-row load, which the defaults would not", async () => {
    // The server defaults (50 + 0.1 × rows), as "Document", which keeps them, shows.
    expect(await query((c) => autoanalyzeThreshold(c, "Document", 1_000_000))).toBe(100_050);
    for (const table of ["Chunk", "Message"]) {
      const threshold = await query((c) => autoanalyzeThreshold(c, table, 1_000_000));
      expect(threshold, table).toBe(20_050);
      expect(threshold, table).toBeLessThan(50_000);
    }
  });

  it("resets them when the migration is reverted", async () => {
    const files = readdirSync(MIGRATIONS_DIR)
      .filter((f) => f.endsWith(".sql"))
      .sort();
    // Revert down to and including this migration, whatever was added after it.
    const count = files.length - files.indexOf(`${MIGRATION}.sql`);
    const reverted = await migrate(db.current.url, { direction: "down", count });
    expect(reverted.at(-1)).toBe(MIGRATION);
    expect(await query(storageParameters)).toEqual({});
    await migrate(db.current.url);
    expect(await query(storageParameters)).toEqual({ Chunk: EMBEDDED, Message: EMBEDDED });
  });
});
