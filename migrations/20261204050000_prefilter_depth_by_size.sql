-- The prefilter's depth by tenant size: a small tenant ranks fewer Hamming candidates than the largest one.
--
-- Why. search_chunks() prefilters every tenant between 4 times the depth and the exact threshold at one depth,
-- calibrated on the largest of them (19,331 rows in npm run bench:tenant-search: 40 candidates for recall@10
-- 0.968). A tenant of 192 rows needs far fewer, and ranking 40 of its rows exactly was most of what kept its
-- call 0.04-0.06 ms over exact search written by hand (0.59-0.60 ms against 0.56-0.57): at depth 20 the call
-- took 0.54-0.55 ms, recall 0.984-0.998 (docs/search.md, "What is left of a small tenant's call").
--
-- What changes:
--   * search_prefilter_entries() gains small_rows and small_depth: a second depth, calibrated on the smallest
--     tenant class the prefilter serves, for tenants of at most small_rows visible rows (that tenant's size
--     when calibrated; NULL when there is none). Its rows are kept; the calibration rewrites it as before.
--   * search_settings() returns them (prefilter_small_rows, prefilter_small_depth), and whether the tenant has
--     an index of its own (own_index): search_chunks() asked that in a statement of its own, 0.01 ms of the
--     small tenant's call.
--   * search_chunks() takes the smaller depth for a tenant no larger than small_rows, and prefilters a tenant
--     with more than 4 times the depth it takes, as before.

-- Up Migration
SELECT vector_dims('[1]'::vector);

-- Widened with its calibrated rows kept: the function is the record (rewritten by each calibration).
DO $$
DECLARE
  listed text;
BEGIN
  SELECT 'VALUES ' || string_agg(format('(%L, %s, %s, NULL::integer, NULL::integer)', e.table_name, e.dims, e.depth), ', ')
    INTO listed FROM search_prefilter_entries() e;
  DROP FUNCTION search_prefilter_entries();
  EXECUTE format(
    'CREATE FUNCTION search_prefilter_entries() '
    'RETURNS TABLE (table_name text, dims integer, depth integer, small_rows integer, small_depth integer) '
    'LANGUAGE sql STABLE AS $f$ %s $f$',
    coalesce(listed, 'SELECT NULL::text, NULL::integer, NULL::integer, NULL::integer, NULL::integer WHERE false'));
END
$$;
COMMENT ON FUNCTION search_prefilter_entries() IS
  'Prefilter depths the release calibrated, per table and dimension, and the smaller depth for tenants of at most small_rows rows; rewritten by each calibration.';

DROP FUNCTION search_settings(text, integer, text);
CREATE FUNCTION search_settings(table_name text, dims integer, organization_id text)
RETURNS TABLE (exact_rows integer, probes integer, ef_search integer, prefilter_depth integer,
               graph_index text, graph_depth integer, graph_ef_search integer,
               prefilter_small_rows integer, prefilter_small_depth integer, own_index boolean)
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(t.exact_rows, e.exact_rows, 10000), e.probes, coalesce(t.ef_search, e.ef_search), p.depth,
         g.index_name, g.depth, g.ef_search, p.small_rows, p.small_depth, t.organization_id IS NOT NULL
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
  'The search settings for one table, dimension and tenant: exact threshold, ivfflat.probes, hnsw.ef_search (the tenant''s own index''s when it has one), prefilter depth (and the smaller one for tenants of at most prefilter_small_rows rows), the tenant''s sign-bit graph with its depth and hnsw.ef_search, and whether the tenant has an index of its own.';

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
  small_rows integer;
  small_depth integer;
  own_index boolean;
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
  SELECT s.exact_rows, s.probes, s.ef_search, s.prefilter_depth, s.graph_index, s.graph_depth, s.graph_ef_search,
         s.prefilter_small_rows, s.prefilter_small_depth, s.own_index
    INTO exact_rows, probes, ef_search, prefilter_depth, graph_index, graph_depth, graph_ef_search,
         small_rows, small_depth, own_index
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
  IF dataset_id IS NULL AND document_id IS NULL AND own_index THEN
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
    -- A tenant no larger than the one the smaller depth was calibrated on takes that depth (a tenant with
    -- fewer rows has fewer near rivals of its nearest rows among the Hamming candidates); any other, the
    -- depth calibrated on the largest tenant below the threshold. Each is for k = 10; a larger k keeps the
    -- same share of candidates per row returned.
    depth := CASE WHEN visible <= small_rows THEN small_depth ELSE prefilter_depth END;
    depth := greatest(depth, (depth::bigint * k / 10)::integer);
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

-- CREATE OR REPLACE resets the function's settings: pgvector 0.8's iterative scans, as before.
DO $$
BEGIN
  IF (SELECT string_to_array(extversion, '.')::int[] >= ARRAY[0, 8] FROM pg_extension WHERE extname = 'vector') THEN
    ALTER FUNCTION search_chunks(vector, integer, text, text, text)
      SET ivfflat.iterative_scan = relaxed_order;
    ALTER FUNCTION search_chunks(vector, integer, text, text, text)
      SET hnsw.iterative_scan = relaxed_order;
  END IF;
END
$$;

-- Down Migration
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

DO $$
BEGIN
  IF (SELECT string_to_array(extversion, '.')::int[] >= ARRAY[0, 8] FROM pg_extension WHERE extname = 'vector') THEN
    ALTER FUNCTION search_chunks(vector, integer, text, text, text)
      SET ivfflat.iterative_scan = relaxed_order;
    ALTER FUNCTION search_chunks(vector, integer, text, text, text)
      SET hnsw.iterative_scan = relaxed_order;
  END IF;
END
$$;

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


DO $$
DECLARE
  listed text;
BEGIN
  SELECT 'VALUES ' || string_agg(format('(%L, %s, %s)', e.table_name, e.dims, e.depth), ', ')
    INTO listed FROM search_prefilter_entries() e;
  DROP FUNCTION search_prefilter_entries();
  EXECUTE format(
    'CREATE FUNCTION search_prefilter_entries() '
    'RETURNS TABLE (table_name text, dims integer, depth integer) '
    'LANGUAGE sql STABLE AS $f$ %s $f$',
    coalesce(listed, 'SELECT NULL::text, NULL::integer, NULL::integer WHERE false'));
END
$$;
COMMENT ON FUNCTION search_prefilter_entries() IS
  'Prefilter depths the release calibrated, per table and dimension; rewritten by each calibration.';
