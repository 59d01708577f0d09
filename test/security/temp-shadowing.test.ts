// The app login's temporary tables and types shadow nothing the triggers read (migration
// 20261206020000_trigger_functions_search_path.sql). PostgreSQL searches the session's temporary schema
// (pg_temp) before pg_catalog and public for relations and types unless a search_path names it last, and every
// login may create temporary tables (TEMP is granted to PUBLIC). A trigger function that named "pg_class",
// "EmbeddingSpace" or "Dataset" unqualified, with no search_path of its own, read the app's temporary table of
// that name instead: the app could then delete a global embedding space (and through its cascades every
// organization's chunks), delete its audit log, store an embedding of the wrong dimension, or have its chunks
// filed under another organization. Each test first creates the shadowing objects in the app's own session.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useReleasedDatabase } from "./released-database";
import { PARENT_NOT_FOUND, inTransaction } from "./sessions";
import {
  SPACE_ID,
  SPACE_DIMENSION,
  idOf,
  insertRow,
  organizationOf,
  seedTwoOrganizations,
} from "./tenant-tables";

const A = organizationOf("A");
const B = organizationOf("B");

const target = useReleasedDatabase("temp_shadowing");
let owner: Client;

/** A fresh app session (temporary objects live as long as it does), closed after `fn`. */
async function appSession<T>(fn: (app: Client) => Promise<T>): Promise<T> {
  const app = await target.current.roles.connect("app");
  try {
    return await fn(app);
  } finally {
    await app.end();
  }
}

/** A temporary "pg_class" that says the app login owns the tables named. */
async function shadowPgClass(app: Client, tables: string[]): Promise<void> {
  await app.query(`CREATE TEMP TABLE pg_class (oid oid, relowner oid, relname name)`);
  for (const table of tables) {
    await app.query(
      `INSERT INTO pg_class VALUES (to_regclass($1)::oid, (SELECT oid FROM pg_roles WHERE rolname = current_user), $2)`,
      [`"${table}"`, table],
    );
  }
}

/** Temporary types named like pgvector's and like `text`: a type name is looked up in pg_temp too. */
async function shadowTypes(app: Client): Promise<void> {
  await app.query(`CREATE TYPE pg_temp.vector AS (x int)`);
  await app.query(`CREATE TYPE pg_temp.halfvec AS (x int)`);
  await app.query(`CREATE DOMAIN pg_temp.text AS int`);
}

const chunksOf = async (organization: string) =>
  (await owner.query(`SELECT count(*)::int AS n FROM "Chunk" WHERE "organizationId" = $1`, [organization]))
    .rows[0].n as number;

beforeAll(async () => {
  owner = await target.current.roles.connect("migrator");
  await seedTwoOrganizations(owner);
});

afterAll(async () => {
  await owner?.end();
});

