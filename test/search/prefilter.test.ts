// The prefilter of search_chunks() (core/search/prefilter.ts, migration 20261203120000_tenant_search_prefilter.sql):
// the release builds the sign bits' b-tree and calibrates the depth; a tenant above PREFILTER_MIN_FACTOR times
// the depth (and below the exact threshold) is searched through it, with k rows and recall@10 ≥ 0.95 and only
// its own rows; a tenant no larger than the smaller depth's tenant ranks that many candidates; the trigger
// keeps the bits whoever writes the embedding; a database whose rows predate the bits gets them, and the
// b-tree, from the next apply.
import type { Client, ClientBase } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  defaultReleaseSteps,
  planRelease,
  readPrefilterEntries,
  readPrefilterGraphs,
  readSearchCalibrations,
  savePrefilterGraphs,
  buildPrefilterGraph,
  EMBEDDING_TABLES,
  prefilterGraphName,
  PREFILTER_GRAPH_DEPTH_FACTOR,
  type PrefilterGraphEntry,
  readSearchTuning,
  savePrefilterEntries,
  saveSearchTuning,
  saveTenantIndexes,
  PREFILTER_MIN_FACTOR,
  prefilterDepthFor,
  type PrefilterEntry,
  recallOf,
} from "../../core";
import { applyAsMigrator, useReleasedDatabase } from "../security/released-database";
import { inTransaction } from "../security/sessions";
import { vectorText, withoutDimensionTrigger } from "../vector-indexes/data";
import { exactTopK, exactNeighbours, loadCorpus, type Corpus, type CorpusShape, type Tenant } from "./corpus";
import { searchCountingScans as countingScans } from "./scans";

// Enough dimensions for sign bits to tell rows apart (a 32-dimension corpus needs most of a tenant as
// candidates), and tenants large enough for several to take the prefilter.
const SHAPE: CorpusShape = {
  rows: 6000,
  dimension: 256,
  organizations: 5,
  topics: 60,
  topicsPerOrganization: 3,
  latentDimension: 24,
  spread: 1,
  noise: 0.1,
  seed: 23,
};
const K = 10;
const QUERIES = 12;
const INDEX = "idx_chunk_sign_bits";
/**
 * Four tests apply (a calibration, with builds) inside the test: on a loaded machine one took 43 s and another
 * ran past vitest's 60 s (and the tests after it, sharing its database, failed with it).
 */
const APPLY_TIMEOUT_MS = 180_000;

/** The search's rows, and how many scans it made of the prefilter's b-tree and of any vector index on "Chunk". */
async function searchCountingScans(app: ClientBase, organization: string | undefined, query: Float32Array) {
  const { rows: vector } = await app.query<{ name: string }>(
    `SELECT x.relname AS name FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
      WHERE i.indrelid = '"Chunk"'::regclass
        AND x.relam IN (SELECT a.oid FROM pg_am a WHERE a.amname IN ('ivfflat', 'hnsw'))`,
  );
  const names = vector.map((r) => r.name);
  const found = await countingScans(app, organization, query, [INDEX, ...names]);
  return {
    rows: found.rows,
    bitsScans: found.scans.get(INDEX)!,
    vectorScans: names.reduce((sum, name) => sum + found.scans.get(name)!, 0),
  };
}

