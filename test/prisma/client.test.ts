// The NeonHub app's path into the database, end to end: the generated Prisma client with the pg driver
// adapter, logged in as the app login (row-level security in force), the organization set per interactive
// transaction. The plan's integration tests: org scoping, an agent run with its metrics, a conversation whose
// messages' embeddings go through raw SQL, dataset retrieval through $queryRaw, and a create/read/update/
// delete round trip for every model.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Client } from "pg";
import { PROJECT_ROOT } from "../../core";
import { useReleasedDatabase } from "../security/released-database";
import {
  EMBEDDING,
  GLOBAL_TABLES,
  SPACE_ID,
  TENANT_TABLES,
  organizationOf,
  seedTwoOrganizations,
  userOf,
  type Row,
} from "../security/tenant-tables";
import { asOrganization, prismaClient, type Transaction } from "./support";
import { docSample, docSampleCode } from "./doc-sample";
import { Prisma, type PrismaClient } from "../../prisma/generated/client/client";

const A = organizationOf("A");
const B = organizationOf("B");

/**
 * Dataset retrieval as docs/prisma.md writes it: the nearest chunks of a dataset through the database's search
 * entry point, as the app login under row-level security, the embedding passed as text (pgvector's text form).
 */
function searchChunks(tx: Transaction, datasetId: string, embedding: string, k: number) {
  return tx.$queryRaw<{ id: string; text: string; distance: number }[]>`
    SELECT "id", "text", "distance" FROM search_chunks(${embedding}, ${k}, dataset_id => ${datasetId})`;
}

