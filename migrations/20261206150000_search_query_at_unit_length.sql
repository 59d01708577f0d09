-- search_chunks() and search_messages() return the same rows for a query at any length, whichever path the
-- tenant's search takes: above 2,000 dimensions the index path compares the query at unit length.
--
-- Why. Above 2,000 dimensions a tenant searched through a vector index (the dimension's or its own) compares
-- the query as halfvec(n), which rounds a component below ~6e-8 in magnitude (its smallest subnormal) to 0.
-- A query whose every component is that small is a valid nonzero vector, ranked right by the exact path, but
-- became the zero halfvec there: its candidates were ranked by NaN (any rows, or none from the index, and then
-- the exact path), so the rows a call returned depended on the tenant's size. Cosine distance does not depend
-- on the query's length: the index path now ranks l2_normalize(query) (double precision), cast to halfvec,
-- and the distances returned are still computed from the query as given, in single precision, as before.
--
-- At unit length no component is beyond ±1, so halfvec's ±65504 no longer limits the query: the refusal of
-- a component beyond it (migration 20261206110000) goes, and such a query gets its rows on every path, as
-- the exact path always gave them. The stored embeddings keep that limit (the dimension trigger): the index
-- holds them as halfvec. What does limit the query's length is pgvector's cosine distance itself, computed in
-- single precision: where the squares of the query's components add up to 0 there (every one below ~3e-23)
-- or overflow (components of ~1e18 and beyond), every row is at distance 0, 1 or NaN on every path;
-- search_query_spaces(), which both functions run first, refuses such a query, at any dimension, naming its
-- norm and the fix.
--
-- The functions are restated whole, as migrations 20261206110000 and 20261206110100 left them apart from
-- these changes; the down migration restores them.

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
  -- pgvector computes a cosine distance in single precision. Where the query's squared components add up to
  -- 0 there (every one below ~3e-23) or overflow (components of ~1e18 and beyond), every row's distance to it
  -- is 0, 1 or NaN on every path: its rows would be any rows. Its distance to itself is NaN exactly then; the
  -- norm (double precision, above) says when to look. Above 2,000 dimensions the index path compares the
  -- query at unit length, so halfvec's range (±65504, nothing below ~6e-8) no longer limits it (migration
  -- 20261206150000).
  IF (norm < 1e-15 OR norm > 1e15) AND public.cosine_distance(query, query) = 'NaN' THEN
    RAISE EXCEPTION '%: query has norm %, too % for its cosine distance to be computed in single precision',
                    fn, norm, CASE WHEN norm < 1 THEN 'small' ELSE 'large' END
      USING ERRCODE = 'numeric_value_out_of_range',
            DETAIL = 'pgvector computes cosine distances in single precision, in which the sum of the query''s '
                     || 'squared components is ' || CASE WHEN norm < 1 THEN '0' ELSE 'infinite' END
                     || ': every row would be at distance 0, 1 or NaN from it.',
            HINT = 'Pass the embedding the model returned (embedding models return values near 1 or below), or normalize it to unit length: its cosine distances stay the same.';
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

