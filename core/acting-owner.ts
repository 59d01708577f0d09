// Whether the release would create objects as the role that owns what it released, or as another role the
// session could act as instead. The migrator normally acts as the owner role (`ALTER ROLE ... SET role`, made
// by the stack's access layer), or the command is told to (--owner-role): every object a migration creates
// then belongs to the owner, whose default privileges give the app and read-only logins their grants. A login
// that is a member of the owner but acts as itself (roles made by hand after a restore, without that setting)
// would create tables that the app may not read, and the snapshot would record them as the release's, so
// verify stays clean. That is refused before anything is written, by plan, apply and revert alike.
//
// A superuser is a member of every role, and is refused the same way: its objects would be the superuser's,
// with the same result. A superuser whose own session released the database (local development, the tests)
// owns the ledger itself, and nothing is refused. A login that is not a member of the owner cannot act as it
// and meets the permission errors that name the owner instead (core/release-records-owner.ts).
//
// An --owner-role the login may act as that is neither the owner nor a member of it (another role the login
// holds, say a helper role, or any role for a superuser) is the flag naming the wrong role, not a login that may
// not act as it: refused here too, naming the owner. Only where the login may act as that owner and the owner
// is no superuser: records a superuser owns say nothing of which role is the release's (a restore as the admin
// leaves them to the admin), and their hand-over is the permission error's to name.
//
// A first apply (no ledger yet) decides who owns the release: the role it acts as owns every object and the
// ledger, and every later release must act as that role. It must be the role that owns the database (the
// stack's owner role) or one whose objects that owner may manage (the owner is a member of it: any role, when
// the database is a superuser's, as createdb leaves it): an --owner-role naming a role the login holds, or a
// login acting as itself, would leave objects the database's owner could not manage, outside the default
// privileges that grant the app its access. Refused before anything is written, as the other cases are.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA, MIGRATIONS_TABLE } from "./bookkeeping";
import { NOTHING_WRITTEN, ReleaseError } from "./errors";
import { quoteIdentifier } from "./identifiers";
import { literal } from "./sql";

/**
 * Who the release acts as, and who owns the ledger; without a ledger (`firstApply`), the database's owner in
 * its place: the role a first apply's objects should belong to.
 */
export interface ActingOwner {
  /** No ledger yet: `owner` is the database's owner, and `database` names the database. */
  firstApply?: boolean;
  database?: string;
  /** On a first apply: whether the database's owner may manage what `acting` creates (a member of it). */
  ownerMayManage?: boolean;
  /** The login (session_user). */
  login: string;
  /** The role objects would be created as: current_user, or the --owner-role a plan checks without setting. */
  acting: string;
  /** The owner of the ledger, the release's first record: the role that owns what the release created. */
  owner: string;
  /** Whether `acting` may act as `owner` (a member of it; a superuser is a member of every role). */
  mayActAsOwner: boolean;
  /** Whether the login is a superuser, which should not be made to act as another role at login. */
  superuser: boolean;
  /** Whether `owner` is a superuser: the admin, after a restore run as the admin, not the release's role. */
  ownerSuperuser: boolean;
  /** Whether the login (session_user) may act as `owner`. */
  loginMayActAsOwner: boolean;
}

/**
 * The role a command acts as, as a SQL name expression: the session's current_user, or `actingAs`, the
 * --owner-role that apply will SET ROLE to and that plan and the revert preview check without setting (their
 * session stays the login). Every reading that judges what that role may do takes it from here, so that a
 * preview judges as the command it previews acts.
 */
export function actingRoleSql(actingAs?: string): string {
  return actingAs === undefined ? "current_user" : `${literal(actingAs)}::name`;
}

/**
 * A jsonb expression (ActingOwner; without a ledger, the first apply's), for the first round trip's probe.
 * `actingAs`: the role the command will act as where the session has not set it yet (plan and the revert
 * preview check --owner-role without setting it); unset, the session's current_user. The catalog is read by name, never
 * through the schema, which a login without USAGE on it may not look into.
 */
