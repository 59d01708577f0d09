-- A chunk or message written under row-level security with no organization set is refused in words that say
-- so, with the policy's SQLSTATE 42501, instead of naming its dataset (conversation) as one that does not exist.
--
-- Why. The tenant-column trigger looks the parent up with the caller's rights (migration 20261206150100). With
-- no app.current_organization_id, row-level security hides every dataset and conversation, so an app that
-- forgot to set its organization was told `Chunk "c1": dataset "ds1" does not exist` (SQLSTATE 23503) about a
-- dataset that exists, sending the developer to look for a missing row; through Prisma, which maps 23503 to
-- its own "Foreign key constraint violated on the fields: (`datasetId`)", it read as a wrong id. Every other
-- tenant table refuses such an insert with the policy's `new row violates row-level security policy` (42501),
-- which Prisma shows with the database's message. The refusal now says that no organization is set and how to
-- set it, with 42501. It tells the caller only about its own session, so it says nothing of other tenants; a
-- session with an organization set keeps the words of a missing parent, and so does a role row-level security
-- does not apply to (the owner, load-chunks). The check runs only on the refusal's path, never per row.
--
-- The functions are restated as migration 20261206150100 left them otherwise (every relation and function
-- named by schema: they run for every row of a bulk load); the down migration restores them.

-- Up Migration
CREATE OR REPLACE FUNCTION chunk_organization_id() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  -- Always the parent's, whatever the row says (the column default included): the tenant is derived, never
  -- chosen. A parent the caller cannot see reads as one that does not exist.
  NEW."organizationId" := (SELECT s."organizationId" FROM public."Dataset" s WHERE s."id" = NEW."datasetId");
  IF NEW."organizationId" IS NULL AND NEW."datasetId" IS NOT NULL THEN
    IF public.current_organization_id() IS NULL AND pg_catalog.row_security_active('public."Dataset"') THEN
      RAISE EXCEPTION 'Chunk "%": no organization is set (app.current_organization_id), so no dataset is visible, "%" included',
                      NEW."id", NEW."datasetId"
        USING ERRCODE = 'insufficient_privilege', TABLE = 'Chunk', COLUMN = 'organizationId',
              HINT = 'Set the organization first, in the same transaction: '
                     'SELECT set_config(''app.current_organization_id'', <the organization''s id>, true).';
    END IF;
    RAISE EXCEPTION 'Chunk "%": dataset "%" does not exist', NEW."id", NEW."datasetId"
      USING ERRCODE = 'foreign_key_violation', TABLE = 'Chunk', COLUMN = 'datasetId',
            HINT = 'Create the dataset first, or give the "id" of an existing one; under row-level security only '
                   'the datasets of the organization in app.current_organization_id count.';
  END IF;
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION message_organization_id() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  -- As chunk_organization_id(): the conversation's tenant, and a conversation the caller cannot see reads as
  -- one that does not exist.
  NEW."organizationId" := (SELECT v."organizationId" FROM public."Conversation" v WHERE v."id" = NEW."conversationId");
  IF NEW."organizationId" IS NULL AND NEW."conversationId" IS NOT NULL THEN
    IF public.current_organization_id() IS NULL AND pg_catalog.row_security_active('public."Conversation"') THEN
      RAISE EXCEPTION 'Message "%": no organization is set (app.current_organization_id), so no conversation is visible, "%" included',
                      NEW."id", NEW."conversationId"
        USING ERRCODE = 'insufficient_privilege', TABLE = 'Message', COLUMN = 'organizationId',
              HINT = 'Set the organization first, in the same transaction: '
                     'SELECT set_config(''app.current_organization_id'', <the organization''s id>, true).';
    END IF;
    RAISE EXCEPTION 'Message "%": conversation "%" does not exist', NEW."id", NEW."conversationId"
      USING ERRCODE = 'foreign_key_violation', TABLE = 'Message', COLUMN = 'conversationId',
            HINT = 'Create the conversation first, or give the "id" of an existing one; under row-level security '
                   'only the conversations of the organization in app.current_organization_id count.';
  END IF;
  RETURN NEW;
END
$$;

-- Down Migration
CREATE OR REPLACE FUNCTION chunk_organization_id() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  -- Always the parent's, whatever the row says (the column default included): the tenant is derived, never
  -- chosen. A parent the caller cannot see reads as one that does not exist.
  NEW."organizationId" := (SELECT s."organizationId" FROM public."Dataset" s WHERE s."id" = NEW."datasetId");
  IF NEW."organizationId" IS NULL AND NEW."datasetId" IS NOT NULL THEN
    RAISE EXCEPTION 'Chunk "%": dataset "%" does not exist', NEW."id", NEW."datasetId"
      USING ERRCODE = 'foreign_key_violation', TABLE = 'Chunk', COLUMN = 'datasetId',
            HINT = 'Create the dataset first, or give the "id" of an existing one; under row-level security only '
                   'the datasets of the organization in app.current_organization_id count.';
  END IF;
  RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION message_organization_id() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  -- As chunk_organization_id(): the conversation's tenant, and a conversation the caller cannot see reads as
  -- one that does not exist.
  NEW."organizationId" := (SELECT v."organizationId" FROM public."Conversation" v WHERE v."id" = NEW."conversationId");
  IF NEW."organizationId" IS NULL AND NEW."conversationId" IS NOT NULL THEN
    RAISE EXCEPTION 'Message "%": conversation "%" does not exist', NEW."id", NEW."conversationId"
      USING ERRCODE = 'foreign_key_violation', TABLE = 'Message', COLUMN = 'conversationId',
            HINT = 'Create the conversation first, or give the "id" of an existing one; under row-level security '
                   'only the conversations of the organization in app.current_organization_id count.';
  END IF;
  RETURN NEW;
END
$$;