-- Load pgvector's library first, so that its settings are known when the functions attach them.
SELECT vector_dims('[1]'::vector);

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
  index_query vector;
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
  -- A dataset or document this organization cannot see is named, not searched as if empty (a typo and an
  -- empty dataset looked the same). Only filtered calls pay for the lookup.
  IF dataset_id IS NOT NULL OR document_id IS NOT NULL THEN
    PERFORM search_check_filters('search_chunks', dataset_id, document_id, NULL);
  END IF;
  dims := vector_dims(query);
  -- One lookup: the dimension's settings, or the tenant's own when it has an index of its own.
  SELECT s.exact_rows, s.probes, s.ef_search, s.prefilter_depth, s.graph_index, s.graph_depth, s.graph_ef_search,
         s.prefilter_small_rows, s.prefilter_small_depth, s.own_index
    INTO exact_rows, probes, ef_search, prefilter_depth, graph_index, graph_depth, graph_ef_search,
         small_rows, small_depth, own_index
    FROM search_settings('Chunk', dims, org) s;

  -- A tenant with a graph over its sign bits (one of the largest, below the exact threshold): unless a dataset
  -- or document narrows its search, the depth nearest rows by Hamming distance come from that graph, uncounted
  -- (its count alone cost 2 ms), and are ranked by their exact distance, computed on the rows the graph's scan
  -- has already read (a graph is no index-only scan; looking each row up again by its id cost 0.3-0.4 ms of
  -- the largest tenant's 1.5-2.1 ms). The organization and the dimension are literals, to match the graph's
  -- predicate. Fewer than k rows (pgvector before 0.8 has no iterative scan to make up for rows of another
  -- space): the search below goes on as for any tenant.
  IF dataset_id IS NULL AND document_id IS NULL AND graph_depth IS NOT NULL THEN
    query_bits := binary_quantize(query)::bit varying;
    PERFORM set_config('hnsw.ef_search', graph_ef_search::text, true);
    EXECUTE format(
      'SELECT array_agg(r.id ORDER BY r.d), array_agg(r.d ORDER BY r.d) FROM ('
      '  SELECT p."id", (p."embedding" <=> $1)::float8 AS d FROM ('
      '    SELECT p."id", p."embedding" FROM "Chunk" p'
      '     WHERE p."organizationId" = %L AND p."embeddingBits" IS NOT NULL AND length(p."embeddingBits") = %s'
      '       AND p."embeddingSpaceId" = ANY ($2)'
      '     ORDER BY (p."embeddingBits"::bit(%s)) <~> $3::bit(%s) LIMIT $4) p'
      '  ORDER BY 2 LIMIT $5) r'
      ' WHERE r.d <> ''NaN''',
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
  -- index-only scan), rows not yet embedded included: only a tenant over the threshold is counted again below
  -- (embedded rows only, from a b-tree where there is one), so that no other call asks whether there is one.
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

  -- That count includes rows not yet embedded (an app creates a chunk, then writes its embedding): a tenant
  -- with few embedded rows and many waiting would be sent to the dimension's index, whose tenant filter keeps
  -- too few of the rows it reads for the recall the threshold was measured at (0.3-0.8 where exact search
  -- gives 1). Over the threshold, count again, embedded rows only, from a b-tree alone: unfiltered, from the
  -- release's count index (("organizationId", "embeddingSpaceId") over the embedded rows,
  -- core/vector-indexes/count-index.ts) where it is valid; otherwise (a dataset or document filter, or the
  -- count index being built again) from the prefilter's b-tree, which holds embedded rows only and carries
  -- the filters' columns, where the release built it (its depth is set). Only this path pays for it; a tenant
  -- below the threshold is searched among its embedded rows anyway. Without either b-tree, counting embedded
  -- rows reads each row's page (75 ms for 19,331 rows, an exact search's cost), which every call over the
  -- threshold would pay: not done (docs/search.md, "Limits").
  IF visible > exact_rows AND NOT (dataset_id IS NULL AND document_id IS NULL AND own_index) THEN
    IF dataset_id IS NULL AND document_id IS NULL AND search_count_index_valid('idx_chunk_embedded_rows') THEN
      SELECT count(*) INTO visible FROM (
        SELECT 1 FROM "Chunk" c
         WHERE c."organizationId" = org AND c."embeddingSpaceId" = ANY (spaces) AND c."embedding" IS NOT NULL
         LIMIT exact_rows + 1) v;
    ELSIF prefilter_depth IS NOT NULL THEN
      SELECT count(*) INTO visible FROM (
        SELECT 1 FROM "Chunk" c
         WHERE c."organizationId" = org AND c."embeddingSpaceId" = ANY (spaces) AND c."embeddingBits" IS NOT NULL
           AND (dataset_id IS NULL OR c."datasetId" = dataset_id)
           AND (document_id IS NULL OR c."documentId" = document_id)
         LIMIT exact_rows + 1) v;
    END IF;
  END IF;

  IF visible > exact_rows THEN
    IF probes IS NOT NULL THEN PERFORM set_config('ivfflat.probes', probes::text, true); END IF;
    IF ef_search IS NOT NULL THEN PERFORM set_config('hnsw.ef_search', ef_search::text, true); END IF;
    PERFORM set_config('enable_bitmapscan', 'off', true);
    typ := CASE WHEN dims <= 2000 THEN 'vector' ELSE 'halfvec' END || '(' || dims || ')';
    -- Above 2,000 dimensions the index compares halfvec, which holds nothing below ~6e-8 and nothing beyond
    -- ±65504: a query of tiny components became the zero halfvec there (its candidates ranked by NaN: any, or
    -- none) while the exact path ranked it right. Cosine distance does not depend on the query's length, so the
    -- index ranks the query at unit length (normalized in double precision), and the distances returned are
    -- still the query's own, in single precision (migration 20261206150000). At or below 2,000 dimensions the
    -- index compares vector, which holds any query. Separate statements: pgvector before 0.7 has no
    -- l2_normalize (nor halfvec), and PL/pgSQL parses a statement when it first runs it.
    IF dims > 2000 THEN
      index_query := l2_normalize(query);
    ELSE
      index_query := query;
    END IF;
    -- The dimension and the organization are literals: parameters would not match the partial indexes'
    -- predicates (the dimension's index, and a large tenant's own).
    EXECUTE format(
      'SELECT array_agg(r.id ORDER BY r.d), array_agg(r.d ORDER BY r.d) FROM ('
      '  SELECT a.id, (a.embedding <=> $1)::float8 AS d FROM ('
      '    SELECT c."id", c."embedding" FROM "Chunk" c'
      '     WHERE vector_dims(c."embedding") = %s AND c."organizationId" = %L AND c."embeddingSpaceId" = ANY ($2)'
      '       AND ($3::text IS NULL OR c."datasetId" = $3) AND ($4::text IS NULL OR c."documentId" = $4)'
      '     ORDER BY (c."embedding"::%s) <=> $7::%s LIMIT $5) a'
      '  ORDER BY 2 LIMIT $6) r'
      ' WHERE r.d <> ''NaN''',
      dims, org, typ, typ)
      INTO ids, dists
      USING query, spaces, dataset_id, document_id, greatest(2 * k, 40), k, index_query;
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
        SELECT r.* FROM (
          SELECT c."id"::text, c."datasetId"::text, c."documentId"::text, c."idx"::integer, c."text"::text, c."metadata"::jsonb,
                 (c."embedding" <=> query)::float8 AS d
            FROM (SELECT p."id" FROM "Chunk" p
                   WHERE p."organizationId" = org AND p."embeddingSpaceId" = ANY (spaces) AND p."embeddingBits" IS NOT NULL
                     AND length(p."embeddingBits") = dims
                     AND (dataset_id IS NULL OR p."datasetId" = dataset_id)
                     AND (document_id IS NULL OR p."documentId" = document_id)
                   ORDER BY p."embeddingBits" <~> query_bits
                   LIMIT depth) p
            JOIN "Chunk" c ON c."id" = p."id"
           ORDER BY c."embedding" <=> query
           LIMIT k) r
         WHERE r.d <> 'NaN'
         ORDER BY r.d;
      RETURN;
    END IF;
  END IF;

  -- A zero vector stored before the dimension trigger refused it (migration 20261205060100) has distance NaN,
  -- which sorts after every number: it is in the k only when fewer than k other rows are, and is left out.
  -- A row of another dimension than its space (written while the trigger was disabled) is left out as the
  -- index paths leave it out: its distance to the query cannot be computed (migration 20261206110100).
  RETURN QUERY
    SELECT r.* FROM (
      SELECT c."id"::text, c."datasetId"::text, c."documentId"::text, c."idx"::integer, c."text"::text, c."metadata"::jsonb,
             (c."embedding" <=> query)::float8 AS d
        FROM "Chunk" c
       WHERE c."organizationId" = org AND c."embeddingSpaceId" = ANY (spaces) AND c."embedding" IS NOT NULL
         AND vector_dims(c."embedding") = dims
         AND (dataset_id IS NULL OR c."datasetId" = dataset_id)
         AND (document_id IS NULL OR c."documentId" = document_id)
       ORDER BY c."embedding" <=> query
       LIMIT k) r
     WHERE r.d <> 'NaN'
     ORDER BY r.d;
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
  index_query vector;
  probes integer;
  ef_search integer;
  own_index boolean;
