-- Brands, their voice (prompt, style rules and an embedding) and their assets. A brand belongs to one
-- organization; voices and assets reach it through their brand.
--
-- BrandVoice."embedding" is the draft's `Bytes @ignore` placeholder made a real pgvector column. It is
-- nullable, as every embedding column here: Prisma offers no create() for a model with a required
-- Unsupported("vector") field, and a voice exists before its embedding is computed.

-- Up Migration
CREATE TABLE "Brand" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "organizationId" text NOT NULL,
  "name" text NOT NULL,
  "slug" text NOT NULL,
  "description" text,
  "metadata" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "Brand_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "Brand_organizationId_fkey" FOREIGN KEY ("organizationId")
    REFERENCES "Organization" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "Brand_organizationId_slug_key" ON "Brand" ("organizationId", "slug");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "Brand" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE "BrandVoice" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "brandId" text NOT NULL,
  "embeddingSpaceId" text NOT NULL,
  "promptTemplate" text NOT NULL,
  "styleRulesJson" jsonb NOT NULL,
  "embedding" vector,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "BrandVoice_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "BrandVoice_brandId_fkey" FOREIGN KEY ("brandId")
    REFERENCES "Brand" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT "BrandVoice_embeddingSpaceId_fkey" FOREIGN KEY ("embeddingSpaceId")
    REFERENCES "EmbeddingSpace" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "BrandVoice_brandId_idx" ON "BrandVoice" ("brandId");
CREATE INDEX "BrandVoice_embeddingSpaceId_idx" ON "BrandVoice" ("embeddingSpaceId");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "BrandVoice" FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER check_embedding_dimension BEFORE INSERT OR UPDATE OF "embedding", "embeddingSpaceId" ON "BrandVoice"
  FOR EACH ROW EXECUTE FUNCTION check_embedding_dimension();

CREATE TABLE "BrandAsset" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "brandId" text NOT NULL,
  "kind" text NOT NULL,
  "name" text NOT NULL,
  "url" text,
  "metadata" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "BrandAsset_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "BrandAsset_brandId_fkey" FOREIGN KEY ("brandId")
    REFERENCES "Brand" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "BrandAsset_brandId_idx" ON "BrandAsset" ("brandId");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "BrandAsset" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Down Migration
DROP TABLE "BrandAsset";
DROP TABLE "BrandVoice";
DROP TABLE "Brand";
