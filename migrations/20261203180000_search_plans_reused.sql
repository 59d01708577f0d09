-- search_chunks() and search_messages() reuse their statements' plans, and their helpers no longer switch
-- search_path: a small tenant's call costs what the query an app could write costs.
--
-- Why. A small tenant's search_chunks() call came out 0.4-0.5 ms over exact search written by hand (0.6 ms for
-- 192 rows, npm run bench:tenant-search). Taken apart on that corpus as the app login, p50 of a call against
-- the hand-written query's 0.60-0.63 ms: everything planned for each call's values (plan_cache_mode =
-- force_custom_plan) 0.98-1.02 ms; the settings lookup and the count planned once per session 0.85; every
-- statement planned once per session 0.79; and the tenant searched through the prefilter, which with a
-- reused plan beats reading its 192 rows, 0.65-0.67; with the helpers' SET search_path gone 0.63-0.64, as
-- with their work written into the function itself. See docs/search.md ("Cost of a call").
--
-- What changes:
--   * search_chunks() / search_messages() run with plan_cache_mode = force_generic_plan: each statement is
--     planned once per session and its plan reused. Below the exact threshold that plan is the same for every
--     tenant (its b-tree); above it the search is dynamic SQL, planned for each call as before. A call with a
--     dataset, document or conversation filter switches back to a plan per call, so that the filter's index is
--     used. The count of an unfiltered call is its own statement: a reused plan could only check the filters'
--     conditions on each row's page.
--   * Both run with enable_seqscan off throughout (the index path already did): every statement reads one
--     tenant's rows through a b-tree that starts with the tenant column, and a plan reused for every tenant
--     is made for an average one, which in a table of few tenants could be a sequential scan of all rows.
--   * The prefilter's query bits are computed once per call (a reused plan would compute them per row), and a
--     tenant with more than 4 times the depth in visible rows is prefiltered, where it took 8 (measured
--     with plans reused; core/search/prefilter.ts PREFILTER_MIN_FACTOR).
--   * search_prefilter_graphs(): per table, dimension and tenant, a graph (a partial HNSW index) over the
--     tenant's sign bits that the release built for one of the largest tenants, with the depth and
--     hnsw.ef_search it calibrated (rewritten by each calibration; none until then). search_settings() returns
--     the caller's tenant's. Such a tenant's unfiltered search takes its depth nearest rows by Hamming distance
--     from the graph, uncounted, rather than scanning every sign bit it has: for the benchmark's largest tenant
--     (19,331 rows) 2.8-3.3 ms at recall 0.988-1 against 7.2-7.6 ms (docs/search.md).
--   * search_check_k() and search_query_spaces() take their caller's search_path rather than setting one:
--     switching it on each call made every plan check its search path again. They are SECURITY INVOKER, name
--     their tables and pgvector's functions by schema, and run as their caller either way.

-- Up Migration
-- Load pgvector's library first, so that its settings are known when the functions attach them.
SELECT vector_dims('[1]'::vector);

ALTER FUNCTION search_check_k(text, integer) RESET search_path;

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

CREATE FUNCTION search_prefilter_graphs()
RETURNS TABLE (table_name text, dims integer, organization_id text, index_name text, depth integer, ef_search integer)
LANGUAGE sql STABLE
AS $$ SELECT NULL::text, NULL::integer, NULL::text, NULL::text, NULL::integer, NULL::integer WHERE false $$;
COMMENT ON FUNCTION search_prefilter_graphs() IS
  'Graphs over a large tenant''s sign bits the release built, with their depth and hnsw.ef_search; rewritten by each calibration.';

DROP FUNCTION search_settings(text, integer, text);
CREATE FUNCTION search_settings(table_name text, dims integer, organization_id text)
RETURNS TABLE (exact_rows integer, probes integer, ef_search integer, prefilter_depth integer,
               graph_index text, graph_depth integer, graph_ef_search integer)
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(t.exact_rows, e.exact_rows, 10000), e.probes, coalesce(t.ef_search, e.ef_search), p.depth,
         g.index_name, g.depth, g.ef_search
    FROM (SELECT 1) one
    LEFT JOIN search_tuning_entries() e
      ON e.table_name = search_settings.table_name AND e.dims = search_settings.dims
    LEFT JOIN search_tenant_indexes() t
      ON t.table_name = search_settings.table_name AND t.dims = search_settings.dims
     AND t.organization_id = search_settings.organization_id
    LEFT JOIN search_prefilter_entries() p
      ON p.table_name = search_settings.table_name AND p.dims = search_settings.dims
    LEFT JOIN search_prefilter_graphs() g
      ON g.table_name = search_settings.table_name AND g.dims = search_settings.dims
     AND g.organization_id = search_settings.organization_id
