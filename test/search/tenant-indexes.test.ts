// The largest tenants' own vector indexes (core/search/tenant-indexes.ts, migration
// 20261202060000_tenant_search_indexes.sql): which tenants qualify, and search_chunks() as the app calls it
// once one is listed: the tenant's search goes through its own index with k rows and recall@10 ≥ 0.95,
// another tenant's search never touches it nor sees its rows, and no organization set still gives none.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  buildPrefilterGraph,
  buildTenantIndex,
  checkHealth,
  dropPrefilterGraph,
  dropTenantIndex,
  prefilterGraphName,
  readPrefilterGraphs,
  planRelease,
  releaseStatus,
  readListedIndexes,
  outgrownListedIndexes,
  rebuiltListedIndexes,
  unusableListedIndexes,
  defaultReleaseSteps,
  readTenantIndexes,
  saveSearchTuning,
  saveTenantIndexes,
  savePrefilterGraphs,
  tenantIndexCandidates,
  tenantIndexName,
  tenantIndexSql,
  EMBEDDING_TABLES,
  readPrefilterEntries,
  readSearchTuning,
  readSearchCalibrations,
  type ListedIndex,
  type SearchTuning,
  recallOf,
} from "../../core";
import { applyAsMigrator, useReleasedDatabase } from "../security/released-database";
import { inTransaction } from "../security/sessions";
import { vectorText } from "../vector-indexes/data";
import { addTenant, exactNeighbours, loadCorpus, type Corpus, type CorpusShape, type Tenant } from "./corpus";
import { searchCountingScans, type Found } from "./scans";

const SHAPE: CorpusShape = {
  rows: 4000,
  dimension: 32,
  organizations: 8,
  topics: 60,
  topicsPerOrganization: 3,
  latentDimension: 12,
  spread: 1,
  noise: 0.1,
  seed: 16,
};
const K = 10;
const QUERIES = 12;
/** The rows of the tenant added before the last calibration: twice the largest's (zipfSizes: 1,476). */
const BULK_ROWS = 3000;
const CHUNK = EMBEDDING_TABLES[0]!;

describe("which tenants get an index of their own", () => {
  const tenants = [
    { organizationId: "a", rows: 5000 },
    { organizationId: "b", rows: 2500 },
    { organizationId: "c", rows: 1500 },
    { organizationId: "d", rows: 1000 },
  ];

  it("takes the tenants with at least a tenth of the rows and more than the exact threshold, largest first", () => {
    expect(tenantIndexCandidates(tenants, { exactRows: 1200 }).map((t) => t.organizationId)).toEqual([
      "a",
      "b",
      "c",
    ]);
    expect(tenantIndexCandidates(tenants, { exactRows: 2000 }).map((t) => t.organizationId)).toEqual([
      "a",
      "b",
    ]);
    expect(tenantIndexCandidates(tenants, { exactRows: 0, minShare: 0.4 })).toEqual([
      { organizationId: "a", rows: 5000 },
    ]);
  });

  it("gives a single tenant none: its search is the dimension's index's own unfiltered case", () => {
    expect(tenantIndexCandidates([{ organizationId: "a", rows: 9000 }], { exactRows: 0 })).toEqual([]);
    expect(tenantIndexCandidates([], { exactRows: 0 })).toEqual([]);
  });

  it("names each index within PostgreSQL's 63 bytes and outside the dimension's index's prefix", () => {
    const name = tenantIndexName(CHUNK, 1536, "x".repeat(200));
    expect(name).toMatch(/^idx_chunk_tenant_1536_[0-9a-f]{12}$/);
    expect(name.startsWith(CHUNK.indexName)).toBe(false);
    expect(tenantIndexName(CHUNK, 1536, "org_a")).not.toBe(tenantIndexName(CHUNK, 1536, "org_b"));
    expect(tenantIndexName(CHUNK, 1536, "org_a")).not.toBe(tenantIndexName(CHUNK, 3072, "org_a"));
  });

  it("builds a partial HNSW index over the dimension's expression and the tenant, the id quoted", () => {
    const sql = tenantIndexSql({ table: CHUNK, dimension: 1536 }, "o'1", { concurrently: true });
    expect(sql).toContain(`USING hnsw (("embedding"::vector(1536)) vector_cosine_ops)`);
    expect(sql).toContain(`WHERE vector_dims("embedding") = 1536 AND "organizationId" = 'o''1'`);
    expect(sql).toMatch(/^CREATE INDEX CONCURRENTLY /);
  });
});

