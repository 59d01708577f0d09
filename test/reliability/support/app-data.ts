// Realistic data written the way the NeonHub app writes it: through the app login (DML only), one transaction
// per organization that first names the organization (row-level security), embeddings of their space's
// dimension made by the seed sets' deterministic generator.
import type { ClientBase } from "pg";
import { seededVector, vectorLiteral } from "../../../core";

/** text-embedding-3-small: a space the demo seed does not have, created by the app as it would be. */
export const APP_SPACE = {
  id: "rel-space-3-small",
  provider: "openai",
  model: "text-embedding-3-small",
  dimension: 1536,
};

export interface AppDataShape {
  organizations: number;
  chunksPerOrganization: number;
  messagesPerOrganization: number;
  metricsPerOrganization: number;
}

const SETTING = "app.current_organization_id";

async function asOrganization(
  client: ClientBase,
  organization: string,
  fn: () => Promise<void>,
): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT set_config($1, $2, true)", [SETTING, organization]);
    await fn();
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK");
    throw error;
  }
}

export const embedding = (seed: string, topic: string) =>
  vectorLiteral(seededVector({ seed, topic }, APP_SPACE.dimension));

/**
 * Writes `shape` through `app` (a connected app login), its embedding space through `owner` (the migrator or
 * the admin: the spaces are global, the app only reads them); returns the organizations' ids.
 */
export async function writeAppData(
  app: ClientBase,
  shape: AppDataShape,
  owner: ClientBase,
): Promise<string[]> {
  await owner.query(
    `INSERT INTO "EmbeddingSpace" ("id", "provider", "model", "dimension") VALUES ($1, $2, $3, $4)`,
    [APP_SPACE.id, APP_SPACE.provider, APP_SPACE.model, APP_SPACE.dimension],
  );
  const ids: string[] = [];
  for (let o = 0; o < shape.organizations; o++) {
    const org = `rel-org-${o}`;
    ids.push(org);
    await asOrganization(app, org, async () => {
      const q = (sql: string, params: unknown[]) => app.query(sql, params);
      await q(`INSERT INTO "Organization" ("id", "slug", "name", "settings") VALUES ($1, $1, $2, $3)`, [
        org,
        `Customer ${o}`,
        { locale: o % 2 ? "de-DE" : "en-US", "unicode ✓": "ünïcödé" },
      ]);
      await q(`INSERT INTO "Brand" ("id", "organizationId", "name", "slug") VALUES ($1, $2, $3, 'main')`, [
        `${org}-brand`,
        org,
        `Brand of customer ${o}`,
      ]);
      await q(
        `INSERT INTO "Dataset" ("id", "organizationId", "name", "slug", "kind") VALUES ($1, $2, 'Docs', 'docs', 'documents')`,
        [`${org}-dataset`, org],
      );
      await q(
        `INSERT INTO "Document" ("id", "datasetId", "title", "mimeType") VALUES ($1, $2, 'Handbook', 'text/markdown')`,
        [`${org}-doc`, `${org}-dataset`],
      );
      for (let i = 0; i < shape.chunksPerOrganization; i++) {
        await q(
          `INSERT INTO "Chunk" ("id", "datasetId", "embeddingSpaceId", "documentId", "idx", "text", "embedding", "metadata")
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [
            `${org}-chunk-${i}`,
            `${org}-dataset`,
            APP_SPACE.id,
            `${org}-doc`,
            i,
            `Section ${i} of the handbook of customer ${o}: ${"lorem ipsum ".repeat(1 + (i % 7))}`,
            embedding(`${org}-chunk-${i}`, `${org}-topic-${i % 4}`),
            i % 3 === 0 ? null : { section: i, tags: ["a", "b"] },
          ],
        );
      }
      await q(`INSERT INTO "Conversation" ("id", "organizationId", "title") VALUES ($1, $2, 'Launch copy')`, [
        `${org}-conversation`,
        org,
      ]);
      for (let i = 0; i < shape.messagesPerOrganization; i++) {
        await q(
          `INSERT INTO "Message" ("id", "conversationId", "role", "contentJson", "embeddingSpaceId", "embedding")
           VALUES ($1, $2, $3, $4, $5, $6)`,
          [
            `${org}-message-${i}`,
            `${org}-conversation`,
            i % 2 ? "assistant" : "user",
            { text: `Message ${i}` },
            i % 2 ? null : APP_SPACE.id,
            i % 2 ? null : embedding(`${org}-message-${i}`, `${org}-topic-${i % 4}`),
          ],
        );
      }
      await q(
        `INSERT INTO "Campaign" ("id", "organizationId", "brandId", "name", "status") VALUES ($1, $2, $3, 'Spring', 'active')`,
        [`${org}-campaign`, org, `${org}-brand`],
      );
      for (let i = 0; i < shape.metricsPerOrganization; i++) {
        await q(
          `INSERT INTO "CampaignMetric" ("id", "organizationId", "campaignId", "kind", "value", "timestamp")
           VALUES ($1, $2, $3, $4, $5, timestamp '2025-03-01' + $6 * interval '1 hour')`,
          [`${org}-metric-${i}`, org, `${org}-campaign`, i % 2 ? "clicks" : "impressions", (i * 37.5) / 7, i],
        );
      }
    });
  }
  return ids;
}

/** The ids of the `k` chunks nearest to `query`, as the app finds them (exact search, its organization only). */
export async function nearestChunks(
  app: ClientBase,
  organization: string,
  query: string,
  k = 5,
): Promise<string[]> {
  let ids: string[] = [];
  await asOrganization(app, organization, async () => {
    // Exact: an ANN index built by the release in between may return other neighbours by design.
    await app.query("SET LOCAL enable_indexscan = off");
    const result = await app.query<{ id: string }>(
      `SELECT "id" FROM "Chunk" WHERE vector_dims("embedding") = ${APP_SPACE.dimension}
        ORDER BY "embedding"::vector(${APP_SPACE.dimension}) <=> $1::vector(${APP_SPACE.dimension}), "id" LIMIT ${k}`,
      [query],
    );
    ids = result.rows.map((r) => r.id);
  });
  return ids;
}
