-- Trigger functions that a temporary table or type of the caller cannot fool. PostgreSQL looks a relation
-- or type name up in the session's temporary schema (pg_temp) before pg_catalog and public unless the
-- search_path names pg_temp, and every login may create temporary tables (PostgreSQL grants TEMPORARY to
-- PUBLIC). The trigger functions below run as the caller (SECURITY INVOKER) with the caller's search_path and
-- named what they read unqualified, so the app login could replace what they read with a table of its own:
--   * CREATE TEMP TABLE pg_class (oid oid, relowner oid) naming the app as the owner of "EmbeddingSpace" or
--     "AuditLog": embedding_space_owner_only() and audit_log_append_only() let it through, so the app could
--     delete a global embedding space (and through the foreign keys' cascades every organization's chunks of
--     it) or its audit log (20261206010000, 20261202040100);
--   * CREATE TEMP TABLE "EmbeddingSpace" (id text, dimension int): check_embedding_dimension() took the
--     temporary dimension, so a 3-dimension vector was stored in a 3,072-dimension space; the tenant's search
--     then failed, and so did every later apply's calibration;
--   * CREATE TEMP TABLE "Dataset" / "Conversation": the tenant column was filled from it (the composite
--     foreign key and the policies still refused another organization's parent; the app's own rows could be
--     refused);
--   * search_check_filters() (called by the search functions, whose search_path already names pg_temp last,
--     and callable on its own) accepted another organization's dataset, document or conversation.
-- Functions and operators are never looked up in pg_temp (unless named pg_temp.x), so only relation and type
-- names need protecting. Two ways, by how often the function runs:
--   * statement triggers and rare row triggers get SET search_path = pg_catalog, public, pg_temp (pg_temp named
--     last is searched last): audit_log_append_only(), embedding_space_owner_only(),
--     keep_embedding_space_dimension();
--   * the row triggers of the bulk loads (load-chunks' COPY fires them for every row) and the search's filter
--     check are restated with every relation schema-qualified, behaviour otherwise unchanged:
--     check_embedding_dimension(), chunk_organization_id(), message_organization_id(),
--     chunk_embedding_bits() (whose SET clause goes: public.binary_quantize instead), search_check_filters().
--     They declare no type but pg_catalog's keywords (integer, real, double precision) and pg_catalog.text.
-- set_updated_at() names no relation and no type; current_organization_id() and current_app_user_id() read a
-- setting only (and stay inlinable into the policies). test/schema/catalog.test.ts keeps every trigger
-- function in public either with a search_path naming pg_temp last or in its list of qualified ones.
--
-- Why not SET search_path on every trigger. A function-level SET is applied and undone on every call.
-- Measured on PostgreSQL 15 (local cluster, shared 2-core machine): binary COPY of 20,000 chunks x 1,536
-- dimensions into "Chunk" (its b-trees; no vector index of that dimension), as load-chunks writes them, 8 runs
-- of each variant taking turns, median backend CPU time (the wall clock of the same variant varied 2.2-4.7 s
-- between runs on the busy machine, medians 3.25 s before, 2.60 s after, 3.29 s SET on all):
--   before this migration (SET on chunk_embedding_bits() only)          1.245 s
--   this migration (qualified names, no SET on the three row triggers)   1.195 s  (-4%)
--   SET search_path on all three row triggers of "Chunk" instead         1.29 s   (+3.6% over before, +8% over this)
-- An earlier round, INSERT ... SELECT of the same rows into an unlogged copy of "Chunk" with the same three
-- triggers (10 runs): 0.805 s without any SET, 0.835 s as before, 0.89 s with SET on all three, 0.37 s without
-- the triggers.

-- Up Migration
ALTER FUNCTION audit_log_append_only() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION embedding_space_owner_only() SET search_path = pg_catalog, public, pg_temp;
ALTER FUNCTION keep_embedding_space_dimension() SET search_path = pg_catalog, public, pg_temp;

CREATE OR REPLACE FUNCTION check_embedding_dimension() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  expected integer;
  norm double precision;
  bad_index integer;
  bad_value real;
BEGIN
  IF NEW."embeddingSpaceId" IS NULL THEN
    -- The space was cleared and the embedding left as it was: the space's deletion (ON DELETE SET NULL),
    -- whose vectors go with it. A statement that gives an embedding of its own is refused below instead.
    IF TG_OP = 'UPDATE' AND OLD."embeddingSpaceId" IS NOT NULL
       AND NEW."embedding" IS NOT DISTINCT FROM OLD."embedding" THEN
      NEW."embedding" := NULL;
    END IF;
    IF NEW."embedding" IS NOT NULL THEN
      RAISE EXCEPTION '% "%" has an embedding but no "embeddingSpaceId"', TG_TABLE_NAME, NEW."id"
        USING ERRCODE = 'not_null_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embeddingSpaceId',
              HINT = 'Name the embedding space the vector was made in.';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW."embedding" IS NULL THEN
    RETURN NEW;
  END IF;
  SELECT s."dimension" INTO expected FROM public."EmbeddingSpace" s WHERE s."id" = NEW."embeddingSpaceId";
  -- Fail closed: a space this session cannot see (missing, or hidden by a row-level security policy) is
  -- never taken as a match.
  IF NOT FOUND THEN
    RAISE EXCEPTION '% "%": embedding space "%" does not exist', TG_TABLE_NAME, NEW."id", NEW."embeddingSpaceId"
      USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embeddingSpaceId';
  END IF;
  IF public.vector_dims(NEW."embedding") <> expected THEN
    RAISE EXCEPTION '% "%": the embedding has % dimensions, but embedding space "%" has %',
                    TG_TABLE_NAME, NEW."id", public.vector_dims(NEW."embedding"), NEW."embeddingSpaceId", expected
      USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embedding',
            HINT = 'Embed with the model of that space, or store the vector under the space of its model.';
  END IF;
  norm := public.vector_norm(NEW."embedding");
  IF norm = 0 THEN
    RAISE EXCEPTION '% "%": the embedding is the zero vector, whose cosine distance to anything is undefined',
                    TG_TABLE_NAME, NEW."id"
      USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embedding',
            HINT = 'Store the embedding the model returned (it has a nonzero component), or NULL until there is one.';
  END IF;
  -- Above 2,000 dimensions the index is over halfvec (core/vector-indexes/spec.ts, VECTOR_MAX_INDEX_DIM).
  IF expected > 2000 AND norm > 65504 THEN
    SELECT u.i - 1, u.v INTO bad_index, bad_value
      FROM unnest(NEW."embedding"::real[]) WITH ORDINALITY AS u(v, i)
     WHERE abs(u.v) > 65504
     ORDER BY u.i
     LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION '% "%": embedding value % is %, beyond ±65504, the largest a halfvec holds',
                      TG_TABLE_NAME, NEW."id", bad_index, bad_value
        USING ERRCODE = 'numeric_value_out_of_range', TABLE = TG_TABLE_NAME, COLUMN = 'embedding',
              DETAIL = format('Embedding space "%s" has %s dimensions; above 2,000 its vector index stores halfvec.',
                              NEW."embeddingSpaceId", expected),
              HINT = 'Store the embedding the model returned (embedding models return values near 1 or below), or normalize it to unit length.';
    END IF;
  END IF;
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION chunk_organization_id() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  -- Always the parent's, whatever the row says (the column default included): the tenant is derived, never
  -- chosen. A parent the caller cannot see gives NULL, which row-level security then refuses.
  NEW."organizationId" := (SELECT s."organizationId" FROM public."Dataset" s WHERE s."id" = NEW."datasetId");
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION message_organization_id() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  -- Always the parent's, whatever the row says (the column default included): the tenant is derived, never
  -- chosen. A parent the caller cannot see gives NULL, which row-level security then refuses.
  NEW."organizationId" := (SELECT v."organizationId" FROM public."Conversation" v WHERE v."id" = NEW."conversationId");
  RETURN NEW;
END
$$;

-- Created only where pgvector has binary_quantize (migration 20261203120000).
DO $$
BEGIN
  IF to_regprocedure('chunk_embedding_bits()') IS NOT NULL THEN
    CREATE OR REPLACE FUNCTION chunk_embedding_bits() RETURNS trigger
    LANGUAGE plpgsql
    AS $fn$
    BEGIN
      NEW."embeddingBits" := CASE WHEN NEW."embedding" IS NULL THEN NULL
                                  ELSE public.binary_quantize(NEW."embedding")::bit varying END;
      RETURN NEW;
    END
    $fn$;
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION search_check_filters(fn text, dataset_id text, document_id text, conversation_id text)
RETURNS void
LANGUAGE plpgsql STABLE SECURITY INVOKER
AS $$
DECLARE
  document_dataset pg_catalog.text;
BEGIN
  IF dataset_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public."Dataset" d WHERE d."id" = dataset_id) THEN
    RAISE EXCEPTION '%: dataset_id % names no dataset of this organization', fn, quote_literal(dataset_id)
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the "id" of a "Dataset" row of the organization in app.current_organization_id, or NULL to search all of its datasets.';
  END IF;
  IF document_id IS NOT NULL THEN
    SELECT d."datasetId" INTO document_dataset FROM public."Document" d WHERE d."id" = document_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION '%: document_id % names no document of this organization', fn, quote_literal(document_id)
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Pass the "id" of a "Document" row of the organization in app.current_organization_id, or NULL to search every document.';
    END IF;
    IF dataset_id IS NOT NULL AND document_dataset <> dataset_id THEN
      RAISE EXCEPTION '%: document_id % is in dataset %, not in dataset_id %',
                      fn, quote_literal(document_id), quote_literal(document_dataset), quote_literal(dataset_id)
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Pass the document''s own dataset, or leave dataset_id NULL when a document is named.';
    END IF;
  END IF;
  IF conversation_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public."Conversation" c WHERE c."id" = conversation_id) THEN
    RAISE EXCEPTION '%: conversation_id % names no conversation of this organization', fn, quote_literal(conversation_id)
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the "id" of a "Conversation" row of the organization in app.current_organization_id, or NULL to search all of its messages.';
  END IF;
