-- Retrieval data of an organization: datasets, their documents and document versions, and the embedded
-- chunks that RAG searches. Documents and chunks reach the organization through their dataset.
--
-- Fixes to the draft's Chunk:
--   * It is unique per ("documentId", "idx"), not ("datasetId", "idx"): "idx" numbers a chunk within its
--     document, and the draft's key refused the second document of any dataset.
--   * Its "datasetId" must be its document's dataset: the document foreign key is composite
--     ("documentId", "datasetId"), so a chunk cannot file a document's text under another dataset (or
--     another organization's).
--   * "embedding" is nullable: chunks are written before they are embedded, and Prisma offers no create()
--     for a model with a required Unsupported("vector") field.

-- Up Migration
CREATE TABLE "Dataset" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "name" text NOT NULL,
  "slug" text NOT NULL,
  "kind" "DatasetKind" NOT NULL,
  "description" text,
  "metadata" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "Dataset_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Dataset_organizationId_fkey" FOREIGN KEY ("organizationId")
    REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "Dataset_organizationId_slug_key" ON "Dataset" ("organizationId", "slug");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "Dataset" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "Document" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "datasetId" text NOT NULL,
  "createdById" text,
  "title" text NOT NULL,
  "sourceUrl" text,
  "mimeType" text,
  "metadata" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "Document_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Document_datasetId_fkey" FOREIGN KEY ("datasetId")
    REFERENCES "Dataset" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "Document_createdById_fkey" FOREIGN KEY ("createdById")
    REFERENCES "User" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
-- The target of Chunk's composite foreign key; also serves lookups by dataset.
CREATE UNIQUE INDEX "Document_datasetId_id_key" ON "Document" ("datasetId", "id");
CREATE INDEX "Document_createdById_idx" ON "Document" ("createdById");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "Document" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Immutable snapshots of a document's text: no "updatedAt".
CREATE TABLE "DocumentVersion" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "documentId" text NOT NULL,
  "version" integer NOT NULL,
  "content" text NOT NULL,
  "checksum" text,
  "createdById" text,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "DocumentVersion_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "DocumentVersion_version_check" CHECK ("version" >= 1),
  CONSTRAINT "DocumentVersion_documentId_fkey" FOREIGN KEY ("documentId")
    REFERENCES "Document" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "DocumentVersion_createdById_fkey" FOREIGN KEY ("createdById")
    REFERENCES "User" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "DocumentVersion_documentId_version_key" ON "DocumentVersion" ("documentId", "version");
CREATE INDEX "DocumentVersion_createdById_idx" ON "DocumentVersion" ("createdById");

CREATE TABLE "Chunk" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "datasetId" text NOT NULL,
  "embeddingSpaceId" text NOT NULL,
  "documentId" text NOT NULL,
  "idx" integer NOT NULL,
  "text" text NOT NULL,
  "embedding" vector,
  "metadata" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "Chunk_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Chunk_idx_check" CHECK ("idx" >= 0),
  CONSTRAINT "Chunk_datasetId_fkey" FOREIGN KEY ("datasetId")
    REFERENCES "Dataset" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "Chunk_embeddingSpaceId_fkey" FOREIGN KEY ("embeddingSpaceId")
    REFERENCES "EmbeddingSpace" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "Chunk_datasetId_documentId_fkey" FOREIGN KEY ("datasetId", "documentId")
    REFERENCES "Document" ("datasetId", "id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "Chunk_documentId_idx_key" ON "Chunk" ("documentId", "idx");
CREATE INDEX "Chunk_datasetId_documentId_idx" ON "Chunk" ("datasetId", "documentId");
CREATE INDEX "Chunk_embeddingSpaceId_idx" ON "Chunk" ("embeddingSpaceId");
CREATE TRIGGER check_embedding_dimension BEFORE INSERT OR UPDATE OF "embedding", "embeddingSpaceId" ON "Chunk"
  FOR EACH ROW EXECUTE FUNCTION check_embedding_dimension();

-- Down Migration
DROP TABLE "Chunk";
DROP TABLE "DocumentVersion";
DROP TABLE "Document";
DROP TABLE "Dataset";
