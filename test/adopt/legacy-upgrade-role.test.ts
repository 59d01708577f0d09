// The upgrade of a Prisma-era database run as the stack's migrator, where what it needs is not the
// migrator's: legacy tables owned by the Prisma app's own login (which the migrator may not even read), and a
// database without pgvector (which only an administrator may create). The legacy schema is recognised all
// the same, plan names what stands in the way with the fix, and apply refuses before it writes anything.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LegacyUpgradePlan, ReleasePlan } from "../../core";
import { quoteIdentifier } from "../../core";
import { runCli } from "../support/cli";
import {
  adminUrl,
  createTestDatabase,
  dropTestDatabase,
  withClient,
  type TestDatabase,
} from "../support/database";
import { createAccessRoles, dropAccessRoles, type AccessRoles } from "../support/roles";
import { LEGACY_SCALES, createLegacySchema, generateLegacyData } from "../fixtures/legacy/generate";

interface Stack {
  db: TestDatabase;
  roles: AccessRoles;
}
const stacks: Stack[] = [];
/** Logins a test made besides the access layer's, dropped once the databases holding their grants are. */
const logins: string[] = [];

/** A database with the access layer's roles, as a stack has it. */
async function stackDatabase(prefix: string): Promise<Stack> {
  const db = await createTestDatabase(prefix);
  const stack = { db, roles: await createAccessRoles(db) };
  stacks.push(stack);
  return stack;
}

afterAll(async () => {
  for (const { db, roles } of stacks) {
    await dropTestDatabase(db);
    await dropAccessRoles(db, roles);
  }
  for (const login of logins) {
    await withClient(adminUrl(), (c) => c.query(`DROP ROLE IF EXISTS ${quoteIdentifier(login)}`));
  }
});

const asMigrator = (stack: Stack, ...args: string[]) =>
  runCli([...args, "--json"], { DATABASE_URL: stack.roles.url("migrator") });
const upgradeArgs = (stack: Stack) => [
  "--upgrade-legacy",
  "--legacy-organization",
  "acme",
  "--owner-role",
  stack.roles.names.owner,
];

interface CliError {
  error: { code: string; message: string; fix: string };
}

const upgradeSchemas = (stack: Stack) =>
  withClient(stack.db.url, async (c) =>
    (
      await c.query<{ name: string }>(
        "SELECT nspname AS name FROM pg_namespace WHERE nspname IN ('neonhub_upgrade', 'neonhub_upgrade_work', 'neonhub_release')",
      )
    ).rows.map((r) => r.name),
  );

describe("legacy tables owned by the Prisma app's login", () => {
  let stack: Stack;
  let prisma: string;

  beforeAll(async () => {
    stack = await stackDatabase("legown");
    prisma = `${stack.db.name}_prisma`;
    logins.push(prisma);
    await withClient(stack.db.url, async (c) => {
      await c.query(`CREATE ROLE ${quoteIdentifier(prisma)} LOGIN`);
      await c.query(`GRANT CREATE, USAGE ON SCHEMA public TO ${quoteIdentifier(prisma)}`);
      await c.query(`SET ROLE ${quoteIdentifier(prisma)}`);
      await createLegacySchema(c);
      await generateLegacyData(c, LEGACY_SCALES.small);
      await c.query("RESET ROLE");
      // As the stack's access layer leaves it: the login made its tables before the stack, which revokes the
      // schema's privileges from all but the roles it grants them to.
      await c.query(`REVOKE CREATE, USAGE ON SCHEMA public FROM ${quoteIdentifier(prisma)}`);
    });
  });

  it("plan recognises the legacy schema though the migrator may not read its tables", async () => {
    const run = await asMigrator(stack, "plan");
    expect(run.code).toBe(1);
    const plan = JSON.parse(run.stdout) as ReleasePlan;
    expect(plan.migrations.problems.map((p) => p.kind)).toContain("legacy-schema");
  });

  it("plan --upgrade-legacy names the tables' owner and the hand-over, and is not ready", async () => {
    const run = await asMigrator(stack, "plan", ...upgradeArgs(stack));
    expect(run.code).toBe(1);
    const plan = JSON.parse(run.stdout) as LegacyUpgradePlan;
    expect(plan.ready).toBe(false);
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0]!.message).toContain(`9 legacy table(s) belong to role "${prisma}"`);
    expect(plan.problems[0]!.fix).toContain(
      `ALTER TABLE public."User" OWNER TO ${quoteIdentifier(stack.roles.names.owner)};`,
    );
    expect(plan.problems[0]!.fix).toContain(`GRANT USAGE ON SCHEMA public TO ${quoteIdentifier(prisma)};`);
  });

  it("apply --upgrade-legacy refuses with the same, writing nothing; the hand-over it names lets it run, and the old app keeps its tables", async () => {
    const run = await asMigrator(stack, "apply", ...upgradeArgs(stack));
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as CliError;
    expect(error.code).toBe("permission");
    expect(error.message).toContain(`belong to role "${prisma}"`);
    expect(error.message).not.toContain("nothing to upgrade");
    expect(await upgradeSchemas(stack)).toEqual([]);

    // Then the upgrade again, as printed: the migrator's own command, its owner role with it.
    const handOver =
      /until the cutover: (.*) then run `neonhub-db apply --upgrade-legacy --legacy-organization acme --owner-role \S+` again\. Nothing was written\.$/.exec(
        error.fix,
      )![1]!;
    await withClient(stack.db.url, (c) => c.query(handOver));
    // The old app, connected as its own login (its tables found through its search_path), still writes them.
    await withClient(stack.db.url, async (c) => {
      await c.query(`SET ROLE ${quoteIdentifier(prisma)}`);
      const updated = await c.query(`UPDATE "User" SET name = name WHERE id = (SELECT min(id) FROM "User")`);
      expect(updated.rowCount).toBe(1);
    });
    const upgrade = await asMigrator(stack, "apply", ...upgradeArgs(stack));
    expect(upgrade.code, upgrade.stderr).toBe(0);
    expect(JSON.parse(upgrade.stdout)).toMatchObject({ complete: true });
  });
});

