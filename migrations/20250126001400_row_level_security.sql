-- Tenant isolation with row-level security: every table that holds an organization's data shows and accepts
-- only the rows of the organization the session names, even when a query forgets its WHERE clause.
--
-- How the application names its organization: once per transaction, before its first query,
--   SELECT set_config('app.current_organization_id', $1, true);   -- true: for this transaction only
-- current_organization_id() reads that setting. Unset, or empty (which it becomes after a transaction that
-- set it ends), it is NULL, and "organizationId" = NULL is never true: no row is visible and no row may be
-- written. Fail closed, with no special case to forget.
--
-- Who is subject to the policies: every role that is not the tables' owner (the app and read-only logins).
-- The owner, and the migrator that acts as it, are not (no FORCE ROW LEVEL SECURITY), so migrations and seeds
-- see every organization. Superusers and BYPASSRLS roles always bypass row-level security: the app login must
-- be neither. TRUNCATE is not subject to row-level security either: the app is not granted it.
--
-- Tenant tables and their policy, one per table, named tenant_isolation:
--   * tables with "organizationId": the column equals the current organization;
--   * "Organization": its "id" does;
--   * tables that reach the organization through a required parent ("Message" through "Conversation",
--     "Chunk" through "Dataset", "DocumentVersion" through "Document" and "Dataset"...): the parent row
--     belongs to the current organization. The parent is looked up with its organization spelled out, not
--     left to the parent's own policy, so the rule holds on its own.
--   * WITH CHECK also requires every optional reference to another tenant table (a conversation's agent, a
--     campaign's brand, a training job's dataset...) to stay inside the organization: foreign keys are
--     checked without row-level security, so without it a row could point at another organization's data.
--   * "AuditLog": "organizationId" too, so platform events (organizationId NULL) are the owner's alone.
-- Not tenant tables: "User" (a person can belong to several organizations) and "EmbeddingSpace" (spaces are
-- global; check_embedding_dimension() reads them as the calling role, so they must stay visible).
--
-- Lookups that come before an organization is known (an API key presenting its token, a signed-in user
-- choosing an organization, a URL naming an organization's slug) cannot go through the policies. Three
-- SECURITY DEFINER functions answer them, each returning identifiers only, never an organization's data.
--
-- Enforcement can be turned off per stack, leaving the policies in place (the release engine's
-- rowLevelSecurity option: ALTER TABLE ... DISABLE ROW LEVEL SECURITY on every table that has a policy).

-- Up Migration
CREATE FUNCTION current_organization_id() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT NULLIF(current_setting('app.current_organization_id', true), '') $$;
COMMENT ON FUNCTION current_organization_id() IS
  'The organization of this transaction (setting app.current_organization_id), NULL when unset or empty.';

-- The organization itself.
ALTER TABLE "Organization" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Organization"
  USING ("id" = current_organization_id())
  WITH CHECK ("id" = current_organization_id());

-- Identity and organizations.
ALTER TABLE "OrganizationRole" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "OrganizationRole"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id());

ALTER TABLE "OrganizationPermission" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "OrganizationPermission"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id());

ALTER TABLE "RolePermission" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "RolePermission"
  USING (EXISTS (SELECT 1 FROM "OrganizationRole" r
                  WHERE r."id" = "RolePermission"."roleId" AND r."organizationId" = current_organization_id()))
  WITH CHECK (EXISTS (SELECT 1 FROM "OrganizationRole" r
                       WHERE r."id" = "RolePermission"."roleId" AND r."organizationId" = current_organization_id())
              AND EXISTS (SELECT 1 FROM "OrganizationPermission" p
                           WHERE p."id" = "RolePermission"."permissionId"
                             AND p."organizationId" = current_organization_id()));

ALTER TABLE "OrganizationMembership" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "OrganizationMembership"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id()
              AND ("roleId" IS NULL OR EXISTS (SELECT 1 FROM "OrganizationRole" r
                                               WHERE r."id" = "OrganizationMembership"."roleId"
                                                 AND r."organizationId" = current_organization_id())));

ALTER TABLE "ApiKey" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "ApiKey"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id());

