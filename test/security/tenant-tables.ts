// Every tenant table, with how to build one of its rows for an organization: the data of the isolation tests.
// Two organizations (tenants A and B) each get a "seed" row in every table; tests then write "extra" rows in
// their own organization and try "cross" rows in the other one. Ids are readable: `A-seed-Brand`.
import { createHash } from "node:crypto";
import type { ClientBase } from "pg";
import { quoteIdentifier } from "../../core";

export type TenantKey = "A" | "B";
export type Tag = "seed" | "extra" | "cross" | "spare";
export type Row = Record<string, unknown>;

/** The tables that are not tenant tables, and why. Every other table of `public` must be one. */
export const GLOBAL_TABLES: Record<string, string> = {
  User: "a person may belong to several organizations",
  EmbeddingSpace: "spaces name a model shared by every organization",
};

/** Global tables with policies of their own (not keyed on one organization): "User" shows a session its
 * organization's members and itself (migration 20261202040000_user_row_level_security.sql). */
export const POLICY_GLOBAL_TABLES = ["User"];

export const SPACE_ID = "space-3d";
export const SPACE_DIMENSION = 3;
export const EMBEDDING = "[0.1,0.2,0.3]";

export function idOf(table: string, tenant: TenantKey, tag: Tag): string {
  return `${tenant}-${tag}-${table}`;
}
export const organizationOf = (tenant: TenantKey) => idOf("Organization", tenant, "seed");
export const userOf = (tag: Tag) => `user-${tag}`;
export const hashOf = (text: string) => createHash("sha256").update(text).digest("hex");

const TAG_NUMBER: Record<Tag, number> = { seed: 0, extra: 1, cross: 2, spare: 3 };

export interface TenantTable {
  table: string;
  /** Primary key columns. */
  key: string[];
  /** A row of `tenant`'s, its parents being the tenant's seed rows. */
  row(tenant: TenantKey, tag: Tag): Row;
}

/** In an order that inserts parents first. */
export const TENANT_TABLES: TenantTable[] = [];

function table(name: string, row: (t: TenantKey, tag: Tag, id: string) => Row, key = ["id"]): void {
  TENANT_TABLES.push({
    table: name,
    key,
    row: (tenant, tag) => row(tenant, tag, idOf(name, tenant, tag)),
  });
}

const org = (t: TenantKey) => organizationOf(t);
const seedOf = (parent: string, t: TenantKey) => idOf(parent, t, "seed");