describe("the app's temporary objects shadow nothing a trigger reads", () => {
  it("a temporary table can shadow pg_catalog's for an unqualified name (what the triggers guard against)", async () => {
    await appSession(async (app) => {
      await shadowPgClass(app, ["EmbeddingSpace"]);
      const { rows } = await app.query(`SELECT count(*)::int AS n FROM pg_class`);
      expect(rows).toEqual([{ n: 1 }]);
    });
  });

  it('"EmbeddingSpace" stays the owner\'s: a temporary pg_class naming the app as its owner changes nothing', async () => {
    const before = await chunksOf(A);
    expect(before).toBeGreaterThan(0);
    await appSession(async (app) => {
      await shadowPgClass(app, ["EmbeddingSpace"]);
      for (const sql of [
        `DELETE FROM "EmbeddingSpace" WHERE id = '${SPACE_ID}'`,
        `UPDATE "EmbeddingSpace" SET model = 'hijacked' WHERE id = '${SPACE_ID}'`,
        `INSERT INTO "EmbeddingSpace" (id, provider, model, dimension) VALUES ('rogue', 'x', 'y', 8)`,
      ]) {
        await expect(
          inTransaction(app, B, (c) => c.query(sql)),
          sql,
        ).rejects.toMatchObject({
          code: "42501",
          message: expect.stringMatching(
            /^EmbeddingSpace is the release's: \S+ may read embedding spaces, not /,
          ),
        });
      }
    });
    expect(await chunksOf(A)).toBe(before);
    const { rows } = await owner.query(`SELECT id, model FROM "EmbeddingSpace" ORDER BY id`);
    expect(rows).toEqual([{ id: SPACE_ID, model: "tiny" }]);
  });

  it('"AuditLog" stays append-only: a temporary pg_class naming the app as its owner changes nothing', async () => {
    await appSession(async (app) => {
      await shadowPgClass(app, ["AuditLog"]);
      for (const sql of [`DELETE FROM "AuditLog"`, `UPDATE "AuditLog" SET action = 'nothing happened'`]) {
        await expect(
          inTransaction(app, A, (c) => c.query(sql)),
          sql,
        ).rejects.toMatchObject({
          code: "42501",
          message: expect.stringMatching(/^AuditLog is append-only/),
        });
      }
    });
    const { rows } = await owner.query(`SELECT count(*)::int AS n FROM "AuditLog"`);
    expect(rows).toEqual([{ n: 2 }]);
  });

  it("the dimension check reads the real embedding space, whatever temporary table or type is named like it", async () => {
    await appSession(async (app) => {
      await app.query(`CREATE TEMP TABLE "EmbeddingSpace" (id text, dimension int)`);
      await app.query(`INSERT INTO "EmbeddingSpace" VALUES ($1, 2)`, [SPACE_ID]);
      await shadowTypes(app);
      const chunk = (id: string, idx: number, embedding: string) => ({
        id,
        datasetId: idOf("Dataset", "A", "seed"),
        documentId: idOf("Document", "A", "seed"),
        embeddingSpaceId: SPACE_ID,
        idx,
        text: "text",
        embedding,
      });
      // Two dimensions, as the temporary table says: refused, the space has three.
      await expect(
        inTransaction(app, A, (c) => insertRow(c, "Chunk", chunk("shadow-2d", 10, "[1,2]"))),
      ).rejects.toMatchObject({
        code: "23514",
        message: `Chunk "shadow-2d": the embedding has 2 dimensions, but embedding space "${SPACE_ID}" has ${SPACE_DIMENSION}`,
      });
      await expect(
        inTransaction(app, A, (c) =>
          c.query(`UPDATE "Chunk" SET embedding = '[1,2]' WHERE id = $1`, [idOf("Chunk", "A", "seed")]),
        ),
      ).rejects.toMatchObject({ code: "23514" });
      // Three, as the space has: stored, under the tenant of its dataset.
      const stored = await inTransaction(
        app,
        A,
        (c) => insertRow(c, "Chunk", chunk("shadow-3d", 11, "[0.3,0.2,0.1]")),
        { rollback: true },
      );
      expect(stored).toMatchObject([{ id: "shadow-3d", organizationId: A }]);
      // The zero vector is refused as ever.
      await expect(
        inTransaction(app, A, (c) => insertRow(c, "Chunk", chunk("shadow-zero", 12, "[0,0,0]"))),
      ).rejects.toMatchObject({ code: "23514", message: expect.stringMatching(/the zero vector/) });
    });
    const { rows } = await owner.query(`SELECT id FROM "Chunk" WHERE id LIKE 'shadow-%'`);
    expect(rows).toEqual([]);
  });

  it("the tenant column is filled from the real dataset and conversation, not from temporary ones", async () => {
    await appSession(async (app) => {
      // Each organization's parents, filed under the other one.
      await app.query(`CREATE TEMP TABLE "Dataset" (id text, "organizationId" text)`);
      await app.query(`INSERT INTO "Dataset" VALUES ($1, $2), ($3, $4)`, [
        idOf("Dataset", "A", "seed"),
        B,
        idOf("Dataset", "B", "seed"),
        A,
      ]);
      await app.query(`CREATE TEMP TABLE "Conversation" (id text, "organizationId" text)`);
      await app.query(`INSERT INTO "Conversation" VALUES ($1, $2), ($3, $4)`, [
        idOf("Conversation", "A", "seed"),
        B,
        idOf("Conversation", "B", "seed"),
        A,
      ]);
      await shadowTypes(app);
      const chunk = (tenant: "A" | "B", id: string) => ({
        id,
        datasetId: idOf("Dataset", tenant, "seed"),
        documentId: idOf("Document", tenant, "seed"),
        embeddingSpaceId: SPACE_ID,
        idx: 20,
        text: "text",
        embedding: "[0.1,0.2,0.3]",
      });
      // Its own dataset: the row is the organization's.
      const own = await inTransaction(app, A, (c) => insertRow(c, "Chunk", chunk("A", "shadow-own")), {
        rollback: true,
      });
      expect(own).toMatchObject([{ organizationId: A }]);
      const message = await inTransaction(
        app,
        A,
        (c) =>
          c.query(
            `INSERT INTO "Message" ("conversationId", role, "contentJson") VALUES ($1, 'user', '{}') RETURNING "organizationId"`,
            [idOf("Conversation", "A", "seed")],
          ),
        { rollback: true },
      );
      expect(message.rows).toEqual([{ organizationId: A }]);
      // Another organization's dataset and conversation: refused, as without the temporary tables (as if they
      // did not exist: the trigger looks them up in "public", where row-level security hides them).
      await expect(
        inTransaction(app, A, (c) => insertRow(c, "Chunk", chunk("B", "shadow-cross"))),
      ).rejects.toMatchObject(PARENT_NOT_FOUND);
      await expect(
        inTransaction(app, A, (c) =>
          c.query(`INSERT INTO "Message" ("conversationId", role, "contentJson") VALUES ($1, 'user', '{}')`, [
            idOf("Conversation", "B", "seed"),
          ]),
        ),
      ).rejects.toMatchObject(PARENT_NOT_FOUND);
    });
    const { rows } = await owner.query(`SELECT id FROM "Chunk" WHERE id LIKE 'shadow-%'`);
    expect(rows).toEqual([]);
  });

  it("search_check_filters() names another organization's dataset, whatever temporary table is named like it", async () => {
    await appSession(async (app) => {
      await app.query(`CREATE TEMP TABLE "Dataset" (id text, "organizationId" text)`);
      await app.query(`INSERT INTO "Dataset" VALUES ($1, $2)`, [idOf("Dataset", "B", "seed"), A]);
      await app.query(`CREATE TEMP TABLE "Conversation" (id text, "organizationId" text)`);
      await app.query(`INSERT INTO "Conversation" VALUES ($1, $2)`, [idOf("Conversation", "B", "seed"), A]);
      await app.query(`CREATE TEMP TABLE "Document" (id text, "datasetId" text)`);
      await app.query(`INSERT INTO "Document" VALUES ($1, $2)`, [
        idOf("Document", "B", "seed"),
        idOf("Dataset", "B", "seed"),
      ]);
      for (const [args, named] of [
        [[idOf("Dataset", "B", "seed"), null, null], "dataset_id"],
        [[null, idOf("Document", "B", "seed"), null], "document_id"],
        [[null, null, idOf("Conversation", "B", "seed")], "conversation_id"],
      ] as const) {
        await expect(
          inTransaction(app, A, (c) =>
            c.query(`SELECT search_check_filters('search_chunks', $1, $2, $3)`, [...args]),
          ),
          named,
        ).rejects.toMatchObject({
          code: "22023",
          message: expect.stringContaining(`${named} '`),
        });
      }
    });
  });
});
