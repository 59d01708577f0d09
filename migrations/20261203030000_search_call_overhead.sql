-- Less work per call of search_chunks() / search_messages() before their search.
--
-- Why. A small or medium tenant's search is exact (ORDER BY embedding <=> query through the tenant's b-tree),
-- so the function's own work before it is all it adds to the exact query an app could write. Measured as the
-- backend's CPU time per call, interleaved with the bare exact query (a loaded machine stretches wall times,
-- not the work): 0.5-1.0 ms more for a tenant of 192 rows (1.2-2.1 ms), 1.6-2.6 ms more for one of 1,927 rows
-- (11.7-14.4 ms), and 1.5-2.3 ms more again when the query is passed as text (the Prisma example of
-- docs/search.md), where search_query_vector() ran a regular expression on each of the 1,536 components to
-- name a NaN or infinite one. See docs/search.md ("Cost of a call").
--
-- What changes:
--   * search_settings(table, dims, organization): one lookup of the settings the release measured, the
--     dimension's (search_tuning_entries()) overridden by the tenant's own index (search_tenant_indexes()),
--     instead of two function calls (search_tenant_index(), search_tuning()) and a third in the index path
--     (search_index_settings()). A plain SQL function over the two lists, so that PostgreSQL inlines it and
--     them into the search function's statement: the release still rewrites both lists with CREATE OR
--     REPLACE after each calibration (core/search/tuning.ts, core/search/tenant-indexes.ts), and the next
--     call reads the new bodies. The three former helpers stay, unused here, for any other caller.
--   * search_query_vector() looks for a bad component only when the text has an "n" or "N" (every spelling
--     of NaN and infinity has one; a vector of finite numbers never does); the messages are unchanged. This
--     takes the text form's extra cost to 0.05-0.2 ms. The single lookup made no difference measurable
--     against the noise; it is kept as the one place that says which entry wins.
--
-- The functions' SET clauses are those of 20261202060000_tenant_search_indexes.sql, restated (CREATE OR
-- REPLACE replaces them), and pgvector 0.8's iterative scans are attached again, as there.

-- Up Migration
-- Load pgvector's library first, so that its settings are known when the functions attach them.
SELECT vector_dims('[1]'::vector);

CREATE FUNCTION search_settings(table_name text, dims integer, organization_id text)
RETURNS TABLE (exact_rows integer, probes integer, ef_search integer)
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(t.exact_rows, e.exact_rows, 10000), e.probes, coalesce(t.ef_search, e.ef_search)
    FROM (SELECT 1) one
    LEFT JOIN search_tuning_entries() e
      ON e.table_name = search_settings.table_name AND e.dims = search_settings.dims
    LEFT JOIN search_tenant_indexes() t
      ON t.table_name = search_settings.table_name AND t.dims = search_settings.dims
     AND t.organization_id = search_settings.organization_id
$$;
COMMENT ON FUNCTION search_settings(text, integer, text) IS
  'The search settings for one table, dimension and tenant: exact threshold, ivfflat.probes, hnsw.ef_search (the tenant''s own index''s when it has one).';

CREATE OR REPLACE FUNCTION search_query_vector(fn text, query_text text) RETURNS vector
LANGUAGE plpgsql IMMUTABLE
SET search_path = public, pg_temp
AS $$
DECLARE
  bad record;
