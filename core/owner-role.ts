// SET ROLE to the owner role, with errors that say what is wrong with the role instead of a stack trace.
import type { ClientBase } from "pg";
import { ReleaseError, asMigratorFix } from "./errors";
import { quoteIdentifier as quoteIdent } from "./identifiers";
import { adminCommandFixFor } from "./adopt/adopting-login";
import { ownerRoleFlag } from "./owner-role-flag";

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
 * Acts as the owner role as `setOwnerRole` does (failing as it would), for a read-only command that previews
 * what one acting as it would do (plan, the revert preview, plan --upgrade-legacy and the check whether a
 * legacy upgrade is needed): every read is then the one that command makes, where the login alone
 * may read differently (a member of the role without INHERIT may not read the release's records; row-level
 * security hides rows from the login that the role owns). Gives back what puts the session's role back as it
 * was, for a session that goes on after it (a ReleaseSession's status or verify reads as the login). The
 * command writes nothing, whichever role it reads as.
 */
export async function actAsOwnerRole(
  client: ClientBase,
  role: string,
  runner: OwnerRoleRunner = "migrator",
): Promise<() => Promise<void>> {
  const { rows } = await client.query<{ was: string }>("SELECT current_setting('role') AS was");
  await setOwnerRole(client, role, runner);
  const was = rows[0]!.was;
  return async () => {
    await client.query("SELECT set_config('role', $1, false)", [was]);
  };
}

/**
 * `read` run acting as `role` (actAsOwnerRole), or as the session is when no role is given. The role is put
 * back after a success, and stays set after an error, for the error's diagnosis to read as the command it
 * previews would (describeSessionError).
 */
export async function readAsOwnerRole<T>(
  client: ClientBase,
  role: string | undefined,
  read: () => Promise<T>,
): Promise<T> {
  if (!role) return read();
  const restoreRole = await actAsOwnerRole(client, role);
  const value = await read();
  await restoreRole();
  return value;
}

/**
 * Fails as `setOwnerRole` would, and stays the login, writing nothing: for commands that act as the login
 * before they act as the owner role (baseline and adopt prove the schema first), so that a wrong role is named
 * before that work, and for apply's refusal after its SET ROLE went with a failed statement (the previews act
 * as the role instead: actAsOwnerRole). The role is set for the statement alone: whatever role the session
 * had set stays. Outside a transaction block only: in a caller's, a refused role aborts it.
 */
export async function checkOwnerRole(
  client: ClientBase,
  role: string,
  runner: OwnerRoleRunner = "migrator",
): Promise<void> {
  // Not BEGIN; SET LOCAL ROLE; ROLLBACK: a connection sends its session settings (the lock_timeout that bounds
  // the command's reads) in the same message as its first query (core/connection.ts), and a BEGIN there takes
  // them into the transaction the ROLLBACK undoes. set_config with is_local is SET LOCAL ROLE, with its checks;
  // the second call puts the role back within the same statement, and a statement with parameters never
  // shares the settings' message.
  const { rows } = await client.query<{ was: string }>("SELECT current_setting('role') AS was");
  try {
    await client.query("SELECT set_config('role', $1, true), set_config('role', $2, true)", [
      role,
      rows[0]!.was,
    ]);
  } catch (error) {
    throw await ownerRoleError(client, role, error, runner);
  }
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
    const login = await loginAndDatabaseOwner(client, role);
    // The login may act as the role, and a statement run as it was refused: say that, not "not a member".
    if (login.memberOfRole) {
      return new ReleaseError(
        "permission",
        `--owner-role "${role}": user "${login.user}" may act as that role, but as "${role}" it was refused: ${(error as Error).message}.`,
        `Name the role that owns the release's objects, the stack's owner role (this database's owner is "${login.owner}"): ${ownerRoleFlag(login.owner)}.`,
        { cause: error },
      );
    }
    return new ReleaseError(
      "permission",
      `--owner-role "${role}": user "${login.user}" may not act as that role (not a member of it).`,
      runner !== "migrator"
        ? await adminCommandFixFor(client, runner.admin, role)
        : login.ownsDatabase
          ? // The migrator already: the flag names the wrong role (the app's, the read-only one's).
            `Name the role that owns the database, the stack's owner role: ${ownerRoleFlag(login.owner)}; or leave --owner-role out to create the objects as "${login.user}" does.`
          : asMigratorFix("the release"),
      { cause: error },
    );
  }
  return error;
}

/**
 * The login, the role that owns the database, and whether the login may act as that owner (a member of it):
 * the migrator is, so a role it may not act as is a wrong --owner-role, not a wrong login.
 */
async function loginAndDatabaseOwner(
  client: ClientBase,
  role: string,
): Promise<{ user: string; owner: string; ownsDatabase: boolean; memberOfRole: boolean }> {
  const { rows } = await client.query<{
    user: string;
    owner: string;
    member: boolean;
    member_of_role: boolean;
  }>(
    `SELECT session_user AS user, pg_get_userbyid(datdba) AS owner,
            pg_has_role(session_user, datdba, 'MEMBER') AS member,
            coalesce((SELECT pg_has_role(session_user, oid, 'MEMBER') FROM pg_roles WHERE rolname = $1), false) AS member_of_role
       FROM pg_database WHERE datname = current_database()`,
    [role],
  );
  const row = rows[0];
  return {
    user: row?.user ?? "this user",
    owner: row?.owner ?? "<prefix>_owner",
    ownsDatabase: row?.member ?? false,
    memberOfRole: row?.member_of_role ?? false,
  };
}
