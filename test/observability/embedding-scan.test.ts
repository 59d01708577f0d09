// Health's scan of each embedded table for the rows the dimension trigger refuses (core/health/embedding-looks.ts):
// one read of the table finds every kind, zero-vector embeddings and embeddings of another dimension than their
// space here (and those a halfvec index holds as the zero vector), a row of two under each. A scan that does not finish is one note for the table, naming the table
// another session's lock was on (the embedded table, or "EmbeddingSpace", which the scan joins), or saying that
// the scan ran past its time limit, with one query that lists the rows of every kind.
import { Client } from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  applyRelease,
  checkHealth,
  readRefusedEmbeddings,
  refusedEmbeddingFindings,
  type HealthFinding,
} from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { waitUntil } from "../support/kill-points";
import {
  clusteredVectors,
  copyChunks,
  copyMessages,
  createFixtures,
  withoutDimensionTrigger,
} from "../vector-indexes/data";
import { releaseOptions } from "../vector-indexes/support";

const DIM = 8;
const zeros = (dims: number) => `[${Array(dims).fill(0).join(",")}]`;
const ones = (dims: number) => `[${Array(dims).fill(1).join(",")}]`;
/** In the 8-dimension space: a zero vector, a vector of 3 dimensions, and a zero vector of 3 dimensions. */
const ZERO_CHUNK = `chunk-${DIM}-3`;
const SHORT_CHUNK = `chunk-${DIM}-5`;
const SHORT_ZERO_CHUNK = `chunk-${DIM}-8`;
const ZERO_MESSAGE = `message-${DIM}-2`;
const TABLES = ["Chunk", "Message", "BrandVoice"];

/**
 * Scans (sequential and by index) of each embedded table so far, as the statistics have them, once no other
 * client session of the database is left: a session that has ended its connection reports its statistics as
 * its process exits, and leaves pg_stat_activity only after that (the fixtures' updates scan by index).
 */