describe("a listed index the planner cannot use", () => {
  const listed = (over: Partial<ListedIndex>): ListedIndex => ({
    table: "Chunk",
    dimension: 32,
    organizationId: "org-1",
    indexName: "idx_chunk_tenant_32_0123456789ab",
    kind: "own index",
    state: "valid",
    rowsNow: null,
    ...over,
  });

  it("says which, of the table and dimension asked, and why; nothing when all are valid", () => {
    const all = [
      listed({}),
      listed({ organizationId: "org-2", indexName: "idx_chunk_tenant_32_b", state: "missing" }),
      listed({
        organizationId: "org-3",
        indexName: "idx_chunk_tenant_bits_32_c",
        kind: "graph over its sign bits",
        state: "INVALID",
      }),
      listed({ dimension: 64, indexName: "idx_chunk_tenant_64_d", state: "missing" }),
      listed({ table: "Message", indexName: "idx_message_tenant_32_e", state: "missing" }),
    ];
    expect(unusableListedIndexes(all, "Chunk", 32)).toBe(
      "the own index of tenant org-2 that the search lists, idx_chunk_tenant_32_b, is missing (dropped outside the release); " +
        "the graph over its sign bits of tenant org-3 that the search lists, idx_chunk_tenant_bits_32_c, is INVALID (an interrupted build)",
    );
    expect(unusableListedIndexes(all, "Message", 32)).toContain("idx_message_tenant_32_e");
    expect(unusableListedIndexes([listed({})], "Chunk", 32)).toBeUndefined();
    expect(unusableListedIndexes(all, "Chunk", 16)).toBeUndefined();
  });

  it("says which listed indexes' tenants have grown by a quarter over the rows their calibration measured", () => {
    const graph = (organizationId: string, rowsNow: number) =>
      listed({
        organizationId,
        indexName: `idx_chunk_tenant_bits_32_${organizationId}`,
        kind: "graph over its sign bits",
        rowsNow,
      });
    const own = (organizationId: string, rowsNow: number) =>
      listed({
        organizationId,
        indexName: `idx_chunk_tenant_32_${organizationId}`,
        rowsNow,
        rowsEstimated: true,
      });
    const rows = (organizationId: string, rows: number) => ({ organizationId, rows });
    const calibrated = {
      graphs: [rows("a", 10_000), rows("b", 10_000), rows("c", 10_000)],
      // g's index was estimated above its count when calibrated (rows deleted, not yet vacuumed): its
      // estimate now is compared with that one, not with the count.
      ownIndexes: [rows("e", 40_000), rows("f", 40_000), { ...rows("g", 40_000), estimatedRows: 48_000 }],
    };
    const all = [
      graph("a", 12_499),
      graph("b", 12_500),
      graph("c", 5_000),
      graph("d", 90_000),
      own("e", 49_999),
      own("f", 50_000),
      own("g", 59_999),
      listed({}),
    ];
    expect(outgrownListedIndexes(all, calibrated, "Chunk", 32)).toBe(
      "the graph over its sign bits of tenant b, idx_chunk_tenant_bits_32_b, was calibrated on 10,000 rows, " +
        "and the tenant has 12,500 now; " +
        "the own index of tenant f, idx_chunk_tenant_32_f, was calibrated on 40,000 rows, " +
        "and the tenant has about 50,000 now (PostgreSQL's estimate, pg_class.reltuples)",
    );
    expect(outgrownListedIndexes([own("g", 60_000)], calibrated, "Chunk", 32)).toBe(
      "the own index of tenant g, idx_chunk_tenant_32_g, was calibrated on 40,000 rows (PostgreSQL's estimate " +
        "then 48,000), and the tenant has about 60,000 now (PostgreSQL's estimate, pg_class.reltuples)",
    );
    // Another dimension's; none outgrown; one the record does not know (listed by hand); a graph's rows are
    // not an own index's (b's graph grew, and the record has no own index of b's).
    expect(outgrownListedIndexes(all, calibrated, "Chunk", 64)).toBeUndefined();
    expect(outgrownListedIndexes([graph("a", 12_499)], calibrated, "Chunk", 32)).toBeUndefined();
    expect(outgrownListedIndexes([graph("d", 90_000)], calibrated, "Chunk", 32)).toBeUndefined();
    expect(outgrownListedIndexes([own("b", 90_000)], calibrated, "Chunk", 32)).toBeUndefined();
    expect(
      outgrownListedIndexes([{ ...own("f", 0), rowsNow: null }], calibrated, "Chunk", 32),
    ).toBeUndefined();
  });

  it("says which listed indexes were built again since their calibration, by their storage", () => {
    const at = (organizationId: string, kind: ListedIndex["kind"], relfilenode: number | null) =>
      listed({
        organizationId,
        indexName: `idx_${organizationId}`,
        kind,
        relfilenode,
      });
    const calibrated = {
      graphs: [
        { organizationId: "a", rows: 1000, relfilenode: 100 },
        { organizationId: "b", rows: 1000, relfilenode: 200 },
      ],
      // c's record was made before the storage was recorded: it decides nothing.
      ownIndexes: [
        { organizationId: "b", rows: 1000, relfilenode: 300 },
        { organizationId: "c", rows: 1000 },
      ],
    };
    const graph = "graph over its sign bits" as const;
    const own = "own index" as const;
    expect(
      rebuiltListedIndexes(
        [at("a", graph, 100), at("b", graph, 201), at("b", own, 300), at("c", own, 7)],
        calibrated,
        "Chunk",
        32,
      ),
    ).toBe(
      "the graph over its sign bits of tenant b, idx_b, was built again since it was calibrated " +
        "(a table rewrite, a REINDEX or a pg_restore)",
    );
    // The own index of b is matched with b's own index, not with b's graph; one gone is another finding's.
    expect(rebuiltListedIndexes([at("b", own, 200)], calibrated, "Chunk", 32)).toContain(
      "own index of tenant b",
    );
    expect(
      rebuiltListedIndexes([{ ...at("a", graph, null), state: "missing" }], calibrated, "Chunk", 32),
    ).toBeUndefined();
    expect(rebuiltListedIndexes([at("b", graph, 201)], calibrated, "Chunk", 64)).toBeUndefined();
    expect(rebuiltListedIndexes([at("z", graph, 1)], calibrated, "Chunk", 32)).toBeUndefined();
  });
});

