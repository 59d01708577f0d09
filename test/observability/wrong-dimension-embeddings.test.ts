// Embeddings of another number of dimensions than their embedding space: corruption the dimension trigger
// refuses, written here with the trigger disabled (test/vector-indexes/wrong-dimension.test.ts writes them so
// too). apply names them once a calibration has failed on them; health names them beforehand, in every space:
// each table's rows (how many, the first ids) and the fix, as an action (exit 2), by the condition apply's
// error uses; once the fix's UPDATE has run, nothing is left to report. A row of the right dimension is never
// named, whichever space it is in.
import { Client } from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  applyRelease,
  checkHealth,
  readRefusedEmbeddings,
  refusedEmbeddingFindings,
  wrongDimensionRepairSql,
  wrongDimensionRowsSql,
  type HealthFinding,
  type HealthReport,
} from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import {
  clusteredVectors,
  copyChunks,
  copyMessages,
  createFixtures,
  withoutDimensionTrigger,
  type EmbeddingFixtures,
} from "../vector-indexes/data";
import { CHUNK, MESSAGE, releaseOptions } from "../vector-indexes/support";

const DIM = 8;
const SMALL = 4;
const vectorOf = (dims: number) => `[${Array.from({ length: dims }, (_, k) => k + 1).join(",")}]`;
/** Seven chunks of 3 dimensions in the 8-dimension space, and one of 8 in the 4-dimension space. */
const SHORT_CHUNKS = [3, 5, 8, 13, 21, 24, 27].map((i) => `chunk-${DIM}-${i}`);
const LONG_CHUNK = `chunk-${SMALL}-100`;
const WRONG_CHUNKS = [...SHORT_CHUNKS, LONG_CHUNK].sort();
const WRONG_MESSAGE = `message-${DIM}-2`;

const wrongFinding = (report: HealthReport, subject: string): HealthFinding | undefined =>
  report.findings.find((f) => f.subject === subject && /another number of dimensions/.test(f.problem));

