// plan on a released database decides the vector indexes on the rows apply's seed sets load before them: apply
// runs the seed sets first, so a seed set of embedded rows on an empty table makes it build an index, and plan
// must list that build rather than a skip ("no embedded rows yet"). A set already applied adds nothing.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { describe, expect, it, vi } from "vitest";
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
import { editSeedFile, seedTable, seedsCopy } from "../seeds/helpers";
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

/** The demo set's embedding space, restated by a set of its own: a "$vector" is sized by a space of its set. */
const DEMO_SPACE = {
  id: "demo-space-openai-3-large",
  provider: "openai",
  model: "text-embedding-3-large",
  dimension: 3072,
  metadata: { distance: "cosine", normalized: true },
};

/** `n` chunks of a dataset and document, with embeddings, their ids from `prefix`. */
const chunksOf = (prefix: string, n: number, datasetId: string, documentId: string) =>
  Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    datasetId,
    documentId,
    embeddingSpaceId: DEMO_SPACE.id,
    idx: 10 + i,
    text: `${prefix}, part ${i}.`,
    embedding: { $vector: { seed: `${prefix}-${i}`, topic: "launch-faq" } },
  }));

/** A release of the seed sets of `dir` and the vector indexes, and a writer of a set of one file there. */
function seededRelease(url: () => string, dir: string) {
  const options = (seedSets: string[]): ReleaseOptions => ({
    databaseUrl: url(),
    migrationsDir: DEFAULT_MIGRATIONS_DIR,
    log: collectingLogger(),
    steps: [new SeedsStep({ seedSets, seedsDir: dir }), new VectorIndexStep({ calibrationQueries: 20 })],
  });
  const writeSet = (name: string, tables: { table: string; rows: unknown[] }[]) => {
    mkdirSync(path.join(dir, name), { recursive: true });
    writeFileSync(path.join(dir, name, "10-rows.json"), JSON.stringify({ tables }));
  };
  return { options, writeSet };
}

