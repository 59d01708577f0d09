-- The dimension trigger's refusal of an embedding a halfvec index holds as the zero vector states the bound it
-- checks: every component at most 2.98e-8 (2^-25) in magnitude, which halfvec rounds to 0.
--
-- Why. Migration 20261206160000 said "below 6e-8" (halfvec's smallest subnormal, 2^-24): halfvec rounds a value
-- to the nearest one it holds, so a component between 2^-25 and 2^-24 becomes that subnormal, not 0, and the row
-- is stored. The test is the cast itself and stays as it was; only the words change, to the bound load-chunks
-- and health state (HALFVEC_ZERO_BOUND, core/vector-indexes/spec.ts; its test holds this text to it).
--
-- The function is restated whole, as migration 20261206160000 left it apart from this; the down migration
-- restores that.

-- Up Migration
CREATE OR REPLACE FUNCTION check_embedding_dimension() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  expected integer;
  norm double precision;
  bad_index integer;
  bad_value real;
  largest real;
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
  SELECT s."dimension" INTO expected FROM public."EmbeddingSpace" s WHERE s."id" = NEW."embeddingSpaceId";
  -- Fail closed: a space this session cannot see (missing, or hidden by a row-level security policy) is
  -- never taken as a match.
  IF NOT FOUND THEN
    RAISE EXCEPTION '% "%": embedding space "%" does not exist', TG_TABLE_NAME, NEW."id", NEW."embeddingSpaceId"
      USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embeddingSpaceId';
  END IF;
  IF public.vector_dims(NEW."embedding") <> expected THEN
    RAISE EXCEPTION '% "%": the embedding has % dimensions, but embedding space "%" has %',
                    TG_TABLE_NAME, NEW."id", public.vector_dims(NEW."embedding"), NEW."embeddingSpaceId", expected
      USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embedding',
            HINT = 'Embed with the model of that space, or store the vector under the space of its model.';
  END IF;
  norm := public.vector_norm(NEW."embedding");
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
  -- Above 2,000 dimensions, an embedding whose every component rounds to 0 as a halfvec (each at most 2^-25 in
  -- magnitude, half its smallest subnormal) is the zero halfvec in the index, which no search through it finds.
  -- Some component is at least the norm / sqrt(16,000), so only a norm below 1e-5 is cast to look.
  IF expected > 2000 AND norm < 1e-5 AND public.l2_norm(NEW."embedding"::public.halfvec) = 0 THEN
    SELECT max(abs(u.v)) INTO largest FROM unnest(NEW."embedding"::real[]) AS u(v);
    RAISE EXCEPTION '% "%": every embedding value is at most 2.98e-8 in magnitude (the largest is %), which a halfvec holds as 0',
                    TG_TABLE_NAME, NEW."id", largest
      USING ERRCODE = 'numeric_value_out_of_range', TABLE = TG_TABLE_NAME, COLUMN = 'embedding',
            DETAIL = format('Embedding space "%s" has %s dimensions; above 2,000 its vector index stores halfvec, where '
                            'this embedding is the zero vector: no search through the index would find the row.',
                            NEW."embeddingSpaceId", expected),
            HINT = 'Store the embedding the model returned, or normalize it to unit length (l2_normalize): its cosine distances stay the same.';
  END IF;
  RETURN NEW;
END
$$;

COMMENT ON FUNCTION check_embedding_dimension() IS
  'Refuses an embedding whose dimension differs from its "EmbeddingSpace"."dimension", the zero vector, and above 2,000 dimensions a component beyond halfvec''s ±65504 or an embedding halfvec holds as the zero vector.';

-- Down Migration
CREATE OR REPLACE FUNCTION check_embedding_dimension() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  expected integer;
  norm double precision;
  bad_index integer;
  bad_value real;
  largest real;
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
  SELECT s."dimension" INTO expected FROM public."EmbeddingSpace" s WHERE s."id" = NEW."embeddingSpaceId";
  -- Fail closed: a space this session cannot see (missing, or hidden by a row-level security policy) is
  -- never taken as a match.
  IF NOT FOUND THEN
    RAISE EXCEPTION '% "%": embedding space "%" does not exist', TG_TABLE_NAME, NEW."id", NEW."embeddingSpaceId"
      USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embeddingSpaceId';
  END IF;
  IF public.vector_dims(NEW."embedding") <> expected THEN
    RAISE EXCEPTION '% "%": the embedding has % dimensions, but embedding space "%" has %',
                    TG_TABLE_NAME, NEW."id", public.vector_dims(NEW."embedding"), NEW."embeddingSpaceId", expected
      USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embedding',
            HINT = 'Embed with the model of that space, or store the vector under the space of its model.';
  END IF;
  norm := public.vector_norm(NEW."embedding");
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
  -- Above 2,000 dimensions, an embedding whose every component rounds to 0 as a halfvec (each below ~3e-8 in
  -- magnitude, half its smallest subnormal) is the zero halfvec in the index, which no search through it finds.
  -- Some component is at least the norm / sqrt(16,000), so only a norm below 1e-5 is cast to look.
  IF expected > 2000 AND norm < 1e-5 AND public.l2_norm(NEW."embedding"::public.halfvec) = 0 THEN
    SELECT max(abs(u.v)) INTO largest FROM unnest(NEW."embedding"::real[]) AS u(v);
    RAISE EXCEPTION '% "%": every embedding value is below 6e-8 in magnitude (the largest is %), which a halfvec holds as 0',
                    TG_TABLE_NAME, NEW."id", largest
      USING ERRCODE = 'numeric_value_out_of_range', TABLE = TG_TABLE_NAME, COLUMN = 'embedding',
            DETAIL = format('Embedding space "%s" has %s dimensions; above 2,000 its vector index stores halfvec, where '
                            'this embedding is the zero vector: no search through the index would find the row.',
                            NEW."embeddingSpaceId", expected),
            HINT = 'Store the embedding the model returned, or normalize it to unit length (l2_normalize): its cosine distances stay the same.';
  END IF;
  RETURN NEW;
END
$$;

COMMENT ON FUNCTION check_embedding_dimension() IS
  'Refuses an embedding whose dimension differs from its "EmbeddingSpace"."dimension", the zero vector, and above 2,000 dimensions a component beyond halfvec''s ±65504 or an embedding halfvec holds as the zero vector.';