describe("health: embeddings of another dimension than their embedding space", () => {
  const db = useTestDatabase("wrongdim");
  const url = () => db.current.url;
  let fixtures: EmbeddingFixtures;

  beforeAll(async () => {
    await applyRelease({ ...releaseOptions(url()), migrationsDir: DEFAULT_MIGRATIONS_DIR });
    await withClient(url(), async (c) => {
      fixtures = await createFixtures(c, [DIM, SMALL]);
      const source = clusteredVectors({ dimension: DIM, clusters: 3, spread: 0.5, seed: 5 });
      const small = clusteredVectors({ dimension: SMALL, clusters: 2, spread: 0.5, seed: 6 });
      await copyChunks(c, fixtures, { dimension: DIM, count: 30, source });
      await copyChunks(c, fixtures, { dimension: SMALL, count: 10, source: small, firstIdx: 100 });
      await copyMessages(c, fixtures, { dimension: DIM, count: 5, source });
    });
  });

  it("a clean database reports none", async () => {
    const report = await checkHealth({ databaseUrl: url() });
    expect(report.wrongDimensionEmbeddings).toEqual([
      { table: "Chunk", state: "checked", rows: 0, ids: [] },
      { table: "Message", state: "checked", rows: 0, ids: [] },
      { table: "BrandVoice", state: "checked", rows: 0, ids: [] },
    ]);
    expect(report.findings.filter((f) => /another number of dimensions/.test(f.problem))).toEqual([]);
  });

  it("names each table's rows, how many and the first ids, with the fix, as an action", async () => {
    await withClient(url(), async (c) => {
      await withoutDimensionTrigger(c, "Chunk", async () => {
        await c.query(`UPDATE "Chunk" SET "embedding" = $1::vector WHERE "id" = ANY($2)`, [
          vectorOf(3),
          SHORT_CHUNKS,
        ]);
        // Of the dimension of another space, the 8-dimension one: still not its own space's.
        await c.query(`UPDATE "Chunk" SET "embedding" = $1::vector WHERE "id" = $2`, [
          vectorOf(DIM),
          LONG_CHUNK,
        ]);
      });
      await withoutDimensionTrigger(c, "Message", () =>
        c.query(`UPDATE "Message" SET "embedding" = $1::vector WHERE "id" = $2`, [
          vectorOf(12),
          WRONG_MESSAGE,
        ]),
      );
    });
    const report = await checkHealth({ databaseUrl: url() });
    expect(report.healthy).toBe(false);
    expect(report.wrongDimensionEmbeddings).toEqual([
      { table: "Chunk", state: "checked", rows: 8, ids: WRONG_CHUNKS.slice(0, 5) },
      { table: "Message", state: "checked", rows: 1, ids: [WRONG_MESSAGE] },
      { table: "BrandVoice", state: "checked", rows: 0, ids: [] },
    ]);
    const chunk = wrongFinding(report, "Chunk");
    expect(chunk?.severity).toBe("action");
    expect(chunk?.problem).toContain(
      `8 rows whose embedding has another number of dimensions than their embedding space (${WRONG_CHUNKS.slice(
        0,
        5,
      )
        .map((id) => `"${id}"`)
        .join(", ")} and 3 more): the trigger check_embedding_dimension refuses such rows`,
    );
    expect(chunk?.action).toContain(`list them with: ${wrongDimensionRowsSql(CHUNK)};`);
    expect(chunk?.action).toContain(`(${wrongDimensionRepairSql(CHUNK).clear})`);
    expect(chunk?.action).toContain(`(${wrongDimensionRepairSql(CHUNK).remove})`);
    expect(chunk?.action).toContain(`ALTER TABLE "Chunk" ENABLE TRIGGER check_embedding_dimension`);
    expect(wrongFinding(report, "Message")?.problem).toContain(
      `1 row whose embedding has another number of dimensions than its embedding space ("${WRONG_MESSAGE}")`,
    );
    expect(wrongFinding(report, "BrandVoice")).toBeUndefined();
    // The query the fix gives lists them all, with their dimensions and space.
    await withClient(url(), async (c) => {
      const listed = await c.query<{ id: string; dimensions: number; space: string }>(
        wrongDimensionRowsSql(CHUNK),
      );
      expect(listed.rows.map((r) => r.id)).toEqual(WRONG_CHUNKS);
      expect(listed.rows.find((r) => r.id === LONG_CHUNK)).toEqual({
        id: LONG_CHUNK,
        dimensions: DIM,
        space: fixtures.spaces.get(SMALL),
      });
    });
  });

  it("the CLI shows it under what needs action, and --json in wrongDimensionEmbeddings and findings", async () => {
    const plain = await runCli(["health"], { DATABASE_URL: url() });
    expect(plain.code).toBe(2);
    expect(plain.stdout).toContain(
      '  - "Chunk": 8 rows whose embedding has another number of dimensions than their embedding space',
    );
    expect(plain.stdout).toContain(`    do: list them with: ${wrongDimensionRowsSql(CHUNK)};`);
    const json = await runCli(["health", "--json"], { DATABASE_URL: url() });
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as HealthReport;
    expect(report.wrongDimensionEmbeddings.map((w) => [w.table, w.rows])).toEqual([
      ["Chunk", 8],
      ["Message", 1],
      ["BrandVoice", 0],
    ]);
    expect(wrongFinding(report, "Message")?.severity).toBe("action");
  });

  it("a lock that outlasts the look's time limit is a note naming the table, with the query", async () => {
    const holder = new Client({ connectionString: url() });
    await holder.connect();
    const client = new Client({ connectionString: url() });
    await client.connect();
    try {
      await holder.query(`BEGIN; LOCK TABLE "Message" IN ACCESS EXCLUSIVE MODE`);
      await client.query("BEGIN TRANSACTION READ ONLY");
      const readings = await readRefusedEmbeddings(client, 200);
      expect(readings.wrongDimensionEmbeddings.map((r) => [r.table, r.state, r.rows])).toEqual([
        ["Chunk", "checked", 8],
        ["Message", "locked", null],
        ["BrandVoice", "checked", 0],
      ]);
      const [note] = refusedEmbeddingFindings(readings, 200).filter((f) => f.subject === "Message");
      expect(note).toMatchObject({
        severity: "info",
        subject: "Message",
        problem:
          "not checked for zero-vector embeddings, embeddings of another dimension than their embedding space and embeddings a halfvec index holds as the zero vector: " +
          'another session held a lock on "Message" longer than the look waits (--lock-timeout, or its own 0.2 s when shorter)',
      });
      // The query to run instead looks at every space, as the scan does.
      expect(note!.action).toMatch(
        /^run `neonhub-db health` again once the lock is released \(the cluster section lists sessions waiting on locks\), or this query: SELECT x\."id", .* FROM "Message" x LEFT JOIN "EmbeddingSpace" s /,
      );
      // With a printer (the CLI's), the health to run again is printed as the other actions print it.
      const print = (args: readonly string[]) => `\`printed ${args.join(" ")}\``;
      const [printed] = refusedEmbeddingFindings(readings, 200, undefined, print).filter(
        (f) => f.subject === "Message",
      );
      expect(printed!.action).toMatch(/^run `printed health` again once the lock is released /);
      await client.query("ROLLBACK");
    } finally {
      await holder.query("ROLLBACK").catch(() => {});
      await holder.end();
      await client.end();
    }
  });

  it("after the fix's UPDATE nothing is left, and the trigger refuses a new one", async () => {
    await withClient(url(), async (c) => {
      for (const table of [CHUNK, MESSAGE]) await c.query(wrongDimensionRepairSql(table).clear);
    });
    const after = await checkHealth({ databaseUrl: url() });
    expect(after.wrongDimensionEmbeddings.map((w) => w.rows)).toEqual([0, 0, 0]);
    expect(after.findings.filter((f) => /another number of dimensions/.test(f.problem))).toEqual([]);
    await withClient(url(), async (c) => {
      const cleared = await c.query<{ id: string }>(
        `SELECT "id" FROM "Chunk" WHERE "embedding" IS NULL ORDER BY "id"`,
      );
      expect(cleared.rows.map((r) => r.id)).toEqual(WRONG_CHUNKS);
      await expect(
        c.query(`UPDATE "Chunk" SET "embedding" = $1::vector WHERE "id" = $2`, [
          vectorOf(3),
          SHORT_CHUNKS[0],
        ]),
      ).rejects.toThrow(/dimension/);
    });
  });
});
