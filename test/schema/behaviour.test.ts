// What the schema does when users write to it: deletes cascade or null as planned, embeddings of the wrong
// dimension are refused, keys hold, and the database keeps the timestamps.
import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import type { ClientBase } from "pg";
import { useTestDatabase, withClient } from "../support/database";
import { migrate } from "../support/migrations";
import { EMBEDDING_TABLES } from "./expected-schema";
import { make, makeEmbedded, vectorOf } from "./fixtures";

const CHECK_VIOLATION = "23514";
const FOREIGN_KEY_VIOLATION = "23503";
const UNIQUE_VIOLATION = "23505";
const NUMERIC_VALUE_OUT_OF_RANGE = "22003";

function useMigratedDatabase(prefix: string) {
  const db = useTestDatabase(prefix);
  beforeAll(async () => {
    await migrate(db.current.url);
  });
  return <T>(fn: (c: ClientBase) => Promise<T>) => withClient(db.current.url, fn);
}

async function count(c: ClientBase, table: string, where: string, params: unknown[]): Promise<number> {
  const { rows } = await c.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "${table}" WHERE ${where}`,
    params,
  );
  return rows[0]!.n;
}

describe("deletes cascade or set null as the plan says", () => {
  const withDb = useMigratedDatabase("deletes");

  it("deleting an organization removes its memberships and roles, and keeps its users", () =>
    withDb(async (c) => {
      const organizationId = await make.organization(c);
      const userId = await make.user(c);
      const roleId = await make.role(c, organizationId);
      const membershipId = await make.membership(c, { organizationId, userId, roleId });

      await c.query('DELETE FROM "Organization" WHERE id = $1', [organizationId]);

      expect(await count(c, "OrganizationMembership", "id = $1", [membershipId])).toBe(0);
      expect(await count(c, "OrganizationRole", "id = $1", [roleId])).toBe(0);
      expect(await count(c, "User", "id = $1", [userId])).toBe(1);
    }));

  it("deleting a role keeps the memberships that had it, with roleId set to null", () =>
    withDb(async (c) => {
      const organizationId = await make.organization(c);
      const roleId = await make.role(c, organizationId);
      const memberships = [
        await make.membership(c, { organizationId, userId: await make.user(c), roleId }),
        await make.membership(c, { organizationId, userId: await make.user(c), roleId }),
      ];

      await c.query('DELETE FROM "OrganizationRole" WHERE id = $1', [roleId]);

      const { rows } = await c.query<{ roleId: string | null }>(
        'SELECT "roleId" FROM "OrganizationMembership" WHERE id = ANY($1)',
        [memberships],
      );
      expect(rows).toEqual([{ roleId: null }, { roleId: null }]);
    }));

  it("deleting a user removes their memberships and forgets them as the inviter of others", () =>
    withDb(async (c) => {
      const organizationId = await make.organization(c);
      const inviter = await make.user(c);
      const own = await make.membership(c, { organizationId, userId: inviter });
      const invited = await make.membership(c, {
        organizationId,
        userId: await make.user(c),
        invitedById: inviter,
      });

      await c.query('DELETE FROM "User" WHERE id = $1', [inviter]);

      expect(await count(c, "OrganizationMembership", "id = $1", [own])).toBe(0);
      expect(await count(c, "OrganizationMembership", 'id = $1 AND "invitedById" IS NULL', [invited])).toBe(
        1,
      );
    }));

  it("deleting an organization removes its campaigns' metrics and keeps its audit trail, unlinked", () =>
    withDb(async (c) => {
      const organizationId = await make.organization(c);
      const campaignId = await make.campaign(c, organizationId);
      const metricId = await make.campaignMetric(c, { organizationId, campaignId });
      const auditId = await make.auditLog(c, organizationId);

      await c.query('DELETE FROM "Organization" WHERE id = $1', [organizationId]);

      expect(await count(c, "CampaignMetric", "id = $1", [metricId])).toBe(0);
      expect(await count(c, "AuditLog", 'id = $1 AND "organizationId" IS NULL', [auditId])).toBe(1);
    }));

  it("deleting an embedding space removes its chunks and voices but keeps messages, without their vector", () =>
    withDb(async (c) => {
      const spaceId = await make.space(c, 3);
      const chunkId = await makeEmbedded(c, "Chunk", spaceId, vectorOf(3));
      const voiceId = await makeEmbedded(c, "BrandVoice", spaceId, vectorOf(3));
      const messageId = await makeEmbedded(c, "Message", spaceId, vectorOf(3));

      await c.query('DELETE FROM "EmbeddingSpace" WHERE id = $1', [spaceId]);

      expect(await count(c, "Chunk", "id = $1", [chunkId])).toBe(0);
      expect(await count(c, "BrandVoice", "id = $1", [voiceId])).toBe(0);
      const { rows } = await c.query(
        'SELECT "embeddingSpaceId", embedding, "contentJson" FROM "Message" WHERE id = $1',
        [messageId],
      );
      expect(rows).toEqual([{ embeddingSpaceId: null, embedding: null, contentJson: { text: "hi" } }]);
    }));
});

describe("embedding dimensions", () => {
  const withDb = useMigratedDatabase("dimensions");

  it("refuses a chunk whose embedding is not its space's dimension, and stores one that is", () =>
    withDb(async (c) => {
      const organizationId = await make.organization(c);
      const datasetId = await make.dataset(c, organizationId);
      const documentId = await make.document(c, datasetId);
      const spaceId = await make.space(c, 3072);

      await expect(
        make.chunk(c, {
          datasetId,
          documentId,
          embeddingSpaceId: spaceId,
          idx: 0,
          embedding: vectorOf(1536),
        }),
      ).rejects.toMatchObject({
        code: CHECK_VIOLATION,
        message: expect.stringContaining(
          `the embedding has 1536 dimensions, but embedding space "${spaceId}" has 3072`,
        ),
      });

      const chunkId = await make.chunk(c, {
        datasetId,
        documentId,
        embeddingSpaceId: spaceId,
        idx: 0,
        embedding: vectorOf(3072),
      });
      const { rows } = await c.query<{ dims: number }>(
        'SELECT vector_dims(embedding) AS dims FROM "Chunk" WHERE id = $1',
        [chunkId],
      );
      expect(rows[0]!.dims).toBe(3072);
    }));

  it.each(EMBEDDING_TABLES)("%s refuses an embedding of another dimension than its space's", (table) =>
    withDb(async (c) => {
      const spaceId = await make.space(c, 4);
      await expect(makeEmbedded(c, table, spaceId, vectorOf(3))).rejects.toMatchObject({
        code: CHECK_VIOLATION,
      });
      await expect(makeEmbedded(c, table, spaceId, vectorOf(5))).rejects.toMatchObject({
        code: CHECK_VIOLATION,
      });
      await expect(makeEmbedded(c, table, spaceId, vectorOf(4))).resolves.toEqual(expect.any(String));
    }),
  );

  it.each(EMBEDDING_TABLES)(
    "%s refuses an update to the wrong dimension or into a space of another one",
    (table) =>
      withDb(async (c) => {
        const three = await make.space(c, 3);
        const four = await make.space(c, 4);
        const id = await makeEmbedded(c, table, three, vectorOf(3));

        await expect(
          c.query(`UPDATE "${table}" SET embedding = $1 WHERE id = $2`, [vectorOf(4), id]),
        ).rejects.toMatchObject({
          code: CHECK_VIOLATION,
        });
        await expect(
          c.query(`UPDATE "${table}" SET "embeddingSpaceId" = $1 WHERE id = $2`, [four, id]),
        ).rejects.toMatchObject({ code: CHECK_VIOLATION });
        await c.query(`UPDATE "${table}" SET "embeddingSpaceId" = $1, embedding = $2 WHERE id = $3`, [
          four,
          vectorOf(4),
          id,
        ]);
      }),
  );

  it.each(EMBEDDING_TABLES)(
    "%s refuses an embedding filed under an embedding space that does not exist",
    (table) =>
      withDb(async (c) => {
        await expect(makeEmbedded(c, table, "no-such-space", vectorOf(3))).rejects.toMatchObject({
          code: FOREIGN_KEY_VIOLATION,
        });
      }),
  );

  it("refuses a message embedding that names no embedding space", () =>
    withDb(async (c) => {
      const conversationId = await make.conversation(c, await make.organization(c));
      await expect(make.message(c, { conversationId, embedding: vectorOf(3) })).rejects.toMatchObject({
        message: expect.stringContaining('has an embedding but no "embeddingSpaceId"'),
      });
      await expect(make.message(c, { conversationId })).resolves.toEqual(expect.any(String));
    }));

  it("refuses an update that gives a message an embedding while it clears its space, keeping the row", () =>
    withDb(async (c) => {
      const conversationId = await make.conversation(c, await make.organization(c));
      const spaceId = await make.space(c, 3);
      const id = await make.message(c, { conversationId, embeddingSpaceId: spaceId, embedding: vectorOf(3) });
      await expect(
        c.query(`UPDATE "Message" SET "embeddingSpaceId" = NULL, embedding = '[3,2,1]' WHERE id = $1`, [id]),
      ).rejects.toMatchObject({
        message: expect.stringContaining('has an embedding but no "embeddingSpaceId"'),
      });
      const { rows } = await c.query<{ space: string | null; embedding: string | null }>(
        `SELECT "embeddingSpaceId" AS space, embedding::text FROM "Message" WHERE id = $1`,
        [id],
      );
      expect(rows).toEqual([{ space: spaceId, embedding: vectorOf(3) }]);
      // Clearing the space alone still clears the vector made in it, as the space's deletion does.
      await c.query(`UPDATE "Message" SET "embeddingSpaceId" = NULL WHERE id = $1`, [id]);
      expect(
        (await c.query(`SELECT "embeddingSpaceId", embedding FROM "Message" WHERE id = $1`, [id])).rows,
      ).toEqual([{ embeddingSpaceId: null, embedding: null }]);
    }));

  it("accepts spaces of 1 to 4,000 dimensions (the most halfvec can index) and stores 4,000", () =>
    withDb(async (c) => {
      await expect(make.space(c, 0)).rejects.toMatchObject({ code: CHECK_VIOLATION });
      await expect(make.space(c, 4001)).rejects.toMatchObject({ code: CHECK_VIOLATION });
      await make.space(c, 1);
      const spaceId = await make.space(c, 4000);
      await expect(makeEmbedded(c, "Chunk", spaceId, vectorOf(4000))).resolves.toEqual(expect.any(String));
    }));

  it.each(EMBEDDING_TABLES)(
    "%s refuses the zero vector, which has no cosine distance, naming the row",
    (table) =>
      withDb(async (c) => {
        const spaceId = await make.space(c, 4);
        await expect(makeEmbedded(c, table, spaceId, vectorOf(4, 0))).rejects.toMatchObject({
          code: CHECK_VIOLATION,
          message: expect.stringMatching(
            new RegExp(
              `^${table} "[^"]+": the embedding is the zero vector, whose cosine distance to anything is undefined$`,
            ),
          ),
        });
        await expect(makeEmbedded(c, table, spaceId, "[-0,0,0,0]")).rejects.toMatchObject({
          code: CHECK_VIOLATION,
        });
        // An app's insert (array_fill, as the walk-through wrote it), and an update to the zero vector.
        const id = await makeEmbedded(c, table, spaceId, vectorOf(4));
        await expect(
          c.query(`UPDATE "${table}" SET embedding = array_fill(0::real, ARRAY[4])::vector WHERE id = $1`, [
            id,
          ]),
        ).rejects.toMatchObject({
          code: CHECK_VIOLATION,
          message: expect.stringContaining("the zero vector"),
        });
        await expect(makeEmbedded(c, table, spaceId, "[0,0,0,1e-30]")).resolves.toEqual(expect.any(String));
      }),
  );

  it.each(EMBEDDING_TABLES)(
    "%s refuses, above 2,000 dimensions, a component halfvec cannot hold, naming it and the limit",
    (table) =>
      withDb(async (c) => {
        const large = await make.space(c, 3072);
        const small = await make.space(c, 1536);
        const withComponent = (dimensions: number, at: number, value: number) => {
          const values = new Array<number>(dimensions).fill(0.5);
          values[at] = value;
          return `[${values.join(",")}]`;
        };
        const error = await makeEmbedded(c, table, large, withComponent(3072, 7, -100000)).catch(
          (e: { code: string; message: string; detail: string }) => e,
        );
        expect(error).toMatchObject({
          code: NUMERIC_VALUE_OUT_OF_RANGE,
          message: expect.stringMatching(
            /embedding value 7 is -100000, beyond ±65504, the largest a halfvec holds/,
          ),
          detail: expect.stringContaining(`Embedding space "${large}" has 3072 dimensions`),
        });
        // halfvec's largest value is kept; a `vector` index (up to 2,000 dimensions) holds any float4.
        await expect(makeEmbedded(c, table, large, withComponent(3072, 7, 65504))).resolves.toEqual(
          expect.any(String),
        );
        await expect(makeEmbedded(c, table, small, withComponent(1536, 7, 100000))).resolves.toEqual(
          expect.any(String),
        );
      }),
  );

  it("never changes a space's dimension, so embeddings checked once stay right", () =>
    withDb(async (c) => {
      const spaceId = await make.space(c, 3);
      await expect(
        c.query('UPDATE "EmbeddingSpace" SET dimension = 4 WHERE id = $1', [spaceId]),
      ).rejects.toMatchObject({
        code: CHECK_VIOLATION,
        message: expect.stringContaining("cannot change from 3 to 4"),
      });
      await c.query('UPDATE "EmbeddingSpace" SET metadata = $1, dimension = 3 WHERE id = $2', [
        '{"note":1}',
        spaceId,
      ]);
    }));

  it.each(EMBEDDING_TABLES)(
    "%s takes the engine's per-dimension indexes: halfvec above 2,000 dimensions, vector below",
    (table) =>
      withDb(async (c) => {
        const large = await make.space(c, 3072);
        const small = await make.space(c, 1536);
        for (let i = 0; i < 3; i++) await makeEmbedded(c, table, large, vectorOf(3072, i + 1));
        await makeEmbedded(c, table, small, vectorOf(1536));

        await c.query("BEGIN");
        try {
          await c.query(`CREATE INDEX probe_halfvec_ivfflat ON "${table}" USING ivfflat
                           ((embedding::halfvec(3072)) halfvec_cosine_ops) WITH (lists = 1)
                         WHERE vector_dims(embedding) = 3072`);
          await c.query(`CREATE INDEX probe_halfvec_hnsw ON "${table}" USING hnsw
                           ((embedding::halfvec(3072)) halfvec_cosine_ops) WHERE vector_dims(embedding) = 3072`);
          await c.query(`CREATE INDEX probe_vector_ivfflat ON "${table}" USING ivfflat
                           ((embedding::vector(1536)) vector_cosine_ops) WITH (lists = 1)
                         WHERE vector_dims(embedding) = 1536`);
          await c.query("SET LOCAL enable_seqscan = off");
          const plan = await c.query<{ "QUERY PLAN": string }>(
            `EXPLAIN SELECT id FROM "${table}" WHERE vector_dims(embedding) = 3072
             ORDER BY embedding::halfvec(3072) <=> $1::halfvec(3072) LIMIT 5`,
            [vectorOf(3072)],
          );
          expect(plan.rows.map((r) => r["QUERY PLAN"]).join("\n")).toMatch(/Index Scan using probe_halfvec_/);
        } finally {
          await c.query("ROLLBACK");
        }
      }),
  );
});

