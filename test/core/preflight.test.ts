// The pre-flight: plan and apply recognise a database that is not empty and not ours before the first
// migration runs, name what they found and the path to take, and write nothing.
import { afterAll, describe, expect, it } from "vitest";
import {
  applyRelease,
  DEFAULT_MIGRATIONS_DIR,
  planRelease,
  readMigrationFiles,
  ReleaseError,
  baselineRelease,
  createdObjects,
  type ReleasePlan,
} from "../../core";
import { runCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { migrate } from "../support/migrations";

const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const db of databases.splice(0)) await dropTestDatabase(db);
});

async function database(prepare?: (sql: (text: string) => Promise<unknown>) => Promise<void>) {
  const db = await createTestDatabase("pre");
  databases.push(db);
  if (prepare) await withClient(db.url, (c) => prepare((text) => c.query(text)));
  return db.url;
}

const release = (databaseUrl: string) => ({ databaseUrl, migrationsDir: DEFAULT_MIGRATIONS_DIR });

/** What "nothing was written" means: no engine schema, and not even migration 1's extensions. */
async function untouched(url: string): Promise<{ engineSchema: boolean; uuidOssp: boolean }> {
  return withClient(url, async (c) => {
    const r = await c.query<{ engine: boolean; uuid: boolean }>(
      `SELECT to_regnamespace('neonhub_release') IS NOT NULL AS engine,
              EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'uuid-ossp') AS uuid`,
    );
    return { engineSchema: r.rows[0]!.engine, uuidOssp: r.rows[0]!.uuid };
  });
}

function kinds(plan: ReleasePlan): string[] {
  return plan.migrations.problems.map((p) => p.kind);
}

/** A Prisma-era app database in miniature: Prisma's ledger, a "User" table with Prisma's names. */
async function prismaDatabase(): Promise<string> {
  return database(async (sql) => {
    await sql(`CREATE TABLE "_prisma_migrations" (
      id varchar(36) PRIMARY KEY, checksum varchar(64) NOT NULL, finished_at timestamptz,
      migration_name varchar(255) NOT NULL, logs text, rolled_back_at timestamptz,
      started_at timestamptz NOT NULL DEFAULT now(), applied_steps_count integer NOT NULL DEFAULT 0)`);
    await sql(`INSERT INTO "_prisma_migrations" (id, checksum, migration_name, finished_at)
               VALUES ('a', 'x', '20240101000000_init', now()), ('b', 'y', '20240301000000_campaigns', now())`);
    await sql(
      `CREATE TABLE "User" (id text PRIMARY KEY, email text NOT NULL, "createdAt" timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP)`,
    );
    await sql(`CREATE UNIQUE INDEX "User_email_key" ON "User" (email)`);
  });
}