$$;
COMMENT ON FUNCTION search_settings(text, integer, text) IS
  'The search settings for one table, dimension and tenant: exact threshold, ivfflat.probes, hnsw.ef_search (the tenant''s own index''s when it has one), prefilter depth, and the tenant''s sign-bit graph with its depth and hnsw.ef_search.';

CREATE OR REPLACE FUNCTION search_chunks(
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
SET plan_cache_mode = force_generic_plan
SET ivfflat.probes = '10'
SET hnsw.ef_search = '40'
SET enable_seqscan = off
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
  probes integer;
  ef_search integer;
  prefilter_depth integer;
  depth integer;
  query_bits bit varying;
  graph_index text;
  graph_depth integer;
  graph_ef_search integer;
BEGIN
  -- A call filtered by dataset or document plans each statement for its values (the filter's own index). An
  -- unfiltered one reuses the session's plan of each statement: below the exact threshold it is the same
  -- plan for every tenant (its b-tree), and planning it anew was most of a small tenant's call.
  IF dataset_id IS NOT NULL OR document_id IS NOT NULL THEN
    PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
  END IF;
  PERFORM search_check_k('search_chunks', k);
  spaces := search_query_spaces('search_chunks', query, embedding_space_id);
  IF org IS NULL THEN RETURN; END IF;
  dims := vector_dims(query);
  -- One lookup: the dimension's settings, or the tenant's own when it has an index of its own.
  SELECT s.exact_rows, s.probes, s.ef_search, s.prefilter_depth, s.graph_index, s.graph_depth, s.graph_ef_search
    INTO exact_rows, probes, ef_search, prefilter_depth, graph_index, graph_depth, graph_ef_search
    FROM search_settings('Chunk', dims, org) s;

  -- A tenant with a graph over its sign bits (one of the largest, below the exact threshold): unless a dataset
  -- or document narrows its search, the depth nearest rows by Hamming distance come from that graph, uncounted
  -- (its count alone cost 2 ms), and are ranked by their exact distance. The organization and the dimension
  -- are literals, to match the graph's predicate. Fewer than k rows (pgvector before 0.8 has no iterative
  -- scan to make up for rows of another space): the search below goes on as for any tenant.
  IF dataset_id IS NULL AND document_id IS NULL AND graph_depth IS NOT NULL THEN
    query_bits := binary_quantize(query)::bit varying;
    PERFORM set_config('hnsw.ef_search', graph_ef_search::text, true);
    EXECUTE format(
      'SELECT array_agg(r.id ORDER BY r.d), array_agg(r.d ORDER BY r.d) FROM ('
      '  SELECT c."id", (c."embedding" <=> $1)::float8 AS d FROM ('
      '    SELECT p."id" FROM "Chunk" p'
      '     WHERE p."organizationId" = %L AND p."embeddingBits" IS NOT NULL AND length(p."embeddingBits") = %s'
      '       AND p."embeddingSpaceId" = ANY ($2)'
      '     ORDER BY (p."embeddingBits"::bit(%s)) <~> $3::bit(%s) LIMIT $4) p'
      '  JOIN "Chunk" c ON c."id" = p."id"'
      '  ORDER BY 2 LIMIT $5) r',
      org, dims, dims, dims)
      INTO ids, dists
      USING query, spaces, query_bits, greatest(graph_depth, (graph_depth::bigint * k / 10)::integer), k;
    IF coalesce(cardinality(ids), 0) = k THEN
      RETURN QUERY
        SELECT c."id"::text, c."datasetId"::text, c."documentId"::text, c."idx"::integer, c."text"::text, c."metadata"::jsonb, r.d
          FROM unnest(ids, dists) WITH ORDINALITY AS r(id, d, n) JOIN "Chunk" c ON c."id" = r.id
         ORDER BY r.n;
      RETURN;
    END IF;
  END IF;

  -- A tenant with an index of its own has far more rows than its threshold (it got the index for a tenth of
  -- the dimension's rows): unless a dataset or document narrows the search, it is searched there uncounted.
  -- Otherwise count up to the threshold from the ("organizationId", "embeddingSpaceId") b-tree alone (an
  -- index-only scan), rows not yet embedded included: counting only embedded ones would read each row's page.
  IF dataset_id IS NULL AND document_id IS NULL AND EXISTS (
       SELECT 1 FROM search_tenant_indexes() t
        WHERE t.table_name = 'Chunk' AND t.dims = vector_dims(query) AND t.organization_id = org) THEN
    visible := exact_rows + 1;
  ELSIF dataset_id IS NULL AND document_id IS NULL THEN
    -- Without the filters' conditions, which a reused plan could only check on each row's page.
    SELECT count(*) INTO visible FROM (
      SELECT 1 FROM "Chunk" c
       WHERE c."organizationId" = org AND c."embeddingSpaceId" = ANY (spaces)
       LIMIT exact_rows + 1) v;
  ELSE
    SELECT count(*) INTO visible FROM (
      SELECT 1 FROM "Chunk" c
       WHERE c."organizationId" = org AND c."embeddingSpaceId" = ANY (spaces)
         AND (dataset_id IS NULL OR c."datasetId" = dataset_id)
         AND (document_id IS NULL OR c."documentId" = document_id)
       LIMIT exact_rows + 1) v;
  END IF;

  IF visible > exact_rows THEN
    IF probes IS NOT NULL THEN PERFORM set_config('ivfflat.probes', probes::text, true); END IF;
    IF ef_search IS NOT NULL THEN PERFORM set_config('hnsw.ef_search', ef_search::text, true); END IF;
    PERFORM set_config('enable_bitmapscan', 'off', true);
    typ := CASE WHEN dims <= 2000 THEN 'vector' ELSE 'halfvec' END || '(' || dims || ')';
    -- The dimension and the organization are literals: parameters would not match the partial indexes'
    -- predicates (the dimension's index, and a large tenant's own).
    EXECUTE format(
      'SELECT array_agg(r.id ORDER BY r.d), array_agg(r.d ORDER BY r.d) FROM ('
      '  SELECT a.id, (a.embedding <=> $1)::float8 AS d FROM ('
      '    SELECT c."id", c."embedding" FROM "Chunk" c'
      '     WHERE vector_dims(c."embedding") = %s AND c."organizationId" = %L AND c."embeddingSpaceId" = ANY ($2)'
      '       AND ($3::text IS NULL OR c."datasetId" = $3) AND ($4::text IS NULL OR c."documentId" = $4)'
      '     ORDER BY (c."embedding"::%s) <=> $1::%s LIMIT $5) a'
      '  ORDER BY 2 LIMIT $6) r',
      dims, org, typ, typ)
      INTO ids, dists
      USING query, spaces, dataset_id, document_id, greatest(2 * k, 40), k;
    IF coalesce(cardinality(ids), 0) = k THEN
      RETURN QUERY
        SELECT c."id"::text, c."datasetId"::text, c."documentId"::text, c."idx"::integer, c."text"::text, c."metadata"::jsonb, r.d
          FROM unnest(ids, dists) WITH ORDINALITY AS r(id, d, n) JOIN "Chunk" c ON c."id" = r.id
         ORDER BY r.n;
      RETURN;
    END IF;
    PERFORM set_config('enable_bitmapscan', 'on', true);
  ELSIF prefilter_depth IS NOT NULL THEN
    -- The calibrated depth is for k = 10; a larger k keeps the same share of candidates per row returned.
    depth := greatest(prefilter_depth, (prefilter_depth::bigint * k / 10)::integer);
    -- Up to PREFILTER_MIN_FACTOR (4, core/search/prefilter.ts) times the depth, reading every row costs no
    -- more than the prefilter's sort and its depth rows (measured at depth 40 with plans reused, p50 of a
    -- call: 45 rows, exact 0.53 ms against 0.61; 130 rows, 0.67-0.71 against 0.68-0.72; 192 rows, 0.72-0.74
    -- against 0.70-0.72).
    IF visible > 4 * depth THEN
      -- Computed once: in a reused plan, binary_quantize(query) would be computed again for each row.
      query_bits := binary_quantize(query)::bit varying;
      -- The depth nearest rows by Hamming distance between sign bits, from an index-only scan of the
      -- ("organizationId", "embeddingSpaceId") INCLUDE ("embeddingBits", ...) b-tree the release builds;
      -- only those rows are read and ranked by their exact distance.
      RETURN QUERY
        SELECT c."id"::text, c."datasetId"::text, c."documentId"::text, c."idx"::integer, c."text"::text, c."metadata"::jsonb,
               (c."embedding" <=> query)::float8
          FROM (SELECT p."id" FROM "Chunk" p
                 WHERE p."organizationId" = org AND p."embeddingSpaceId" = ANY (spaces) AND p."embeddingBits" IS NOT NULL
                   AND (dataset_id IS NULL OR p."datasetId" = dataset_id)
                   AND (document_id IS NULL OR p."documentId" = document_id)
                 ORDER BY p."embeddingBits" <~> query_bits
                 LIMIT depth) p
          JOIN "Chunk" c ON c."id" = p."id"
         ORDER BY c."embedding" <=> query
         LIMIT k;
      RETURN;
    END IF;
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

CREATE OR REPLACE FUNCTION search_messages(
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
SET plan_cache_mode = force_generic_plan
SET ivfflat.probes = '10'
SET hnsw.ef_search = '40'
SET enable_seqscan = off
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
  probes integer;
  ef_search integer;
BEGIN
  -- As in search_chunks(): a call filtered by conversation plans each statement for its values.
  IF conversation_id IS NOT NULL THEN
    PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
  END IF;
  PERFORM search_check_k('search_messages', k);
  spaces := search_query_spaces('search_messages', query, embedding_space_id);
  IF org IS NULL THEN RETURN; END IF;
  dims := vector_dims(query);
  -- One lookup: the dimension's settings, or the tenant's own when it has an index of its own.
  SELECT s.exact_rows, s.probes, s.ef_search INTO exact_rows, probes, ef_search
    FROM search_settings('Message', dims, org) s;

  -- As in search_chunks(): a tenant with an index of its own goes there uncounted unless a conversation
  -- narrows the search; otherwise the count reads the ("organizationId", "embeddingSpaceId") b-tree alone.
  IF conversation_id IS NULL AND EXISTS (
       SELECT 1 FROM search_tenant_indexes() t
        WHERE t.table_name = 'Message' AND t.dims = vector_dims(query) AND t.organization_id = org) THEN
    visible := exact_rows + 1;
  ELSIF conversation_id IS NULL THEN
    SELECT count(*) INTO visible FROM (
      SELECT 1 FROM "Message" m
       WHERE m."organizationId" = org AND m."embeddingSpaceId" = ANY (spaces)
       LIMIT exact_rows + 1) v;
  ELSE
    SELECT count(*) INTO visible FROM (
      SELECT 1 FROM "Message" m
       WHERE m."organizationId" = org AND m."embeddingSpaceId" = ANY (spaces)
         AND (conversation_id IS NULL OR m."conversationId" = conversation_id)
       LIMIT exact_rows + 1) v;
  END IF;

  IF visible > exact_rows THEN
    IF probes IS NOT NULL THEN PERFORM set_config('ivfflat.probes', probes::text, true); END IF;
    IF ef_search IS NOT NULL THEN PERFORM set_config('hnsw.ef_search', ef_search::text, true); END IF;
    PERFORM set_config('enable_bitmapscan', 'off', true);
    typ := CASE WHEN dims <= 2000 THEN 'vector' ELSE 'halfvec' END || '(' || dims || ')';
    -- The dimension and the organization are literals, as in search_chunks().
    EXECUTE format(
      'SELECT array_agg(r.id ORDER BY r.d), array_agg(r.d ORDER BY r.d) FROM ('
      '  SELECT a.id, (a.embedding <=> $1)::float8 AS d FROM ('
      '    SELECT m."id", m."embedding" FROM "Message" m'
      '     WHERE vector_dims(m."embedding") = %s AND m."organizationId" = %L AND m."embeddingSpaceId" = ANY ($2)'
      '       AND ($3::text IS NULL OR m."conversationId" = $3)'
      '     ORDER BY (m."embedding"::%s) <=> $1::%s LIMIT $4) a'
      '  ORDER BY 2 LIMIT $5) r',
      dims, org, typ, typ)
      INTO ids, dists
      USING query, spaces, conversation_id, greatest(2 * k, 40), k;
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
DROP FUNCTION search_settings(text, integer, text);
CREATE FUNCTION search_settings(table_name text, dims integer, organization_id text)
RETURNS TABLE (exact_rows integer, probes integer, ef_search integer, prefilter_depth integer)
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(t.exact_rows, e.exact_rows, 10000), e.probes, coalesce(t.ef_search, e.ef_search), p.depth
    FROM (SELECT 1) one
    LEFT JOIN search_tuning_entries() e
      ON e.table_name = search_settings.table_name AND e.dims = search_settings.dims
    LEFT JOIN search_tenant_indexes() t
      ON t.table_name = search_settings.table_name AND t.dims = search_settings.dims
     AND t.organization_id = search_settings.organization_id
    LEFT JOIN search_prefilter_entries() p
      ON p.table_name = search_settings.table_name AND p.dims = search_settings.dims
$$;
COMMENT ON FUNCTION search_settings(text, integer, text) IS
  'The search settings for one table, dimension and tenant: exact threshold, ivfflat.probes, hnsw.ef_search (the tenant''s own index''s when it has one), prefilter depth.';

DROP FUNCTION search_prefilter_graphs();

ALTER FUNCTION search_check_k(text, integer) SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION search_query_spaces(fn text, query vector, embedding_space_id text) RETURNS text[]
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

CREATE OR REPLACE FUNCTION search_chunks(
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
  probes integer;
  ef_search integer;
  prefilter_depth integer;
  depth integer;
BEGIN
  PERFORM search_check_k('search_chunks', k);
  spaces := search_query_spaces('search_chunks', query, embedding_space_id);
  IF org IS NULL THEN RETURN; END IF;
  dims := vector_dims(query);
  -- One lookup: the dimension's settings, or the tenant's own when it has an index of its own.
  SELECT s.exact_rows, s.probes, s.ef_search, s.prefilter_depth INTO exact_rows, probes, ef_search, prefilter_depth
    FROM search_settings('Chunk', dims, org) s;

  -- A tenant with an index of its own has far more rows than its threshold (it got the index for a tenth of
  -- the dimension's rows): unless a dataset or document narrows the search, it is searched there uncounted.
  -- Otherwise count up to the threshold from the ("organizationId", "embeddingSpaceId") b-tree alone (an
  -- index-only scan), rows not yet embedded included: counting only embedded ones would read each row's page.
  IF dataset_id IS NULL AND document_id IS NULL AND EXISTS (
       SELECT 1 FROM search_tenant_indexes() t
        WHERE t.table_name = 'Chunk' AND t.dims = vector_dims(query) AND t.organization_id = org) THEN
    visible := exact_rows + 1;
  ELSE
    SELECT count(*) INTO visible FROM (
      SELECT 1 FROM "Chunk" c
       WHERE c."organizationId" = org AND c."embeddingSpaceId" = ANY (spaces)
         AND (dataset_id IS NULL OR c."datasetId" = dataset_id)
         AND (document_id IS NULL OR c."documentId" = document_id)
       LIMIT exact_rows + 1) v;
  END IF;

  IF visible > exact_rows THEN
    IF probes IS NOT NULL THEN PERFORM set_config('ivfflat.probes', probes::text, true); END IF;
    IF ef_search IS NOT NULL THEN PERFORM set_config('hnsw.ef_search', ef_search::text, true); END IF;
    PERFORM set_config('enable_seqscan', 'off', true);
    PERFORM set_config('enable_bitmapscan', 'off', true);
    typ := CASE WHEN dims <= 2000 THEN 'vector' ELSE 'halfvec' END || '(' || dims || ')';
    -- The dimension and the organization are literals: parameters would not match the partial indexes'
    -- predicates (the dimension's index, and a large tenant's own).
    EXECUTE format(
      'SELECT array_agg(r.id ORDER BY r.d), array_agg(r.d ORDER BY r.d) FROM ('
      '  SELECT a.id, (a.embedding <=> $1)::float8 AS d FROM ('
      '    SELECT c."id", c."embedding" FROM "Chunk" c'
      '     WHERE vector_dims(c."embedding") = %s AND c."organizationId" = %L AND c."embeddingSpaceId" = ANY ($2)'
      '       AND ($3::text IS NULL OR c."datasetId" = $3) AND ($4::text IS NULL OR c."documentId" = $4)'
      '     ORDER BY (c."embedding"::%s) <=> $1::%s LIMIT $5) a'
      '  ORDER BY 2 LIMIT $6) r',
      dims, org, typ, typ)
      INTO ids, dists
      USING query, spaces, dataset_id, document_id, greatest(2 * k, 40), k;
    IF coalesce(cardinality(ids), 0) = k THEN
      RETURN QUERY
        SELECT c."id"::text, c."datasetId"::text, c."documentId"::text, c."idx"::integer, c."text"::text, c."metadata"::jsonb, r.d
          FROM unnest(ids, dists) WITH ORDINALITY AS r(id, d, n) JOIN "Chunk" c ON c."id" = r.id
         ORDER BY r.n;
      RETURN;
    END IF;
    PERFORM set_config('enable_bitmapscan', 'on', true);
  ELSIF prefilter_depth IS NOT NULL THEN
    -- The calibrated depth is for k = 10; a larger k keeps the same share of candidates per row returned.
    depth := greatest(prefilter_depth, (prefilter_depth::bigint * k / 10)::integer);
    -- Below PREFILTER_MIN_FACTOR (8) times the depth, reading every row costs no more than the prefilter's
    -- sort and its depth rows (measured: 192 rows, exact 0.6 ms against 0.7 ms).
    IF visible > 8 * depth THEN
      -- The depth nearest rows by Hamming distance between sign bits, from an index-only scan of the
      -- ("organizationId", "embeddingSpaceId") INCLUDE ("embeddingBits", ...) b-tree the release builds;
      -- only those rows are read and ranked by their exact distance.
      RETURN QUERY
        SELECT c."id"::text, c."datasetId"::text, c."documentId"::text, c."idx"::integer, c."text"::text, c."metadata"::jsonb,
               (c."embedding" <=> query)::float8
          FROM (SELECT p."id" FROM "Chunk" p
                 WHERE p."organizationId" = org AND p."embeddingSpaceId" = ANY (spaces) AND p."embeddingBits" IS NOT NULL
                   AND (dataset_id IS NULL OR p."datasetId" = dataset_id)
                   AND (document_id IS NULL OR p."documentId" = document_id)
                 ORDER BY p."embeddingBits" <~> binary_quantize(query)::bit varying
                 LIMIT depth) p
          JOIN "Chunk" c ON c."id" = p."id"
         ORDER BY c."embedding" <=> query
         LIMIT k;
      RETURN;
    END IF;
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

CREATE OR REPLACE FUNCTION search_messages(
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
  probes integer;
  ef_search integer;
BEGIN
  PERFORM search_check_k('search_messages', k);
  spaces := search_query_spaces('search_messages', query, embedding_space_id);
  IF org IS NULL THEN RETURN; END IF;
  dims := vector_dims(query);
  -- One lookup: the dimension's settings, or the tenant's own when it has an index of its own.
  SELECT s.exact_rows, s.probes, s.ef_search INTO exact_rows, probes, ef_search
    FROM search_settings('Message', dims, org) s;

  -- As in search_chunks(): a tenant with an index of its own goes there uncounted unless a conversation
  -- narrows the search; otherwise the count reads the ("organizationId", "embeddingSpaceId") b-tree alone.
  IF conversation_id IS NULL AND EXISTS (
       SELECT 1 FROM search_tenant_indexes() t
        WHERE t.table_name = 'Message' AND t.dims = vector_dims(query) AND t.organization_id = org) THEN
    visible := exact_rows + 1;
  ELSE
    SELECT count(*) INTO visible FROM (
      SELECT 1 FROM "Message" m
       WHERE m."organizationId" = org AND m."embeddingSpaceId" = ANY (spaces)
         AND (conversation_id IS NULL OR m."conversationId" = conversation_id)
       LIMIT exact_rows + 1) v;
  END IF;

  IF visible > exact_rows THEN
    IF probes IS NOT NULL THEN PERFORM set_config('ivfflat.probes', probes::text, true); END IF;
    IF ef_search IS NOT NULL THEN PERFORM set_config('hnsw.ef_search', ef_search::text, true); END IF;
    PERFORM set_config('enable_seqscan', 'off', true);
    PERFORM set_config('enable_bitmapscan', 'off', true);
    typ := CASE WHEN dims <= 2000 THEN 'vector' ELSE 'halfvec' END || '(' || dims || ')';
    -- The dimension and the organization are literals, as in search_chunks().
    EXECUTE format(
      'SELECT array_agg(r.id ORDER BY r.d), array_agg(r.d ORDER BY r.d) FROM ('
      '  SELECT a.id, (a.embedding <=> $1)::float8 AS d FROM ('
      '    SELECT m."id", m."embedding" FROM "Message" m'
      '     WHERE vector_dims(m."embedding") = %s AND m."organizationId" = %L AND m."embeddingSpaceId" = ANY ($2)'
      '       AND ($3::text IS NULL OR m."conversationId" = $3)'
      '     ORDER BY (m."embedding"::%s) <=> $1::%s LIMIT $4) a'
      '  ORDER BY 2 LIMIT $5) r',
      dims, org, typ, typ)
      INTO ids, dists
      USING query, spaces, conversation_id, greatest(2 * k, 40), k;
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