BEGIN
  IF query_text IS NULL THEN RETURN NULL; END IF; -- the vector overload says "query is NULL"
  -- NaN, inf and infinity all have an n; the numbers of a vector never do. The scan per component costs
  -- 2 ms for 1,536 components: only when there may be something to name.
  IF strpos(query_text, 'n') > 0 OR strpos(query_text, 'N') > 0 THEN
    SELECT u.n, btrim(u.c) AS c INTO bad
      FROM unnest(string_to_array(btrim(query_text, E'[] \t\r\n'), ',')) WITH ORDINALITY AS u(c, n)
     WHERE lower(btrim(u.c)) ~ '^[+-]?(nan|inf|infinity)$'
     ORDER BY u.n LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION '%: query component % is %, expected a finite number', fn, bad.n, bad.c
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Pass the embedding of the query text; a NaN or infinite component usually means a failed embedding call.';
    END IF;
  END IF;
  BEGIN
    -- (RETURN query... would be read as RETURN QUERY, hence the parameter's name.)
    RETURN query_text::vector;
  EXCEPTION WHEN data_exception OR invalid_text_representation THEN
    RAISE EXCEPTION '%: query is not a vector (%), expected pgvector''s text form: [x1,x2,...] with finite numbers',
                    fn, SQLERRM
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the embedding as ''['' || the numbers joined with '','' || '']''.';
  END;
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
  tenant_exact integer;
  tenant_ef integer;
BEGIN
  PERFORM search_check_k('search_chunks', k);
  spaces := search_query_spaces('search_chunks', query, embedding_space_id);
  IF org IS NULL THEN RETURN; END IF;
  dims := vector_dims(query);
  -- One of the largest tenants, with a vector index of its own (search_tenant_indexes()): its own
  -- exact threshold and ef_search.
  SELECT t.exact_rows, t.ef_search INTO tenant_exact, tenant_ef FROM search_tenant_index('Chunk', dims, org) t;
  exact_rows := coalesce(tenant_exact, (search_tuning('Chunk', dims)).exact_rows, 10000);

  SELECT count(*) INTO visible FROM (
    SELECT 1 FROM "Chunk" c
     WHERE c."organizationId" = org AND c."embeddingSpaceId" = ANY (spaces) AND c."embedding" IS NOT NULL
       AND (dataset_id IS NULL OR c."datasetId" = dataset_id)
       AND (document_id IS NULL OR c."documentId" = document_id)
     LIMIT exact_rows + 1) v;

  IF visible > exact_rows THEN
    PERFORM search_index_settings('Chunk', dims);
    IF tenant_ef IS NOT NULL THEN PERFORM set_config('hnsw.ef_search', tenant_ef::text, true); END IF;
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
  tenant_exact integer;
  tenant_ef integer;
BEGIN
  PERFORM search_check_k('search_messages', k);
  spaces := search_query_spaces('search_messages', query, embedding_space_id);
  IF org IS NULL THEN RETURN; END IF;
  dims := vector_dims(query);
  -- One of the largest tenants, with a vector index of its own (search_tenant_indexes()): its own
  -- exact threshold and ef_search.
  SELECT t.exact_rows, t.ef_search INTO tenant_exact, tenant_ef FROM search_tenant_index('Message', dims, org) t;
  exact_rows := coalesce(tenant_exact, (search_tuning('Message', dims)).exact_rows, 10000);

  SELECT count(*) INTO visible FROM (
    SELECT 1 FROM "Message" m
     WHERE m."organizationId" = org AND m."embeddingSpaceId" = ANY (spaces) AND m."embedding" IS NOT NULL
       AND (conversation_id IS NULL OR m."conversationId" = conversation_id)
     LIMIT exact_rows + 1) v;

  IF visible > exact_rows THEN
    PERFORM search_index_settings('Message', dims);
    IF tenant_ef IS NOT NULL THEN PERFORM set_config('hnsw.ef_search', tenant_ef::text, true); END IF;
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

CREATE OR REPLACE FUNCTION search_query_vector(fn text, query_text text) RETURNS vector
LANGUAGE plpgsql IMMUTABLE
SET search_path = public, pg_temp
AS $$
DECLARE
  bad record;
BEGIN
  IF query_text IS NULL THEN RETURN NULL; END IF; -- the vector overload says "query is NULL"
  SELECT u.n, btrim(u.c) AS c INTO bad
    FROM unnest(string_to_array(btrim(query_text, E'[] \t\r\n'), ',')) WITH ORDINALITY AS u(c, n)
   WHERE lower(btrim(u.c)) ~ '^[+-]?(nan|inf|infinity)$'
   ORDER BY u.n LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION '%: query component % is %, expected a finite number', fn, bad.n, bad.c
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the embedding of the query text; a NaN or infinite component usually means a failed embedding call.';
  END IF;
  BEGIN
    -- (RETURN query... would be read as RETURN QUERY, hence the parameter's name.)
    RETURN query_text::vector;
  EXCEPTION WHEN data_exception OR invalid_text_representation THEN
    RAISE EXCEPTION '%: query is not a vector (%), expected pgvector''s text form: [x1,x2,...] with finite numbers',
                    fn, SQLERRM
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the embedding as ''['' || the numbers joined with '','' || '']''.';
  END;
END
$$;
COMMENT ON FUNCTION search_query_vector(text, text) IS
  'Parses a search''s query embedding given as text, naming the first NaN or infinite component.';

DROP FUNCTION search_settings(text, integer, text);
