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
//
// The owner of the schema the release creates in (public) counts as the database's: a role whose objects it
// may manage passes too (a restore from an older server or a hand-made database may give public an owner of
// its own, or the database another owner than public's). Owning is not creating: the role must also hold what
// PostgreSQL checks when the release creates, CREATE on public (on PostgreSQL 15 owned by pg_database_owner,
// that is the database's owner, and granted to no one else; an admin may revoke it or hand the schema to
// another role) and CREATE on the database (the bookkeeping's CREATE SCHEMA IF NOT EXISTS checks it even when
// the schema exists). Without CREATE on public a first apply wrote its bookkeeping, applied the first
// migration (extensions only) and failed at the second with "permission denied for schema public", its fix
// "Fix the file": refused instead, read in the same probe, naming the schema, the role and the GRANT (or the
// ALTER SCHEMA) to run as the admin.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA, MIGRATIONS_TABLE } from "./bookkeeping";
import { commandToRun, type CommandPrinter } from "./command-to-run";
import { shownUser } from "./dsn";
import { NOTHING_WRITTEN, ReleaseError } from "./errors";
import { quoteIdentifier } from "./identifiers";
import { ownerRoleFlag } from "./owner-role-flag";
import { RELEASE_OBJECTS_SCHEMA } from "./session-settings";
import { literal } from "./sql";

/**
 * Who the release acts as, and who owns the ledger; without a ledger (`firstApply`), the database's owner in
 * its place: the role a first apply's objects should belong to.
 */