describe("the pre-flight", () => {
  it("stops plan and apply on a Prisma-managed database, naming _prisma_migrations and the path, writing nothing", async () => {
    const url = await prismaDatabase();
    const plan = await planRelease(release(url));
    expect(kinds(plan)).toEqual(["foreign-database", "existing-objects"]);
    const [prisma, collision] = plan.migrations.problems;
    expect(prisma!.message).toContain("Prisma Migrate (table public._prisma_migrations");
    expect(prisma!.message).toContain("records 2 migration(s) (last: 20240301000000_campaigns)");
    expect(prisma!.fix).toContain("neonhub-db baseline");
    // Each path with the runbook's section that covers it: baseline's, and the older app schema's upgrade.
    // Each ends with the command to run and the section, not a restatement of the path's steps.
    expect(prisma!.fix).toBe(
      'Do not apply over it. If Prisma built the schema these migrations build, adopt it: `neonhub-db baseline` (docs/runbook.md, "Adopting an existing database"); if it is the older NeonHub app schema, upgrade it in place: `plan --upgrade-legacy` (docs/runbook.md, "Upgrading a Prisma-era database"). Nothing was written.',
    );
    expect(collision!.fix).toContain('docs/runbook.md, "Adopting an existing database"');
    expect(collision!.message).toContain(
      'table "User" (20250126000400_identity_and_organizations), index "User_email_key" (20250126000400_identity_and_organizations)',
    );

    const error = await applyRelease(release(url)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReleaseError);
    expect((error as ReleaseError).code).toBe("ledger-mismatch");
    expect((error as ReleaseError).message).toContain("_prisma_migrations");
    expect(await untouched(url)).toEqual({ engineSchema: false, uuidOssp: false });
  });

  it("stops on a database migrated by the node-pg-migrate CLI, pointing at `neonhub-db adopt`", async () => {
    const url = await database();
    await migrate(url, { count: 3 });
    const plan = await planRelease(release(url));
    expect(kinds(plan)).toEqual(["foreign-database", "existing-objects"]);
    expect(plan.migrations.problems[0]!.message).toContain(
      "node-pg-migrate CLI (table public.pgmigrations, which records 3 migration(s) (last: 20250126000300_timestamps)",
    );
    expect(plan.migrations.problems[0]!.fix).toContain("neonhub-db adopt");
    expect(plan.migrations.problems[1]!.message).toMatch(/^10 object\(s\)/);
    // The collision is the same database: its path is the foreign ledger's, never baseline, which refuses it.
    expect(plan.migrations.problems[1]!.fix).toContain("`neonhub-db adopt`, not baseline");
    expect(plan.migrations.problems[1]!.fix).not.toContain("adopt it with `neonhub-db baseline`");
    await expect(applyRelease(release(url))).rejects.toThrow(/node-pg-migrate CLI/);
    expect((await untouched(url)).engineSchema).toBe(false);
  });

  it("stops when objects the pending migrations create exist already, before migration 1 runs (the old trap)", async () => {
    const url = await database(async (sql) => {
      await sql(`CREATE TYPE "AgentKind" AS ENUM ('COPILOT')`);
      await sql(
        `CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$`,
      );
    });
    const plan = await planRelease(release(url));
    expect(kinds(plan)).toEqual(["existing-objects"]);
    expect(plan.migrations.problems[0]!.message).toBe(
      `2 object(s) that the pending migrations create already exist: type "AgentKind" (20250126000200_enums), function set_updated_at (20250126000300_timestamps).`,
    );
    expect(plan.migrations.problems[0]!.fix).toContain(
      'adopt it: `neonhub-db baseline` (docs/runbook.md, "Adopting an existing database"); if it is the older NeonHub app schema, upgrade it in place: `plan --upgrade-legacy` (docs/runbook.md, "Upgrading a Prisma-era database").',
    );
    await expect(applyRelease(release(url))).rejects.toThrow(/type "AgentKind"/);
    // Migration 1 (idempotent, it would have run and been recorded before) did not run either.
    expect(await untouched(url)).toEqual({ engineSchema: false, uuidOssp: false });
  });

  it("finds a lone function a pending migration creates: only an empty target schema skips the lookups", async () => {
    // No table or type anywhere: what tells this database from a new one is the function alone.
    const url = await database(async (sql) => {
      await sql(
        `CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$`,
      );
    });
    const plan = await planRelease(release(url));
    expect(plan.migrations.problems.map((p) => p.message)).toEqual([
      "1 object(s) that the pending migrations create already exist: function set_updated_at (20250126000300_timestamps).",
    ]);
  });

  it("on a released database, names an object created by hand that a new migration creates", async () => {
    const dir = fixtureMigrationsCopy();
    const url = await database();
    await applyRelease({ databaseUrl: url, migrationsDir: dir });
    writeMigration(dir, "20250101000400_sprockets.sql", 'CREATE TABLE "Sprocket" (id text PRIMARY KEY);');
    await withClient(url, (c) => c.query('CREATE TABLE "Sprocket" (id int)'));
    const error = (await applyRelease({ databaseUrl: url, migrationsDir: dir }).catch(
      (e: unknown) => e,
    )) as ReleaseError;
    expect(error.message).toContain('table "Sprocket" (20250101000400_sprockets)');
    expect(error.fix).toContain("created outside the release");
    const ledger = await withClient(url, (c) =>
      c.query("SELECT count(*)::int AS n FROM neonhub_release.migrations"),
    );
    expect(ledger.rows[0].n).toBe(3);
  });

  it("lets a database with unrelated objects of its own through", async () => {
    const url = await database(async (sql) => {
      await sql("CREATE TABLE legacy_notes (id int PRIMARY KEY)");
      await sql("CREATE TYPE mood AS ENUM ('ok')");
    });
    expect((await planRelease(release(url))).migrations.problems).toEqual([]);
    const result = await applyRelease(release(url));
    expect(result.migrations).toHaveLength(readMigrationFiles(DEFAULT_MIGRATIONS_DIR).length);
  });

  it("through the CLI: plan exits 1 and lists the findings in --json; apply exits 1 with the path to take", async () => {
    const url = await prismaDatabase();
    const plan = await runCli(["plan", "--json"], { DATABASE_URL: url });
    expect(plan.code).toBe(1);
    const problems = (JSON.parse(plan.stdout) as ReleasePlan).migrations.problems;
    expect(problems.map((p) => p.kind)).toEqual(["foreign-database", "existing-objects"]);
    const apply = await runCli(["apply"], { DATABASE_URL: url });
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain("managed by Prisma Migrate");
    expect(apply.stderr).toContain("fix:\n    1. Do not apply over it");
    // The upgrade's plan as the CLI runs it, with the organization it refuses the plan without.
    expect(apply.stderr).toContain(
      "if it is the older NeonHub app schema, upgrade it in place: `neonhub-db plan --upgrade-legacy --legacy-organization '<slug>'` (docs/runbook.md, \"Upgrading a Prisma-era database\").",
    );
    // Each fix alone says nothing was written; the numbered list says it once, after them.
    expect(apply.stderr).toMatch(/\n {4}2\. [^\n]*\n {4}Nothing was written\.\n/);
    expect(apply.stderr.split("Nothing was written.")).toHaveLength(2);
    expect(apply.stderr).not.toContain("unexpected error");
    expect((await untouched(url)).engineSchema).toBe(false);
  });
});

