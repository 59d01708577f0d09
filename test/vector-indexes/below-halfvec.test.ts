// Embeddings of more than 2,000 dimensions whose every component is at most 2^-25 (~3e-8) in magnitude: nonzero vectors
// that the dimension's index, over "embedding"::halfvec(n), holds as the zero vector. Stored before migration
// 20261206160000, the index never finds such a row while the exact path does, and health names them with the
// statement that scales them to unit length; since, the dimension trigger refuses a new one, naming the row,
// its largest value and the fix, and stores nothing. Its down migration restores the trigger that stored them.
import { readFileSync } from "node:fs";
import path from "node:path";
import type { ClientBase } from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  HALFVEC_ZERO_BOUND,
  HALFVEC_ZERO_WORDS,
  checkHealth,
  downSection,
  nearestQuery,
  readIndexRecords,
} from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { clusteredVectors, copyChunks, createFixtures, vectorText, type EmbeddingFixtures } from "./data";
import { CHUNK, apply, applyMigrationsBefore } from "./support";

const DIM = 2048;
const LOW_DIM = 1536;
const MIGRATION = "20261206160000_embeddings_below_halfvec_refused";
/** Rows stored before the trigger refused such embeddings. */
const TINY = ["chunk-2048-7", "chunk-2048-42"];

/** A vector in the direction of `v` whose largest component is `largest` in magnitude. */
const scaledTo = (v: Float32Array, largest: number) => {
  const max = Math.max(...Array.from(v, Math.abs));
  return Float32Array.from(v, (x) => (x / max) * largest);
};

/** The rows the app's query returns through the dimension's index, reading every list. */
async function throughIndex(c: ClientBase, query: string): Promise<string[]> {
  const lists = ((await readIndexRecords(c)).find((r) => r.dimension === DIM)!.params as { lists: number })
    .lists;
  await c.query("BEGIN");
  try {
    await c.query(`SET LOCAL ivfflat.probes = ${lists}`);
    await c.query("SET LOCAL enable_seqscan = off");
    return (await c.query<{ id: string }>(nearestQuery(CHUNK, DIM, 10), [query])).rows.map((r) => r.id);
  } finally {
    await c.query("ROLLBACK");
  }
}

/** The exact top 10 of the dimension, at full precision. */
async function exactly(c: ClientBase, query: string): Promise<string[]> {
  const { rows } = await c.query<{ id: string }>(
    `SELECT "id" FROM "Chunk" WHERE vector_dims("embedding") = ${DIM} ORDER BY "embedding" <=> $1::vector LIMIT 10`,
    [query],
  );
  return rows.map((r) => r.id);
}

