// plan --json's top-level `problems` holds every reason apply would refuse, whichever section shows it in
// detail, so that a machine reading the top level is never told "no problems" by a blocked plan; and exit 1
// goes with a non-empty list, exit 2 (pending) and 0 with an empty one.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, applyRelease, planRelease, type ReleasePlan } from "../../core";
import { runCli } from "../support/cli";
import {
  createTestDatabase,
  dropTestDatabase,
  useTestDatabase,
  withClient,
  type TestDatabase,
} from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { createAccessRoles, dropAccessRoles, type AccessRoles } from "../support/roles";

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

// The first migration creates pgvector, which only a superuser may create. On a database the access layer did
// not prepare (the roles made, the extension not), the migrator acting as the owner role would fail there,
// after apply had written the release's bookkeeping; plan said "Changes pending" (exit 2).
describe("plan and apply where the role the migrations run as may not create pgvector", () => {
  let db: TestDatabase;
  let roles: AccessRoles;

  beforeAll(async () => {
    db = await createTestDatabase("noext");
    roles = await createAccessRoles(db);
    await withClient(db.url, (c) => c.query('DROP EXTENSION vector; DROP EXTENSION "uuid-ossp"'));
  });
  afterAll(async () => {
    await dropTestDatabase(db);
    await dropAccessRoles(db, roles);
  });

  const expected = () => ({
    section: "server",
    kind: "missing-pgvector",
    message: `The "vector" extension is not enabled in this database, and role "${roles.names.owner}" may not create it.`,
    fix: expect.stringContaining(
      'Have an administrator (a superuser, or rds_superuser on Amazon RDS) run CREATE EXTENSION "vector";',
    ),
  });

  it("plan lists it as a problem apply refuses and exits 1, as the migrator and as the admin with --owner-role", async () => {
    const migrator = await runCli(["plan", "--json"], { DIRECT_URL: roles.url("migrator") });
    expect(migrator.code).toBe(1);
    const [problem] = (JSON.parse(migrator.stdout) as ReleasePlan).problems;
    expect(problem).toEqual(expected());
    // Plan ran no apply: its fix names the plan to run again as it was run, then the apply.
    expect(problem!.fix).toMatch(
      /, then run `neonhub-db plan --json` again to see this problem gone, then `neonhub-db apply`\.$/,
    );

    // The admin may create it, but the migrations would run as the owner role, which may not.
    const admin = await runCli(["plan", "--json", "--owner-role", roles.names.owner], { DIRECT_URL: db.url });
    expect(admin.code).toBe(1);
    const [asOwner] = (JSON.parse(admin.stdout) as ReleasePlan).problems;
    expect(asOwner).toEqual(expected());
    // A library caller ran no command: the plan and the apply in words.
    const library = await planRelease({
      databaseUrl: roles.url("migrator"),
      migrationsDir: DEFAULT_MIGRATIONS_DIR,
    });
    expect(library.problems).toEqual([expected()]);
    expect(library.problems[0]!.fix).toMatch(/, then run plan again to see this problem gone, then apply\.$/);
    expect(asOwner!.fix).toContain(
      `, then run \`neonhub-db plan --json --owner-role ${roles.names.owner}\` again to see this problem gone, then \`neonhub-db apply --owner-role ${roles.names.owner}\`.`,
    );
  });

  it("apply refuses it with missing-pgvector before writing anything, and runs once the administrator created it", async () => {
    const refused = await runCli(["apply", "--json"], { DIRECT_URL: roles.url("migrator") });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout)).toMatchObject({
      error: { code: "missing-pgvector", problems: [expected()] },
    });
    // Apply's says to run the apply again, as before.
    expect(
      (JSON.parse(refused.stdout) as { error: { problems: { fix: string }[] } }).error.problems[0]!.fix,
    ).toMatch(/, then run `neonhub-db apply` again\.$/);
    const written = await withClient(db.url, (c) =>
      c.query<{ schemas: number; relations: number }>(
        `SELECT (SELECT count(*)::int FROM pg_namespace WHERE nspname = 'neonhub_release') AS schemas,
                (SELECT count(*)::int FROM pg_class WHERE relnamespace = 'public'::regnamespace) AS relations`,
      ),
    );
    expect(written.rows[0]).toEqual({ schemas: 0, relations: 0 });

    await withClient(db.url, (c) => c.query("CREATE EXTENSION vector"));
    const plan = await runCli(["plan", "--json"], { DIRECT_URL: roles.url("migrator") });
    expect(plan.code).toBe(2);
    expect((JSON.parse(plan.stdout) as ReleasePlan).problems).toEqual([]);
    const applied = await runCli(["apply", "--json"], { DIRECT_URL: roles.url("migrator") });
    expect(applied.code).toBe(0);
  });
});