describe("the upgrade run by a login other than the migrator", () => {
  let stack: Stack;
  const upgradeAs = (url: string, command: "plan" | "apply") =>
    runCli([command, "--upgrade-legacy", "--legacy-organization", "acme", "--json"], { DATABASE_URL: url });

  beforeAll(async () => {
    stack = await stackDatabase("leglogin");
    await withClient(stack.db.url, async (c) => {
      await c.query(`SET ROLE ${quoteIdentifier(stack.roles.names.owner)}`);
      await createLegacySchema(c);
      await generateLegacyData(c, LEGACY_SCALES.small);
    });
  });

  it("the admin without --owner-role is refused before anything is written, with the migrator's whole command", async () => {
    const plan = await upgradeAs(stack.db.url, "plan");
    expect(plan.code, plan.stdout).toBe(1);
    const planned = JSON.parse(plan.stdout) as LegacyUpgradePlan;
    expect(planned.ready).toBe(false);
    expect(planned.problems.map((p) => p.message).join("\n")).toContain("without --owner-role");

    const run = await upgradeAs(stack.db.url, "apply");
    expect(run.code, run.stdout).toBe(1);
    const { error } = JSON.parse(run.stdout) as CliError;
    expect(error.code).toBe("permission");
    expect(error.message).toContain(`belongs to role "${stack.roles.names.owner}"`);
    expect(error.message).toContain("owned by");
    const command = `neonhub-db apply --upgrade-legacy --legacy-organization acme --database-url "$DIRECT_URL" --owner-role ${stack.roles.names.owner}`;
    expect(error.fix).toContain(command);
    expect(error.fix).toContain("Nothing was written.");
    expect(await upgradeSchemas(stack)).toEqual([]);

    // The command it names works, and leaves the app login its grants.
    const upgraded = await runCli(
      [
        "apply",
        "--upgrade-legacy",
        "--legacy-organization",
        "acme",
        "--owner-role",
        stack.roles.names.owner,
        "--json",
      ],
      { DATABASE_URL: stack.roles.url("migrator") },
    );
    expect(upgraded.code, upgraded.stderr).toBe(0);
    const app = await stack.roles.connect("app");
    try {
      await expect(app.query(`SELECT count(*) FROM "User"`)).resolves.toBeDefined();
    } finally {
      await app.end();
    }
  });
});

