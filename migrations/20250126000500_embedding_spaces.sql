-- Embedding spaces, and the rule that keeps every stored embedding the dimension of its space.
--
-- Dimension design. The draft gives EmbeddingSpace text-embedding-3-large with 3072 dimensions but types the
-- columns vector(1536), and pgvector indexes a `vector` of at most 2,000 dimensions. So:
--   * Embedding columns are `vector` without a dimension: one column holds embeddings of any space, up to
--     pgvector's storage limit, so adding a model never needs an ALTER of a large table.
--   * A space declares its "dimension", from 1 to 4,000 (the most an index can cover: halfvec, 2-byte floats,
--     indexes up to 4,000 dimensions with IVFFlat or HNSW).
--   * Every table with an embedding names its space ("embeddingSpaceId"), and the trigger function below
--     refuses a row whose vector_dims(embedding) differs from that space's dimension. A space's dimension can
--     never change afterwards (a new dimension is a new space), so rows once checked stay right.
--   * Indexes are per dimension, built after the data exists: a partial expression index such as
--       CREATE INDEX ... ON "Chunk" USING ivfflat ((embedding::halfvec(3072)) halfvec_cosine_ops)
--         WHERE vector_dims(embedding) = 3072;
--     (`vector(n)` instead of `halfvec(n)` up to 2,000 dimensions). Queries use the same cast and predicate.
--
-- Spaces are global, not per organization: a space names a model, shared by every tenant that embeds with it
-- (the tenant of an embedding is the tenant of its row).

-- Up Migration
CREATE TABLE "EmbeddingSpace" (
  "id" text NOT NULL DEFAULT gen_random_uuid()::text,
  "provider" text NOT NULL,
  "model" text NOT NULL,
  "dimension" integer NOT NULL,
  "metadata" jsonb,
  "createdAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  "updatedAt" timestamp(3) NOT NULL DEFAULT timezone('UTC', now()),
  CONSTRAINT "EmbeddingSpace_pkey" PRIMARY KEY ("id"),
  CONSTRAINT "EmbeddingSpace_dimension_check" CHECK ("dimension" BETWEEN 1 AND 4000)
);
-- text-embedding-3-large at 3072 and shortened to 1024 dimensions are two spaces.
CREATE UNIQUE INDEX "EmbeddingSpace_provider_model_dimension_key"
  ON "EmbeddingSpace" ("provider", "model", "dimension");
CREATE TRIGGER set_updated_at BEFORE UPDATE ON "EmbeddingSpace" FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE FUNCTION keep_embedding_space_dimension() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."dimension" IS DISTINCT FROM OLD."dimension" THEN
    RAISE EXCEPTION 'the dimension of embedding space "%" cannot change from % to %', OLD."id", OLD."dimension", NEW."dimension"
      USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, COLUMN = 'dimension',
            HINT = 'Create a new embedding space with the new dimension and embed into it.';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER keep_dimension BEFORE UPDATE OF "dimension" ON "EmbeddingSpace"
  FOR EACH ROW EXECUTE FUNCTION keep_embedding_space_dimension();

-- For BEFORE INSERT OR UPDATE OF "embedding", "embeddingSpaceId" triggers on tables with both columns.
-- When a nullable "embeddingSpaceId" is cleared (its space deleted, ON DELETE SET NULL) the embedding goes
-- with it: a vector without its space can be neither compared nor indexed.
CREATE FUNCTION check_embedding_dimension() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  expected integer;
BEGIN
  IF NEW."embeddingSpaceId" IS NULL THEN
    IF TG_OP = 'UPDATE' AND OLD."embeddingSpaceId" IS NOT NULL THEN
      NEW."embedding" := NULL;
    END IF;
    IF NEW."embedding" IS NOT NULL THEN
      RAISE EXCEPTION '% "%" has an embedding but no "embeddingSpaceId"', TG_TABLE_NAME, NEW."id"
        USING ERRCODE = 'not_null_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embeddingSpaceId',
              HINT = 'Name the embedding space the vector was made in.';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW."embedding" IS NULL THEN
    RETURN NEW;
  END IF;
  SELECT s."dimension" INTO expected FROM "EmbeddingSpace" s WHERE s."id" = NEW."embeddingSpaceId";
  -- Fail closed: a space this session cannot see (missing, or hidden by a row-level security policy) is
  -- never taken as a match.
  IF NOT FOUND THEN
    RAISE EXCEPTION '% "%": embedding space "%" does not exist', TG_TABLE_NAME, NEW."id", NEW."embeddingSpaceId"
      USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embeddingSpaceId';
  END IF;
  IF vector_dims(NEW."embedding") <> expected THEN
    RAISE EXCEPTION '% "%": the embedding has % dimensions, but embedding space "%" has %',
                    TG_TABLE_NAME, NEW."id", vector_dims(NEW."embedding"), NEW."embeddingSpaceId", expected
      USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embedding',
            HINT = 'Embed with the model of that space, or store the vector under the space of its model.';
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION check_embedding_dimension() IS
  'Refuses an embedding whose dimension differs from its "EmbeddingSpace"."dimension".';

-- Down Migration
DROP FUNCTION check_embedding_dimension();
DROP TABLE "EmbeddingSpace";
DROP FUNCTION keep_embedding_space_dimension();
