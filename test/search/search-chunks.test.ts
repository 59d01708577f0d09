// search_chunks() as the app calls it: the app login, under row-level security, the organization set for the
// transaction. On a generated multi-tenant corpus (seeded), with ivfflat and with HNSW, through the exact
// path (a tenant below the function's threshold) and the index path (the threshold lowered so that the
// larger tenants take it): k rows whenever the tenant has k, recall@10 against exact search over the
// tenant's rows, isolation, no organization set, and bad input.
import type { Client, ClientBase } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  defaultReleaseSteps,
  planRelease,
  readIndexRecords,
  readSearchCalibrations,
  readPrefilterEntries,
  readSearchTuning,
  readTenantIndexes,
  savePrefilterEntries,
  savePrefilterGraphs,
  saveSearchTuning,
  type DefaultStepOptions,
  type SearchTuning,
  recallOf,
} from "../../core";
import { applyAsMigrator, useReleasedDatabase } from "../security/released-database";
import { inTransaction } from "../security/sessions";
import { vectorText, withoutDimensionTrigger } from "../vector-indexes/data";
import { exactTopK, exactNeighbours, loadCorpus, type Corpus, type CorpusShape, type Tenant } from "./corpus";

const SHAPE: CorpusShape = {
  rows: 4000,
  dimension: 32,
  organizations: 8,
  topics: 60,
  topicsPerOrganization: 3,
  latentDimension: 12,
  spread: 1,
  noise: 0.1,
  seed: 15,
};
const K = 10;
const QUERIES = 12;

interface Found {
  id: string;
  datasetId: string;
  distance: number;
}

function search(app: ClientBase, organization: string | undefined, query: Float32Array | string, k = K) {
  return inTransaction(app, organization, async (c) => {
    const text = typeof query === "string" ? query : vectorText(query);
    return (await c.query<Found>(`SELECT * FROM search_chunks($1::vector, $2)`, [text, k])).rows;
  });
}

/** Scans of "Chunk"'s vector indexes in the transaction `c` is in, so far (the backend's pending statistics). */
async function vectorIndexScans(c: ClientBase): Promise<number> {
  const { rows } = await c.query<{ n: string }>(
    `SELECT coalesce(sum(pg_stat_get_xact_numscans(i.indexrelid)), 0) AS n
       FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
      WHERE i.indrelid = '"Chunk"'::regclass
        AND x.relam IN (SELECT a.oid FROM pg_am a WHERE a.amname IN ('ivfflat', 'hnsw'))`,
  );
  return Number(rows[0]!.n);
}

/**
 * The search's rows and how many scans of a vector index it made (the dimension's, or a large tenant's own,
 * core/search/tenant-indexes.ts): the backend's own counters
 * (pending statistics, which may include earlier transactions' scans, hence the difference).
 */
async function searchWithIndexScans(app: ClientBase, organization: string, query: Float32Array) {
  return inTransaction(app, organization, async (c) => {
    const scans = () => vectorIndexScans(c);
    const before = await scans();
    const rows = (await c.query<Found>(`SELECT * FROM search_chunks($1::vector, $2)`, [vectorText(query), K]))
      .rows;
    return { rows, indexScans: (await scans()) - before };
  });
}