describe("the upgrade run as the app or the read-only login", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await stackDatabase("legapp");
    await withClient(stack.db.url, async (c) => {
      await c.query(`SET ROLE ${quoteIdentifier(stack.roles.names.owner)}`);
      await createLegacySchema(c);
    });
  });

  it.each(["app", "readonly"] as const)(
    "names the %s login as the wrong one and never offers it the legacy tables",
    async (login) => {
      const name = stack.roles.names[login];
      for (const command of ["plan", "apply"] as const) {
        const run = await runCli([command, "--upgrade-legacy", "--legacy-organization", "acme", "--json"], {
          DATABASE_URL: stack.roles.url(login),
        });
        expect(run.code, run.stdout).toBe(1);
        const { message, fix } =
          command === "plan"
            ? (JSON.parse(run.stdout) as LegacyUpgradePlan).problems[0]!
            : (JSON.parse(run.stdout) as CliError).error;
        expect(message).toContain(`"${name}" is not the login to run the upgrade as`);
        expect(fix).toContain(`--database-url "$DIRECT_URL" --owner-role ${stack.roles.names.owner}`);
        expect(fix).not.toContain("OWNER TO");
      }
      expect(await upgradeSchemas(stack)).toEqual([]);
    },
  );
});

describe("the upgrade as the migrator on a database the old app's login still owns", () => {
  let stack: Stack;
  const oldApp = `legacy_app_${process.pid}`;

  beforeAll(async () => {
    stack = await stackDatabase("legdbown");
    await withClient(stack.db.url, async (c) => {
      await c.query(`SET ROLE ${quoteIdentifier(stack.roles.names.owner)}`);
      await createLegacySchema(c);
    });
    // As before the hand-over of docs/stacks.md's steps: the database is the Prisma app's login's.
    logins.push(oldApp);
    await withClient(adminUrl(), async (c) => {
      await c.query(`CREATE ROLE ${quoteIdentifier(oldApp)} LOGIN`);
      await c.query(`ALTER DATABASE ${quoteIdentifier(stack.db.name)} OWNER TO ${quoteIdentifier(oldApp)}`);
    });
  });

  it("names the database's owner and the hand-over, not the migrator as the wrong login", async () => {
    const handOver = `ALTER DATABASE ${quoteIdentifier(stack.db.name)} OWNER TO ${quoteIdentifier(stack.roles.names.owner)};`;
    const plan = await asMigrator(stack, "plan", ...upgradeArgs(stack));
    expect(plan.code, plan.stdout).toBe(1);
    const planned = (JSON.parse(plan.stdout) as LegacyUpgradePlan).problems[0]!;
    const apply = await asMigrator(stack, "apply", ...upgradeArgs(stack));
    expect(apply.code, apply.stdout).toBe(1);
    const { error } = JSON.parse(apply.stdout) as CliError;
    expect(error.code).toBe("permission");
    for (const { message, fix } of [planned, error]) {
      expect(message).toContain(`This database belongs to "${oldApp}", a login`);
      expect(message).not.toContain("is not the login to run the upgrade as");
      expect(fix).toContain(handOver);
    }
    expect(await upgradeSchemas(stack)).toEqual([]);

    // The statement it names, run as the admin, lets the same upgrade past the check.
    await withClient(adminUrl(), (c) => c.query(handOver));
    const again = await asMigrator(stack, "plan", ...upgradeArgs(stack));
    const after = JSON.parse(again.stdout) as LegacyUpgradePlan;
    expect(after.problems).toEqual([]);
    expect(after.ready).toBe(true);
  });
});

describe("--owner-role the upgrade could not act as, on the legacy database", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await stackDatabase("legrole");
    await withClient(stack.db.url, async (c) => {
      await c.query(`SET ROLE ${quoteIdentifier(stack.roles.names.owner)}`);
      await createLegacySchema(c);
    });
  });

  it.each([
    ["a role that does not exist", "invalid-input"],
    ["the app's role", "permission"],
  ] as const)("%s: plan --upgrade-legacy refuses it in apply's words", async (_, code) => {
    const role = code === "permission" ? stack.roles.names.app : "nosuch_role";
    const args = ["--upgrade-legacy", "--legacy-organization", "acme", "--owner-role", role];
    const plan = await asMigrator(stack, "plan", ...args);
    const apply = await asMigrator(stack, "apply", ...args);
    expect(plan.code, plan.stdout).toBe(1);
    expect(apply.code, apply.stdout).toBe(1);
    const planned = (JSON.parse(plan.stdout) as CliError).error;
    expect(planned.code).toBe(code);
    expect(planned.message).toContain(
      `--owner-role ${code === "permission" ? "" : "names the role "}"${role}"`,
    );
    expect(planned).toEqual((JSON.parse(apply.stdout) as CliError).error);
    expect(await upgradeSchemas(stack)).toEqual([]);
  });
});