table("Organization", (t, tag, id) => ({
  id,
  slug: `${id.toLowerCase()}`,
  name: `Organization ${t} ${tag}`,
}));
table("OrganizationRole", (t, tag, id) => ({
  id,
  organizationId: org(t),
  name: "Admin",
  slug: `admin-${tag}`,
}));
table("OrganizationPermission", (t, tag, id) => ({ id, organizationId: org(t), key: `campaigns.${tag}` }));
table(
  "RolePermission",
  (t, tag) => ({
    roleId: seedOf("OrganizationRole", t),
    // The seed pair takes the seed permission; other pairs the spare one, so that they are new pairs.
    permissionId: idOf("OrganizationPermission", t, tag === "seed" ? "seed" : "spare"),
  }),
  ["roleId", "permissionId"],
);
table("OrganizationMembership", (t, tag, id) => ({
  id,
  organizationId: org(t),
  userId: userOf(tag),
  roleId: seedOf("OrganizationRole", t),
}));
table("ApiKey", (t, tag, id) => ({
  id,
  organizationId: org(t),
  name: "CI",
  tokenHash: hashOf(`token ${id}`),
}));
table("Brand", (t, tag, id) => ({ id, organizationId: org(t), name: "Brand", slug: `brand-${tag}` }));
table("BrandVoice", (t, _tag, id) => ({
  id,
  brandId: seedOf("Brand", t),
  embeddingSpaceId: SPACE_ID,
  promptTemplate: "Be brief.",
  styleRulesJson: "{}",
  embedding: EMBEDDING,
}));
table("BrandAsset", (t, _tag, id) => ({ id, brandId: seedOf("Brand", t), kind: "logo", name: "Logo" }));
table("Agent", (t, tag, id) => ({
  id,
  organizationId: org(t),
  name: "Copilot",
  slug: `copilot-${tag}`,
  kind: "COPILOT",
}));
table("AgentConfig", (t, tag, id) => ({ id, agentId: seedOf("Agent", t), key: `tone-${tag}`, value: "{}" }));
table("AgentCapability", (t, tag, id) => ({ id, agentId: seedOf("Agent", t), name: `drafting-${tag}` }));
table("Tool", (t, tag, id) => ({ id, organizationId: org(t), name: "Search", slug: `search-${tag}` }));
table("AgentRun", (t, _tag, id) => ({ id, agentId: seedOf("Agent", t) }));
table("ToolExecution", (t, _tag, id) => ({
  id,
  toolId: seedOf("Tool", t),
  agentRunId: seedOf("AgentRun", t),
}));
table("AgentRunMetric", (t, _tag, id) => ({
  id,
  agentRunId: seedOf("AgentRun", t),
  name: "tokens",
  value: 42,
}));
table("Conversation", (t, _tag, id) => ({ id, organizationId: org(t), agentId: seedOf("Agent", t) }));
table("Message", (t, _tag, id) => ({
  id,
  conversationId: seedOf("Conversation", t),
  role: "user",
  contentJson: '{"text":"hello"}',
  embeddingSpaceId: SPACE_ID,
  embedding: EMBEDDING,
}));
table("Dataset", (t, tag, id) => ({
  id,
  organizationId: org(t),
  name: "Docs",
  slug: `docs-${tag}`,
  kind: "documents",
}));
table("Document", (t, _tag, id) => ({ id, datasetId: seedOf("Dataset", t), title: "Guide" }));
table("DocumentVersion", (t, tag, id) => ({
  id,
  documentId: seedOf("Document", t),
  version: TAG_NUMBER[tag] + 1,
  content: "text",
}));
table("Chunk", (t, tag, id) => ({
  id,
  datasetId: seedOf("Dataset", t),
  documentId: seedOf("Document", t),
  embeddingSpaceId: SPACE_ID,
  idx: TAG_NUMBER[tag],
  text: "text",
  embedding: EMBEDDING,
}));
table("ModelVersion", (t, tag, id) => ({
  id,
  organizationId: org(t),
  name: "voice",
  provider: "openai",
  version: tag,
}));
table("TrainingJob", (t, _tag, id) => ({
  id,
  modelVersionId: seedOf("ModelVersion", t),
  datasetId: seedOf("Dataset", t),
}));
table("InferenceEndpoint", (t, tag, id) => ({
  id,
  organizationId: org(t),
  modelVersionId: seedOf("ModelVersion", t),
  name: "Endpoint",
  slug: `endpoint-${tag}`,
}));
table("Content", (t, _tag, id) => ({
  id,
  organizationId: org(t),
  brandId: seedOf("Brand", t),
  kind: "article",
}));
table("Campaign", (t, _tag, id) => ({
  id,
  organizationId: org(t),
  brandId: seedOf("Brand", t),
  name: "Launch",
}));
table("CampaignMetric", (t, _tag, id) => ({
  id,
  organizationId: org(t),
  campaignId: seedOf("Campaign", t),
  kind: "clicks",
  value: 3,
}));
table("EmailSequence", (t, _tag, id) => ({
  id,
  organizationId: org(t),
  campaignId: seedOf("Campaign", t),
  name: "Welcome",
  subject: "Hi",
  body: "Hello",
}));
table("SocialPost", (t, _tag, id) => ({
  id,
  organizationId: org(t),
  campaignId: seedOf("Campaign", t),
  platform: "linkedin",
  content: "Launch day",
}));
table("ABTest", (t, _tag, id) => ({
  id,
  organizationId: org(t),
  campaignId: seedOf("Campaign", t),
  name: "Subject line",
  variants: '["a","b"]',
}));
table("AuditLog", (t, _tag, id) => ({
  id,
  organizationId: org(t),
  actorType: "user",
  actorId: userOf("seed"),
  action: "campaign.create",
  requestHash: hashOf(`request ${id}`),
}));

export function tenantTable(name: string): TenantTable {
  const found = TENANT_TABLES.find((t) => t.table === name);
  if (!found) throw new Error(`no tenant table "${name}"`);
  return found;
}

/** The key of a row, as column → value. */
export function keyOf(spec: TenantTable, row: Row): Row {
  return Object.fromEntries(spec.key.map((column) => [column, row[column]]));
}

const quote = quoteIdentifier;

/** `INSERT ... RETURNING` of one row; returns the row's key as the database gives it back. */
export async function insertRow(client: ClientBase, table: string, row: Row): Promise<Row[]> {
  const columns = Object.keys(row);
  const { rows } = await client.query<Row>(
    `INSERT INTO ${quote(table)} (${columns.map(quote).join(", ")})
     VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")}) RETURNING *`,
    Object.values(row),
  );
  return rows;
}

/** `WHERE` over a row's key, with its parameters numbered from `from`. */
export function whereKey(key: Row, from = 1): { sql: string; values: unknown[] } {
  const columns = Object.keys(key);
  return {
    sql: columns.map((column, i) => `${quote(column)} = $${from + i}`).join(" AND "),
    values: Object.values(key),
  };
}

/** The users and the embedding space (global), then both organizations' seed rows (and spare permission). */
export async function seedTwoOrganizations(owner: ClientBase): Promise<void> {
  for (const tag of ["seed", "extra", "cross"] as const) {
    await insertRow(owner, "User", { id: userOf(tag), email: `${tag}@example.com` });
  }
  await insertRow(owner, "EmbeddingSpace", {
    id: SPACE_ID,
    provider: "test",
    model: "tiny",
    dimension: SPACE_DIMENSION,
  });
  for (const tenant of ["A", "B"] as const) {
    for (const spec of TENANT_TABLES) {
      await insertRow(owner, spec.table, spec.row(tenant, "seed"));
      if (spec.table === "OrganizationPermission") {
        await insertRow(owner, spec.table, spec.row(tenant, "spare"));
      }
    }
  }
}

export { quote };