END
$$;

-- Down Migration
ALTER FUNCTION audit_log_append_only() RESET search_path;
ALTER FUNCTION embedding_space_owner_only() RESET search_path;
ALTER FUNCTION keep_embedding_space_dimension() RESET search_path;

CREATE OR REPLACE FUNCTION check_embedding_dimension() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  expected integer;
  norm double precision;
  bad_index integer;
  bad_value real;
BEGIN
  IF NEW."embeddingSpaceId" IS NULL THEN
    -- The space was cleared and the embedding left as it was: the space's deletion (ON DELETE SET NULL),
    -- whose vectors go with it. A statement that gives an embedding of its own is refused below instead.
    IF TG_OP = 'UPDATE' AND OLD."embeddingSpaceId" IS NOT NULL
       AND NEW."embedding" IS NOT DISTINCT FROM OLD."embedding" THEN
      NEW."embedding" := NULL;
    END IF;
    IF NEW."embedding" IS NOT NULL THEN
      RAISE EXCEPTION '% "%" has an embedding but no "embeddingSpaceId"', TG_TABLE_NAME, NEW."id"
        USING ERRCODE = 'not_null_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embeddingSpaceId',
              HINT = 'Name the embedding space the vector was made in.';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW."embedding" IS NULL THEN
    RETURN NEW;
  END IF;
  SELECT s."dimension" INTO expected FROM "EmbeddingSpace" s WHERE s."id" = NEW."embeddingSpaceId";
  -- Fail closed: a space this session cannot see (missing, or hidden by a row-level security policy) is
  -- never taken as a match.
  IF NOT FOUND THEN
    RAISE EXCEPTION '% "%": embedding space "%" does not exist', TG_TABLE_NAME, NEW."id", NEW."embeddingSpaceId"
      USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embeddingSpaceId';
  END IF;
  IF vector_dims(NEW."embedding") <> expected THEN
    RAISE EXCEPTION '% "%": the embedding has % dimensions, but embedding space "%" has %',
                    TG_TABLE_NAME, NEW."id", vector_dims(NEW."embedding"), NEW."embeddingSpaceId", expected
      USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embedding',
            HINT = 'Embed with the model of that space, or store the vector under the space of its model.';
  END IF;
  norm := vector_norm(NEW."embedding");
  IF norm = 0 THEN
    RAISE EXCEPTION '% "%": the embedding is the zero vector, whose cosine distance to anything is undefined',
                    TG_TABLE_NAME, NEW."id"
      USING ERRCODE = 'check_violation', TABLE = TG_TABLE_NAME, COLUMN = 'embedding',
            HINT = 'Store the embedding the model returned (it has a nonzero component), or NULL until there is one.';
  END IF;
  -- Above 2,000 dimensions the index is over halfvec (core/vector-indexes/spec.ts, VECTOR_MAX_INDEX_DIM).
  IF expected > 2000 AND norm > 65504 THEN
    SELECT u.i - 1, u.v INTO bad_index, bad_value
      FROM unnest(NEW."embedding"::real[]) WITH ORDINALITY AS u(v, i)
     WHERE abs(u.v) > 65504
     ORDER BY u.i
     LIMIT 1;
    IF FOUND THEN
      RAISE EXCEPTION '% "%": embedding value % is %, beyond ±65504, the largest a halfvec holds',
                      TG_TABLE_NAME, NEW."id", bad_index, bad_value
        USING ERRCODE = 'numeric_value_out_of_range', TABLE = TG_TABLE_NAME, COLUMN = 'embedding',
              DETAIL = format('Embedding space "%s" has %s dimensions; above 2,000 its vector index stores halfvec.',
                              NEW."embeddingSpaceId", expected),
              HINT = 'Store the embedding the model returned (embedding models return values near 1 or below), or normalize it to unit length.';
    END IF;
  END IF;
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION chunk_organization_id() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  -- Always the parent's, whatever the row says (the column default included): the tenant is derived, never
  -- chosen. A parent the caller cannot see gives NULL, which row-level security then refuses.
  NEW."organizationId" := (SELECT s."organizationId" FROM "Dataset" s WHERE s."id" = NEW."datasetId");
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION message_organization_id() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  -- Always the parent's, whatever the row says (the column default included): the tenant is derived, never
  -- chosen. A parent the caller cannot see gives NULL, which row-level security then refuses.
  NEW."organizationId" := (SELECT v."organizationId" FROM "Conversation" v WHERE v."id" = NEW."conversationId");
  RETURN NEW;
