// The fixes `neonhub-db health` gives, on a real PostgreSQL in the stacks' role layout (the migrator acting as
// the owner role, the app and read-only logins), each checked by running it: one describe per fix.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkHealth, quoteIdentifier, ReleaseError, type HealthReport } from "../../core";
import { renderHealth } from "../../cli/render-health";
import { withClient } from "../support/database";
import type { Login } from "../support/roles";
import { applyAsMigrator, useReleasedDatabase } from "../security/released-database";
import { chunkFileDir, writeChunkFile } from "../seeds/chunk-files";
import { runCli } from "../support/cli";

const target = useReleasedDatabase("healthfix");
const opened: Client[] = [];

async function connect(login: Login, application: string): Promise<{ client: Client; pid: number }> {
  const client = new Client({
    connectionString: target.current.roles.url(login),
    application_name: application,
  });
  await client.connect();
  opened.push(client);
  const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
  return { client, pid };
}

const health = (limits: Parameters<typeof checkHealth>[0]["limits"] = {}): Promise<HealthReport> =>
  checkHealth({ databaseUrl: target.current.roles.url("migrator"), limits });

const asMigrator = <T>(fn: (c: Client) => Promise<T>) => withClient(target.current.roles.url("migrator"), fn);
const asAdmin = <T>(fn: (c: Client) => Promise<T>) => withClient(target.current.db.url, fn);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  await asMigrator((c) =>
    c.query(
      `INSERT INTO "Organization" (id, slug, name)
       SELECT 'org-' || i, 'org-' || i, 'Org ' || i FROM generate_series(1, 2000) i`,
    ),
  );
  await asAdmin((c) => c.query(`VACUUM (ANALYZE) "Organization"`));
});

afterAll(async () => {
  for (const client of opened) await client.end().catch(() => {});
});

describe("dead rows behind an open snapshot", () => {
  it("names the session holding the snapshot and says to end it before the VACUUM", async () => {
    const holder = await connect("app", "api-forgotten");
    await holder.client.query("BEGIN");
    await holder.client.query("SELECT txid_current()");
    await asMigrator((c) => c.query(`UPDATE "Organization" SET name = name || '!'`));
    await asAdmin((c) => c.query(`VACUUM "Organization"`));
    await sleep(1_100);

    // A snapshot younger than health's long transaction is a session's ordinary work, not named as one to end;
    // the cluster section shows it all the same.
    const young = await health({ largeTableRows: 1 });
    expect(young.cluster.oldestXmin).toMatchObject({ kind: "session", session: { pid: holder.pid } });
    const youngDead = young.findings.find(
      (f) => f.subject === "Organization" && f.problem.includes("dead rows"),
    );
    expect(youngDead?.action).toBe('VACUUM (ANALYZE) "Organization"');
    expect(renderHealth(young)).toMatch(
      new RegExp(`oldest snapshot: session pid ${holder.pid} .*, [0-9,]+ transactions? old`),
    );

    // Past it (1 s here), the holder is named, to end first.
    const report = await health({ largeTableRows: 1, longTransactionSeconds: 1 });
    expect(report.cluster.oldestXmin).toMatchObject({
      kind: "session",
      user: target.current.roles.names.app,
      session: {
        pid: holder.pid,
        application: "api-forgotten",
        state: "idle in transaction",
        canTerminate: false,
      },
    });
    const dead = report.findings.find((f) => f.subject === "Organization" && f.problem.includes("dead rows"));
    expect(dead?.severity).toBe("action");
    expect(dead?.action).toContain(
      `session pid ${holder.pid} (${target.current.roles.names.app}, api-forgotten, `,
    );
    expect(dead?.action).toContain("end it first");
    expect(dead?.action).toContain(
      `SELECT pg_terminate_backend(${holder.pid}) as its own login ${target.current.roles.names.app}, or the server's admin`,
    );
    expect(dead?.action).toMatch(/then VACUUM \(ANALYZE\) "Organization"$/);
    expect(renderHealth(report)).toContain(`oldest snapshot: session pid ${holder.pid} `);

    // Once it ends, the VACUUM alone is the fix (and works).
    await holder.client.query("ROLLBACK");
    const after = await health({ largeTableRows: 1, longTransactionSeconds: 1 });
    expect(after.cluster.oldestXmin).toBeNull();
    const plain = after.findings.find((f) => f.subject === "Organization" && f.problem.includes("dead rows"));
    expect(plain?.action).toBe('VACUUM (ANALYZE) "Organization"');
  });
});

