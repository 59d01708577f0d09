// baseline and adopt on a database in the access layer's shape (it belongs to the stack's owner role, which
// the migrator acts as), run as the admin: without --owner-role they would record the ledger as the admin and
// lock every later release out of it, so they refuse; a ledger written that way anyway (--owner-role naming
// the admin itself) is named, when the migrator meets it, with its owner and the statements that hand it
// over, which then work.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { FIXTURE_MIGRATIONS, buildSchemaByHand } from "../support/fixtures";
import { createAccessRoles, dropAccessRoles, type AccessRoles } from "../support/roles";

let db: TestDatabase;
let roles: AccessRoles;
let admin: string;

beforeAll(async () => {
  db = await createTestDatabase("blowner");
  roles = await createAccessRoles(db);
  admin = decodeURIComponent(new URL(db.url).username);
  // The schema made without the engine, by the admin, as baseline's users have it.
  await withClient(db.url, (c) => buildSchemaByHand(c));
});

afterAll(async () => {
  await dropTestDatabase(db);
  await dropAccessRoles(db, roles);
});

const cli = (url: string, ...args: string[]) =>
  runCli([...args, "--migrations-dir", FIXTURE_MIGRATIONS, "--json"], { DATABASE_URL: url });

interface CliError {
  error: { code: string; message: string; fix: string };
}

const ledgerSchema = () =>
  withClient(
    db.url,
    async (c) => (await c.query("SELECT to_regnamespace('neonhub_release')::text AS s")).rows[0].s,
  );

describe("baseline and adopt as the admin on a stack's database", () => {
  it.each(["baseline", "adopt"])(
    "%s without --owner-role refuses, naming the owner role; writes nothing",
    async (command) => {
      const run = await cli(db.url, command);
      expect(run.code).toBe(1);
      const { error } = JSON.parse(run.stdout) as CliError;
      expect(error.code).toBe("invalid-input");
      expect(error.message).toContain(
        `This database belongs to role "${roles.names.owner}", which cannot log in`,
      );
      expect(error.fix).toContain(
        `neonhub-db ${command} --database-url "$ADMIN_URL" --owner-role ${roles.names.owner}`,
      );
      expect(error.fix).toContain("Nothing was written");
      expect(run.stderr).not.toContain("scratch database");
      expect(await ledgerSchema()).toBeNull();
    },
  );

  it.each([
    ["baseline", "app"],
    ["adopt", "app"],
    ["baseline", "readonly"],
    ["adopt", "readonly"],
  ] as const)(
    "%s as the %s login is a permission error naming the admin's whole command, never the login as the ledger's owner",
    async (command, login) => {
      const run = await cli(roles.url(login), command);
      expect(run.code).toBe(1);
      const { error } = JSON.parse(run.stdout) as CliError;
      expect(error.code).toBe("permission");
      expect(error.fix).toContain(
        `neonhub-db ${command} --database-url "$ADMIN_URL" --owner-role ${roles.names.owner}`,
      );
      expect(error.fix).not.toContain(`--owner-role ${roles.names[login]}`);
      expect(await ledgerSchema()).toBeNull();
    },
  );

  it("a ledger the admin owns is named to the migrator with its owner and the hand-over, which works", async () => {
    // The escape the refusal offers: the admin keeps the ledger. The migrator is then refused it.
    const baseline = await cli(db.url, "baseline", "--owner-role", admin);
    expect(baseline.code, baseline.stderr).toBe(0);
    const plan = await cli(roles.url("migrator"), "plan");
    expect(plan.code).toBe(1);
    const { error } = JSON.parse(plan.stdout) as CliError;
    expect(error.code).toBe("permission");
    expect(error.message).toContain(`The release's records (schema neonhub_release) belong to "${admin}"`);
    expect(error.message).toContain(`not to "${roles.names.owner}", the database's owner`);
    expect(error.fix).not.toContain("DIRECT_URL");
    expect(error.fix).toContain(`ALTER SCHEMA neonhub_release OWNER TO ${roles.names.owner}`);
    expect(error.fix).toContain(`ALTER TABLE neonhub_release.migrations OWNER TO ${roles.names.owner}`);
    expect(error.fix).toContain(`--owner-role ${roles.names.owner}`);
    const handOver = /hand them to the owner role: (.*)\. Then run the release again/.exec(error.fix)![1]!;
    await withClient(db.url, (c) => c.query(handOver));
    const again = await cli(roles.url("migrator"), "plan");
    expect(again.code, again.stdout).toBe(0);
    expect((await cli(roles.url("migrator"), "health")).stdout).not.toContain('"permission"');
  });

  it("the app login is still told to use the migrator", async () => {
    const plan = await cli(roles.url("app"), "plan");
    const { error } = JSON.parse(plan.stdout) as CliError;
    expect(error.code).toBe("permission");
    expect(error.fix).toContain("migrator");
    expect(error.fix).not.toContain("ALTER SCHEMA");
  });
});