BEGIN
  -- As in search_chunks(): a call filtered by conversation plans each statement for its values.
  IF conversation_id IS NOT NULL THEN
    PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
  END IF;
  PERFORM search_check_k('search_messages', k);
  spaces := search_query_spaces('search_messages', query, embedding_space_id);
  IF org IS NULL THEN RETURN; END IF;
  IF conversation_id IS NOT NULL THEN
    PERFORM search_check_filters('search_messages', NULL, NULL, conversation_id);
  END IF;
  dims := vector_dims(query);
  -- One lookup: the dimension's settings, or the tenant's own when it has an index of its own, and whether
  -- it has one.
  SELECT s.exact_rows, s.probes, s.ef_search, s.own_index INTO exact_rows, probes, ef_search, own_index
    FROM search_settings('Message', dims, org) s;

  -- As in search_chunks(): a tenant with an index of its own goes there uncounted unless a conversation
  -- narrows the search; otherwise the count reads the ("organizationId", "embeddingSpaceId") b-tree alone.
  IF conversation_id IS NULL AND own_index THEN
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

  -- As in search_chunks(): rows waiting for their embedding are in that count. Over the threshold, an
  -- unfiltered search counts again, embedded rows only, from the release's count index where it is valid (an
  -- index-only scan). One conversation over the threshold is not counted again: no b-tree holds both its
  -- conversation and whether each row is embedded (docs/search.md, "Limits").
  IF visible > exact_rows AND conversation_id IS NULL AND NOT own_index
     AND search_count_index_valid('idx_message_embedded_rows') THEN
    SELECT count(*) INTO visible FROM (
      SELECT 1 FROM "Message" m
       WHERE m."organizationId" = org AND m."embeddingSpaceId" = ANY (spaces) AND m."embedding" IS NOT NULL
       LIMIT exact_rows + 1) v;
  END IF;

  IF visible > exact_rows THEN
    IF probes IS NOT NULL THEN PERFORM set_config('ivfflat.probes', probes::text, true); END IF;
    IF ef_search IS NOT NULL THEN PERFORM set_config('hnsw.ef_search', ef_search::text, true); END IF;
    PERFORM set_config('enable_bitmapscan', 'off', true);
    typ := CASE WHEN dims <= 2000 THEN 'vector' ELSE 'halfvec' END || '(' || dims || ')';
    -- As in search_chunks(): above 2,000 dimensions the index ranks the query at unit length.
    IF dims > 2000 THEN
      index_query := l2_normalize(query);
    ELSE
      index_query := query;
    END IF;
    -- The dimension and the organization are literals, as in search_chunks().
    EXECUTE format(
      'SELECT array_agg(r.id ORDER BY r.d), array_agg(r.d ORDER BY r.d) FROM ('
      '  SELECT a.id, (a.embedding <=> $1)::float8 AS d FROM ('
      '    SELECT m."id", m."embedding" FROM "Message" m'
      '     WHERE vector_dims(m."embedding") = %s AND m."organizationId" = %L AND m."embeddingSpaceId" = ANY ($2)'
      '       AND ($3::text IS NULL OR m."conversationId" = $3)'
      '     ORDER BY (m."embedding"::%s) <=> $6::%s LIMIT $4) a'
      '  ORDER BY 2 LIMIT $5) r'
      ' WHERE r.d <> ''NaN''',
      dims, org, typ, typ)
      INTO ids, dists
      USING query, spaces, conversation_id, greatest(2 * k, 40), k, index_query;
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

  -- As in search_chunks(): a zero vector stored before the trigger refused it (distance NaN) is left out, and
  -- so is a row of another dimension than its space.
  RETURN QUERY
    SELECT r.* FROM (
      SELECT m."id"::text, m."conversationId"::text, m."role"::"MessageRole", m."contentJson"::jsonb,
             m."createdAt"::timestamp(3) without time zone,
             (m."embedding" <=> query)::float8 AS d
        FROM "Message" m
       WHERE m."organizationId" = org AND m."embeddingSpaceId" = ANY (spaces) AND m."embedding" IS NOT NULL
         AND vector_dims(m."embedding") = dims
         AND (conversation_id IS NULL OR m."conversationId" = conversation_id)
       ORDER BY m."embedding" <=> query
       LIMIT k) r
     WHERE r.d <> 'NaN'
     ORDER BY r.d;