-- Brands.
ALTER TABLE "Brand" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Brand"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id());

ALTER TABLE "BrandVoice" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "BrandVoice"
  USING (EXISTS (SELECT 1 FROM "Brand" b
                  WHERE b."id" = "BrandVoice"."brandId" AND b."organizationId" = current_organization_id()))
  WITH CHECK (EXISTS (SELECT 1 FROM "Brand" b
                       WHERE b."id" = "BrandVoice"."brandId" AND b."organizationId" = current_organization_id()));

ALTER TABLE "BrandAsset" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "BrandAsset"
  USING (EXISTS (SELECT 1 FROM "Brand" b
                  WHERE b."id" = "BrandAsset"."brandId" AND b."organizationId" = current_organization_id()))
  WITH CHECK (EXISTS (SELECT 1 FROM "Brand" b
                       WHERE b."id" = "BrandAsset"."brandId" AND b."organizationId" = current_organization_id()));

-- Agents and tools.
ALTER TABLE "Agent" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Agent"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id());

ALTER TABLE "AgentConfig" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "AgentConfig"
  USING (EXISTS (SELECT 1 FROM "Agent" a
                  WHERE a."id" = "AgentConfig"."agentId" AND a."organizationId" = current_organization_id()))
  WITH CHECK (EXISTS (SELECT 1 FROM "Agent" a
                       WHERE a."id" = "AgentConfig"."agentId" AND a."organizationId" = current_organization_id()));

ALTER TABLE "AgentCapability" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "AgentCapability"
  USING (EXISTS (SELECT 1 FROM "Agent" a
                  WHERE a."id" = "AgentCapability"."agentId" AND a."organizationId" = current_organization_id()))
  WITH CHECK (EXISTS (SELECT 1 FROM "Agent" a
                       WHERE a."id" = "AgentCapability"."agentId" AND a."organizationId" = current_organization_id()));

ALTER TABLE "Tool" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Tool"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id());

ALTER TABLE "AgentRun" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "AgentRun"
  USING (EXISTS (SELECT 1 FROM "Agent" a
                  WHERE a."id" = "AgentRun"."agentId" AND a."organizationId" = current_organization_id()))
  WITH CHECK (EXISTS (SELECT 1 FROM "Agent" a
                       WHERE a."id" = "AgentRun"."agentId" AND a."organizationId" = current_organization_id()));

ALTER TABLE "ToolExecution" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "ToolExecution"
  USING (EXISTS (SELECT 1 FROM "Tool" t
                  WHERE t."id" = "ToolExecution"."toolId" AND t."organizationId" = current_organization_id()))
  WITH CHECK (EXISTS (SELECT 1 FROM "Tool" t
                       WHERE t."id" = "ToolExecution"."toolId" AND t."organizationId" = current_organization_id())
              AND ("agentRunId" IS NULL
                   OR EXISTS (SELECT 1 FROM "AgentRun" r JOIN "Agent" a ON a."id" = r."agentId"
                               WHERE r."id" = "ToolExecution"."agentRunId"
                                 AND a."organizationId" = current_organization_id())));

ALTER TABLE "AgentRunMetric" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "AgentRunMetric"
  USING (EXISTS (SELECT 1 FROM "AgentRun" r JOIN "Agent" a ON a."id" = r."agentId"
                  WHERE r."id" = "AgentRunMetric"."agentRunId" AND a."organizationId" = current_organization_id()))
  WITH CHECK (EXISTS (SELECT 1 FROM "AgentRun" r JOIN "Agent" a ON a."id" = r."agentId"
                       WHERE r."id" = "AgentRunMetric"."agentRunId"
                         AND a."organizationId" = current_organization_id()));

-- Conversations.
ALTER TABLE "Conversation" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Conversation"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id()
              AND ("agentId" IS NULL OR EXISTS (SELECT 1 FROM "Agent" a
                                                WHERE a."id" = "Conversation"."agentId"
                                                  AND a."organizationId" = current_organization_id())));

