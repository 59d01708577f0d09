// Who may run baseline and adopt, decided before any proof: the stack's admin, acting as itself (the scratch
// database needs the login's CREATEDB) and, where the access layer's shape is in place, with --owner-role
// naming the stack's owner role (the ledger must be the owner role's, which the migrator acts as). Every
// refusal of another login gives the one command that works, so that following it is not refused again; the
// app, read-only and migrator logins are never offered as the ledger's owner.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA } from "../bookkeeping";
import { ReleaseError } from "../errors";
import { ownerRoleFlag } from "../owner-role-flag";
import { ADOPTING_SECTION } from "./runbook-sections";

export type AdoptCommand = "baseline" | "adopt";

/** Where the stack's admin URL (ADMIN_URL in every printed command and fix) comes from. */
export const ADMIN_URL_SOURCE =
  "the existing server's adminUrl, or RDS's master user; `npm run -s local -- env --admin` prints ADMIN_URL locally";

/** The admin's URL as every printed command and fix passes it: the variable, quoted for a POSIX shell. */
export const ADMIN_URL_WORD = '"$ADMIN_URL"';

/**
 * The flags a baseline or adopt run as the admin takes: its URL and the owner role (`ownerRole`: a role's name,
 * or a placeholder such as <prefix>_owner, which is quoted as the CLI's printer quotes <slug>).
 */
export function adminFlags(ownerRole: string): string {
  return `--database-url ${ADMIN_URL_WORD} ${ownerRoleFlag(ownerRole)}`;
}

/** What the catalog says about the login and the database, read in one query. */
export interface LoginFacts {
  /** The login (session_user). */
  login: string;
  /** The role it acts as now (current_user): the owner role for the migrator, which sets it at login. */
  acting: string;
  databaseOwner: string;
  /** False where the database is in the access layer's shape: its owner is the stack's owner role. */
  ownerCanLogin: boolean;
  /** Whether `acting` may CREATE DATABASE (CREATEDB or superuser: role attributes are not inherited). */
  mayCreateDatabase: boolean;
  /** Whether the login may SET ROLE to the database's owner. */
  memberOfOwner: boolean;
}

export async function readLoginFacts(client: ClientBase): Promise<LoginFacts> {
  const { rows } = await client.query<LoginFacts>(
    `SELECT session_user AS login, current_user AS acting, o.rolname AS "databaseOwner",
            o.rolcanlogin AS "ownerCanLogin",
            (SELECT r.rolcreatedb OR r.rolsuper FROM pg_roles r WHERE r.rolname = current_user) AS "mayCreateDatabase",
            pg_has_role(session_user, o.oid, 'MEMBER') AS "memberOfOwner"
       FROM pg_database d JOIN pg_roles o ON o.oid = d.datdba
      WHERE d.datname = current_database()`,
  );
  return rows[0]!;
}

/**
 * The owner role to name in a fix: the stack's (the database's owner, where it cannot log in), else the one
 * given, else a placeholder.
 */
export function ownerToName(
  facts: Pick<LoginFacts, "databaseOwner" | "ownerCanLogin">,
  given?: string,
): string {
  if (!facts.ownerCanLogin) return facts.databaseOwner;
  return given ?? "<prefix>_owner";
}

/** The command that works, whole: the admin's login and the owner role, in one step. */
export function adminCommandFix(command: AdoptCommand, ownerRole: string): string {
  return (
    `Run it as the stack's admin, with the owner role: neonhub-db ${command} ${adminFlags(ownerRole)}, ` +
    `where ADMIN_URL is the admin login's URL of this database, a login with CREATEDB that is a member of ` +
    `"${ownerRole}" (${ADMIN_URL_SOURCE}; ${ADOPTING_SECTION}). Nothing was written.`
  );
}

/**
 * The same fix where the owner role is to be read from the catalog (the database's owner where it cannot log
 * in): for refusals written before the login's facts are read.
 */
export async function adminCommandFixFor(
  client: ClientBase,
  command: AdoptCommand,
  ownerRole?: string,
): Promise<string> {
  const facts = await readLoginFacts(client);
  return adminCommandFix(command, ownerToName(facts, ownerRole));
}

/**
 * Refuses `command` before anything is proven or written when this login could not finish it, or would leave
 * a ledger the migrator is refused:
 * - without --owner-role, on a database whose owner cannot log in (the stack's owner role) and is not the
 *   role the login acts as: the ledger would be the login's. The admin (a member of that owner, with
 *   CREATEDB) may choose that knowingly (`invalid-input`, naming --owner-role <admin>); any other login is
 *   the wrong one (`permission`).
 * - a login acting as a role without CREATEDB (the migrator, the app, the read-only login): the scratch
 *   database of the proof could not be created (`permission`).
 */
export async function requireAdoptingLogin(
  client: ClientBase,
  command: AdoptCommand,
  ownerRole: string | undefined,
): Promise<void> {
  const facts = await readLoginFacts(client);
  const { login, acting, databaseOwner, ownerCanLogin, mayCreateDatabase, memberOfOwner } = facts;
  const fix = adminCommandFix(command, ownerToName(facts, ownerRole));
  const isAdmin = mayCreateDatabase && memberOfOwner;
  if (ownerRole === undefined && !ownerCanLogin && databaseOwner !== acting) {
    const message =
      `This database belongs to role "${databaseOwner}", which cannot log in: the stack's owner role, which the migrator acts as. ` +
      `${command} without --owner-role would record the ledger (schema ${BOOKKEEPING_SCHEMA}) as "${acting}", and every later release, acting as "${databaseOwner}", would be refused it.`;
    if (!isAdmin) {
      throw new ReleaseError("permission", `${message} "${login}" is not the stack's admin.`, fix);
    }
    throw new ReleaseError(
      "invalid-input",
      message,
      `${fix.replace(/ Nothing was written\.$/, "")} To have "${login}" own the ledger anyway, pass ${ownerRoleFlag(acting)}. Nothing was written.`,
    );
  }
  if (!mayCreateDatabase) {
    const as = acting === login ? `"${login}"` : `"${login}" (acting as "${acting}")`;
    throw new ReleaseError(
      "permission",
      `${command} proves the schema on a scratch database it creates on the server, and ${as} may not create databases (no CREATEDB).`,
      fix,
    );
  }
}