describe("baseline as the migrator on a stack's database", () => {
  let stack: TestDatabase;
  let stackRoles: AccessRoles;
  beforeAll(async () => {
    stack = await createTestDatabase("blmig");
    stackRoles = await createAccessRoles(stack);
    await withClient(stack.url, (c) => buildSchemaByHand(c));
  });
  afterAll(async () => {
    await dropTestDatabase(stack);
    await dropAccessRoles(stack, stackRoles);
  });

  it("is refused with the whole command that works, and that command, run as the admin, works", async () => {
    const run = await cli(stackRoles.url("migrator"), "baseline");
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as CliError;
    expect(error.code).toBe("permission");
    expect(error.message).toContain("no CREATEDB");
    expect(error.fix).toContain(
      `neonhub-db baseline --database-url "$ADMIN_URL" --owner-role ${stackRoles.names.owner}`,
    );
    expect(run.stderr).not.toContain("scratch database neonhub_baseline_");
    // Exactly that, with ADMIN_URL the admin's: no second refusal.
    const ownerRole = /--owner-role (\S+),/.exec(error.fix)![1]!;
    const admin = await cli(stack.url, "baseline", "--owner-role", ownerRole);
    expect(admin.code, admin.stdout).toBe(0);
    const plan = await cli(stackRoles.url("migrator"), "plan");
    expect(plan.code, plan.stdout).toBe(0);
  });
});

describe("baseline and adopt by a login other than the admin on a database with a ledger", () => {
  let released: TestDatabase;
  let releasedRoles: AccessRoles;
  beforeAll(async () => {
    released = await createTestDatabase("blrel");
    releasedRoles = await createAccessRoles(released);
    await withClient(released.url, (c) => buildSchemaByHand(c));
    const owner = releasedRoles.names.owner;
    const baseline = await cli(released.url, "baseline", "--owner-role", owner);
    expect(baseline.code, baseline.stdout).toBe(0);
  });
  afterAll(async () => {
    await dropTestDatabase(released);
    await dropAccessRoles(released, releasedRoles);
  });

  // The login is judged before the ledger is read: the app and read-only logins may not read it (a crash
  // before), and the migrator, which could not have run the first baseline, is not told "nothing to do".
  it.each([
    ["baseline", "app"],
    ["adopt", "app"],
    ["baseline", "readonly"],
    ["adopt", "readonly"],
    ["baseline", "migrator"],
    ["adopt", "migrator"],
  ] as const)(
    "%s as the %s login is a permission error with the admin's whole command",
    async (command, login) => {
      const run = await cli(releasedRoles.url(login), command);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).not.toContain("unexpected error");
      const { error } = JSON.parse(run.stdout) as CliError;
      expect(error.code).toBe("permission");
      expect(error.fix).toContain(
        `neonhub-db ${command} --database-url "$ADMIN_URL" --owner-role ${releasedRoles.names.owner}`,
      );
    },
  );
});
