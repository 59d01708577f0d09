// plan --owner-role reads as the role apply acts as (SET ROLE), not as its login. A login may act as the owner
// role without holding its privileges: a member of it without INHERIT (CREATE ROLE ... NOINHERIT) may SET ROLE to
// it, as apply does, but as itself it may not read the release's records, and row-level security hides from it
// the rows of the tables the owner role owns. plan read as the login: it failed on the records where apply
// worked, and, given the read-only grants, skipped each vector index as rows-hidden where apply kept it. Each
// case plans, applies the same way and compares the two; a login that may not act as the role is refused by
// both, with nothing written.
import type { Client } from "pg";
import { describe, expect, it } from "vitest";
import { actAsOwnerRole, quoteIdentifier, type ReleasePlan, type ReleaseResult } from "../../core";
import { useReleasedDatabase } from "../security/released-database";
import { cliJson, runCli } from "../support/cli";
import { databaseSettings, withClient } from "../support/database";
import { fingerprint } from "../support/db-fingerprint";
import { useDeployLogins } from "../support/deploy-logins";

const target = useReleasedDatabase("planreads", { seedSets: ["demo"] });
const ident = quoteIdentifier;

describe("plan --owner-role from a login that may act as the owner role without its privileges", () => {
  const { deployer, stranger, urlOf } = useDeployLogins(target);

  it("plan reads the release's records as the owner role and says the change apply then makes", async () => {
    const { db, roles } = target.current;
    const owner = roles.names.owner;
    const released = await databaseSettings(target.current.db.url);
    expect(released).toHaveLength(1);
    const setting = released[0]!.split("=")[0]!;
    const itemName = `database default ${setting}`;
    // A change for the release to make: the database's search default, as a restore leaves it.
    await withClient(db.url, (c) => c.query(`ALTER DATABASE ${ident(db.name)} RESET ${setting}`));

    // As itself, the login may not read the records that apply, acting as the owner role, reads.
    await withClient(urlOf(deployer()), async (c) => {
      await expect(c.query("SELECT count(*) FROM neonhub_release.pgmigrations")).rejects.toMatchObject({
        code: "42501",
      });
    });

    const plan = await cliJson<ReleasePlan>(urlOf(deployer()), "plan", "--owner-role", owner);
    expect(plan.code).toBe(2);
    expect(plan.doc.problems).toEqual([]);
    expect(plan.doc.pending).toBe(true);
    expect(plan.doc.migrations.pending).toEqual([]);
    expect(plan.doc.vectorIndexes.find((i) => i.name === itemName)).toMatchObject({
      action: "update",
      decision: "search-default",
    });
    const text = await runCli(["plan", "--owner-role", owner], { DATABASE_URL: urlOf(deployer()) });
    expect(text.code).toBe(2);
    expect(text.stdout).toContain("Changes pending");
    expect(await databaseSettings(target.current.db.url)).toEqual([]);

    const apply = await cliJson<ReleaseResult>(urlOf(deployer()), "apply", "--owner-role", owner);
    expect(apply.code).toBe(0);
    expect(apply.doc.changed).toBe(true);
    expect(apply.doc.vectorIndexes.find((i) => i.name === itemName)).toMatchObject({ action: "update" });
    expect(await databaseSettings(target.current.db.url)).toEqual(released);

    // And plan, as apply then finds it, says nothing is left to do.
    const after = await cliJson<ReleasePlan>(urlOf(deployer()), "plan", "--owner-role", owner);
    expect(after.code).toBe(0);
    expect(after.doc.pending).toBe(false);
  });

  it("plan sees the rows row-level security hides from the login, and decides each vector index as apply does", async () => {
    const { db, roles } = target.current;
    const owner = roles.names.owner;
    await withClient(db.url, async (c) => {
      // The read-only grants on the release's tables and records, its own: under row-level security, no
      // organization set, every tenant row is hidden from it.
      for (const schema of ["public", "neonhub_release"]) {
        await c.query(`GRANT USAGE ON SCHEMA ${schema} TO ${ident(deployer())}`);
        await c.query(`GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${ident(deployer())}`);
      }
    });
    await withClient(urlOf(deployer()), async (c) => {
      const { rows } = await c.query<{ hidden: boolean }>(`SELECT row_security_active('"Chunk"') AS hidden`);
      expect(rows[0]!.hidden).toBe(true);
    });

    const plan = await cliJson<ReleasePlan>(urlOf(deployer()), "plan", "--owner-role", owner);
    expect(plan.code).toBe(0);
    expect(plan.doc.pending).toBe(false);
    expect(plan.doc.vectorIndexes.length).toBeGreaterThan(0);
    expect(plan.doc.vectorIndexes.filter((i) => i.skip === "rows-hidden")).toEqual([]);
    expect(plan.doc.vectorIndexes.filter((i) => i.decision === "keep").length).toBeGreaterThan(0);

    const apply = await cliJson<ReleaseResult>(urlOf(deployer()), "apply", "--owner-role", owner);
    expect(apply.code).toBe(0);
    expect(apply.doc.changed).toBe(false);
    // What plan said of each index is what apply did with it, for the same reason.
    expect(apply.doc.vectorIndexes.map((i) => [i.name, i.action, i.skipped])).toEqual(
      plan.doc.vectorIndexes.map((i) => [i.name, i.action, i.reason]),
    );
  });

  it("a login that may not act as the owner role is refused by plan and apply alike, with nothing written", async () => {
    const { db, roles } = target.current;
    const owner = roles.names.owner;
    const before = await fingerprint(db.url);
    const refusal = `--owner-role "${owner}": user "${stranger()}" may not act as that role (not a member of it).`;
    for (const command of ["plan", "apply"]) {
      const run = await runCli([command, "--owner-role", owner], { DATABASE_URL: urlOf(stranger()) });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(refusal);
      expect(run.stderr).not.toContain("unexpected error");
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(run.stderr + run.stdout).not.toContain(roles.password);
    }
    const json = await runCli(["plan", "--owner-role", owner, "--json"], { DATABASE_URL: urlOf(stranger()) });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: "permission", message: refusal } });
    expect(await fingerprint(db.url)).toEqual(before);
  });

  it("plan's role is put back after it, for the reads a session makes next as its login", async () => {
    const { roles } = target.current;
    const owner = roles.names.owner;
    const roleOf = async (c: Client) =>
      (
        await c.query<{ role: string; user: string }>(
          "SELECT current_setting('role') AS role, current_user AS user",
        )
      ).rows[0]!;
    // The deploy login acts as itself; the migrator as the owner role, set at login.
    const cases: [string, { role: string; user: string }][] = [
      [urlOf(deployer()), { role: "none", user: deployer() }],
      [roles.url("migrator"), { role: owner, user: owner }],
    ];
    for (const [url, before] of cases) {
      await withClient(url, async (c) => {
        expect(await roleOf(c)).toEqual(before);
        const restore = await actAsOwnerRole(c, owner);
        expect(await roleOf(c)).toEqual({ role: owner, user: owner });
        await restore();
        expect(await roleOf(c)).toEqual(before);
      });
    }
  });
});
