-- The search entry points apps call instead of writing a vector query: search_chunks() and search_messages().
--
--   SELECT * FROM search_chunks($1::vector, 10);                          -- the organization's chunks
--   SELECT * FROM search_chunks($1::vector, 10, dataset_id => $2);        -- one dataset
--   SELECT * FROM search_messages($1::vector, 10, conversation_id => $2); -- one conversation
--
-- Contract (docs/search.md; tested in test/search/):
--   * SECURITY INVOKER: row-level security applies, and the search is always scoped to the transaction's
--     organization (current_organization_id()): another organization's rows never appear, and with no
--     organization set the result is empty, even for the owner;
--   * whenever the caller can see at least k matching rows, exactly k come back, nearest first by cosine
--     distance computed at full precision;
--   * the rows searched are those of the query's dimension (of embedding_space_id when given);
--   * bad input (NULL query, zero vector, a dimension no space has or not the given space's, an unknown
--     space, k outside 1..1000) raises an error naming the argument and what was expected. pgvector itself
--     refuses NaN and infinite components when the query is cast to vector.
--
-- Strategy, from the measurements in docs/search.md: a tenant's search reads its own rows through the b-tree
-- ("organizationId", "embeddingSpaceId") when it can see at most search_tuning()'s exact_rows of them (exact
-- search: recall 1, and faster than any index there); above, it asks the dimension's vector index with
-- pgvector 0.8's iterative scan (so the tenant filter cannot starve the result), takes a few candidates more
-- than k and re-ranks them at full precision; if the index still returns fewer than k, it falls back to exact
-- search. The index's search settings are the function's own (SET clauses), which the release rewrites after
-- every calibration (core/search/): no app sets a GUC, and the function's settings end with the call.
--
-- The functions' static queries are planned for each call's own values (plan_cache_mode =
-- force_custom_plan): a generic plan cannot know how many rows a tenant has, and chose a sequential scan of the
-- table for the count of a small tenant's rows (15 ms instead of 0.2).
--
-- Settings the release writes after each calibration (core/search/):
--   * search_tuning_entries(): per table and dimension, the visible rows up to which a search is exact, and
--     the ivfflat.probes / hnsw.ef_search of the dimension's index under the tenant filter; rewritten
--     (CREATE OR REPLACE) with the measured values. Custom settings (neonhub.*) cannot serve: only a superuser may attach those to a
--     function;
--   * the functions' own ivfflat.probes / hnsw.ef_search (ALTER FUNCTION ... SET), for a dimension that
--     search_tuning_entries() does not list.

-- Up Migration
-- Load pgvector's library into this session first, so that its settings (ivfflat.probes...) are known when the
-- functions below attach them; unknown, they would be custom settings, which only a superuser may attach.
SELECT vector_dims('[1]'::vector);

CREATE FUNCTION search_query_spaces(fn text, query vector, embedding_space_id text) RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = public, pg_temp
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
  IF vector_norm(query) = 0 THEN
    RAISE EXCEPTION '%: query is the zero vector, whose cosine distance to anything is undefined', fn
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the embedding of the query text; it has at least one nonzero component.';
  END IF;
  dims := vector_dims(query);
  IF embedding_space_id IS NOT NULL THEN
    SELECT s."dimension" INTO space_dims FROM "EmbeddingSpace" s WHERE s."id" = embedding_space_id;
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
  SELECT array_agg(s."id" ORDER BY s."id") INTO spaces FROM "EmbeddingSpace" s WHERE s."dimension" = dims;
  IF spaces IS NULL THEN
    SELECT string_agg(DISTINCT s."dimension"::text, ', ') INTO known FROM "EmbeddingSpace" s;
    RAISE EXCEPTION '%: query has % dimensions, expected the dimension of an embedding space (%)',
                    fn, dims, coalesce(known, 'there are none')
      USING ERRCODE = 'data_exception',
            HINT = 'Embed the query with the model of one of the embedding spaces.';
  END IF;
  RETURN spaces;
