// The revert preview (`revert` without --confirm) with --owner-role reads as the role revert --confirm acts as
// (SET ROLE), not as its login, as plan does for apply. A login may act as the owner role without holding its
// privileges: a member of it without INHERIT (CREATE ROLE ... NOINHERIT) may SET ROLE to it, as revert --confirm
// does, but as itself it may not read the release's records. The preview read as the login: it failed on the
// ledger, so the operator never got the confirm command it prints, while revert --confirm itself worked. Each
// case previews, runs the confirm command the preview printed, and compares; a login that may not act as the
// role is refused by both, with nothing written.
import type { Client } from "pg";
import { describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, planRevertWith, type RevertPlan } from "../../core";
import { useReleasedDatabase } from "../security/released-database";
import { runCli } from "../support/cli";
import { withClient } from "../support/database";
import { fingerprint } from "../support/db-fingerprint";
import { useDeployLogins } from "../support/deploy-logins";

const target = useReleasedDatabase("revertreads");

interface PreviewDocument {
  confirmed: false;
  plan: RevertPlan;
  problems: unknown[];
  confirmCommand: string | null;
}

/** The ledger's migrations, oldest first, read as the cluster's admin. */
async function ledger(): Promise<string[]> {
  return withClient(target.current.db.url, async (c) => {
    const { rows } = await c.query<{ name: string }>(
      "SELECT name FROM neonhub_release.migrations ORDER BY id",
    );
    return rows.map((r) => r.name);
  });
}

/** The arguments of a printed `neonhub-db ...` command; these need no shell quoting. */
function argsOf(command: string): string[] {
  const [binary, ...args] = command.split(" ");
  expect(binary).toBe("neonhub-db");
  return args;
}

describe("the revert preview with --owner-role from a login that may act as the owner role without its privileges", () => {
  const { deployer, stranger, urlOf } = useDeployLogins(target);

  it("a login that may not act as the owner role is refused by the preview and the confirm alike, with nothing written", async () => {
    const { db, roles } = target.current;
    const owner = roles.names.owner;
    const applied = await ledger();
    const keep = applied.at(-2)!;
    const before = await fingerprint(db.url);
    const refusal = `--owner-role "${owner}": user "${stranger()}" may not act as that role (not a member of it).`;
    for (const confirm of [[], ["--confirm"]]) {
      const run = await runCli(["revert", "--to", keep, "--owner-role", owner, ...confirm], {
        DATABASE_URL: urlOf(stranger()),
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(refusal);
      expect(run.stderr).not.toContain("unexpected error");
      expect(run.stderr).not.toMatch(/^\s+at /m);
      expect(run.stderr + run.stdout).not.toContain(roles.password);
    }
    const json = await runCli(["revert", "--to", keep, "--owner-role", owner, "--json"], {
      DATABASE_URL: urlOf(stranger()),
    });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: "permission", message: refusal } });
    expect(await fingerprint(db.url)).toEqual(before);
  });

  it("the preview reads the ledger as the owner role and prints the confirm command, which reverts what it showed", async () => {
    const { db, roles } = target.current;
    const owner = roles.names.owner;
    const applied = await ledger();
    const [keep, last] = applied.slice(-2) as [string, string];

    // As itself, the login may not read the ledger that revert --confirm, acting as the owner role, reads.
    await withClient(urlOf(deployer()), async (c) => {
      await expect(c.query("SELECT count(*) FROM neonhub_release.migrations")).rejects.toMatchObject({
        code: "42501",
      });
    });

    const before = await fingerprint(db.url);
    const text = await runCli(["revert", "--to", keep, "--owner-role", owner], {
      DATABASE_URL: urlOf(deployer()),
    });
    expect(text.code, text.stderr).toBe(2);
    expect(text.stdout).toContain(`--owner-role ${owner} --confirm --expect-last ${last}`);

    const preview = await runCli(["revert", "--to", keep, "--owner-role", owner, "--json"], {
      DATABASE_URL: urlOf(deployer()),
    });
    expect(preview.code, preview.stderr).toBe(2);
    const document = JSON.parse(preview.stdout) as PreviewDocument;
    expect(document.problems).toEqual([]);
    expect(document.plan.migrations.map((m) => m.name)).toEqual([last]);
    expect(document.plan.lastMigration).toBe(last);
    expect(document.plan.lastMigrationAfter).toBe(keep);
    expect(document.confirmCommand).toBe(
      `neonhub-db revert --to ${keep} --owner-role ${owner} --json --confirm --expect-last ${last}`,
    );
    // The preview wrote nothing, as whichever role it read.
    expect(await fingerprint(db.url)).toEqual(before);

    // The command it printed, run as printed by the same login, reverts what the preview showed.
    const confirm = await runCli(argsOf(document.confirmCommand!), { DATABASE_URL: urlOf(deployer()) });
    expect(confirm.code, confirm.stderr).toBe(0);
    expect(JSON.parse(confirm.stdout)).toMatchObject({
      confirmed: true,
      result: { reverted: [{ name: last }], lastMigration: keep },
    });
    expect(await ledger()).toEqual(applied.slice(0, -1));
  });

  it("the preview puts the session's role back after it, for the reads a session makes next as its login", async () => {
    const { roles } = target.current;
    const owner = roles.names.owner;
    const keep = (await ledger()).at(-2)!;
    const options = {
      databaseUrl: urlOf(deployer()),
      migrationsDir: DEFAULT_MIGRATIONS_DIR,
      ownerRole: owner,
    };
    const roleOf = async (c: Client) =>
      (
        await c.query<{ role: string; user: string }>(
          "SELECT current_setting('role') AS role, current_user AS user",
        )
      ).rows[0]!;
    await withClient(options.databaseUrl, async (c) => {
      const before = await roleOf(c);
      expect(before).toEqual({ role: "none", user: deployer() });
      const plan = await planRevertWith(c, options, keep);
      expect(plan.migrations).toHaveLength(1);
      expect(await roleOf(c)).toEqual(before);
    });
  });
});
