-- The tenant on the embedded tables: "Chunk" and "Message" carry "organizationId" themselves.
--
-- Why. Almost every vector search is scoped to one organization. Until now a chunk reached its organization
-- through "Dataset" and a message through "Conversation", so the tenant filter of the row-level-security
-- policy was a subquery evaluated row by row after the vector index had chosen its candidates: no b-tree could
-- narrow a search to a tenant, and a small tenant's search through the index came back with fewer rows than
-- asked. With the column, the policies compare it directly and b-trees lead with it, so a search can read just
-- the tenant's rows (see search_chunks(), next migration, and docs/search.md).
--
-- Kept consistent by the database, never by the app:
--   * a BEFORE INSERT OR UPDATE trigger sets it from the dataset (conversation), whatever the row brings, so
--     apps and the bulk loader insert as before. The lookup runs with the caller's rights: under row-level
--     security another organization's dataset is invisible, the column stays NULL and the insert fails the
--     policy. Its default (the transaction's organization) only tells schema-driven clients (Prisma) that an
--     insert may leave it out;
--   * a composite foreign key ("datasetId", "organizationId") -> "Dataset" ("id", "organizationId") makes a
--     disagreeing value impossible, ON UPDATE CASCADE carrying a dataset's move to another organization down
--     to its chunks (the same for messages and conversations).
-- Existing rows are backfilled before NOT NULL is set.
--
-- Locks: the backfill and the foreign keys' validation hold ACCESS EXCLUSIVE / SHARE ROW EXCLUSIVE locks on
-- the two tables for their duration (about a second per 100,000 rows; vectors live in TOAST and are not
-- rewritten). Release it at a quiet time on large tables.

-- Up Migration
ALTER TABLE "Chunk" ADD COLUMN "organizationId" text;
ALTER TABLE "Message" ADD COLUMN "organizationId" text;

UPDATE "Chunk" c SET "organizationId" = s."organizationId" FROM "Dataset" s WHERE s."id" = c."datasetId";
UPDATE "Message" m SET "organizationId" = v."organizationId" FROM "Conversation" v WHERE v."id" = m."conversationId";

-- neonhub-db:allow adding-not-nullable-field because the tenant column arrives with the first release of the tenant search, before any production database holds this schema's data at scale; on a large table split it as docs/runbook.md says
ALTER TABLE "Chunk" ALTER COLUMN "organizationId" SET NOT NULL;
-- neonhub-db:allow adding-not-nullable-field because the tenant column arrives with the first release of the tenant search, before any production database holds this schema's data at scale; on a large table split it as docs/runbook.md says
ALTER TABLE "Message" ALTER COLUMN "organizationId" SET NOT NULL;
-- A default, so that clients that build inserts from the schema (Prisma) treat the column as optional; the
-- trigger below replaces whatever the row brings with the parent's organization.
ALTER TABLE "Chunk" ALTER COLUMN "organizationId" SET DEFAULT current_organization_id();
ALTER TABLE "Message" ALTER COLUMN "organizationId" SET DEFAULT current_organization_id();

-- Targets of the composite foreign keys.
-- neonhub-db:allow require-concurrent-index-creation because the tenant column arrives with the first release of the tenant search, before any production database holds this schema's data at scale; on a large table split it as docs/runbook.md says
CREATE UNIQUE INDEX "Dataset_id_organizationId_key" ON "Dataset" ("id", "organizationId");
-- neonhub-db:allow require-concurrent-index-creation because the tenant column arrives with the first release of the tenant search, before any production database holds this schema's data at scale; on a large table split it as docs/runbook.md says
CREATE UNIQUE INDEX "Conversation_id_organizationId_key" ON "Conversation" ("id", "organizationId");

-- neonhub-db:allow adding-foreign-key-constraint because the tenant column arrives with the first release of the tenant search, before any production database holds this schema's data at scale; on a large table split it as docs/runbook.md says
-- neonhub-db:allow constraint-missing-not-valid because the tenant column arrives with the first release of the tenant search, before any production database holds this schema's data at scale; on a large table split it as docs/runbook.md says
ALTER TABLE "Chunk" ADD CONSTRAINT "Chunk_datasetId_organizationId_fkey"
  FOREIGN KEY ("datasetId", "organizationId") REFERENCES "Dataset" ("id", "organizationId")
  ON DELETE CASCADE ON UPDATE CASCADE;
-- neonhub-db:allow adding-foreign-key-constraint because the tenant column arrives with the first release of the tenant search, before any production database holds this schema's data at scale; on a large table split it as docs/runbook.md says
-- neonhub-db:allow constraint-missing-not-valid because the tenant column arrives with the first release of the tenant search, before any production database holds this schema's data at scale; on a large table split it as docs/runbook.md says
ALTER TABLE "Message" ADD CONSTRAINT "Message_conversationId_organizationId_fkey"
  FOREIGN KEY ("conversationId", "organizationId") REFERENCES "Conversation" ("id", "organizationId")
  ON DELETE CASCADE ON UPDATE CASCADE;

-- The tenant filter's indexes: a tenant's rows of one embedding space (what a search reads), and a tenant's
-- rows of one dataset / conversation (a search narrowed to it, and the composite foreign keys' lookups).
-- neonhub-db:allow require-concurrent-index-creation because the tenant column arrives with the first release of the tenant search, before any production database holds this schema's data at scale; on a large table split it as docs/runbook.md says
CREATE INDEX "Chunk_organizationId_embeddingSpaceId_idx" ON "Chunk" ("organizationId", "embeddingSpaceId");
-- neonhub-db:allow require-concurrent-index-creation because the tenant column arrives with the first release of the tenant search, before any production database holds this schema's data at scale; on a large table split it as docs/runbook.md says
CREATE INDEX "Chunk_organizationId_datasetId_idx" ON "Chunk" ("organizationId", "datasetId");
-- neonhub-db:allow require-concurrent-index-creation because the tenant column arrives with the first release of the tenant search, before any production database holds this schema's data at scale; on a large table split it as docs/runbook.md says
CREATE INDEX "Message_organizationId_embeddingSpaceId_idx" ON "Message" ("organizationId", "embeddingSpaceId");
-- neonhub-db:allow require-concurrent-index-creation because the tenant column arrives with the first release of the tenant search, before any production database holds this schema's data at scale; on a large table split it as docs/runbook.md says
CREATE INDEX "Message_organizationId_conversationId_idx" ON "Message" ("organizationId", "conversationId");

CREATE FUNCTION chunk_organization_id() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  -- Always the parent's, whatever the row says (the column default included): the tenant is derived, never
  -- chosen. A parent the caller cannot see gives NULL, which row-level security then refuses.
  NEW."organizationId" := (SELECT s."organizationId" FROM "Dataset" s WHERE s."id" = NEW."datasetId");
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION chunk_organization_id() IS
  'Sets "Chunk"."organizationId" from its dataset on insert and on any change of dataset or tenant.';
CREATE TRIGGER fill_organization_id BEFORE INSERT OR UPDATE OF "datasetId", "organizationId" ON "Chunk"
  FOR EACH ROW EXECUTE FUNCTION chunk_organization_id();

CREATE FUNCTION message_organization_id() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  -- Always the parent's, whatever the row says (the column default included): the tenant is derived, never
  -- chosen. A parent the caller cannot see gives NULL, which row-level security then refuses.
  NEW."organizationId" := (SELECT v."organizationId" FROM "Conversation" v WHERE v."id" = NEW."conversationId");
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION message_organization_id() IS
  'Sets "Message"."organizationId" from its conversation on insert and on any change of conversation or tenant.';
CREATE TRIGGER fill_organization_id BEFORE INSERT OR UPDATE OF "conversationId", "organizationId" ON "Message"
  FOR EACH ROW EXECUTE FUNCTION message_organization_id();

-- The policies compare the column directly (the composite foreign key keeps it equal to the parent's).
DROP POLICY tenant_isolation ON "Chunk";
CREATE POLICY tenant_isolation ON "Chunk"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id());

DROP POLICY tenant_isolation ON "Message";
CREATE POLICY tenant_isolation ON "Message"
  USING ("organizationId" = current_organization_id())
  WITH CHECK ("organizationId" = current_organization_id());

-- Down Migration
DROP POLICY tenant_isolation ON "Message";
CREATE POLICY tenant_isolation ON "Message"
  USING (EXISTS (SELECT 1 FROM "Conversation" c
                  WHERE c."id" = "Message"."conversationId" AND c."organizationId" = current_organization_id()))
  WITH CHECK (EXISTS (SELECT 1 FROM "Conversation" c
                       WHERE c."id" = "Message"."conversationId" AND c."organizationId" = current_organization_id()));

DROP POLICY tenant_isolation ON "Chunk";
CREATE POLICY tenant_isolation ON "Chunk"
  USING (EXISTS (SELECT 1 FROM "Dataset" s
                  WHERE s."id" = "Chunk"."datasetId" AND s."organizationId" = current_organization_id()))
  WITH CHECK (EXISTS (SELECT 1 FROM "Dataset" s
                       WHERE s."id" = "Chunk"."datasetId" AND s."organizationId" = current_organization_id()));

DROP TRIGGER fill_organization_id ON "Message";
DROP FUNCTION message_organization_id();
DROP TRIGGER fill_organization_id ON "Chunk";
DROP FUNCTION chunk_organization_id();

ALTER TABLE "Message" DROP COLUMN "organizationId";
ALTER TABLE "Chunk" DROP COLUMN "organizationId";
DROP INDEX "Conversation_id_organizationId_key";
DROP INDEX "Dataset_id_organizationId_key";