/** Rows whose bits are not their embedding's sign bits (NULL bits for an embedded row count). */
async function staleBits(client: ClientBase): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "Chunk"
      WHERE "embeddingBits" IS DISTINCT FROM binary_quantize("embedding")::bit varying`,
  );
  return rows[0]!.n;
}

describe("search_chunks through the prefilter", { timeout: APPLY_TIMEOUT_MS }, () => {
  const target = useReleasedDatabase("search_prefilter");
  let owner: Client;
  let app: Client;
  let corpus: Corpus;
  let entry: PrefilterEntry;
  let depth: number;
  let graphs: PrefilterGraphEntry[];

  beforeAll(async () => {
    owner = await target.current.roles.connect("migrator");
    corpus = await loadCorpus(owner, SHAPE);
    await applyAsMigrator(target.current, defaultReleaseSteps({ seedSets: [] }));
    // As autovacuum leaves a table after a load: the visibility map set, which an index-only scan needs.
    await owner.query(`VACUUM (ANALYZE) "Chunk"`);
    app = await target.current.roles.connect("app");
    // Found or not: the first test says whether the release listed it (depth 0 otherwise).
    entry = (await readPrefilterEntries(owner)).find((e) => e.table === "Chunk") ?? {
      table: "Chunk",
      dimension: SHAPE.dimension,
      depth: 0,
    };
    depth = entry.depth;
    graphs = await readPrefilterGraphs(owner);
    await belowThresholdOnly();
  });

  /**
   * Every tenant below the exact threshold and without an index or a graph of its own, whatever the
   * calibration measured at this size: which path a tenant takes is then the prefilter's rule alone.
   */
  async function belowThresholdOnly() {
    const tuning = (await readSearchTuning(owner)).find(
      (t) => t.table === "Chunk" && t.dimension === SHAPE.dimension,
    )!;
    await saveSearchTuning(owner, { ...tuning, exactRows: SHAPE.rows });
    await saveTenantIndexes(owner, []);
    await savePrefilterGraphs(owner, []);
  }
  afterAll(async () => {
    await app?.end();
    await owner?.end();
  });

  const above = () =>
    corpus.tenants.filter((t) => t.rows > PREFILTER_MIN_FACTOR * prefilterDepthFor(entry, t.rows));

  /** The rows search_chunks() returns, and how many rows of "Chunk" it read through an index (its candidates). */
  async function searchCountingFetches(organization: string, query: Float32Array) {
    return inTransaction(app, organization, async (c) => {
      const fetched = async () =>
        Number(
          // Heap rows fetched through an index are counted on the index.
          (
            await c.query<{ n: string }>(
              `SELECT coalesce(sum(pg_stat_get_xact_tuples_fetched(i.indexrelid)), 0) AS n
                 FROM pg_index i WHERE i.indrelid = '"Chunk"'::regclass`,
            )
          ).rows[0]!.n,
        );
      const before = await fetched();
      const { rows } = await c.query<{ id: string; datasetId: string }>(
        `SELECT "id", "datasetId" FROM search_chunks($1::vector, ${K})`,
        [vectorText(query)],
      );
      return { rows, fetched: (await fetched()) - before };
    });
  }

  async function recallThroughPrefilter(tenant: Tenant, kind: "own" | "table-wide") {
    const recalls: number[] = [];
    for (const q of corpus.queries(tenant, kind, QUERIES)) {
      const found = await searchCountingScans(app, tenant.organizationId, q);
      expect(found.bitsScans, `${tenant.organizationId} read ${INDEX}`).toBeGreaterThan(0);
      expect(found.vectorScans).toBe(0);
      expect(found.rows).toHaveLength(K);
      // Only the tenant's own rows (its one dataset), nearest first.
      expect(new Set(found.rows.map((r) => r.datasetId))).toEqual(new Set([tenant.datasetId]));
      const distances = found.rows.map((r) => r.distance);
      expect(distances).toEqual([...distances].sort((a, b) => a - b));
      recalls.push(recallOf(await exactNeighbours(owner, tenant.organizationId, q, K), found.rows));
    }
    return recalls.reduce((a, b) => a + b, 0) / recalls.length;
  }

  /** What plan says of one vector-index item. */
  async function planOf(name: string) {
    const plan = await planRelease({
      databaseUrl: target.current.roles.url("migrator"),
      migrationsDir: DEFAULT_MIGRATIONS_DIR,
      ownerRole: target.current.roles.names.owner,
      steps: defaultReleaseSteps({ seedSets: [] }),
    });
    return plan.vectorIndexes.find((i) => i.name === name);
  }

  it("was built and calibrated by the release, and is recorded for status", async () => {
    const [record] = await readSearchCalibrations(owner);
    expect(record!.prefilter).toMatchObject({ state: "on", indexName: INDEX, depth });
    expect(depth).toBeGreaterThanOrEqual(40);
    // The smaller depth, calibrated on the smallest tenant class, and listed with the depth when it is smaller.
    const small = record!.prefilter!.state === "on" ? record!.prefilter!.small : undefined;
    expect(small).toBeDefined();
    if (small!.state === "on") {
      expect(small!.depth).toBeLessThan(depth);
      expect(small!.recall).toBeGreaterThanOrEqual(0.95);
      expect(entry.small).toEqual({ rows: small!.rows, depth: small!.depth });
    } else {
      expect(entry.small).toBeUndefined();
    }
    const { rows } = await owner.query<{ valid: boolean; definition: string }>(
      `SELECT i.indisvalid AS valid, pg_get_indexdef(i.indexrelid) AS definition
         FROM pg_index i WHERE i.indexrelid = to_regclass($1)`,
      [INDEX],
    );
    expect(rows[0]).toMatchObject({ valid: true });
    expect(rows[0]!.definition).toContain(`INCLUDE ("embeddingBits", id, "datasetId", "documentId")`);
    expect(await staleBits(owner)).toBe(0);
  });

  it("gives k rows, recall@10 ≥ 0.95 and only the tenant's rows, own and table-wide queries", async () => {
    expect(above().length).toBeGreaterThanOrEqual(2);
    for (const tenant of above()) {
      for (const kind of ["own", "table-wide"] as const) {
        expect(
          await recallThroughPrefilter(tenant, kind),
          `${tenant.organizationId} ${kind}`,
        ).toBeGreaterThanOrEqual(0.95);
      }
    }
  });

  it("ranks the smaller depth's candidates for a tenant no larger than it lists, the depth for a larger one", async () => {
    // A listed smaller depth, whatever the calibration chose at this size: the second largest tenant (prefiltered
    // at the depth) takes it, the largest keeps the depth.
    const [largest, tenant] = above();
    const smallDepth = Math.max(K, Math.floor(depth / 2));
    // Both depths prefilter it: without the smaller depth listed it is not searched exactly either.
    expect(tenant!.rows).toBeGreaterThan(PREFILTER_MIN_FACTOR * depth);
    const entries = await readPrefilterEntries(owner);
    const listed = (small?: PrefilterEntry["small"]) =>
      savePrefilterEntries(owner, [
        { table: "Chunk", dimension: SHAPE.dimension, depth, ...(small ? { small } : {}) },
      ]);
    try {
      // One query per tenant, searched with and without the smaller depth listed.
      const queries = new Map([largest!, tenant!].map((t) => [t, corpus.queries(t, "own", 1)[0]!]));
      const fetches = async (t: Tenant, small?: PrefilterEntry["small"]) => {
        await listed(small);
        return searchCountingFetches(t.organizationId, queries.get(t)!);
      };
      const small = { rows: tenant!.rows, depth: smallDepth };
      const [before, after] = [await fetches(tenant!), await fetches(tenant!, small)];
      // Each candidate is one row read by its key: the smaller depth reads that many fewer.
      expect(before.fetched - after.fetched).toBe(depth - smallDepth);
      expect(after.rows).toHaveLength(K);
      expect(new Set(after.rows.map((r) => r.datasetId))).toEqual(new Set([tenant!.datasetId]));
      // One row more than the listed size: the depth.
      const larger = [await fetches(largest!), await fetches(largest!, small)];
      expect(larger[0]!.fetched).toBe(larger[1]!.fetched);
      expect(larger[1]!.rows.map((r) => r.id)).toEqual(larger[0]!.rows.map((r) => r.id));
    } finally {
      await savePrefilterEntries(owner, entries);
    }
  });

  it("searches a tenant's graph over its sign bits, listed for it, with k rows, recall@10 ≥ 0.95, its own rows", async () => {
    // What the calibration kept (prefilter-graphs.ts: each kept one beat the b-tree for its tenant, a matter
    // of timing at this size) is listed as recorded; the search path is tested on a graph built here.
    const [record] = await readSearchCalibrations(owner);
    const facts = record!.prefilter!.state === "on" ? (record!.prefilter!.graphs ?? []) : [];
    expect(facts.map((g) => g.organizationId).sort()).toEqual(graphs.map((g) => g.organizationId).sort());
    for (const g of facts) expect(g.latencyP50Ms).toBeLessThan(g.prefilterP50Ms);
    const tenant = corpus.tenants[1]!;
    const ours: PrefilterGraphEntry = {
      table: "Chunk",
      dimension: SHAPE.dimension,
      organizationId: tenant.organizationId,
      indexName: prefilterGraphName(EMBEDDING_TABLES[0]!, SHAPE.dimension, tenant.organizationId),
      depth: PREFILTER_GRAPH_DEPTH_FACTOR * depth,
      efSearch: 400,
    };
    await buildPrefilterGraph(owner, EMBEDDING_TABLES[0]!, SHAPE.dimension, tenant.organizationId);
    await savePrefilterGraphs(owner, [ours]);
    try {
      const { rows: definition } = await owner.query<{ d: string }>(
        `SELECT pg_get_indexdef(to_regclass($1)) AS d`,
        [`"${ours.indexName}"`],
      );
      expect(definition[0]!.d).toContain('USING hnsw ((("embeddingBits")::bit(256)) bit_hamming_ops)');
      expect(definition[0]!.d).toContain(`"organizationId" = '${ours.organizationId}'::text`);
      for (const kind of ["own", "table-wide"] as const) {
        const recalls: number[] = [];
        for (const q of corpus.queries(tenant, kind, QUERIES)) {
          const found = await countingScans(app, tenant.organizationId, q, [ours.indexName, INDEX]);
          expect(found.scans.get(ours.indexName), `${tenant.organizationId} read its graph`).toBeGreaterThan(
            0,
          );
          expect(found.scans.get(INDEX)).toBe(0);
          expect(found.rows).toHaveLength(K);
          expect(new Set(found.rows.map((r) => r.datasetId))).toEqual(new Set([tenant.datasetId]));
          recalls.push(recallOf(await exactNeighbours(owner, tenant.organizationId, q, K), found.rows));
        }
        const recall = recalls.reduce((x, y) => x + y, 0) / recalls.length;
        expect(recall, `${tenant.organizationId} ${kind}`).toBeGreaterThanOrEqual(0.95);
      }
      // A dataset filter narrows the search: the b-tree answers it, not the tenant's graph.
      const q = corpus.queries(tenant, "own", 1)[0]!;
      const filtered = await countingScans(app, tenant.organizationId, q, [ours.indexName, INDEX], {
        datasetId: tenant.datasetId,
      });
      expect(filtered.scans.get(ours.indexName)).toBe(0);
      expect(filtered.rows).toHaveLength(K);
      // The caller's hnsw.ef_search is as it was after a search through the graph (which ran at 400).
      const [before, after] = await inTransaction(
        app,
        tenant.organizationId,
        async (c) => {
          await c.query("SET LOCAL hnsw.ef_search = 33");
          const read = async () =>
            (await c.query<{ s: string }>(`SELECT current_setting('hnsw.ef_search') AS s`)).rows[0]!.s;
          const first = await read();
          await c.query(`SELECT * FROM search_chunks($1::vector, ${K})`, [vectorText(q)]);
          return [first, await read()];
        },
        { rollback: true },
      );
      expect([before, after]).toEqual(["33", "33"]);
      // Fewer than k rows from the graph (a depth below k): the tenant is counted and searched as any other,
      // through the prefilter's b-tree, with k rows of its own.
      await savePrefilterGraphs(owner, [{ ...ours, depth: K / 2 }]);
      const short = await countingScans(app, tenant.organizationId, q, [ours.indexName, INDEX]);
      expect(short.scans.get(ours.indexName)).toBeGreaterThan(0);
      expect(short.scans.get(INDEX)).toBeGreaterThan(0);
      expect(short.rows).toHaveLength(K);
      expect(new Set(short.rows.map((r) => r.datasetId))).toEqual(new Set([tenant.datasetId]));
      // Another tenant's graph is never read for this one.
      const other = corpus.tenants.find((t) => t.organizationId !== tenant.organizationId)!;
      const theirs = await countingScans(app, other.organizationId, q, [ours.indexName]);
      expect(theirs.scans.get(ours.indexName)).toBe(0);
      expect(theirs.rows.every((r) => r.datasetId === other.datasetId)).toBe(true);
    } finally {
      await savePrefilterGraphs(owner, []);
      if (!graphs.some((g) => g.indexName === ours.indexName))
        await owner.query(`DROP INDEX IF EXISTS "${ours.indexName}"`);
    }
  });

  it("searches a tenant at or below its factor of the depth exactly, and none without an organization", async () => {
    // A depth that puts the smallest tenant at its factor of it, whatever the calibration chose at this size.
    const small = corpus.tenants.at(-1)!;
    const largest = corpus.tenants[0]!;
    const deeper = Math.ceil(small.rows / PREFILTER_MIN_FACTOR);
    expect(largest.rows).toBeGreaterThan(PREFILTER_MIN_FACTOR * deeper);
    const entries = await readPrefilterEntries(owner);
    await savePrefilterEntries(owner, [{ table: "Chunk", dimension: SHAPE.dimension, depth: deeper }]);
    try {
      const q = corpus.queries(small, "table-wide", 1)[0]!;
      const found = await searchCountingScans(app, small.organizationId, q);
      expect(found.bitsScans).toBe(0);
      expect(found.vectorScans).toBe(0);
      expect(found.rows.map((r) => r.id)).toEqual(await exactTopK(owner, small.organizationId, q, K));
      // The same depth still sends the largest tenant through the prefilter: the rule decides, not the depth.
      const big = await searchCountingScans(
        app,
        largest.organizationId,
        corpus.queries(largest, "own", 1)[0]!,
      );
      expect(big.bitsScans).toBeGreaterThan(0);
    } finally {
      await savePrefilterEntries(owner, entries);
    }
    const none = await searchCountingScans(app, undefined, corpus.queries(largest, "own", 1)[0]!);
    expect(none.rows).toEqual([]);
  });

  it("keeps the bits whoever writes the embedding: the app's insert, an update, a hand-written value", async () => {
    const tenant = corpus.tenants[1]!;
    const vector = vectorText(corpus.queries(tenant, "own", 1)[0]!);
    const other = vectorText(corpus.queries(tenant, "table-wide", 1)[0]!);
    const bitsOf = async (c: ClientBase, id: string) =>
      (
        await c.query<{ ok: boolean }>(
          `SELECT "embeddingBits" = binary_quantize("embedding")::bit varying AS ok FROM "Chunk" WHERE "id" = $1`,
          [id],
        )
      ).rows[0]?.ok;
    await inTransaction(
      app,
      tenant.organizationId,
      async (c) => {
        const { rows } = await c.query<{ id: string }>(
          `INSERT INTO "Chunk" ("datasetId", "documentId", "embeddingSpaceId", "idx", "text", "embedding")
           VALUES ($1, $2, $3, 1000000, 'prefilter', $4::vector) RETURNING "id"`,
          [tenant.datasetId, tenant.documentId, corpus.spaceId, vector],
        );
        const id = rows[0]!.id;
        expect(await bitsOf(c, id)).toBe(true);
        await c.query(`UPDATE "Chunk" SET "embedding" = $2::vector WHERE "id" = $1`, [id, other]);
        expect(await bitsOf(c, id)).toBe(true);
        await c.query(`UPDATE "Chunk" SET "embeddingBits" = B'101' WHERE "id" = $1`, [id]);
        expect(await bitsOf(c, id)).toBe(true);
        await c.query(`UPDATE "Chunk" SET "embedding" = NULL WHERE "id" = $1`, [id]);
        const cleared = await c.query(`SELECT "embeddingBits" FROM "Chunk" WHERE "id" = $1`, [id]);
        expect(cleared.rows[0]).toEqual({ embeddingBits: null });
      },
      { rollback: true },
    );
  });

  it("leaves out a chunk of another dimension than its space, whose sign bits are of another length", async () => {
    // Written with the dimension trigger disabled (the bits' trigger still fills its 3 bits), as a database that
    // had it disabled once holds it: every search of its tenant through the prefilter failed on the Hamming
    // distance between bit strings of different lengths (migration 20261206110100).
    const tenant = above()[0]!;
    const q = corpus.queries(tenant, "own", 1)[0]!;
    const before = await searchCountingScans(app, tenant.organizationId, q);
    expect(before.bitsScans).toBeGreaterThan(0);
    await withoutDimensionTrigger(owner, "Chunk", () =>
      owner.query(
        `INSERT INTO "Chunk" ("id", "datasetId", "documentId", "embeddingSpaceId", "idx", "text", "embedding")
         VALUES ('wrong-dimension', $1, $2, $3, 1000000, 'wrong', '[1,2,3]')`,
        [tenant.datasetId, tenant.documentId, corpus.spaceId],
      ),
    );
    try {
      const after = await searchCountingScans(app, tenant.organizationId, q);
      expect(after.bitsScans).toBeGreaterThan(0);
      expect(after.rows).toEqual(before.rows);
    } finally {
      await owner.query(`DELETE FROM "Chunk" WHERE "id" = 'wrong-dimension'`);
    }
  });

  it("turns itself off, saying why, when the trigger does not fill the bits; the search stays exact and right", async () => {
    await owner.query(`ALTER TABLE "Chunk" DISABLE TRIGGER chunk_embedding_bits`);
    try {
      await owner.query(`UPDATE "Chunk" SET "embeddingBits" = NULL`);
      await owner.query(`DROP INDEX ${INDEX}`);
      await owner.query(`UPDATE neonhub_release.search_calibrations SET prefilter = NULL`);
      const applied = await applyAsMigrator(target.current, defaultReleaseSteps({ seedSets: [] }));
      const item = applied.vectorIndexes.find((i) => i.name === "idx_chunk_embedding_cosine");
      expect(item?.details).toMatchObject({
        tenantSearch: {
          prefilter: { state: "off", reason: expect.stringContaining("ENABLE TRIGGER chunk_embedding_bits") },
        },
      });
      expect((await readPrefilterEntries(owner)).filter((e) => e.table === "Chunk")).toEqual([]);
      // Nothing more to do while the trigger stays disabled: the next plan is settled. Planned on the lists this
      // apply wrote, before belowThresholdOnly() takes the tenant indexes off theirs: the calibration keeps an
      // index of its own for the largest tenant or not, and sets the exact threshold below it or not, by timing,
      // and a tenant past the recorded threshold whose own index is no longer listed reads as one grown into the
      // dimension's index since (crossed-threshold.ts), which planned `update` on a loaded machine.
      const settled = await planOf("idx_chunk_embedding_cosine");
      expect(settled?.action, `plan: ${settled?.action} (${settled?.reason})`).toBe("unchanged");
      await belowThresholdOnly();
      const tenant = corpus.tenants[0]!;
      const q = corpus.queries(tenant, "table-wide", 1)[0]!;
      const found = await searchCountingScans(app, tenant.organizationId, q);
      expect(found.bitsScans).toBe(0);
      expect(found.rows.map((r) => r.id)).toEqual(await exactTopK(owner, tenant.organizationId, q, K));
    } finally {
      await owner.query(`ALTER TABLE "Chunk" ENABLE TRIGGER chunk_embedding_bits`);
    }
    // Enabled again: the next apply builds and calibrates it.
    expect(await planOf("idx_chunk_embedding_cosine")).toMatchObject({
      action: "update",
      reason: expect.stringContaining("the trigger keeping the sign bits is enabled again"),
    });
  });

  it("fills the bits of rows that predate them and builds the b-tree on the next apply", async () => {
    // A database upgraded to the prefilter: rows written before the trigger, no b-tree, no prefilter record.
    await owner.query(`ALTER TABLE "Chunk" DISABLE TRIGGER chunk_embedding_bits`);
    try {
      await owner.query(`UPDATE "Chunk" SET "embeddingBits" = NULL`);
    } finally {
      await owner.query(`ALTER TABLE "Chunk" ENABLE TRIGGER chunk_embedding_bits`);
    }
    await owner.query(`DROP INDEX IF EXISTS ${INDEX}`); // the test above leaves none
    await owner.query(`UPDATE neonhub_release.search_calibrations SET prefilter = NULL`);
    expect(await staleBits(owner)).toBe(SHAPE.rows);

    expect(await planOf("idx_chunk_embedding_cosine")).toMatchObject({
      action: "update",
      reason: expect.stringContaining("prefilter is not built"),
    });

    const applied = await applyAsMigrator(target.current, defaultReleaseSteps({ seedSets: [] }));
    const item = applied.vectorIndexes.find((i) => i.name === "idx_chunk_embedding_cosine");
    expect(item?.details).toMatchObject({
      tenantSearch: { prefilter: { state: "on", backfilledRows: SHAPE.rows, buildMs: expect.any(Number) } },
    });
    expect(await staleBits(owner)).toBe(0);
    const [record] = await readSearchCalibrations(owner);
    expect(record!.prefilter).toMatchObject({ state: "on", indexName: INDEX });
    // The next apply has nothing more to do for it.
    const again = await applyAsMigrator(target.current, defaultReleaseSteps({ seedSets: [] }));
    expect(again.vectorIndexes.find((i) => i.name === "idx_chunk_embedding_cosine")?.action).toBe(
      "unchanged",
    );
  });

  it("calibrates the smaller depth on the next apply of a database calibrated before it", async () => {
    // A record of the prefilter with no word on the smaller depth, and none listed (the release before it).
    await owner.query(
      `UPDATE neonhub_release.search_calibrations SET prefilter = prefilter - 'small' WHERE prefilter IS NOT NULL`,
    );
    await savePrefilterEntries(owner, [{ table: "Chunk", dimension: SHAPE.dimension, depth }]);
    expect(await planOf("idx_chunk_embedding_cosine")).toMatchObject({
      action: "update",
      reason: expect.stringContaining("smaller depth for small tenants is not calibrated yet"),
    });
    await applyAsMigrator(target.current, defaultReleaseSteps({ seedSets: [] }));
    const [record] = await readSearchCalibrations(owner);
    const small = record!.prefilter!.state === "on" ? record!.prefilter!.small : undefined;
    expect(small).toBeDefined();
    const listed = (await readPrefilterEntries(owner)).find((e) => e.table === "Chunk")!;
    expect(listed.small).toEqual(
      small!.state === "on" ? { rows: small!.rows, depth: small!.depth } : undefined,
    );
    await belowThresholdOnly();
  });

  it("builds the largest tenants' graphs on the next apply of a database calibrated before them", async () => {
    // A record of the prefilter with no word on graphs, none listed and none built (the release before them).
    await owner.query(
      `UPDATE neonhub_release.search_calibrations SET prefilter = prefilter - 'graphs' WHERE prefilter IS NOT NULL`,
    );
    await savePrefilterGraphs(owner, []);
    const graphIndexes = `SELECT relname AS name FROM pg_class WHERE relname LIKE 'idx_chunk_tenant_bits_%'`;
    for (const { name } of (await owner.query<{ name: string }>(graphIndexes)).rows)
      await owner.query(`DROP INDEX "${name}"`);
    expect((await owner.query(graphIndexes)).rows).toEqual([]);

    expect(await planOf("idx_chunk_embedding_cosine")).toMatchObject({
      action: "update",
      reason: expect.stringContaining("graphs over their sign bits are not calibrated yet"),
    });
    await applyAsMigrator(target.current, defaultReleaseSteps({ seedSets: [] }));
    const [record] = await readSearchCalibrations(owner);
    const built = record!.prefilter!.state === "on" ? record!.prefilter!.graphs : undefined;
    expect(built).toBeDefined();
    expect((await readPrefilterGraphs(owner)).map((g) => g.indexName).sort()).toEqual(
      built!.map((g) => g.indexName).sort(),
    );
    for (const g of built!) {
      const { rows } = await owner.query(
        `SELECT 1 FROM pg_index WHERE indexrelid = to_regclass($1) AND indisvalid`,
        [`"${g.indexName}"`],
      );
      expect(rows).toHaveLength(1);
    }
    const again = await applyAsMigrator(target.current, defaultReleaseSteps({ seedSets: [] }));
    expect(again.vectorIndexes.find((i) => i.name === "idx_chunk_embedding_cosine")?.action).toBe(
      "unchanged",
    );
  });

  it("fills the bits and builds the b-tree again when a revert past their migration took them, the record still on", async () => {
    // What a revert past 20261203120000 and its apply leave: the column dropped and added again (no bits, its
    // b-tree and the graphs over it gone), the lists made anew empty; the release's record still says "on".
    await owner.query(`ALTER TABLE "Chunk" DISABLE TRIGGER chunk_embedding_bits`);
    try {
      await owner.query(`UPDATE "Chunk" SET "embeddingBits" = NULL`);
    } finally {
      await owner.query(`ALTER TABLE "Chunk" ENABLE TRIGGER chunk_embedding_bits`);
    }
    await owner.query(`DROP INDEX ${INDEX}`);
    const graphIndexes = `SELECT relname AS name FROM pg_class WHERE relname LIKE 'idx_chunk_tenant_bits_%'`;
    for (const { name } of (await owner.query<{ name: string }>(graphIndexes)).rows)
      await owner.query(`DROP INDEX "${name}"`);
    await savePrefilterGraphs(owner, []);
    await savePrefilterEntries(owner, []);
    const [before] = await readSearchCalibrations(owner);
    expect(before!.prefilter).toMatchObject({ state: "on", indexName: INDEX });

    expect(await planOf("idx_chunk_embedding_cosine")).toMatchObject({
      action: "update",
      reason: expect.stringContaining(`the prefilter's b-tree ${INDEX} is gone`),
    });
    const applied = await applyAsMigrator(target.current, defaultReleaseSteps({ seedSets: [] }));
    const item = applied.vectorIndexes.find((i) => i.name === "idx_chunk_embedding_cosine");
    expect(item?.details).toMatchObject({
      tenantSearch: { prefilter: { state: "on", backfilledRows: SHAPE.rows, buildMs: expect.any(Number) } },
    });
    expect(await staleBits(owner)).toBe(0);
    const { rows: valid } = await owner.query(
      `SELECT 1 FROM pg_index WHERE indexrelid = to_regclass($1) AND indisvalid`,
      [INDEX],
    );
    expect(valid).toHaveLength(1);
    expect((await readPrefilterEntries(owner)).filter((e) => e.table === "Chunk")).not.toEqual([]);
    const again = await applyAsMigrator(target.current, defaultReleaseSteps({ seedSets: [] }));
    expect(again.vectorIndexes.find((i) => i.name === "idx_chunk_embedding_cosine")?.action).toBe(
      "unchanged",
    );
  });
});