export interface ActingOwner {
  /** No ledger yet: `owner` is the database's owner, and `database` names the database. */
  firstApply?: boolean;
  database?: string;
  /**
   * On a first apply: whether the database's owner, or the owner of the schema the release creates in, may
   * manage what `acting` creates (a member of it).
   */
  ownerMayManage?: boolean;
  /** On a first apply: the schema the release creates in (public), and its owner; null when it is missing. */
  schema?: string;
  schemaOwner?: string | null;
  /** On a first apply: whether `acting` may create in `schema` (has_schema_privilege: CREATE). */
  mayCreateInSchema?: boolean;
  /** On a first apply: whether `acting` may create schemas in the database (the bookkeeping schema). */
  mayCreateSchemas?: boolean;
  /** The login (session_user). */
  login: string;
  /** The role objects would be created as: current_user, or the --owner-role a command names (actingRoleSql). */
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

/** The login a refusal names, and the role it acts as when that is another: `user "app" (acting as "owner")`. */
function loginActing(login: string, acting: string): string {
  return login === acting ? `user ${shownUser(login)}` : `user ${shownUser(login)} (acting as "${acting}")`;
}

/**
 * The role a command acts as, as a SQL name expression: the session's current_user, or `actingAs`, the
 * --owner-role that apply will SET ROLE to, and that plan and the revert preview set as apply and revert
 * --confirm do (the two are then one). Every reading that judges what that role may do takes it from here, so
 * that a preview judges as the command it previews acts.
 */
export function actingRoleSql(actingAs?: string): string {
  return actingAs === undefined ? "current_user" : `${literal(actingAs)}::name`;
}

/**
 * A jsonb expression (ActingOwner; without a ledger, the first apply's), for the first round trip's probe.
 * `actingAs`: the role the command will act as where the session may not have set it (apply's refusal reads
 * it after the statement that set it failed); unset, the session's current_user. The catalog is read by name,
 * never through the schema, which a login without USAGE on it may not look into.
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
       'ownerMayManage', pg_has_role(d.datdba, a.role, 'MEMBER')
         OR coalesce(pg_has_role(CASE WHEN n.nspowner = to_regrole('pg_database_owner') THEN d.datdba
                                      ELSE n.nspowner END, a.role, 'MEMBER'), false),
       'schema', ${literal(RELEASE_OBJECTS_SCHEMA)}, 'schemaOwner', pg_get_userbyid(n.nspowner),
       'mayCreateInSchema', coalesce(has_schema_privilege(a.role, n.oid, 'CREATE'), false),
       'mayCreateSchemas', has_database_privilege(a.role, d.oid, 'CREATE'),
       'superuser', ${superuser("rolname = session_user")},
       'ownerSuperuser', ${superuser("oid = d.datdba")},
       'loginMayActAsOwner', pg_has_role(session_user, d.datdba, 'MEMBER'))
     FROM pg_database d CROSS JOIN (SELECT ${acting} AS role) a
          LEFT JOIN pg_namespace n ON n.nspname = ${literal(RELEASE_OBJECTS_SCHEMA)}
    WHERE d.datname = current_database()))`;
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
  words: OwnerRoleWords = {},
): ReleaseError | undefined {
  if (!facts || facts.acting === facts.owner) return undefined;
  // Without a ledger only apply creates the release's objects (a revert has nothing to revert).
  if (facts.firstApply)
    return command === "apply" ? firstApplyOwnerError(facts, ownerRole, words) : undefined;
  if (!facts.mayActAsOwner) {
    return ownerRole !== undefined && facts.loginMayActAsOwner && !facts.ownerSuperuser
      ? wrongOwnerRoleError(facts, command, words)
      : undefined;
  }
  const { login, acting, owner } = facts;
  const who = loginActing(login, acting);
  const flag = ownerRoleFlag(owner);
  const fix =
    words.ownerRoleSetting !== undefined
      ? stackOwnerFix(facts, words)
      : ownerRole !== undefined
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
function wrongOwnerRoleError(facts: ActingOwner, command: string, words: OwnerRoleWords): ReleaseError {
  const { login, acting, owner } = facts;
  // On a stack the role is no flag the operator gave: the stack's own owner role.
  const named = words.ownerRoleSetting !== undefined ? `The stack's owner role` : "--owner-role";
  const fix =
    words.ownerRoleSetting !== undefined
      ? stackOwnerFix(facts, words)
      : `Name the role that owns them: ${ownerRoleFlag(owner)}.`;
  return new ReleaseError(
    "permission",
    `${named} "${acting}" is not the role that owns the release's objects: "${owner}" owns them (the ledger ` +
      `${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}), and "${acting}" is not a member of it. User "${login}" may act as ` +
      `"${acting}", but ${command} acting as it could not read or change the release's records, and the objects it ` +
      `created would not be the release's.`,
    `${fix} ${NOTHING_WRITTEN}`,
  );
}

/**
 * On a stack (`ownerRoleSetting`), whose release always acts as its own owner role (`facts.acting`), the fix
 * for a ledger another role owns (`facts.owner`): no --owner-role to name, so the release's objects go to the
 * stack's role, as the stack's admin. The hand-over is REASSIGN OWNED: the ledger's owner is what the check
 * reads, but every object the release created (the tables in public as well as the bookkeeping schema) must be
 * the role's for the next migration to alter them, and in the stack's database the other role's objects are
 * the release's. Pointing the stack's rolePrefix at the other role instead is no fix: the stack makes its
 * prefix's roles, and @pulumi/postgresql adopts none that exists (docs/stacks.md).
 */
function stackOwnerFix(facts: ActingOwner, words: OwnerRoleWords): string {
  const { acting, owner } = facts;
  const apply = commandToRun(words.printCommand, ["apply"], "apply");
  return (
    `As the stack's admin (a superuser, or a member of both "${owner}" and "${acting}"), connected to the ` +
    `stack's database, hand the release's objects to "${acting}", the stack's owner role ` +
    `(${words.ownerRoleSetting} names it), which the release acts as: REASSIGN OWNED BY ` +
    `${quoteIdentifier(owner)} TO ${quoteIdentifier(acting)} (every object "${owner}" owns in that database, ` +
    `and any database it owns); then run ${apply} again.`
  );
}

/** How a refusal's fix names what the caller sets (ReleaseOptions.printCommand and ownerRoleSetting). */
export interface OwnerRoleWords {
  /** Prints the apply to run again (ReleaseOptions.printCommand); unset, the word "apply". */
  printCommand?: CommandPrinter;
  /** ReleaseOptions.ownerRoleSetting: a stack's, whose owner role is not the operator's to choose. */
  ownerRoleSetting?: string;
}

/** A command's --owner-role and the words its refusals name it in, taken from its options (ReleaseOptions). */
export function ownerRoleWordsOf(
  options: OwnerRoleWords & { ownerRole?: string },
): OwnerRoleWords & { ownerRole?: string } {
  const { ownerRole, printCommand, ownerRoleSetting } = options;
  return { ownerRole, printCommand, ownerRoleSetting };
}

/**
 * A first apply acting as a role whose objects neither the database's owner nor the owner of the schema the
 * release creates in could manage (ActingOwner.firstApply): undefined when it may (the owner itself, or a
 * role the owner is a member of: any, for a superuser's database). The fixes: act as the database's owner, or,
 * where the role named is to own the release, hand it the database first. On a stack (`ownerRoleSetting`)
 * the role is the stack's own, which the release always acts as: the hand-over is the fix.
 */
function firstApplyOwnerError(
  facts: ActingOwner,
  ownerRole: string | undefined,
  { printCommand: print, ownerRoleSetting }: OwnerRoleWords,
): ReleaseError | undefined {
  if (facts.ownerMayManage) return undefined;
  const { login, acting, owner } = facts;
  const database = facts.database ?? "this database";
  const who = loginActing(login, acting);
  const schemaOwner = ownSchemaOwner(facts);
  const belongs =
    schemaOwner === undefined
      ? `the database belongs to "${owner}", which is not a member of "${acting}"`
      : `the database belongs to "${owner}" and its schema ${facts.schema} to "${schemaOwner}", neither of them a member of "${acting}"`;
  const apply = commandToRun(print, ["apply"], "apply");
  const handOverStatement = `ALTER DATABASE ${quoteIdentifier(database)} OWNER TO ${quoteIdentifier(acting)}`;
  const fix =
    ownerRoleSetting !== undefined
      ? `As the stack's admin (a superuser, or a member of both "${owner}" and "${acting}"), hand the database to ` +
        `"${acting}", the stack's owner role (${ownerRoleSetting} names it), which the release acts as: ` +
        `${handOverStatement}; then run ${apply} again ` +
        `(docs/stacks.md, "A server that already has the app's database").`
      : `${actAsOwnerFix(facts, ownerRole, apply)}. If "${acting}" is to own the release instead, hand it the ` +
        `database first, as "${owner}" or a superuser: ${handOverStatement}.`;
  return new ReleaseError(
    "permission",
    `This is the first release of database ${database} (no ledger ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE} yet), ` +
      `and ${who} would create its objects as "${acting}"; ${belongs} and could not manage them. The app's and ` +
      `the read-only logins' grants come from the owner role's default privileges, and every later release would ` +
      `have to act as "${acting}".`,
    `${fix} ${NOTHING_WRITTEN}`,
  );
}

/** The CLI's way for a first apply to act as the database's owner `facts.owner`; `apply`: the apply printed. */
function actAsOwnerFix(facts: ActingOwner, ownerRole: string | undefined, apply: string): string {
  const { login, owner } = facts;
  if (!facts.loginMayActAsOwner) {
    return `Run apply as a login that acts as "${owner}" (the migrator: --database-url "$DIRECT_URL")`;
  }
  if (ownerRole !== undefined) return `Name the role that owns the database: ${ownerRoleFlag(owner)}`;
  return facts.superuser
    ? `Run apply with ${ownerRoleFlag(owner)}, or as the migrator (--database-url "$DIRECT_URL"), which acts as "${owner}" at login`
    : `As the cluster's admin, make the login act as the owner role at login, as the stack's access layer does: ` +
        `ALTER ROLE ${quoteIdentifier(login)} SET role = ${quoteIdentifier(owner)}; then run ${apply} again in a new session. ` +
        `Or run apply with ${ownerRoleFlag(owner)}`;
}

/**
 * The owner of the release's schema when it is a role of its own: not pg_database_owner (PostgreSQL 15's
 * public, which is the database's owner) nor the database's owner by name.
 */
function ownSchemaOwner(facts: ActingOwner): string | undefined {
  const owner = facts.schemaOwner;
  return owner && owner !== "pg_database_owner" && owner !== facts.owner ? owner : undefined;
}

/** Why a first apply's role may not create what the release creates, and the statements that let it. */
export interface CreatePrivilegeProblem {
  message: string;
  fix: string;
}

/**
 * A first apply (ActingOwner.firstApply) whose role may not create what the release creates, as PostgreSQL
 * checks it: objects in the release's schema (CREATE on it), and the bookkeeping schema (CREATE on the
 * database); undefined when it may, or when a ledger exists. Apply would fail at the bookkeeping's CREATE
 * SCHEMA, or partway, at a migration's first object in the schema after the migrations before it were
 * written: plan lists it among its problems and apply refuses it before anything is written
 * (core/plan-problems.ts), with the GRANT each needs, run as the admin (who may grant on any schema, whoever
 * owns it). Not a refusal of plan itself, which a read-only login may run on an empty database.
 */
export function firstApplyPrivilegeProblem(
  facts: ActingOwner | null,
  print?: CommandPrinter,
): CreatePrivilegeProblem | undefined {
  if (!facts?.firstApply) return undefined;
  const missingSchema = facts.schemaOwner === null;
  const inSchema = facts.mayCreateInSchema === false;
  const schemas = facts.mayCreateSchemas === false;
  if (!inSchema && !schemas) return undefined;
  const { login, acting } = facts;
  const schema = facts.schema ?? RELEASE_OBJECTS_SCHEMA;
  const database = facts.database ?? "this database";
  const who = loginActing(login, acting);
  const role = quoteIdentifier(acting);
  const refused: string[] = [];
  const statements: string[] = [];
  if (missingSchema) {
    refused.push(`create objects in schema ${schema}, which does not exist`);
    statements.push(`CREATE SCHEMA ${quoteIdentifier(schema)} AUTHORIZATION ${role}`);
  } else if (inSchema) {
    const owner =
      facts.schemaOwner === "pg_database_owner"
        ? `"pg_database_owner" (the database's owner, "${facts.owner}")`
        : `"${facts.schemaOwner}"`;
    refused.push(
      `create objects in schema ${schema}: it belongs to ${owner} and grants "${acting}" no CREATE on it`,
    );
    statements.push(`GRANT CREATE ON SCHEMA ${quoteIdentifier(schema)} TO ${role}`);
  }
  if (schemas) {
    refused.push(
      `create schemas in database ${database} (CREATE on the database), which the release's bookkeeping schema ${BOOKKEEPING_SCHEMA} needs`,
    );
    statements.push(`GRANT CREATE ON DATABASE ${quoteIdentifier(database)} TO ${role}`);
  }
  // A schema with an owner of its own may be handed over instead, as restores from an older server need.
  const handOver =
    inSchema && !missingSchema && ownSchemaOwner(facts) !== undefined
      ? ` Or, if "${acting}" is to own the schema, as the admin: ALTER SCHEMA ${quoteIdentifier(schema)} OWNER TO ${role}` +
        (schemas ? ` (CREATE on the database is still needed).` : ".")
      : "";
  return {
    message:
      `This is the first release of database ${database} (no ledger ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE} yet), ` +
      `and ${who} would create its objects as "${acting}", which may not ${refused.join(", nor ")}. ` +
      (schemas
        ? `PostgreSQL would refuse apply's first statement, the bookkeeping's CREATE SCHEMA ("permission denied for database ${database}").`
        : `PostgreSQL would refuse the first object a migration creates there ("permission denied for schema ${schema}"), ` +
          `after the release's bookkeeping and the migrations before it were written.`),
    fix: `As the cluster's admin: ${statements.join("; ")}; then run ${commandToRun(print, ["apply"], "apply")} again.${handOver} ${NOTHING_WRITTEN}`,
  };
}

/** Throws actingOwnerError's refusal, reading the facts when no probe did (`probed` undefined). */
export async function refuseActingAsAnotherOwner(
  client: ClientBase,
  command: string,
  options: OwnerRoleWords & { ownerRole?: string; actingAs?: string; probed?: ActingOwner | null },
): Promise<void> {
  const facts =
    options.probed !== undefined ? options.probed : await readActingOwner(client, options.actingAs);
  const refusal = actingOwnerError(facts, command, options.ownerRole, options);
  if (refusal) throw refusal;
}
