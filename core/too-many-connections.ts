// SQLSTATE 53300 (too_many_connections) at login: the server's max_connections is used up (only the slots kept
// for superusers are left), or the login's or the database's CONNECTION LIMIT is. Every command fails the same
// way then, so the error says which limit it is and how the server's admin finds who holds the connections.
import { shownUser, type DatabaseTarget } from "./dsn";
import { ReleaseError } from "./errors";
import { quoteIdentifier } from "./identifiers";

export const TOO_MANY_CONNECTIONS = "53300";

/** Who holds the server's connections, as the admin would ask pg_stat_activity (one line). */
export const CONNECTION_HOLDERS_SQL =
  "SELECT usename, application_name, state, count(*) FROM pg_stat_activity " +
  "WHERE backend_type = 'client backend' GROUP BY 1, 2, 3 ORDER BY 4 DESC";

export function tooManyConnectionsError(error: unknown, target: DatabaseTarget): ReleaseError {
  const message = (error as Error | undefined)?.message ?? String(error);
  const where = `${target.host}:${target.port}`;
  const see = `As the server's admin (a superuser, who keeps reserved slots), see who holds them: ${CONNECTION_HOLDERS_SQL}; then end idle sessions (SELECT pg_terminate_backend(pid))`;
  if (/for role/i.test(message)) {
    return new ReleaseError(
      "connection",
      `User ${shownUser(target.user)} has used up its connection limit at ${where}: ${message}.`,
      `${see}, or raise its limit: ALTER ROLE ${quoteIdentifier(target.user)} CONNECTION LIMIT <n>.`,
      { cause: error },
    );
  }
  if (/for database/i.test(message)) {
    return new ReleaseError(
      "connection",
      `Database "${target.database}" has used up its connection limit at ${where}: ${message}.`,
      `${see}, or raise its limit: ALTER DATABASE ${quoteIdentifier(target.database)} CONNECTION LIMIT <n>.`,
      { cause: error },
    );
  }
  return new ReleaseError(
    "connection",
    `PostgreSQL at ${where} has no connection left (max_connections is used up): ${message}.`,
    `${see}, or raise max_connections (maxConnections in the stack's config), or put a connection pooler in front.`,
    { cause: error },
  );
}
