-- The search functions count a tenant's rows from a b-tree alone, and not at all for a tenant with an index of
-- its own.
--
-- Why. Before its search, search_chunks() / search_messages() counts the tenant's visible rows up to the exact
-- threshold, to choose between exact search and the index. It counted only rows with an embedding, which
-- needs each row's heap page. With embeddings kept inline (20261203100000_embeddings_stored_inline.sql) a row
-- is a page of its own, and that count of a tenant of 1,927 rows cost more than a millisecond. Now:
--   * rows are counted from the ("organizationId", "embeddingSpaceId") b-tree, an index-only scan, rows not
--     yet embedded included (a tenant with many of those may be sent to the index, whose search falls back to
--     exact search when it finds fewer than k rows, as before);
--   * a tenant with an index of its own (search_tenant_indexes(): a tenth of the dimension's rows or more,
--     far above its threshold) is not counted unless a dataset, document or conversation narrows the search:
--     counting it read up to its whole threshold (3,000 rows and more) on every call. When such a tenant has
--     shrunk below k rows its own index returns fewer than k and the search falls back to exact search.
-- The rest of both functions is 20261203030000_search_call_overhead.sql's, restated (CREATE OR REPLACE
-- replaces the SET clauses, and pgvector 0.8's iterative scans are attached again, as there).

-- Up Migration
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
  PERFORM search_check_k('search_chunks', k);
  spaces := search_query_spaces('search_chunks', query, embedding_space_id);
  IF org IS NULL THEN RETURN; END IF;
  dims := vector_dims(query);
  -- One lookup: the dimension's settings, or the tenant's own when it has an index of its own.
  SELECT s.exact_rows, s.probes, s.ef_search INTO exact_rows, probes, ef_search
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
  PERFORM search_check_k('search_chunks', k);
  spaces := search_query_spaces('search_chunks', query, embedding_space_id);
  IF org IS NULL THEN RETURN; END IF;
  dims := vector_dims(query);
  -- One lookup: the dimension's settings, or the tenant's own when it has an index of its own.
  SELECT s.exact_rows, s.probes, s.ef_search INTO exact_rows, probes, ef_search
    FROM search_settings('Chunk', dims, org) s;

  SELECT count(*) INTO visible FROM (
    SELECT 1 FROM "Chunk" c
     WHERE c."organizationId" = org AND c."embeddingSpaceId" = ANY (spaces) AND c."embedding" IS NOT NULL
       AND (dataset_id IS NULL OR c."datasetId" = dataset_id)
       AND (document_id IS NULL OR c."documentId" = document_id)
     LIMIT exact_rows + 1) v;

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

  SELECT count(*) INTO visible FROM (
    SELECT 1 FROM "Message" m
     WHERE m."organizationId" = org AND m."embeddingSpaceId" = ANY (spaces) AND m."embedding" IS NOT NULL
       AND (conversation_id IS NULL OR m."conversationId" = conversation_id)
     LIMIT exact_rows + 1) v;

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
