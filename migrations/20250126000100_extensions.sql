-- Extensions the schema needs: pgvector (`vector`, `halfvec`) for embeddings and `uuid-ossp` for UUID helpers.
--
-- pgvector is not a trusted extension: only a superuser (rds_superuser on Amazon RDS) may create it. In the
-- deployed stacks the access layer creates both extensions as the administrator before any migration runs,
-- so `CREATE EXTENSION IF NOT EXISTS` is a no-op there; it does the work where the migrator may (a local
-- superuser). When pgvector is missing or may not be created, the check below says what to do instead of
-- PostgreSQL's bare "could not open extension control file". halfvec (pgvector 0.7.0) is required because
-- embeddings of more than 2,000 dimensions are indexed as halfvec expressions.

-- Up Migration
DO $$
DECLARE
  installed text;
BEGIN
  SELECT extversion INTO installed FROM pg_catalog.pg_extension WHERE extname = 'vector';
  IF installed IS NULL THEN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'vector') THEN
      RAISE EXCEPTION 'pgvector (the "vector" extension) is not installed on this PostgreSQL server'
        USING ERRCODE = 'feature_not_supported',
              HINT = 'Install pgvector 0.7.0 or newer on the server (https://github.com/pgvector/pgvector: '
                     'the postgresql-<major>-pgvector package, or the pgvector/pgvector Docker image; Amazon RDS '
                     'ships it), then run CREATE EXTENSION vector; in this database as an administrator.';
    END IF;
    BEGIN
      CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE EXCEPTION 'pgvector is installed on this server but not enabled in database "%", and role "%" may not enable it',
                      current_database(), current_user
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'pgvector is not a trusted extension: connect to this database as an administrator '
                     '(superuser, or rds_superuser on Amazon RDS), run CREATE EXTENSION vector; and apply the '
                     'migrations again.';
    END;
    SELECT extversion INTO installed FROM pg_catalog.pg_extension WHERE extname = 'vector';
  END IF;
  IF string_to_array(installed, '.')::int[] < ARRAY[0, 7] THEN
    RAISE EXCEPTION 'pgvector % is too old: this schema needs 0.7.0 or newer (for halfvec)', installed
      USING ERRCODE = 'feature_not_supported',
            HINT = 'Install a newer pgvector on the server, then run ALTER EXTENSION vector UPDATE; as an administrator.';
  END IF;
END
$$;

CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;

-- Down Migration
-- An extension stays when another role owns it: the administrator enabled it for the whole stack, and the
-- migrations did not create it.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_roles r ON r.oid = e.extowner
             WHERE e.extname = 'uuid-ossp' AND r.rolname = current_user) THEN
    DROP EXTENSION "uuid-ossp";
  END IF;
  IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_roles r ON r.oid = e.extowner
             WHERE e.extname = 'vector' AND r.rolname = current_user) THEN
    DROP EXTENSION vector;
  END IF;
END
$$;