describe("the objects a migration creates", () => {
  const file = (sql: string) => ({ name: "m", path: "m.sql", checksum: "", bytesChecksum: "", sql });

  it("reads quoted and unquoted names, skips idempotent statements, comments, strings and function bodies", () => {
    const sql = `-- Up Migration
      -- CREATE TABLE commented_out (id int);
      CREATE TABLE "Mixed" (id int); create table plain_name (id int);
      CREATE TABLE IF NOT EXISTS maybe (id int);
      CREATE UNIQUE INDEX "Mixed_id_key" ON "Mixed" (id); CREATE INDEX ON plain_name (id);
      CREATE INDEX IF NOT EXISTS maybe_idx ON maybe (id);
      CREATE TYPE app."Kind" AS ENUM ('CREATE TABLE in_a_string');
      CREATE OR REPLACE FUNCTION replaced() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
      CREATE FUNCTION fresh() RETURNS int LANGUAGE plpgsql AS $body$ BEGIN CREATE TABLE inside (id int); RETURN 1; END $body$;
      CREATE SCHEMA app; CREATE SCHEMA IF NOT EXISTS other;
      -- Down Migration
      CREATE TABLE in_down (id int);`;
    expect(createdObjects([file(sql)]).map((o) => `${o.kind} ${o.schema ?? ""}.${o.name}`)).toEqual([
      "table .Mixed",
      "table .plain_name",
      "index .Mixed_id_key",
      "type app.Kind",
      "function .fresh",
      "schema .app",
    ]);
  });

  it("leaves out what an earlier statement drops: a replacement, not a collision", () => {
    const dropsFirst = `-- Up Migration
      DROP FUNCTION settings(text);
      CREATE FUNCTION settings(t text) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
      CREATE FUNCTION kept() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
      DROP TABLE IF EXISTS later;
      CREATE TABLE later_created_before (id int);
      DROP FUNCTION kept();`;
    const next = `CREATE TABLE later (id int); CREATE FUNCTION kept() RETURNS int LANGUAGE sql AS $$ SELECT 2 $$;`;
    expect(createdObjects([file(dropsFirst), file(next)]).map((o) => `${o.kind} ${o.name}`)).toEqual([
      "table later_created_before",
      "function kept",
    ]);
  });

  it("finds every table of the project's migrations", () => {
    const tables = createdObjects(readMigrationFiles(DEFAULT_MIGRATIONS_DIR)).filter(
      (o) => o.kind === "table",
    );
    expect(tables).toHaveLength(34);
    expect(tables.map((t) => t.name)).toContain("User");
  });
});

describe("a database an earlier apply half-applied over a Prisma schema", () => {
  it("names the trap and the way out; following it leaves nothing of the engine behind", async () => {
    const url = await prismaDatabase();
    // The state the old engine left: migration 1 (idempotent) recorded, stopped at the first collision.
    await withClient(url, (c) => c.query('CREATE EXTENSION vector; CREATE EXTENSION "uuid-ossp"'));
    await baselineRelease({ ...release(url), to: "20250126000100_extensions" });
    const plan = await planRelease(release(url));
    expect(kinds(plan)).toEqual(["existing-objects"]);
    const [trap] = plan.migrations.problems;
    expect(trap!.message).toContain("This database also has public._prisma_migrations");
    expect(trap!.message).toContain("recorded 1 migration(s) (up to 20250126000100_extensions)");
    expect(trap!.fix).toContain("DROP SCHEMA neonhub_release CASCADE");
    expect(trap!.fix).toContain("`neonhub-db baseline`");
    // Following the fix brings back the Prisma finding, with nothing of the engine left.
    await withClient(url, (c) => c.query("DROP SCHEMA neonhub_release CASCADE"));
    expect(kinds(await planRelease(release(url)))).toEqual(["foreign-database", "existing-objects"]);
  });
});