END
$$;
COMMENT ON FUNCTION search_messages(vector, integer, text, text) IS
  'The k messages of the current organization nearest to query (cosine), optionally in one conversation or embedding space. See docs/search.md.';

-- CREATE OR REPLACE resets the function's settings: pgvector 0.8's iterative scans, as before.
DO $$
BEGIN
  IF (SELECT string_to_array(extversion, '.')::int[] >= ARRAY[0, 8] FROM pg_extension WHERE extname = 'vector') THEN
    ALTER FUNCTION search_messages(vector, integer, text, text)
      SET ivfflat.iterative_scan = relaxed_order;
    ALTER FUNCTION search_messages(vector, integer, text, text)
      SET hnsw.iterative_scan = relaxed_order;
  END IF;
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

-- Load pgvector's library first, so that its settings are known when the functions attach them.
SELECT vector_dims('[1]'::vector);

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
  -- A dataset or document this organization cannot see is named, not searched as if empty (a typo and an
  -- empty dataset looked the same). Only filtered calls pay for the lookup.
  IF dataset_id IS NOT NULL OR document_id IS NOT NULL THEN
    PERFORM search_check_filters('search_chunks', dataset_id, document_id, NULL);
  END IF;
  dims := vector_dims(query);
  -- One lookup: the dimension's settings, or the tenant's own when it has an index of its own.
  SELECT s.exact_rows, s.probes, s.ef_search, s.prefilter_depth, s.graph_index, s.graph_depth, s.graph_ef_search,
         s.prefilter_small_rows, s.prefilter_small_depth, s.own_index
    INTO exact_rows, probes, ef_search, prefilter_depth, graph_index, graph_depth, graph_ef_search,
         small_rows, small_depth, own_index
    FROM search_settings('Chunk', dims, org) s;

  -- A tenant with a graph over its sign bits (one of the largest, below the exact threshold): unless a dataset
  -- or document narrows its search, the depth nearest rows by Hamming distance come from that graph, uncounted
  -- (its count alone cost 2 ms), and are ranked by their exact distance, computed on the rows the graph's scan
  -- has already read (a graph is no index-only scan; looking each row up again by its id cost 0.3-0.4 ms of
  -- the largest tenant's 1.5-2.1 ms). The organization and the dimension are literals, to match the graph's
  -- predicate. Fewer than k rows (pgvector before 0.8 has no iterative scan to make up for rows of another
  -- space): the search below goes on as for any tenant.
  IF dataset_id IS NULL AND document_id IS NULL AND graph_depth IS NOT NULL THEN
    query_bits := binary_quantize(query)::bit varying;
    PERFORM set_config('hnsw.ef_search', graph_ef_search::text, true);
    EXECUTE format(
      'SELECT array_agg(r.id ORDER BY r.d), array_agg(r.d ORDER BY r.d) FROM ('
      '  SELECT p."id", (p."embedding" <=> $1)::float8 AS d FROM ('
      '    SELECT p."id", p."embedding" FROM "Chunk" p'
      '     WHERE p."organizationId" = %L AND p."embeddingBits" IS NOT NULL AND length(p."embeddingBits") = %s'
      '       AND p."embeddingSpaceId" = ANY ($2)'
      '     ORDER BY (p."embeddingBits"::bit(%s)) <~> $3::bit(%s) LIMIT $4) p'
      '  ORDER BY 2 LIMIT $5) r'
      ' WHERE r.d <> ''NaN''',
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
  -- index-only scan), rows not yet embedded included: only a tenant over the threshold is counted again below
  -- (embedded rows only, from a b-tree where there is one), so that no other call asks whether there is one.
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

  -- That count includes rows not yet embedded (an app creates a chunk, then writes its embedding): a tenant
  -- with few embedded rows and many waiting would be sent to the dimension's index, whose tenant filter keeps
  -- too few of the rows it reads for the recall the threshold was measured at (0.3-0.8 where exact search
  -- gives 1). Over the threshold, count again, embedded rows only, from a b-tree alone: unfiltered, from the
  -- release's count index (("organizationId", "embeddingSpaceId") over the embedded rows,
  -- core/vector-indexes/count-index.ts) where it is valid; otherwise (a dataset or document filter, or the
  -- count index being built again) from the prefilter's b-tree, which holds embedded rows only and carries
  -- the filters' columns, where the release built it (its depth is set). Only this path pays for it; a tenant
  -- below the threshold is searched among its embedded rows anyway. Without either b-tree, counting embedded
  -- rows reads each row's page (75 ms for 19,331 rows, an exact search's cost), which every call over the
  -- threshold would pay: not done (docs/search.md, "Limits").
  IF visible > exact_rows AND NOT (dataset_id IS NULL AND document_id IS NULL AND own_index) THEN
    IF dataset_id IS NULL AND document_id IS NULL AND search_count_index_valid('idx_chunk_embedded_rows') THEN
      SELECT count(*) INTO visible FROM (
        SELECT 1 FROM "Chunk" c
         WHERE c."organizationId" = org AND c."embeddingSpaceId" = ANY (spaces) AND c."embedding" IS NOT NULL
         LIMIT exact_rows + 1) v;
    ELSIF prefilter_depth IS NOT NULL THEN
      SELECT count(*) INTO visible FROM (
        SELECT 1 FROM "Chunk" c
         WHERE c."organizationId" = org AND c."embeddingSpaceId" = ANY (spaces) AND c."embeddingBits" IS NOT NULL
           AND (dataset_id IS NULL OR c."datasetId" = dataset_id)
           AND (document_id IS NULL OR c."documentId" = document_id)
         LIMIT exact_rows + 1) v;
    END IF;
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
      '  ORDER BY 2 LIMIT $6) r'
      ' WHERE r.d <> ''NaN''',
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
        SELECT r.* FROM (
          SELECT c."id"::text, c."datasetId"::text, c."documentId"::text, c."idx"::integer, c."text"::text, c."metadata"::jsonb,
                 (c."embedding" <=> query)::float8 AS d
            FROM (SELECT p."id" FROM "Chunk" p
                   WHERE p."organizationId" = org AND p."embeddingSpaceId" = ANY (spaces) AND p."embeddingBits" IS NOT NULL
                     AND length(p."embeddingBits") = dims
                     AND (dataset_id IS NULL OR p."datasetId" = dataset_id)
                     AND (document_id IS NULL OR p."documentId" = document_id)
                   ORDER BY p."embeddingBits" <~> query_bits
                   LIMIT depth) p
            JOIN "Chunk" c ON c."id" = p."id"
           ORDER BY c."embedding" <=> query
           LIMIT k) r
         WHERE r.d <> 'NaN'
         ORDER BY r.d;
      RETURN;
    END IF;
  END IF;

  -- A zero vector stored before the dimension trigger refused it (migration 20261205060100) has distance NaN,
  -- which sorts after every number: it is in the k only when fewer than k other rows are, and is left out.
  -- A row of another dimension than its space (written while the trigger was disabled) is left out as the
  -- index paths leave it out: its distance to the query cannot be computed (migration 20261206110100).
  RETURN QUERY
    SELECT r.* FROM (
      SELECT c."id"::text, c."datasetId"::text, c."documentId"::text, c."idx"::integer, c."text"::text, c."metadata"::jsonb,
             (c."embedding" <=> query)::float8 AS d
        FROM "Chunk" c
       WHERE c."organizationId" = org AND c."embeddingSpaceId" = ANY (spaces) AND c."embedding" IS NOT NULL
         AND vector_dims(c."embedding") = dims
         AND (dataset_id IS NULL OR c."datasetId" = dataset_id)
         AND (document_id IS NULL OR c."documentId" = document_id)
       ORDER BY c."embedding" <=> query
       LIMIT k) r
     WHERE r.d <> 'NaN'
     ORDER BY r.d;
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
  own_index boolean;