async function scansOf(url: string): Promise<Record<string, number>> {
  return withClient(url, async (c) => {
    await waitUntil("the database's other sessions to end", async () => {
      const others = await c.query(
        `SELECT 1 FROM pg_stat_activity
          WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
      );
      return others.rowCount === 0;
    });
    const { rows } = await c.query<{ table: string; scans: string }>(
      `SELECT relname AS table, coalesce(seq_scan, 0) + coalesce(idx_scan, 0) AS scans
         FROM pg_stat_user_tables WHERE schemaname = 'public' AND relname = ANY($1)`,
      [TABLES],
    );
    return Object.fromEntries(rows.map((r) => [r.table, Number(r.scans)]));
  });
}

/** Runs `fn` on a client in a read-only transaction, as health does, beside a session that holds `lock`. */
async function whileLocked<T>(
  url: string,
  lock: string,
  fn: (client: Client) => Promise<T>,
  sessionSql = "SELECT 1",
): Promise<T> {
  const holder = new Client({ connectionString: url });
  await holder.connect();
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await holder.query(`BEGIN; ${lock}`);
    await client.query(sessionSql);
    await client.query("BEGIN TRANSACTION READ ONLY");
    const result = await fn(client);
    // The transaction goes on, without the scan's time limit.
    const timeout = await client.query<{ statement_timeout: string }>("SHOW statement_timeout");
    expect(timeout.rows[0]!.statement_timeout).toBe("0");
    await client.query("ROLLBACK");
    return result;
  } finally {
    await holder.query("ROLLBACK").catch(() => {});
    await holder.end();
    await client.end();
  }
}

const noteOf = (findings: readonly HealthFinding[], subject: string) =>
  findings.find((f) => f.subject === subject && f.severity === "info");

describe("health: one scan of each embedded table for the rows the dimension trigger refuses", () => {
  const db = useTestDatabase("embscan");
  const url = () => db.current.url;

  beforeAll(async () => {
    await applyRelease({ ...releaseOptions(url()), migrationsDir: DEFAULT_MIGRATIONS_DIR });
    await withClient(url(), async (c) => {
      const fixtures = await createFixtures(c, [DIM]);
      const source = clusteredVectors({ dimension: DIM, clusters: 3, spread: 0.5, seed: 5 });
      await copyChunks(c, fixtures, { dimension: DIM, count: 30, source });
      await copyMessages(c, fixtures, { dimension: DIM, count: 5, source });
      await withoutDimensionTrigger(c, "Chunk", async () => {
        const set = `UPDATE "Chunk" SET "embedding" = $1::vector WHERE "id" = $2`;
        await c.query(set, [zeros(DIM), ZERO_CHUNK]);
        await c.query(set, [ones(3), SHORT_CHUNK]);
        await c.query(set, [zeros(3), SHORT_ZERO_CHUNK]);
      });
      await withoutDimensionTrigger(c, "Message", () =>
        c.query(`UPDATE "Message" SET "embedding" = $1::vector WHERE "id" = $2`, [zeros(DIM), ZERO_MESSAGE]),
      );
    });
  });

  it("reads each table once for both kinds, and names a row that is both under each", async () => {
    const before = await scansOf(url());
    const readings = await withClient(url(), async (c) => {
      await c.query("BEGIN TRANSACTION READ ONLY");
      const read = await readRefusedEmbeddings(c, 60_000);
      // The session's statistics reach the shared ones when it goes idle, before the ROLLBACK returns.
      await c.query("SELECT pg_stat_force_next_flush()");
      await c.query("ROLLBACK");
      return read;
    });
    const after = await scansOf(url());
    expect(Object.fromEntries(TABLES.map((t) => [t, after[t]! - before[t]!]))).toEqual({
      Chunk: 1,
      Message: 1,
      BrandVoice: 1,
    });
    expect(readings).toEqual({
      zeroEmbeddings: [
        { table: "Chunk", state: "checked", rows: 2, ids: [ZERO_CHUNK, SHORT_ZERO_CHUNK] },
        { table: "Message", state: "checked", rows: 1, ids: [ZERO_MESSAGE] },
        { table: "BrandVoice", state: "checked", rows: 0, ids: [] },
      ],
      wrongDimensionEmbeddings: [
        { table: "Chunk", state: "checked", rows: 2, ids: [SHORT_CHUNK, SHORT_ZERO_CHUNK] },
        { table: "Message", state: "checked", rows: 0, ids: [] },
        { table: "BrandVoice", state: "checked", rows: 0, ids: [] },
      ],
      belowHalfvecEmbeddings: [
        { table: "Chunk", state: "checked", rows: 0, ids: [] },
        { table: "Message", state: "checked", rows: 0, ids: [] },
        { table: "BrandVoice", state: "checked", rows: 0, ids: [] },
      ],
    });
    const findings = refusedEmbeddingFindings(readings, 60_000);
    expect(findings.map((f) => [f.severity, f.subject, f.problem.slice(0, f.problem.indexOf(" ("))])).toEqual(
      [
        ["action", "Chunk", "2 rows whose embedding is the zero vector"],
        ["action", "Message", "1 row whose embedding is the zero vector"],
        [
          "action",
          "Chunk",
          "2 rows whose embedding has another number of dimensions than their embedding space",
        ],
      ],
    );
  });

  it('a lock on "EmbeddingSpace" is named as such, in one note per table', async () => {
    const readings = await whileLocked(
      url(),
      `LOCK TABLE "EmbeddingSpace" IN ACCESS EXCLUSIVE MODE`,
      (client) => readRefusedEmbeddings(client, 60_000),
      "SET lock_timeout = 200",
    );
    for (const kind of [
      readings.zeroEmbeddings,
      readings.wrongDimensionEmbeddings,
      readings.belowHalfvecEmbeddings,
    ]) {
      expect(kind.map((r) => [r.table, r.state, r.rows, r.lockedTable])).toEqual(
        TABLES.map((t) => [t, "locked", null, "EmbeddingSpace"]),
      );
    }
    const findings = refusedEmbeddingFindings(readings, 60_000);
    expect(findings.map((f) => [f.severity, f.subject])).toEqual(TABLES.map((t) => ["info", t]));
    expect(noteOf(findings, "Chunk")!.problem).toBe(
      "not checked for zero-vector embeddings, embeddings of another dimension than their embedding space and embeddings a halfvec index holds as the zero vector: " +
        `another session held a lock on "EmbeddingSpace" (the look reads each row's space there) longer than ` +
        "the look waits (--lock-timeout, or its own 60 s when shorter)",
    );
  });

  it("a lock on the table that outlasts the time limit is named on the table, and the report goes on", async () => {
    // "BrandVoice" is the one table health's earlier readings do not lock: its scan is the first to wait.
    const holder = new Client({ connectionString: url() });
    await holder.connect();
    try {
      await holder.query(`BEGIN; LOCK TABLE "BrandVoice" IN ACCESS EXCLUSIVE MODE`);
      const report = await checkHealth({ databaseUrl: url(), limits: { embeddingScanMs: 300 } });
      expect(report.zeroEmbeddings.map((r) => [r.table, r.state, r.rows, r.lockedTable])).toEqual([
        ["Chunk", "checked", 2, undefined],
        ["Message", "checked", 1, undefined],
        ["BrandVoice", "locked", null, "BrandVoice"],
      ]);
      expect(report.wrongDimensionEmbeddings.map((r) => [r.table, r.state])).toEqual([
        ["Chunk", "checked"],
        ["Message", "checked"],
        ["BrandVoice", "locked"],
      ]);
      expect(noteOf(report.findings, "BrandVoice")!.problem).toContain(
        'another session held a lock on "BrandVoice" longer than the look waits (--lock-timeout, or its own 0.3 s when shorter)',
      );
    } finally {
      await holder.query("ROLLBACK").catch(() => {});
      await holder.end();
    }
  });

  it("a scan that runs past its time limit is a note with one query that lists every kind", async () => {
    // REINDEX holds its index against every query that plans on the table (the planner locks all its
    // indexes) while the table's own lock lets readers in: the scan starts, and waits until its limit.
    const reindex = `REINDEX INDEX "Chunk_embeddingSpaceId_idx"`;
    const readings = await whileLocked(url(), reindex, (client) => readRefusedEmbeddings(client, 300));
    expect(readings.zeroEmbeddings.map((r) => [r.table, r.state, r.rows])).toEqual([
      ["Chunk", "timed-out", null],
      ["Message", "checked", 1],
      ["BrandVoice", "checked", 0],
    ]);
    const note = noteOf(refusedEmbeddingFindings(readings, 300), "Chunk")!;
    expect(note.problem).toBe(
      "looking for zero-vector embeddings, embeddings of another dimension than their embedding space and embeddings a halfvec index holds as the zero vector took " +
        "over 0.3 s and was stopped (it reads every embedded row)",
    );
    expect(note.action).toMatch(/^run it off-peak: SELECT /);
    // The query lists each row with what is wrong with it.
    const query = note.action.slice("run it off-peak: ".length);
    const listed = await withClient(url(), (c) => c.query(query));
    expect(listed.rows).toEqual([
      { id: ZERO_CHUNK, zeroVector: true, wrongDimension: false, belowHalfvec: false },
      { id: SHORT_CHUNK, zeroVector: false, wrongDimension: true, belowHalfvec: false },
      { id: SHORT_ZERO_CHUNK, zeroVector: true, wrongDimension: true, belowHalfvec: false },
    ]);

    // Past --lock-timeout instead, the wait is named as one for an index, not the table.
    const locked = await whileLocked(
      url(),
      reindex,
      (client) => readRefusedEmbeddings(client, 60_000),
      "SET lock_timeout = 200",
    );
    expect(locked.wrongDimensionEmbeddings[0]).toEqual({
      table: "Chunk",
      state: "locked",
      rows: null,
      ids: [],
    });
    expect(noteOf(refusedEmbeddingFindings(locked, 60_000), "Chunk")!.problem).toContain(
      'another session held a lock on an index of "Chunk" or of "EmbeddingSpace" (the look reads both tables)',
    );
  });
});