describe("who may end a session", () => {
  afterAll(() =>
    asAdmin((c) =>
      c.query(`REVOKE pg_signal_backend FROM ${quoteIdentifier(target.current.roles.names.owner)}`),
    ),
  );

  it("is health's own role once it is a member of pg_signal_backend: the statement alone", async () => {
    const session = await connect("app", "api-open");
    await session.client.query("BEGIN");
    await session.client.query("SELECT 1");
    await sleep(1_100);
    const before = await health({ longTransactionSeconds: 1 });
    const oldest = before.findings.find((f) => f.subject === "oldest transaction");
    expect(before.cluster.oldestTransaction).toMatchObject({ pid: session.pid, canTerminate: false });
    expect(oldest?.action).toBe(
      `end it from its client, or SELECT pg_terminate_backend(${session.pid}) as its own login ` +
        `${target.current.roles.names.app}, or the server's admin (a superuser, rds_superuser on RDS, or a member of pg_signal_backend)`,
    );

    await asAdmin((c) =>
      c.query(`GRANT pg_signal_backend TO ${quoteIdentifier(target.current.roles.names.owner)}`),
    );
    const after = await health({ longTransactionSeconds: 1 });
    expect(after.findings.find((f) => f.subject === "oldest transaction")?.action).toBe(
      `end it from its client, or SELECT pg_terminate_backend(${session.pid})`,
    );
    await session.client.query("ROLLBACK");
  });
});

describe("lock waits", () => {
  it("lists each waiting session with the head of its chain, and needs action past the limit", async () => {
    // Three migrator sessions on one row: the first waits on the holder's transaction, the second on the
    // first's tuple lock, a chain.
    const head = await connect("migrator", "holder");
    const first = await connect("migrator", "first-waiter");
    const second = await connect("migrator", "second-waiter");
    await head.client.query("BEGIN");
    await head.client.query(`UPDATE "Organization" SET name = 'held' WHERE id = 'org-1'`);
    const firstWait = first.client.query(`UPDATE "Organization" SET name = 'first' WHERE id = 'org-1'`);
    await sleep(300);
    const secondWait = second.client.query(`UPDATE "Organization" SET name = 'second' WHERE id = 'org-1'`);
    await sleep(1_300);

    const report = await health({ lockWaitSeconds: 1 });
    const waits = report.cluster.lockWaits;
    expect(waits.map((w) => w.session.pid).sort()).toEqual([first.pid, second.pid].sort());
    for (const wait of waits) {
      expect(wait.blocker?.pid).toBe(head.pid);
      expect(wait.waitSeconds).toBeGreaterThanOrEqual(1);
    }
    const findings = report.findings.filter((f) => f.subject === "lock wait");
    expect(findings).toHaveLength(2);
    for (const finding of findings) {
      expect(finding.problem).toContain(
        `pid ${head.pid} (${target.current.roles.names.migrator}, holder, idle in transaction`,
      );
      expect(finding.action).toContain(`SELECT pg_terminate_backend(${head.pid}) as its own login`);
    }
    expect(renderHealth(report)).toContain(`lock wait: pid ${first.pid} (first-waiter)`);

    // The second waits behind the first, which waits on the holder: the chain's head is the one to end.
    const chained = findings.find((f) => f.problem.startsWith(`pid ${second.pid} `));
    expect(chained?.problem).toContain(`blocked by pid ${first.pid}, itself waiting behind pid ${head.pid}`);

    // Under the limit: no finding, and only waits of 5 s or more are listed.
    const under = await health({ lockWaitSeconds: 3_600 });
    expect(under.cluster.lockWaits.every((w) => w.waitSeconds >= 5)).toBe(true);
    expect(under.findings.filter((f) => f.subject === "lock wait")).toEqual([]);

    await head.client.query("ROLLBACK");
    await firstWait;
    await secondWait;
  });
});