describe("a legacy database without pgvector", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await stackDatabase("legvec");
    await withClient(stack.db.url, async (c) => {
      // The access layer created it; this database lost it (a restore into a fresh database, say).
      await c.query("DROP EXTENSION vector");
      await c.query(`SET ROLE ${quoteIdentifier(stack.roles.names.owner)}`);
      await createLegacySchema(c);
    });
  });

  it("plan --upgrade-legacy is not ready: the extension is a problem whose fix is an administrator's CREATE EXTENSION", async () => {
    const run = await asMigrator(stack, "plan", ...upgradeArgs(stack));
    expect(run.code).toBe(1);
    const plan = JSON.parse(run.stdout) as LegacyUpgradePlan;
    expect(plan.ready).toBe(false);
    expect(plan.problems.map((p) => p.message)).toEqual([
      `The "vector" extension is not enabled in this database, and role "${stack.roles.names.owner}" may not create it.`,
    ]);
    expect(plan.problems[0]!.fix).toContain(
      'Have an administrator (a superuser, or rds_superuser on Amazon RDS) run CREATE EXTENSION "vector";',
    );
  });

  it("apply --upgrade-legacy refuses before it creates anything", async () => {
    const run = await asMigrator(stack, "apply", ...upgradeArgs(stack));
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as CliError;
    expect(error.code).toBe("missing-pgvector");
    expect(error.fix).toContain("CREATE EXTENSION");
    // Once it is there, the upgrade to run again: its apply with the flags that make it one.
    expect(error.fix).toMatch(
      new RegExp(
        `, then run \`neonhub-db apply --upgrade-legacy --legacy-organization acme --owner-role ${stack.roles.names.owner}\` again\\. Nothing was written\\.$`,
      ),
    );
    expect(error.fix).not.toContain("migrator");
    expect(await upgradeSchemas(stack)).toEqual([]);
  });
});

describe("plain apply on a database without pgvector", () => {
  it("refuses before the first migration with an administrator's CREATE EXTENSION as the fix, not the file", async () => {
    const stack = await stackDatabase("novec");
    await withClient(stack.db.url, (c) => c.query("DROP EXTENSION vector"));
    const run = await asMigrator(stack, "apply");
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as CliError;
    expect(error.code).toBe("missing-pgvector");
    expect(error.message).toContain('The "vector" extension is not enabled in this database');
    expect(error.fix).toContain('run CREATE EXTENSION "vector"; in this database');
    // The CLI's words: the stack's way (its printer prints no access layer), and the apply to run again.
    expect(error.fix).toContain(
      "(the stack's access layer does so: `pulumi up`, or `npm run local` locally), then run `neonhub-db apply` again.",
    );
    expect(error.fix).not.toContain("Fix the file");
  });
});

