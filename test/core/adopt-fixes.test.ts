// The fixes of refusals an operator meets while adopting a database, checked for being what works: a
// setting's example written the way it was given (a --set flag, a document), a login that may not act as the
// owner role sent to the login that should run the command (never told to grant itself the owner role), and
// a pgmigrations the migrator may not read sent to the admin, as a permission error.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { FIXTURE_MIGRATIONS } from "../support/fixtures";
import { createAccessRoles, dropAccessRoles, type AccessRoles } from "../support/roles";
import { scratchDir } from "../support/scratch";
import { writeFileSync } from "node:fs";
import path from "node:path";

let db: TestDatabase;
let roles: AccessRoles;

beforeAll(async () => {
  db = await createTestDatabase("adoptfix");
  roles = await createAccessRoles(db);
  // Migrated by the upstream CLI as the admin: pgmigrations is the admin's.
  await withClient(db.url, (c) =>
    c.query(`CREATE TABLE pgmigrations (id serial PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);
             INSERT INTO pgmigrations (name, run_on) VALUES ('20250101000100_widgets', now())`),
  );
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
const errorOf = (stdout: string) => (JSON.parse(stdout) as CliError).error;

describe("the legacy organization setting's example", () => {
  it("is a --set flag that works when the setting came as one", async () => {
    const run = await cli(roles.url("migrator"), "plan", "--set", "legacyUpgrade.organization=Acme_Corp");
    expect(run.code).toBe(1);
    const error = errorOf(run.stdout);
    expect(error.code).toBe("invalid-input");
    expect(error.fix).toBe("Use e.g. --set legacyUpgrade.organization=acme-legacy.");
    const example = /--set (\S+)\.$/.exec(error.fix)![1]!;
    const again = await cli(roles.url("migrator"), "plan", "--set", example);
    expect(again.stdout).not.toContain('"invalid-input"');
  });

  it("is a document when the setting came in a --config file", async () => {
    const file = path.join(scratchDir("adopt-fixes-"), "release.json");
    writeFileSync(file, JSON.stringify({ legacyUpgrade: { organization: "Acme_Corp" } }));
    const error = errorOf((await cli(roles.url("migrator"), "plan", "--config", file)).stdout);
    expect(error.fix).toBe('Use e.g. {"legacyUpgrade":{"organization":"acme-legacy"}}.');
  });
});

describe("a login that may not act as the owner role", () => {
  it("adopt as the app login is sent to the stack's admin, not told to grant itself the owner role", async () => {
    const run = await cli(roles.url("app"), "adopt", "--owner-role", roles.names.owner);
    const error = errorOf(run.stdout);
    expect(error.code).toBe("permission");
    expect(error.message).toContain(`user "${roles.names.app}" may not act as that role`);
    expect(error.fix).toContain(
      `neonhub-db adopt --database-url "$ADMIN_URL" --owner-role ${roles.names.owner}`,
    );
    expect(error.fix).not.toContain("GRANT");
  });

  it("adopt as the app login without --owner-role is a permission error, never offering it the ledger", async () => {
    const run = await cli(roles.url("app"), "adopt");
    const error = errorOf(run.stdout);
    expect(error.code).toBe("permission");
    expect(error.fix).toContain(
      `neonhub-db adopt --database-url "$ADMIN_URL" --owner-role ${roles.names.owner}`,
    );
    expect(error.fix).not.toContain(`--owner-role ${roles.names.app}`);
  });

  it("apply as the app login is sent to the migrator", async () => {
    const error = errorOf((await cli(roles.url("app"), "apply", "--owner-role", roles.names.owner)).stdout);
    expect(error.code).toBe("permission");
    expect(error.fix).toContain("DIRECT_URL");
    expect(error.fix).not.toContain("GRANT");
  });
});

describe("adopt as the migrator, with a pgmigrations the admin owns", () => {
  it("is a permission error giving the admin's whole adopt command, not the migrator again", async () => {
    const run = await cli(roles.url("migrator"), "adopt");
    expect(run.code).toBe(1);
    const error = errorOf(run.stdout);
    expect(error.code).toBe("permission");
    expect(error.message).toContain("no CREATEDB");
    expect(error.fix).toContain(
      `neonhub-db adopt --database-url "$ADMIN_URL" --owner-role ${roles.names.owner}`,
    );
    expect(error.fix).not.toContain("migrator");
  });
});