export function actingOwnerSql(actingAs?: string): string {
  const acting = actingRoleSql(actingAs);
  const superuser = (role: string) => `coalesce((SELECT rolsuper FROM pg_roles WHERE ${role}), false)`;
  return `coalesce((SELECT jsonb_build_object('login', session_user, 'acting', a.role,
       'owner', pg_get_userbyid(c.relowner), 'mayActAsOwner', pg_has_role(a.role, c.relowner, 'MEMBER'),
       'superuser', ${superuser("rolname = session_user")},
       'ownerSuperuser', ${superuser("oid = c.relowner")},
       'loginMayActAsOwner', pg_has_role(session_user, c.relowner, 'MEMBER'))
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, (SELECT ${acting} AS role) a
    WHERE n.nspname = ${literal(BOOKKEEPING_SCHEMA)} AND c.relname = ${literal(MIGRATIONS_TABLE)} AND c.relkind IN ('r', 'p')),
    (SELECT jsonb_build_object('firstApply', true, 'database', d.datname, 'login', session_user, 'acting', a.role,
       'owner', pg_get_userbyid(d.datdba), 'mayActAsOwner', pg_has_role(a.role, d.datdba, 'MEMBER'),
       'ownerMayManage', pg_has_role(d.datdba, a.role, 'MEMBER'),
       'superuser', ${superuser("rolname = session_user")},
       'ownerSuperuser', ${superuser("oid = d.datdba")},
       'loginMayActAsOwner', pg_has_role(session_user, d.datdba, 'MEMBER'))
     FROM pg_database d, (SELECT ${acting} AS role) a WHERE d.datname = current_database()))`;
}

/** Reads ActingOwner on its own, for the commands whose first read is no probe (revert, the unbatched steps). */
export async function readActingOwner(client: ClientBase, actingAs?: string): Promise<ActingOwner | null> {
  const { rows } = await client.query<{ facts: ActingOwner | null }>(
    `SELECT ${actingOwnerSql(actingAs)} AS facts`,
  );
  return rows[0]?.facts ?? null;
}

/**
 * The refusal of a command (`apply`, `revert --confirm`; plan and the revert preview name the one they show)
 * that would create objects as a role other than the ledger's owner while it could act as that owner, or as an
 * --owner-role that is not the owner while the login could act as the owner (wrongOwnerRoleError); undefined
 * when it acts as the owner, when there is no ledger yet, or when it could not act as the owner anyway (other
 * errors name that). `ownerRole`: the command's --owner-role, whose fix is to name the owner instead; the
 * caller has checked the login may act as it (checkOwnerRole, setOwnerRole).
 */
export function actingOwnerError(
  facts: ActingOwner | null,
  command: string,
  ownerRole?: string,
): ReleaseError | undefined {
  if (!facts || facts.acting === facts.owner) return undefined;
  // Without a ledger only apply creates the release's objects (a revert has nothing to revert).
  if (facts.firstApply) return command === "apply" ? firstApplyOwnerError(facts, ownerRole) : undefined;
  if (!facts.mayActAsOwner) {
    return ownerRole !== undefined && facts.loginMayActAsOwner && !facts.ownerSuperuser
      ? wrongOwnerRoleError(facts, command)
      : undefined;
  }
  const { login, acting, owner } = facts;
  const who = login === acting ? `user "${login}"` : `user "${login}" (acting as "${acting}")`;
  const flag = `--owner-role ${owner}`;
  const fix =
    ownerRole !== undefined
      ? `Name the role that owns the release's objects: ${flag}.`
      : facts.superuser
        ? // A superuser made to act as the owner at login would be no superuser in any of its sessions.
          `Run ${command} with ${flag}, or as the migrator (--database-url "$DIRECT_URL"), which acts as "${owner}" at login.`
        : `As the cluster's admin, make the login act as the owner role at login, as the stack's access layer does: ` +
          `ALTER ROLE ${quoteIdentifier(login)} SET role = ${quoteIdentifier(owner)}; then run ${command} again in a new session. ` +
          `Or run ${command} with ${flag}.`;
  return new ReleaseError(
    "permission",
    `${who} may act as "${owner}", which owns the release's objects (the ledger ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}), ` +
      `but ${command} would create objects as "${acting}": the app's and the read-only logins' grants come from ` +
      `"${owner}"'s default privileges, so they could not use them, and the snapshot would record them as the release's.`,
    `${fix} ${NOTHING_WRITTEN}`,
  );
}