describe("the generated Prisma client as the app login", () => {
  const released = useReleasedDatabase("prisma_client");
  let owner: Client;
  let prisma: PrismaClient;

  beforeAll(async () => {
    owner = await released.current.roles.connect("migrator");
    await seedTwoOrganizations(owner);
    prisma = prismaClient(released.current.roles.url("app"));
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await owner?.end();
  });

  it("sees only the organization set for the transaction, and nothing without one", async () => {
    const brands = await asOrganization(prisma, A, (tx) =>
      tx.brand.findMany({ select: { organizationId: true } }),
    );
    expect(brands.length).toBeGreaterThan(0);
    expect(new Set(brands.map((b) => b.organizationId))).toEqual(new Set([A]));
    const ofB = await asOrganization(prisma, A, (tx) =>
      tx.campaign.findUnique({ where: { id: `B-seed-Campaign` } }),
    );
    expect(ofB).toBeNull();
    // Users: the organization's members only (user-seed is a member of A; user-extra of none).
    const users = await asOrganization(prisma, A, (tx) => tx.user.findMany({ select: { id: true } }));
    expect(users.map((u) => u.id)).toEqual([userOf("seed")]);
    // Outside a transaction that names an organization: fail closed.
    expect(await prisma.campaign.findMany()).toEqual([]);
    expect(await prisma.organization.count()).toBe(0);
  });

  it("refuses writes into another organization and leaves its rows untouched", async () => {
    await expect(
      asOrganization(prisma, A, (tx) =>
        tx.brand.create({ data: { organizationId: B, name: "Intruder", slug: "intruder" } }),
      ),
    ).rejects.toThrow(/row-level security/);
    const changed = await asOrganization(prisma, A, (tx) =>
      tx.campaign.updateMany({ where: { organizationId: B }, data: { name: "taken over" } }),
    );
    expect(changed.count).toBe(0);
    const deleted = await asOrganization(prisma, A, (tx) =>
      tx.brand.deleteMany({ where: { organizationId: B } }),
    );
    expect(deleted.count).toBe(0);
    const { rows } = await owner.query(`SELECT name FROM "Campaign" WHERE "organizationId" = $1`, [B]);
    expect(rows.map((r: Row) => r.name)).not.toContain("taken over");
  });

  it("records an agent run with its metrics and reads them back through the relation", async () => {
    const run = await asOrganization(prisma, A, (tx) =>
      tx.agentRun.create({
        data: {
          agentId: "A-seed-Agent",
          triggeredById: userOf("seed"),
          input: { prompt: "Draft the launch email" },
          agentRunMetrics: {
            create: [
              { name: "latency_ms", value: 812, unit: "ms" },
              { name: "tokens", value: 1530 },
            ],
          },
        },
      }),
    );
    const read = await asOrganization(prisma, A, (tx) =>
      tx.agentRun.findUniqueOrThrow({
        where: { id: run.id },
        include: { agentRunMetrics: { orderBy: { name: "asc" } }, agent: true },
      }),
    );
    expect(read.status).toBe("queued");
    expect(read.agent.organizationId).toBe(A);
    expect(read.agentRunMetrics.map((m) => [m.name, m.value, m.unit])).toEqual([
      ["latency_ms", 812, "ms"],
      ["tokens", 1530, null],
    ]);
    // Organization B's session does not see the run.
    expect(
      await asOrganization(prisma, B, (tx) => tx.agentRun.findUnique({ where: { id: run.id } })),
    ).toBeNull();
  });

  it("keeps a conversation's messages, their embeddings written and read back through raw SQL", async () => {
    // Created as the client creates them: no space, no embedding (the sample sets both).
    const conversation = await asOrganization(prisma, A, (tx) =>
      tx.conversation.create({
        data: {
          organizationId: A,
          kind: "support",
          title: "Refund question",
          messages: {
            create: [
              { role: "user", contentJson: { text: "Can I get a refund?" } },
              { role: "assistant", contentJson: { text: "Yes, within 30 days." } },
            ],
          },
        },
        include: { messages: { orderBy: { role: "asc" } } },
      }),
    );
    const vectors = [
      [1, 0, 0],
      [0, 0.5, 0.25],
    ];
    // docs/prisma.md's sample as written, once per message, in the test's space ("test", "tiny", 3 dimensions).
    const embeddingsSample = docSample<{ rows: { id: string; embedding: string }[] }>(
      "### Embeddings",
      ["tx", "provider", "model", "vector", "messageId", "conversationId"],
      ["rows"],
    );
    let read: { id: string; embedding: string }[] = [];
    for (const [i, message] of conversation.messages.entries()) {
      ({ rows: read } = await asOrganization(prisma, A, (tx) =>
        embeddingsSample(tx, "test", "tiny", vectors[i], message.id, conversation.id),
      ));
    }
    // The sample's read, after the last write: every message's embedding, in pgvector's text form.
    expect(new Map(read.map((r) => [r.id, r.embedding]))).toEqual(
      new Map(conversation.messages.map((m, i) => [m.id, `[${vectors[i]!.join(",")}]`])),
    );
    const spaces = await asOrganization(prisma, A, (tx) =>
      tx.message.findMany({ where: { conversationId: conversation.id }, select: { embeddingSpaceId: true } }),
    );
    expect(spaces.map((m) => m.embeddingSpaceId)).toEqual([SPACE_ID, SPACE_ID]);
    // The sample's old form, an embedding without its space on a message the client created, is refused.
    await expect(
      asOrganization(prisma, A, async (tx) => {
        const message = await tx.message.create({
          data: { conversationId: conversation.id, role: "user", contentJson: { text: "And after?" } },
        });
        return tx.$executeRaw`UPDATE "Message" SET embedding = ${"[0.1,0.2,0.3]"}::vector WHERE id = ${message.id}`;
      }),
    ).rejects.toThrow(/has an embedding but no "embeddingSpaceId"/);
    // The dimension trigger still guards writes that come through Prisma's raw SQL.
    await expect(
      asOrganization(
        prisma,
        A,
        (tx) =>
          tx.$executeRaw`UPDATE "Message" SET embedding = '[1,2]'::vector WHERE id = ${conversation.messages[0]!.id}`,
      ),
    ).rejects.toThrow(/dimension/);
  });

  it("retrieves a dataset's nearest chunks with $queryRaw, never another organization's", async () => {
    const texts = ["pricing tiers", "refund policy", "brand colours"];
    const embeddings = ["[1,0,0]", "[0,1,0]", "[0,0,1]"];
    await asOrganization(prisma, A, async (tx) => {
      const dataset = await tx.dataset.create({
        data: { id: "A-retrieval", organizationId: A, name: "Help center", slug: "help", kind: "faq" },
      });
      const document = await tx.document.create({ data: { datasetId: dataset.id, title: "Help" } });
      for (const [idx, text] of texts.entries()) {
        const chunk = await tx.chunk.create({
          data: { datasetId: dataset.id, documentId: document.id, embeddingSpaceId: SPACE_ID, idx, text },
        });
        await tx.$executeRaw`UPDATE "Chunk" SET embedding = ${embeddings[idx]}::vector WHERE id = ${chunk.id}`;
      }
    });
    const nearest = await asOrganization(prisma, A, (tx) =>
      searchChunks(tx, "A-retrieval", "[0.1,0.9,0]", 2),
    );
    expect(nearest.map((c) => c.text)).toEqual(["refund policy", "pricing tiers"]);
    expect(nearest[0]!.distance).toBeLessThan(nearest[1]!.distance);
    // Another organization's dataset is named as one that does not exist: nothing of it is returned.
    await expect(
      asOrganization(prisma, B, (tx) => searchChunks(tx, "A-retrieval", "[0.1,0.9,0]", 2)),
    ).rejects.toThrow("search_chunks: dataset_id 'A-retrieval' names no dataset of this organization");
    await expect(
      asOrganization(prisma, A, (tx) => searchChunks(tx, "B-seed-Dataset", EMBEDDING, 5)),
    ).rejects.toThrow("search_chunks: dataset_id 'B-seed-Dataset' names no dataset of this organization");
    // The query as text names a NaN component, counted from 0.
    await expect(
      asOrganization(prisma, A, (tx) => tx.$queryRaw`SELECT * FROM search_chunks(${"[0.1,NaN,0]"}, 2)`),
    ).rejects.toThrow(/search_chunks: query component 1 is NaN, expected a finite number/);
  });

  it("names in docs/prisma.md's install commands the Prisma versions this project pins", () => {
    // The app's CLI generates its client from this schema: the versions the project tests it with.
    const installed = docSampleCode("## The app's client", "bash");
    const pinned = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const versions = { ...pinned.dependencies, ...pinned.devDependencies };
    const named = [...installed.matchAll(/(?:^|\s)((?:@prisma\/)?[\w-]+)@(\S+)/g)].map((m) => [m[1], m[2]]);
    expect(named.map(([name]) => name)).toEqual(["@prisma/client", "@prisma/adapter-pg", "prisma"]);
    for (const [name, version] of named) expect(version, name).toBe(versions[name!]);
  });

  it("refuses at start-up, with docs/prisma.md's check, a DATABASE_URL that row-level security does not hold", async () => {
    // The migrator's URL given to the app reads every organization's rows without an error; the sample's check
    // is what tells. It runs as written, as each login.
    const startupCheck = docSample<object>("### The login, checked at start-up", ["prisma"], []);
    await expect(startupCheck(prisma)).resolves.toEqual({});
    const readonly = prismaClient(released.current.roles.url("readonly"));
    const migrator = prismaClient(released.current.roles.url("migrator"));
    try {
      await expect(startupCheck(readonly)).resolves.toEqual({});
      // What the check guards against: the migrator sees both organizations with A set.
      const seen = await asOrganization(migrator, A, (tx) =>
        tx.dataset.findMany({ select: { organizationId: true }, distinct: ["organizationId"] }),
      );
      expect(new Set(seen.map((d) => d.organizationId))).toEqual(new Set([A, B]));
      await expect(startupCheck(migrator)).rejects.toThrow(
        "DATABASE_URL is not under row-level security: it would read and write every organization's rows. " +
          "Give it the app login's URL",
      );
    } finally {
      await readonly.$disconnect();
      await migrator.$disconnect();
    }
  });

  it("gives the database's own words and hint behind Prisma's error, with docs/prisma.md's databaseError", async () => {
    const { databaseError } = await docSample<{ databaseError: (error: unknown) => unknown }>(
      "### The database's errors through Prisma",
      ["Prisma"],
      ["databaseError"],
    )(Prisma);
    const caught = (promise: Promise<unknown>) =>
      promise.then(
        () => expect.unreachable("the call was refused"),
        (error: unknown) => error,
      );
    // A search argument: Prisma's message ends with the database's, the hint is only where the sample reads it.
    const search = await caught(
      asOrganization(prisma, A, (tx) => searchChunks(tx, "B-seed-Dataset", EMBEDDING, 0)),
    );
    expect(String((search as Error).message)).toMatch(/search_chunks: k is 0, expected 1 to 1000`$/);
    expect(String((search as Error).message)).not.toContain("Ask for at least 1");
    expect(databaseError(search)).toEqual({
      code: "22023",
      message: "search_chunks: k is 0, expected 1 to 1000",
      hint: "Ask for at least 1 and at most 1,000 nearest rows; page with a narrower filter for more.",
    });
    // A client call: Prisma's own words for a foreign key, the trigger's behind them.
    const chunk = await caught(
      asOrganization(prisma, A, (tx) =>
        tx.chunk.create({
          data: {
            id: "A-errors-chunk",
            datasetId: "B-seed-Dataset",
            documentId: "B-seed-Document",
            embeddingSpaceId: SPACE_ID,
            idx: 0,
            text: "x",
          },
        }),
      ),
    );
    expect(String((chunk as Error).message)).toContain(
      "Foreign key constraint violated on the fields: (`datasetId`)",
    );
    expect(databaseError(chunk)).toEqual({
      code: "23503",
      message: 'Chunk "A-errors-chunk": dataset "B-seed-Dataset" does not exist',
      hint: undefined,
    });
    expect(databaseError(new Error("not Prisma's"))).toBeUndefined();
  });

  describe("creates, reads, updates and deletes a row of every model", () => {
    const TEXT_FIELDS = [
      "name",
      "title",
      "text",
      "content",
      "action",
      "key",
      "platform",
      "subject",
      "promptTemplate",
    ];
    type Delegate = {
      create(args: { data: Row }): Promise<Row>;
      findUnique(args: { where: Row }): Promise<Row | null>;
      update(args: { where: Row; data: Row }): Promise<Row>;
      delete(args: { where: Row }): Promise<Row>;
    };
    const delegate = (tx: Transaction, model: string) =>
      (tx as unknown as Record<string, Delegate>)[model.charAt(0).toLowerCase() + model.slice(1)]!;
    const uniqueWhere = (key: string[], row: Row): Row =>
      key.length === 1
        ? { [key[0]!]: row[key[0]!] }
        : { [key.join("_")]: Object.fromEntries(key.map((k) => [k, row[k]])) };

    const models: { model: string; key: string[]; row: Row }[] = [
      { model: "User", key: ["id"], row: { id: "crud-user", email: "crud@example.com", name: "Crud" } },
      {
        model: "EmbeddingSpace",
        key: ["id"],
        row: { id: "crud-space", provider: "test", model: "crud", dimension: 8 },
      },
      ...TENANT_TABLES.map((spec) => {
        const { embedding: _embedding, ...row } = spec.row("A", "extra");
        return { model: spec.table, key: spec.key, row };
      }),
    ];

    it("covers all 34 models", () => {
      expect(models.map((m) => m.model).sort()).toEqual(
        [...Object.keys(GLOBAL_TABLES), ...TENANT_TABLES.map((t) => t.table)].sort(),
      );
      expect(models).toHaveLength(34);
    });

    it.each(models)("$model", async ({ model, key, row }) => {
      const where = uniqueWhere(key, row);
      const field = TEXT_FIELDS.find((f) => typeof row[f] === "string");
      const change: Row = field
        ? { [field]: `${row[field] as string} (edited)` }
        : { createdAt: new Date("2026-01-02T03:04:05.000Z") };
      // A new organization is visible (and may be written) only to a transaction that names it.
      const organization = model === "Organization" ? (row.id as string) : A;
      // Sign-up: a new user names itself first, or the row it creates is not visible to it.
      const user = model === "User" ? (row.id as string) : undefined;
      const session = <T>(fn: (tx: Transaction) => Promise<T>) =>
        asOrganization(prisma, organization, fn, user);
      if (model === "EmbeddingSpace") {
        // Global, shared by every organization: the app reads the spaces; the owner (the release) writes them.
        await expect(session((tx) => delegate(tx, model).create({ data: row }))).rejects.toThrow(
          /EmbeddingSpace is the release's/,
        );
        await owner.query(
          `INSERT INTO "EmbeddingSpace" (id, provider, model, dimension) VALUES ($1, $2, $3, $4)`,
          [row.id, row.provider, row.model, row.dimension],
        );
        expect(await session((tx) => delegate(tx, model).findUnique({ where }))).toMatchObject(row);
        await expect(session((tx) => delegate(tx, model).update({ where, data: change }))).rejects.toThrow(
          /EmbeddingSpace is the release's/,
        );
        await expect(session((tx) => delegate(tx, model).delete({ where }))).rejects.toThrow(
          /EmbeddingSpace is the release's/,
        );
        expect((await owner.query(`DELETE FROM "EmbeddingSpace" WHERE id = $1`, [row.id])).rowCount).toBe(1);
        return;
      }
      await session(async (tx) => {
        const created = await delegate(tx, model).create({ data: row });
        expect(created).toMatchObject(Object.fromEntries(key.map((k) => [k, row[k]])));
        expect(await delegate(tx, model).findUnique({ where })).toMatchObject(row);
      });
      if (model === "AuditLog") {
        // Append-only: the app may not change or delete an entry, its own included; the owner prunes.
        await expect(session((tx) => delegate(tx, model).update({ where, data: change }))).rejects.toThrow(
          /append-only/,
        );
        await expect(session((tx) => delegate(tx, model).delete({ where }))).rejects.toThrow(/append-only/);
        expect((await owner.query(`DELETE FROM "AuditLog" WHERE id = $1`, [row.id])).rowCount).toBe(1);
        return;
      }
      await session(async (tx) => {
        expect(await delegate(tx, model).update({ where, data: change })).toMatchObject(change);
        await delegate(tx, model).delete({ where });
        expect(await delegate(tx, model).findUnique({ where })).toBeNull();
      });
    });
  });
});
