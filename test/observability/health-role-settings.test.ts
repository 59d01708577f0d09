// `neonhub-db health` reports settings stored on the app and read-only logins (ALTER ROLE ... SET), which the
// release never sets: any login may set its own, so a leaked password can plant `statement_timeout = 1` on
// the app (every new app session breaks, and it outlives a password rotation) or switch the read-only login's
// sessions to read-write. Planted here by the logins themselves, on a database released as a stack's; each
// finding's RESET is run as given and the report is clean again.
import { afterAll, describe, expect, it } from "vitest";
import { checkHealth, quoteIdentifier, type HealthFinding } from "../../core";
import { renderHealth } from "../../cli/render-health";
import { runCli } from "../support/cli";
import { withClient } from "../support/database";
import type { Login } from "../support/roles";
import { useReleasedDatabase } from "../security/released-database";

const target = useReleasedDatabase("healthroles");

const health = () => checkHealth({ databaseUrl: target.current.roles.url("migrator") });
const roleFindings = (findings: readonly HealthFinding[]) =>
  findings.filter((f) => f.subject.startsWith("role "));
const asLogin = (login: Login, sql: string) =>
  withClient(target.current.roles.url(login), (c) => c.query(sql));

describe("health and settings stored on the application's logins", () => {
  afterAll(async () => {
    // Whatever a failed test left, so that the roles drop cleanly.
    const { app, readonly } = target.current.roles.names;
    await withClient(target.current.db.adminUrl, async (c) => {
      for (const role of [app, readonly]) await c.query(`ALTER ROLE ${quoteIdentifier(role)} RESET ALL`);
    });
  });

  it("a released database has none", async () => {
    const report = await health();
    expect(roleFindings(report.findings)).toEqual([]);
  });

  it("reports what the logins planted on themselves, with the RESET for each, and exits 2", async () => {
    const { app, readonly } = target.current.roles.names;
    const database = target.current.db.name;
    await asLogin(
      "app",
      `ALTER ROLE ${quoteIdentifier(app)} IN DATABASE ${quoteIdentifier(database)} SET work_mem = '64kB'`,
    );
    await asLogin("app", `ALTER ROLE ${quoteIdentifier(app)} IN DATABASE postgres SET work_mem = '128kB'`);
    await asLogin(
      "readonly",
      `ALTER ROLE ${quoteIdentifier(readonly)} SET default_transaction_read_only = off`,
    );
    // Last: from it on, every statement of a new app session is cancelled after 1 ms (on a loaded machine, the
    // plants above as the app could be).
    await asLogin("app", `ALTER ROLE ${quoteIdentifier(app)} SET statement_timeout = 1`);

    // What the plant does: every new app session times out at once.
    await expect(asLogin("app", "SELECT pg_sleep(0.01)")).rejects.toThrow(/statement timeout/);

    const report = await health();
    expect(report.healthy).toBe(false);
    const found = roleFindings(report.findings);
    // Settings for another database do not reach sessions of this one: not reported.
    expect(found.map((f) => [f.subject, f.problem.split(" is stored")[0]])).toEqual([
      [`role ${app}`, "statement_timeout = 1"],
      [`role ${app}`, "work_mem = 64kB"],
      [`role ${readonly}`, "default_transaction_read_only = off"],
    ]);
    for (const f of found) {
      expect(f.severity).toBe("action");
      expect(f.problem).toContain("not set by the release");
      expect(f.action).toContain("compromised");
    }
    expect(found[0]!.problem).toContain("for every database");
    expect(found[1]!.problem).toContain(`for database ${database}`);
    expect(found.map((f) => f.action.split(" (as the admin")[0])).toEqual([
      `ALTER ROLE ${quoteIdentifier(app)} RESET statement_timeout`,
      `ALTER ROLE ${quoteIdentifier(app)} IN DATABASE ${quoteIdentifier(database)} RESET work_mem`,
      `ALTER ROLE ${quoteIdentifier(readonly)} RESET default_transaction_read_only`,
    ]);
    expect(renderHealth(report)).toContain(`ALTER ROLE ${quoteIdentifier(app)} RESET statement_timeout`);

    // The CLI: unhealthy, exit 2, the finding in its JSON.
    const run = await runCli(["health", "--json"], { DATABASE_URL: target.current.roles.url("migrator") });
    expect(run.code).toBe(2);
    const printed = JSON.parse(run.stdout) as { findings: HealthFinding[] };
    expect(roleFindings(printed.findings)).toHaveLength(3);

    // Each RESET as given: the app's by the admin, the others by the logins themselves.
    await withClient(target.current.db.adminUrl, (c) =>
      c.query(found[0]!.action.split(" (as the admin")[0]!),
    );
    await asLogin("app", found[1]!.action.split(" (as the admin")[0]!);
    await asLogin("readonly", found[2]!.action.split(" (as the admin")[0]!);
    expect(roleFindings((await health()).findings)).toEqual([]);
    await asLogin("app", "SELECT pg_sleep(0.01)");
    await asLogin("app", `ALTER ROLE ${quoteIdentifier(app)} IN DATABASE postgres RESET work_mem`);
  });
});
