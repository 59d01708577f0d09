-- "User" behind row-level security. Until now any session of the app login could read every user's email and
-- name across all organizations. A session now sees:
--   * the users who share the organization it has set (a membership in current_organization_id()), and
--   * itself: the user the app names per transaction, like the organization,
--       SELECT set_config('app.current_user_id', $1, true);
-- A user changes or deletes only itself. Creating users (sign-up, invitations) stays open to the app: a new
-- user belongs to no organization yet. INSERT ... RETURNING (Prisma's create) returns the row only when it is
-- visible, so sign-up sets app.current_user_id to the new id first; an invitation creates the user and the
-- membership in one transaction with createMany (no RETURNING), after which the user is visible.
--
-- Sign-in comes before either setting is known: user_id_for_email() answers it, SECURITY DEFINER like the
-- API-key and slug lookups, and returns the id only.

-- Up Migration
CREATE FUNCTION current_app_user_id() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT NULLIF(current_setting('app.current_user_id', true), '') $$;
COMMENT ON FUNCTION current_app_user_id() IS
  'The signed-in user of this transaction (setting app.current_user_id), NULL when unset or empty.';

ALTER TABLE "User" ENABLE ROW LEVEL SECURITY;
-- The membership is read through its own policy (organizationId = current_organization_id()), and spelled out
-- here as well so the rule holds on its own.
CREATE POLICY user_visibility ON "User" FOR SELECT
  USING ("id" = current_app_user_id()
         OR EXISTS (SELECT 1 FROM "OrganizationMembership" m
                     WHERE m."userId" = "User"."id"
                       AND m."organizationId" = current_organization_id()));
CREATE POLICY user_sign_up ON "User" FOR INSERT
  WITH CHECK (true);
CREATE POLICY user_update_self ON "User" FOR UPDATE
  USING ("id" = current_app_user_id())
  WITH CHECK ("id" = current_app_user_id());
CREATE POLICY user_delete_self ON "User" FOR DELETE
  USING ("id" = current_app_user_id());

CREATE FUNCTION user_id_for_email(email text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT u."id" FROM public."User" u WHERE u."email" = user_id_for_email.email $$;
COMMENT ON FUNCTION user_id_for_email(text) IS
  'The id of the user with this email (sign-in), else NULL. Bypasses row-level security.';

-- Down Migration
DROP FUNCTION user_id_for_email(text);
DROP POLICY user_delete_self ON "User";
DROP POLICY user_update_self ON "User";
DROP POLICY user_sign_up ON "User";
DROP POLICY user_visibility ON "User";
ALTER TABLE "User" DISABLE ROW LEVEL SECURITY;
DROP FUNCTION current_app_user_id();
