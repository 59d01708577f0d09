// "Chunk"."organizationId" and "Message"."organizationId": filled by the database from the dataset /
// conversation, impossible to make disagree with it, following a parent that moves, and what the policies
// compare directly. A row whose parent does not exist, or is another organization's, is refused naming both.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useReleasedDatabase } from "../security/released-database";
import { inTransaction } from "../security/sessions";

const target = useReleasedDatabase("search_tenant_column");
let owner: Client;
let app: Client;
const EMBEDDING = "[1,2,3]";

beforeAll(async () => {
  owner = await target.current.roles.connect("migrator");
  app = await target.current.roles.connect("app");
  await owner.query(
    `INSERT INTO "EmbeddingSpace" ("id", "provider", "model", "dimension") VALUES ('space3', 'test', 'tc', 3)`,
  );
  for (const t of ["a", "b"]) {
    await owner.query(`INSERT INTO "Organization" ("id", "slug", "name") VALUES ($1, $1, $1)`, [`org-${t}`]);
    await owner.query(
      `INSERT INTO "Dataset" ("id", "organizationId", "name", "slug", "kind") VALUES ($1, $2, 'D', 'd', 'documents')`,
      [`ds-${t}`, `org-${t}`],
    );
    await owner.query(`INSERT INTO "Document" ("id", "datasetId", "title") VALUES ($1, $2, 'T')`, [
      `doc-${t}`,
      `ds-${t}`,
    ]);
    await owner.query(`INSERT INTO "Conversation" ("id", "organizationId") VALUES ($1, $2)`, [
      `conv-${t}`,
      `org-${t}`,
    ]);
  }
});
afterAll(async () => {
  await app?.end();
  await owner?.end();
});

const insertChunk = (c: Client, id: string, t: string, extra: Record<string, string> = {}) => {
  const columns = {
    id,
    datasetId: `ds-${t}`,
    documentId: `doc-${t}`,
    embeddingSpaceId: "space3",
    idx: "0",
    text: "x",
    embedding: EMBEDDING,
    ...extra,
  };
  const names = Object.keys(columns).map((n) => `"${n}"`);
  return c.query<{ organizationId: string }>(
    `INSERT INTO "Chunk" (${names.join(", ")}) VALUES (${names.map((_, i) => `$${i + 1}`).join(", ")}) RETURNING "organizationId"`,
    Object.values(columns),
  );
};

const insertMessage = (c: Client, id: string, conversationId: string) =>
  c.query<{ organizationId: string }>(
    `INSERT INTO "Message" ("id", "conversationId", "role", "contentJson", "embeddingSpaceId", "embedding")
     VALUES ($1, $2, 'user', '{}', 'space3', $3) RETURNING "organizationId"`,
    [id, conversationId, EMBEDDING],
  );

/**
 * The refusal of a row whose parent does not exist or is invisible to the login (migration 20261206150100):
 * the same words either way, so that they tell nothing of another organization's rows.
 */
const missingParent = (table: string, id: string, parent: "dataset" | "conversation", parentId: string) => ({
  code: "23503",
  message: `${table} "${id}": ${parent} "${parentId}" does not exist`,
  table,
  column: `${parent}Id`,
  hint:
    `Create the ${parent} first, or give the "id" of an existing one; under row-level security only the ` +
    `${parent}s of the organization in app.current_organization_id count.`,
});