describe("embeddings a halfvec index holds as the zero vector", () => {
  const db = useTestDatabase("belowhalf");
  const url = () => db.current.url;
  const source = clusteredVectors({ dimension: DIM, clusters: 4, spread: 0.5, seed: 17 });
  let fixtures: EmbeddingFixtures;
  /** The first stored row's embedding at unit length: the query that should find it first. */
  let query: string;

  let nextIdx = 1_000_000;
  const insert = (c: ClientBase, id: string, dimension: number, v: Float32Array) =>
    c.query(
      `INSERT INTO "Chunk" ("id", "datasetId", "embeddingSpaceId", "documentId", "idx", "text", "embedding")
       VALUES ($1, $2, $3, $4, $5, 'tiny', $6::vector)`,
      [id, fixtures.datasetId, fixtures.spaces.get(dimension), fixtures.documentId, nextIdx++, vectorText(v)],
    );
  const errorOf = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (e: unknown) => e as { message: string; code: string; detail: string; hint: string },
    );

  beforeAll(async () => {
    await applyMigrationsBefore(url(), MIGRATION.slice(0, 14));
    await withClient(url(), async (c) => {
      fixtures = await createFixtures(c, [DIM, LOW_DIM]);
      await copyChunks(c, fixtures, { dimension: DIM, count: 300, source });
      // The trigger of that release lets these through: every component below 3e-8, none 0.
      for (const [i, id] of TINY.entries()) {
        const v = scaledTo(source.next(), 2e-8 + i * 5e-9);
        await c.query(`UPDATE "Chunk" SET "embedding" = $1::vector WHERE "id" = $2`, [vectorText(v), id]);
      }
      query = (
        await c.query<{ q: string }>(
          `SELECT l2_normalize("embedding")::text AS q FROM "Chunk" WHERE "id" = $1`,
          [TINY[0]],
        )
      ).rows[0]!.q;
    });
    await apply(url(), { calibrationQueries: 20 });
  });

  it("the index never finds a stored one, whose own direction the exact path finds first", async () => {
    await withClient(url(), async (c) => {
      expect((await exactly(c, query))[0]).toBe(TINY[0]);
      const found = await throughIndex(c, query);
      expect(found).toHaveLength(10);
      for (const id of TINY) expect(found).not.toContain(id);
    });
  });

  it("health names them and the statement that scales them to unit length; once run, the index finds them", async () => {
    const report = await checkHealth({ databaseUrl: url() });
    expect(report.healthy).toBe(false);
    expect(report.belowHalfvecEmbeddings).toEqual([
      { table: "Chunk", state: "checked", rows: 2, ids: [...TINY].sort() },
      { table: "Message", state: "checked", rows: 0, ids: [] },
      { table: "BrandVoice", state: "checked", rows: 0, ids: [] },
    ]);
    // Neither zero vectors nor of another dimension.
    expect(report.zeroEmbeddings.map((r) => r.rows)).toEqual([0, 0, 0]);
    const finding = report.findings.find(
      (f) => f.subject === "Chunk" && f.problem.includes("at most 2.98e-8"),
    );
    expect(finding?.severity).toBe("action");
    expect(finding?.problem).toBe(
      `2 rows of more than 2,000 dimensions whose every embedding value is at most 2.98e-8 in magnitude ` +
        `(${[...TINY]
          .sort()
          .map((id) => `"${id}"`)
          .join(
            ", ",
          )}): stored before migration 20261206160000 refused them; the vector index holds them as ` +
        `halfvec, where they are the zero vector, so no search through the index finds them`,
    );
    const fix = /which leaves their cosine distances as they were: (UPDATE .*); or store/.exec(
      finding!.action,
    )?.[1];
    expect(fix).toBeDefined();
    await withClient(url(), async (c) => {
      expect((await c.query(fix!)).rowCount).toBe(2);
      expect((await throughIndex(c, query))[0]).toBe(TINY[0]);
    });
    const after = await checkHealth({ databaseUrl: url() });
    expect(after.belowHalfvecEmbeddings.map((r) => r.rows)).toEqual([0, 0, 0]);
    expect(after.findings.filter((f) => f.problem.includes("at most 2.98e-8"))).toEqual([]);
  });

  it("the trigger refuses a new one, naming the row, its largest value and the fix, and stores nothing", async () => {
    await withClient(url(), async (c) => {
      const count = async () =>
        (await c.query<{ n: string }>(`SELECT count(*) AS n FROM "Chunk"`)).rows[0]!.n;
      const before = await count();
      const tiny = scaledTo(source.next(), 2.5e-8);
      const error = await errorOf(insert(c, "new-tiny", DIM, tiny));
      expect(error).toMatchObject({
        code: "22003",
        message:
          'Chunk "new-tiny": every embedding value is at most 2.98e-8 in magnitude (the largest is 2.5e-08), which a ' +
          "halfvec holds as 0",
        detail:
          'Embedding space "' +
          fixtures.spaces.get(DIM)! +
          '" has 2048 dimensions; above 2,000 its vector index stores halfvec, where this embedding is the zero ' +
          "vector: no search through the index would find the row.",
        hint: "Store the embedding the model returned, or normalize it to unit length (l2_normalize): its cosine distances stay the same.",
      });
      expect(await count()).toBe(before);
      // An UPDATE to such a vector likewise.
      expect(
        await errorOf(
          c.query(`UPDATE "Chunk" SET "embedding" = $1::vector WHERE "id" = $2`, [vectorText(tiny), TINY[0]]),
        ),
      ).toMatchObject({ code: "22003" });
      await c.query("BEGIN");
      try {
        // The same direction at unit length is stored, and so is one with a single component halfvec holds.
        await insert(c, "unit", DIM, scaledTo(tiny, 1));
        const one = Float32Array.from(tiny);
        one[3] = 1e-3;
        await insert(c, "one-component", DIM, one);
        // At 2,000 dimensions or fewer the index holds vector, at full precision: stored.
        await insert(c, "low", LOW_DIM, scaledTo(source.next().slice(0, LOW_DIM), 2e-8));
      } finally {
        await c.query("ROLLBACK");
      }
    });
  });

  it("the trigger's bound is HALFVEC_ZERO_BOUND, the one load-chunks checks before a row is sent", async () => {
    // Every component at the bound, half of them negative: refused. The float32 just above it, in one
    // component, is a halfvec the index holds (its smallest, 2^-24): stored.
    const atBound = Float32Array.from({ length: DIM }, (_, i) => (i % 2 === 0 ? 1 : -1) * HALFVEC_ZERO_BOUND);
    const bits = new Uint32Array(Float32Array.of(HALFVEC_ZERO_BOUND).buffer);
    bits[0]! += 1;
    const justAbove = new Float32Array(bits.buffer)[0]!;
    expect(justAbove).toBeGreaterThan(HALFVEC_ZERO_BOUND);
    const oneAbove = Float32Array.from(atBound);
    oneAbove[5] = justAbove;
    await withClient(url(), async (c) => {
      await c.query("BEGIN");
      try {
        await c.query("SAVEPOINT refused");
        // In the words load-chunks and health use for the same bound.
        expect(await errorOf(insert(c, "at-bound", DIM, atBound))).toMatchObject({
          code: "22003",
          message: expect.stringContaining(`every ${HALFVEC_ZERO_WORDS} (the largest is `),
        });
        await c.query("ROLLBACK TO SAVEPOINT refused");
        await insert(c, "just-above", DIM, oneAbove);
        const stored = await c.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "Chunk" WHERE "id" = 'just-above' AND l2_norm("embedding"::halfvec) > 0`,
        );
        expect(stored.rows[0]!.n).toBe(1);
      } finally {
        await c.query("ROLLBACK");
      }
    });
  });

  it("its down migration restores the trigger that stored them", async () => {
    const sql = readFileSync(path.join(DEFAULT_MIGRATIONS_DIR, `${MIGRATION}.sql`), "utf8");
    await withClient(url(), async (c) => {
      await c.query("BEGIN");
      try {
        await c.query(downSection(sql));
        await insert(c, "down-tiny", DIM, scaledTo(source.next(), 2e-8));
        const comment = await c.query<{ d: string }>(
          `SELECT obj_description('check_embedding_dimension'::regproc, 'pg_proc') AS d`,
        );
        expect(comment.rows[0]!.d).toBe(
          'Refuses an embedding whose dimension differs from its "EmbeddingSpace"."dimension", the zero vector, and ' +
            "above 2,000 dimensions a component beyond halfvec's ±65504.",
        );
      } finally {
        await c.query("ROLLBACK");
      }
    });
  });
});
