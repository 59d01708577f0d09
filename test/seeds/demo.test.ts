import { describe, expect, it } from "vitest";
import type { ClientBase } from "pg";
import { DEFAULT_MIGRATIONS_DIR, applyRelease, planRelease, type ReleaseOptions } from "../../core";
import { AVAILABLE_SEED_SETS, defaultReleaseSteps } from "../../core";
import { loadSeedSet } from "../../core";
import { DEFAULT_SEEDS_DIR } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { rowVersions } from "./helpers";

const demoOptions = (databaseUrl: string): ReleaseOptions => ({
  databaseUrl,
  migrationsDir: DEFAULT_MIGRATIONS_DIR,
  steps: defaultReleaseSteps({ seedSets: ["demo"] }),
});

const DEMO = loadSeedSet(DEFAULT_SEEDS_DIR, "demo");

/** xmin of every row the demo set wrote, and of its bookkeeping rows. */
async function demoRowVersions(client: ClientBase): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of new Set(DEMO.tables.map((t) => t.table))) {
    const id = table === "RolePermission" ? `"roleId" || '/' || "permissionId"` : "id";
    for (const [key, xmin] of await rowVersions(client, table, id)) out[`${table} ${key}`] = xmin;
  }
  const records = await client.query<{ k: string; xmin: string }>(
    `SELECT 'set ' || name AS k, xmin::text AS xmin FROM neonhub_release.seed_sets
     UNION ALL SELECT 'row ' || table_name || row_key::text, xmin::text FROM neonhub_release.seed_rows`,
  );
  for (const r of records.rows) out[r.k] = r.xmin;
  return out;
}

