-- The plan's Section 5 b-tree indexes for the hot query paths, under the plan's names and idempotent as it
-- writes them. The IVFFLAT/HNSW vector indexes of that section are not here: the release engine builds them
-- once the data they index exists (see 20250126000500_embedding_spaces.sql for their form).

-- Up Migration
-- An agent's latest runs.
CREATE INDEX IF NOT EXISTS idx_agent_run_started ON "AgentRun" ("agentId", "startedAt" DESC);
-- A campaign's series of one metric over time.
CREATE INDEX IF NOT EXISTS idx_campaign_metric_ts ON "CampaignMetric" ("campaignId", "kind", "timestamp");
-- One token hash per organization (the global lookup by hash is "ApiKey_tokenHash_key").
CREATE UNIQUE INDEX IF NOT EXISTS idx_api_key_token_hash ON "ApiKey" ("organizationId", "tokenHash");
-- An organization's latest conversations.
CREATE INDEX IF NOT EXISTS idx_conversation_org_created ON "Conversation" ("organizationId", "createdAt" DESC);

-- Down Migration
DROP INDEX IF EXISTS idx_conversation_org_created;
DROP INDEX IF EXISTS idx_api_key_token_hash;
DROP INDEX IF EXISTS idx_campaign_metric_ts;
DROP INDEX IF EXISTS idx_agent_run_started;
