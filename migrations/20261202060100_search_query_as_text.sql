-- The search entry points also take the query embedding as text, so that a bad component is named.
--
-- Why. search_chunks(query vector, ...) never sees a NaN or infinite component: pgvector refuses it while
-- the caller's `$1::vector` is cast, with "NaN not allowed in vector", which names neither the argument nor
-- what was expected. Called with the text itself (an untyped parameter or literal resolves to these
-- overloads: PostgreSQL prefers text for an unknown-typed argument), the search checks each component
-- first:
--
--   SELECT * FROM search_chunks($1, 10);   -- $1 = '[0.1,NaN,...]'
--   ERROR:  search_chunks: query component 2 is NaN, expected a finite number
--
-- and then runs the vector overload, whose checks (NULL, zero vector, dimension, space, k) and search are
-- unchanged. A call with `$1::vector` goes to the vector overload as before.
--
-- The overloads are written CREATE OR REPLACE although none exists: the release's pre-flight looks up the
-- objects a migration creates by name, and would take the vector overloads for a collision.

-- Up Migration
CREATE FUNCTION search_query_vector(fn text, query_text text) RETURNS vector
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

CREATE OR REPLACE FUNCTION search_chunks(
  query text,
  k integer DEFAULT 10,
  dataset_id text DEFAULT NULL,
  embedding_space_id text DEFAULT NULL,
  document_id text DEFAULT NULL
)
RETURNS TABLE (
  "id" text, "datasetId" text, "documentId" text, "idx" integer, "text" text, "metadata" jsonb,
  "distance" double precision
)
LANGUAGE sql STABLE SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
  SELECT * FROM search_chunks(search_query_vector('search_chunks', query), k, dataset_id, embedding_space_id,
                              document_id)
$$;
COMMENT ON FUNCTION search_chunks(text, integer, text, text, text) IS
  'search_chunks() with the query embedding as text: a NaN or infinite component is named. See docs/search.md.';

CREATE OR REPLACE FUNCTION search_messages(
  query text,
  k integer DEFAULT 10,
  conversation_id text DEFAULT NULL,
  embedding_space_id text DEFAULT NULL
)
RETURNS TABLE (
  "id" text, "conversationId" text, "role" "MessageRole", "contentJson" jsonb,
  "createdAt" timestamp(3) without time zone, "distance" double precision
)
LANGUAGE sql STABLE SECURITY INVOKER
SET search_path = public, pg_temp
AS $$
  SELECT * FROM search_messages(search_query_vector('search_messages', query), k, conversation_id,
                                embedding_space_id)
$$;
COMMENT ON FUNCTION search_messages(text, integer, text, text) IS
  'search_messages() with the query embedding as text: a NaN or infinite component is named. See docs/search.md.';

-- Down Migration
DROP FUNCTION search_messages(text, integer, text, text);
DROP FUNCTION search_chunks(text, integer, text, text, text);
DROP FUNCTION search_query_vector(text, text);