END
$$;
COMMENT ON FUNCTION search_query_spaces(text, vector, text) IS
  'Validates a search''s query vector (and space) and returns the embedding spaces to search.';

CREATE FUNCTION search_check_k(fn text, k integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF k IS NULL OR k < 1 OR k > 1000 THEN
    RAISE EXCEPTION '%: k is %, expected 1 to 1000', fn, coalesce(k::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Ask for at most 1,000 nearest rows; page with a narrower filter for more.';
  END IF;
END
$$;
COMMENT ON FUNCTION search_check_k(text, integer) IS 'Refuses a search''s k outside 1..1000.';

-- What the release measured, per table and dimension: search_tuning_entries() lists it (none until the first
-- calibration; the release rewrites it with CREATE OR REPLACE), search_tuning() answers one table and
-- dimension with the defaults for what it does not list (exact search up to 10,000 visible rows; the search
-- functions' own index settings).
CREATE FUNCTION search_tuning_entries()
RETURNS TABLE (table_name text, dims integer, exact_rows integer, probes integer, ef_search integer)
LANGUAGE sql STABLE
AS $$ SELECT NULL::text, NULL::integer, NULL::integer, NULL::integer, NULL::integer WHERE false $$;
COMMENT ON FUNCTION search_tuning_entries() IS
  'Search settings the release measured, per table and dimension; rewritten by each calibration.';

CREATE FUNCTION search_tuning(table_name text, dims integer,
                              OUT exact_rows integer, OUT probes integer, OUT ef_search integer)
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(e.exact_rows, 10000), e.probes, e.ef_search
    FROM (SELECT 1) one
    LEFT JOIN search_tuning_entries() e ON e.table_name = search_tuning.table_name AND e.dims = search_tuning.dims
$$;
COMMENT ON FUNCTION search_tuning(text, integer) IS
  'The search settings of a table''s embeddings of one dimension: search_tuning_entries(), or the defaults.';

-- The index's search settings for the query's dimension, and the planner kept on the vector index. Called
-- inside search_chunks/search_messages, whose SET clauses restore all of these when they return.
CREATE FUNCTION search_index_settings(table_name text, dims integer) RETURNS void
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
  tuning record;
BEGIN
  tuning := search_tuning(table_name, dims);
  IF tuning.probes IS NOT NULL THEN PERFORM set_config('ivfflat.probes', tuning.probes::text, true); END IF;
  IF tuning.ef_search IS NOT NULL THEN PERFORM set_config('hnsw.ef_search', tuning.ef_search::text, true); END IF;
  PERFORM set_config('enable_seqscan', 'off', true);
  PERFORM set_config('enable_bitmapscan', 'off', true);
END
$$;
COMMENT ON FUNCTION search_index_settings(text, integer) IS
  'Applies the calibrated search setting of a dimension''s vector index; for search_chunks/search_messages.';

CREATE FUNCTION search_chunks(
  query vector,
  k integer DEFAULT 10,
  dataset_id text DEFAULT NULL,
  embedding_space_id text DEFAULT NULL,
  document_id text DEFAULT NULL
)
-- Each returned column is cast to the type declared here, so that a later migration that widens a column
-- (idx to bigint, say) does not break the entry point's result type.
RETURNS TABLE (
  "id" text, "datasetId" text, "documentId" text, "idx" integer, "text" text, "metadata" jsonb,
  "distance" double precision
)
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = public, pg_temp
SET plan_cache_mode = force_custom_plan
SET ivfflat.probes = '10'
SET hnsw.ef_search = '40'
SET enable_seqscan = on
SET enable_bitmapscan = on
AS $$
DECLARE
  org text := current_organization_id();
  spaces text[];
  dims integer;
  exact_rows integer;
  visible integer;
  ids text[];
  dists double precision[];
  typ text;
BEGIN
  PERFORM search_check_k('search_chunks', k);
  spaces := search_query_spaces('search_chunks', query, embedding_space_id);
  IF org IS NULL THEN RETURN; END IF;
  dims := vector_dims(query);
  exact_rows := coalesce((search_tuning('Chunk', dims)).exact_rows, 10000);

  SELECT count(*) INTO visible FROM (
    SELECT 1 FROM "Chunk" c
     WHERE c."organizationId" = org AND c."embeddingSpaceId" = ANY (spaces) AND c."embedding" IS NOT NULL
       AND (dataset_id IS NULL OR c."datasetId" = dataset_id)
       AND (document_id IS NULL OR c."documentId" = document_id)
     LIMIT exact_rows + 1) v;

  IF visible > exact_rows THEN
    PERFORM search_index_settings('Chunk', dims);
    typ := CASE WHEN dims <= 2000 THEN 'vector' ELSE 'halfvec' END || '(' || dims || ')';
    -- The dimension is a literal: a parameter would not match the partial index's predicate.
    EXECUTE format(
      'SELECT array_agg(r.id ORDER BY r.d), array_agg(r.d ORDER BY r.d) FROM ('
      '  SELECT a.id, (a.embedding <=> $1)::float8 AS d FROM ('
      '    SELECT c."id", c."embedding" FROM "Chunk" c'
      '     WHERE vector_dims(c."embedding") = %s AND c."organizationId" = $2 AND c."embeddingSpaceId" = ANY ($3)'
      '       AND ($4::text IS NULL OR c."datasetId" = $4) AND ($5::text IS NULL OR c."documentId" = $5)'
      '     ORDER BY (c."embedding"::%s) <=> $1::%s LIMIT $6) a'
      '  ORDER BY 2 LIMIT $7) r',
      dims, typ, typ)
      INTO ids, dists
      USING query, org, spaces, dataset_id, document_id, greatest(2 * k, 40), k;
    IF coalesce(cardinality(ids), 0) = k THEN
      RETURN QUERY
        SELECT c."id"::text, c."datasetId"::text, c."documentId"::text, c."idx"::integer, c."text"::text, c."metadata"::jsonb, r.d
          FROM unnest(ids, dists) WITH ORDINALITY AS r(id, d, n) JOIN "Chunk" c ON c."id" = r.id
         ORDER BY r.n;
      RETURN;
    END IF;
    PERFORM set_config('enable_bitmapscan', 'on', true);
  END IF;

  RETURN QUERY
    SELECT c."id"::text, c."datasetId"::text, c."documentId"::text, c."idx"::integer, c."text"::text, c."metadata"::jsonb,
           (c."embedding" <=> query)::float8
      FROM "Chunk" c
     WHERE c."organizationId" = org AND c."embeddingSpaceId" = ANY (spaces) AND c."embedding" IS NOT NULL
       AND (dataset_id IS NULL OR c."datasetId" = dataset_id)
       AND (document_id IS NULL OR c."documentId" = document_id)
     ORDER BY c."embedding" <=> query
     LIMIT k;
END
$$;
COMMENT ON FUNCTION search_chunks(vector, integer, text, text, text) IS
  'The k chunks of the current organization nearest to query (cosine), optionally in one dataset, embedding space or document. See docs/search.md.';

CREATE FUNCTION search_messages(
  query vector,
  k integer DEFAULT 10,
  conversation_id text DEFAULT NULL,
  embedding_space_id text DEFAULT NULL
)
RETURNS TABLE (
  "id" text, "conversationId" text, "role" "MessageRole", "contentJson" jsonb,
  "createdAt" timestamp(3) without time zone, "distance" double precision
)
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = public, pg_temp
SET plan_cache_mode = force_custom_plan
SET ivfflat.probes = '10'
SET hnsw.ef_search = '40'
SET enable_seqscan = on
SET enable_bitmapscan = on
AS $$
DECLARE
  org text := current_organization_id();
  spaces text[];
  dims integer;
  exact_rows integer;
  visible integer;
  ids text[];
  dists double precision[];
  typ text;
BEGIN
  PERFORM search_check_k('search_messages', k);
  spaces := search_query_spaces('search_messages', query, embedding_space_id);
  IF org IS NULL THEN RETURN; END IF;
  dims := vector_dims(query);
  exact_rows := coalesce((search_tuning('Message', dims)).exact_rows, 10000);

  SELECT count(*) INTO visible FROM (
    SELECT 1 FROM "Message" m
     WHERE m."organizationId" = org AND m."embeddingSpaceId" = ANY (spaces) AND m."embedding" IS NOT NULL
       AND (conversation_id IS NULL OR m."conversationId" = conversation_id)
     LIMIT exact_rows + 1) v;

  IF visible > exact_rows THEN
    PERFORM search_index_settings('Message', dims);
    typ := CASE WHEN dims <= 2000 THEN 'vector' ELSE 'halfvec' END || '(' || dims || ')';
    EXECUTE format(
      'SELECT array_agg(r.id ORDER BY r.d), array_agg(r.d ORDER BY r.d) FROM ('
      '  SELECT a.id, (a.embedding <=> $1)::float8 AS d FROM ('
      '    SELECT m."id", m."embedding" FROM "Message" m'
      '     WHERE vector_dims(m."embedding") = %s AND m."organizationId" = $2 AND m."embeddingSpaceId" = ANY ($3)'
      '       AND ($4::text IS NULL OR m."conversationId" = $4)'
      '     ORDER BY (m."embedding"::%s) <=> $1::%s LIMIT $5) a'
      '  ORDER BY 2 LIMIT $6) r',
      dims, typ, typ)
      INTO ids, dists
      USING query, org, spaces, conversation_id, greatest(2 * k, 40), k;
    IF coalesce(cardinality(ids), 0) = k THEN
      RETURN QUERY
        SELECT m."id"::text, m."conversationId"::text, m."role"::"MessageRole", m."contentJson"::jsonb,
          m."createdAt"::timestamp(3) without time zone, r.d
          FROM unnest(ids, dists) WITH ORDINALITY AS r(id, d, n) JOIN "Message" m ON m."id" = r.id
         ORDER BY r.n;
      RETURN;
    END IF;
    PERFORM set_config('enable_bitmapscan', 'on', true);
  END IF;

  RETURN QUERY
    SELECT m."id"::text, m."conversationId"::text, m."role"::"MessageRole", m."contentJson"::jsonb,
          m."createdAt"::timestamp(3) without time zone,
           (m."embedding" <=> query)::float8
      FROM "Message" m
     WHERE m."organizationId" = org AND m."embeddingSpaceId" = ANY (spaces) AND m."embedding" IS NOT NULL
       AND (conversation_id IS NULL OR m."conversationId" = conversation_id)
     ORDER BY m."embedding" <=> query
     LIMIT k;
END
$$;
COMMENT ON FUNCTION search_messages(vector, integer, text, text) IS
  'The k messages of the current organization nearest to query (cosine), optionally in one conversation or embedding space. See docs/search.md.';

-- pgvector 0.8's iterative index scans, when the server has them: the index keeps scanning until the tenant
-- filter leaves enough rows (without, the fallback to exact search keeps the result complete).
DO $$
BEGIN
  IF (SELECT string_to_array(extversion, '.')::int[] >= ARRAY[0, 8] FROM pg_extension WHERE extname = 'vector') THEN
    ALTER FUNCTION search_chunks(vector, integer, text, text, text)
      SET ivfflat.iterative_scan = relaxed_order;
    ALTER FUNCTION search_chunks(vector, integer, text, text, text)
      SET hnsw.iterative_scan = relaxed_order;
    ALTER FUNCTION search_messages(vector, integer, text, text)
      SET ivfflat.iterative_scan = relaxed_order;
    ALTER FUNCTION search_messages(vector, integer, text, text)
      SET hnsw.iterative_scan = relaxed_order;
  END IF;
END
$$;

-- Down Migration
DROP FUNCTION search_messages(vector, integer, text, text);
DROP FUNCTION search_chunks(vector, integer, text, text, text);
DROP FUNCTION search_index_settings(text, integer);
DROP FUNCTION search_tuning(text, integer);
DROP FUNCTION search_tuning_entries();
DROP FUNCTION search_check_k(text, integer);
DROP FUNCTION search_query_spaces(text, vector, text);
