// Other sessions as health names them in a fix: who may end a session. pg_terminate_backend(pid) works only
// for a role with the privileges of the session's login, or a member of pg_signal_backend (a superuser's
// session: only a superuser); health acts as the owner role, which is neither for another login's session, so
// each session read here says whether health's role could.
import type { SessionHealth } from "./report";

/** SQL true when current_user may pg_terminate_backend() a session of `a` (pg_stat_activity) `r` (pg_roles). */
export const CAN_TERMINATE = `coalesce(
    (NOT r.rolsuper OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user))
    AND (pg_has_role(current_user, a.usesysid, 'USAGE') OR pg_has_role(current_user, 'pg_signal_backend', 'USAGE')),
    false)`;

/** The fix that ends a session, with who may run it when health's own role may not. */
export function terminateFix(session: Pick<SessionHealth, "pid" | "user" | "canTerminate">): string {
  const sql = `SELECT pg_terminate_backend(${session.pid})`;
  if (session.canTerminate) return sql;
  const own = session.user ? `its own login ${session.user}, or ` : "";
  return `${sql} as ${own}the server's admin (a superuser, rds_superuser, or a member of pg_signal_backend)`;
}