describe("the tenant column of the embedded tables", () => {
  it("is filled for the app, which inserts under row-level security without naming it", async () => {
    const chunk = await inTransaction(app, "org-a", (c) => insertChunk(c as Client, "c-app", "a"), {
      rollback: true,
    });
    expect(chunk.rows).toEqual([{ organizationId: "org-a" }]);
    const message = await inTransaction(
      app,
      "org-a",
      (c) =>
        c.query(
          `INSERT INTO "Message" ("conversationId", "role", "contentJson", "embeddingSpaceId", "embedding")
           VALUES ('conv-a', 'user', '{}', 'space3', $1) RETURNING "organizationId"`,
          [EMBEDDING],
        ),
      { rollback: true },
    );
    expect(message.rows).toEqual([{ organizationId: "org-a" }]);
  });

  it("refuses the app a row in another organization's dataset or conversation, named or not, as if it did not exist", async () => {
    // The lookup runs as the app, under row-level security: another organization's parent is invisible and is
    // refused in the words of one that does not exist (migration 20261206150100), before the policy's check.
    await expect(
      inTransaction(app, "org-a", (c) => insertChunk(c as Client, "c-x", "b")),
    ).rejects.toMatchObject(missingParent("Chunk", "c-x", "dataset", "ds-b"));
    // Naming its own organization does not help: the tenant is the dataset's, which the app cannot see.
    await expect(
      inTransaction(app, "org-a", (c) => insertChunk(c as Client, "c-y", "b", { organizationId: "org-a" })),
    ).rejects.toMatchObject(missingParent("Chunk", "c-y", "dataset", "ds-b"));
    await expect(
      inTransaction(app, "org-a", (c) => insertMessage(c as Client, "m-x", "conv-b")),
    ).rejects.toMatchObject(missingParent("Message", "m-x", "conversation", "conv-b"));
    // Nothing was written.
    const { rows } = await owner.query(`SELECT "id" FROM "Chunk" WHERE "id" IN ('c-x', 'c-y') UNION ALL
                                        SELECT "id" FROM "Message" WHERE "id" = 'm-x'`);
    expect(rows).toEqual([]);
  });

  it("names the missing dataset or conversation and the fix, for the owner and the app alike, with the foreign key's SQLSTATE", async () => {
    // It failed with PostgreSQL's bare `null value in column "organizationId" ... violates not-null
    // constraint` (the owner) or the policy's refusal (the app), naming neither the parent nor the fix.
    for (const [who, client, organization] of [
      ["owner", () => owner, undefined],
      ["app", () => app, "org-a"],
    ] as const) {
      await expect(
        inTransaction(client(), organization, (c) => insertMessage(c as Client, "m-none", "conv-none")),
        who,
      ).rejects.toMatchObject(missingParent("Message", "m-none", "conversation", "conv-none"));
      await expect(
        inTransaction(client(), organization, (c) =>
          insertChunk(c as Client, "c-none", "a", { datasetId: "ds-none" }),
        ),
        who,
      ).rejects.toMatchObject(missingParent("Chunk", "c-none", "dataset", "ds-none"));
    }
    // A change of parent to one that does not exist, alike.
    await owner.query("BEGIN");
    try {
      await insertMessage(owner, "m-moves", "conv-a");
      await expect(
        owner.query(`UPDATE "Message" SET "conversationId" = 'conv-none' WHERE "id" = 'm-moves'`),
      ).rejects.toMatchObject(missingParent("Message", "m-moves", "conversation", "conv-none"));
    } finally {
      await owner.query("ROLLBACK");
    }
    // No parent id at all is the parent column's own NOT NULL violation, which names it.
    await expect(
      owner.query(`INSERT INTO "Message" ("id", "role", "contentJson") VALUES ('m-null', 'user', '{}')`),
    ).rejects.toMatchObject({ code: "23502", column: "conversationId" });
  });

  it("tells the app that wrote a row with no organization set that none is set, with the policy's SQLSTATE", async () => {
    // With no organization, row-level security hides every dataset and conversation, and the refusal named the
    // app's own existing dataset as one that does not exist (23503, which Prisma shows as a foreign key on
    // datasetId). It now says what is missing and how to set it (migration 20261207001335), as unset or as a
    // finished transaction leaves it (empty).
    const noOrganization = (table: string, id: string, parent: string, parentId: string) => ({
      code: "42501",
      message: `${table} "${id}": no organization is set (app.current_organization_id), so no ${parent} is visible, "${parentId}" included`,
      table,
      column: "organizationId",
      hint: "Set the organization first, in the same transaction: SELECT set_config('app.current_organization_id', <the organization's id>, true).",
    });
    for (const organization of [undefined, ""]) {
      await expect(
        inTransaction(app, organization, (c) => insertChunk(c as Client, "c-unset", "a")),
        JSON.stringify(organization),
      ).rejects.toMatchObject(noOrganization("Chunk", "c-unset", "dataset", "ds-a"));
      await expect(
        inTransaction(app, organization, (c) => insertMessage(c as Client, "m-unset", "conv-a")),
        JSON.stringify(organization),
      ).rejects.toMatchObject(noOrganization("Message", "m-unset", "conversation", "conv-a"));
    }
    // The owner, whom row-level security does not hold, needs no organization to write the same rows.
    const written = await inTransaction(
      owner,
      undefined,
      (c) => insertChunk(c as Client, "c-owner-unset", "a"),
      {
        rollback: true,
      },
    );
    expect(written.rows).toEqual([{ organizationId: "org-a" }]);
    // Nothing was written.
    const { rows } = await owner.query(`SELECT "id" FROM "Chunk" WHERE "id" IN ('c-unset', 'c-owner-unset')
                                        UNION ALL SELECT "id" FROM "Message" WHERE "id" = 'm-unset'`);
    expect(rows).toEqual([]);
  });

  it("cannot disagree with the dataset, even for the owner: the parent's organization wins", async () => {
    await owner.query("BEGIN");
    try {
      const chunk = await insertChunk(owner, "c-owner", "a", { organizationId: "org-b" });
      expect(chunk.rows).toEqual([{ organizationId: "org-a" }]);
      const message = await owner.query(
        `INSERT INTO "Message" ("conversationId", "organizationId", "role", "contentJson")
         VALUES ('conv-a', 'org-b', 'user', '{}') RETURNING "organizationId"`,
      );
      expect(message.rows).toEqual([{ organizationId: "org-a" }]);
      await owner.query(`UPDATE "Chunk" SET "organizationId" = 'org-b' WHERE "id" = 'c-owner'`);
      const kept = await owner.query(`SELECT "organizationId" FROM "Chunk" WHERE "id" = 'c-owner'`);
      expect(kept.rows).toEqual([{ organizationId: "org-a" }]);
    } finally {
      await owner.query("ROLLBACK");
    }
  });

  it("follows a dataset that moves to another organization, and is refilled when a row changes parent", async () => {
    await owner.query("BEGIN");
    try {
      await insertChunk(owner, "c-move", "a");
      await owner.query(
        `UPDATE "Dataset" SET "organizationId" = 'org-b', "slug" = 'moved' WHERE "id" = 'ds-a'`,
      );
      const moved = await owner.query(`SELECT "organizationId" FROM "Chunk" WHERE "id" = 'c-move'`);
      expect(moved.rows).toEqual([{ organizationId: "org-b" }]);
      await owner.query(
        `INSERT INTO "Message" ("id", "conversationId", "role", "contentJson") VALUES ('m-move', 'conv-a', 'user', '{}')`,
      );
      await owner.query(`UPDATE "Message" SET "conversationId" = 'conv-b' WHERE "id" = 'm-move'`);
      const refilled = await owner.query(`SELECT "organizationId" FROM "Message" WHERE "id" = 'm-move'`);
      expect(refilled.rows).toEqual([{ organizationId: "org-b" }]);
    } finally {
      await owner.query("ROLLBACK");
    }
  });

  it("is what the policies compare, directly", async () => {
    const { rows } = await owner.query<{ table: string; qual: string; check: string }>(
      `SELECT c.relname AS table, pg_get_expr(p.polqual, p.polrelid) AS qual,
              pg_get_expr(p.polwithcheck, p.polrelid) AS check
         FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
        WHERE c.relname IN ('Chunk', 'Message') ORDER BY 1`,
    );
    const direct = '("organizationId" = current_organization_id())';
    expect(rows).toEqual([
      { table: "Chunk", qual: direct, check: direct },
      { table: "Message", qual: direct, check: direct },
    ]);
  });
});
