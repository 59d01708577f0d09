// Embeddings that are the zero vector, stored before migration 20261205060100 made the dimension trigger refuse
// them, as an existing database has them: health names each table's rows (how many, the first ids) and the fix,
// as an action (exit 2); once the fix's UPDATE has run, nothing is left to report. The look reads every
// embedded row, so it runs under a time limit of its own: a lock that outlasts it is a note naming the locked
// table, and the rest of the report is read all the same (embedding-scan.test.ts: the scan itself).
import { Client } from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  applyRelease,
  checkHealth,
  readRefusedEmbeddings,
  refusedEmbeddingFindings,
  type HealthFinding,
  type HealthReport,
} from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { clusteredVectors, copyChunks, copyMessages, createFixtures } from "../vector-indexes/data";
import { applyMigrationsBefore, releaseOptions } from "../vector-indexes/support";

const DIM = 8;
const ZERO = `[${Array(DIM).fill(0).join(",")}]`;
/** Seven chunks, more than a finding lists by id; one message. */
const ZERO_CHUNKS = [3, 5, 8, 13, 21, 34, 40].map((i) => `chunk-${DIM}-${i}`);
const ZERO_MESSAGE = `message-${DIM}-2`;

const zeroFinding = (report: HealthReport, subject: string): HealthFinding | undefined =>
  report.findings.find((f) => f.subject === subject && /zero-vector|zero vector/.test(f.problem));

