-- A tenant's search ranks only the rows nearest by their embeddings' sign bits (a binary-quantized prefilter).
--
-- Why. Below the exact threshold, search_chunks() searches a tenant exactly: it reads every visible row, and
-- with the embedding stored in the row (20261203100000_embeddings_stored_inline.sql) that is a heap page per
-- row. Measured on 100,000 chunks × 1,536 dimensions as the app login under row-level security (npm run
-- bench:prefilter), the query alone: 1,927 rows 2.5-2.7 ms exact, 1.1-1.2 ms with the prefilter at depth 80
-- (recall@10 1); 19,331 rows 64.7 ms exact, 4.7-4.8 ms (recall 0.996-1); 192 rows no gain. See
-- docs/search.md ("The prefilter").
--
-- What changes:
--   * "Chunk"."embeddingBits": binary_quantize(embedding), one bit per dimension (192 bytes for 1,536), kept
--     by a trigger on insert and on any update of the embedding or of the bits themselves, so that COPY
--     (load-chunks), the app's inserts and Prisma never write it. Created only where pgvector has
--     binary_quantize (0.7 and later): elsewhere the column stays empty and the search never uses it.
--   * search_prefilter_entries(): per table and dimension, the depth the release calibrated (none until the
--     release has built the b-tree below and measured it; rewritten with CREATE OR REPLACE, like
--     search_tuning_entries()). No entry: no prefilter.
--   * search_settings() returns that depth too.
--   * search_chunks(): a tenant below the exact threshold with more than 8 times the depth visible rows is
--     searched through the prefilter; the rest is 20261203100100_search_count_from_index.sql's, restated.
-- The b-tree the prefilter reads ("idx_chunk_tenant_sign_bits", core/search/prefilter.ts) is built by the
-- release, CONCURRENTLY, after filling the bits of rows written before this migration: a migration runs in a
-- transaction, where a build would block writes to a table that may already be large.
-- "Message" has no prefilter: a conversation's messages are few, and its search is exact over them.

-- Up Migration
-- Load pgvector's library first, so that its settings are known when the function attaches them.
SELECT vector_dims('[1]'::vector);

ALTER TABLE "Chunk" ADD COLUMN "embeddingBits" bit varying;
COMMENT ON COLUMN "Chunk"."embeddingBits" IS
  'binary_quantize(embedding): the sign bits search_chunks() prefilters by. Kept by a trigger; never written by apps.';

DO $$
BEGIN
  IF to_regprocedure('binary_quantize(vector)') IS NOT NULL THEN
    CREATE FUNCTION chunk_embedding_bits() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
    AS $fn$
    BEGIN
      NEW."embeddingBits" := CASE WHEN NEW."embedding" IS NULL THEN NULL
                                  ELSE binary_quantize(NEW."embedding")::bit varying END;
      RETURN NEW;
    END
    $fn$;
    COMMENT ON FUNCTION chunk_embedding_bits() IS
      'Keeps "Chunk"."embeddingBits" the sign bits of "Chunk"."embedding".';
    CREATE TRIGGER chunk_embedding_bits BEFORE INSERT OR UPDATE OF "embedding", "embeddingBits" ON "Chunk"
      FOR EACH ROW EXECUTE FUNCTION chunk_embedding_bits();
  END IF;
END
$$;

CREATE FUNCTION search_prefilter_entries()
RETURNS TABLE (table_name text, dims integer, depth integer)
LANGUAGE sql STABLE
AS $$ SELECT NULL::text, NULL::integer, NULL::integer WHERE false $$;
COMMENT ON FUNCTION search_prefilter_entries() IS
  'Prefilter depths the release calibrated, per table and dimension; rewritten by each calibration.';

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
DROP FUNCTION search_settings(text, integer, text);
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

DROP FUNCTION search_prefilter_entries();
DROP TRIGGER IF EXISTS chunk_embedding_bits ON "Chunk";
DROP FUNCTION IF EXISTS chunk_embedding_bits();
ALTER TABLE "Chunk" DROP COLUMN "embeddingBits";