describe("search_chunks through a tenant's own index", () => {
  const target = useReleasedDatabase("search_tenant_index", {});
  let owner: Client;
  let app: Client;
  let corpus: Corpus;
  let largest: Tenant;
  let ownIndex: string;
  /** The largest tenant's entry in search_tenant_indexes(), as this file's set-up lists it. */
  const largestEntry = () => ({
    table: "Chunk",
    dimension: SHAPE.dimension,
    organizationId: largest.organizationId,
    indexName: ownIndex,
    exactRows: 300,
    efSearch: 40,
  });
  let calibrated: SearchTuning;

  beforeAll(async () => {
    owner = await target.current.roles.connect("migrator");
    corpus = await loadCorpus(owner, SHAPE);
    await applyAsMigrator(target.current, defaultReleaseSteps({ seedSets: [] }));
    app = await target.current.roles.connect("app");
    calibrated = (await readSearchTuning(owner)).find(
      (t) => t.table === "Chunk" && t.dimension === SHAPE.dimension,
    )!;
    // Whatever the calibration measured on this small corpus: the largest tenant gets its index here, and
    // the search goes through an index (not exactly) above 300 visible rows.
    largest = corpus.tenants[0]!;
    ownIndex = tenantIndexName(CHUNK, SHAPE.dimension, largest.organizationId);
    await buildTenantIndex(owner, { table: CHUNK, dimension: SHAPE.dimension }, largest);
    await saveTenantIndexes(owner, [largestEntry()]);
    await saveSearchTuning(owner, { ...calibrated, exactRows: 300 });
    // Nor a graph over a tenant's sign bits, which the calibration keeps or not by timing at this size and
    // which a tenant's search takes before anything else (prefilter.test.ts tests that path).
    await savePrefilterGraphs(owner, []);
  });
  afterAll(async () => {
    await app?.end();
    await owner?.end();
  });

  it("lists the tenant's index for the search functions", async () => {
    expect(await readTenantIndexes(owner)).toEqual([
      expect.objectContaining({ organizationId: largest.organizationId, indexName: ownIndex, efSearch: 40 }),
    ]);
  });

  it("searches the largest tenant through its own index: k rows, recall@10 ≥ 0.95, own and table-wide", async () => {
    expect(largest.rows).toBeGreaterThan(300);
    for (const kind of ["own", "table-wide"] as const) {
      const recalls: number[] = [];
      for (const q of corpus.queries(largest, kind, QUERIES)) {
        const found = await searchCountingScans(app, largest.organizationId, q, [ownIndex, CHUNK.indexName]);
        expect(found.scans.get(ownIndex), `${kind}: scans of the tenant's index`).toBeGreaterThan(0);
        expect(found.scans.get(CHUNK.indexName), `${kind}: scans of the dimension's index`).toBe(0);
        expect(found.rows).toHaveLength(K);
        expect(new Set(found.rows.map((r) => r.datasetId))).toEqual(new Set([largest.datasetId]));
        const distances = found.rows.map((r) => r.distance);
        expect(distances).toEqual([...distances].sort((a, b) => a - b));
        recalls.push(recallOf(await exactNeighbours(owner, largest.organizationId, q, K), found.rows));
      }
      expect(recalls.reduce((a, b) => a + b, 0) / recalls.length, kind).toBeGreaterThanOrEqual(0.95);
    }
  });

  it("reads the settings the release rewrote in one lookup: the tenant's own entry over its dimension's", async () => {
    const settings = async (table: string, dims: number, organization: string) =>
      (
        await inTransaction(app, organization, (c) =>
          c.query<{ exact_rows: number; probes: number | null; ef_search: number | null }>(
            `SELECT * FROM search_settings($1, $2, $3)`,
            [table, dims, organization],
          ),
        )
      ).rows;
    // The prefilter's depths are the dimension's (the calibration's, search_prefilter_entries()).
    const prefilter = (await readPrefilterEntries(owner)).find(
      (e) => e.table === "Chunk" && e.dimension === SHAPE.dimension,
    );
    const depth = prefilter?.depth;
    expect(depth).toBeGreaterThan(0);
    const noGraph = { graph_index: null, graph_depth: null, graph_ef_search: null };
    const depths = {
      prefilter_depth: depth,
      prefilter_small_rows: prefilter?.small?.rows ?? null,
      prefilter_small_depth: prefilter?.small?.depth ?? null,
    };
    const noPrefilter = { prefilter_depth: null, prefilter_small_rows: null, prefilter_small_depth: null };
    const dimension = {
      probes: calibrated.probes ?? null,
      ef_search: calibrated.efSearch ?? null,
      ...depths,
    };
    expect(await settings("Chunk", SHAPE.dimension, largest.organizationId)).toEqual([
      {
        exact_rows: 300,
        probes: dimension.probes,
        ef_search: 40,
        ...depths,
        ...noGraph,
        own_index: true,
      },
    ]);
    const other = corpus.tenants[1]!.organizationId;
    expect(await settings("Chunk", SHAPE.dimension, other)).toEqual([
      { exact_rows: 300, ...dimension, ...noGraph, own_index: false },
    ]);
    // Nothing measured for a table or dimension: exact search up to 10,000 visible rows, the function's own
    // index settings.
    expect(await settings("Message", SHAPE.dimension, other)).toEqual([
      { exact_rows: 10000, probes: null, ef_search: null, ...noPrefilter, ...noGraph, own_index: false },
    ]);
    expect(await settings("Chunk", SHAPE.dimension + 1, largest.organizationId)).toEqual([
      { exact_rows: 10000, probes: null, ef_search: null, ...noPrefilter, ...noGraph, own_index: false },
    ]);
    // A rewrite of the tenants' list reaches the next call (search_tenant_indexes() is read, not copied).
    await saveTenantIndexes(owner, []);
    try {
      expect(await settings("Chunk", SHAPE.dimension, largest.organizationId)).toEqual([
        { exact_rows: 300, ...dimension, ...noGraph, own_index: false },
      ]);
    } finally {
      await saveTenantIndexes(owner, [largestEntry()]);
    }
    // A tenant's graph over its sign bits (search_prefilter_graphs()) is that tenant's alone.
    const graph = {
      table: "Chunk",
      dimension: SHAPE.dimension,
      organizationId: other,
      indexName: "idx_chunk_tenant_bits_listed",
      depth: 80,
      efSearch: 300,
    };
    await savePrefilterGraphs(owner, [graph]);
    try {
      expect(await settings("Chunk", SHAPE.dimension, other)).toEqual([
        {
          exact_rows: 300,
          ...dimension,
          graph_index: graph.indexName,
          graph_depth: 80,
          graph_ef_search: 300,
          own_index: false,
        },
      ]);
      expect(await settings("Chunk", SHAPE.dimension, largest.organizationId)).toEqual([
        { exact_rows: 300, probes: dimension.probes, ef_search: 40, ...depths, ...noGraph, own_index: true },
      ]);
    } finally {
      await savePrefilterGraphs(owner, []);
    }
  });

  it("keeps k rows with a dataset filter inside the tenant", async () => {
    const q = corpus.queries(largest, "own", 1)[0]!;
    const found = await searchCountingScans(app, largest.organizationId, q, [ownIndex], {
      datasetId: largest.datasetId,
    });
    expect(found.rows).toHaveLength(K);
    expect(new Set(found.rows.map((r) => r.datasetId))).toEqual(new Set([largest.datasetId]));
  });

  it("does not count a tenant with its own index, unless a dataset narrows its search", async () => {
    // The count before the search reads the table or a b-tree that leads with the tenant (for a table's
    // name, pg_stat_get_xact_numscans counts sequential scans); the index path reads none of them.
    const btrees = [
      "Chunk",
      "Chunk_organizationId_embeddingSpaceId_idx",
      "Chunk_organizationId_datasetId_idx",
    ];
    const q = corpus.queries(largest, "own", 1)[0]!;
    const scansOf = (found: { scans: Map<string, number> }) => btrees.map((n) => found.scans.get(n) ?? 0);
    const unfiltered = await searchCountingScans(app, largest.organizationId, q, [ownIndex, ...btrees]);
    expect(unfiltered.rows).toHaveLength(K);
    expect(unfiltered.scans.get(ownIndex)).toBeGreaterThan(0);
    expect(scansOf(unfiltered)).toEqual([0, 0, 0]);
    const filtered = await searchCountingScans(app, largest.organizationId, q, btrees, {
      datasetId: largest.datasetId,
    });
    expect(filtered.rows).toHaveLength(K);
    expect(scansOf(filtered).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it("returns every row of a tenant with its own index that has shrunk below k rows", async () => {
    const q = corpus.queries(largest, "own", 1)[0]!;
    const kept = await inTransaction(
      app,
      largest.organizationId,
      async (c) => {
        const ids = (
          await c.query<{ id: string }>(`SELECT "id" FROM "Chunk" ORDER BY "id" LIMIT 4`)
        ).rows.map((r) => r.id);
        await c.query(`DELETE FROM "Chunk" WHERE NOT ("id" = ANY ($1))`, [ids]);
        const found = await c.query<Found>(`SELECT * FROM search_chunks($1::vector, $2)`, [vectorText(q), K]);
        return { ids, found: found.rows.map((r) => r.id) };
      },
      { rollback: true },
    );
    expect([...kept.found].sort()).toEqual([...kept.ids].sort());
  });

  it("never uses another tenant's index nor returns its rows; no organization set: no rows", async () => {
    const others = corpus.tenants.filter((t) => t.organizationId !== largest.organizationId);
    for (const tenant of others) {
      const q = corpus.queries(largest, "own", 1)[0]!; // near the largest tenant's topics
      const found = await searchCountingScans(app, tenant.organizationId, q, [ownIndex]);
      expect(found.scans.get(ownIndex), tenant.organizationId).toBe(0);
      expect(found.rows).toHaveLength(Math.min(K, tenant.rows));
      expect(new Set(found.rows.map((r) => r.datasetId))).toEqual(new Set([tenant.datasetId]));
    }
    const none = await searchCountingScans(app, undefined, corpus.queries(largest, "own", 1)[0]!, [ownIndex]);
    expect(none.rows).toEqual([]);
  });

  it("takes a tenant index or graph off its list before it drops it, and leaves the rest of the list", async () => {
    const tenant = corpus.tenants[1]!;
    const listedBefore = await readTenantIndexes(owner);
    const graphsBefore = await readPrefilterGraphs(owner);
    const indexName = tenantIndexName(CHUNK, SHAPE.dimension, tenant.organizationId);
    const graphName = prefilterGraphName(CHUNK, SHAPE.dimension, tenant.organizationId);
    await buildTenantIndex(owner, { table: CHUNK, dimension: SHAPE.dimension }, tenant);
    await buildPrefilterGraph(owner, CHUNK, SHAPE.dimension, tenant.organizationId);
    const at = { table: "Chunk", dimension: SHAPE.dimension, organizationId: tenant.organizationId };
    await saveTenantIndexes(owner, [...listedBefore, { ...at, indexName, exactRows: 300, efSearch: 40 }]);
    await savePrefilterGraphs(owner, [
      ...graphsBefore,
      { ...at, indexName: graphName, depth: 80, efSearch: 100 },
    ]);
    const exists = async (name: string) =>
      (await owner.query(`SELECT 1 FROM pg_class WHERE relname = $1`, [name])).rows.length === 1;
    expect([await exists(indexName), await exists(graphName)]).toEqual([true, true]);

    await dropTenantIndex(owner, indexName);
    await dropPrefilterGraph(owner, graphName);
    expect(await readTenantIndexes(owner)).toEqual(listedBefore);
    expect(await readPrefilterGraphs(owner)).toEqual(graphsBefore);
    expect([await exists(indexName), await exists(graphName)]).toEqual([false, false]);
    expect((await readListedIndexes(owner)).filter((l) => l.state !== "valid")).toEqual([]);
  });

  /** What a plan says of the dimension's index (the tenant search's findings among its reasons). */
  const planOf = async () =>
    (
      await planRelease({
        databaseUrl: target.current.roles.url("migrator"),
        migrationsDir: DEFAULT_MIGRATIONS_DIR,
        ownerRole: target.current.roles.names.owner,
        steps: defaultReleaseSteps({ seedSets: [] }),
      })
    ).vectorIndexes.find((i) => i.name === CHUNK.indexName);

  /** What status says of the dimension's index's tenant search. */
  const tenantSearchInStatus = async () =>
    (
      await releaseStatus({
        databaseUrl: target.current.roles.url("migrator"),
        migrationsDir: DEFAULT_MIGRATIONS_DIR,
        steps: defaultReleaseSteps({ seedSets: [] }),
      })
    ).vectorIndexes.find((v) => v.name === CHUNK.indexName)?.tenantSearch;
  const outgrownInStatus = async () => (await tenantSearchInStatus())?.outgrownIndexes;

  /** The own indexes the dimension's index's record holds, and a rewrite of them (the tests' own records). */
  const recordedTenantIndexes = async () =>
    (
      await owner.query<{ t: { organizationId: string }[] }>(
        `SELECT tenant_indexes AS t FROM neonhub_release.search_calibrations WHERE index_name = $1`,
        [CHUNK.indexName],
      )
    ).rows[0]!.t;
  const writeTenantIndexesRecord = (tenantIndexes: unknown) =>
    owner.query(`UPDATE neonhub_release.search_calibrations SET tenant_indexes = $2 WHERE index_name = $1`, [
      CHUNK.indexName,
      JSON.stringify(tenantIndexes),
    ]);

  it("plans a recalibration when a tenant with an index of its own has grown by a quarter, by the index's estimate", async () => {
    const estimateNow = async () => (await readListedIndexes(owner)).find((l) => l.indexName === ownIndex);
    // The estimate is the index's reltuples, which a plain ANALYZE sets (this corpus is read whole by it).
    await owner.query(`ANALYZE "Chunk"`);
    expect(await estimateNow()).toMatchObject({
      kind: "own index",
      state: "valid",
      rowsNow: largest.rows,
      rowsEstimated: true,
    });
    const recordBefore = await recordedTenantIndexes();
    // The set-up listed the index by hand; the record is what a calibration on `rows` would have written.
    const recordWith = (rows: number, estimatedRows?: number) =>
      writeTenantIndexesRecord([
        ...recordBefore.filter((t) => t.organizationId !== largest.organizationId),
        {
          organizationId: largest.organizationId,
          rows,
          ...(estimatedRows !== undefined ? { estimatedRows } : {}),
          indexName: ownIndex,
          efSearch: 40,
          exactRows: 300,
        },
      ]);
    // A third more rows for the tenant: copies of its own, under other ids.
    const added = Math.ceil(largest.rows / 3);
    const grown = largest.rows + added;
    try {
      await recordWith(largest.rows, largest.rows);
      expect((await planOf())?.reason).not.toContain("was calibrated on");
      expect(await outgrownInStatus()).toBeUndefined();

      await owner.query(
        `INSERT INTO "Chunk" ("id", "datasetId", "documentId", "embeddingSpaceId", "idx", "text", "embedding")
         SELECT "id" || '-grown', "datasetId", "documentId", "embeddingSpaceId", "idx" + 1000000, "text", "embedding"
           FROM "Chunk" WHERE "organizationId" = $1 ORDER BY "id" LIMIT $2`,
        [largest.organizationId, added],
      );
      await owner.query(`ANALYZE "Chunk"`);
      expect((await estimateNow())?.rowsNow).toBe(grown);
      expect(await planOf()).toMatchObject({
        action: "update",
        reason: expect.stringContaining(
          `the own index of tenant ${largest.organizationId}, ${ownIndex}, was calibrated on ` +
            `${largest.rows.toLocaleString("en-US")} rows, and the tenant has about ` +
            `${grown.toLocaleString("en-US")} now (PostgreSQL's estimate, pg_class.reltuples)`,
        ),
      });
      expect(await outgrownInStatus()).toContain(`${ownIndex}, was calibrated on`);
      // A calibration that counted fewer rows than the index's estimate then (rows deleted and not yet vacuumed,
      // say): an estimate is compared with an estimate, and the tenant has not outgrown it.
      await recordWith(largest.rows, grown);
      expect((await planOf())?.reason).not.toContain("was calibrated on");
    } finally {
      await owner.query(`DELETE FROM "Chunk" WHERE "organizationId" = $1 AND "id" LIKE '%-grown'`, [
        largest.organizationId,
      ]);
      await owner.query(`ANALYZE "Chunk"`);
      await writeTenantIndexesRecord(recordBefore);
    }
    expect((await estimateNow())?.rowsNow).toBe(largest.rows);
    expect((await planOf())?.reason).not.toContain("was calibrated on");
  });

  it("plans a recalibration when a graph's tenant has grown by a quarter since its graph was calibrated", async () => {
    const tenant = corpus.tenants[1]!;
    const organizationId = tenant.organizationId;
    const graphName = prefilterGraphName(CHUNK, SHAPE.dimension, organizationId);
    const graphsBefore = await readPrefilterGraphs(owner);
    const recordBefore = (
      await owner.query<{ prefilter: Record<string, unknown> | null }>(
        `SELECT prefilter FROM neonhub_release.search_calibrations WHERE index_name = $1`,
        [CHUNK.indexName],
      )
    ).rows[0]?.prefilter;
    expect(recordBefore?.state, "the release built and calibrated the prefilter").toBe("on");
    const writeRecord = (prefilter: unknown) =>
      owner.query(`UPDATE neonhub_release.search_calibrations SET prefilter = $2 WHERE index_name = $1`, [
        CHUNK.indexName,
        JSON.stringify(prefilter),
      ]);
    const recordWith = (rows: number) =>
      writeRecord({
        ...recordBefore,
        graphs: [
          // Without a graph the calibration may have kept for this tenant (by timing, at this size).
          ...((recordBefore?.graphs as { organizationId: string }[] | undefined) ?? []).filter(
            (g) => g.organizationId !== organizationId,
          ),
          {
            organizationId,
            rows,
            indexName: graphName,
            depth: 80,
            efSearch: 100,
            recall: 1,
            latencyP50Ms: 1,
            prefilterP50Ms: 1,
          },
        ],
      });
    await buildPrefilterGraph(owner, CHUNK, SHAPE.dimension, organizationId);
    await savePrefilterGraphs(owner, [
      ...graphsBefore,
      {
        table: "Chunk",
        dimension: SHAPE.dimension,
        organizationId,
        indexName: graphName,
        depth: 80,
        efSearch: 100,
      },
    ]);
    try {
      // The read counts the graph's tenant now.
      const listed = (await readListedIndexes(owner)).find((l) => l.indexName === graphName);
      expect(listed).toMatchObject({ state: "valid", rowsNow: tenant.rows });

      await recordWith(tenant.rows);
      expect((await planOf())?.reason).not.toContain("was calibrated on");
      expect(await outgrownInStatus()).toBeUndefined();
      await recordWith(Math.floor(tenant.rows / 1.25));
      expect(await planOf()).toMatchObject({
        action: "update",
        reason: expect.stringContaining(
          `the graph over its sign bits of tenant ${organizationId}, ${graphName}, was calibrated on ` +
            `${Math.floor(tenant.rows / 1.25).toLocaleString("en-US")} rows, and the tenant has ` +
            `${tenant.rows.toLocaleString("en-US")} now`,
        ),
      });
      expect(await outgrownInStatus()).toContain(`${graphName}, was calibrated on`);
      const health = await checkHealth({
        databaseUrl: target.current.roles.url("migrator"),
        steps: defaultReleaseSteps({ seedSets: [] }),
      });
      expect(health.findings).toContainEqual(
        expect.objectContaining({
          subject: CHUNK.indexName,
          problem: expect.stringContaining("was calibrated on"),
        }),
      );
    } finally {
      await writeRecord(recordBefore);
      await dropPrefilterGraph(owner, graphName);
    }
    expect(await readPrefilterGraphs(owner)).toEqual(graphsBefore);
  });

  it("plans a recalibration when a listed tenant index was built again (a REINDEX) since its calibration", async () => {
    const REBUILT = "built again since it was calibrated (a table rewrite, a REINDEX or a pg_restore)";
    const listedNow = async () => (await readListedIndexes(owner)).find((l) => l.indexName === ownIndex);
    const recordBefore = await recordedTenantIndexes();
    // What a calibration of the index as it is now would have recorded (the set-up listed it by hand).
    const recordWith = (relfilenode?: number) =>
      writeTenantIndexesRecord([
        ...recordBefore.filter((t) => t.organizationId !== largest.organizationId),
        {
          organizationId: largest.organizationId,
          rows: largest.rows,
          ...(relfilenode !== undefined ? { relfilenode } : {}),
          indexName: ownIndex,
          efSearch: 40,
          exactRows: 300,
        },
      ]);
    const storage = (await listedNow())?.relfilenode;
    expect(storage).toEqual(expect.any(Number));
    try {
      await recordWith(storage!);
      expect((await planOf())?.reason).not.toContain(REBUILT);
      expect((await tenantSearchInStatus())?.rebuiltIndexes).toBeUndefined();

      await owner.query(`REINDEX INDEX "${ownIndex}"`);
      expect((await listedNow())?.relfilenode).not.toBe(storage);
      const reason =
        `the own index of tenant ${largest.organizationId}, ${ownIndex}, was ${REBUILT}, ` +
        `so its hnsw.ef_search was measured on the index it replaced`;
      expect(await planOf()).toMatchObject({ action: "update", reason: expect.stringContaining(reason) });
      expect((await tenantSearchInStatus())?.rebuiltIndexes).toContain(`${ownIndex}, was ${REBUILT}`);
      const health = await checkHealth({
        databaseUrl: target.current.roles.url("migrator"),
        steps: defaultReleaseSteps({ seedSets: [] }),
      });
      expect(health.findings).toContainEqual(
        expect.objectContaining({ subject: CHUNK.indexName, problem: expect.stringContaining(reason) }),
      );
      // A record made before the storage was recorded decides nothing.
      await recordWith(undefined);
      expect((await planOf())?.reason).not.toContain(REBUILT);
    } finally {
      await writeTenantIndexesRecord(recordBefore);
    }
  });

  it("plans a recalibration when a listed tenant index is gone (status and health say which), which builds the listed ones again", async () => {
    const unusableInStatus = async () => (await tenantSearchInStatus())?.unusableIndexes;
    expect((await readListedIndexes(owner)).find((l) => l.indexName === ownIndex)?.state).toBe("valid");
    expect((await planOf())?.reason).not.toContain("that the search lists");

    await owner.query(`DROP INDEX "${ownIndex}"`);
    expect((await readListedIndexes(owner)).find((l) => l.indexName === ownIndex)?.state).toBe("missing");
    expect(await planOf()).toMatchObject({
      action: "update",
      reason: expect.stringContaining(
        `the own index of tenant ${largest.organizationId} that the search lists, ${ownIndex}, is missing`,
      ),
    });

    expect(await unusableInStatus()).toContain(`${ownIndex}, is missing`);
    const health = await checkHealth({
      databaseUrl: target.current.roles.url("migrator"),
      steps: defaultReleaseSteps({ seedSets: [] }),
    });
    expect(health.healthy).toBe(false);
    expect(health.findings).toContainEqual(
      expect.objectContaining({
        severity: "action",
        subject: CHUNK.indexName,
        problem: expect.stringContaining(`${ownIndex}, is missing`),
      }),
    );

    // The calibration keeps a tenant's graph over its sign bits, or else an index of its own, only where it
    // measures faster than the b-tree (timing's call). A tenant with twice the largest's rows has one or the
    // other: a graph the calibration drops leaves it a candidate for an index of its own, which at this size
    // beats exact search over its rows several times over (the crossover some 500 rows). So the checks below
    // of what was kept always check something, whichever way the timings go.
    await addTenant(owner, corpus, { slug: "bulk-org", rows: BULK_ROWS, topics: largest.topics });
    await owner.query(`ANALYZE "Chunk"`);
    // The calibration lists what it keeps, and builds it.
    await applyAsMigrator(target.current, defaultReleaseSteps({ seedSets: [] }));
    const after = await readListedIndexes(owner);
    expect(after.filter((l) => l.state !== "valid")).toEqual([]);
    const recorded = (
      await owner.query<{ t: { indexName: string; estimatedRows?: number }[] }>(
        `SELECT tenant_indexes AS t FROM neonhub_release.search_calibrations WHERE index_name = $1`,
        [CHUNK.indexName],
      )
    ).rows[0]!.t;
    // Each own index the calibration kept (which, it decides by timing) is recorded with its estimate then,
    // the one the growth check compares with.
    for (const t of recorded) {
      expect(t.estimatedRows).toBe(after.find((l) => l.indexName === t.indexName)?.rowsNow);
    }
    // Each own index and graph kept is recorded with its storage, which a REINDEX of it alone changes.
    const graphsRecorded = (await readSearchCalibrations(owner)).find(
      (c) => c.indexName === CHUNK.indexName,
    )?.prefilter;
    const kept = [...recorded, ...(graphsRecorded?.state === "on" ? (graphsRecorded.graphs ?? []) : [])] as {
      indexName: string;
      relfilenode?: number;
    }[];
    expect(kept.length).toBeGreaterThan(0);
    for (const t of kept) {
      expect(t.relfilenode, t.indexName).toBe(after.find((l) => l.indexName === t.indexName)?.relfilenode);
    }
    expect(await unusableInStatus()).toBeUndefined();
    expect((await planOf())?.reason).not.toContain("that the search lists");
  });
});