BEGIN
  -- As in search_chunks(): a call filtered by conversation plans each statement for its values.
  IF conversation_id IS NOT NULL THEN
    PERFORM set_config('plan_cache_mode', 'force_custom_plan', true);
  END IF;
  PERFORM search_check_k('search_messages', k);
  spaces := search_query_spaces('search_messages', query, embedding_space_id);
  IF org IS NULL THEN RETURN; END IF;
  IF conversation_id IS NOT NULL THEN
    PERFORM search_check_filters('search_messages', NULL, NULL, conversation_id);
  END IF;
  dims := vector_dims(query);
  -- One lookup: the dimension's settings, or the tenant's own when it has an index of its own, and whether
  -- it has one.
  SELECT s.exact_rows, s.probes, s.ef_search, s.own_index INTO exact_rows, probes, ef_search, own_index
    FROM search_settings('Message', dims, org) s;

  -- As in search_chunks(): a tenant with an index of its own goes there uncounted unless a conversation
  -- narrows the search; otherwise the count reads the ("organizationId", "embeddingSpaceId") b-tree alone.
  IF conversation_id IS NULL AND own_index THEN
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

  -- As in search_chunks(): rows waiting for their embedding are in that count. Over the threshold, an
  -- unfiltered search counts again, embedded rows only, from the release's count index where it is valid (an
  -- index-only scan). One conversation over the threshold is not counted again: no b-tree holds both its
  -- conversation and whether each row is embedded (docs/search.md, "Limits").
  IF visible > exact_rows AND conversation_id IS NULL AND NOT own_index
     AND search_count_index_valid('idx_message_embedded_rows') THEN
    SELECT count(*) INTO visible FROM (
      SELECT 1 FROM "Message" m
       WHERE m."organizationId" = org AND m."embeddingSpaceId" = ANY (spaces) AND m."embedding" IS NOT NULL
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
      '  ORDER BY 2 LIMIT $5) r'
      ' WHERE r.d <> ''NaN''',
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

  -- As in search_chunks(): a zero vector stored before the trigger refused it (distance NaN) is left out, and
  -- so is a row of another dimension than its space.
  RETURN QUERY
    SELECT r.* FROM (
      SELECT m."id"::text, m."conversationId"::text, m."role"::"MessageRole", m."contentJson"::jsonb,
             m."createdAt"::timestamp(3) without time zone,
             (m."embedding" <=> query)::float8 AS d
        FROM "Message" m
       WHERE m."organizationId" = org AND m."embeddingSpaceId" = ANY (spaces) AND m."embedding" IS NOT NULL
         AND vector_dims(m."embedding") = dims
         AND (conversation_id IS NULL OR m."conversationId" = conversation_id)
       ORDER BY m."embedding" <=> query
       LIMIT k) r
     WHERE r.d <> 'NaN'
     ORDER BY r.d;
END
$$;
COMMENT ON FUNCTION search_messages(vector, integer, text, text) IS
  'The k messages of the current organization nearest to query (cosine), optionally in one conversation or embedding space. See docs/search.md.';

-- CREATE OR REPLACE resets the function's settings: pgvector 0.8's iterative scans, as before.
DO $$
BEGIN
  IF (SELECT string_to_array(extversion, '.')::int[] >= ARRAY[0, 8] FROM pg_extension WHERE extname = 'vector') THEN
    ALTER FUNCTION search_messages(vector, integer, text, text)
      SET ivfflat.iterative_scan = relaxed_order;
    ALTER FUNCTION search_messages(vector, integer, text, text)
      SET hnsw.iterative_scan = relaxed_order;
  END IF;
END
$$;
