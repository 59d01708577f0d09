// plan on a released database decides the vector indexes on the rows apply's seed sets load before them: apply
// runs the seed sets first, so a seed set of embedded rows on an empty table makes it build an index, and plan
// must list that build rather than a skip ("no embedded rows yet"). A set already applied adds nothing.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  SeedsStep,
  VectorIndexStep,
  applyRelease,
  collectingLogger,
  planRelease,
  type ReleasePlan,
  type ReleaseResult,
  type ReleaseOptions,
} from "../../core";
import { cliJson } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { seedsCopy } from "../seeds/helpers";
import { CHUNK, MESSAGE, isCountIndex } from "./support";

/** The embedded rows of a table: what an index on its one dimension is built on. */
async function embeddedRows(url: string, table: string): Promise<number> {
  const found = await withClient(url, (c) =>
    c.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${table}" WHERE embedding IS NOT NULL`),
  );
  return found.rows[0]!.n;
}

/**
 * The vector indexes' items as plan lists them and apply reports them: name, action, and why for an index left
 * as it is (apply's `skipped`).
 */
const planned = (plan: Pick<ReleasePlan, "vectorIndexes">) =>
  plan.vectorIndexes
    .filter((i) => !isCountIndex(i))
    .map((i) => [i.name, i.action, i.action === "unchanged" ? i.reason : ""]);
const ran = (result: Pick<ReleaseResult, "vectorIndexes">) =>
  result.vectorIndexes.filter((i) => !isCountIndex(i)).map((i) => [i.name, i.action, i.skipped ?? ""]);

describe("plan --seed on a released database whose embedded tables are empty", () => {
  const db = useTestDatabase();

  it("lists the index builds the new seed set's embedded rows make, and apply builds exactly those", async () => {
    const released = await cliJson<ReleaseResult>(db.current.url, "apply");
    expect(released.code).toBe(0);
    expect(await embeddedRows(db.current.url, "Chunk")).toBe(0);

    const plan = await cliJson<ReleasePlan>(db.current.url, "plan", "--seed", "demo");
    expect(plan.code).toBe(2);
    expect(plan.doc.seedSets.map((s) => [s.name, s.action])).toEqual([["demo", "create"]]);
    const chunk = plan.doc.vectorIndexes.find((i) => i.name === CHUNK.indexName);
    const message = plan.doc.vectorIndexes.find((i) => i.name === MESSAGE.indexName);
    // The demo set's 6 chunks and 1 message of 3,072 dimensions, none of them in the tables yet.
    expect(chunk).toMatchObject({ action: "create", decision: "create" });
    expect(chunk!.reason).toMatch(/^new index: ivfflat lists=\d+ on 6 rows of 3072 dimensions$/);
    expect(message).toMatchObject({ action: "create", decision: "create" });
    expect(message!.reason).toMatch(/^new index: ivfflat lists=\d+ on 1 row of 3072 dimensions$/);

    const applied = await cliJson<ReleaseResult>(db.current.url, "apply", "--seed", "demo");
    expect(applied.code).toBe(0);
    expect(ran(applied.doc)).toEqual(planned(plan.doc));
    expect(applied.doc.vectorIndexes.find((i) => i.name === CHUNK.indexName)).toMatchObject({
      action: "create",
      details: { rows: await embeddedRows(db.current.url, "Chunk") },
    });
  });

  it("counts nothing twice for a seed set already applied: plan decides on the table's rows alone", async () => {
    const plan = await cliJson<ReleasePlan>(db.current.url, "plan", "--seed", "demo");
    expect(plan.code).toBe(0);
    expect(plan.doc.seedSets.map((s) => s.action)).toEqual(["unchanged"]);
    const chunk = plan.doc.vectorIndexes.find((i) => i.name === CHUNK.indexName);
    expect(chunk).toMatchObject({ action: "unchanged", decision: "keep" });
    expect(chunk!.reason).toContain("built on 6 rows (6 now)");
  });
});

describe("a pending seed set adding embedded rows to a table that has some", () => {
  const db = useTestDatabase();
  const dir = seedsCopy();
  const options = (seedSets: string[]): ReleaseOptions => ({
    databaseUrl: db.current.url,
    migrationsDir: DEFAULT_MIGRATIONS_DIR,
    log: collectingLogger(),
    steps: [new SeedsStep({ seedSets, seedsDir: dir }), new VectorIndexStep({ calibrationQueries: 20 })],
  });

  it("is decided on the table's rows plus the set's, as apply then finds them", async () => {
    await applyRelease(options(["demo"]));
    const before = await embeddedRows(db.current.url, "Chunk");
    expect(before).toBe(6);
    // Eight more chunks of the demo dataset (their space restated: a "$vector" is sized by a space of its set).
    mkdirSync(path.join(dir, "more"));
    const space = {
      id: "demo-space-openai-3-large",
      provider: "openai",
      model: "text-embedding-3-large",
      dimension: 3072,
      metadata: { distance: "cosine", normalized: true },
    };
    const chunks = Array.from({ length: 8 }, (_, i) => ({
      id: `more-chunk-${i}`,
      datasetId: "demo-dataset",
      documentId: "demo-doc-launch-faq",
      embeddingSpaceId: space.id,
      idx: 10 + i,
      text: `More of the launch FAQ, part ${i}.`,
      embedding: { $vector: { seed: `more-chunk-${i}`, topic: "launch-faq" } },
    }));
    writeFileSync(
      path.join(dir, "more", "10-chunks.json"),
      JSON.stringify({
        tables: [
          { table: "EmbeddingSpace", rows: [space] },
          { table: "Chunk", rows: chunks },
        ],
      }),
    );

    const plan = await planRelease(options(["demo", "more"]));
    expect(plan.seedSets.map((s) => [s.name, s.action])).toEqual([
      ["demo", "unchanged"],
      ["more", "create"],
    ]);
    const chunk = plan.vectorIndexes.find((i) => i.name === CHUNK.indexName)!;
    // 6 rows when built and calibrated, 14 once the set is loaded: more than twice, so it is not kept as is.
    expect(chunk.action).not.toBe("unchanged");
    expect(chunk.reason).toMatch(/\b6 rows when calibrated, 14 now$/);
    expect(chunk.reason).not.toMatch(/\b8 now\b|\b6 now\b/);

    const result = await applyRelease(options(["demo", "more"]));
    expect(await embeddedRows(db.current.url, "Chunk")).toBe(14);
    expect(ran(result)).toEqual(planned(plan));
  });
});
