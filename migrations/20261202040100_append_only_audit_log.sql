-- "AuditLog" append-only for everyone but its owner. The app login inserts its organization's entries and
-- reads them (the tenant_isolation policy); it can no longer change or delete them, so a compromised app
-- cannot cover its tracks. Only the owner (the migrator acting as it) changes or prunes the log: the retention
-- job in docs/security.md runs with DIRECT_URL.
--
-- A statement trigger refuses UPDATE and DELETE from any role that is not a member of the table's owner: it
-- fires once per statement, before any row is read, so the app gets a clear error even when no row matches
-- (the tenant policy alone would make another organization's rows silently not found). TRUNCATE is not
-- granted to the app at all (access layer). The grants stay as the access layer made them: one definition.

-- Up Migration
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NOT pg_has_role(current_user, (SELECT c.relowner FROM pg_class c WHERE c.oid = TG_RELID), 'MEMBER') THEN
    RAISE EXCEPTION 'AuditLog is append-only: % may insert and read entries, not %', current_user, TG_OP
      USING ERRCODE = 'insufficient_privilege',
            HINT = 'Only the owner changes or prunes the audit log (the retention job, with DIRECT_URL).';
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION audit_log_append_only() IS
  'Refuses UPDATE and DELETE on "AuditLog" from roles that are not members of its owner.';

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON "AuditLog"
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Down Migration
DROP TRIGGER audit_log_append_only ON "AuditLog";
DROP FUNCTION audit_log_append_only();