describe("vector search settings changed by hand", () => {
  const dir = chunkFileDir();
  beforeAll(async () => {
    // Chunks, and a release that builds and calibrates the chunk index: it records ivfflat.probes and makes it
    // the database's default.
    await asMigrator(async (c) => {
      await c.query(
        `INSERT INTO "EmbeddingSpace" (id, provider, model, dimension) VALUES ('fix-space', 'test', 'test-16', 16)`,
      );
      await c.query(
        `INSERT INTO "Dataset" (id, "organizationId", name, slug, kind) VALUES ('fix-ds', 'org-2', 'fix', 'fix', 'documents')`,
      );
    });
    const file = writeChunkFile(dir, "fix.ndjson", {
      dimension: 16,
      documents: 2,
      chunksPerDocument: 20,
      prefix: "fix",
      header: { embeddingSpace: { id: "fix-space" } },
    });
    const load = await runCli(["load-chunks", "--file", file.file, "--dataset", "fix-ds"], {
      DATABASE_URL: target.current.roles.url("migrator"),
    });
    expect(load.code).toBe(0);
    await applyAsMigrator(target.current);
  });

  const settings = (report: HealthReport) => report.findings.filter((f) => f.subject === "ivfflat.probes");

  it("compares the database's setting with the release's record; the logins' own are role settings", async () => {
    const before = await health();
    const index = before.indexes.find((i) => i.name === "idx_chunk_embedding_cosine");
    const recorded = index?.searchSetting?.["ivfflat.probes"];
    expect(recorded).toBeTypeOf("number");
    expect(before.searchSettings).toEqual([]);
    expect(settings(before)).toEqual([]);

    const { db, roles } = target.current;
    const database = quoteIdentifier(db.name);
    const app = quoteIdentifier(roles.names.app);
    const readonly = quoteIdentifier(roles.names.readonly);
    const other = recorded! + 6;
    await asAdmin(async (c) => {
      await c.query(`ALTER DATABASE ${database} SET ivfflat.probes = ${other}`);
      await c.query(`ALTER ROLE ${app} IN DATABASE ${database} SET ivfflat.probes = 2`);
      await c.query(`ALTER ROLE ${readonly} SET ivfflat.probes = 3`);
    });
    try {
      // What the app's sessions now get.
      const appClient = await connect("app", "probe-check");
      expect((await appClient.client.query("SHOW ivfflat.probes")).rows[0]).toEqual({
        "ivfflat.probes": "2",
      });

      const report = await health();
      expect(report.healthy).toBe(false);
      expect(report.searchSettings).toEqual([
        expect.objectContaining({ where: `database ${db.name}`, live: String(other), recorded }),
      ]);
      expect(settings(report).map((f) => f.action)).toEqual([
        `SELECT '[1]'::vector; ALTER DATABASE ${database} SET ivfflat.probes = ${recorded} (as the database's owner: the migrator)`,
      ]);
      expect(settings(report)[0]?.problem).toContain(
        `ivfflat.probes = ${other} set for database ${db.name} by hand, where the release recorded the calibrated ${recorded}`,
      );
      // On the logins, which override the database's: the release sets nothing there (role-settings.ts), one
      // finding each, with its RESET.
      const onLogins = report.findings.filter((f) => f.subject.startsWith("role ")).map((f) => f.action);
      expect(onLogins).toEqual([
        expect.stringContaining(`ALTER ROLE ${app} IN DATABASE ${database} RESET ivfflat.probes`),
        expect.stringContaining(`ALTER ROLE ${readonly} RESET ivfflat.probes`),
      ]);

      // The database's reset to none is reported missing.
      await asAdmin(async (c) => {
        await c.query(`ALTER DATABASE ${database} RESET ivfflat.probes`);
        await c.query(`ALTER ROLE ${readonly} RESET ivfflat.probes`);
      });
      const missing = await health();
      expect(missing.searchSettings).toEqual([
        expect.objectContaining({ where: `database ${db.name}`, live: null, recorded }),
      ]);
      expect(settings(missing)[0]?.problem).toContain("not set for database");

      // The fixes as given put it back.
      const fix = settings(missing)[0]!.action.replace(/ \(as the database's owner: the migrator\)$/, "");
      await asMigrator(async (c) => {
        for (const statement of fix.split("; ")) await c.query(statement);
      });
      await asAdmin((c) => c.query(`ALTER ROLE ${app} IN DATABASE ${database} RESET ivfflat.probes`));
      const healed = await health();
      expect(healed.searchSettings).toEqual([]);
      expect(healed.findings.filter((f) => f.subject.startsWith("role "))).toEqual([]);
    } finally {
      await asAdmin(async (c) => {
        await c.query(`ALTER DATABASE ${database} SET ivfflat.probes = ${recorded}`);
        await c.query(`ALTER ROLE ${app} IN DATABASE ${database} RESET ivfflat.probes`);
        await c.query(`ALTER ROLE ${readonly} RESET ivfflat.probes`);
      });
    }
  });
});

describe("transaction ID age", () => {
  it("is the server's oldest database's, named", async () => {
    // Other test files create and drop databases on this cluster while this one runs, and autovacuum freezes
    // them: the oldest can change between two queries. Judged in a window where it did not (the same database
    // the oldest before and after health), which a few tries find.
    const oldestNow = () =>
      asAdmin(async (c) => {
        const { rows } = await c.query<{ datname: string; age: number }>(
          "SELECT datname, age(datfrozenxid) AS age FROM pg_database ORDER BY age(datfrozenxid) DESC, datname LIMIT 1",
        );
        return rows[0]!;
      });
    for (let attempt = 1; ; attempt += 1) {
      const before = await oldestNow();
      const report = await health();
      const after = await oldestNow();
      if (before.datname !== after.datname && attempt < 10) continue;
      expect(after.datname).toBe(before.datname);
      const { cluster } = report;
      expect(cluster.transactionIdAge.database).toBe(before.datname);
      expect(cluster.transactionIdAge.age).toBeGreaterThanOrEqual(Math.min(before.age, after.age));
      expect(renderHealth(report)).toContain(
        `in database ${report.cluster.transactionIdAge.database}, the server's oldest`,
      );
      return;
    }
  });
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