// plan --upgrade-legacy --owner-role reads as the role apply --upgrade-legacy acts as (SET ROLE), not as its
// login: what the upgrade may do is the owner role's, and a login's own privileges (a superuser's, or none for
// a member of the role without INHERIT) told plan otherwise than apply then found.
describe("plan --upgrade-legacy as the admin, with --owner-role, on legacy tables the old app's login owns", () => {
  let stack: Stack;
  let oldApp: string;

  beforeAll(async () => {
    stack = await stackDatabase("legadmin");
    oldApp = `${stack.db.name}_prisma`;
    logins.push(oldApp);
    await withClient(stack.db.url, async (c) => {
      await c.query(`CREATE ROLE ${quoteIdentifier(oldApp)} LOGIN`);
      await c.query(`GRANT CREATE, USAGE ON SCHEMA public TO ${quoteIdentifier(oldApp)}`);
      await c.query(`SET ROLE ${quoteIdentifier(oldApp)}`);
      await createLegacySchema(c);
      await generateLegacyData(c, LEGACY_SCALES.small);
      await c.query("RESET ROLE");
      await c.query(`REVOKE CREATE, USAGE ON SCHEMA public FROM ${quoteIdentifier(oldApp)}`);
    });
  });

  it("plan names the hand-over apply refuses on, in apply's words; once run as it says, plan is ready and apply upgrades", async () => {
    const asAdmin = (...args: string[]) => runCli([...args, "--json"], { DATABASE_URL: stack.db.url });
    const owner = stack.roles.names.owner;
    const plan = await asAdmin("plan", ...upgradeArgs(stack));
    expect(plan.code, plan.stdout).toBe(1);
    const planned = JSON.parse(plan.stdout) as LegacyUpgradePlan;
    expect(planned.ready).toBe(false);
    expect(planned.problems).toHaveLength(1);
    expect(planned.problems[0]!.message).toContain(
      `9 legacy table(s) belong to role "${oldApp}" (public."ABTest", public."AuditLog", public."Campaign", public."Document", public."EmailSequence", public."Message", public."SocialPost", public."User", public._prisma_migrations), and the upgrade runs as "${owner}"`,
    );

    const apply = await asAdmin("apply", ...upgradeArgs(stack));
    expect(apply.code, apply.stdout).toBe(1);
    const { error } = JSON.parse(apply.stdout) as CliError;
    expect(error.code).toBe("permission");
    expect(error.message).toContain(planned.problems[0]!.message);
    expect(error.fix).toContain(planned.problems[0]!.fix);
    expect(error.fix).toContain("Nothing was written.");
    expect(apply.stderr).not.toContain("unexpected error");
    expect(apply.stderr).not.toMatch(/^\s+at /m);
    expect(await upgradeSchemas(stack)).toEqual([]);

    const handOver =
      /until the cutover: (.*) then run `neonhub-db apply --upgrade-legacy --legacy-organization acme --owner-role \S+` again\./.exec(
        planned.problems[0]!.fix,
      )![1]!;
    await withClient(stack.db.url, (c) => c.query(handOver));
    const ready = await asAdmin("plan", ...upgradeArgs(stack));
    expect(ready.code, ready.stdout).toBe(2);
    expect(JSON.parse(ready.stdout)).toMatchObject({ ready: true, problems: [] });
    const upgraded = await asAdmin("apply", ...upgradeArgs(stack));
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(JSON.parse(upgraded.stdout)).toMatchObject({ complete: true });
    // The release's tables are the owner role's, as the migrator's upgrade leaves them.
    const owners = await withClient(stack.db.url, async (c) =>
      (
        await c.query<{ owner: string }>(
          `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class
            WHERE relnamespace IN ('public'::regnamespace, 'neonhub_release'::regnamespace) AND relkind = 'r'`,
        )
      ).rows.map((r) => r.owner),
    );
    expect(owners).toEqual([owner]);
  });
});

describe("the upgrade from a deploy login that may act as the owner role without its privileges", () => {
  let stack: Stack;
  let deployer: string;
  const deployerUrl = () => {
    const url = new URL(stack.roles.url("migrator"));
    url.username = deployer;
    return url.toString();
  };

  beforeAll(async () => {
    stack = await stackDatabase("legnoinh");
    deployer = `${stack.db.name}_deployer`;
    logins.push(deployer);
    await withClient(stack.db.url, async (c) => {
      // Made by hand: a member of the owner role that does not inherit its privileges.
      await c.query(
        `CREATE ROLE ${quoteIdentifier(deployer)} LOGIN NOINHERIT PASSWORD '${stack.roles.password}'`,
      );
      await c.query(`GRANT ${quoteIdentifier(stack.roles.names.owner)} TO ${quoteIdentifier(deployer)}`);
      await c.query(
        `GRANT CONNECT ON DATABASE ${quoteIdentifier(stack.db.name)} TO ${quoteIdentifier(deployer)}`,
      );
      await c.query(`SET ROLE ${quoteIdentifier(stack.roles.names.owner)}`);
      await createLegacySchema(c);
      await generateLegacyData(c, LEGACY_SCALES.small);
    });
  });

  it("plan reads the legacy tables as the owner role and is ready, and apply then upgrades", async () => {
    const asDeployer = (...args: string[]) => runCli([...args, "--json"], { DATABASE_URL: deployerUrl() });
    // As itself, the login may not read the legacy tables that the upgrade, acting as the owner role, reads.
    await withClient(deployerUrl(), async (c) => {
      await expect(c.query(`SELECT count(*) FROM public."User"`)).rejects.toMatchObject({ code: "42501" });
    });
    const plan = await asDeployer("plan", ...upgradeArgs(stack));
    expect(plan.code, plan.stdout).toBe(2);
    const planned = JSON.parse(plan.stdout) as LegacyUpgradePlan;
    expect(planned.problems).toEqual([]);
    expect(planned.ready).toBe(true);
    expect(planned.steps.find((s) => s.step === "backfill User")!.estimatedRows).toBeGreaterThan(0);
    expect(await upgradeSchemas(stack)).toEqual([]);

    const upgraded = await asDeployer("apply", ...upgradeArgs(stack));
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(JSON.parse(upgraded.stdout)).toMatchObject({ complete: true });
  });
});