function contract(label: string, steps: Partial<DefaultStepOptions>) {
  describe(label, () => {
    const target = useReleasedDatabase(`search_${label}`, steps);
    let owner: Client;
    let app: Client;
    let corpus: Corpus;
    let calibrated: SearchTuning;

    /** Runs `fn` with the search tuned otherwise, then puts the calibrated tuning back. */
    async function withTuning(overrides: Partial<SearchTuning>, fn: () => Promise<void>) {
      await saveSearchTuning(owner, { ...calibrated, ...overrides });
      try {
        await fn();
      } finally {
        await saveSearchTuning(owner, calibrated);
      }
    }

    beforeAll(async () => {
      owner = await target.current.roles.connect("migrator");
      corpus = await loadCorpus(owner, SHAPE);
      // The release builds the vector index once rows exist.
      await applyAsMigrator(target.current, defaultReleaseSteps({ seedSets: [], ...steps }));
      app = await target.current.roles.connect("app");
      calibrated = (await readSearchTuning(owner)).find(
        (t) => t.table === "Chunk" && t.dimension === SHAPE.dimension,
      )!;
      // No graph over a tenant's sign bits, which the calibration keeps or not by timing at this size and
      // which a tenant's search takes before the paths tested here (prefilter.test.ts tests it).
      await savePrefilterGraphs(owner, []);
    });
    afterAll(async () => {
      await app?.end();
      await owner?.end();
    });

    async function expectContract(tenant: Tenant, kind: "own" | "table-wide") {
      const recalls: number[] = [];
      for (const q of corpus.queries(tenant, kind, QUERIES)) {
        const found = await search(app, tenant.organizationId, q);
        expect(found).toHaveLength(Math.min(K, tenant.rows));
        expect(new Set(found.map((r) => r.datasetId))).toEqual(new Set([tenant.datasetId]));
        const distances = found.map((r) => r.distance);
        expect(distances).toEqual([...distances].sort((a, b) => a - b));
        recalls.push(recallOf(await exactNeighbours(owner, tenant.organizationId, q, K), found));
      }
      return recalls.reduce((a, b) => a + b, 0) / recalls.length;
    }

    it("builds the corpus with the tenant column filled by the database", async () => {
      const { rows } = await owner.query<{ org: string; n: number }>(
        `SELECT c."organizationId" AS org, count(*)::int AS n FROM "Chunk" c
           JOIN "Dataset" s ON s."id" = c."datasetId" AND s."organizationId" = c."organizationId"
          GROUP BY 1`,
      );
      expect(rows.reduce((a, r) => a + r.n, 0)).toBe(SHAPE.rows);
      expect(new Map(rows.map((r) => [r.org, r.n]))).toEqual(
        new Map(corpus.tenants.map((t) => [t.organizationId, t.rows])),
      );
    });

    it("was calibrated by the release under the tenant filter, per tenant-size class, and says so in status", async () => {
      expect(calibrated).toMatchObject({
        table: "Chunk",
        dimension: SHAPE.dimension,
        exactRows: expect.any(Number),
      });
      const [record] = await readSearchCalibrations(owner);
      expect(record!.targetReached).toBe(true);
      // What the calibration cost inside the release, recorded for status and the apply log.
      expect(record!.cost).toEqual({ statements: expect.any(Number), ms: expect.any(Number) });
      expect(record!.cost!.statements).toBeGreaterThan(0);
      expect(record!.classes.map((c) => `${c.class} ${c.kind}`)).toEqual(
        expect.arrayContaining([
          "small own",
          "small table-wide",
          "medium own",
          "medium table-wide",
          "large own",
          "large table-wide",
        ]),
      );
      for (const c of record!.classes) {
        expect(c.rowsMin, `${c.class} ${c.kind}`).toBe(10);
        expect(c.recallLowerBound, `${c.class} ${c.kind}`).toBeGreaterThanOrEqual(0.95);
      }
    });

    it("makes the calibrated index setting every new session's default, for hand-written queries", async () => {
      const fresh = await target.current.roles.connect("readonly");
      try {
        const setting = calibrated.probes !== undefined ? "ivfflat.probes" : "hnsw.ef_search";
        await fresh.query(`SELECT '[1]'::vector`); // loads pgvector, whose settings SHOW then knows
        const shown = await fresh.query<Record<string, string>>(`SHOW ${setting}`);
        expect(Number(Object.values(shown.rows[0]!)[0])).toBe(calibrated.probes ?? calibrated.efSearch);
      } finally {
        await fresh.end();
      }
    });

    it("returns k rows with recall@10 1 for every tenant, own and table-wide queries, on the exact path", async () => {
      // Exact search for every tenant: the threshold above the table, and no prefilter (prefilter.test.ts).
      const prefilters = await readPrefilterEntries(owner);
      await savePrefilterEntries(owner, []);
      try {
        await withTuning({ exactRows: SHAPE.rows }, async () => {
          for (const tenant of corpus.tenants) {
            for (const kind of ["own", "table-wide"] as const) {
              expect(await expectContract(tenant, kind), `${tenant.organizationId} ${kind}`).toBe(1);
            }
          }
        });
      } finally {
        await savePrefilterEntries(owner, prefilters);
      }
    });

    it("keeps the contract through the vector index for tenants above the threshold", async () => {
      // Tenants of 300 rows and more through the index: far below the calibrated crossover at this size, so
      // with ivfflat every list is probed (the calibration tunes probes for the tenants above the crossover
      // only); the iterative scan, the re-rank and the fallback are what is tested here.
      const [index] = await readIndexRecords(owner);
      const probes = "lists" in index!.params ? { probes: index!.params.lists } : {};
      await withTuning({ exactRows: 300, ...probes }, async () => {
        const large = corpus.tenants.filter((t) => t.rows > 300);
        expect(large.length).toBeGreaterThanOrEqual(2);
        for (const tenant of large) {
          const probe = await searchWithIndexScans(
            app,
            tenant.organizationId,
            corpus.queries(tenant, "own", 1)[0]!,
          );
          expect(probe.indexScans, `${tenant.organizationId} used the vector index`).toBeGreaterThan(0);
          for (const kind of ["own", "table-wide"] as const) {
            expect(
              await expectContract(tenant, kind),
              `${tenant.organizationId} ${kind}`,
            ).toBeGreaterThanOrEqual(0.95);
          }
        }
        // A tenant below the threshold still reads only its own rows, without the vector index.
        const small = corpus.tenants.at(-1)!;
        const probe = await searchWithIndexScans(
          app,
          small.organizationId,
          corpus.queries(small, "own", 1)[0]!,
        );
        expect(probe.indexScans).toBe(0);
        expect(probe.rows).toHaveLength(K);
      });
    });

    it("sends a tenant to the index for its embedded rows only: rows waiting for an embedding do not count", async () => {
      // An app creates a chunk, then writes its embedding (docs/prisma.md), so a tenant loading a batch has
      // rows waiting. The smallest tenant's rows, doubled by rows without an embedding, are over a threshold
      // that its embedded rows are under: counted again, it is searched among its embedded rows, exactly,
      // without the vector index. Unfiltered, from the release's count index, with no prefilter depth set (a
      // "Chunk" the prefilter has not been calibrated for); filtered by its dataset, from the prefilter's
      // b-tree, which carries the dataset (its depth set, here so deep that the search is exact).
      const small = corpus.tenants.at(-1)!;
      const built = await owner.query<{ bits: boolean; counts: boolean }>(
        `SELECT to_regclass('idx_chunk_sign_bits') IS NOT NULL AS bits,
                search_count_index_valid('idx_chunk_embedded_rows') AS counts`,
      );
      expect(built.rows[0], "the release built the prefilter's b-tree and the count index").toEqual({
        bits: true,
        counts: true,
      });
      const prefilters = await readPrefilterEntries(owner);
      const cases = [
        { label: "unfiltered", datasetId: null, prefilter: [] },
        {
          label: "by its dataset",
          datasetId: small.datasetId,
          prefilter: [{ table: "Chunk", dimension: SHAPE.dimension, depth: small.rows }],
        },
      ];
      try {
        await withTuning({ exactRows: small.rows + 5 }, async () => {
          for (const { label, datasetId, prefilter } of cases) {
            await savePrefilterEntries(owner, prefilter);
            await inTransaction(
              app,
              small.organizationId,
              async (c) => {
                await c.query(
                  `INSERT INTO "Chunk" ("datasetId", "documentId", "embeddingSpaceId", "idx", "text")
                     SELECT $1, $2, $3, 100000 + i, 'waiting for its embedding' FROM generate_series(1, $4) i`,
                  [small.datasetId, small.documentId, corpus.spaceId, small.rows],
                );
                for (const kind of ["own", "table-wide"] as const) {
                  for (const q of corpus.queries(small, kind, 3)) {
                    const vectorsBefore = await vectorIndexScans(c);
                    const found = await c.query<Found>(
                      `SELECT * FROM search_chunks($1::vector, $2, dataset_id => $3)`,
                      [vectorText(q), K, datasetId],
                    );
                    const what = `${label}, ${kind} queries`;
                    expect(await vectorIndexScans(c), what).toBe(vectorsBefore);
                    expect(
                      found.rows.map((r) => r.id),
                      what,
                    ).toEqual(await exactTopK(owner, small.organizationId, q, K));
                  }
                }
              },
              { rollback: true },
            );
          }
        });
      } finally {
        await savePrefilterEntries(owner, prefilters);
      }
    });

    it("never returns another organization's rows, and nothing with no organization set", async () => {
      const [a, b] = corpus.tenants;
      // A query in b's topics, searched by a: still only a's rows.
      const q = corpus.queries(b!, "own", 1)[0]!;
      const found = await search(app, a!.organizationId, q, 50);
      expect(found).toHaveLength(50);
      expect(found.every((r) => r.datasetId === a!.datasetId)).toBe(true);
      expect(await search(app, undefined, q)).toEqual([]);
      expect(await search(app, "", q)).toEqual([]);
      // The owner is not subject to the policies, but the search is still scoped to the organization set.
      expect(await search(owner, undefined, q)).toEqual([]);
    });

    it("leaves out a chunk of another dimension than its space, as the index path does, instead of failing", async () => {
      // Written with the dimension trigger disabled, as a database that had it disabled once holds it: every
      // search of its organization on the exact path failed with pgvector's bare `different vector dimensions`
      // (migration 20261206110100). Health names the row.
      const tenant = corpus.tenants.at(-1)!;
      const q = corpus.queries(tenant, "own", 1)[0]!;
      const before = await search(app, tenant.organizationId, q);
      expect(before).toHaveLength(K);
      await withoutDimensionTrigger(owner, "Chunk", () =>
        owner.query(
          `INSERT INTO "Chunk" ("id", "datasetId", "documentId", "embeddingSpaceId", "idx", "text", "embedding")
           VALUES ('wrong-dimension', $1, $2, $3, 1000000, 'wrong', '[1,2,3]')`,
          [tenant.datasetId, tenant.documentId, corpus.spaceId],
        ),
      );
      try {
        expect(await search(app, tenant.organizationId, q)).toEqual(before);
      } finally {
        await owner.query(`DELETE FROM "Chunk" WHERE "id" = 'wrong-dimension'`);
      }
    });

    it("names a dataset or document the organization cannot see, missing or another's, in the same words", async () => {
      const [a, b] = corpus.tenants;
      const q = vectorText(corpus.queries(a!, "own", 1)[0]!);
      const call = (org: string | undefined, dataset: string | null, document: string | null) =>
        inTransaction(app, org, (c) =>
          c.query(`SELECT * FROM search_chunks($1::vector, 10, dataset_id => $2, document_id => $3)`, [
            q,
            dataset,
            document,
          ]),
        );
      const cases: [string | null, string | null, string][] = [
        ["nope", null, "search_chunks: dataset_id 'nope' names no dataset of this organization"],
        [
          b!.datasetId,
          null,
          `search_chunks: dataset_id '${b!.datasetId}' names no dataset of this organization`,
        ],
        [null, "nope", "search_chunks: document_id 'nope' names no document of this organization"],
        [
          null,
          b!.documentId,
          `search_chunks: document_id '${b!.documentId}' names no document of this organization`,
        ],
      ];
      for (const [dataset, document, message] of cases) {
        await expect(call(a!.organizationId, dataset, document), message).rejects.toMatchObject({
          message,
          code: "22023",
        });
      }
      // Its own dataset and document: found; no organization set: nothing, before any check.
      expect((await call(a!.organizationId, a!.datasetId, a!.documentId)).rows).toHaveLength(10);
      expect((await call(undefined, "nope", "nope")).rows).toEqual([]);
      // A document outside the dataset named: both named.
      await inTransaction(
        app,
        a!.organizationId,
        async (c) => {
          await c.query(
            `INSERT INTO "Dataset" ("id", "organizationId", "name", "slug", "kind")
           VALUES ('filters-ds', current_organization_id(), 'Filters', 'filters', 'documents')`,
          );
          await expect(
            c.query(
              `SELECT * FROM search_chunks($1::vector, 10, dataset_id => 'filters-ds', document_id => $2)`,
              [q, a!.documentId],
            ),
          ).rejects.toThrow(
            `search_chunks: document_id '${a!.documentId}' is in dataset '${a!.datasetId}', not in dataset_id 'filters-ds'`,
          );
        },
        { rollback: true },
      );
    });

    it("reuses its plans across the session's organizations: each call gives what a new session gives", async () => {
      // An unfiltered call plans its statements once per session (migration 20261203180000): the tenants
      // take turns on one connection, three rounds, against a fresh connection's first call for each.
      const tenants = [corpus.tenants[0]!, corpus.tenants[1]!, corpus.tenants.at(-1)!];
      const queries = new Map(tenants.map((t) => [t.organizationId, corpus.queries(t, "table-wide", 1)[0]!]));
      const firstCalls = new Map<string, string[]>();
      for (const tenant of tenants) {
        const fresh = await target.current.roles.connect("app");
        try {
          const q = queries.get(tenant.organizationId)!;
          firstCalls.set(
            tenant.organizationId,
            (await search(fresh, tenant.organizationId, q)).map((r) => r.id),
          );
        } finally {
          await fresh.end();
        }
      }
      for (let round = 0; round < 3; round++) {
        for (const tenant of tenants) {
          const found = await search(app, tenant.organizationId, queries.get(tenant.organizationId)!);
          expect(found.every((r) => r.datasetId === tenant.datasetId)).toBe(true);
          expect(
            found.map((r) => r.id),
            `${tenant.organizationId}, round ${round}`,
          ).toEqual(firstCalls.get(tenant.organizationId));
        }
      }
    });

    it("searches only the dataset or document asked for, between unfiltered calls in the same session", async () => {
      // A filtered call plans for its values; the unfiltered calls around it reuse theirs. A second dataset
      // with two documents of the largest tenant, written as the app and rolled back.
      const tenant = corpus.tenants[0]!;
      const q = corpus.queries(tenant, "own", 1)[0]!;
      const exactIn = async (c: ClientBase, column: "datasetId" | "documentId", value: string) =>
        (
          await c.query<{ id: string }>(
            `SELECT "id" FROM "Chunk" WHERE ${column === "datasetId" ? `"datasetId"` : `"documentId"`} = $2
              ORDER BY "embedding" <=> $1::vector, "id" LIMIT ${K}`,
            [vectorText(q), value],
          )
        ).rows.map((r) => r.id);
      const filtered = async (c: ClientBase, dataset: string | null, document: string | null) =>
        (
          await c.query<Found & { documentId: string }>(
            `SELECT * FROM search_chunks($1::vector, ${K}, dataset_id => $2, document_id => $3)`,
            [vectorText(q), dataset, document],
          )
        ).rows;
      await search(app, tenant.organizationId, q);
      await inTransaction(
        app,
        tenant.organizationId,
        async (c) => {
          await c.query(
            `INSERT INTO "Dataset" ("id", "organizationId", "name", "slug", "kind")
             VALUES ('plans-ds', current_organization_id(), 'Plans', 'plans', 'documents')`,
          );
          for (const doc of ["plans-doc-1", "plans-doc-2"]) {
            await c.query(
              `INSERT INTO "Document" ("id", "datasetId", "title") VALUES ($1, 'plans-ds', 'Plans')`,
              [doc],
            );
            for (let i = 0; i < 15; i++) {
              await c.query(
                `INSERT INTO "Chunk" ("datasetId", "documentId", "embeddingSpaceId", "idx", "text", "embedding")
                 VALUES ('plans-ds', $1, $2, $3, 'plans', $4::vector)`,
                [doc, corpus.spaceId, i, vectorText(corpus.draw(tenant.topics[i % tenant.topics.length]!))],
              );
            }
          }
          const unfiltered = (
            await c.query<Found>(`SELECT * FROM search_chunks($1::vector, ${K})`, [vectorText(q)])
          ).rows;
          expect(unfiltered).toHaveLength(K);
          // Planned for its value: the document's own index is read, where a plan for any document could
          // only read the tenant's rows and check each one's document.
          const documentIndexScans = () =>
            c
              .query<{ n: string }>(
                `SELECT coalesce(sum(pg_stat_get_xact_numscans(i.indexrelid)), 0) AS n FROM pg_index i
                  WHERE i.indrelid = '"Chunk"'::regclass
                    AND i.indkey[0] = (SELECT a.attnum FROM pg_attribute a
                                        WHERE a.attrelid = '"Chunk"'::regclass AND a.attname = 'documentId')`,
              )
              .then((r) => Number(r.rows[0]!.n));
          const scansBefore = await documentIndexScans();
          const byDocument = await filtered(c, null, "plans-doc-2");
          expect(await documentIndexScans()).toBeGreaterThan(scansBefore);
          expect(byDocument.every((r) => r.documentId === "plans-doc-2")).toBe(true);
          expect(byDocument.map((r) => r.id)).toEqual(await exactIn(c, "documentId", "plans-doc-2"));
          const byDataset = await filtered(c, "plans-ds", null);
          expect(byDataset.every((r) => r.datasetId === "plans-ds")).toBe(true);
          expect(byDataset.map((r) => r.id)).toEqual(await exactIn(c, "datasetId", "plans-ds"));
          const again = (
            await c.query<Found>(`SELECT * FROM search_chunks($1::vector, ${K})`, [vectorText(q)])
          ).rows;
          expect(again.map((r) => r.id)).toEqual(unfiltered.map((r) => r.id));
        },
        { rollback: true },
      );
    });

    it("works whatever the caller's search_path, its helpers included (they name their schema)", async () => {
      const tenant = corpus.tenants.at(-1)!;
      const q = vectorText(corpus.queries(tenant, "own", 1)[0]!);
      const [found, spaces] = await inTransaction(
        app,
        tenant.organizationId,
        async (c) => {
          await c.query("SET LOCAL search_path = pg_catalog");
          const rows = (
            await c.query<Found>(`SELECT * FROM public.search_chunks($1::public.vector, ${K})`, [q])
          ).rows;
          const direct = await c.query<{ s: string[] }>(
            `SELECT public.search_query_spaces('direct', $1::public.vector, NULL) AS s`,
            [q],
          );
          return [rows, direct.rows[0]!.s];
        },
        { rollback: true },
      );
      expect(found).toHaveLength(K);
      expect(spaces).toEqual([corpus.spaceId]);
    });

    it("leaves the caller's settings as they were, even through the index path", async () => {
      const read = `SELECT current_setting('enable_seqscan') || ',' || current_setting('enable_bitmapscan') || ',' ||
                           current_setting('ivfflat.probes') || ',' || current_setting('hnsw.ef_search') AS s`;
      await withTuning({ exactRows: 0, probes: 3, efSearch: 77 }, async () => {
        const [before, after] = await inTransaction(
          app,
          corpus.tenants[0]!.organizationId,
          async (c) => {
            await c.query("SET LOCAL ivfflat.probes = 2");
            const first = (await c.query<{ s: string }>(read)).rows[0]!.s;
            await c.query(`SELECT * FROM search_chunks($1::vector, 10)`, [vectorText(corpus.draw(0))]);
            return [first, (await c.query<{ s: string }>(read)).rows[0]!.s];
          },
          { rollback: true },
        );
        expect(before).toMatch(/^on,on,2,\d+$/);
        expect(after).toBe(before);
      });
    });

    it("refuses bad input with an error naming the argument and the expected value", async () => {
      const org = corpus.tenants[0]!.organizationId;
      const ok = vectorText(corpus.draw(0));
      const cases: [string, unknown[], RegExp][] = [
        [
          `SELECT * FROM search_chunks($1::vector, 10)`,
          ["[1,2,3]"],
          /query has 3 dimensions, expected the dimension of an embedding space \(.*32.*\)/,
        ],
        [`SELECT * FROM search_chunks(NULL, 10)`, [], /search_chunks: query is NULL/],
        [`SELECT * FROM search_chunks($1::vector, 0)`, [ok], /search_chunks: k is 0, expected 1 to 1000/],
        [
          `SELECT * FROM search_chunks($1::vector, 1001)`,
          [ok],
          /search_chunks: k is 1001, expected 1 to 1000/,
        ],
        [
          `SELECT * FROM search_chunks($1::vector, NULL)`,
          [ok],
          /search_chunks: k is NULL, expected 1 to 1000/,
        ],
        [
          `SELECT * FROM search_chunks($1::vector, 10, embedding_space_id => 'nope')`,
          [ok],
          /embedding_space_id 'nope' names no embedding space/,
        ],
        [`SELECT * FROM search_chunks(array_fill(0, ARRAY[32])::vector, 10)`, [], /query is the zero vector/],
        [
          `SELECT * FROM search_chunks($1::vector, 10)`,
          [`[NaN${",1".repeat(31)}]`],
          /NaN not allowed in vector/,
        ],
        [
          `SELECT * FROM search_chunks($1::vector, 10)`,
          [`[Infinity${",1".repeat(31)}]`],
          /infinite value not allowed in vector/,
        ],
        [`SELECT * FROM search_chunks($1::vector, -1)`, [ok], /search_chunks: k is -1, expected 1 to 1000/],
        // The query as text (an untyped parameter): the search names the bad component itself, counted from 0.
        [
          `SELECT * FROM search_chunks($1, 10)`,
          [`[1,NaN${",1".repeat(30)}]`],
          /^search_chunks: query component 1 is NaN, expected a finite number$/,
        ],
        [
          `SELECT * FROM search_chunks($1, 10)`,
          [`[Infinity${",1".repeat(31)}]`],
          /^search_chunks: query component 0 is Infinity, expected a finite number$/,
        ],
        [
          `SELECT * FROM search_chunks($1, 10)`,
          [`[${"1,".repeat(31)} -inf]`],
          /^search_chunks: query component 31 is -inf, expected a finite number$/,
        ],
        // Any case: the component scan runs whenever the text has an "n" or "N" (NaN, inf, infinity).
        [
          `SELECT * FROM search_chunks($1, 10)`,
          [`[1,1,INF${",1".repeat(29)}]`],
          /^search_chunks: query component 2 is INF, expected a finite number$/,
        ],
        [
          `SELECT * FROM search_chunks($1, 10)`,
          [`[${"1,".repeat(30)}nan,1]`],
          /^search_chunks: query component 30 is nan, expected a finite number$/,
        ],
        [
          `SELECT * FROM search_chunks($1, 10)`,
          ["[1,2,x]"],
          /^search_chunks: query is not a vector \(.+\), expected pgvector's text form: \[x1,x2,...\] with finite numbers$/,
        ],
        [
          `SELECT * FROM search_chunks($1, 10)`,
          ["[1,2,3]"],
          /search_chunks: query has 3 dimensions, expected/,
        ],
        [`SELECT * FROM search_chunks($1, 0)`, [ok], /search_chunks: k is 0, expected 1 to 1000/],
      ];
      for (const [sql, params, message] of cases) {
        await expect(
          inTransaction(app, org, (c) => c.query(sql, params)),
          sql,
        ).rejects.toThrow(message);
      }
      // A k too small gets the same hint as one too large: the whole range.
      for (const k of [0, -5, null, 1001]) {
        await expect(
          inTransaction(app, org, (c) => c.query(`SELECT * FROM search_chunks($1::vector, $2)`, [ok, k])),
          `k = ${k}`,
        ).rejects.toMatchObject({
          hint: "Ask for at least 1 and at most 1,000 nearest rows; page with a narrower filter for more.",
        });
      }
      // pgvector quotes the whole input in its message: the search's error keeps its start only, so that a
      // query of thousands of numbers does not land whole in the app's error and logs.
      const long = `[${"0.1,".repeat(3071)}0.1] x`;
      const refused = await inTransaction(app, org, (c) =>
        c.query(`SELECT * FROM search_chunks($1, 10)`, [long]),
      ).then(
        () => undefined,
        (e: Error) => e.message,
      );
      expect(refused).toMatch(
        /^search_chunks: query is not a vector \(invalid input syntax for type vector: "\[0\.1,0\.1,.*\.\.\.\), expected pgvector's text form/,
      );
      expect(refused!.length).toBeLessThan(300);
      // The text form of a good query searches as the vector does.
      const asText = await inTransaction(app, org, (c) =>
        c.query<{ id: string }>(`SELECT "id" FROM search_chunks($1, 10)`, [ok]),
      );
      const asVector = await inTransaction(app, org, (c) =>
        c.query<{ id: string }>(`SELECT "id" FROM search_chunks($1::vector, 10)`, [ok]),
      );
      expect(asText.rows).toHaveLength(10);
      expect(asText.rows).toEqual(asVector.rows);
      // Exponents (e, E) are numbers, not a bad component: the text searches as its vector does.
      const exponents = `[${ok
        .slice(1, -1)
        .split(",")
        .map((x, i) => (i % 2 ? Number(x).toExponential() : Number(x).toExponential().toUpperCase()))
        .join(",")}]`;
      expect(exponents).toMatch(/e.*E|E.*e/);
      const withExponents = await inTransaction(app, org, (c) =>
        c.query<{ id: string }>(`SELECT "id" FROM search_chunks($1, 10)`, [exponents]),
      );
      expect(withExponents.rows).toEqual(asVector.rows);
      // The wrong dimension for a named space: the expected dimension is the space's.
      const other = (
        await owner.query<{ id: string }>(
          `INSERT INTO "EmbeddingSpace" ("provider", "model", "dimension") VALUES ('test', 'other-${label}', 8) RETURNING "id"`,
        )
      ).rows[0]!.id;
      await expect(
        inTransaction(app, org, (c) =>
          c.query(`SELECT * FROM search_chunks($1::vector, 10, embedding_space_id => $2)`, [ok, other]),
        ),
      ).rejects.toThrow(
        `search_chunks: query has 32 dimensions, expected 8 (the dimension of embedding space '${other}')`,
      );
    });

    // Last in the block: it recalibrates the database the tests above share.
    it("plans a recalibration for a tenant grown past the threshold into the index, which then keeps the contract", async () => {
      // The dimension's index may serve no tenant when the release calibrates (the others below the threshold,
      // the largest with an index of its own), and nothing recalibrates it until the rows double, yet the first
      // tenant to grow past the threshold searches it: left at the unfiltered setting, one grown from 1,000 to
      // 1,700 of 5,290 rows got recall@10 0.36, while plan said "unchanged" and health "healthy".
      const own = new Set((await readTenantIndexes(owner)).map((e) => e.organizationId));
      const grower = corpus.tenants.find(
        (t) => t.rows <= calibrated.exactRows && !own.has(t.organizationId),
      )!;
      expect(grower, "a tenant below the threshold without an index of its own").toBeDefined();
      const [index] = await readIndexRecords(owner);
      const planOf = async () =>
        (
          await planRelease({
            databaseUrl: target.current.roles.url("migrator"),
            migrationsDir: DEFAULT_MIGRATIONS_DIR,
            ownerRole: target.current.roles.names.owner,
            steps: defaultReleaseSteps({ seedSets: [], ...steps }),
          })
        ).vectorIndexes.find((i) => i.name === index!.name);
      // (Other tenants may be named: this block's set-up took the graphs over sign bits off the list.)
      expect((await planOf())?.reason).not.toContain(grower.organizationId);

      // The threshold as a calibration that put it just above the grower would have left it (the calibrated one
      // is timing's, and growing past it could move the dimension's rows past its own growth rule, which plans
      // a recalibration for another reason): only the grower lies between the two, and it did not search the
      // index when calibrated.
      const threshold = grower.rows + 10;
      await owner.query(
        `UPDATE neonhub_release.search_calibrations SET exact_rows = $2 WHERE index_name = $1`,
        [index!.name, threshold],
      );
      await saveSearchTuning(owner, { ...calibrated, exactRows: threshold });
      expect((await planOf())?.reason).not.toContain(grower.organizationId);
      const added = 30;
      const vectors = Array.from({ length: added }, (_, i) =>
        vectorText(corpus.draw(grower.topics[i % grower.topics.length]!)),
      );
      await owner.query(
        `INSERT INTO "Chunk" ("id", "datasetId", "embeddingSpaceId", "documentId", "idx", "text", "embedding")
         SELECT $1 || '-grown-' || n, $2, $3, $1, $4 + n, 'grown', v::vector
           FROM unnest($5::text[]) WITH ORDINALITY AS g(v, n)`,
        [grower.documentId, grower.datasetId, corpus.spaceId, grower.rows, vectors],
      );
      await owner.query(`ANALYZE "Chunk"`);
      const grown = { ...grower, rows: grower.rows + added };
      const planned = await planOf();
      expect(planned?.action).toBe("update");
      expect(planned?.reason).toContain(
        `${grower.organizationId} (${grown.rows.toLocaleString("en-US")} rows)`,
      );
      expect(planned?.reason).toContain(
        `grown past the exact threshold (${threshold.toLocaleString("en-US")} visible rows) since the ` +
          "search was calibrated, into the dimension's index",
      );

      await applyAsMigrator(target.current, defaultReleaseSteps({ seedSets: [], ...steps }));
      expect((await planOf())?.reason).not.toContain("grown past the exact threshold");
      for (const kind of ["own", "table-wide"] as const) {
        expect(await expectContract(grown, kind), kind).toBeGreaterThanOrEqual(0.95);
      }
    });
  });
}

contract("ivfflat", {});
contract("hnsw", { vectorIndexes: { method: "hnsw" } });
