// The fixes `neonhub-db health` gives, on a real PostgreSQL in the stacks' role layout (the migrator acting as
// the owner role, the app and read-only logins), each checked by running it: one describe per fix.
import { Client } from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { checkHealth, quoteIdentifier, ReleaseError, type HealthReport } from "../../core";
import { withClient } from "../support/database";
import { useReleasedDatabase } from "../security/released-database";

const target = useReleasedDatabase("healthfix");
const health = (limits: Parameters<typeof checkHealth>[0]["limits"] = {}): Promise<HealthReport> =>
  checkHealth({ databaseUrl: target.current.roles.url("migrator"), limits });

const asMigrator = <T>(fn: (c: Client) => Promise<T>) => withClient(target.current.roles.url("migrator"), fn);
const asAdmin = <T>(fn: (c: Client) => Promise<T>) => withClient(target.current.db.url, fn);
beforeAll(async () => {
  await asMigrator((c) =>
    c.query(
      `INSERT INTO "Organization" (id, slug, name)
       SELECT 'org-' || i, 'org-' || i, 'Org ' || i FROM generate_series(1, 2000) i`,
    ),
  );
  await asAdmin((c) => c.query(`VACUUM (ANALYZE) "Organization"`));
});

describe("a dropped hot-path index", () => {
  it("gets verify's CREATE INDEX CONCURRENTLY, which builds it again", async () => {
    await asMigrator((c) => c.query("DROP INDEX idx_agent_run_started"));
    const report = await health();
    const finding = report.findings.find((f) => f.subject === "idx_agent_run_started");
    expect(finding?.severity).toBe("action");
    expect(finding?.problem).toContain("dropped since");
    const statement = finding!.action.slice(finding!.action.indexOf("CREATE INDEX CONCURRENTLY"));
    expect(statement).toMatch(/^CREATE INDEX CONCURRENTLY idx_agent_run_started ON public\."AgentRun"/);
    await asMigrator((c) => c.query(statement));
    const after = await health();
    expect(after.findings.find((f) => f.subject === "idx_agent_run_started")).toBeUndefined();
  });
});

describe("too many connections", () => {
  it("a login past its CONNECTION LIMIT is a connection error naming the limit", async () => {
    const migrator = quoteIdentifier(target.current.roles.names.migrator);
    await asAdmin((c) => c.query(`ALTER ROLE ${migrator} CONNECTION LIMIT 0`));
    try {
      const error = await health().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ReleaseError);
      expect((error as ReleaseError).code).toBe("connection");
      expect((error as ReleaseError).fix).toContain(`ALTER ROLE ${migrator} CONNECTION LIMIT`);
      expect((error as ReleaseError).fix).toContain("GROUP BY 1, 2, 3");
    } finally {
      await asAdmin((c) => c.query(`ALTER ROLE ${migrator} CONNECTION LIMIT -1`));
    }
  });
});
