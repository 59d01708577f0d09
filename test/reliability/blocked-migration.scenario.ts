// A migration blocked by an app transaction, with app traffic running: the outage a schema release most often
// causes. Four app connections read and write "Chunk" and "Message" while one app transaction holds a read
// lock on "Chunk" and `neonhub-db apply` runs a new `ALTER TABLE "Chunk"`. Measured three ways:
// - today's behaviour (no lock_timeout): every app statement on "Chunk" queues behind the waiting ALTER for as
//   long as the holder stays;
// - with the migration lock timeout: app latency stays within the lock timeout plus a margin, the migration is
//   retried and succeeds once the holder is gone;
// - a holder that never goes: apply fails after its retries naming it, and nothing of the migration is applied.
import { rmSync } from "node:fs";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, percentile } from "../../core";
import { runCli, type CliRun } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { writeMigration } from "../support/fixtures";
import { migrationsCopy } from "../support/kill-points";
import { writeAppData } from "./support/app-data";

const APP_CONNECTIONS = 4;
const LOCK_TIMEOUT_S = 1;
/** Scheduling, retries' backoff and a busy 2-core machine: generous, the unbounded wait is many times it. */
const MARGIN_MS = 2_000;
const HOLD_MS = 6_000;
const SHAPE = {
  organizations: 2,
  chunksPerOrganization: 25,
  messagesPerOrganization: 25,
  metricsPerOrganization: 0,
};

