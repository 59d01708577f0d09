-- The plan's eight enums, with exactly its values, plus the actor type of an audit log entry. Prisma maps
-- each `enum X` to a PostgreSQL type named "X".

-- Up Migration
CREATE TYPE "AgentKind" AS ENUM ('COPILOT', 'WORKFLOW', 'ANALYST');
CREATE TYPE "AgentStatus" AS ENUM ('DRAFT', 'ACTIVE', 'PAUSED', 'DISABLED');
CREATE TYPE "MessageRole" AS ENUM ('system', 'user', 'assistant', 'tool');
CREATE TYPE "ConversationKind" AS ENUM ('support', 'campaign', 'planning', 'ad_hoc');
CREATE TYPE "DatasetKind" AS ENUM ('documents', 'faq', 'analytics');
CREATE TYPE "TrainStatus" AS ENUM ('queued', 'running', 'completed', 'failed', 'cancelled');
CREATE TYPE "ContentKind" AS ENUM ('article', 'email', 'social_script', 'ad_copy');
CREATE TYPE "CampaignStatus" AS ENUM ('draft', 'scheduled', 'active', 'paused', 'completed', 'archived');
-- Who did what an AuditLog row records: a signed-in user, an API key, an agent, or the platform itself.
CREATE TYPE "AuditActorType" AS ENUM ('user', 'api_key', 'agent', 'system');

-- Down Migration
DROP TYPE "AuditActorType";
DROP TYPE "CampaignStatus";
DROP TYPE "ContentKind";
DROP TYPE "TrainStatus";
DROP TYPE "DatasetKind";
DROP TYPE "ConversationKind";
DROP TYPE "MessageRole";
DROP TYPE "AgentStatus";
DROP TYPE "AgentKind";