describe("the demo seed set", () => {
  const db = useTestDatabase();

  it("is listed, and made of real vectors of the space's dimension", () => {
    expect(AVAILABLE_SEED_SETS).toContain("demo");
    const chunks = DEMO.tables.find((t) => t.table === "Chunk")!;
    const vector = JSON.parse(chunks.rows[0]!.embedding as string) as number[];
    expect(vector).toHaveLength(3072);
    expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    expect(DEMO.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it("applies after the migrations, writing every row in place", async () => {
    const result = await applyRelease(demoOptions(db.current.url));
    expect(result.seedSets).toHaveLength(1);
    expect(result.seedSets[0]).toMatchObject({
      name: "demo",
      action: "create",
      details: { inserted: DEMO.rowCount, updated: 0, deleted: 0, checksum: DEMO.checksum },
    });
    expect(result.summary.seedSets).toEqual([
      expect.objectContaining({ name: "demo", rows: DEMO.rowCount, checksum: DEMO.checksum }),
    ]);
  });

  it("gives the organization its admin, brand voice, space, copilot, conversation, dataset and campaign", async () => {
    await withClient(db.current.url, async (c) => {
      const org = await c.query(`SELECT id, name, plan FROM "Organization" WHERE slug = 'demo'`);
      expect(org.rows).toEqual([{ id: "demo-org", name: "Demo Org", plan: "starter" }]);

      const admin = await c.query(
        `SELECT u.email, r.slug AS role, m.status, count(rp.*)::int AS permissions
           FROM "OrganizationMembership" m
           JOIN "User" u ON u.id = m."userId"
           JOIN "OrganizationRole" r ON r.id = m."roleId" AND r."organizationId" = m."organizationId"
           LEFT JOIN "RolePermission" rp ON rp."roleId" = r.id
          WHERE m."organizationId" = 'demo-org' GROUP BY 1, 2, 3`,
      );
      expect(admin.rows).toEqual([
        { email: "demo@neonhub.ai", role: "admin", status: "active", permissions: 3 },
      ]);

      const voice = await c.query(
        `SELECT b.slug, v."promptTemplate", v."styleRulesJson" -> 'tone' AS tone,
                vector_dims(v.embedding) AS dims, s.provider, s.model, s.dimension
           FROM "Brand" b JOIN "BrandVoice" v ON v."brandId" = b.id
           JOIN "EmbeddingSpace" s ON s.id = v."embeddingSpaceId"
          WHERE b."organizationId" = 'demo-org'`,
      );
      expect(voice.rows).toHaveLength(1);
      expect(voice.rows[0]).toMatchObject({
        slug: "neonhub-demo",
        tone: ["confident", "warm", "concrete"],
        dims: 3072,
        provider: "openai",
        model: "text-embedding-3-large",
        dimension: 3072,
      });
      expect(voice.rows[0].promptTemplate).toContain("{{brand.name}}");

      const agent = await c.query(
        `SELECT a.kind, a.status, array_agg(ac.name ORDER BY ac.name) AS capabilities
           FROM "Agent" a JOIN "AgentCapability" ac ON ac."agentId" = a.id
          WHERE a."organizationId" = 'demo-org' GROUP BY 1, 2`,
      );
      expect(agent.rows).toEqual([
        { kind: "COPILOT", status: "ACTIVE", capabilities: ["analysis", "drafting", "knowledge"] },
      ]);

      const first = await c.query(
        `SELECT m.role, m."contentJson" ->> 'type' AS type, vector_dims(m.embedding) AS dims,
                round((m.embedding <#> m.embedding)::numeric, 4) AS negative_norm2, c."agentId"
           FROM "Conversation" c JOIN "Message" m ON m."conversationId" = c.id
          WHERE c."organizationId" = 'demo-org' ORDER BY m."createdAt" LIMIT 1`,
      );
      expect(first.rows).toEqual([
        { role: "user", type: "text", dims: 3072, negative_norm2: "-1.0000", agentId: "demo-agent-copilot" },
      ]);

      const knowledge = await c.query(
        `SELECT count(DISTINCT d.id)::int AS documents, count(ch.*)::int AS chunks,
                bool_and(vector_dims(ch.embedding) = s.dimension) AS dims_match
           FROM "Dataset" ds JOIN "Document" d ON d."datasetId" = ds.id
           JOIN "Chunk" ch ON ch."documentId" = d.id AND ch."datasetId" = ds.id
           JOIN "EmbeddingSpace" s ON s.id = ch."embeddingSpaceId"
          WHERE ds."organizationId" = 'demo-org'`,
      );
      expect(knowledge.rows).toEqual([{ documents: 2, chunks: 6, dims_match: true }]);

      const campaign = await c.query(
        `SELECT c.name, b.slug AS brand, count(m.*)::int AS metrics,
                array_agg(DISTINCT m.kind ORDER BY m.kind) AS kinds
           FROM "Campaign" c JOIN "Brand" b ON b.id = c."brandId" AND b."organizationId" = c."organizationId"
           JOIN "CampaignMetric" m ON m."campaignId" = c.id AND m."organizationId" = c."organizationId"
          WHERE c."organizationId" = 'demo-org' GROUP BY 1, 2`,
      );
      expect(campaign.rows).toEqual([
        {
          name: "Spring launch",
          brand: "neonhub-demo",
          metrics: 6,
          kinds: ["clicks", "conversions", "impressions"],
        },
      ]);
    });
  });

  it("has embeddings a similarity search can use: the first message finds the launch FAQ first", async () => {
    const nearest = await withClient(db.current.url, (c) =>
      c.query(
        `SELECT ch."documentId" FROM "Chunk" ch, "Message" m
          WHERE m.id = 'demo-message-1' ORDER BY ch.embedding <=> m.embedding LIMIT 3`,
      ),
    );
    expect(nearest.rows.map((r) => r.documentId)).toEqual(Array(3).fill("demo-doc-launch-faq"));
  });

  it("changes nothing when applied again: the step reports unchanged and no row is rewritten", async () => {
    const before = await withClient(db.current.url, demoRowVersions);
    expect(Object.keys(before).length).toBe(DEMO.rowCount * 2 + 1);
    const again = await applyRelease(demoOptions(db.current.url));
    expect(again.changed).toBe(false);
    expect(again.seedSets).toEqual([
      expect.objectContaining({
        name: "demo",
        action: "unchanged",
        skipped: `its ${DEMO.rowCount} rows already match the set`,
        details: expect.objectContaining({ inserted: 0, updated: 0, deleted: 0, checksum: DEMO.checksum }),
      }),
    ]);
    expect(again.steps.find((s) => s.step === "seeds")).toMatchObject({ ran: 0, skipped: 1 });
    expect(await withClient(db.current.url, demoRowVersions)).toEqual(before);
    const plan = await planRelease(demoOptions(db.current.url));
    expect(plan.pending).toBe(false);
    expect(plan.seedSets).toEqual([expect.objectContaining({ name: "demo", action: "unchanged" })]);
  });
});