describe("where embeddings are stored", () => {
  const withDb = useMigratedDatabase("storage");
  /** The stored size of each value moved out of line (one chunk_id each in the table's TOAST table). */
  const toasted = async (c: ClientBase, table: string): Promise<number[]> => {
    const { rows } = await c.query<{ toast: string }>(
      `SELECT reltoastrelid::regclass::text AS toast FROM pg_class WHERE oid = $1::regclass`,
      [`"${table}"`],
    );
    const values = await c.query<{ bytes: number }>(
      `SELECT sum(octet_length(chunk_data))::int AS bytes FROM ${rows[0]!.toast} GROUP BY chunk_id ORDER BY 1`,
    );
    return values.rows.map((r) => r.bytes);
  };
  // A chunk's text of 3 KB that does not compress: with the embedding, more than a page. Moving out the
  // largest value would move the embedding (6 KB); the text must go instead.
  const text = () => randomBytes(1_500).toString("hex");
  const textColumn: Record<string, { column: string; value: (text: string) => string }> = {
    Chunk: { column: "text", value: (t) => t },
    Message: { column: "contentJson", value: (t) => JSON.stringify({ text: t }) },
  };

  for (const table of ["Chunk", "Message"]) {
    it(`keeps a 1,536-dimension embedding of "${table}" in the row, and moves a 3 KB text out instead`, () =>
      withDb(async (c) => {
        const spaceId = await make.space(c, 1536);
        const before = await toasted(c, table);
        const embedding = `[${Array.from({ length: 1536 }, (_, i) => Math.sin(i + 1).toFixed(6)).join(",")}]`;
        const id = await makeEmbedded(c, table, spaceId, embedding);
        expect(await toasted(c, table)).toEqual(before);
        const { column, value } = textColumn[table]!;
        await c.query(`UPDATE "${table}" SET "${column}" = $1 WHERE "id" = $2`, [value(text()), id]);
        const { rows } = await c.query<{ same: boolean; text: number; embedding: number }>(
          `SELECT "embedding" = $1::vector AS same, pg_column_size("${column}") AS text,
                  pg_column_size("embedding") AS embedding
             FROM "${table}" WHERE "id" = $2`,
          [embedding, id],
        );
        const stored = rows[0]!;
        expect(stored.same).toBe(true);
        expect(stored.text).not.toBe(stored.embedding);
        // One value more out of line, of the text's size: the text, not the embedding.
        expect(await toasted(c, table)).toEqual([...before, stored.text].sort((x, y) => x - y));
      }));
  }
});

