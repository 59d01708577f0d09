// Every migration's down section really reverses its up section: reverting all of them leaves an empty
// schema, and applying them again rebuilds exactly the same one. Through the release engine, a revert of all of
// them passes its check that each Down section leaves nothing its Up section created (created-objects.ts).
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, applyRelease, defaultReleaseSteps, withReleaseSession } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { dumpSchema, migrate, MIGRATIONS_DIR, MIGRATIONS_TABLE } from "../support/migrations";

const migrationCount = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith(".sql")).length;

/** Everything in the database that is not node-pg-migrate's own ledger table. */
async function leftovers(url: string): Promise<string[]> {
  const { rows } = await withClient(url, (c) =>
    c.query<{ what: string }>(
      `SELECT 'relation ' || c.relname AS what FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relname NOT LIKE $1 || '%'
       UNION ALL
       SELECT 'type ' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
         WHERE n.nspname = 'public' AND t.typrelid = 0 AND t.typelem = 0 AND t.typname NOT LIKE '\\_%'
       UNION ALL
       SELECT 'function ' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'public'
       UNION ALL
       SELECT 'extension ' || extname FROM pg_extension WHERE extname <> 'plpgsql'`,
      [MIGRATIONS_TABLE],
    ),
  );
  return rows.map((r) => r.what).sort();
}

describe("up → down to zero → up", () => {
  const db = useTestDatabase("roundtrip");

  it("rebuilds a schema identical to the first (pg_dump --schema-only)", async () => {
    expect(await migrate(db.current.url)).toHaveLength(migrationCount);
    const first = await dumpSchema(db.current.url);
    expect(first).toContain('CREATE TABLE public."Chunk"');

    expect(await migrate(db.current.url, { direction: "down" })).toHaveLength(migrationCount);
    expect(await leftovers(db.current.url)).toEqual([]);

    expect(await migrate(db.current.url)).toHaveLength(migrationCount);
    expect(await dumpSchema(db.current.url)).toBe(first);
  });
});

describe("each migration's down section", () => {
  const db = useTestDatabase("stepwise");

  it("returns the schema to exactly what it was before its up section", async () => {
    // The ledger table exists from the first run on; create it so that every "before" includes it.
    await migrate(db.current.url, { count: 1 });
    await migrate(db.current.url, { direction: "down", count: 1 });
    for (let step = 0; step < migrationCount; step++) {
      const before = await dumpSchema(db.current.url);
      const [name] = await migrate(db.current.url, { count: 1 });
      expect(await migrate(db.current.url, { direction: "down", count: 1 })).toEqual([name]);
      // The message names the migration: the diff below it shows only the schema's lines that differ.
      expect(
        await dumpSchema(db.current.url),
        `${name}.sql: its Down section leaves the schema other than before its Up section (- before, + after)`,
      ).toBe(before);
      await migrate(db.current.url, { count: 1 });
    }
  });
});

describe("through the release engine, with its steps", () => {
  const db = useTestDatabase("enginerevert");
  const options = () => ({
    databaseUrl: db.current.url,
    migrationsDir: DEFAULT_MIGRATIONS_DIR,
    steps: defaultReleaseSteps({ seedSets: ["demo"] }),
  });
  const record = () =>
    withClient(db.current.url, (c) =>
      c.query<{ migration: string; what: string }>(
        "SELECT migration, kind || ' ' || schema_name || '.' || coalesce(table_name || '.', '') || name AS what FROM neonhub_release.created_objects",
      ),
    ).then((r) => r.rows);

  it("records what each Up section created, and reverts every migration past the check", async () => {
    const applied = await applyRelease(options());
    expect(applied.migrations).toHaveLength(migrationCount);
    const recorded = await record();
    expect(recorded.map((r) => r.what)).toContain("table public.Chunk");
    // The search functions the calibration changes after the migrations (ALTER FUNCTION ... SET, CREATE OR
    // REPLACE) stay the migrations' own objects, with their oids: the revert does not take them for new ones.
    expect(new Set(recorded.map((r) => r.migration)).size).toBeGreaterThan(migrationCount / 2);

    const reverted = await withReleaseSession(options(), "test", (s) => s.revert({ to: null }));
    expect(reverted.reverted).toHaveLength(migrationCount);
    expect(await leftovers(db.current.url)).toEqual([]);
    expect(await record()).toEqual([]);
  });
});
