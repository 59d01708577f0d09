// How to end a session that blocks a command, in a statement that works for whom it names. PostgreSQL 15's
// pg_terminate_backend lets a caller end a session only with the privileges of its role or of
// pg_signal_backend, and only a superuser ends a superuser's. The login a command runs as is rarely enough:
// a stack's migrator becomes the owner at login (ALTER ROLE ... SET ROLE), and the owner has no privileges of
// the app login, of the read-only login nor of the migrator itself. One reading and one wording for the
// release lock's holder (core/lock.ts) and for a table lock's blockers (lock-waits.ts).

/** A session to end, with what PostgreSQL allows the command's login (read with it: END_SESSION_COLUMNS). */
export interface EndableSession {
  pid: number;
  /** The session's user. */
  user: string;
  /** The command's login (session_user) and the role it acts as (current_user). */
  login: string;
  viewer: string;
  /** Whether pg_terminate_backend lets the command's login end it (after SET ROLE NONE when acting as another role). */
  loginMayEnd: boolean;
  /** Whether the session's user is a superuser: then only a superuser may end it. */
  isSuperuser: boolean;
}

/**
 * The columns a query over pg_stat_activity reads for EndableSession, `roles` being pg_roles joined on the
 * session's usesysid: login, viewer, login_may_end, holder_super. MEMBER rather than USAGE: a member without
 * INHERIT may SET ROLE first.
 */
export function endSessionColumns(roles: string): string {
  return `session_user AS login, current_user AS viewer, COALESCE(${roles}.rolsuper, false) AS holder_super,
          COALESCE(
            (NOT ${roles}.rolsuper OR (SELECT rolsuper FROM pg_roles WHERE rolname = session_user))
              AND (pg_has_role(session_user, ${roles}.oid, 'MEMBER')
                   OR pg_has_role(session_user, 'pg_signal_backend', 'MEMBER')),
            false) AS login_may_end`;
}

/** `end it with SELECT pg_terminate_backend(4711)`, or as the login after SET ROLE NONE, or by the admin. */
export function howToEnd(session: EndableSession): string {
  const terminate = `SELECT pg_terminate_backend(${session.pid})`;
  if (session.loginMayEnd) {
    return session.viewer !== session.login
      ? `end it as ${session.login} with SET ROLE NONE; ${terminate}`
      : `end it with ${terminate}`;
  }
  const admin = session.isSuperuser
    ? "a superuser"
    : "the admin (a superuser, rds_superuser on RDS, or a member of pg_signal_backend)";
  return `${session.login} may not end a session of ${session.user}: ${admin} must, with ${terminate}`;
}