describe("keys", () => {
  const withDb = useMigratedDatabase("keys");

  it("numbers chunks within their document: two documents of a dataset each have chunk 0, none has two", () =>
    withDb(async (c) => {
      const datasetId = await make.dataset(c, await make.organization(c));
      const spaceId = await make.space(c, 3);
      const first = await make.document(c, datasetId);
      const second = await make.document(c, datasetId);
      await make.chunk(c, { datasetId, documentId: first, embeddingSpaceId: spaceId, idx: 0 });
      await make.chunk(c, { datasetId, documentId: second, embeddingSpaceId: spaceId, idx: 0 });
      await expect(
        make.chunk(c, { datasetId, documentId: first, embeddingSpaceId: spaceId, idx: 0 }),
      ).rejects.toMatchObject({ code: UNIQUE_VIOLATION });
    }));

  it("refuses a chunk filed under another dataset than its document's", () =>
    withDb(async (c) => {
      const organizationId = await make.organization(c);
      const documentId = await make.document(c, await make.dataset(c, organizationId));
      const otherDataset = await make.dataset(c, await make.organization(c));
      const spaceId = await make.space(c, 3);
      await expect(
        make.chunk(c, { datasetId: otherDataset, documentId, embeddingSpaceId: spaceId, idx: 0 }),
      ).rejects.toMatchObject({ code: FOREIGN_KEY_VIOLATION });
    }));

  it("refuses a campaign metric whose organization is not its campaign's", () =>
    withDb(async (c) => {
      const campaignId = await make.campaign(c, await make.organization(c));
      const otherOrganization = await make.organization(c);
      await expect(
        make.campaignMetric(c, { organizationId: otherOrganization, campaignId }),
      ).rejects.toMatchObject({ code: FOREIGN_KEY_VIOLATION });
    }));

  it("finds an API key by its token hash alone: a hash belongs to one key across organizations", () =>
    withDb(async (c) => {
      const tokenHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
      await make.apiKey(c, { organizationId: await make.organization(c), tokenHash });
      await expect(
        make.apiKey(c, { organizationId: await make.organization(c), tokenHash }),
      ).rejects.toMatchObject({ code: UNIQUE_VIOLATION, constraint: "ApiKey_tokenHash_key" });
    }));
});

