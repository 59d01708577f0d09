// plan --json's top-level `problems` holds every reason apply would refuse, whichever section shows it in
// detail, so that a machine reading the top level is never told "no problems" by a blocked plan; and exit 1
// goes with a non-empty list, exit 2 (pending) and 0 with an empty one.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { applyRelease, type ReleasePlan } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

async function planJson(url: string, dir: string, ...args: string[]) {
  const run = await runCli(["plan", "--json", "--migrations-dir", dir, ...args], { DATABASE_URL: url });
  return { code: run.code, plan: JSON.parse(run.stdout) as ReleasePlan };
}

describe("plan --json on a database another tool manages", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("lists the pre-flight's problem at the top level too, and exits 1", async () => {
    await withClient(db.current.url, (c) =>
      c.query(
        'CREATE TABLE "_prisma_migrations" (id text PRIMARY KEY, migration_name text, started_at timestamptz)',
      ),
    );
    const { code, plan } = await planJson(db.current.url, dir);
    expect(code).toBe(1);
    expect(plan.migrations.problems.map((p) => p.kind)).toEqual(["foreign-database"]);
    expect(plan.problems).toEqual([
      {
        section: "migrations",
        kind: "foreign-database",
        message: plan.migrations.problems[0]!.message,
        fix: plan.migrations.problems[0]!.fix,
      },
    ]);
  });
});

describe("plan --json with a changed applied migration", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("lists it at the top level with its fix, and exits 1", async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    // In its Up section (an edit after it would leave the Up section the applied one, a message of its own).
    const file = path.join(dir, "20250101000200_widget_color.sql");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace("-- Up Migration\n", "-- Up Migration\n-- edited\n"),
    );
    const { code, plan } = await planJson(db.current.url, dir);
    expect(code).toBe(1);
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0]).toMatchObject({ section: "migrations", kind: "changed" });
    expect(plan.problems[0]!.message).toContain("20250101000200_widget_color.sql was changed");
    // The folder as --migrations-dir gave it.
    expect(plan.problems[0]!.fix).toContain(`Restore ${path.join(dir, "20250101000200_widget_color.sql")}`);
  });
});

describe("plan --json with a safety lint error in production", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("lists the error at the top level (the lint's section keeps its detail), exits 1; outside production 2 and none", async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    await withClient(db.current.url, (c) =>
      c.query(`INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'w' || g FROM generate_series(1, 500) g`),
    );
    writeMigration(dir, "20250101000400_widget_name.sql", 'CREATE INDEX widget_name ON "Widget" (name);');
    const production = await planJson(db.current.url, dir, "--environment", "production");
    expect(production.code).toBe(1);
    expect(production.plan.safety.errors).toBe(1);
    expect(production.plan.problems).toHaveLength(1);
    expect(production.plan.problems[0]).toMatchObject({ section: "safety", kind: "unsafe-migration" });
    expect(production.plan.problems[0]!.message).toContain(
      "20250101000400_widget_name.sql:2 require-concurrent-index-creation",
    );
    expect(production.plan.problems[0]!.fix).toContain("neonhub-db:allow");

    const development = await planJson(db.current.url, dir);
    expect(development.code).toBe(2);
    expect(development.plan.problems).toEqual([]);
  });
});