ALTER TABLE "Message" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Message"
  USING (EXISTS (SELECT 1 FROM "Conversation" c
                  WHERE c."id" = "Message"."conversationId" AND c."organizationId" = current_organization_id()))
  WITH CHECK (EXISTS (SELECT 1 FROM "Conversation" c
                       WHERE c."id" = "Message"."conversationId" AND c."organizationId" = current_organization_id()));

-- Datasets, documents and chunks. A chunk's document is in its dataset (composite foreign key).
ALTER TABLE "Dataset" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Dataset"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id());

ALTER TABLE "Document" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Document"
  USING (EXISTS (SELECT 1 FROM "Dataset" s
                  WHERE s."id" = "Document"."datasetId" AND s."organizationId" = current_organization_id()))
  WITH CHECK (EXISTS (SELECT 1 FROM "Dataset" s
                       WHERE s."id" = "Document"."datasetId" AND s."organizationId" = current_organization_id()));

ALTER TABLE "DocumentVersion" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "DocumentVersion"
  USING (EXISTS (SELECT 1 FROM "Document" d JOIN "Dataset" s ON s."id" = d."datasetId"
                  WHERE d."id" = "DocumentVersion"."documentId" AND s."organizationId" = current_organization_id()))
  WITH CHECK (EXISTS (SELECT 1 FROM "Document" d JOIN "Dataset" s ON s."id" = d."datasetId"
                       WHERE d."id" = "DocumentVersion"."documentId"
                         AND s."organizationId" = current_organization_id()));

ALTER TABLE "Chunk" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Chunk"
  USING (EXISTS (SELECT 1 FROM "Dataset" s
                  WHERE s."id" = "Chunk"."datasetId" AND s."organizationId" = current_organization_id()))
  WITH CHECK (EXISTS (SELECT 1 FROM "Dataset" s
                       WHERE s."id" = "Chunk"."datasetId" AND s."organizationId" = current_organization_id()));

-- Models and training.
ALTER TABLE "ModelVersion" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "ModelVersion"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id());

ALTER TABLE "TrainingJob" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "TrainingJob"
  USING (EXISTS (SELECT 1 FROM "ModelVersion" m
                  WHERE m."id" = "TrainingJob"."modelVersionId" AND m."organizationId" = current_organization_id()))
  WITH CHECK (EXISTS (SELECT 1 FROM "ModelVersion" m
                       WHERE m."id" = "TrainingJob"."modelVersionId"
                         AND m."organizationId" = current_organization_id())
              AND ("datasetId" IS NULL OR EXISTS (SELECT 1 FROM "Dataset" s
                                                  WHERE s."id" = "TrainingJob"."datasetId"
                                                    AND s."organizationId" = current_organization_id())));

ALTER TABLE "InferenceEndpoint" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "InferenceEndpoint"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id()
              AND ("modelVersionId" IS NULL OR EXISTS (SELECT 1 FROM "ModelVersion" m
                                                       WHERE m."id" = "InferenceEndpoint"."modelVersionId"
                                                         AND m."organizationId" = current_organization_id())));

-- Content and campaigns. A campaign's metrics, email sequences, social posts and A/B tests carry the
-- organization themselves, and their composite foreign key keeps their campaign in it.
ALTER TABLE "Content" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Content"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id()
              AND ("brandId" IS NULL OR EXISTS (SELECT 1 FROM "Brand" b
                                                WHERE b."id" = "Content"."brandId"
                                                  AND b."organizationId" = current_organization_id())));

ALTER TABLE "Campaign" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "Campaign"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id()
              AND ("brandId" IS NULL OR EXISTS (SELECT 1 FROM "Brand" b
                                                WHERE b."id" = "Campaign"."brandId"
                                                  AND b."organizationId" = current_organization_id())));

ALTER TABLE "CampaignMetric" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "CampaignMetric"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id());

ALTER TABLE "EmailSequence" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "EmailSequence"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id());

ALTER TABLE "SocialPost" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "SocialPost"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id());

ALTER TABLE "ABTest" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "ABTest"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id());

-- The audit trail.
ALTER TABLE "AuditLog" ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON "AuditLog"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id());