describe("a legacy table the owner role owns and may not read", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await stackDatabase("legread");
    await withClient(stack.db.url, async (c) => {
      await c.query(`SET ROLE ${quoteIdentifier(stack.roles.names.owner)}`);
      await createLegacySchema(c);
      await generateLegacyData(c, LEGACY_SCALES.small);
      // An owner may revoke its own privileges; the upgrade reads every row of every legacy table.
      await c.query(`REVOKE SELECT ON "AuditLog" FROM ${quoteIdentifier(stack.roles.names.owner)}`);
    });
  });

  it("plan --upgrade-legacy names it with the GRANT that lets the upgrade read it, as apply refuses it, writing nothing", async () => {
    const owner = quoteIdentifier(stack.roles.names.owner);
    const plan = await asMigrator(stack, "plan", ...upgradeArgs(stack));
    expect(plan.code, plan.stdout).toBe(1);
    const planned = JSON.parse(plan.stdout) as LegacyUpgradePlan;
    expect(planned.ready).toBe(false);
    expect(planned.problems).toHaveLength(1);
    const [problem] = planned.problems;
    expect(problem!.message).toContain(
      `1 legacy table(s) may not be read by "${stack.roles.names.owner}", the role the upgrade acts as: public."AuditLog"`,
    );
    expect(problem!.fix).toContain(`GRANT SELECT ON public."AuditLog" TO ${owner};`);

    const apply = await asMigrator(stack, "apply", ...upgradeArgs(stack));
    expect(apply.code, apply.stdout).toBe(1);
    const { error } = JSON.parse(apply.stdout) as CliError;
    expect(error.code).toBe("permission");
    expect(error.message).toContain(`- ${problem!.message}`);
    expect(error.fix).toContain(problem!.fix.replace(" Nothing was written.", ""));
    expect(error.message).not.toContain("Error");
    expect(error.fix).toContain("Nothing was written.");
    expect(await upgradeSchemas(stack)).toEqual([]);

    // The statement it names, as the tables' owner (the migrator acting as it), lets the upgrade past the check.
    const grant = /GRANT SELECT ON [^;]+;/.exec(problem!.fix)![0];
    const migrator = await stack.roles.connect("migrator");
    try {
      await migrator.query(grant);
    } finally {
      await migrator.end();
    }
    const again = JSON.parse(
      (await asMigrator(stack, "plan", ...upgradeArgs(stack))).stdout,
    ) as LegacyUpgradePlan;
    expect(again.problems).toEqual([]);
    expect(again.ready).toBe(true);
  });
});

describe("a legacy table whose rows the owner role is refused by a policy", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await stackDatabase("legpolicy");
    await withClient(stack.db.url, async (c) => {
      await c.query(`SET ROLE ${quoteIdentifier(stack.roles.names.owner)}`);
      await createLegacySchema(c);
      await c.query("RESET ROLE");
      // The catalog says the owner may read the table; the server refuses it the policy's function.
      await c.query("CREATE FUNCTION legacy_audit_visible() RETURNS boolean LANGUAGE sql AS 'SELECT true'");
      await c.query("REVOKE EXECUTE ON FUNCTION legacy_audit_visible() FROM PUBLIC");
      await c.query('ALTER TABLE "AuditLog" ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY');
      await c.query('CREATE POLICY audit_visible ON "AuditLog" USING (legacy_audit_visible())');
    });
  });

  it("plan --upgrade-legacy names the check it could not run, as apply refuses it, writing nothing", async () => {
    const plan = await asMigrator(stack, "plan", ...upgradeArgs(stack));
    expect(plan.code, plan.stdout).toBe(1);
    const planned = JSON.parse(plan.stdout) as LegacyUpgradePlan;
    expect(planned.ready).toBe(false);
    const unchecked = planned.problems.find((p) =>
      p.message.startsWith("The legacy rows could not all be checked"),
    );
    expect(unchecked?.message).toContain("permission denied for function legacy_audit_visible");

    const apply = await asMigrator(stack, "apply", ...upgradeArgs(stack));
    expect(apply.code, apply.stdout).toBe(1);
    const { error } = JSON.parse(apply.stdout) as CliError;
    expect(error.code).toBe("permission");
    expect(error.message).toContain(`- ${unchecked!.message}`);
    expect(error.fix).toContain(unchecked!.fix);
    expect(await upgradeSchemas(stack)).toEqual([]);
  });
});
