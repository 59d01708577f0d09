-- The dimension trigger no longer drops an embedding that the same UPDATE gives while it clears the row's
-- "embeddingSpaceId": it refuses it ("has an embedding but no "embeddingSpaceId""), as it refuses such an
-- INSERT.
--
-- Why. The trigger clears the embedding of a row whose space is cleared, for the space's deletion
-- (ON DELETE SET NULL on "Message"."embeddingSpaceId": the vectors made in that space go with it). It did so
-- for any UPDATE, so `UPDATE "Message" SET "embeddingSpaceId" = NULL, "embedding" = $1` returned UPDATE 1
-- and lost the vector it was given, without a word. Only "Message" has a nullable space column. The
-- deletion's cascade leaves the embedding as it was, which is what the trigger now checks (a vector
-- comparison, on this path only).
-- The function is restated whole, as migration 20261205060100 left it apart from this; the down migration
-- restores that.

-- Up Migration
CREATE OR REPLACE FUNCTION check_embedding_dimension() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  expected integer;
  norm double precision;
  bad_index integer;
  bad_value real;
BEGIN
  IF NEW."embeddingSpaceId" IS NULL THEN
    -- The space was cleared and the embedding left as it was: the space's deletion (ON DELETE SET NULL),
    -- whose vectors go with it. A statement that gives an embedding of its own is refused below instead.
    IF TG_OP = 'UPDATE' AND OLD."embeddingSpaceId" IS NOT NULL
       AND NEW."embedding" IS NOT DISTINCT FROM OLD."embedding" THEN
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
  norm := vector_norm(NEW."embedding");
  IF norm = 0 THEN
    RAISE EXCEPTION '% "%": the embedding is the zero vector, whose cosine distance to anything is undefined',
                    TG_TABLE_NAME, NEW."id"
      USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embedding',
            HINT = 'Store the embedding the model returned (it has a nonzero component), or NULL until there is one.';
  END IF;
  -- Above 2,000 dimensions the index is over halfvec (core/vector-indexes/spec.ts, VECTOR_MAX_INDEX_DIM).
  IF expected > 2000 AND norm > 65504 THEN
    SELECT u.i - 1, u.v INTO bad_index, bad_value
      FROM unnest(NEW."embedding"::real[]) WITH ORDINALITY AS u(v, i)
     WHERE abs(u.v) > 65504
     ORDER BY u.i
     LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION '% "%": embedding value % is %, beyond ±65504, the largest a halfvec holds',
                      TG_TABLE_NAME, NEW."id", bad_index, bad_value
        USING ERRCODE = 'numeric_value_out_of_range', TABLE = TG_TABLE_NAME, COLUMN = 'embedding',
              DETAIL = format('Embedding space "%s" has %s dimensions; above 2,000 its vector index stores halfvec.',
                              NEW."embeddingSpaceId", expected),
              HINT = 'Store the embedding the model returned (embedding models return values near 1 or below), or normalize it to unit length.';
    END IF;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION check_embedding_dimension() IS
  'Refuses an embedding whose dimension differs from its "EmbeddingSpace"."dimension", the zero vector, and above 2,000 dimensions a component beyond halfvec''s ±65504.';

-- Down Migration
CREATE OR REPLACE FUNCTION check_embedding_dimension() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  expected integer;
  norm double precision;
  bad_index integer;
  bad_value real;
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
  norm := vector_norm(NEW."embedding");
  IF norm = 0 THEN
    RAISE EXCEPTION '% "%": the embedding is the zero vector, whose cosine distance to anything is undefined',
                    TG_TABLE_NAME, NEW."id"
      USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embedding',
            HINT = 'Store the embedding the model returned (it has a nonzero component), or NULL until there is one.';
  END IF;
  -- Above 2,000 dimensions the index is over halfvec (core/vector-indexes/spec.ts, VECTOR_MAX_INDEX_DIM).
  IF expected > 2000 AND norm > 65504 THEN
    SELECT u.i - 1, u.v INTO bad_index, bad_value
      FROM unnest(NEW."embedding"::real[]) WITH ORDINALITY AS u(v, i)
     WHERE abs(u.v) > 65504
     ORDER BY u.i
     LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION '% "%": embedding value % is %, beyond ±65504, the largest a halfvec holds',
                      TG_TABLE_NAME, NEW."id", bad_index, bad_value
        USING ERRCODE = 'numeric_value_out_of_range', TABLE = TG_TABLE_NAME, COLUMN = 'embedding',
              DETAIL = format('Embedding space "%s" has %s dimensions; above 2,000 its vector index stores halfvec.',
                              NEW."embeddingSpaceId", expected),
              HINT = 'Store the embedding the model returned (embedding models return values near 1 or below), or normalize it to unit length.';
    END IF;
  END IF;
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION check_embedding_dimension() IS
  'Refuses an embedding whose dimension differs from its "EmbeddingSpace"."dimension", the zero vector, and above 2,000 dimensions a component beyond halfvec''s ±65504.';

