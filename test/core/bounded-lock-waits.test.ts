// The commands other than apply behind a lock another session holds: each waits at most --lock-timeout, says
// on stderr whom it waits for (apply's lock-wait words), then fails with `lock-timeout` naming that session and
// pg_terminate_backend; load-chunks loads nothing. Stopped by Ctrl-C while waiting, none leaves its server
// session behind. The lock is real, held by a session of the test; nothing is mocked.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import { DEFAULT_MIGRATIONS_DIR, applyRelease, defaultReleaseSteps } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { backends, startCli, waitForBackendsGone, waitUntil } from "../support/kill-points";
import { chunkFileDir, writeChunkFile } from "../seeds/chunk-files";

const DATASET = "locked-dataset";

/** A session of its own that holds a lock until released; `pid` is what the errors must name. */
async function holdLock(url: string, sql: string, params: unknown[] = []) {
  const client = new Client({ connectionString: url, application_name: "lock-holder-of-the-test" });
  await client.connect();
  const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
  await client.query("BEGIN");
  await client.query(sql, params);
  return {
    pid,
    release: async () => {
      await client.query("ROLLBACK").catch(() => {});
      await client.end().catch(() => {});
    },
  };
}

describe("a command behind another session's lock", () => {
  const db = useTestDatabase("waits");
  let chunkFile: string;
  let held: { pid: number; release: () => Promise<void> } | undefined;
  const env = () => ({ DATABASE_URL: db.current.url });
  const count = (sql: string) =>
    withClient(db.current.url, async (c) => (await c.query<{ n: number }>(sql, [DATASET])).rows[0]!.n);

  beforeAll(async () => {
    await applyRelease({
      databaseUrl: db.current.url,
      migrationsDir: DEFAULT_MIGRATIONS_DIR,
      steps: defaultReleaseSteps({ seedSets: ["demo"] }),
    });
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "Dataset" (id, "organizationId", name, slug, kind) VALUES ($1, 'demo-org', $1, $1, 'documents')`,
        [DATASET],
      ),
    );
    chunkFile = writeChunkFile(chunkFileDir(), "locked.ndjson", {
      dimension: 3072,
      documents: 2,
      chunksPerDocument: 3,
      prefix: "locked",
    }).file;
  });

  afterEach(async () => {
    await held?.release();
    held = undefined;
  });

  const loadArgs = () => ["load-chunks", "--file", chunkFile, "--dataset", DATASET];
  const commands = (): string[][] => [
    ["status"],
    ["plan"],
    ["verify"],
    ["health"],
    ["prisma-schema"],
    loadArgs(),
  ];

  it("waits --lock-timeout, says whom for, and fails with lock-timeout naming the blocker; nothing loaded", async () => {
    held = await holdLock(db.current.url, 'LOCK TABLE "Chunk" IN ACCESS EXCLUSIVE MODE');
    const { pid } = held;
    const runs = commands().map((args) => startCli([...args, "--json", "--lock-timeout", "5"], env()));
    const results = await Promise.all(runs.map((r) => r.done));
    for (const [i, result] of results.entries()) {
      const command = commands()[i]![0]!;
      const context = `${command}\n${result.stderr}`;
      expect(result.code, context).toBe(1);
      const { error } = JSON.parse(result.stdout) as {
        error: { code: string; message: string; fix: string };
      };
      expect(error.code, context).toBe("lock-timeout");
      expect(error.message, context).toContain(`${command} gave up waiting for a lock after 5 s`);
      expect(error.message, context).toContain(
        `on "Chunk", blocked by pid ${pid} (holding AccessExclusiveLock`,
      );
      expect(error.message, context).toContain('application "lock-holder-of-the-test"');
      expect(error.fix, context).toContain(`SELECT pg_terminate_backend(${pid})`);
      expect(error.fix, context).toContain("raise --lock-timeout");
      expect(result.stderr, context).toMatch(
        new RegExp(`\\[neonhub-db\\] ${command}: waiting \\d+ s for \\w+ on "Chunk", blocked by pid ${pid} `),
      );
    }
    const loadError = JSON.parse(results.at(-1)!.stdout) as { error: { fix: string } };
    expect(loadError.error.fix).toContain("Nothing was loaded");
    await held.release();
    expect(await count('SELECT count(*)::int AS n FROM "Chunk" WHERE "datasetId" = $1')).toBe(0);
    expect(await count('SELECT count(*)::int AS n FROM "Document" WHERE "datasetId" = $1')).toBe(0);
  });

  it("bounded at 1 s, the shortest bound, still names the blocker (its watcher starts at a quarter of the bound)", async () => {
    held = await holdLock(db.current.url, 'LOCK TABLE "Chunk" IN ACCESS EXCLUSIVE MODE');
    const result = await startCli(["status", "--json", "--lock-timeout", "1"], env()).done;
    expect(result.code, result.stderr).toBe(1);
    const { error } = JSON.parse(result.stdout) as { error: { code: string; message: string; fix: string } };
    expect(error.code).toBe("lock-timeout");
    expect(error.message).toContain(`status gave up waiting for a lock after 1 s`);
    expect(error.message).toContain(`on "Chunk", blocked by pid ${held.pid} (holding AccessExclusiveLock`);
    expect(error.fix).toContain(`SELECT pg_terminate_backend(${held.pid})`);
  });

  it("load-chunks behind a row lock on its dataset says so and loads nothing", async () => {
    held = await holdLock(db.current.url, 'SELECT 1 FROM "Dataset" WHERE id = $1 FOR UPDATE', [DATASET]);
    const result = await startCli([...loadArgs(), "--lock-timeout", "5"], env()).done;
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`\\[neonhub-db\\] load-chunks: waiting \\d+ s for \\w+ on .*, blocked by pid ${held.pid} `),
    );
    expect(result.stderr).toContain("load-chunks gave up waiting for a lock after 5 s");
    expect(result.stderr).toContain(`SELECT pg_terminate_backend(${held.pid})`);
    expect(await count('SELECT count(*)::int AS n FROM "Chunk" WHERE "datasetId" = $1')).toBe(0);
  });

  it("stopped by Ctrl-C while it waits, no command leaves its server session behind", async () => {
    held = await holdLock(db.current.url, 'LOCK TABLE "Chunk" IN ACCESS EXCLUSIVE MODE');
    const runs = commands().map((args) => startCli(args, env()));
    await withClient(db.current.url, async (admin) => {
      const applications = commands().map(([command]) => `neonhub-db:${command}`);
      await waitUntil(
        "every command to wait for the lock",
        async () => {
          const waiting = (await backends(admin, db.current.name)).filter((b) => b.waitEventType === "Lock");
          return waiting.length === applications.length;
        },
        { timeoutMs: 30_000 },
      );
      for (const run of runs) run.child.kill("SIGINT");
      for (const result of await Promise.all(runs.map((r) => r.done))) {
        expect(result.signal, result.stderr).toBe("SIGINT");
      }
      // The lock is still held: a session left in its queue would stay there.
      await waitForBackendsGone(admin, db.current.name, 10_000);
    });
  });
});
