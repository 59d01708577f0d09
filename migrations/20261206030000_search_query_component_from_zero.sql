-- The search's error for a NaN or infinite component of the query embedding counts the components from 0, as
-- every other message that names one does.
--
-- Why. search_query_vector() (migration 20261202060100, restated by 20261203030000 and 20261205010000) named
-- the first bad component by its position counted from 1 (WITH ORDINALITY), while load-chunks' error for a
-- chunk line's embedding and the dimension trigger's for a component beyond halfvec's range (migration
-- 20261205060000), and the index build's report of such rows, count from 0, as docs/seeds.md and
-- docs/vector-indexes.md say. So "query component 2 is NaN" meant embedding[1], and "embedding value 2"
-- embedding[2]. Counted from 0, the number is the index of the array the caller holds: the embedding API's
-- array in TypeScript or Python (embedding[2]), the JSON array of a chunk line; docs/search.md says so.
--
-- Only the number changes: the function is restated as migration 20261205010000 left it otherwise. The down
-- migration restores it.

-- Up Migration
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
    -- Counted from 0, as every message naming a component (load-chunks, the dimension trigger).
    SELECT u.n - 1 AS n, btrim(u.c) AS c INTO bad
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
    -- pgvector's message quotes the whole input (12 KB for 1,536 numbers), which would land in the app's logs:
    -- its start says what is wrong.
    RAISE EXCEPTION '%: query is not a vector (%), expected pgvector''s text form: [x1,x2,...] with finite numbers',
                    fn, CASE WHEN length(SQLERRM) > 120 THEN left(SQLERRM, 120) || '...' ELSE SQLERRM END
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the embedding as ''['' || the numbers joined with '','' || '']''.';
  END;
END
$$;

-- Down Migration
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
    -- pgvector's message quotes the whole input (12 KB for 1,536 numbers), which would land in the app's logs:
    -- its start says what is wrong.
    RAISE EXCEPTION '%: query is not a vector (%), expected pgvector''s text form: [x1,x2,...] with finite numbers',
                    fn, CASE WHEN length(SQLERRM) > 120 THEN left(SQLERRM, 120) || '...' ELSE SQLERRM END
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Pass the embedding as ''['' || the numbers joined with '','' || '']''.';
  END;
END
$$;
