// The release's unfiltered calibration measures held-out queries: points that are no row of the table, the
// same ones on every run; the recall it records is those queries' recall against exact search; and a record
// measured on rows of the table (older releases) is planned for a recalibration that says why.
import { beforeAll, describe, expect, it } from "vitest";
import type { ClientBase } from "pg";
import {
  HNSW_MIN_EF_SEARCH,
  UNFILTERED_SAMPLE,
  calibrate,
  heldOutQueries,
  nearestQuery,
  neighboursOf,
  readIndexRecords,
  recallOf,
  type Neighbour,
} from "../../core";
import { releaseStatus } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { clusteredVectors, copyChunks, createFixtures, type EmbeddingFixtures } from "./data";
import { CHUNK, apply, planIndexes, releaseOptions } from "./support";

const DIM = 32;
const ROWS = 3_000;
const source = clusteredVectors({ dimension: DIM, clusters: 60, spread: 1.0, seed: 23 });

const parse = (text: string) => JSON.parse(text) as number[];

/** A tenant of its own with one dataset and one document, for a few rows of its own. */
async function tenantDocument(
  c: ClientBase,
  slug: string,
): Promise<{ organizationId: string; datasetId: string; documentId: string }> {
  const one = async (sql: string, params: unknown[]) =>
    (await c.query<{ id: string }>(sql, params)).rows[0]!.id;
  const organizationId = await one(
    `INSERT INTO "Organization" ("slug", "name") VALUES ($1, $1) RETURNING "id"`,
    [`cal-${slug}`],
  );
  const datasetId = await one(
    `INSERT INTO "Dataset" ("organizationId", "name", "slug", "kind") VALUES ($1, $2, $2, 'documents') RETURNING "id"`,
    [organizationId, slug],
  );
  const documentId = await one(
    `INSERT INTO "Document" ("datasetId", "title") VALUES ($1, $2) RETURNING "id"`,
    [datasetId, slug],
  );
  return { organizationId, datasetId, documentId };
}

/** The exact top 10 of the dimension's rows (a sequential scan, no index), with their distances. */
async function exactTop10(client: ClientBase, vector: string): Promise<Neighbour[]> {
  await client.query("BEGIN");
  try {
    await client.query("SET LOCAL enable_indexscan = off");
    await client.query("SET LOCAL enable_bitmapscan = off");
    const result = await client.query<Neighbour>(
      `SELECT "id", ("embedding" <=> $1::vector)::float8 AS distance FROM "Chunk"
        WHERE vector_dims("embedding") = ${DIM} ORDER BY "embedding" <=> $1::vector LIMIT 10`,
      [vector],
    );
    return result.rows;
  } finally {
    await client.query("ROLLBACK");
  }
}

