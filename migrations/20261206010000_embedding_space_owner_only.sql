-- "EmbeddingSpace" changed by its owner only. The spaces are global: every organization's chunks, brand voices
-- and message embeddings point at them, and the table has no row-level security (the embedding-dimension
-- trigger reads it as the calling role). Until now the app login, granted DML on every table by the access
-- layer, could delete a space from any organization's session, and the foreign keys' cascades (which ignore
-- row-level security) then deleted every organization's chunks and brand voices of that space and cleared
-- their messages' embeddings; it could also rename a space or add one whose dimension every tenant's search
-- errors would then list.
--
-- As for "AuditLog" (migration 20261202040100), a statement trigger refuses INSERT, UPDATE and DELETE from any
-- role that is not a member of the table's owner, once per statement and before any row is read, so the app
-- gets a clear error even when no row matches. The spaces are the release's to manage: the seed sets write them
-- as the migrator, which acts as the owner (load-chunks only reads them). The app keeps reading them. The grants stay
-- as the access layer made them: one definition.

-- Up Migration
CREATE FUNCTION embedding_space_owner_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID), 'MEMBER') THEN
    RAISE EXCEPTION 'EmbeddingSpace is the release''s: % may read embedding spaces, not %', current_user, TG_OP
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Embedding spaces are global, shared by every organization: add or change one in a seed set (neonhub-db apply --seed), or as the migrator (DIRECT_URL).';
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION embedding_space_owner_only() IS
  'Refuses INSERT, UPDATE and DELETE on "EmbeddingSpace" from roles that are not members of its owner.';

CREATE TRIGGER embedding_space_owner_only BEFORE INSERT OR UPDATE OR DELETE ON "EmbeddingSpace"
FOR EACH STATEMENT EXECUTE FUNCTION embedding_space_owner_only();

-- Down Migration
DROP TRIGGER embedding_space_owner_only ON "EmbeddingSpace";
DROP FUNCTION embedding_space_owner_only();
