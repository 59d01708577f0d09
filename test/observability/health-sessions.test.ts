// `neonhub-db health` in the stacks' role layout: the migrator logs in and acts as the owner role, and
// pg_stat_activity shows the owner other sessions' state and start times only through pg_read_all_stats,
// which the access layer grants it. With the grant, health sees the connections and the open transaction;
// without it (a stack whose access layer predates it), it still counts the sessions and says what it cannot
// see, rather than "0 connections, none open". Any other login is told to use the migrator.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkHealth, quoteIdentifier, ReleaseError, type HealthReport } from "../../core";
import { renderHealth } from "../../cli/render-health";
import { runCli } from "../support/cli";
import { withClient } from "../support/database";
import type { Login } from "../support/roles";
import { useReleasedDatabase } from "../security/released-database";

const target = useReleasedDatabase("healthsess");
const sessions: { client: Client; pid: number }[] = [];
let openTransactionPid = 0;

async function connect(login: Login, application: string): Promise<{ client: Client; pid: number }> {
  const client = new Client({
    connectionString: target.current.roles.url(login),
    application_name: application,
  });
  await client.connect();
  const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
  sessions.push({ client, pid });
  return { client, pid };
}

const setStatsGrant = (granted: boolean) => {
  const owner = quoteIdentifier(target.current.roles.names.owner);
  return withClient(target.current.db.adminUrl, (c) =>
    c.query(granted ? `GRANT pg_read_all_stats TO ${owner}` : `REVOKE pg_read_all_stats FROM ${owner}`),
  );
};

/** Health as the migrator, with limits low enough that this test's three sessions trip them. */
const healthAsMigrator = (): Promise<HealthReport> =>
  checkHealth({
    databaseUrl: target.current.roles.url("migrator"),
    limits: { connectionsPercent: 1, longTransactionSeconds: 1 },
  });

beforeAll(async () => {
  // Three sessions besides health's own: the app idle, the app in a transaction, a read-only reader.
  await connect("app", "api-idle");
  const inTransaction = await connect("app", "api-open-transaction");
  await inTransaction.client.query("BEGIN");
  await inTransaction.client.query("SELECT 1");
  openTransactionPid = inTransaction.pid;
  await connect("readonly", "report-reader");
  await new Promise((resolve) => setTimeout(resolve, 1_200));
});

afterAll(async () => {
  for (const s of sessions) await s.client.end();
});

describe("health as the migrator, with the access layer's grants", () => {
  it("sees every session and the open transaction", async () => {
    const report = await healthAsMigrator();
    const { cluster } = report;
    expect(cluster.sessionDetails).toEqual({
      role: target.current.roles.names.owner,
      hiddenSessions: 0,
      hiddenInDatabase: 0,
    });
    expect(cluster.connections.inUse).toBeGreaterThanOrEqual(4);
    expect(cluster.oldestTransaction).toMatchObject({
      pid: openTransactionPid,
      application: "api-open-transaction",
      state: "idle in transaction",
    });
    expect(report.findings.map((f) => f.subject)).toEqual(
      expect.arrayContaining(["connections", "oldest transaction"]),
    );
    expect(report.findings.map((f) => f.subject)).not.toContain("session details");
    expect(renderHealth(report)).toMatch(new RegExp(`oldest transaction: pid ${openTransactionPid} `));
  });

  it("the CLI reports the same transaction", async () => {
    const run = await runCli(["health", "--json"], { DATABASE_URL: target.current.roles.url("migrator") });
    const report = JSON.parse(run.stdout) as HealthReport;
    expect(report.cluster.oldestTransaction?.pid).toBe(openTransactionPid);
    expect(report.cluster.sessionDetails.hiddenSessions).toBe(0);
  });
});

describe("health as the migrator when the owner lacks pg_read_all_stats", () => {
  beforeAll(() => setStatsGrant(false));
  afterAll(() => setStatsGrant(true));

  it("counts the hidden sessions as connections and says it cannot see their transactions", async () => {
    const report = await healthAsMigrator();
    const { cluster } = report;
    const owner = target.current.roles.names.owner;
    expect(cluster.sessionDetails.role).toBe(owner);
    expect(cluster.sessionDetails.hiddenInDatabase).toBe(3);
    expect(cluster.sessionDetails.hiddenSessions).toBeGreaterThanOrEqual(3);
    expect(cluster.connections.inUse).toBeGreaterThanOrEqual(4);
    expect(cluster.oldestTransaction).toBeNull();
    expect(report.healthy).toBe(false);
    const details = report.findings.find((f) => f.subject === "session details");
    expect(details?.severity).toBe("action");
    expect(details?.action).toContain(`GRANT pg_read_all_stats TO ${quoteIdentifier(owner)}`);
    expect(report.findings.map((f) => f.subject)).toContain("connections");

    const text = renderHealth(report);
    expect(text).toContain(
      `oldest transaction: unknown (3 sessions of this database with details hidden from role ${owner})`,
    );
    expect(text).not.toContain("none open");
    expect(text).not.toMatch(/connections: 0 of/);
  });
});

describe("health as another login", () => {
  it.each<Login>(["readonly", "app"])("as the %s login, says to run it as the migrator", async (login) => {
    const error = await checkHealth({ databaseUrl: target.current.roles.url(login) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReleaseError);
    const failure = error as ReleaseError;
    expect(failure.code).toBe("permission");
    expect(failure.message).toContain(
      `health needs the migrator: role "${target.current.roles.names[login]}"`,
    );
    expect(failure.fix).toContain("DIRECT_URL");
  });

  it("the CLI's --json error is a permission error naming DIRECT_URL", async () => {
    const run = await runCli(["health", "--json"], { DATABASE_URL: target.current.roles.url("readonly") });
    expect(run.code).toBe(1);
    const body = JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } };
    expect(body.error.code).toBe("permission");
    expect(body.error.fix).toContain("DIRECT_URL");
    expect(`${body.error.message} ${run.stderr}`).not.toContain("permission denied for schema");
  });
});

describe("the login the CLI takes from an app's environment", () => {
  it("is DIRECT_URL's (the migrator) when DATABASE_URL (the app login) is set beside it", async () => {
    const appEnv = { DATABASE_URL: target.current.roles.url("app") };
    const appOnly = await runCli(["status", "--json"], appEnv);
    expect(appOnly.code).toBe(1);
    expect((JSON.parse(appOnly.stdout) as { error: { code: string } }).error.code).toBe("permission");

    const both = await runCli(["status", "--json"], {
      ...appEnv,
      DIRECT_URL: target.current.roles.url("migrator"),
    });
    expect(both.code, both.stderr).toBe(0);
    expect((JSON.parse(both.stdout) as { database: string }).database).toContain(
      target.current.roles.names.migrator,
    );
  });
});