/**
 * An --owner-role (`facts.acting`) the login may act as, which neither owns the release's objects nor is a
 * member of their owner: acting as it, the command could not use the release's records (its reads meet
 * "permission denied"), and what it created would not be the release's.
 */
function wrongOwnerRoleError(facts: ActingOwner, command: string): ReleaseError {
  const { login, acting, owner } = facts;
  return new ReleaseError(
    "permission",
    `--owner-role "${acting}" is not the role that owns the release's objects: "${owner}" owns them (the ledger ` +
      `${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}), and "${acting}" is not a member of it. User "${login}" may act as ` +
      `"${acting}", but ${command} acting as it could not read or change the release's records, and the objects it ` +
      `created would not be the release's.`,
    `Name the role that owns them: --owner-role ${owner}. ${NOTHING_WRITTEN}`,
  );
}

/**
 * A first apply acting as a role whose objects the database's owner could not manage (ActingOwner.firstApply):
 * undefined when it may (the owner itself, or a role the owner is a member of: any, for a superuser's
 * database). The fixes: act as the database's owner, or, where the role named is to own the release, hand it
 * the database first.
 */
function firstApplyOwnerError(facts: ActingOwner, ownerRole: string | undefined): ReleaseError | undefined {
  if (facts.ownerMayManage) return undefined;
  const { login, acting, owner } = facts;
  const database = facts.database ?? "this database";
  const who = login === acting ? `user "${login}"` : `user "${login}" (acting as "${acting}")`;
  const actAsOwner = !facts.loginMayActAsOwner
    ? `Run apply as a login that acts as "${owner}" (the migrator: --database-url "$DIRECT_URL")`
    : ownerRole !== undefined
      ? `Name the role that owns the database: --owner-role ${owner}`
      : facts.superuser
        ? `Run apply with --owner-role ${owner}, or as the migrator (--database-url "$DIRECT_URL"), which acts as "${owner}" at login`
        : `As the cluster's admin, make the login act as the owner role at login, as the stack's access layer does: ` +
          `ALTER ROLE ${quoteIdentifier(login)} SET role = ${quoteIdentifier(owner)}; then run apply again in a new session. ` +
          `Or run apply with --owner-role ${owner}`;
  const handOver =
    `If "${acting}" is to own the release instead, hand it the database first, as "${owner}" or a superuser: ` +
    `ALTER DATABASE ${quoteIdentifier(database)} OWNER TO ${quoteIdentifier(acting)}.`;
  return new ReleaseError(
    "permission",
    `This is the first release of database ${database} (no ledger ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE} yet), ` +
      `and ${who} would create its objects as "${acting}"; the database belongs to "${owner}", which is not a ` +
      `member of "${acting}" and could not manage them. The app's and the read-only logins' grants come from the ` +
      `owner role's default privileges, and every later release would have to act as "${acting}".`,
    `${actAsOwner}. ${handOver} ${NOTHING_WRITTEN}`,
  );
}

/** Throws actingOwnerError's refusal, reading the facts when no probe did (`probed` undefined). */
export async function refuseActingAsAnotherOwner(
  client: ClientBase,
  command: string,
  options: { ownerRole?: string; actingAs?: string; probed?: ActingOwner | null },
): Promise<void> {
  const facts =
    options.probed !== undefined ? options.probed : await readActingOwner(client, options.actingAs);
  const refusal = actingOwnerError(facts, command, options.ownerRole);
  if (refusal) throw refusal;
}