describe("embeddings stored as the zero vector before the trigger refused them", () => {
  const db = useTestDatabase("zeroemb");
  const url = () => db.current.url;

  beforeAll(async () => {
    await applyMigrationsBefore(url(), "20261205060100");
    await withClient(url(), async (c) => {
      const fixtures = await createFixtures(c, [DIM]);
      const source = clusteredVectors({ dimension: DIM, clusters: 3, spread: 0.5, seed: 5 });
      await copyChunks(c, fixtures, { dimension: DIM, count: 50, source });
      await copyMessages(c, fixtures, { dimension: DIM, count: 5, source });
      // The dimension trigger of that release checks the dimension only: these are stored.
      await c.query(`UPDATE "Chunk" SET "embedding" = $1::vector WHERE "id" = ANY($2)`, [ZERO, ZERO_CHUNKS]);
      await c.query(`UPDATE "Message" SET "embedding" = $1::vector WHERE "id" = $2`, [ZERO, ZERO_MESSAGE]);
    });
    await applyRelease({ ...releaseOptions(url()), migrationsDir: DEFAULT_MIGRATIONS_DIR });
  });

  it("health names each table's rows, how many and the first ids, with the fix, as an action", async () => {
    const report = await checkHealth({ databaseUrl: url() });
    expect(report.healthy).toBe(false);
    expect(report.zeroEmbeddings).toEqual([
      { table: "Chunk", state: "checked", rows: 7, ids: [...ZERO_CHUNKS].sort().slice(0, 5) },
      { table: "Message", state: "checked", rows: 1, ids: [ZERO_MESSAGE] },
      { table: "BrandVoice", state: "checked", rows: 0, ids: [] },
    ]);
    const chunk = zeroFinding(report, "Chunk");
    expect(chunk?.severity).toBe("action");
    expect(chunk?.problem).toContain(
      `7 rows whose embedding is the zero vector (${[...ZERO_CHUNKS]
        .sort()
        .slice(0, 5)
        .map((id) => `"${id}"`)
        .join(", ")} and 2 more): stored before migration 20261205060100 refused it`,
    );
    expect(chunk?.action).toBe(
      `set the embedding to NULL so that the app embeds them again: ` +
        `UPDATE "Chunk" SET "embedding" = NULL WHERE "embedding" IS NOT NULL AND vector_norm("embedding") = 0; ` +
        `or delete them: DELETE FROM "Chunk" WHERE "embedding" IS NOT NULL AND vector_norm("embedding") = 0`,
    );
    expect(zeroFinding(report, "Message")?.problem).toContain(
      `1 row whose embedding is the zero vector ("${ZERO_MESSAGE}")`,
    );
    expect(zeroFinding(report, "BrandVoice")).toBeUndefined();
  });

  it("the CLI shows it under what needs action, and --json in zeroEmbeddings and findings", async () => {
    const plain = await runCli(["health"], { DATABASE_URL: url() });
    expect(plain.code).toBe(2);
    expect(plain.stdout).toContain('  - "Chunk": 7 rows whose embedding is the zero vector');
    expect(plain.stdout).toContain(
      '    do: set the embedding to NULL so that the app embeds them again: UPDATE "Chunk"',
    );
    const json = await runCli(["health", "--json"], { DATABASE_URL: url() });
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as HealthReport;
    expect(report.zeroEmbeddings.map((z) => [z.table, z.rows])).toEqual([
      ["Chunk", 7],
      ["Message", 1],
      ["BrandVoice", 0],
    ]);
    expect(zeroFinding(report, "Chunk")?.severity).toBe("action");
  });

  it("a lock on the table held past the look's time limit is a note naming it, and the report goes on", async () => {
    // A session holding the table's lock keeps the look waiting until its time limit stops it.
    const holder = new Client({ connectionString: url() });
    await holder.connect();
    const client = new Client({ connectionString: url() });
    await client.connect();
    try {
      await holder.query(`BEGIN; LOCK TABLE "Chunk" IN ACCESS EXCLUSIVE MODE`);
      await client.query("BEGIN TRANSACTION READ ONLY");
      const readings = await readRefusedEmbeddings(client, 200);
      expect(readings.zeroEmbeddings.map((r) => [r.table, r.state, r.rows, r.lockedTable])).toEqual([
        ["Chunk", "locked", null, "Chunk"],
        ["Message", "checked", 1, undefined],
        ["BrandVoice", "checked", 0, undefined],
      ]);
      const [note] = refusedEmbeddingFindings(readings, 200).filter((f) => f.subject === "Chunk");
      expect(note).toMatchObject({
        severity: "info",
        problem: expect.stringContaining(
          'another session held a lock on "Chunk" longer than the look waits (--lock-timeout, or its own 0.2 s when shorter)',
        ),
      });
      // The transaction goes on, without the look's timeout.
      const timeout = await client.query<{ statement_timeout: string }>("SHOW statement_timeout");
      expect(timeout.rows[0]!.statement_timeout).toBe("0");
      await client.query("ROLLBACK");
    } finally {
      await holder.query("ROLLBACK").catch(() => {});
      await holder.end();
      await client.end();
    }
  });

  it("a lock held past the session's lock timeout stops that look alone, as a note", async () => {
    const holder = new Client({ connectionString: url() });
    await holder.connect();
    const client = new Client({ connectionString: url() });
    await client.connect();
    try {
      await holder.query(`BEGIN; LOCK TABLE "Message" IN ACCESS EXCLUSIVE MODE`);
      await client.query("SET lock_timeout = 200");
      await client.query("BEGIN TRANSACTION READ ONLY");
      const readings = await readRefusedEmbeddings(client, 60_000);
      expect(readings.zeroEmbeddings.map((r) => [r.table, r.state, r.rows, r.lockedTable])).toEqual([
        ["Chunk", "checked", 7, undefined],
        ["Message", "locked", null, "Message"],
        ["BrandVoice", "checked", 0, undefined],
      ]);
      const [note] = refusedEmbeddingFindings(readings, 60_000).filter((f) => f.subject === "Message");
      expect(note).toMatchObject({
        severity: "info",
        problem: expect.stringContaining(
          'another session held a lock on "Message" longer than the look waits',
        ),
      });
      await client.query("ROLLBACK");
    } finally {
      await holder.query("ROLLBACK").catch(() => {});
      await holder.end();
      await client.end();
    }
  });

  it("after the fix's UPDATE nothing is left, and the trigger refuses a new one", async () => {
    const report = await checkHealth({ databaseUrl: url() });
    await withClient(url(), async (c) => {
      for (const subject of ["Chunk", "Message"]) {
        const action = zeroFinding(report, subject)!.action;
        await c.query(action.slice(action.indexOf("UPDATE"), action.indexOf("; or delete")));
      }
    });
    const after = await checkHealth({ databaseUrl: url() });
    expect(after.zeroEmbeddings.map((z) => z.rows)).toEqual([0, 0, 0]);
    expect(after.findings.filter((f) => /zero vector/.test(f.problem))).toEqual([]);
    await withClient(url(), async (c) => {
      await expect(
        c.query(`UPDATE "Chunk" SET "embedding" = $1::vector WHERE "id" = $2`, [ZERO, ZERO_CHUNKS[0]]),
      ).rejects.toThrow(/the embedding is the zero vector/);
    });
  });
});
