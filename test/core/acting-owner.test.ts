// A login that may act as the release's owner role but acts as itself (roles re-made by hand after a restore,
// without the migrator's `ALTER ROLE ... SET role`) would create a migration's tables as itself: the app could
// not read them and the snapshot would record them as the release's. plan, apply and revert refuse that before
// anything is written, with both fixes, each of which is run here; a superuser that is not the owner is refused
// too (with --owner-role as its fix), one that released the database itself is not; a login that is no member
// of the owner keeps the errors it had.
import { cpSync, rmSync } from "node:fs";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyRelease,
  DEFAULT_MIGRATIONS_DIR,
  defaultReleaseSteps,
  isReleaseError,
  planRelease,
  quoteIdentifier,
  shellWord,
  withReleaseSession,
  type ReleaseError,
  type ReleasePlan,
  type ReleaseOptions,
} from "../../core";
import { useReleasedDatabase } from "../security/released-database";
import { runCli } from "../support/cli";
import {
  createTestDatabase,
  dropTestDatabase,
  useTestDatabase,
  withClient,
  type TestDatabase,
} from "../support/database";
import { createAccessRoles, dropAccessRoles, tableOwners, type AccessRoles } from "../support/roles";
import { writeMigration } from "../support/fixtures";
import { scratchDir } from "../support/scratch";

const PROBE = "29990301000000_restore_probe";

async function refusal(run: Promise<unknown>): Promise<ReleaseError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isReleaseError(error), String(error)).toBe(true);
  return error as ReleaseError;
}

