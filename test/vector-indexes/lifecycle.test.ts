// The vector-index step through the whole release, on low-dimension data (what is tested here does not
// depend on the dimension): nothing to build on empty tables, an IVFFlat index with computed lists built
// once rows exist, nothing changed on a second apply, a calibrated setting that the planner uses and that
// reaches the target recall, a rebuild once the table grows past the threshold, one index per dimension,
// HNSW per index built CONCURRENTLY, recalibration without rebuild.
import { beforeAll, describe, expect, it } from "vitest";
import { releaseStatus } from "../../core";
import { readIndexRecords } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { clusteredVectors, copyChunks, copyMessages, createFixtures, type EmbeddingFixtures } from "./data";
import {
  CHUNK,
  MESSAGE,
  apply,
  explainNearest,
  heldOutRecall,
  indexFacts,
  indexNames,
  planIndexes,
  planSettings,
  releaseOptions,
} from "./support";

const DIM = 32;
// Clusters that overlap enough that one probe is not enough.
const source = clusteredVectors({ dimension: DIM, clusters: 100, spread: 1.0, seed: 7 });
const record = async (url: string, name: string) =>
  withClient(url, async (c) => (await readIndexRecords(c)).find((r) => r.name === name));

describe("vector indexes through the release", () => {
  const db = useTestDatabase("vi");
  let fixtures: EmbeddingFixtures;
  const url = () => db.current.url;

  beforeAll(async () => {
    const planned = await planIndexes(url());
    expect(planned.map((p) => [p.name, p.action])).toEqual([
      ["idx_chunk_embedding_cosine", "create"],
      ["idx_message_embedding_cosine", "create"],
    ]);
    await apply(url());
    fixtures = await withClient(url(), (c) => createFixtures(c, [DIM, 16]));
  });

  it("builds nothing while the tables have no embedded rows", async () => {
    const { result } = await apply(url());
    expect(result.vectorIndexes.map((r) => r.action)).toEqual(["unchanged", "unchanged"]);
    const plan = await planIndexes(url());
    expect(plan[0]!.reason).toContain("no embedded rows yet");
    await withClient(url(), async (c) => expect(await indexNames(c, "Chunk", CHUNK.indexName)).toEqual([]));
  });

  it("builds an IVFFlat index with lists from the rows present, on the cosine operator class", async () => {
    await withClient(url(), async (c) => {
      await copyChunks(c, fixtures, { dimension: DIM, count: 5_000, source });
      await copyMessages(c, fixtures, { dimension: DIM, count: 300, source });
    });
    const plan = await planIndexes(url());
    expect(plan.map((p) => p.action)).toEqual(["create", "create"]);
    expect(plan[0]!.reason).toContain("ivfflat lists=50 on 5,000 rows of 32 dimensions");

    const { result, lines } = await apply(url());
    expect(result.vectorIndexes.map((r) => [r.name, r.action])).toEqual([
      ["idx_chunk_embedding_cosine", "create"],
      ["idx_message_embedding_cosine", "create"],
    ]);
    expect(lines.some((l) => l.includes("ivfflat.probes ="))).toBe(true);
    await withClient(url(), async (c) => {
      expect(await indexFacts(c, "idx_chunk_embedding_cosine")).toMatchObject({
        method: "ivfflat",
        operatorClass: "vector_cosine_ops",
        options: ["lists=50"],
        expression: "(embedding::vector(32))",
        predicate: "(vector_dims(embedding) = 32)",
        valid: true,
      });
      expect(await indexFacts(c, "idx_message_embedding_cosine")).toMatchObject({ options: ["lists=3"] });
    });
    const chunk = await record(url(), "idx_chunk_embedding_cosine");
    expect(chunk).toMatchObject({
      table: "Chunk",
      dimension: DIM,
      method: "ivfflat",
      params: { lists: 50 },
      rowsAtBuild: 5_000,
      calibration: { setting: "ivfflat.probes", targetRecall: 0.95, targetReached: true },
    });
    expect(chunk!.calibration.recallLowerBound).toBeGreaterThanOrEqual(0.95);
    expect(chunk!.calibration.value).toBeGreaterThan(1);
    // More than one probe (the clusters overlap), well short of reading every one of the 50 lists.
    expect(chunk!.calibration.value).toBeLessThan(25);

    const status = await releaseStatus(releaseOptions(url()));
    expect(status.vectorIndexes[0]).toMatchObject({
      name: "idx_chunk_embedding_cosine",
      state: "valid",
      lists: 50,
      rowsAtBuild: 5_000,
      searchSetting: `ivfflat.probes = ${chunk!.calibration.value}`,
      query:
        'SELECT "id" FROM "Chunk" WHERE vector_dims("embedding") = 32 ORDER BY ("embedding"::vector(32)) <=> $1::vector(32) LIMIT 10',
    });
  });

  it("changes nothing on a second apply", async () => {
    const before = await withClient(url(), (c) => indexFacts(c, "idx_chunk_embedding_cosine"));
    const recorded = await record(url(), "idx_chunk_embedding_cosine");
    const { result } = await apply(url());
    expect(result.changed).toBe(false);
    expect(result.vectorIndexes.map((r) => r.action)).toEqual(["unchanged", "unchanged"]);
    expect(await withClient(url(), (c) => indexFacts(c, "idx_chunk_embedding_cosine"))).toEqual(before);
    expect(await record(url(), "idx_chunk_embedding_cosine")).toEqual(recorded);
    expect((await planIndexes(url())).every((p) => p.action === "unchanged")).toBe(true);
  });

  it("gives apps a setting with which their query uses the index and reaches the target recall", async () => {
    const { value } = (await record(url(), "idx_chunk_embedding_cosine"))!.calibration;
    const queries = Array.from({ length: 200 }, () => source.next());
    await withClient(url(), async (c) => {
      const plan = await explainNearest(c, CHUNK, DIM, `ivfflat.probes = ${value}`, queries[0]!);
      expect(plan).toContain("Index Scan using idx_chunk_embedding_cosine");
      // Queries that are not rows of the table: the target holds, within sampling error (0.96-0.97 here).
      expect(await heldOutRecall(c, CHUNK, DIM, `ivfflat.probes = ${value}`, queries)).toBeGreaterThanOrEqual(
        0.93,
      );
    });
  });

  it("plans a rebuild once the table has grown past the threshold, and rebuilds under the same name", async () => {
    await withClient(url(), (c) =>
      copyChunks(c, fixtures, { dimension: DIM, count: 4_500, source, firstIdx: 5_000 }),
    );
    // 9,500 rows: lists 50 is within 2x of the target 95, and the calibration (on 5,000) still counts.
    expect((await planIndexes(url()))[0]).toMatchObject({ action: "unchanged" });

    await withClient(url(), (c) =>
      copyChunks(c, fixtures, { dimension: DIM, count: 11_000, source, firstIdx: 9_500 }),
    );
    const plan = await planIndexes(url());
    expect(plan[0]).toMatchObject({ name: "idx_chunk_embedding_cosine", action: "rebuild" });
    expect(plan[0]!.reason).toContain("grew from 5,000 to 20,500 rows");
    expect(plan[0]!.reason).toContain("ivfflat lists=205");

    const before = await withClient(url(), (c) => indexFacts(c, "idx_chunk_embedding_cosine"));
    const { result } = await apply(url());
    expect(result.vectorIndexes.map((r) => r.action)).toEqual(["rebuild", "unchanged"]);
    await withClient(url(), async (c) => {
      const after = await indexFacts(c, "idx_chunk_embedding_cosine");
      expect(after).toMatchObject({ options: ["lists=205"], valid: true });
      expect(after!.oid).not.toBe(before!.oid);
      expect(await indexNames(c, "Chunk", CHUNK.indexName)).toEqual(["idx_chunk_embedding_cosine"]);
    });
    expect(await record(url(), "idx_chunk_embedding_cosine")).toMatchObject({
      params: { lists: 205 },
      rowsAtBuild: 20_500,
      buildSettings: { parallelWorkers: 2, concurrently: false },
    });
  });

  it("indexes each dimension a table holds, the others under a _<dimension> suffix", async () => {
    const small = clusteredVectors({ dimension: 16, clusters: 10, spread: 0.5, seed: 11 });
    await withClient(url(), (c) =>
      copyChunks(c, fixtures, { dimension: 16, count: 600, source: small, firstIdx: 100_000 }),
    );
    const plan = await planIndexes(url());
    expect(plan.map((p) => [p.name, p.action])).toEqual([
      ["idx_chunk_embedding_cosine", "unchanged"],
      ["idx_chunk_embedding_cosine_16", "create"],
      ["idx_message_embedding_cosine", "unchanged"],
    ]);
    await apply(url());
    await withClient(url(), async (c) => {
      expect(await indexFacts(c, "idx_chunk_embedding_cosine_16")).toMatchObject({
        options: ["lists=6"],
        expression: "(embedding::vector(16))",
        predicate: "(vector_dims(embedding) = 16)",
      });
      const plan16 = await explainNearest(c, CHUNK, 16, "ivfflat.probes = 6", small.next());
      expect(plan16).toContain("idx_chunk_embedding_cosine_16");
    });
  });

  it("switches an index to HNSW when asked, building CONCURRENTLY and swapping", async () => {
    const hnsw = {
      concurrently: true,
      indexes: { idx_message_embedding_cosine: { method: "hnsw" as const, m: 8, efConstruction: 32 } },
    };
    const plan = await planIndexes(url(), hnsw);
    expect(plan.find((p) => p.name === "idx_message_embedding_cosine")).toMatchObject({
      action: "rebuild",
      reason: expect.stringContaining("method ivfflat -> hnsw"),
    });
    const { result } = await apply(url(), hnsw);
    expect(result.vectorIndexes.map((r) => r.action)).toEqual(["unchanged", "unchanged", "rebuild"]);
    await withClient(url(), async (c) => {
      expect(await indexFacts(c, "idx_message_embedding_cosine")).toMatchObject({
        method: "hnsw",
        operatorClass: "vector_cosine_ops",
        options: ["m=8", "ef_construction=32"],
        valid: true,
      });
      expect(await indexNames(c, "Message", MESSAGE.indexName)).toEqual(["idx_message_embedding_cosine"]);
    });
    const message = await record(url(), "idx_message_embedding_cosine");
    expect(message).toMatchObject({
      method: "hnsw",
      params: { m: 8, efConstruction: 32 },
      buildSettings: { concurrently: true },
      calibration: { setting: "hnsw.ef_search", targetReached: true },
    });
    await withClient(url(), async (c) => {
      const explained = await explainNearest(
        c,
        MESSAGE,
        DIM,
        `hnsw.ef_search = ${message!.calibration.value}`,
        source.next(),
      );
      expect(explained).toContain("Index Scan using idx_message_embedding_cosine");
    });
    expect((await apply(url(), hnsw)).result.changed).toBe(false);
  });

  it("recalibrates without rebuilding when only the target recall changes", async () => {
    const options = {
      targetRecall: 0.99,
      indexes: { idx_message_embedding_cosine: { method: "hnsw" as const, m: 8, efConstruction: 32 } },
    };
    const before = await record(url(), "idx_chunk_embedding_cosine");
    const plan = await planIndexes(url(), options);
    expect(plan.map((p) => p.action)).toEqual(["update", "update", "update"]);
    expect(await planSettings(url(), options)).toContainEqual({
      name: "setting vectorIndexes.targetRecall",
      action: "update",
      reason: "0.95 -> 0.99",
      decision: "setting",
    });
    expect(plan.map((p) => p.decision)).toEqual(["recalibrate", "recalibrate", "recalibrate"]);
    expect(plan[0]!.reason).toContain("target recall 0.95 -> 0.99");
    const oid = (await withClient(url(), (c) => indexFacts(c, "idx_chunk_embedding_cosine")))!.oid;
    await apply(url(), options);
    const after = await record(url(), "idx_chunk_embedding_cosine");
    expect(after).toMatchObject({ builtAt: before!.builtAt, calibration: { targetRecall: 0.99 } });
    expect(after!.calibration.value).toBeGreaterThanOrEqual(before!.calibration.value);
    expect((await withClient(url(), (c) => indexFacts(c, "idx_chunk_embedding_cosine")))!.oid).toBe(oid);
  });
});
