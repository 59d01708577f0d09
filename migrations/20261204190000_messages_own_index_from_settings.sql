-- search_messages() reads whether the tenant has an index of its own from its one settings lookup, as
-- search_chunks() has since migration 20261204050000, instead of asking search_tenant_indexes() again.
--
-- Why. The tenant's own-index entry was read twice per call: once inside search_settings() (for its exact
-- threshold and hnsw.ef_search) and once more in a statement of its own, which cost search_chunks() 0.01 ms
-- of a small tenant's call. The answer is the same; the call does one lookup fewer.
--
-- What changes: only that test in search_messages(query vector, ...); the rest is restated as migration
-- 20261203180000 left it (CREATE OR REPLACE restates a plpgsql function whole), with pgvector 0.8's
-- iterative-scan settings added back, as CREATE OR REPLACE resets them. The down migration restores the
-- statement of its own.

-- Up Migration
-- Load pgvector's library first, so that its settings are known when the function attaches them.
SELECT vector_dims('[1]'::vector);

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
SELECT vector_dims('[1]'::vector);

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
