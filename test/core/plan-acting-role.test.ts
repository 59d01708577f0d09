// plan --owner-role judges what apply will do as that role, not as the login it runs as. A login that acts as
// itself (no `ALTER ROLE ... SET role`) but may act as the owner role has privileges the owner may lack: a
// superuser has all, a migrator may own a database it made by hand. The database's search default is one such
// item: apply, acting as the owner, may set it only on a database the owner role owns, and skips it as
// `not-owner` otherwise. plan judged it for the login and said "Changes pending" where apply would then skip
// it and change nothing. Each case plans, applies as the plan says, and compares the two.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quoteIdentifier, type ReleasePlan, type ReleaseResult } from "../../core";
import { useReleasedDatabase } from "../security/released-database";
import { cliJson, runCli } from "../support/cli";
import { databaseSettings, withClient } from "../support/database";

const target = useReleasedDatabase("planrole", { seedSets: ["demo"] });

describe("plan --owner-role from a login that acts as itself", () => {
  let released: string[];
  let setting: string;
  const itemName = () => `database default ${setting}`;
  const database = () => quoteIdentifier(target.current.db.name);

  beforeAll(async () => {
    const { roles, db } = target.current;
    released = await databaseSettings(target.current.db.url);
    expect(released).toHaveLength(1);
    setting = released[0]!.split("=")[0]!;
    await withClient(db.url, async (c) => {
      // As roles re-made by hand leave it: the migrator acts as itself, and only --owner-role makes it the owner.
      await c.query(`ALTER ROLE ${quoteIdentifier(roles.names.migrator)} RESET role`);
      // As a restore or a template copy leaves the database: without its search default.
      await c.query(`ALTER DATABASE ${database()} RESET ${setting}`);
    });
  });
  afterAll(async () => {
    const { roles, db } = target.current;
    await withClient(db.url, (c) =>
      c.query(`ALTER DATABASE ${database()} OWNER TO ${quoteIdentifier(roles.names.owner)}`),
    );
  });

  /**
   * plan --owner-role as `url`, then apply the same way: plan skips the search default as apply then does,
   * with the same reason, and says the operator must act (exit 2, nothing pending); apply sets nothing.
   */
  async function planThenApply(url: string, databaseOwner: string): Promise<void> {
    const owner = target.current.roles.names.owner;
    const plan = await cliJson<ReleasePlan>(url, "plan", "--owner-role", owner);
    expect(plan.code).toBe(2);
    expect(plan.doc.problems).toEqual([]);
    expect(plan.doc.pending).toBe(false);
    expect(plan.doc.operatorItems).toEqual([itemName()]);
    const planned = plan.doc.vectorIndexes.find((i) => i.name === itemName());
    expect(planned).toMatchObject({ action: "unchanged", decision: "skip", skip: "not-owner" });
    expect(planned!.reason).toContain(
      `belongs to ${databaseOwner}, not to ${owner}, which runs this release`,
    );
    const text = await runCli(["plan", "--owner-role", owner], { DATABASE_URL: url });
    expect(text.code).toBe(2);
    expect(text.stdout).toContain("Operator action needed");
    expect(text.stdout).not.toContain("Changes pending");

    const apply = await cliJson<ReleaseResult>(url, "apply", "--owner-role", owner);
    expect(apply.code).toBe(0);
    expect(apply.doc.changed).toBe(false);
    const applied = apply.doc.vectorIndexes.find((i) => i.name === itemName());
    expect(applied).toMatchObject({ action: "unchanged", skipped: planned!.reason });
    expect(await databaseSettings(target.current.db.url)).toEqual([]);
  }

  it("a superuser on the admin's database (createdb's): plan says the skip apply makes, not a change", async () => {
    const { db } = target.current;
    const admin = decodeURIComponent(new URL(db.url).username);
    await withClient(db.url, (c) =>
      c.query(`ALTER DATABASE ${database()} OWNER TO ${quoteIdentifier(admin)}`),
    );
    await planThenApply(db.url, admin);
  });

  it("the migrator on a database it owns itself: plan says the skip apply makes; after the hand-over it names, both set it", async () => {
    const { db, roles } = target.current;
    const { migrator, owner } = roles.names;
    await withClient(db.url, (c) =>
      c.query(`ALTER DATABASE ${database()} OWNER TO ${quoteIdentifier(migrator)}`),
    );
    await planThenApply(roles.url("migrator"), migrator);

    // The hand-over the reason names (run here as the admin): plan and apply then set it.
    await withClient(db.url, (c) =>
      c.query(`ALTER DATABASE ${database()} OWNER TO ${quoteIdentifier(owner)}`),
    );
    const plan = await cliJson<ReleasePlan>(roles.url("migrator"), "plan", "--owner-role", owner);
    expect(plan.code).toBe(2);
    expect(plan.doc.pending).toBe(true);
    expect(plan.doc.vectorIndexes.find((i) => i.name === itemName())).toMatchObject({
      action: "update",
      decision: "search-default",
    });
    const apply = await cliJson<ReleaseResult>(roles.url("migrator"), "apply", "--owner-role", owner);
    expect(apply.code).toBe(0);
    expect(apply.doc.vectorIndexes.find((i) => i.name === itemName())).toMatchObject({ action: "update" });
    expect(await databaseSettings(target.current.db.url)).toEqual(released);
  });
});
