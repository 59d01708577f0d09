// Rendering pg_stat_activity rows. PostgreSQL shows every session's row, but of a session whose user the
// reading role neither is nor has the privileges of, only pid, user, database and application name: state,
// backend_start, xact_start, query, client address and backend_type read as NULL unless the reading role has
// pg_read_all_stats (pg_monitor includes it). The migrator acts as the owner role (SET ROLE), which has no
// privileges of the migrator, so without that grant even another apply of the same login is hidden. Every
// place that prints such a row says so, with the grant that shows the rest, instead of printing "null".
import { quoteIdentifier } from "./identifiers";

/** The predefined role that shows other sessions' details; granted to the owner by the access layer. */
export const READ_ALL_STATS_ROLE = "pg_read_all_stats";

/** The statement that lets `role` see other sessions' details. */
export function readAllStatsGrant(role: string): string {
  return `GRANT ${READ_ALL_STATS_ROLE} TO ${quoteIdentifier(role)}`;
}

/** Says that `role` (current_user of the reading session) cannot see a session's details, and the fix. */
export function hiddenDetailsText(role: string): string {
  return `its other details are hidden from role ${role} (${readAllStatsGrant(role)} shows them)`;
}
