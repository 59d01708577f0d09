// search_messages() as the app calls it: the app login, under row-level security, the organization set for the
// transaction. Three organizations' messages (seeded), in two embedding spaces of one dimension and one of
// another, over a few conversations; the release builds and calibrates the vector index once the rows exist.
// Through the exact path (the default at this size) and the index path (the threshold lowered): k rows whenever
// the caller sees k, recall@10 against exact search over the rows the caller sees, the conversation and
// embedding-space filters, isolation, no organization set, and bad input.
import type { Client, ClientBase } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildTenantIndex,
  defaultReleaseSteps,
  EMBEDDING_TABLES,
  readIndexRecords,
  readSearchTuning,
  readTenantIndexes,
  saveSearchTuning,
  saveTenantIndexes,
  tenantIndexName,
  type SearchTuning,
  recallOf,
  type Neighbour,
} from "../../core";
import { applyAsMigrator, useReleasedDatabase } from "../security/released-database";
import { inTransaction } from "../security/sessions";
import {
  clusteredVectors,
  copyMessages,
  vectorText,
  withoutDimensionTrigger,
  type EmbeddingFixtures,
} from "../vector-indexes/data";
import { scansDuring } from "./scans";

const DIMENSION = 16;
const OTHER_DIMENSION = 8;
const K = 10;
const QUERIES = 12;

interface Found {
  id: string;
  conversationId: string;
  role: string;
  distance: number;
}

interface Filters {
  conversationId?: string;
  embeddingSpaceId?: string;
}

function search(
  app: ClientBase,
  organization: string | undefined,
  query: Float32Array | string,
  k = K,
  filters: Filters = {},
) {
  return inTransaction(app, organization, async (c) => {
    const text = typeof query === "string" ? query : vectorText(query);
    return (
      await c.query<Found>(
        `SELECT * FROM search_messages($1::vector, $2, conversation_id => $3, embedding_space_id => $4)`,
        [text, k, filters.conversationId ?? null, filters.embeddingSpaceId ?? null],
      )
    ).rows;
  });
}

