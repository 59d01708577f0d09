// SET ROLE to the owner role, with errors that say what is wrong with the role instead of a stack trace.
import type { ClientBase } from "pg";
import { ReleaseError, asMigratorFix } from "./errors";
import { quoteIdentifier as quoteIdent } from "./identifiers";
import { adminCommandFixFor } from "./adopt/adopting-login";

/**
 * Who should run a command that acts as the owner role, for the fix of a login that may not: the release
 * (apply, the legacy upgrade) runs as the migrator; baseline and adopt as the stack's admin, who also needs
 * CREATEDB, with --owner-role (the whole command: core/adopt/adopting-login.ts). Never "grant the owner role to
 * this login": the app and read-only logins must not own the schema.
 */
export type OwnerRoleRunner = "migrator" | { admin: "baseline" | "adopt" };

export async function setOwnerRole(
  client: ClientBase,
  role: string,
  runner: OwnerRoleRunner = "migrator",
): Promise<void> {
  try {
    await client.query(`SET ROLE ${quoteIdent(role)}`);
  } catch (error) {
    throw await ownerRoleError(client, role, error, runner);
  }
}

/**
 * Fails as `setOwnerRole` would, and stays the login: for commands that act as the login before they act as
 * the owner role (baseline and adopt prove the schema first), so that a wrong role is named before that work.
 */
export async function checkOwnerRole(
  client: ClientBase,
  role: string,
  command: "baseline" | "adopt",
): Promise<void> {
  await setOwnerRole(client, role, { admin: command });
  await client.query("RESET ROLE");
}

/** The error to report when `SET ROLE role` failed with `error`: ours for a role that is wrong, else as is. */
export async function ownerRoleError(
  client: ClientBase,
  role: string,
  error: unknown,
  runner: OwnerRoleRunner = "migrator",
): Promise<unknown> {
  const code = (error as { code?: string }).code;
  if (code === "22023" || code === "42704") {
    return new ReleaseError(
      "invalid-input",
      `--owner-role names the role "${role}", which does not exist on this server.`,
      "Name the role that owns the schema (the stack's owner role, e.g. neonhub_owner), or create it first; leave --owner-role out to create the objects as the connecting user.",
      { cause: error },
    );
  }
  if (code === "42501") {
    const user = (await client.query<{ u: string }>("SELECT session_user AS u")).rows[0]?.u ?? "this user";
    return new ReleaseError(
      "permission",
      `--owner-role "${role}": user "${user}" may not act as that role (not a member of it).`,
      runner === "migrator"
        ? asMigratorFix("the release")
        : await adminCommandFixFor(client, runner.admin, role),
      { cause: error },
    );
  }
  return error;
}
