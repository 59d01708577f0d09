// SET ROLE to the owner role, with errors that say what is wrong with the role instead of a stack trace.
import type { ClientBase } from "pg";
import { ReleaseError } from "./errors";
import { quoteIdentifier as quoteIdent } from "./identifiers";

export async function setOwnerRole(client: ClientBase, role: string): Promise<void> {
  try {
    await client.query(`SET ROLE ${quoteIdent(role)}`);
  } catch (error) {
    throw await ownerRoleError(client, role, error);
  }
}

/**
 * Fails as `setOwnerRole` would, and stays the login: for commands that act as the login before they act as
 * the owner role (baseline and adopt prove the schema first), so that a wrong role is named before that work.
 */
export async function checkOwnerRole(client: ClientBase, role: string): Promise<void> {
  await setOwnerRole(client, role);
  await client.query("RESET ROLE");
}

/** The error to report when `SET ROLE role` failed with `error`: ours for a role that is wrong, else as is. */
export async function ownerRoleError(client: ClientBase, role: string, error: unknown): Promise<unknown> {
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
      `Grant it: GRANT ${quoteIdent(role)} TO ${quoteIdent(user)}; or connect as a member of the owner role (the migrator).`,
      { cause: error },
    );
  }
  return error;
}
