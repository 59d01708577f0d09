-- "createdAt"/"updatedAt" kept by the database, so that writes that bypass Prisma (raw SQL, COPY loads,
-- psql fixes) keep them right too.
--
-- Columns are `timestamp(3)` (Prisma's `DateTime`), which Prisma reads and writes as UTC wall-clock time.
-- Defaults and the trigger therefore use timezone('UTC', now()), not CURRENT_TIMESTAMP: the latter is the
-- session's local time and would be hours off on a server or laptop that is not set to UTC.
-- Tables attach the trigger as: CREATE TRIGGER set_updated_at BEFORE UPDATE ON "T" FOR EACH ROW
-- EXECUTE FUNCTION set_updated_at();

-- Up Migration
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW."updatedAt" := timezone('UTC', now());
  RETURN NEW;
END
$$;
COMMENT ON FUNCTION set_updated_at() IS 'Sets "updatedAt" to the current UTC time on every UPDATE.';

-- Down Migration
DROP FUNCTION set_updated_at();
