// A baseline that plan names for a schema built elsewhere (tables, no ledger), plan run as the stack's
// migrator: printed with the migrator's URL it was refused (baseline's scratch database needs CREATEDB, which
// the migrator has not), and only that refusal named the admin's command. plan now prints the command that
// works the first time: the admin's URL as "$ADMIN_URL" and the owner role the migrator acts as. Run through a
// shell as printed, with ADMIN_URL the admin's, it baselines. The password note of a printed command names the
// variable of the URL's own login.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { urlWithoutPassword } from "../../core";
import { runCli, runPrinted, runUpstreamCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { FIXTURE_MIGRATIONS, buildSchemaByHand } from "../support/fixtures";
import { createAccessRoles, dropAccessRoles, type AccessRoles } from "../support/roles";
import { takesFlag } from "../../cli/args";
import { commandAsRun, commandOnDatabase } from "../../cli/confirm-command";

let db: TestDatabase;
let roles: AccessRoles;

beforeAll(async () => {
  db = await createTestDatabase("pradmin");
  roles = await createAccessRoles(db);
  // The schema made without the engine, by the admin, as baseline's users have it.
  await withClient(db.url, (c) => buildSchemaByHand(c));
});

afterAll(async () => {
  await dropTestDatabase(db);
  await dropAccessRoles(db, roles);
});

/** The printed `neonhub-db <command> ...` in `text`, and what follows it in parentheses. */
function printed(text: string, command: string): { command: string; note: string } {
  const found = new RegExp(`\`(neonhub-db ${command} [^\`]+)\`(?: \\((.*)\\))?`).exec(text);
  expect(found, text).not.toBeNull();
  return { command: found![1]!, note: found![2] ?? "" };
}

const ledger = () =>
  withClient(db.url, async (c) => {
    const r = await c.query<{ at: string | null }>(
      "SELECT to_regclass('neonhub_release.migrations')::text AS at",
    );
    return r.rows[0]!.at;
  });

describe("plan as the migrator on a schema built elsewhere", () => {
  it("prints the baseline that works as printed: the admin's URL and the owner role", async () => {
    const migrator = roles.url("migrator");
    const plan = await runCli(["plan", "--migrations-dir", FIXTURE_MIGRATIONS], { DIRECT_URL: migrator });
    expect(plan.code, plan.stderr).toBe(1);
    const baseline = printed(plan.stdout, "baseline");
    expect(baseline.command).toBe(
      `neonhub-db baseline --database-url "$ADMIN_URL" --owner-role ${roles.names.owner} --migrations-dir ${FIXTURE_MIGRATIONS}`,
    );
    expect(baseline.note).toContain("ADMIN_URL is the admin's URL of this database");
    expect(plan.stdout + plan.stderr).not.toContain(decodeURIComponent(new URL(migrator).password));

    // The migrator's URL given with --database-url is read as the migrator's too.
    const given = await runCli(["plan", "--database-url", migrator, "--migrations-dir", FIXTURE_MIGRATIONS]);
    expect(printed(given.stdout, "baseline").command).toBe(baseline.command);

    expect(await ledger()).toBeNull();
    const run = await runPrinted(baseline.command, { ADMIN_URL: db.url, DIRECT_URL: migrator });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(await ledger()).toBe("neonhub_release.migrations");
    const after = await runCli(["plan", "--migrations-dir", FIXTURE_MIGRATIONS], { DIRECT_URL: migrator });
    expect(after.code, after.stdout).toBe(0);
  });
});

describe("a printed command's password note", () => {
  const command = (url: string, env: NodeJS.ProcessEnv = {}) =>
    commandOnDatabase(["status"], { databaseUrl: url }, env, takesFlag).passwordNote;

  it("names the variable of the URL's login, by its name or by the variable holding it", () => {
    expect(command(roles.url("migrator"))).toMatch(/pass the URL as "\$DIRECT_URL"$/);
    expect(command(roles.url("app"))).toMatch(/pass the URL as "\$DATABASE_URL"$/);
    expect(command(roles.url("readonly"))).toMatch(/pass the URL as "\$READONLY_DATABASE_URL"$/);
    expect(command(db.url)).toMatch(/pass the URL as "\$ADMIN_URL"$/);
    // A login of another name, held (without its password) by a variable: that variable.
    const other = "postgresql://deployer:secret@db.example:5432/neonhub";
    expect(
      command(other, { READONLY_DATABASE_URL: "postgresql://deployer@db.example:5432/neonhub" }),
    ).toMatch(/pass the URL as "\$READONLY_DATABASE_URL"$/);
    expect(commandAsRun(["apply", "--database-url", other], {}).passwordNote).toMatch(
      /pass the URL as "\$<the variable that holds this URL>"$/,
    );
  });

  it("a baseline printed for a URL of the admin's keeps that URL", () => {
    const printedAsAdmin = commandOnDatabase(["baseline"], { databaseUrl: db.url }, {}, takesFlag);
    expect(printedAsAdmin.command).toBe(`neonhub-db baseline --database-url ${urlWithoutPassword(db.url)}`);
    expect(printedAsAdmin.passwordNote).toMatch(/pass the URL as "\$ADMIN_URL"$/);
  });
});

describe("adopt as the admin in the stack's roles", () => {
  let adopted: TestDatabase;
  let stack: AccessRoles;
  beforeAll(async () => {
    adopted = await createTestDatabase("pradopt");
    stack = await createAccessRoles(adopted);
    // The upstream CLI ran part of the migrations, as the login its users gave it.
    const up = await runUpstreamCli(
      ["up", "10", "--migrations-dir", "migrations", "--no-verbose"],
      adopted.url,
    );
    expect(up.code, up.stderr).toBe(0);
  });
  afterAll(async () => {
    await dropTestDatabase(adopted);
    await dropAccessRoles(adopted, stack);
  });

  it("names the apply that follows as the runbook gives it, the migrator's, which runs as printed", async () => {
    const args = ["adopt", "--database-url", adopted.url, "--owner-role", stack.names.owner];
    const adopt = await runCli(args);
    expect(adopt.code, adopt.stderr).toBe(0);
    const apply = printed(adopt.stdout, "apply");
    expect(apply.command).toBe('neonhub-db apply --database-url "$DIRECT_URL"');
    expect(apply.note).toContain(
      `apply runs as the stack's migrator, ${stack.names.migrator}, not as the admin`,
    );
    expect(adopt.stdout).not.toContain(urlWithoutPassword(adopted.url)!);

    const migrator = stack.url("migrator");
    const run = await runPrinted(apply.command, { DIRECT_URL: migrator, ADMIN_URL: adopted.url });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    // The release went on as the owner role, which the app login's default privileges follow.
    const app = await stack.connect("app");
    try {
      const rows = await app.query('SELECT count(*)::int AS n FROM "Chunk"');
      expect(rows.rows[0]).toEqual({ n: 0 });
    } finally {
      await app.end();
    }

    // Run again, adopt has nothing to do, and the verify it names is the migrator's too.
    const again = await runCli(args);
    expect(again.code, again.stderr).toBe(0);
    const verify = printed(again.stdout, "verify");
    expect(verify.command).toBe('neonhub-db verify --database-url "$DIRECT_URL"');
    const verified = await runPrinted(verify.command, { DIRECT_URL: migrator });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  });
});