-- Lookups before the organization is known. SECURITY DEFINER: they run as their owner, whom the policies do
-- not restrict. A fixed search_path (pg_temp last) and schema-qualified names keep a caller from substituting
-- objects of its own; each returns identifiers only, and the data stays behind the policies.

-- An API key is found by the hash of the token its caller presents; revoked and expired keys are not.
CREATE FUNCTION organization_id_for_token_hash(token_hash text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT k."organizationId" FROM public."ApiKey" k
   WHERE k."tokenHash" = token_hash
     AND k."revokedAt" IS NULL
     AND (k."expiresAt" IS NULL OR k."expiresAt" > timezone('UTC', now()))
$$;
COMMENT ON FUNCTION organization_id_for_token_hash(text) IS
  'The organization of the usable API key whose "tokenHash" is given, else NULL. Bypasses row-level security.';

-- An organization named by its slug (in a URL).
CREATE FUNCTION organization_id_for_slug(slug text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT o."id" FROM public."Organization" o WHERE o."slug" = organization_id_for_slug.slug $$;
COMMENT ON FUNCTION organization_id_for_slug(text) IS
  'The id of the organization with this slug, else NULL. Bypasses row-level security.';

-- The organizations a signed-in user belongs to, to choose one: what the user may know of them anyway.
CREATE FUNCTION organizations_of_user(user_id text)
RETURNS TABLE ("organizationId" text, "slug" text, "name" text, "status" text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT o."id", o."slug", o."name", m."status"
    FROM public."OrganizationMembership" m JOIN public."Organization" o ON o."id" = m."organizationId"
   WHERE m."userId" = user_id
   ORDER BY o."name", o."id"
$$;
COMMENT ON FUNCTION organizations_of_user(text) IS
  'The organizations of a user''s memberships (id, slug, name, membership status). Bypasses row-level security.';

-- Down Migration
DROP FUNCTION organizations_of_user(text);
DROP FUNCTION organization_id_for_slug(text);
DROP FUNCTION organization_id_for_token_hash(text);

DROP POLICY tenant_isolation ON "AuditLog";
ALTER TABLE "AuditLog" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "ABTest";
ALTER TABLE "ABTest" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "SocialPost";
ALTER TABLE "SocialPost" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "EmailSequence";
ALTER TABLE "EmailSequence" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "CampaignMetric";
ALTER TABLE "CampaignMetric" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "Campaign";
ALTER TABLE "Campaign" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "Content";
ALTER TABLE "Content" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "InferenceEndpoint";
ALTER TABLE "InferenceEndpoint" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "TrainingJob";
ALTER TABLE "TrainingJob" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "ModelVersion";
ALTER TABLE "ModelVersion" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "Chunk";
ALTER TABLE "Chunk" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "DocumentVersion";
ALTER TABLE "DocumentVersion" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "Document";
ALTER TABLE "Document" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "Dataset";
ALTER TABLE "Dataset" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "Message";
ALTER TABLE "Message" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "Conversation";
ALTER TABLE "Conversation" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "AgentRunMetric";
ALTER TABLE "AgentRunMetric" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "ToolExecution";
ALTER TABLE "ToolExecution" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "AgentRun";
ALTER TABLE "AgentRun" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "Tool";
ALTER TABLE "Tool" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "AgentCapability";
ALTER TABLE "AgentCapability" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "AgentConfig";
ALTER TABLE "AgentConfig" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "Agent";
ALTER TABLE "Agent" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "BrandAsset";
ALTER TABLE "BrandAsset" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "BrandVoice";
ALTER TABLE "BrandVoice" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "Brand";
ALTER TABLE "Brand" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "ApiKey";
ALTER TABLE "ApiKey" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "OrganizationMembership";
ALTER TABLE "OrganizationMembership" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "RolePermission";
ALTER TABLE "RolePermission" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "OrganizationPermission";
ALTER TABLE "OrganizationPermission" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "OrganizationRole";
ALTER TABLE "OrganizationRole" DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON "Organization";
ALTER TABLE "Organization" DISABLE ROW LEVEL SECURITY;

DROP FUNCTION current_organization_id();
