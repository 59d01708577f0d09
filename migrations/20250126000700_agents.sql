-- AI agents of an organization: their configuration and capabilities, the tools they call, their runs, each
-- tool execution of a run and the metrics a run reports. Children reach the organization through the agent
-- or tool they belong to.
--
-- Run and execution statuses are text: the plan's TrainStatus belongs to training jobs, and run states are
-- still settling in the app. idx_agent_run_started ("agentId", "startedAt" DESC) comes with the other
-- Section 5 indexes.

-- Up Migration
CREATE TABLE "Agent" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "name" text NOT NULL,
  "slug" text NOT NULL,
  "kind" "AgentKind" NOT NULL,
  "status" "AgentStatus" NOT NULL DEFAULT 'DRAFT',
  "description" text,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "Agent_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Agent_organizationId_fkey" FOREIGN KEY ("organizationId")
    REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "Agent_organizationId_slug_key" ON "Agent" ("organizationId", "slug");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "Agent" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "AgentConfig" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "agentId" text NOT NULL,
  "key" text NOT NULL,
  "value" jsonb NOT NULL,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "AgentConfig_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "AgentConfig_agentId_fkey" FOREIGN KEY ("agentId")
    REFERENCES "Agent" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "AgentConfig_agentId_key_key" ON "AgentConfig" ("agentId", "key");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "AgentConfig" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "AgentCapability" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "agentId" text NOT NULL,
  "name" text NOT NULL,
  "config" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "AgentCapability_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "AgentCapability_agentId_fkey" FOREIGN KEY ("agentId")
    REFERENCES "Agent" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "AgentCapability_agentId_name_key" ON "AgentCapability" ("agentId", "name");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "AgentCapability" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "Tool" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "name" text NOT NULL,
  "slug" text NOT NULL,
  "description" text,
  "inputSchema" jsonb,
  "outputSchema" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "Tool_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Tool_organizationId_fkey" FOREIGN KEY ("organizationId")
    REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "Tool_organizationId_slug_key" ON "Tool" ("organizationId", "slug");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "Tool" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "AgentRun" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "agentId" text NOT NULL,
  "triggeredById" text,
  "status" text NOT NULL DEFAULT 'queued',
  "input" jsonb NOT NULL DEFAULT '{}'::jsonb,
  "output" jsonb,
  "error" text,
  "startedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "completedAt" timestamp(3),
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "AgentRun_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "AgentRun_agentId_fkey" FOREIGN KEY ("agentId")
    REFERENCES "Agent" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "AgentRun_triggeredById_fkey" FOREIGN KEY ("triggeredById")
    REFERENCES "User" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE INDEX "AgentRun_triggeredById_idx" ON "AgentRun" ("triggeredById");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "AgentRun" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "ToolExecution" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "toolId" text NOT NULL,
  "agentRunId" text,
  "status" text NOT NULL DEFAULT 'queued',
  "input" jsonb,
  "output" jsonb,
  "error" text,
  "startedAt" timestamp(3),
  "completedAt" timestamp(3),
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "ToolExecution_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "ToolExecution_toolId_fkey" FOREIGN KEY ("toolId")
    REFERENCES "Tool" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "ToolExecution_agentRunId_fkey" FOREIGN KEY ("agentRunId")
    REFERENCES "AgentRun" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "ToolExecution_toolId_createdAt_idx" ON "ToolExecution" ("toolId", "createdAt");
CREATE INDEX "ToolExecution_agentRunId_idx" ON "ToolExecution" ("agentRunId");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "ToolExecution" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Append-only measurements of a run (tokens, latency, cost...): no "updatedAt".
CREATE TABLE "AgentRunMetric" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "agentRunId" text NOT NULL,
  "name" text NOT NULL,
  "value" double precision NOT NULL,
  "unit" text,
  "metadata" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "AgentRunMetric_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "AgentRunMetric_agentRunId_fkey" FOREIGN KEY ("agentRunId")
    REFERENCES "AgentRun" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "AgentRunMetric_agentRunId_name_idx" ON "AgentRunMetric" ("agentRunId", "name");

-- Down Migration
DROP TABLE "AgentRunMetric";
DROP TABLE "ToolExecution";
DROP TABLE "AgentRun";
DROP TABLE "Tool";
DROP TABLE "AgentCapability";
DROP TABLE "AgentConfig";
DROP TABLE "Agent";