interface Latencies {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** App traffic: each connection loops over reads and writes of "Chunk" and "Message" until stopped. */
async function startAppTraffic(url: string): Promise<{ stop: () => Promise<Latencies> }> {
  const samples: number[] = [];
  let running = true;
  const clients = await Promise.all(
    Array.from({ length: APP_CONNECTIONS }, async () => {
      const client = new Client({ connectionString: url, application_name: "neonhub-app" });
      await client.connect();
      return client;
    }),
  );
  const loops = clients.map(async (client, worker) => {
    for (let i = 0; running; i++) {
      const org = `rel-org-${(worker + i) % SHAPE.organizations}`;
      const n = i % SHAPE.chunksPerOrganization;
      const statements: [string, unknown[]][] = [
        [`SELECT id, "text" FROM "Chunk" WHERE id = $1`, [`${org}-chunk-${n}`]],
        [
          `UPDATE "Message" SET "contentJson" = $2 WHERE id = $1`,
          [`${org}-message-${n}`, { text: `edit ${i}` }],
        ],
        [`UPDATE "Chunk" SET metadata = $2 WHERE id = $1`, [`${org}-chunk-${n}`, { edit: i }]],
        [`SELECT count(*) FROM "Message" WHERE "conversationId" = $1`, [`${org}-conversation`]],
      ];
      for (const [sql, params] of statements) {
        const started = performance.now();
        await client.query(sql, params);
        samples.push(performance.now() - started);
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      await Promise.all(clients.map((c) => c.end()));
      const round = (ms: number) => Math.round(ms * 10) / 10;
      return {
        count: samples.length,
        p50Ms: round(percentile(samples, 50)),
        p99Ms: round(percentile(samples, 99)),
        maxMs: round(Math.max(...samples)),
      };
    },
  };
}

/** An app transaction holding a plain read lock on "Chunk" (a report that never commits, an idle session). */
async function holdReadLock(url: string): Promise<{ pid: number; release: () => Promise<void> }> {
  const client = new Client({ connectionString: url, application_name: "app-nightly-report" });
  await client.connect();
  await client.query("BEGIN");
  await client.query(`SELECT count(*) FROM "Chunk"`);
  const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
  let released = false;
  return {
    pid,
    release: async () => {
      if (released) return;
      released = true;
      await client.query("ROLLBACK");
      await client.end();
    },
  };
}

/**
 * Resolves `seen` with true once an ALTER of "Chunk" waits for its lock (polled every 50 ms), with false when
 * stopped first.
 */
function watchMigrationWait(url: string): { seen: Promise<boolean>; stop: () => Promise<void> } {
  let stopped = false;
  const seen = withClient(url, async (c) => {
    while (!stopped) {
      const waiting = await c.query(
        `SELECT 1 FROM pg_locks WHERE relation = '"Chunk"'::regclass AND mode = 'AccessExclusiveLock' AND NOT granted`,
      );
      if (waiting.rowCount) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  });
  return {
    seen,
    stop: async () => {
      stopped = true;
      await seen;
    },
  };
}

async function chunkColumns(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const rows = await c.query<{ attname: string }>(
      `SELECT attname FROM pg_attribute WHERE attrelid = '"Chunk"'::regclass AND attnum > 0 AND NOT attisdropped`,
    );
    return rows.rows.map((r) => r.attname);
  });
}

async function ledgerCount(url: string): Promise<number> {
  return withClient(url, async (c) => {
    const rows = await c.query<{ n: number }>("SELECT count(*)::int AS n FROM neonhub_release.migrations");
    return rows.rows[0]!.n;
  });
}

function report(label: string, latencies: Latencies): void {
  console.log(
    `[blocked migration] ${label}: ${latencies.count} app statements, p50 ${latencies.p50Ms} ms, p99 ${latencies.p99Ms} ms, max ${latencies.maxMs} ms`,
  );
}

describe("a migration blocked by an app transaction, under app traffic", () => {
  const db = useTestDatabase("blocked");
  const dir = migrationsCopy(DEFAULT_MIGRATIONS_DIR);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    const run = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(run.code, run.stderr).toBe(0);
    // The admin writes both: this scenario is about the migration the rows block, not about the app's rights.
    await withClient(db.current.url, (c) => writeAppData(c, SHAPE, c));
  });

  /**
   * Runs apply with `args` while the app runs and a holder keeps its lock for `holdMs` from when the migration is
   * first seen waiting for it (or for good). Counted from the wait, not from the start: the CLI's start-up took
   * 5 s of a 6 s hold on a loaded machine, and the app then waited 1 s.
   */
  async function blockedApply(
    migration: string,
    args: readonly string[],
    holdMs: number | undefined,
  ): Promise<{ run: CliRun; latencies: Latencies; holderPid: number }> {
    writeMigration(dir, `${migration}.sql`, `ALTER TABLE "Chunk" ADD COLUMN "${migration.slice(15)}" text;`);
    const holder = await holdReadLock(db.current.url);
    const app = await startAppTraffic(db.current.url);
    const waiting = holdMs === undefined ? undefined : watchMigrationWait(db.current.url);
    let timer: NodeJS.Timeout | undefined;
    void waiting?.seen.then((seen) => {
      if (seen) timer = setTimeout(() => void holder.release(), holdMs);
    });
    try {
      const run = await runCli(["apply", "--migrations-dir", dir, ...args], { DATABASE_URL: db.current.url });
      const latencies = await app.stop();
      return { run, latencies, holderPid: holder.pid };
    } finally {
      await waiting?.stop();
      clearTimeout(timer);
      await holder.release();
    }
  }

  it("today's behaviour, no lock timeout: the app waits as long as the holder stays", async () => {
    const { run, latencies } = await blockedApply(
      "20990101000100_note_unbounded",
      ["--migration-lock-timeout", "0"],
      HOLD_MS,
    );
    report(`no lock_timeout, holder released ${HOLD_MS / 1000} s into the wait`, latencies);
    expect(run.code, run.stderr).toBe(0);
    // An app statement on "Chunk" that queued behind the waiting ALTER waited until the holder went.
    expect(latencies.maxMs).toBeGreaterThan(LOCK_TIMEOUT_S * 1000 + MARGIN_MS);
  });

  it(`with a ${LOCK_TIMEOUT_S} s lock timeout: app latency stays bounded; retried, applied once the holder goes`, async () => {
    const { run, latencies } = await blockedApply(
      "20990101000200_note_bounded",
      ["--migration-lock-timeout", String(LOCK_TIMEOUT_S), "--lock-retries", "8"],
      HOLD_MS,
    );
    report(`lock_timeout ${LOCK_TIMEOUT_S} s, holder released ${HOLD_MS / 1000} s into the wait`, latencies);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(
      /gave up waiting for a lock after 1000 ms \(AccessExclusiveLock on "Chunk", blocked by pid \d+ \(holding AccessShareLock; application "app-nightly-report"/,
    );
    expect(run.stderr).toMatch(/attempt [2-9] of 9/);
    expect(latencies.p99Ms).toBeLessThan(LOCK_TIMEOUT_S * 1000 + MARGIN_MS);
    expect(latencies.maxMs).toBeLessThan(LOCK_TIMEOUT_S * 1000 + MARGIN_MS);
    expect(await chunkColumns(db.current.url)).toContain("note_bounded");
  });

  it("a holder that never goes: apply fails after its retries naming it, nothing of the migration applied", async () => {
    const before = await ledgerCount(db.current.url);
    const { run, latencies, holderPid } = await blockedApply(
      "20990101000300_note_never",
      ["--migration-lock-timeout", String(LOCK_TIMEOUT_S), "--lock-retries", "2", "--json"],
      undefined,
    );
    report(`lock_timeout ${LOCK_TIMEOUT_S} s, holder never released, 2 retries`, latencies);
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } };
    expect(error.code).toBe("lock-timeout");
    expect(error.message).toContain("20990101000300_note_never.sql");
    expect(error.message).toContain("in 3 attempt(s)");
    expect(error.message).toContain(
      `pid ${holderPid} (holding AccessShareLock; application "app-nightly-report"`,
    );
    expect(error.message).toContain("idle in transaction");
    expect(error.fix).toContain(`pg_terminate_backend(${holderPid})`);
    // The CLI's words: the apply to run again as printed, carrying the flags it was given, and its flags.
    expect(error.fix).toContain(
      `Run \`neonhub-db apply --migrations-dir ${dir} --migration-lock-timeout ${LOCK_TIMEOUT_S} --lock-retries 2\` again when that session has finished, or raise --migration-lock-timeout / --lock-retries.`,
    );
    expect(latencies.p99Ms).toBeLessThan(LOCK_TIMEOUT_S * 1000 + MARGIN_MS);
    expect(await chunkColumns(db.current.url)).not.toContain("note_never");
    expect(await ledgerCount(db.current.url)).toBe(before);
    rmSync(`${dir}/20990101000300_note_never.sql`);
  });
});
