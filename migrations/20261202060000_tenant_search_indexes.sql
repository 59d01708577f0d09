-- Indexes of their own for the largest tenants: search_chunks() / search_messages() search one through it.
--
-- Why. Under a tenant filter that keeps a large share of the rows (the largest tenant of the benchmark holds
-- 19% of them), neither path of the search functions is fast: exact search reads every one of the tenant's
-- vectors, and the dimension's index, filtered, needed hnsw.ef_search 764 (ivfflat: 70 of 100 lists) to reach
-- recall 0.95 for queries far from the tenant's own topics; measured, 41-43% of exact search's time. A
-- partial HNSW index over one tenant's rows is an unfiltered search for that tenant: recall at the unfiltered
-- setting and a few milliseconds (docs/search.md, `npm run bench:tenant-search`).
--
-- The release builds them (core/search/tenant-indexes.ts) for the tenants holding at least a tenth of a
-- dimension's rows, after calibrating the dimension's index under the tenant filter, drops them when the
-- tenant no longer qualifies, and lists them in search_tenant_indexes() with each one's exact threshold and
-- calibrated hnsw.ef_search (rewritten with CREATE OR REPLACE, like search_tuning_entries()).
--
-- What changes in the search functions: the tenant's own entry, when listed, replaces the dimension's exact
-- threshold and ef_search; and the organization is written into the index query as a literal (like the
-- dimension), because the planner matches a partial index's predicate only against constants. Their SET
-- clauses are those of 20261202030100_search_functions.sql, restated (CREATE OR REPLACE replaces them).

-- Up Migration
-- Load pgvector's library first, so that its settings are known when the functions attach them.
SELECT vector_dims('[1]'::vector);

CREATE FUNCTION search_tenant_indexes()
RETURNS TABLE (table_name text, dims integer, organization_id text, index_name text, exact_rows integer,
               ef_search integer)
LANGUAGE sql STABLE
AS $$ SELECT NULL::text, NULL::integer, NULL::text, NULL::text, NULL::integer, NULL::integer WHERE false $$;
COMMENT ON FUNCTION search_tenant_indexes() IS
  'The tenants with a vector index of their own, per table and dimension, with its search settings; rewritten by each calibration.';

CREATE FUNCTION search_tenant_index(table_name text, dims integer, organization_id text,
                                    OUT exact_rows integer, OUT ef_search integer)
LANGUAGE sql STABLE
AS $$
  SELECT e.exact_rows, e.ef_search
    FROM (SELECT 1) one
    LEFT JOIN search_tenant_indexes() e
      ON e.table_name = search_tenant_index.table_name AND e.dims = search_tenant_index.dims
     AND e.organization_id = search_tenant_index.organization_id
$$;
COMMENT ON FUNCTION search_tenant_index(text, integer, text) IS
  'The search settings of one tenant''s own vector index (NULLs when it has none).';

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

-- pgvector 0.8's iterative index scans, as before.
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

DROP FUNCTION search_tenant_index(text, integer, text);
DROP FUNCTION search_tenant_indexes();
