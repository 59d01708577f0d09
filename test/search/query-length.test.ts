// The query's length does not change what search_chunks() and search_messages() return: cosine distance does not
// depend on it. Above 2,000 dimensions the index path compares the query as halfvec(n), which holds nothing
// below ~6e-8 and nothing beyond ±65504; a query whose components all lay below the first became the zero
// halfvec there (its rows, ranked by NaN, were any rows or none) while a tenant searched exactly got its
// nearest rows, and one with a component beyond the second was refused. The query is compared at unit length
// (migration 20261206150000). A released database with a 3,072-dimension space, its halfvec indexes built by
// the release, searched by the app through both paths (the exact threshold above the tenant, then at 0).
import type { Client, ClientBase } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readSearchTuning, saveSearchTuning, type SearchTuning } from "../../core";
import { applyAsMigrator, useReleasedDatabase } from "../security/released-database";
import { inTransaction } from "../security/sessions";
import {
  clusteredVectors,
  copyChunks,
  copyMessages,
  createFixtures,
  vectorText,
  type EmbeddingFixtures,
} from "../vector-indexes/data";

const DIMENSION = 3072;
const ROWS = 300;
const K = 10;
const QUERIES = 3;

const TABLES = [
  { table: "Chunk", fn: "search_chunks" },
  { table: "Message", fn: "search_messages" },
] as const;

type Path = "exact" | "index";

interface Found {
  id: string;
  distance: number;
}

/** `v` scaled so that its largest component, in magnitude, is `largest`. */
function scaledTo(v: Float32Array, largest: number): Float32Array {
  const max = v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  return v.map((x) => (x / max) * largest);
}

describe("a query of any length, above 2,000 dimensions", () => {
  const target = useReleasedDatabase("search_query_length");
  let owner: Client;
  let app: Client;
  let fixtures: EmbeddingFixtures;
  const source = clusteredVectors({
    dimension: DIMENSION,
    latentDimension: 16,
    clusters: 8,
    spread: 0.6,
    noise: 0.05,
    seed: 3072,
  });
  const queries = Array.from({ length: QUERIES }, () => source.next());
  const calibrated = new Map<string, SearchTuning>();

  beforeAll(async () => {
    owner = await target.current.roles.connect("migrator");
    fixtures = await createFixtures(owner, [DIMENSION]);
    await copyChunks(owner, fixtures, { dimension: DIMENSION, count: ROWS, source });
    await copyMessages(owner, fixtures, { dimension: DIMENSION, count: ROWS, source });
    await owner.query(`ANALYZE "Chunk", "Message"`);
    // The release builds the dimension's halfvec indexes (and calibrates the search) once rows exist.
    await applyAsMigrator(target.current);
    app = await target.current.roles.connect("app");
    for (const t of await readSearchTuning(owner)) calibrated.set(t.table, t);
  });
  afterAll(async () => {
    await app?.end();
    await owner?.end();
  });

  /** The search of `table` by the app, through the path given: the exact threshold above the tenant, or 0. */
  async function search(fn: string, table: string, path: Path, query: Float32Array): Promise<Found[]> {
    const base = calibrated.get(table) ?? { table, dimension: DIMENSION, exactRows: 10_000 };
    await saveSearchTuning(owner, { ...base, exactRows: path === "exact" ? 10_000 : 0 });
    return inTransaction(
      app,
      fixtures.organizationId,
      async (c: ClientBase) =>
        (await c.query<Found>(`SELECT "id", "distance" FROM ${fn}($1::vector, $2)`, [vectorText(query), K]))
          .rows,
    );
  }

  it("has halfvec indexes the index path reads", async () => {
    const { rows } = await owner.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE pg_get_indexdef(i.indexrelid) LIKE '%halfvec(3072)%' ORDER BY 1`,
    );
    expect(rows.map((r) => r.name)).toEqual(["idx_chunk_embedding_cosine", "idx_message_embedding_cosine"]);
  });

  for (const { table, fn } of TABLES) {
    it(`${fn}: every component below halfvec's smallest (6e-8), or one beyond ±65504, gets the rows of the query at any length, on both paths`, async () => {
      for (const q of queries) {
        // The nearest rows, exactly, computed by the owner outside the search.
        const truth = (
          await owner.query<Found>(
            `SELECT "id", ("embedding" <=> $1::vector)::float8 AS distance FROM "${table}"
              WHERE "organizationId" = $2 ORDER BY 2, "id" LIMIT $3`,
            [vectorText(q), fixtures.organizationId, K],
          )
        ).rows;
        expect(truth).toHaveLength(K);
        for (const path of ["exact", "index"] as const) {
          const plain = await search(fn, table, path, q);
          expect(plain, `${path} path`).toHaveLength(K);
          for (const largest of [5e-8, 1e-12, 70_000, 1e12]) {
            const found = await search(fn, table, path, scaledTo(q, largest));
            const label = `${fn}, ${path} path, largest component ${largest}`;
            // The same rows as the query at its own length, at the same cosine distances (computed in full
            // precision from the query as given, so equal up to single precision's rounding).
            expect(
              found.map((r) => r.id),
              label,
            ).toEqual(plain.map((r) => r.id));
            found.forEach((r, i) => expect(r.distance, label).toBeCloseTo(plain[i]!.distance, 5));
          }
          if (path === "exact") expect(plain.map((r) => r.id)).toEqual(truth.map((r) => r.id));
        }
      }
    });

    it(`${fn}: refuses on both paths a query whose cosine distance single precision cannot compute, naming the fix`, async () => {
      const q = queries[0]!;
      for (const path of ["exact", "index"] as const) {
        for (const largest of [1e-30, 1e25]) {
          await expect(
            search(fn, table, path, scaledTo(q, largest)),
            `${path}, ${largest}`,
          ).rejects.toMatchObject({
            code: "22003",
            message: expect.stringMatching(
              new RegExp(
                `^${fn}: query has norm \\S+, too (small|large) for its cosine distance to be computed in single precision`,
              ),
            ),
            hint: expect.stringContaining("normalize it to unit length"),
          });
        }
      }
    });
  }
});