describe("a pending seed set adding embedded rows to a table that has some", () => {
  const db = useTestDatabase();
  const dir = seedsCopy();
  const { options, writeSet } = seededRelease(() => db.current.url, dir);

  it("is decided on the table's rows plus the set's, as apply then finds them", async () => {
    await applyRelease(options(["demo"]));
    const before = await embeddedRows(db.current.url, "Chunk");
    expect(before).toBe(6);
    // Eight more chunks of the demo dataset.
    writeSet("more", [
      { table: "EmbeddingSpace", rows: [DEMO_SPACE] },
      { table: "Chunk", rows: chunksOf("more-chunk", 8, "demo-dataset", "demo-doc-launch-faq") },
    ]);

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

describe("a pending seed set deleting embedded rows or clearing their embeddings", () => {
  const db = useTestDatabase();
  const dir = seedsCopy();
  const { options, writeSet } = seededRelease(() => db.current.url, dir);

  it("counts the rows a set deletes and the embeddings it clears, as apply then finds them", async () => {
    writeSet("more", [
      { table: "EmbeddingSpace", rows: [DEMO_SPACE] },
      { table: "Chunk", rows: chunksOf("more-chunk", 8, "demo-dataset", "demo-doc-launch-faq") },
    ]);
    await applyRelease(options(["demo", "more"]));
    expect(await embeddedRows(db.current.url, "Chunk")).toBe(14);
    // The set keeps 3 of its 8 chunks (5 deleted), and the third loses its embedding (an update to NULL).
    editSeedFile(dir, "more", "10-rows.json", (content) => {
      const chunk = seedTable(content, "Chunk");
      chunk.rows = chunk.rows.slice(0, 3);
      chunk.rows[2]!.embedding = null;
    });

    const plan = await planRelease(options(["demo", "more"]));
    expect(plan.seedSets.map((s) => [s.name, s.action])).toEqual([
      ["demo", "unchanged"],
      ["more", "update"],
    ]);
    const chunk = plan.vectorIndexes.find((i) => i.name === CHUNK.indexName)!;
    // 14 rows now, 8 once the set is applied: the plan speaks of the 8.
    expect(chunk.reason).toMatch(/\b8 now\b/);
    expect(chunk.reason).not.toMatch(/\b14 now\b/);

    const result = await applyRelease(options(["demo", "more"]));
    expect(await embeddedRows(db.current.url, "Chunk")).toBe(8);
    expect(ran(result)).toEqual(planned(plan));
  });
});

describe("a pending seed set giving a tenant embedded rows", () => {
  const db = useTestDatabase();
  const dir = seedsCopy();
  const { options, writeSet } = seededRelease(() => db.current.url, dir);

  it("adds them to the tenant's, so that a tenant it takes past the exact threshold is planned", async () => {
    await applyRelease(options(["demo"]));
    // The chunk index's calibration as if measured with an exact threshold of 2 rows, demo-org (all 6 rows)
    // searching the index then: nothing to do until another tenant crosses it.
    await withClient(db.current.url, (c) =>
      c.query(
        `UPDATE neonhub_release.search_calibrations SET exact_rows = 2, index_path_tenants = '["demo-org"]'
          WHERE index_name = $1`,
        [CHUNK.indexName],
      ),
    );
    const before = await planRelease(options(["demo"]));
    expect(before.vectorIndexes.find((i) => i.name === CHUNK.indexName)).toMatchObject({
      action: "unchanged",
    });

    // A new organization whose dataset gets 3 chunks: past the threshold, without doubling the dimension's rows.
    writeSet("other", [
      {
        table: "Organization",
        rows: [{ id: "other-org", slug: "other", name: "Other Org", plan: "starter" }],
      },
      { table: "EmbeddingSpace", rows: [DEMO_SPACE] },
      {
        table: "Dataset",
        rows: [
          {
            id: "other-dataset",
            organizationId: "other-org",
            name: "Other",
            slug: "other",
            kind: "documents",
          },
        ],
      },
      {
        table: "Document",
        rows: [{ id: "other-doc", datasetId: "other-dataset", title: "Other", mimeType: "text/markdown" }],
      },
      { table: "Chunk", rows: chunksOf("other-chunk", 3, "other-dataset", "other-doc") },
    ]);
    const plan = await planRelease(options(["demo", "other"]));
    expect(plan.seedSets.map((s) => [s.name, s.action])).toEqual([
      ["demo", "unchanged"],
      ["other", "create"],
    ]);
    const chunk = plan.vectorIndexes.find((i) => i.name === CHUNK.indexName)!;
    expect(chunk.action).toBe("update");
    expect(chunk.reason).toContain(
      "tenant other-org (3 rows) has grown past the exact threshold (2 visible rows) since the search was calibrated",
    );

    const result = await applyRelease(options(["demo", "other"]));
    expect(ran(result)).toEqual(planned(plan));
  });
});

/** A set giving another organization a dataset, its document and `chunks` chunks, all in `organizationId`. */
const movingSet = (organizationId: string, chunks: number) => [
  { table: "Organization", rows: [{ id: "other-org", slug: "other", name: "Other Org", plan: "starter" }] },
  { table: "EmbeddingSpace", rows: [DEMO_SPACE] },
  {
    table: "Dataset",
    rows: [{ id: "moving-dataset", organizationId, name: "Moving", slug: "moving", kind: "documents" }],
  },
  {
    table: "Document",
    rows: [{ id: "moving-doc", datasetId: "moving-dataset", title: "Moving", mimeType: "text/markdown" }],
  },
  { table: "Chunk", rows: chunksOf("moving-chunk", chunks, "moving-dataset", "moving-doc") },
];

/** An index's calibration, as if measured with this exact threshold, demo-org searching the index then. */
async function calibratedAt(url: string, exactRows: number, indexName = CHUNK.indexName): Promise<void> {
  const updated = await withClient(url, (c) =>
    c.query(
      `UPDATE neonhub_release.search_calibrations SET exact_rows = $2, index_path_tenants = '["demo-org"]'
        WHERE index_name = $1`,
      [indexName, exactRows],
    ),
  );
  expect(updated.rowCount).toBe(1);
}

/** The embedded chunks of each organization, as the table holds them. */
async function chunksByTenant(url: string): Promise<Record<string, number>> {
  const found = await withClient(url, (c) =>
    c.query<{ tenant: string; n: number }>(
      `SELECT "organizationId" AS tenant, count(*)::int AS n FROM "Chunk"
        WHERE embedding IS NOT NULL GROUP BY 1 ORDER BY 1`,
    ),
  );
  return Object.fromEntries(found.rows.map((r) => [r.tenant, r.n]));
}

describe("a pending seed set moving a dataset to another organization", () => {
  const db = useTestDatabase();
  const dir = seedsCopy();
  const { options, writeSet } = seededRelease(() => db.current.url, dir);

  it("moves all the dataset's chunks in the tenants' counts, those no set lists included", async () => {
    // demo-org: the demo dataset's 6 chunks, and a second dataset of 3 seeded chunks and 2 the app wrote.
    writeSet("other", movingSet("demo-org", 3));
    await applyRelease(options(["demo", "other"]));
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "Chunk" ("id", "datasetId", "documentId", "embeddingSpaceId", "idx", "text", "embedding")
         SELECT 'app-chunk-' || n, "datasetId", "documentId", "embeddingSpaceId", 20 + n, 'Written by the app.',
                embedding
           FROM "Chunk", generate_series(0, 1) AS n WHERE "id" = 'moving-chunk-0'`,
      ),
    );
    expect(await chunksByTenant(db.current.url)).toEqual({ "demo-org": 11 });
    // The set moves the dataset to other-org, and rewrites one of its chunks (counted once, not twice).
    editSeedFile(dir, "other", "10-rows.json", (content) => {
      seedTable(content, "Dataset").rows[0]!.organizationId = "other-org";
      seedTable(content, "Chunk").rows[0]!.text = "Rewritten while its dataset moves.";
    });

    // other-org gets the 5 rows: past an exact threshold of 2, searching the index it was not calibrated for.
    await calibratedAt(db.current.url, 2);
    const crossing = await planRelease(options(["demo", "other"]));
    expect(crossing.seedSets.map((s) => [s.name, s.action])).toEqual([
      ["demo", "unchanged"],
      ["other", "update"],
    ]);
    const crossed = crossing.vectorIndexes.find((i) => i.name === CHUNK.indexName)!;
    expect(crossed.action).toBe("update");
    expect(crossed.reason).toContain(
      "tenant other-org (5 rows) has grown past the exact threshold (2 visible rows) since the search was calibrated",
    );

    // demo-org keeps 6 of the 11 rows: less than 90%, past a threshold of 5 that other-org's 5 do not cross.
    await calibratedAt(db.current.url, 5);
    const falling = await planRelease(options(["demo", "other"]));
    const fallen = falling.vectorIndexes.find((i) => i.name === CHUNK.indexName)!;
    expect(fallen.action).toBe("update");
    expect(fallen.reason).toContain(
      "tenant demo-org (6 rows) holds less than 90% of the dimension's 11 rows now, past the exact threshold (5 visible rows)",
    );

    const result = await applyRelease(options(["demo", "other"]));
    expect(await chunksByTenant(db.current.url)).toEqual({ "demo-org": 6, "other-org": 5 });
    expect(ran(result)).toEqual(planned(falling));
  });
});

describe("a pending seed set moving a conversation to another organization", () => {
  const db = useTestDatabase();
  const dir = seedsCopy();
  const { options, writeSet } = seededRelease(() => db.current.url, dir);

  it("moves its messages in the tenants' counts, as the foreign key carries them", async () => {
    const talk = (organizationId: string) => [
      {
        table: "Organization",
        rows: [{ id: "other-org", slug: "other", name: "Other Org", plan: "starter" }],
      },
      { table: "EmbeddingSpace", rows: [DEMO_SPACE] },
      { table: "Conversation", rows: [{ id: "moving-conversation", organizationId, kind: "planning" }] },
      {
        table: "Message",
        rows: Array.from({ length: 3 }, (_, i) => ({
          id: `moving-message-${i}`,
          conversationId: "moving-conversation",
          role: "user",
          contentJson: { type: "text", text: `Question ${i}.` },
          embeddingSpaceId: DEMO_SPACE.id,
          embedding: { $vector: { seed: `moving-message-${i}`, topic: "launch-faq" } },
        })),
      },
    ];
    // demo-org: the demo conversation's embedded message, and a second conversation of 3 seeded and 1 the app wrote.
    writeSet("talk", talk("demo-org"));
    await applyRelease(options(["demo", "talk"]));
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "Message" ("id", "conversationId", "role", "contentJson", "embeddingSpaceId", "embedding")
         SELECT 'app-message', "conversationId", 'user', '{"type": "text", "text": "From the app."}',
                "embeddingSpaceId", embedding
           FROM "Message" WHERE "id" = 'moving-message-0'`,
      ),
    );
    writeSet("talk", talk("other-org"));
    await calibratedAt(db.current.url, 2, MESSAGE.indexName);

    const plan = await planRelease(options(["demo", "talk"]));
    expect(plan.seedSets.map((s) => [s.name, s.action])).toEqual([
      ["demo", "unchanged"],
      ["talk", "update"],
    ]);
    const message = plan.vectorIndexes.find((i) => i.name === MESSAGE.indexName)!;
    expect(message.action).toBe("update");
    expect(message.reason).toContain(
      "tenant other-org (4 rows) has grown past the exact threshold (2 visible rows) since the search was calibrated",
    );
    const result = await applyRelease(options(["demo", "talk"]));
    expect(ran(result)).toEqual(planned(plan));
  });
});

describe("plan with a pending seed set of embedded rows", () => {
  const db = useTestDatabase();
  const dir = seedsCopy();
  const { options, writeSet } = seededRelease(() => db.current.url, dir);

  it("diffs each seed set once, for its plan item and for the rows it changes alike", async () => {
    await applyRelease(options(["demo"]));
    writeSet("more", [
      { table: "EmbeddingSpace", rows: [DEMO_SPACE] },
      { table: "Chunk", rows: chunksOf("more-chunk", 8, "demo-dataset", "demo-doc-launch-faq") },
    ]);
    // Every statement the engine's sessions send; a set's diff is one statement per table and set of columns
    // (core/seeds/rows.ts diffGroupSql), sent as is.
    const query = vi.spyOn(pg.Client.prototype, "query");
    let plan: ReleasePlan;
    let sent: unknown[][];
    try {
      plan = await planRelease(options(["demo", "more"]));
    } finally {
      sent = [...query.mock.calls]; // mockRestore forgets them
      query.mockRestore();
    }
    const diffs = sent
      .filter(([text]) => typeof text === "string")
      .filter(([text]) =>
        (text as string).startsWith("SELECT d.ordinality::integer AS n, t.ctid IS NULL AS missing"),
      )
      .map(([text, values]) => `${text as string} ${JSON.stringify(values)}`);
    expect(plan.seedSets.map((s) => [s.name, s.action])).toEqual([
      ["demo", "unchanged"],
      ["more", "create"],
    ]);
    expect(plan.vectorIndexes.find((i) => i.name === CHUNK.indexName)!.reason).toMatch(/\b14 now$/);
    // One statement per table and set of columns of each set, no more: the new set's chunks once.
    const groups = new SeedsStep({ seedSets: ["demo", "more"], seedsDir: dir }).sets
      .flatMap((set) => set.tables)
      .map((t) => new Set(t.rows.map((row) => Object.keys(row).sort().join())).size);
    expect(diffs).toHaveLength(groups.reduce((a, b) => a + b, 0));
    expect(diffs.filter((d) => d.includes("more-chunk-0"))).toHaveLength(1);
  });
});
