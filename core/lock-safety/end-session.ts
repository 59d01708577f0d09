// How to end a session that blocks a command, in a statement that works for whom it names: one reading and one
// wording for the release lock's holder (core/lock.ts), a table lock's blockers (lock-waits.ts) and the sessions
// health names (core/health/). PostgreSQL 15's pg_terminate_backend lets the role a session acts as
// (current_user) end another only with the privileges of that session's role or of pg_signal_backend, and only
// a superuser ends a superuser's. The role a command acts as is rarely enough: a stack's migrator becomes the
// owner at login (ALTER ROLE ... SET ROLE), and the owner has no privileges of the app login, of the read-only
// login nor of the migrator itself; the migrator's own sessions it may end after SET ROLE NONE.

/** A session to end, with what PostgreSQL allows the command (read with it: endSessionColumns). */
export interface EndableSession {
  pid: number;
  /** The session's user; null when the catalog no longer has it. */
  user: string | null;
  /** Whether the role the command acts as may end it, as pg_terminate_backend decides. */
  mayEnd: boolean;
  /** The command's login (session_user), and whether it may end it after SET ROLE NONE: absent, not read. */
  login?: string;
  loginMayEnd?: boolean;
  /** Whether the session's user is a superuser, whose session only a superuser may end: absent, not read. */
  isSuperuser?: boolean;
}

/** SQL true when current_user may pg_terminate_backend() a session of role `roles` (pg_roles joined on it). */
export function mayEndSql(roles: string): string {
  return `coalesce(
    (NOT ${roles}.rolsuper OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user))
      AND (pg_has_role(current_user, ${roles}.oid, 'USAGE') OR pg_has_role(current_user, 'pg_signal_backend', 'USAGE')),
    false)`;
}

/**
 * The columns a query over pg_stat_activity reads for EndableSession, `roles` being pg_roles joined on the
 * session's usesysid: login, viewer (current_user), holder_super, may_end, login_may_end. The login's check
 * takes MEMBER rather than USAGE: a member without INHERIT may SET ROLE first.
 */
export function endSessionColumns(roles: string): string {
  return `session_user AS login, current_user AS viewer, COALESCE(${roles}.rolsuper, false) AS holder_super,
          ${mayEndSql(roles)} AS may_end,
          COALESCE(
            (NOT ${roles}.rolsuper OR (SELECT rolsuper FROM pg_roles WHERE rolname = session_user))
              AND (pg_has_role(session_user, ${roles}.oid, 'MEMBER')
                   OR pg_has_role(session_user, 'pg_signal_backend', 'MEMBER')),
            false) AS login_may_end`;
}

const ADMIN = "the server's admin (a superuser, rds_superuser on RDS, or a member of pg_signal_backend)";

/**
 * The statement that ends it, and who runs it when the command's role may not: `SELECT
 * pg_terminate_backend(4711)`; `SET ROLE NONE; SELECT pg_terminate_backend(4711) (as neonhub_migrator, in one
 * session)`; `SELECT pg_terminate_backend(4711) as its own login neonhub_app, or the server's admin (...)`.
 */
export function terminateFix(session: EndableSession): string {
  const terminate = `SELECT pg_terminate_backend(${session.pid})`;
  if (session.mayEnd) return terminate;
  if (session.loginMayEnd && session.login)
    return `SET ROLE NONE; ${terminate} (as ${session.login}, in one session)`;
  const own = session.user ? `its own login ${session.user}, or ` : "";
  return `${terminate} as ${own}${session.isSuperuser ? "another superuser" : ADMIN}`;
}

/** `end it with ...`: terminateFix in a sentence. */
export function howToEnd(session: EndableSession): string {
  return `end it with ${terminateFix(session)}`;
}