describe("calibration on held-out queries", () => {
  const db = useTestDatabase("cal");
  const url = () => db.current.url;
  let fixtures: EmbeddingFixtures;
  const definitionOf = async (client: ClientBase) => {
    const record = (await readIndexRecords(client)).find((r) => r.name === CHUNK.indexName)!;
    return {
      name: record.name,
      table: CHUNK,
      dimension: record.dimension,
      method: record.method,
      params: record.params,
    };
  };

  beforeAll(async () => {
    await apply(url());
    fixtures = await withClient(url(), (c) => createFixtures(c, [DIM]));
    await withClient(url(), (c) => copyChunks(c, fixtures, { dimension: DIM, count: ROWS, source }));
    await apply(url());
  });

  it("queries with points that are no row of the table, the same ones on every run", async () => {
    await withClient(url(), async (c) => {
      const definition = await definitionOf(c);
      const queries = await heldOutQueries(c, definition, 50, UNFILTERED_SAMPLE);
      expect(queries).toHaveLength(50);
      expect(new Set(queries).size).toBe(50);
      for (const q of queries) {
        const nearest = await c.query<{ d: number }>(
          `SELECT min("embedding" <=> $1::vector) AS d FROM "Chunk" WHERE vector_dims("embedding") = ${DIM}`,
          [q],
        );
        // Not a row, nor a row's multiple (cosine distance 0).
        expect(nearest.rows[0]!.d).toBeGreaterThan(1e-4);
      }
      expect(await heldOutQueries(c, definition, 50, UNFILTERED_SAMPLE)).toEqual(queries);
      // Another salt, another sample of the same rows.
      const other = await heldOutQueries(c, definition, 50, { salt: "other" });
      expect(other.filter((q) => queries.includes(q)).length).toBeLessThan(5);
      // Fewer rows than pairs: as many queries as there are pairs.
      expect(await heldOutQueries(c, definition, 2 * ROWS, UNFILTERED_SAMPLE)).toHaveLength(ROWS / 2);
    });
  });

  it("makes a tenant's queries from that tenant's rows only", async () => {
    await withClient(url(), async (c) => {
      const { organizationId, datasetId, documentId } = await tenantDocument(c, "two");
      const a = Float32Array.from({ length: DIM }, (_, i) => (i === 0 ? 1 : 0.5));
      const b = Float32Array.from({ length: DIM }, (_, i) => (i === 1 ? 2 : -0.25));
      const vectors = [a, b];
      await copyChunks(
        c,
        { ...fixtures, organizationId, datasetId, documentId },
        { dimension: DIM, count: 2, source: { next: () => vectors.shift()! }, firstIdx: 1_000_000 },
      );
      const definition = await definitionOf(c);
      const own = await heldOutQueries(c, definition, 10, { organizationId, salt: "own" });
      // Two rows make one pair: the query is their sum.
      expect(own).toHaveLength(1);
      const sum = Array.from(a, (x, i) => x + b[i]!);
      parse(own[0]!).forEach((x, i) => expect(x).toBeCloseTo(sum[i]!, 5));
      // Every tenant's rows but this one's: the others' pairs, one fewer than the whole table's.
      const all = await heldOutQueries(c, definition, 2 * ROWS, { salt: "all" });
      const others = await heldOutQueries(c, definition, 2 * ROWS, {
        organizationId,
        tenantRows: "excluded",
        salt: "all",
      });
      expect(all).toHaveLength(ROWS / 2 + 1);
      expect(others).toHaveLength(ROWS / 2);
      await c.query(`DELETE FROM "Chunk" WHERE "datasetId" = $1`, [datasetId]);
    });
  });

  it("leaves out a pair whose sum is the zero vector (a row and its negative)", async () => {
    await withClient(url(), async (c) => {
      const { organizationId, datasetId, documentId } = await tenantDocument(c, "opposed");
      const a = Float32Array.from({ length: DIM }, (_, i) => (i % 3 === 0 ? 1 : -0.5));
      const vectors = [a, a.map((x) => -x)];
      await copyChunks(
        c,
        { ...fixtures, organizationId, datasetId, documentId },
        { dimension: DIM, count: 2, source: { next: () => vectors.shift()! }, firstIdx: 2_000_000 },
      );
      const definition = await definitionOf(c);
      expect(await heldOutQueries(c, definition, 10, { organizationId, salt: "own" })).toEqual([]);
      await c.query(`DELETE FROM "Chunk" WHERE "datasetId" = $1`, [datasetId]);
    });
  });

  it("records the recall of those queries against exact search, and says what it measured on", async () => {
    await withClient(url(), async (c) => {
      const definition = await definitionOf(c);
      const calibration = await calibrate(c, definition, ROWS, { targetRecall: 0.95, queries: 50 });
      expect(calibration).toMatchObject({ querySource: "held-out", queries: 50 });

      const queries = await heldOutQueries(c, definition, 50, UNFILTERED_SAMPLE);
      const recalls: number[] = [];
      for (const q of queries) {
        const truth = await exactTop10(c, q);
        await c.query("BEGIN");
        await c.query(`SET LOCAL ivfflat.probes = ${calibration.value}`);
        const found = await c.query<{ id: string }>(nearestQuery(CHUNK, DIM), [q]);
        await c.query("ROLLBACK");
        const rows = await neighboursOf(
          c,
          CHUNK,
          q,
          found.rows.map((r) => r.id),
        );
        recalls.push(recallOf(truth, rows));
      }
      const mean = recalls.reduce((x, y) => x + y, 0) / recalls.length;
      expect(calibration.recall).toBeCloseTo(mean, 4);
      // The same queries on every run: a second calibration measures alike.
      const again = await calibrate(c, definition, ROWS, { targetRecall: 0.95, queries: 50 });
      expect([again.value, again.recall]).toEqual([calibration.value, calibration.recall]);

      const status = await releaseStatus(releaseOptions(url()));
      expect(status.vectorIndexes.find((s) => s.name === CHUNK.indexName)).toMatchObject({
        calibratedOn: "held-out queries",
        calibrationQueries: 200,
      });
    });
  });

  it("measures against the rows of one snapshot: rows committed while it calibrates are no misses", async () => {
    await withClient(url(), async (c) => {
      const definition = await definitionOf(c);
      const options = { targetRecall: 0.95, queries: 50 };
      const undisturbed = await calibrate(c, definition, ROWS, options);
      const queries = await heldOutQueries(c, definition, 50, UNFILTERED_SAMPLE);
      const writer = await tenantDocument(c, "writer");
      // Another session commits a row equal to each held-out query as the first measurement starts: the
      // nearest row of every query from then on, which the exact answers read before it could not name.
      let written = false;
      const calibrating = new Proxy(c, {
        get(target, key, receiver) {
          if (key !== "query") return Reflect.get(target, key, receiver) as unknown;
          return async (...args: Parameters<ClientBase["query"]>) => {
            if (!written && String(args[0]).startsWith("SET LOCAL ivfflat.probes")) {
              written = true;
              const rows = queries.map((q) => Float32Array.from(parse(q)));
              await withClient(url(), (w) =>
                copyChunks(
                  w,
                  { ...fixtures, ...writer },
                  {
                    dimension: DIM,
                    count: rows.length,
                    source: { next: () => rows.shift()! },
                    firstIdx: 3_000_000,
                  },
                ),
              );
            }
            return (target.query as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      try {
        const disturbed = await calibrate(calibrating, definition, ROWS, options);
        expect(written).toBe(true);
        expect([disturbed.value, disturbed.recall]).toEqual([undisturbed.value, undisturbed.recall]);
      } finally {
        await c.query(`DELETE FROM "Chunk" WHERE "datasetId" = $1`, [writer.datasetId]);
      }
    });
  });

  it("recalibrates an index whose recorded recall was measured on rows of the table", async () => {
    await withClient(url(), (c) =>
      c.query(`UPDATE neonhub_release.vector_indexes SET calibration_query_source = 'rows' WHERE name = $1`, [
        CHUNK.indexName,
      ]),
    );
    const [planned] = await planIndexes(url());
    expect(planned).toMatchObject({ name: CHUNK.indexName, action: "update" });
    expect(planned!.reason).toContain("measured on rows of the table");

    const { result } = await apply(url());
    expect(result.vectorIndexes.find((r) => r.name === CHUNK.indexName)?.action).toBe("update");
    const status = await releaseStatus(releaseOptions(url()));
    expect(status.vectorIndexes.find((s) => s.name === CHUNK.indexName)?.calibratedOn).toBe(
      "held-out queries",
    );
    expect((await planIndexes(url()))[0]).toMatchObject({ action: "unchanged" });
  });
});

// Every list for ivfflat; for HNSW the least ef_search, which visits the whole of a one-row graph.
describe.each([
  { method: "ivfflat" as const, setting: "ivfflat.probes", everyRow: (lists?: number) => lists },
  { method: "hnsw" as const, setting: "hnsw.ef_search", everyRow: () => HNSW_MIN_EF_SEARCH },
])("calibration of a dimension with one embedded row ($method)", ({ method, setting, everyRow }) => {
  const db = useTestDatabase(`cal1_${method}`);
  const url = () => db.current.url;

  it("says it measured nothing, reads every row, and calibrates once a second row makes a query", async () => {
    await apply(url(), { method });
    const fixtures = await withClient(url(), (c) => createFixtures(c, [DIM]));
    const one = clusteredVectors({ dimension: DIM, clusters: 2, spread: 1.0, seed: 5 });
    await withClient(url(), (c) => copyChunks(c, fixtures, { dimension: DIM, count: 1, source: one }));

    const { result, lines } = await apply(url(), { method });
    expect(result.vectorIndexes.find((r) => r.name === CHUNK.indexName)?.action).toBe("create");
    const logged = lines.filter((l) => l.includes(`${CHUNK.indexName}: ${setting} = `));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain("with 1 row embedded there is no held-out query");
    expect(logged[0]).toContain("nothing was measured");
    expect(logged[0]).not.toContain("95% confidence");

    const record = await withClient(url(), async (c) =>
      (await readIndexRecords(c)).find((r) => r.name === CHUNK.indexName),
    );
    // The search is exact by construction.
    expect(record?.calibration).toMatchObject({
      queries: 0,
      value: everyRow((record?.params as { lists?: number }).lists),
    });
    const status = await releaseStatus(releaseOptions(url(), { method }));
    expect(status.vectorIndexes.find((s) => s.name === CHUNK.indexName)).toMatchObject({
      calibratedOn: "nothing: too few rows for a held-out query",
      calibrationQueries: 0,
    });
    const [kept] = await planIndexes(url(), { method });
    expect(kept).toMatchObject({ name: CHUNK.indexName, action: "unchanged" });
    expect(kept!.reason).toContain("built on 1 row (1 now)");
    expect(kept!.reason).toContain("reads every row (too few rows for a held-out query, nothing measured)");

    // A second row: the rows have doubled, and the pair is a held-out query.
    await withClient(url(), (c) =>
      copyChunks(c, fixtures, { dimension: DIM, count: 1, source: one, firstIdx: 1 }),
    );
    const [planned] = await planIndexes(url(), { method });
    expect(planned).toMatchObject({ name: CHUNK.indexName, action: "update" });
    await apply(url(), { method });
    const after = await releaseStatus(releaseOptions(url(), { method }));
    expect(after.vectorIndexes.find((s) => s.name === CHUNK.indexName)).toMatchObject({
      calibratedOn: "held-out queries",
      calibrationQueries: 1,
    });
  });
});
