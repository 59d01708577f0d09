// Small row builders for behaviour tests: each inserts one row with fresh ids and returns its id.
import { randomUUID } from "node:crypto";
import type { ClientBase } from "pg";

const newId = (prefix: string) => `${prefix}_${randomUUID().slice(0, 8)}`;

/** A pgvector literal of `dimensions` values, e.g. "[0.5,0.5,0.5]". */
export function vectorOf(dimensions: number, value = 0.5): string {
  return `[${new Array<number>(dimensions).fill(value).join(",")}]`;
}

async function insert(client: ClientBase, table: string, row: Record<string, unknown>): Promise<string> {
  const columns = Object.keys(row);
  const values = columns.map((_, i) => `$${i + 1}`);
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${values.join(", ")}) RETURNING "id"`,
    Object.values(row),
  );
  return rows[0]!.id;
}

export const make = {
  user: (c: ClientBase) => insert(c, "User", { id: newId("user"), email: `${newId("u")}@example.com` }),
  organization: (c: ClientBase) =>
    insert(c, "Organization", { id: newId("org"), slug: newId("s"), name: "Org" }),
  role: (c: ClientBase, organizationId: string) =>
    insert(c, "OrganizationRole", { id: newId("role"), organizationId, name: "Admin", slug: newId("admin") }),
  membership: (
    c: ClientBase,
    row: { organizationId: string; userId: string; roleId?: string; invitedById?: string },
  ) => insert(c, "OrganizationMembership", { id: newId("member"), ...row }),
  space: (c: ClientBase, dimension: number) =>
    insert(c, "EmbeddingSpace", { id: newId("space"), provider: "openai", model: newId("model"), dimension }),
  dataset: (c: ClientBase, organizationId: string) =>
    insert(c, "Dataset", {
      id: newId("dataset"),
      organizationId,
      name: "Docs",
      slug: newId("d"),
      kind: "documents",
    }),
  document: (c: ClientBase, datasetId: string) =>
    insert(c, "Document", { id: newId("doc"), datasetId, title: "Doc" }),
  chunk: (
    c: ClientBase,
    row: { datasetId: string; documentId: string; embeddingSpaceId: string; idx: number; embedding?: string },
  ) => insert(c, "Chunk", { id: newId("chunk"), text: "text", ...row }),
  brand: (c: ClientBase, organizationId: string) =>
    insert(c, "Brand", { id: newId("brand"), organizationId, name: "Brand", slug: newId("b") }),
  brandVoice: (c: ClientBase, row: { brandId: string; embeddingSpaceId: string; embedding?: string }) =>
    insert(c, "BrandVoice", {
      id: newId("voice"),
      promptTemplate: "Be brief.",
      styleRulesJson: "{}",
      ...row,
    }),
  conversation: (c: ClientBase, organizationId: string) =>
    insert(c, "Conversation", { id: newId("conv"), organizationId }),
  message: (c: ClientBase, row: { conversationId: string; embeddingSpaceId?: string; embedding?: string }) =>
    insert(c, "Message", { id: newId("msg"), role: "user", contentJson: '{"text":"hi"}', ...row }),
  campaign: (c: ClientBase, organizationId: string) =>
    insert(c, "Campaign", { id: newId("campaign"), organizationId, name: "Launch" }),
  campaignMetric: (c: ClientBase, row: { organizationId: string; campaignId: string }) =>
    insert(c, "CampaignMetric", { id: newId("metric"), kind: "clicks", value: 3, ...row }),
  auditLog: (c: ClientBase, organizationId: string) =>
    insert(c, "AuditLog", {
      id: newId("audit"),
      organizationId,
      actorType: "user",
      action: "campaign.create",
    }),
  apiKey: (c: ClientBase, row: { organizationId: string; tokenHash: string }) =>
    insert(c, "ApiKey", { id: newId("key"), name: "CI", ...row }),
};

/** The embedding tables and how to make a row of each in a fresh organization. */
export async function makeEmbedded(
  c: ClientBase,
  table: string,
  embeddingSpaceId: string,
  embedding: string,
): Promise<string> {
  const organizationId = await make.organization(c);
  switch (table) {
    case "Chunk": {
      const datasetId = await make.dataset(c, organizationId);
      const documentId = await make.document(c, datasetId);
      return make.chunk(c, { datasetId, documentId, embeddingSpaceId, idx: 0, embedding });
    }
    case "BrandVoice":
      return make.brandVoice(c, {
        brandId: await make.brand(c, organizationId),
        embeddingSpaceId,
        embedding,
      });
    case "Message":
      return make.message(c, {
        conversationId: await make.conversation(c, organizationId),
        embeddingSpaceId,
        embedding,
      });
    default:
      throw new Error(`no embedding table "${table}"`);
  }
}
