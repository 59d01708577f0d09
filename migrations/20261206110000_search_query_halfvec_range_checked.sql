-- The search refuses, above 2,000 dimensions, a query embedding with a component that halfvec cannot hold,
-- naming the component, whichever path the tenant's search takes.
--
-- Why. Above 2,000 dimensions a tenant searched through a vector index (the dimension's or its own) compares
-- the query as halfvec(n), whose largest finite value is 65504. search_query_spaces() checked the query's
-- dimension and norm only, so a query with a component such as 70000 failed there with pgvector's bare
-- `"70000" is out of range for type halfvec`, naming neither the function nor the argument, while a tenant
-- below the exact threshold, searched exactly, got rows for the same query: whether the call failed
-- depended on the tenant's size. The dimension trigger refuses such embeddings in those spaces (migration
-- 20261205060000), so no stored row holds one either; the query is refused in the same terms, its
-- component counted from 0 as the trigger and search_query_vector() count theirs. search_query_spaces() is
-- the one check both search functions (and both overloads) run before anything else, so search_chunks() and
-- search_messages() get it alike.
--
-- The function is restated as migration 20261203180000 left it otherwise (its caller's search_path, every
-- table and pgvector function named by schema); the down migration restores it.

-- Up Migration
CREATE OR REPLACE FUNCTION search_query_spaces(fn text, query vector, embedding_space_id text) RETURNS text[]
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  dims integer;
  space_dims integer;
  spaces text[];
  known text;
  norm double precision;
  bad_index integer;
  bad_value real;
BEGIN
  IF query IS NULL THEN
    RAISE EXCEPTION '%: query is NULL', fn
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Pass the query embedding as a vector with the dimension of its embedding space.';
  END IF;
  norm := public.vector_norm(query);
  IF norm = 0 THEN
    RAISE EXCEPTION '%: query is the zero vector, whose cosine distance to anything is undefined', fn
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the embedding of the query text; it has at least one nonzero component.';
  END IF;
  dims := public.vector_dims(query);
  -- Above 2,000 dimensions the index path compares the query as halfvec (core/vector-indexes/spec.ts), which
  -- holds no component beyond ±65504. The norm is at most 65504 whenever every component is, so the
  -- components are looked at only when it says one may be, as the dimension trigger does.
  IF dims > 2000 AND norm > 65504 THEN
    SELECT u.i - 1, u.v INTO bad_index, bad_value
      FROM unnest(query::real[]) WITH ORDINALITY AS u(v, i)
     WHERE abs(u.v) > 65504
     ORDER BY u.i
     LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION '%: query component % is %, beyond ±65504, the largest a halfvec holds', fn, bad_index, bad_value
        USING ERRCODE = 'numeric_value_out_of_range',
              DETAIL = format('The query has %s dimensions; above 2,000 the vector index compares halfvec, and no embedding of those dimensions holds such a value.', dims),
              HINT = 'Pass the embedding the model returned (embedding models return values near 1 or below), or normalize it to unit length: its cosine distances stay the same.';
    END IF;
  END IF;
  IF embedding_space_id IS NOT NULL THEN
    SELECT s."dimension" INTO space_dims FROM public."EmbeddingSpace" s WHERE s."id" = embedding_space_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION '%: embedding_space_id % names no embedding space', fn, quote_literal(embedding_space_id)
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Pass the "id" of an "EmbeddingSpace" row, or NULL to search every space of the query''s dimension.';
    END IF;
    IF space_dims <> dims THEN
      RAISE EXCEPTION '%: query has % dimensions, expected % (the dimension of embedding space %)',
                      fn, dims, space_dims, quote_literal(embedding_space_id)
        USING ERRCODE = 'data_exception',
              HINT = 'Embed the query with that space''s model, or pass the embedding space of the query''s model.';
    END IF;
    RETURN ARRAY[embedding_space_id];
  END IF;
  SELECT array_agg(s."id" ORDER BY s."id") INTO spaces FROM public."EmbeddingSpace" s WHERE s."dimension" = dims;
  IF spaces IS NULL THEN
    SELECT string_agg(DISTINCT s."dimension"::text, ', ') INTO known FROM public."EmbeddingSpace" s;
    RAISE EXCEPTION '%: query has % dimensions, expected the dimension of an embedding space (%)',
                    fn, dims, coalesce(known, 'there are none')
      USING ERRCODE = 'data_exception',
            HINT = 'Embed the query with the model of one of the embedding spaces.';
  END IF;
  RETURN spaces;
END
$$;

-- Down Migration
CREATE OR REPLACE FUNCTION search_query_spaces(fn text, query vector, embedding_space_id text) RETURNS text[]
LANGUAGE plpgsql STABLE
AS $$
DECLARE
  dims integer;
  space_dims integer;
  spaces text[];
  known text;
BEGIN
  IF query IS NULL THEN
    RAISE EXCEPTION '%: query is NULL', fn
      USING ERRCODE = 'null_value_not_allowed',
            HINT = 'Pass the query embedding as a vector with the dimension of its embedding space.';
  END IF;
  IF public.vector_norm(query) = 0 THEN
    RAISE EXCEPTION '%: query is the zero vector, whose cosine distance to anything is undefined', fn
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the embedding of the query text; it has at least one nonzero component.';
  END IF;
  dims := public.vector_dims(query);
  IF embedding_space_id IS NOT NULL THEN
    SELECT s."dimension" INTO space_dims FROM public."EmbeddingSpace" s WHERE s."id" = embedding_space_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION '%: embedding_space_id % names no embedding space', fn, quote_literal(embedding_space_id)
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Pass the "id" of an "EmbeddingSpace" row, or NULL to search every space of the query''s dimension.';
    END IF;
    IF space_dims <> dims THEN
      RAISE EXCEPTION '%: query has % dimensions, expected % (the dimension of embedding space %)',
                      fn, dims, space_dims, quote_literal(embedding_space_id)
        USING ERRCODE = 'data_exception',
              HINT = 'Embed the query with that space''s model, or pass the embedding space of the query''s model.';
    END IF;
    RETURN ARRAY[embedding_space_id];
  END IF;
  SELECT array_agg(s."id" ORDER BY s."id") INTO spaces FROM public."EmbeddingSpace" s WHERE s."dimension" = dims;
  IF spaces IS NULL THEN
    SELECT string_agg(DISTINCT s."dimension"::text, ', ') INTO known FROM public."EmbeddingSpace" s;
    RAISE EXCEPTION '%: query has % dimensions, expected the dimension of an embedding space (%)',
                    fn, dims, coalesce(known, 'there are none')
      USING ERRCODE = 'data_exception',
            HINT = 'Embed the query with the model of one of the embedding spaces.';
  END IF;
  RETURN spaces;
END
$$;
