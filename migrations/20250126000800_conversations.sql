-- Conversations of an organization and their messages (the draft's conversation-based Message layout).
-- Messages reach the organization through their conversation.
--
-- Fixes to the draft's Message: it had an embedding but no way to say which model made it, so
-- "embeddingSpaceId" is added (nullable, like "embedding": most messages are never embedded). Deleting a
-- space keeps the message history and drops only the vectors made in it (ON DELETE SET NULL; the
-- check_embedding_dimension trigger clears "embedding" with it). idx_conversation_org_created comes with the
-- Section 5 indexes.

-- Up Migration
CREATE TABLE "Conversation" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "createdById" text,
  "agentId" text,
  "kind" "ConversationKind" NOT NULL DEFAULT 'ad_hoc',
  "title" text,
  "metadata" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "Conversation_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Conversation_organizationId_fkey" FOREIGN KEY ("organizationId")
    REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "Conversation_createdById_fkey" FOREIGN KEY ("createdById")
    REFERENCES "User" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "Conversation_agentId_fkey" FOREIGN KEY ("agentId")
    REFERENCES "Agent" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE INDEX "Conversation_createdById_idx" ON "Conversation" ("createdById");
CREATE INDEX "Conversation_agentId_idx" ON "Conversation" ("agentId");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "Conversation" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "Message" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "conversationId" text NOT NULL,
  "authorId" text,
  "role" "MessageRole" NOT NULL,
  "contentJson" jsonb NOT NULL,
  "embeddingSpaceId" text,
  "embedding" vector,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "Message_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Message_embedding_space_check" CHECK ("embedding" IS NULL OR "embeddingSpaceId" IS NOT NULL),
  CONSTRAINT "Message_conversationId_fkey" FOREIGN KEY ("conversationId")
    REFERENCES "Conversation" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "Message_authorId_fkey" FOREIGN KEY ("authorId")
    REFERENCES "User" ("id") ON DELETE SET NULL ON UPDATE CASCADE,
  CONSTRAINT "Message_embeddingSpaceId_fkey" FOREIGN KEY ("embeddingSpaceId")
    REFERENCES "EmbeddingSpace" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE INDEX "Message_conversationId_createdAt_idx" ON "Message" ("conversationId", "createdAt");
CREATE INDEX "Message_role_createdAt_idx" ON "Message" ("role", "createdAt");
CREATE INDEX "Message_authorId_idx" ON "Message" ("authorId");
CREATE INDEX "Message_embeddingSpaceId_idx" ON "Message" ("embeddingSpaceId");
CREATE TRIGGER check_embedding_dimension BEFORE INSERT OR UPDATE OF "embedding", "embeddingSpaceId" ON "Message"
  FOR EACH ROW EXECUTE FUNCTION check_embedding_dimension();

-- Down Migration
DROP TABLE "Message";
DROP TABLE "Conversation";
