-- A chunk whose dataset, or a message whose conversation, does not exist (or row-level security hides it) is
-- refused by the tenant-column trigger in words that name the row, the parent and the fix.
--
-- Why. The trigger fills "organizationId" from the parent (migration 20261202030000) and found none, so the
-- column stayed NULL and the insert failed with PostgreSQL's bare `null value in column "organizationId" of
-- relation "Message" violates not-null constraint` (for the owner or any role row-level security does not
-- apply to), naming neither the conversation nor the fix, or for the app login with `new row violates
-- row-level security policy for table "Message"`. The composite foreign key would have said the parent is
-- missing, but NOT NULL is checked first. The trigger now raises foreign_key_violation (23503, what the foreign
-- key says), as the dimension trigger does for an embedding space that does not exist. The lookup runs with
-- the caller's rights, so for the app login a dataset or conversation of another organization is invisible
-- and refused in the same words as one that does not exist: they tell nothing of other tenants. A row with
-- no parent id at all is left to the parent column's own NOT NULL constraint, which names it.
--
-- The functions are restated as migration 20261206020000 left them otherwise (every relation named by
-- schema: they run for every row of a bulk load); the down migration restores them.

-- Up Migration
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

-- Down Migration
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