describe("a released database whose migrator acts as itself", () => {
  const target = useReleasedDatabase("actowner");
  let admin: Client;
  let dir: string;
  const names = () => target.current.roles.names;
  const options = (url: string, extra: Partial<ReleaseOptions> = {}): ReleaseOptions => ({
    databaseUrl: url,
    migrationsDir: dir,
    steps: defaultReleaseSteps({ seedSets: [] }),
    ...extra,
  });
  const asMigrator = (extra: Partial<ReleaseOptions> = {}) =>
    options(target.current.roles.url("migrator"), extra);
  const asSuperuser = (extra: Partial<ReleaseOptions> = {}) => options(target.current.db.url, extra);

  async function records(): Promise<{ ledger: string[]; snapshot: unknown; probe: string | null }> {
    const ledger = await admin.query<{ name: string }>(
      "SELECT name FROM neonhub_release.migrations ORDER BY id",
    );
    const snapshot = await admin.query(
      "SELECT taken_at, last_migration FROM neonhub_release.schema_snapshot",
    );
    const probe = await admin.query<{ owner: string | null }>(
      `SELECT (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass('public."RestoreProbe"')) AS owner`,
    );
    return { ledger: ledger.rows.map((r) => r.name), snapshot: snapshot.rows, probe: probe.rows[0]!.owner };
  }

  beforeAll(async () => {
    dir = scratchDir("neonhub-acting-owner-");
    cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    writeMigration(
      dir,
      `${PROBE}.sql`,
      'CREATE TABLE "RestoreProbe" (id text PRIMARY KEY);',
      'DROP TABLE "RestoreProbe";',
    );
    admin = new Client({ connectionString: target.current.db.url });
    await admin.connect();
    // As roles re-made by hand after a restore: the migrator no longer becomes the owner at login.
    await admin.query(`ALTER ROLE ${quoteIdentifier(names().migrator)} RESET role`);
  });
  afterAll(async () => {
    await admin?.end();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("plan, apply and revert as the migrator are refused before any write, naming the login, the owner and both fixes", async () => {
    const { migrator, owner } = names();
    const before = await records();
    expect(before.probe).toBeNull();

    const applied = await refusal(applyRelease(asMigrator()));
    expect(applied.code).toBe("permission");
    expect(applied.message).toContain(`user "${migrator}" may act as "${owner}"`);
    expect(applied.message).toContain(`apply would create objects as "${migrator}"`);
    expect(applied.fix).toContain(
      `ALTER ROLE ${quoteIdentifier(migrator)} SET role = ${quoteIdentifier(owner)}`,
    );
    expect(applied.fix).toContain(`--owner-role ${owner}`);
    expect(await records()).toEqual(before);

    const planned = await refusal(planRelease(asMigrator()));
    expect(planned.message).toBe(applied.message);
    expect(planned.fix).toBe(applied.fix);

    // The CLI: exit 1 and the error document CI reads.
    const cli = await runCli(["plan", "--json", "--migrations-dir", dir], {
      DATABASE_URL: target.current.roles.url("migrator"),
    });
    expect(cli.code, cli.stderr).toBe(1);
    const doc = JSON.parse(cli.stdout) as { error: { code: string; message: string; fix: string } };
    expect(doc.error).toMatchObject({ code: "permission", message: applied.message });
    expect(cli.stdout).not.toContain(target.current.roles.password);

    // revert's preview and --confirm, of the last migration the database has.
    const keep = before.ledger.at(-2)!;
    const preview = await refusal(withReleaseSession(asMigrator(), "revert", (s) => s.planRevert(keep)));
    expect(preview.message).toContain(`revert --confirm would create objects as "${migrator}"`);
    const reverted = await refusal(withReleaseSession(asMigrator(), "revert", (s) => s.revert({ to: keep })));
    expect(reverted.code).toBe("permission");
    expect(reverted.fix).toContain(`--owner-role ${owner}`);
    expect(await records()).toEqual(before);
  });

  it("--owner-role naming another role the login may act as is refused with the owner role as its fix", async () => {
    const { migrator, owner } = names();
    // A role the migrator may act as, a member of the owner (so it reads what the owner reads), that owns nothing.
    const other = `${migrator}_other`;
    await admin.query(`CREATE ROLE ${quoteIdentifier(other)} NOLOGIN IN ROLE ${quoteIdentifier(owner)}`);
    try {
      await admin.query(`GRANT ${quoteIdentifier(other)} TO ${quoteIdentifier(migrator)}`);
      const before = await records();
      for (const run of [applyRelease, planRelease] as const) {
        const error = await refusal(run(asMigrator({ ownerRole: other })));
        expect(error.message).toContain(`user "${migrator}" (acting as "${other}") may act as "${owner}"`);
        expect(error.fix).toBe(
          `Name the role that owns the release's objects: --owner-role ${owner}. Nothing was written.`,
        );
      }
      expect(await records()).toEqual(before);
    } finally {
      await admin.query(`DROP ROLE ${quoteIdentifier(other)}`);
    }
  });

  it("a superuser that is not the owner is refused, with --owner-role and no ALTER ROLE as its fix", async () => {
    const { owner } = names();
    const superuser = new URL(target.current.db.url).username;
    const before = await records();
    const error = await refusal(applyRelease(asSuperuser()));
    expect(error.message).toContain(`user "${superuser}" may act as "${owner}"`);
    expect(error.fix).toContain(`with --owner-role ${owner}`);
    expect(error.fix).not.toContain("ALTER ROLE");
    expect(await records()).toEqual(before);
  });

  it("with --owner-role the table is the owner's and the app reads it; with the SET role back, revert runs as the migrator", async () => {
    const { owner } = names();
    const result = await applyRelease(asMigrator({ ownerRole: owner }));
    expect(result.migrations.map((m) => m.name)).toEqual([PROBE]);
    expect((await records()).probe).toBe(owner);
    const app = await target.current.roles.connect("app");
    try {
      expect((await app.query('SELECT count(*)::int AS n FROM "RestoreProbe"')).rows[0]).toEqual({ n: 0 });
    } finally {
      await app.end();
    }

    // The other fix: the migrator becomes the owner at login again, and needs no flag.
    await admin.query(`ALTER ROLE ${quoteIdentifier(names().migrator)} SET role = ${quoteIdentifier(owner)}`);
    const ledger = (await records()).ledger;
    const reverted = await withReleaseSession(asMigrator(), "revert", (s) =>
      s.revert({ to: ledger.at(-2)! }),
    );
    expect(reverted.reverted.map((m) => m.name)).toEqual([PROBE]);
    expect((await records()).probe).toBeNull();
    const again = await applyRelease(asMigrator());
    expect(again.migrations.map((m) => m.name)).toEqual([PROBE]);
    expect((await records()).probe).toBe(owner);
  });

  it("a login that is no member of the owner keeps the error it had", async () => {
    const { app, owner } = names();
    const error = await refusal(applyRelease(options(target.current.roles.url("app"))));
    expect(error.message).not.toContain(`may act as "${owner}"`);
    expect(error.message).toContain(app);
  });
});

describe("a database its own superuser session released", () => {
  const db = useTestDatabase("actself");
  let dir: string;
  beforeAll(() => {
    dir = scratchDir("neonhub-acting-self-");
    writeMigration(dir, "20250101000100_first.sql", 'CREATE TABLE "First" (id int PRIMARY KEY);');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("applies as before: the superuser owns the ledger", async () => {
    const options = { databaseUrl: db.current.url, migrationsDir: dir, steps: [] };
    expect((await applyRelease(options)).migrations).toHaveLength(1);
    writeMigration(dir, "20250101000200_second.sql", 'CREATE TABLE "Second" (id int PRIMARY KEY);');
    expect((await planRelease(options)).migrations.pending.map((m) => m.name)).toEqual([
      "20250101000200_second",
    ]);
    expect((await applyRelease(options)).migrations).toHaveLength(1);
    const owner = await withClient(
      db.current.url,
      async (c) =>
        (
          await c.query<{ o: string }>(
            `SELECT pg_get_userbyid(relowner) AS o FROM pg_class WHERE oid = '"Second"'::regclass`,
          )
        ).rows[0]!.o,
    );
    expect(owner).toBe(new URL(db.current.url).username);
  });
});

// A first apply decides whose the release is: every later one must act as the role that owns its objects. An
// --owner-role the migrator holds that does not own the database, or a login acting as itself, would make
// those objects a role the database's owner could not manage, outside the grants the app gets: refused before
// anything is written, naming the database's owner, by plan and apply alike.
describe("a first apply as a role the database's owner could not manage", () => {
  let db: TestDatabase;
  let roles: AccessRoles;
  const helper = () => `${db.name}_helper`;
  beforeAll(async () => {
    db = await createTestDatabase("firstowner");
    roles = await createAccessRoles(db);
    await withClient(db.url, async (c) => {
      await c.query(`CREATE ROLE ${quoteIdentifier(helper())} NOLOGIN`);
      await c.query(`GRANT ${quoteIdentifier(helper())} TO ${quoteIdentifier(roles.names.migrator)}`);
      await c.query(`GRANT CREATE ON DATABASE ${quoteIdentifier(db.name)} TO ${quoteIdentifier(helper())}`);
    });
  });
  afterAll(async () => {
    if (!db) return;
    await dropTestDatabase(db);
    await withClient(db.adminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${quoteIdentifier(helper())}`));
    await dropAccessRoles(db, roles);
  });
  /** Whether anything of the release exists: its bookkeeping schema or a table of the first migration. */
  const released = () =>
    withClient(
      db.url,
      async (c) =>
        (
          await c.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'neonhub_release'",
          )
        ).rows[0]!.n > 0,
    );
  const cli = (url: string, ...args: string[]) =>
    runCli([...args, "--json", "--migrations-dir", DEFAULT_MIGRATIONS_DIR], { DATABASE_URL: url });
  const errorOf = (run: { stdout: string }) =>
    (JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } }).error;

  it("--owner-role naming a role the migrator holds: plan and apply refuse it, naming the database's owner and the hand-over", async () => {
    const { migrator, owner } = roles.names;
    for (const command of ["plan", "apply"]) {
      const run = await cli(roles.url("migrator"), command, "--owner-role", helper());
      expect(run.code, run.stderr).toBe(1);
      const error = errorOf(run);
      expect(error.code).toBe("permission");
      expect(error.message).toBe(
        `This is the first release of database ${db.name} (no ledger neonhub_release.migrations yet), and user "${migrator}" (acting as "${helper()}") would create its objects as "${helper()}"; ` +
          `the database belongs to "${owner}", which is not a member of "${helper()}" and could not manage them. ` +
          `The app's and the read-only logins' grants come from the owner role's default privileges, and every later release would have to act as "${helper()}".`,
      );
      expect(error.fix).toBe(
        `Name the role that owns the database: --owner-role ${owner}. If "${helper()}" is to own the release instead, hand it the database first, as "${owner}" or a superuser: ` +
          `ALTER DATABASE ${quoteIdentifier(db.name)} OWNER TO ${quoteIdentifier(helper())}. Nothing was written.`,
      );
      expect(run.stderr).not.toContain("unexpected error");
      expect(await released()).toBe(false);
    }
  });

  it("the superuser acting as itself is refused with --owner-role as its fix; as the fix says, the release is the owner's", async () => {
    const { owner } = roles.names;
    const run = await cli(db.url, "apply");
    expect(run.code, run.stderr).toBe(1);
    const error = errorOf(run);
    expect(error.code).toBe("permission");
    expect(error.message).toContain(`the database belongs to "${owner}", which is not a member of`);
    expect(error.fix).toContain(`Run apply with --owner-role ${owner}, or as the migrator`);
    expect(await released()).toBe(false);

    const applied = await cli(roles.url("migrator"), "apply", "--owner-role", owner);
    expect(applied.code, applied.stderr).toBe(0);
    const owners = await tableOwners(db.url);
    expect(owners).toEqual([owner]);
    // Released, the helper is the wrong role as before: the refusal names the ledger's owner.
    const again = await cli(roles.url("migrator"), "plan", "--owner-role", helper());
    expect(errorOf(again).message).toContain(
      `--owner-role "${helper()}" is not the role that owns the release's objects`,
    );
  });
});

// What a first apply creates, PostgreSQL checks against the schema it creates in (public) and the database (the
// bookkeeping schema), not against who owns the database: a restore from an older server or a hand-made
// database may give public another owner or take CREATE on it away, or make another role the database's owner
// while public stays the owner role's. The first apply judges by what PostgreSQL will enforce: refused before
// anything is written when the role may not create there, naming the schema, the role and the statement to run
// as the admin (each run here, after which apply releases the database); let through where it may. plan lists
// it among its problems, as it lists an extension the role may not create: a read-only login may still plan.
describe("a first apply judged by the privileges PostgreSQL enforces", () => {
  const made: { db: TestDatabase; roles: AccessRoles }[] = [];
  const other = (db: TestDatabase) => `${db.name}_other`;
  async function stack(prefix: string): Promise<{ db: TestDatabase; roles: AccessRoles }> {
    const db = await createTestDatabase(prefix);
    const roles = await createAccessRoles(db);
    made.push({ db, roles });
    await withClient(db.url, (c) => c.query(`CREATE ROLE ${quoteIdentifier(other(db))} NOLOGIN`));
    return { db, roles };
  }
  afterAll(async () => {
    for (const { db, roles } of made) {
      await dropTestDatabase(db);
      await withClient(db.adminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${quoteIdentifier(other(db))}`));
      await dropAccessRoles(db, roles);
    }
  });
  const cli = (url: string, ...args: string[]) =>
    runCli([...args, "--json", "--migrations-dir", DEFAULT_MIGRATIONS_DIR], { DATABASE_URL: url });
  /** The schemas and the tables of public: what a first apply writes, the extensions aside. */
  const written = (db: TestDatabase) =>
    withClient(db.url, async (c) => ({
      schemas: (
        await c.query<{ n: string }>(
          "SELECT nspname AS n FROM pg_namespace WHERE nspname IN ('neonhub_release', 'public') ORDER BY 1",
        )
      ).rows.map((r) => r.n),
      tables: (
        await c.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'",
        )
      ).rows[0]!.n,
    }));
  /**
   * plan as the migrator lists the refusal among its problems (exit 1, its pending migrations still listed) and
   * apply refuses with it, both before anything is written; the error's fix holds the statement to run.
   */
  async function refused(db: TestDatabase, roles: AccessRoles): Promise<{ message: string; fix: string }> {
    const before = await written(db);
    expect(before).toEqual({ schemas: ["public"], tables: 0 });
    const plan = await cli(roles.url("migrator"), "plan");
    expect(plan.code, plan.stderr).toBe(1);
    const planned = JSON.parse(plan.stdout) as ReleasePlan;
    expect(planned.migrations.pending.length).toBeGreaterThan(0);
    const problem = planned.problems.find((p) => p.kind === "missing-create-privilege");
    expect(problem).toMatchObject({ section: "server" });
    expect(await written(db)).toEqual(before);
    const text = await runCli(["plan", "--migrations-dir", DEFAULT_MIGRATIONS_DIR], {
      DATABASE_URL: roles.url("migrator"),
    });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`  problem: ${problem!.message}\n    fix: ${problem!.fix}\n`);
    expect(text.stdout).toContain("Blocked:");

    const apply = await cli(roles.url("migrator"), "apply");
    expect(apply.code, apply.stderr).toBe(1);
    expect(apply.stderr).not.toContain("unexpected error");
    expect(apply.stdout).not.toContain(roles.password);
    const error = (
      JSON.parse(apply.stdout) as {
        error: { code: string; message: string; fix: string; problems: unknown[] };
      }
    ).error;
    expect(error).toMatchObject({ code: "permission", message: problem!.message, fix: problem!.fix });
    expect(error.problems).toEqual([problem]);
    expect(await written(db)).toEqual(before);
    return error;
  }
  /** Applies as the migrator and checks the release's tables are the owner role's, the app reading them. */
  async function released(db: TestDatabase, roles: AccessRoles): Promise<void> {
    const run = await cli(roles.url("migrator"), "apply");
    expect(run.code, run.stderr).toBe(0);
    const owners = await tableOwners(db.url);
    expect(owners).toEqual([roles.names.owner]);
    const app = await roles.connect("app");
    try {
      expect((await app.query('SELECT count(*)::int AS n FROM "Organization"')).rows[0]).toEqual({ n: 0 });
    } finally {
      await app.end();
    }
  }

  // The apply the fixes say to run again, as the CLI prints it: on the folder the test names.
  const applyAgain = `\`neonhub-db apply --migrations-dir ${shellWord(DEFAULT_MIGRATIONS_DIR)}\``;

  for (const fix of ["GRANT", "ALTER SCHEMA"] as const) {
    it(`public handed to another role, CREATE on it taken from the owner role: refused naming the schema, the role and the ${fix} to run, which lets apply release it`, async () => {
      const { db, roles } = await stack(fix === "GRANT" ? "schemagrant" : "schemaowner");
      const { migrator, owner } = roles.names;
      await withClient(db.url, async (c) => {
        await c.query(`ALTER SCHEMA public OWNER TO ${quoteIdentifier(other(db))}`);
        await c.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC, ${quoteIdentifier(owner)}`);
      });
      const error = await refused(db, roles);
      expect(error.message).toBe(
        `This is the first release of database ${db.name} (no ledger neonhub_release.migrations yet), and user "${migrator}" (acting as "${owner}") would create its objects as "${owner}", ` +
          `which may not create objects in schema public: it belongs to "${other(db)}" and grants "${owner}" no CREATE on it. ` +
          `PostgreSQL would refuse the first object a migration creates there ("permission denied for schema public"), after the release's bookkeeping and the migrations before it were written.`,
      );
      const grant = `GRANT CREATE ON SCHEMA ${quoteIdentifier("public")} TO ${quoteIdentifier(owner)}`;
      const handOver = `ALTER SCHEMA ${quoteIdentifier("public")} OWNER TO ${quoteIdentifier(owner)}`;
      expect(error.fix).toBe(
        `As the cluster's admin: ${grant}; then run ${applyAgain} again. Or, if "${owner}" is to own the schema, as the admin: ${handOver}. Nothing was written.`,
      );
      await withClient(db.url, (c) => c.query(fix === "GRANT" ? grant : handOver));
      await released(db, roles);
    });
  }

  it("CREATE on public taken from pg_database_owner, the owner role's as the database's owner: refused naming both, with the GRANT alone", async () => {
    const { db, roles } = await stack("schemarevoked");
    const { migrator, owner } = roles.names;
    await withClient(db.url, (c) =>
      c.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC, pg_database_owner, ${quoteIdentifier(owner)}`),
    );
    const error = await refused(db, roles);
    expect(error.message).toContain(
      `user "${migrator}" (acting as "${owner}") would create its objects as "${owner}", which may not create objects in schema public: ` +
        `it belongs to "pg_database_owner" (the database's owner, "${owner}") and grants "${owner}" no CREATE on it.`,
    );
    const grant = `GRANT CREATE ON SCHEMA ${quoteIdentifier("public")} TO ${quoteIdentifier(owner)}`;
    expect(error.fix).toBe(
      `As the cluster's admin: ${grant}; then run ${applyAgain} again. Nothing was written.`,
    );
    await withClient(db.url, (c) => c.query(grant));
    await released(db, roles);
  });

  it("the database another role's, public the owner role's: no longer refused for the database's owner; refused for CREATE on the database, whose GRANT lets apply release it", async () => {
    const { db, roles } = await stack("dbother");
    const { migrator, owner } = roles.names;
    await withClient(db.url, async (c) => {
      await c.query(`ALTER SCHEMA public OWNER TO ${quoteIdentifier(owner)}`);
      // The owner role's privileges on the database go with its ownership, to the new owner.
      await c.query(`ALTER DATABASE ${quoteIdentifier(db.name)} OWNER TO ${quoteIdentifier(other(db))}`);
    });
    const error = await refused(db, roles);
    expect(error.message).not.toContain("could not manage them");
    expect(error.message).toBe(
      `This is the first release of database ${db.name} (no ledger neonhub_release.migrations yet), and user "${migrator}" (acting as "${owner}") would create its objects as "${owner}", ` +
        `which may not create schemas in database ${db.name} (CREATE on the database), which the release's bookkeeping schema neonhub_release needs. ` +
        `PostgreSQL would refuse apply's first statement, the bookkeeping's CREATE SCHEMA ("permission denied for database ${db.name}").`,
    );
    const grant = `GRANT CREATE ON DATABASE ${quoteIdentifier(db.name)} TO ${quoteIdentifier(owner)}`;
    expect(error.fix).toBe(
      `As the cluster's admin: ${grant}; then run ${applyAgain} again. Nothing was written.`,
    );
    await withClient(db.url, (c) => c.query(grant));
    await released(db, roles);
  });
});
