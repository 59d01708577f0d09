-- search_chunks() in fewer steps: the query's spaces, the settings and the count of visible rows in one
-- statement, and the index paths' settings on helpers of their own, so that a call below the exact threshold
-- sets three settings where it set eight.
--
-- Why. The small tenant's call (192 rows, npm run bench:tenant-search) came out 0.01-0.03 ms over exact search
-- written by hand in the benchmark's like-for-like turns, where the status query's ivfflat scan runs between
-- two of its queries. Taken apart on that corpus as the app login, p50 over 5 rounds of the 50 table-wide
-- queries, in turns with the status query and exact search by hand (docs/search.md, "What is left of a small
-- tenant's call"): the function as it was 0.97-1.08 ms, against exact search by hand 1.00-1.14; the spaces,
-- the settings and the count in one statement 0.05 ms less; with the five settings only the index paths
-- change moved to helpers, 0.03 ms less again.
--
-- What changes:
--   * search_chunks() reads the query's embedding spaces, its settings (search_settings()) and the count of
--     the tenant's visible rows in one statement. The count runs (a scalar subquery under a CASE) only where it
--     decides the path: an unfiltered call of a tenant without a graph or an index of its own. The checks of
--     the query and of a named embedding space run as before (search_query_spaces()), but only when there is
--     something to check: a NULL or zero query, a named space, or no space of the query's dimension.
--   * The graph path and the index path run in helpers, search_chunks_graph_ids() and
--     search_chunks_index_ids(), which return the ids and distances of the k nearest and carry the settings
--     those paths change (hnsw.ef_search; ivfflat.probes, hnsw.ef_search, enable_bitmapscan, and pgvector
--     0.8's iterative scans) as their own SET clauses, so that the caller's settings are back when each
--     returns, as before. search_chunks() keeps search_path, plan_cache_mode and enable_seqscan.

-- Up Migration
-- Load pgvector's library first, so that its settings are known when the functions attach them.
SELECT vector_dims('[1]'::vector);

-- The graph path (core/search/prefilter-graphs.ts): the depth nearest rows of one tenant by Hamming distance
-- from the graph over its sign bits, uncounted, ranked by their exact distance; the k nearest's ids and
-- distances, in order. The organization and the dimension are literals, to match the graph's predicate.
CREATE FUNCTION search_chunks_graph_ids(
  query vector, spaces text[], organization_id text, dims integer, depth integer, ef_search integer, k integer
)
RETURNS TABLE (ids text[], dists double precision[])
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = public, pg_temp
SET hnsw.ef_search = '40'
AS $$
BEGIN
  PERFORM set_config('hnsw.ef_search', ef_search::text, true);
  RETURN QUERY EXECUTE format(
    'SELECT array_agg(r.id ORDER BY r.d), array_agg(r.d ORDER BY r.d) FROM ('
    '  SELECT c."id", (c."embedding" <=> $1)::float8 AS d FROM ('
    '    SELECT p."id" FROM "Chunk" p'
    '     WHERE p."organizationId" = %L AND p."embeddingBits" IS NOT NULL AND length(p."embeddingBits") = %s'
    '       AND p."embeddingSpaceId" = ANY ($2)'
    '     ORDER BY (p."embeddingBits"::bit(%s)) <~> $3::bit(%s) LIMIT $4) p'
    '  JOIN "Chunk" c ON c."id" = p."id"'
    '  ORDER BY 2 LIMIT $5) r',
    organization_id, dims, dims, dims)
    USING query, spaces, binary_quantize(query)::bit varying, depth, k;
END
$$;
COMMENT ON FUNCTION search_chunks_graph_ids(vector, text[], text, integer, integer, integer, integer) IS
  'search_chunks()''s graph path: the k nearest chunks'' ids and distances through a tenant''s graph over its sign bits, at the given hnsw.ef_search; the caller''s setting is back on return.';

-- The index path: the dimension's index, or the tenant's own, at the calibrated settings; the k nearest's ids
-- and distances, in order. The dimension and the organization are literals: parameters would not match the
-- partial indexes' predicates (the dimension's index, and a large tenant's own).
CREATE FUNCTION search_chunks_index_ids(
  query vector, spaces text[], organization_id text, dims integer, k integer, dataset_id text, document_id text,
  probes integer, ef_search integer
)
RETURNS TABLE (ids text[], dists double precision[])
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = public, pg_temp
SET ivfflat.probes = '10'
SET hnsw.ef_search = '40'
SET enable_bitmapscan = off
AS $$
DECLARE
  typ text := CASE WHEN dims <= 2000 THEN 'vector' ELSE 'halfvec' END || '(' || dims || ')';
BEGIN
  IF probes IS NOT NULL THEN PERFORM set_config('ivfflat.probes', probes::text, true); END IF;
  IF ef_search IS NOT NULL THEN PERFORM set_config('hnsw.ef_search', ef_search::text, true); END IF;
  RETURN QUERY EXECUTE format(
    'SELECT array_agg(r.id ORDER BY r.d), array_agg(r.d ORDER BY r.d) FROM ('
    '  SELECT a.id, (a.embedding <=> $1)::float8 AS d FROM ('
    '    SELECT c."id", c."embedding" FROM "Chunk" c'
    '     WHERE vector_dims(c."embedding") = %s AND c."organizationId" = %L AND c."embeddingSpaceId" = ANY ($2)'
    '       AND ($3::text IS NULL OR c."datasetId" = $3) AND ($4::text IS NULL OR c."documentId" = $4)'
    '     ORDER BY (c."embedding"::%s) <=> $1::%s LIMIT $5) a'
    '  ORDER BY 2 LIMIT $6) r',
    dims, organization_id, typ, typ)
    USING query, spaces, dataset_id, document_id, greatest(2 * k, 40), k;
END
$$;
COMMENT ON FUNCTION search_chunks_index_ids(vector, text[], text, integer, integer, text, text, integer, integer) IS
  'search_chunks()''s index path: the k nearest chunks'' ids and distances through the dimension''s vector index or the tenant''s own, at the given settings; the caller''s settings are back on return.';

-- pgvector 0.8's iterative scans on the helpers that read vector indexes (as search_chunks() had them).
DO $$
BEGIN
  IF (SELECT string_to_array(extversion, '.')::int[] >= ARRAY[0, 8] FROM pg_extension WHERE extname = 'vector') THEN
    ALTER FUNCTION search_chunks_graph_ids(vector, text[], text, integer, integer, integer, integer)
      SET hnsw.iterative_scan = relaxed_order;
    ALTER FUNCTION search_chunks_index_ids(vector, text[], text, integer, integer, text, text, integer, integer)
      SET ivfflat.iterative_scan = relaxed_order;
    ALTER FUNCTION search_chunks_index_ids(vector, text[], text, integer, integer, text, text, integer, integer)
      SET hnsw.iterative_scan = relaxed_order;
  END IF;
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
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
DECLARE
  org text := current_organization_id();
  spaces text[];
  dims integer;
  exact_rows integer;
  visible integer;
  ids text[];
  dists double precision[];
  probes integer;
  ef_search integer;
  prefilter_depth integer;
  depth integer;
  query_bits bit varying;
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
  -- search_query_spaces() names what is wrong with the query or the named space; a nonzero query and no named
  -- space need only the spaces of the query's dimension, which the lookup below reads.
  IF query IS NULL OR embedding_space_id IS NOT NULL OR vector_norm(query) = 0 THEN
    spaces := search_query_spaces('search_chunks', query, embedding_space_id);
  END IF;
  dims := vector_dims(query);
  -- One statement: the query's spaces, the dimension's settings (or the tenant's own when it has an index of
  -- its own) and, where it decides the path, the count of the tenant's rows up to the threshold, from the
  -- ("organizationId", "embeddingSpaceId") b-tree alone (an index-only scan), rows not yet embedded included:
  -- counting only embedded ones would read each row's page. Not counted: a filtered call (counted below, with
  -- the filters' conditions, which a reused plan could only check on each row's page), a tenant with a graph
  -- (its count alone cost 2 ms) or with an index of its own (it got the index for a tenth of the dimension's
  -- rows, far more than its threshold).
  SELECT coalesce(spaces, q.space_ids), s.exact_rows, s.probes, s.ef_search, s.prefilter_depth, s.graph_depth,
         s.graph_ef_search, s.prefilter_small_rows, s.prefilter_small_depth, s.own_index,
         CASE WHEN dataset_id IS NULL AND document_id IS NULL AND s.graph_depth IS NULL AND NOT s.own_index THEN
           (SELECT count(*) FROM (
              SELECT 1 FROM "Chunk" c
               WHERE c."organizationId" = org AND c."embeddingSpaceId" = ANY (coalesce(spaces, q.space_ids))
               LIMIT s.exact_rows + 1) v)
         END
    INTO spaces, exact_rows, probes, ef_search, prefilter_depth, graph_depth, graph_ef_search,
         small_rows, small_depth, own_index, visible
    FROM (SELECT array_agg(e."id" ORDER BY e."id") AS space_ids FROM "EmbeddingSpace" e
           WHERE spaces IS NULL AND e."dimension" = dims) q,
         search_settings('Chunk', dims, org) s;
  IF spaces IS NULL THEN
    -- No space of the query's dimension: the error names the dimensions there are.
    spaces := search_query_spaces('search_chunks', query, embedding_space_id);
  END IF;
  IF org IS NULL THEN RETURN; END IF;

  -- A tenant with a graph over its sign bits (one of the largest, below the exact threshold): unless a dataset
  -- or document narrows its search, the depth nearest rows by Hamming distance come from that graph. Fewer
  -- than k rows (pgvector before 0.8 has no iterative scan to make up for rows of another space): the search
  -- below goes on as for any tenant, counted.
  IF dataset_id IS NULL AND document_id IS NULL AND graph_depth IS NOT NULL THEN
    SELECT g.ids, g.dists INTO ids, dists
      FROM search_chunks_graph_ids(query, spaces, org, dims,
                                   greatest(graph_depth, (graph_depth::bigint * k / 10)::integer),
                                   graph_ef_search, k) g;
    IF coalesce(cardinality(ids), 0) = k THEN
      RETURN QUERY
        SELECT c."id"::text, c."datasetId"::text, c."documentId"::text, c."idx"::integer, c."text"::text, c."metadata"::jsonb, r.d
          FROM unnest(ids, dists) WITH ORDINALITY AS r(id, d, n) JOIN "Chunk" c ON c."id" = r.id
         ORDER BY r.n;
      RETURN;
    END IF;
  END IF;

  IF visible IS NULL THEN
    IF dataset_id IS NULL AND document_id IS NULL AND own_index THEN
      -- Searched in its own index, uncounted (see the lookup above).
      visible := exact_rows + 1;
    ELSE
      -- A filtered call, or a tenant whose graph returned fewer than k rows: planned for its values, so that
      -- a filter that is not there costs nothing.
      PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
      SELECT count(*) INTO visible FROM (
        SELECT 1 FROM "Chunk" c
         WHERE c."organizationId" = org AND c."embeddingSpaceId" = ANY (spaces)
           AND (dataset_id IS NULL OR c."datasetId" = dataset_id)
           AND (document_id IS NULL OR c."documentId" = document_id)
         LIMIT exact_rows + 1) v;
    END IF;
  END IF;

  IF visible > exact_rows THEN
    SELECT x.ids, x.dists INTO ids, dists
      FROM search_chunks_index_ids(query, spaces, org, dims, k, dataset_id, document_id, probes, ef_search) x;
    IF coalesce(cardinality(ids), 0) = k THEN
      RETURN QUERY
        SELECT c."id"::text, c."datasetId"::text, c."documentId"::text, c."idx"::integer, c."text"::text, c."metadata"::jsonb, r.d
          FROM unnest(ids, dists) WITH ORDINALITY AS r(id, d, n) JOIN "Chunk" c ON c."id" = r.id
         ORDER BY r.n;
      RETURN;
    END IF;
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

DROP FUNCTION search_chunks_index_ids(vector, text[], text, integer, integer, text, text, integer, integer);
DROP FUNCTION search_chunks_graph_ids(vector, text[], text, integer, integer, integer, integer);
