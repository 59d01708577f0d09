-- search_check_k()'s hint gives the whole range of k: it said only "Ask for at most 1,000 nearest rows",
-- also to a caller who passed k = 0, a negative k or NULL. Restated whole; the down migration restores it.

-- Up Migration
CREATE OR REPLACE FUNCTION search_check_k(fn text, k integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
  IF k IS NULL OR k < 1 OR k > 1000 THEN
    RAISE EXCEPTION '%: k is %, expected 1 to 1000', fn, coalesce(k::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Ask for at least 1 and at most 1,000 nearest rows; page with a narrower filter for more.';
  END IF;
END
$$;

-- Down Migration
CREATE OR REPLACE FUNCTION search_check_k(fn text, k integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE
AS $$
BEGIN
  IF k IS NULL OR k < 1 OR k > 1000 THEN
    RAISE EXCEPTION '%: k is %, expected 1 to 1000', fn, coalesce(k::text, 'NULL')
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Ask for at most 1,000 nearest rows; page with a narrower filter for more.';
  END IF;
END
$$;