END
$$;

DO $$
BEGIN
  IF to_regprocedure('chunk_embedding_bits()') IS NOT NULL THEN
    CREATE OR REPLACE FUNCTION chunk_embedding_bits() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
    AS $fn$
    BEGIN
      NEW."embeddingBits" := CASE WHEN NEW."embedding" IS NULL THEN NULL
                                  ELSE binary_quantize(NEW."embedding")::bit varying END;
      RETURN NEW;
    END
    $fn$;
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION search_check_filters(fn text, dataset_id text, document_id text, conversation_id text)
RETURNS void
LANGUAGE plpgsql STABLE SECURITY INVOKER
AS $$
DECLARE
  document_dataset text;
BEGIN
  IF dataset_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "Dataset" d WHERE d."id" = dataset_id) THEN
    RAISE EXCEPTION '%: dataset_id % names no dataset of this organization', fn, quote_literal(dataset_id)
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the "id" of a "Dataset" row of the organization in app.current_organization_id, or NULL to search all of its datasets.';
  END IF;
  IF document_id IS NOT NULL THEN
    SELECT d."datasetId" INTO document_dataset FROM "Document" d WHERE d."id" = document_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION '%: document_id % names no document of this organization', fn, quote_literal(document_id)
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Pass the "id" of a "Document" row of the organization in app.current_organization_id, or NULL to search every document.';
    END IF;
    IF dataset_id IS NOT NULL AND document_dataset <> dataset_id THEN
      RAISE EXCEPTION '%: document_id % is in dataset %, not in dataset_id %',
                      fn, quote_literal(document_id), quote_literal(document_dataset), quote_literal(dataset_id)
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Pass the document''s own dataset, or leave dataset_id NULL when a document is named.';
    END IF;
  END IF;
  IF conversation_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "Conversation" c WHERE c."id" = conversation_id) THEN
    RAISE EXCEPTION '%: conversation_id % names no conversation of this organization', fn, quote_literal(conversation_id)
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the "id" of a "Conversation" row of the organization in app.current_organization_id, or NULL to search all of its messages.';
  END IF;
END
$$;