describe("timestamps the database keeps", () => {
  const withDb = useMigratedDatabase("timestamps");

  it("moves updatedAt on every update, even when the writer sends a stale value, and keeps createdAt", () =>
    withDb(async (c) => {
      const { rows } = await c.query<{ id: string }>(
        `INSERT INTO "Organization" (slug, name, "createdAt", "updatedAt")
         VALUES ('stamps', 'Old', '2020-01-01', '2020-01-01') RETURNING id`,
      );
      const id = rows[0]!.id;

      await c.query(`UPDATE "Organization" SET name = 'New', "updatedAt" = '2021-06-01' WHERE id = $1`, [id]);

      const after = await c.query<{ created: string; fresh: boolean }>(
        `SELECT "createdAt"::text AS created,
                abs(extract(epoch FROM "updatedAt" - timezone('UTC', now()))) < 60 AS fresh
         FROM "Organization" WHERE id = $1`,
        [id],
      );
      expect(after.rows[0]).toEqual({ created: "2020-01-01 00:00:00", fresh: true });
    }));

  it("writes UTC defaults whatever the session's time zone", () =>
    withDb(async (c) => {
      await c.query("SET TIME ZONE 'America/New_York'");
      const { rows } = await c.query<{ offsetSeconds: number }>(
        `WITH org AS (INSERT INTO "Organization" (slug, name) VALUES ('tz', 'TZ') RETURNING "createdAt", "updatedAt")
         SELECT round(greatest(abs(extract(epoch FROM "createdAt" - timezone('UTC', now()))),
                               abs(extract(epoch FROM "updatedAt" - timezone('UTC', now())))))::int
                AS "offsetSeconds"
         FROM org`,
      );
      expect(rows[0]!.offsetSeconds).toBeLessThan(60);
    }));
});