describe("search_messages", () => {
  const target = useReleasedDatabase("search_messages");
  let owner: Client;
  let app: Client;
  const source = clusteredVectors({
    dimension: DIMENSION,
    clusters: 12,
    spread: 0.6,
    latentDimension: 6,
    noise: 0.1,
    seed: 1515,
  });
  // Organizations: `a` with two conversations and messages in two spaces of DIMENSION, `b` with one, `c` with
  // fewer than k messages.
  const org = { a: "msg-org-a", b: "msg-org-b", c: "msg-org-c" };
  const conversation = { a1: "msg-conv-a1", a2: "msg-conv-a2", b1: "msg-conv-b1", c1: "msg-conv-c1" };
  const space = { main: "", second: "", other: "" };
  const owning: Record<string, string> = {
    [conversation.a1]: org.a,
    [conversation.a2]: org.a,
    [conversation.b1]: org.b,
    [conversation.c1]: org.c,
  };
  let calibrated: SearchTuning | undefined;

  /**
   * The exact top k the caller sees: the organization's messages of DIMENSION (or one space/conversation), with
   * their distances (core's recallOf counts a tie at the k-th distance as a hit).
   */
  async function exactNeighbours(
    organization: string,
    query: Float32Array,
    k: number,
    filters: Filters = {},
  ) {
    const spaces = filters.embeddingSpaceId ? [filters.embeddingSpaceId] : [space.main, space.second];
    const result = await owner.query<Neighbour>(
      `SELECT "id", ("embedding" <=> $1::vector)::float8 AS distance FROM "Message"
        WHERE "organizationId" = $2 AND "embeddingSpaceId" = ANY ($3) AND ($4::text IS NULL OR "conversationId" = $4)
        ORDER BY "embedding" <=> $1::vector, "id" LIMIT $5`,
      [vectorText(query), organization, spaces, filters.conversationId ?? null, k],
    );
    return result.rows;
  }

  async function exactTopK(organization: string, query: Float32Array, k: number, filters: Filters = {}) {
    return (await exactNeighbours(organization, query, k, filters)).map((r) => r.id);
  }

  async function withTuning(overrides: Partial<SearchTuning>, fn: () => Promise<void>) {
    const base = calibrated ?? { table: "Message", dimension: DIMENSION, exactRows: 10_000 };
    await saveSearchTuning(owner, { ...base, ...overrides });
    try {
      await fn();
    } finally {
      await saveSearchTuning(owner, base);
    }
  }

  /** Mean recall@10 of `QUERIES` held-out queries, after checking k rows, order and scope on each. */
  async function expectContract(organization: string, visible: number, filters: Filters = {}) {
    const recalls: number[] = [];
    for (let i = 0; i < QUERIES; i++) {
      const q = source.next();
      const found = await search(app, organization, q, K, filters);
      expect(found).toHaveLength(Math.min(K, visible));
      for (const r of found) {
        expect(owning[r.conversationId]).toBe(organization);
        if (filters.conversationId) expect(r.conversationId).toBe(filters.conversationId);
      }
      const distances = found.map((r) => r.distance);
      expect(distances).toEqual([...distances].sort((x, y) => x - y));
      recalls.push(recallOf(await exactNeighbours(organization, q, K, filters), found));
    }
    return recalls.reduce((x, y) => x + y, 0) / recalls.length;
  }

  const counts = {
    a1Main: 1500,
    a2Main: 500,
    a1Second: 300,
    b1Main: 800,
    c1Main: 5,
    a1Other: 50,
  };

  beforeAll(async () => {
    owner = await target.current.roles.connect("migrator");
    const one = async (sql: string, params: unknown[]) =>
      (await owner.query<{ id: string }>(sql, params)).rows[0]!.id;
    for (const [name, id] of Object.entries(org))
      await owner.query(`INSERT INTO "Organization" ("id", "slug", "name") VALUES ($1, $2, $2)`, [id, name]);
    for (const [id, organization] of Object.entries(owning))
      await owner.query(`INSERT INTO "Conversation" ("id", "organizationId") VALUES ($1, $2)`, [
        id,
        organization,
      ]);
    const newSpace = (model: string, dimension: number) =>
      one(
        `INSERT INTO "EmbeddingSpace" ("provider", "model", "dimension") VALUES ('test', $1, $2) RETURNING "id"`,
        [model, dimension],
      );
    space.main = await newSpace("messages-main", DIMENSION);
    space.second = await newSpace("messages-second", DIMENSION);
    space.other = await newSpace("messages-other", OTHER_DIMENSION);

    let next = 0;
    const load = async (conversationId: string, spaceId: string, dimension: number, count: number) => {
      const fixtures: EmbeddingFixtures = {
        organizationId: owning[conversationId]!,
        datasetId: "",
        documentId: "",
        conversationId,
        spaces: new Map([[dimension, spaceId]]),
      };
      const vectors =
        dimension === DIMENSION
          ? source
          : clusteredVectors({ dimension, clusters: 3, spread: 0.5, seed: 77 });
      await copyMessages(owner, fixtures, { dimension, count, source: vectors, firstId: next });
      next += count;
    };
    await load(conversation.a1, space.main, DIMENSION, counts.a1Main);
    await load(conversation.a2, space.main, DIMENSION, counts.a2Main);
    await load(conversation.a1, space.second, DIMENSION, counts.a1Second);
    await load(conversation.b1, space.main, DIMENSION, counts.b1Main);
    await load(conversation.c1, space.main, DIMENSION, counts.c1Main);
    await load(conversation.a1, space.other, OTHER_DIMENSION, counts.a1Other);
    await owner.query(`ANALYZE "Message"`);
    // The release builds the vector index (and calibrates the search) once rows exist.
    await applyAsMigrator(target.current, defaultReleaseSteps({ seedSets: [] }));
    app = await target.current.roles.connect("app");
    calibrated = (await readSearchTuning(owner)).find(
      (t) => t.table === "Message" && t.dimension === DIMENSION,
    );
  });
  afterAll(async () => {
    await app?.end();
    await owner?.end();
  });

  const visibleA = () => counts.a1Main + counts.a2Main + counts.a1Second;

  it("fills the tenant column from the conversation", async () => {
    const { rows } = await owner.query<{ org: string; n: number }>(
      `SELECT m."organizationId" AS org, count(*)::int AS n FROM "Message" m
         JOIN "Conversation" v ON v."id" = m."conversationId" AND v."organizationId" = m."organizationId"
        GROUP BY 1 ORDER BY 1`,
    );
    expect(rows).toEqual([
      { org: org.a, n: visibleA() + counts.a1Other },
      { org: org.b, n: counts.b1Main },
      { org: org.c, n: counts.c1Main },
    ]);
  });

  it("returns k rows (all of them below k) with recall@10 ≥ 0.95 on the default path", async () => {
    expect(await expectContract(org.a, visibleA())).toBeGreaterThanOrEqual(0.95);
    expect(await expectContract(org.b, counts.b1Main)).toBeGreaterThanOrEqual(0.95);
    expect(await expectContract(org.c, counts.c1Main)).toBe(1);
  });

  it("keeps the contract through the vector index when the threshold sends the search there", async () => {
    const index = (await readIndexRecords(owner)).find(
      (r) => r.table === "Message" && r.dimension === DIMENSION,
    );
    expect(index, "the release built the messages' vector index").toBeDefined();
    const probes = "lists" in index!.params ? { probes: index!.params.lists } : {};
    await withTuning({ exactRows: 100, ...probes }, async () => {
      const scans = await inTransaction(app, org.a, async (c) => {
        const read = async () =>
          Number(
            (
              await c.query<{ n: string }>(
                `SELECT coalesce(sum(pg_stat_get_xact_numscans(i.indexrelid)), 0) AS n
                   FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
                  WHERE i.indrelid = '"Message"'::regclass
                AND x.relam IN (SELECT a.oid FROM pg_am a WHERE a.amname IN ('ivfflat', 'hnsw'))`,
              )
            ).rows[0]!.n,
          );
        const before = await read();
        await c.query(`SELECT * FROM search_messages($1::vector, $2)`, [vectorText(source.next()), K]);
        return (await read()) - before;
      });
      expect(scans, "the search used the vector index").toBeGreaterThan(0);
      expect(await expectContract(org.a, visibleA())).toBeGreaterThanOrEqual(0.95);
      expect(await expectContract(org.b, counts.b1Main)).toBeGreaterThanOrEqual(0.95);
      expect(
        await expectContract(org.a, counts.a1Main + counts.a1Second, { conversationId: conversation.a1 }),
      ).toBeGreaterThanOrEqual(0.95);
      // Below the threshold: exact, all of them.
      expect(await expectContract(org.c, counts.c1Main)).toBe(1);
    });
  });

  it("sends a tenant to the index for its embedded messages only: messages waiting for an embedding do not count", async () => {
    // A conversation's messages are written first and embedded later, so a tenant has messages waiting. b's
    // messages, doubled by messages without an embedding, are over a threshold its embedded ones are under:
    // counted again from the release's count index, it is searched among its embedded messages, exactly,
    // without the vector index.
    const countIndex = "idx_message_embedded_rows";
    const valid = await owner.query(`SELECT search_count_index_valid($1) AS valid`, [countIndex]);
    expect(valid.rows[0]!.valid, "the release built the count index").toBe(true);
    const vectorIndexes = (
      await owner.query<{ name: string }>(
        `SELECT x.relname AS name FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
          WHERE i.indrelid = '"Message"'::regclass
            AND x.relam IN (SELECT a.oid FROM pg_am a WHERE a.amname IN ('ivfflat', 'hnsw'))`,
      )
    ).rows.map((r) => r.name);
    expect(vectorIndexes.length, "the release built the messages' vector index").toBeGreaterThan(0);
    // b holds a third of the rows: the release's calibration may give it an index of its own (kept or not by
    // timing), which it would then search uncounted (the next test). Without one here, as a smaller tenant.
    const tenantIndexes = await readTenantIndexes(owner);
    await saveTenantIndexes(
      owner,
      tenantIndexes.filter((e) => e.organizationId !== org.b),
    );
    try {
      await withTuning({ exactRows: counts.b1Main + 5 }, () =>
        inTransaction(
          app,
          org.b,
          async (c) => {
            await c.query(
              `INSERT INTO "Message" ("id", "conversationId", "role", "contentJson", "embeddingSpaceId")
               SELECT 'waiting-' || i, $1, 'user', '{}', $2 FROM generate_series(1, $3) i`,
              [conversation.b1, space.main, counts.b1Main],
            );
            for (let i = 0; i < 4; i++) {
              const q = source.next();
              const { result, scans } = await scansDuring(c, [countIndex, ...vectorIndexes], () =>
                c.query<Found>(`SELECT * FROM search_messages($1::vector, $2)`, [vectorText(q), K]),
              );
              // At least once: the exact search that follows may read the count index too (its keys and its
              // predicate fit that query), as the planner's estimates decide. That the recount took place is what
              // the next two lines prove: without it b would go to the vector index.
              expect(scans.get(countIndex), "counted again from the count index").toBeGreaterThanOrEqual(1);
              expect(vectorIndexes.map((n) => scans.get(n))).toEqual(vectorIndexes.map(() => 0));
              expect(result.rows.map((r) => r.id)).toEqual(await exactTopK(org.b, q, K));
            }
          },
          { rollback: true },
        ),
      );
    } finally {
      await saveTenantIndexes(owner, tenantIndexes);
    }
  });

  it("searches a tenant with an index of its own there, uncounted, unless a conversation narrows it", async () => {
    const table = EMBEDDING_TABLES.find((t) => t.table === "Message")!;
    const ownIndex = tenantIndexName(table, DIMENSION, org.a);
    // The count before the search reads the table or a b-tree that leads with the tenant (for a table's
    // name, pg_stat_get_xact_numscans counts sequential scans); the own index's path reads none of them.
    const btrees = [
      "Message",
      "Message_organizationId_embeddingSpaceId_idx",
      "Message_organizationId_conversationId_idx",
    ];
    const scansOfSearch = (organization: string, filters: Filters = {}) =>
      inTransaction(app, organization, async (c) => {
        const { result, scans } = await scansDuring(c, [ownIndex, ...btrees], () =>
          c.query(`SELECT * FROM search_messages($1::vector, $2, conversation_id => $3)`, [
            vectorText(source.next()),
            K,
            filters.conversationId ?? null,
          ]),
        );
        return {
          rows: result.rows.length,
          own: scans.get(ownIndex) ?? 0,
          counted: btrees.map((n) => scans.get(n) ?? 0),
        };
      });

    // The release may have given the tenant its index already (it qualifies when the calibrated threshold is
    // below its rows): the same name and definition, rebuilt here, and left as it was found.
    const listed = await readTenantIndexes(owner);
    const hadOne = listed.some((e) => e.indexName === ownIndex);
    await buildTenantIndex(
      owner,
      { table, dimension: DIMENSION },
      { organizationId: org.a, rows: visibleA() },
    );
    await saveTenantIndexes(owner, [
      ...listed.filter((e) => e.indexName !== ownIndex),
      {
        table: "Message",
        dimension: DIMENSION,
        organizationId: org.a,
        indexName: ownIndex,
        exactRows: 100,
        efSearch: 100,
      },
    ]);
    try {
      await withTuning({ exactRows: 100 }, async () => {
        const unfiltered = await scansOfSearch(org.a);
        expect(unfiltered.rows).toBe(K);
        expect(unfiltered.own, "the search went through the tenant's own index").toBeGreaterThan(0);
        expect(unfiltered.counted, "nothing counted the tenant's rows").toEqual([0, 0, 0]);
        expect(await expectContract(org.a, visibleA())).toBeGreaterThanOrEqual(0.95);

        const narrowed = await scansOfSearch(org.a, { conversationId: conversation.a2 });
        expect(narrowed.rows).toBe(K);
        expect(
          narrowed.counted.reduce((x, y) => x + y, 0),
          "the conversation's rows were counted",
        ).toBeGreaterThan(0);
        expect(
          await expectContract(org.a, counts.a2Main, { conversationId: conversation.a2 }),
        ).toBeGreaterThanOrEqual(0.95);
        // Another tenant never takes it.
        const other = await scansOfSearch(org.b);
        expect(other.rows).toBe(K);
        expect(other.own).toBe(0);
      });
    } finally {
      await saveTenantIndexes(owner, listed);
      if (!hadOne) await owner.query(`DROP INDEX CONCURRENTLY IF EXISTS "${ownIndex}"`);
    }
  });

  it("filters by conversation and by embedding space", async () => {
    expect(
      await expectContract(org.a, counts.a2Main, { conversationId: conversation.a2 }),
    ).toBeGreaterThanOrEqual(0.95);
    expect(
      await expectContract(org.a, counts.a1Second, { embeddingSpaceId: space.second }),
    ).toBeGreaterThanOrEqual(0.95);
    const both = { conversationId: conversation.a1, embeddingSpaceId: space.main };
    const found = await search(app, org.a, source.next(), 50, both);
    expect(found).toHaveLength(50);
    const ids = found.map((r) => r.id);
    const { rows } = await owner.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM "Message" WHERE "id" = ANY ($1) AND "conversationId" = $2 AND "embeddingSpaceId" = $3`,
      [ids, conversation.a1, space.main],
    );
    expect(rows[0]!.n).toBe(50);
    // The other dimension's space: only its messages, found with a query of its dimension.
    const other = await search(app, org.a, vectorText(new Float32Array(OTHER_DIMENSION).fill(1)), 100);
    expect(other).toHaveLength(counts.a1Other);
  });

  it("never returns another organization's messages, and nothing with no organization set", async () => {
    const q = source.next();
    const found = await search(app, org.c, q, 100);
    expect(found).toHaveLength(counts.c1Main);
    expect(found.every((r) => r.conversationId === conversation.c1)).toBe(true);
    const b = await search(app, org.b, q, 1000);
    expect(b).toHaveLength(counts.b1Main);
    expect(b.every((r) => r.conversationId === conversation.b1)).toBe(true);
    expect(await search(app, undefined, q)).toEqual([]);
    expect(await search(app, "", q)).toEqual([]);
    // The owner is not subject to the policies, but the search is still scoped to the organization set.
    expect(await search(owner, undefined, q)).toEqual([]);
    // Another organization's conversation is named as one that does not exist; no organization set: nothing.
    for (const id of ["nope", conversation.b1]) {
      await expect(search(app, org.c, q, 10, { conversationId: id })).rejects.toMatchObject({
        code: "22023",
        message: `search_messages: conversation_id '${id}' names no conversation of this organization`,
      });
    }
    expect(await search(app, undefined, q, 10, { conversationId: "nope" })).toEqual([]);
  });

  it("refuses bad input with an error naming the argument and the expected value", async () => {
    const ok = vectorText(source.next());
    const cases: [string, unknown[], RegExp | string][] = [
      [
        `SELECT * FROM search_messages($1::vector, 10)`,
        ["[1,2,3]"],
        /search_messages: query has 3 dimensions, expected the dimension of an embedding space \(.*16.*\)/,
      ],
      [`SELECT * FROM search_messages(NULL, 10)`, [], /search_messages: query is NULL/],
      [`SELECT * FROM search_messages($1::vector, 0)`, [ok], /search_messages: k is 0, expected 1 to 1000/],
      [`SELECT * FROM search_messages($1::vector, -3)`, [ok], /search_messages: k is -3, expected 1 to 1000/],
      [
        `SELECT * FROM search_messages($1::vector, 1001)`,
        [ok],
        /search_messages: k is 1001, expected 1 to 1000/,
      ],
      [
        `SELECT * FROM search_messages($1::vector, NULL)`,
        [ok],
        /search_messages: k is NULL, expected 1 to 1000/,
      ],
      [
        `SELECT * FROM search_messages($1::vector, 10, embedding_space_id => 'nope')`,
        [ok],
        /embedding_space_id 'nope' names no embedding space/,
      ],
      [
        `SELECT * FROM search_messages($1::vector, 10, embedding_space_id => $2)`,
        [ok, space.other],
        `search_messages: query has 16 dimensions, expected 8 (the dimension of embedding space '${space.other}')`,
      ],
      [`SELECT * FROM search_messages(array_fill(0, ARRAY[16])::vector, 10)`, [], /query is the zero vector/],
      [
        `SELECT * FROM search_messages($1::vector, 10)`,
        [`[NaN${",1".repeat(15)}]`],
        /NaN not allowed in vector/,
      ],
      // The query as text (an untyped parameter): the search names the bad component itself, counted from 0.
      [
        `SELECT * FROM search_messages($1, 10)`,
        [`[1,1,NaN${",1".repeat(13)}]`],
        /^search_messages: query component 2 is NaN, expected a finite number$/,
      ],
      [
        `SELECT * FROM search_messages($1, 10)`,
        [`[${"1,".repeat(15)}Infinity]`],
        /^search_messages: query component 15 is Infinity, expected a finite number$/,
      ],
      [
        `SELECT * FROM search_messages($1, 10)`,
        ["not a vector"],
        /^search_messages: query is not a vector \(.+\), expected pgvector's text form/,
      ],
      [`SELECT * FROM search_messages(NULL::text, 10)`, [], /search_messages: query is NULL/],
    ];
    for (const [sql, params, message] of cases) {
      await expect(
        inTransaction(app, org.a, (c) => c.query(sql, params)),
        sql,
      ).rejects.toThrow(message);
    }
  });
  it("leaves out a message of another dimension than its space, as the index path does, instead of failing", async () => {
    // Written with the dimension trigger disabled, as a database that had it disabled once holds it: every
    // unfiltered search of its organization, and every search of its conversation, failed with pgvector's
    // bare `different vector dimensions 3 and 16` (migration 20261206110100). Health names the row.
    const q = source.next();
    const unfiltered = await search(app, org.c, q);
    const inConversation = await search(app, org.c, q, K, { conversationId: conversation.c1 });
    expect(unfiltered).toHaveLength(counts.c1Main);
    await withoutDimensionTrigger(owner, "Message", () =>
      owner.query(
        `INSERT INTO "Message" ("id", "conversationId", "role", "contentJson", "embeddingSpaceId", "embedding")
         VALUES ('wrong-dimension', $1, 'user', '{}', $2, '[1,2,3]')`,
        [conversation.c1, space.main],
      ),
    );
    try {
      expect(await search(app, org.c, q)).toEqual(unfiltered);
      expect(await search(app, org.c, q, K, { conversationId: conversation.c1 })).toEqual(inConversation);
      expect(await search(app, org.c, q, K, { embeddingSpaceId: space.main })).toEqual(unfiltered);
    } finally {
      await owner.query(`DELETE FROM "Message" WHERE "id" = 'wrong-dimension'`);
    }
  });

  it("answers, above 2,000 dimensions, a query component beyond halfvec's ±65504, with the same rows on every path", async () => {
    // The index path compares the query as halfvec(n) there; it failed with pgvector's bare `"70000" is out of
    // range for type halfvec` while a tenant searched exactly got rows for the same query. Migration
    // 20261206110000 refused the query on both paths; since 20261206150000 the index path compares it at unit
    // length, where no component is beyond ±1, and both paths answer it (test/search/query-length.test.ts
    // checks the rows against the exact path's). Twenty messages of org c in a space of 2,048 dimensions,
    // searched exactly (no measurement: the default threshold) and through the index path (the threshold at 0).
    const WIDE = 2048;
    const wide = (
      await owner.query<{ id: string }>(
        `INSERT INTO "EmbeddingSpace" ("provider", "model", "dimension") VALUES ('test', 'messages-wide', $1) RETURNING "id"`,
        [WIDE],
      )
    ).rows[0]!.id;
    await owner.query(
      `INSERT INTO "Message" ("id", "conversationId", "role", "contentJson", "embeddingSpaceId", "embedding")
       SELECT 'wide-' || i, $1, 'user', '{}', $2,
              (SELECT array_agg(sin(i * 7 + j) ORDER BY j)::real[]::vector FROM generate_series(1, $3) j)
         FROM generate_series(1, 20) i`,
      [conversation.c1, wide, WIDE],
    );
    const query = (value: string) =>
      `[${Array.from({ length: WIDE }, (_, i) => (i === 5 ? value : "0.01")).join(",")}]`;
    const searchWide = (sql: string, value: string) =>
      inTransaction(app, org.c, async (c) => (await c.query<Found>(sql, [query(value)])).rows);
    // The rows of each call on the exact path, which the index path must return too (20 rows: it reads them all).
    const answers = new Map<string, string[]>();
    try {
      for (const exactRows of [undefined, 0]) {
        if (exactRows !== undefined)
          await saveSearchTuning(owner, { table: "Message", dimension: WIDE, exactRows });
        for (const sql of [
          `SELECT * FROM search_messages($1::vector, 10)`,
          `SELECT * FROM search_messages($1, 10, conversation_id => '${conversation.c1}')`,
        ]) {
          // halfvec's largest value and one beyond it, each answered with k rows, the same on every path.
          for (const value of ["65504", "70000"]) {
            const found = await searchWide(sql, value);
            expect(found, `${sql}, ${value} (exact rows ${exactRows})`).toHaveLength(10);
            expect(found.every((r) => r.conversationId === conversation.c1)).toBe(true);
            const ids = found.map((r) => r.id);
            const first = answers.get(`${sql} ${value}`);
            if (first === undefined) answers.set(`${sql} ${value}`, ids);
            else expect(ids, `${sql}, ${value}: the index path's rows`).toEqual(first);
          }
        }
      }
      // search_chunks() answers it too: org c has no chunks of that space, so it has no rows, and no error.
      expect(await searchWide(`SELECT * FROM search_chunks($1::vector, 10)`, "70000")).toEqual([]);
    } finally {
      await owner.query(`DELETE FROM "Message" WHERE "embeddingSpaceId" = $1`, [wide]);
      await owner.query(`DELETE FROM "EmbeddingSpace" WHERE "id" = $1`, [wide]);
    }
  });
});
