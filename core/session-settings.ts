// The settings every session of the CLI and the engine starts with, whatever the URL's options
// (`?options=-c ...`), the login's role or the database set for apps (ALTER ROLE/DATABASE ... SET): the one
// statement that sets them back to what the engine expects, and the refusal when one cannot be set back.
// `default_transaction_read_only` is not among them: a read-only session is a standby or a login meant to
// read, and its refused write says so (core/read-only-session.ts).
import { NOTHING_WRITTEN, ReleaseError } from "./errors";
import { quoteIdentifier } from "./identifiers";

/** The schema the release's objects are in: first in every session's search_path (below). */
export const RELEASE_OBJECTS_SCHEMA = "public";

/**
 * Sent with the first query of every session (core/connection.ts):
 * - `search_path`: `public`, the schema the release's objects are in, first. A migration's unqualified CREATE
 *   goes to the first schema of the path: one that named another (or a schema named after the owner role,
 *   which the default "$user", public finds first) had the release create its tables there, fail at the first
 *   type it could not find in it, and leave the migrations before that applied in the wrong schema. The rest of
 *   the path is kept after it, so that an extension installed in a schema of its own is still found.
 * - `extra_float_digits`: 1, PostgreSQL's default, whose text reads back as the same number: a lower one
 *   rounds what the engine reads (a recorded target recall of 0.95 read as 0.9), and plan then found settings
 *   changed and apply recalibrated every index at each run.
 * - `statement_timeout`: off, as the migrations' is by default (they set their own, --statement-timeout): one
 *   meant for the app cancelled the engine's reads as "unexpected error (a bug)" and its index builds at every
 *   apply. Its waits for locks are bounded by lock_timeout instead.
 * - `lock_timeout`: off, as it is while apply and revert run (UNBOUNDED_LOCK_WAITS_SQL). What waits and for how
 *   long is the release's to decide: the migrations' --migration-lock-timeout, the reads' --lock-timeout, and
 *   an index build, which waits for the app's transactions that write to its table to end, as long as they take.
 *   One of 1 s for the role failed the build at the first app transaction that wrote for longer.
 * - `idle_in_transaction_session_timeout` and `idle_session_timeout`: off. The engine sits idle while it works
 *   on the client's side: load-chunks reads the file's documents inside its transaction (a 1 s timeout ended
 *   the load of a file of 300,000 documents as a lost connection), a provider's session waits between Pulumi's
 *   calls, an index build's progress connection between its polls. The server ending such a session ends the
 *   release lock and the transaction with it; the engine closes its sessions itself, and the server notices a
 *   client gone within seconds (client_connection_check_interval, core/lock-safety/session.ts).
 * - `default_transaction_isolation`: read committed, PostgreSQL's default, and `default_transaction_deferrable`
 *   off. The migrations, the seed sets and load-chunks are written for it: under repeatable read or serializable
 *   a backfill that waited for a row an app transaction updated failed with "could not serialize access due to
 *   concurrent update" where it would have gone on, and the failure said to fix the file. The reads that need a
 *   snapshot (a calibration, the upgrade's proof) begin their transactions with their level named.
 * - `session_replication_role`: origin, when it is not. As `replica` (or `local`) no ordinary trigger and no
 *   foreign key check fires: load-chunks and the migrations' backfills would write rows without their tenant
 *   column or their embedding bits, and chunks of documents that do not exist. Only a superuser, or a role
 *   granted SET on it, may set it back: for any other login the statement fails, and
 *   sessionSettingsRefusal names the setting and the fix. Set only when it differs, so that a login that may not
 *   set it is not refused for the default.
 */
export const COMMAND_SESSION_SETTINGS_SQL = `SELECT set_config('search_path', '${RELEASE_OBJECTS_SCHEMA}, ' || current_setting('search_path'), false),
  set_config('extra_float_digits', '1', false), set_config('statement_timeout', '0', false),
  set_config('lock_timeout', '0', false),
  set_config('idle_in_transaction_session_timeout', '0', false), set_config('idle_session_timeout', '0', false),
  set_config('default_transaction_isolation', 'read committed', false),
  set_config('default_transaction_deferrable', 'off', false),
  CASE WHEN current_setting('session_replication_role') <> 'origin'
    THEN set_config('session_replication_role', 'origin', false) END`;

/**
 * Lifts a read's bound on lock waits, back to what every session starts with (no lock_timeout, as set by
 * COMMAND_SESSION_SETTINGS_SQL): not RESET, which goes back to the role's, the database's or the URL's.
 */
export const UNBOUNDED_LOCK_WAITS_SQL = "SELECT set_config('lock_timeout', '0', false)";

/** PostgreSQL's insufficient_privilege. */
const INSUFFICIENT_PRIVILEGE = "42501";

/**
 * The `permission` error of a session the login may not set session_replication_role back for (the failure of
 * COMMAND_SESSION_SETTINGS_SQL); undefined for any other error.
 */
export function sessionSettingsRefusal(
  error: unknown,
  target: { user: string; database: string },
): ReleaseError | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== INSUFFICIENT_PRIVILEGE || typeof message !== "string") return undefined;
  if (!message.includes('parameter "session_replication_role"')) return undefined;
  const user = quoteIdentifier(target.user);
  const database = quoteIdentifier(target.database);
  return new ReleaseError(
    "permission",
    `The session of ${user} starts with session_replication_role set to replica or local (for the role, the database or in the URL's options), and ${user} may not set it back to origin: no trigger and no foreign key check would fire, and what the command writes would miss its tenant column, its embedding bits and its checks. ${NOTHING_WRITTEN}`,
    `As a superuser, take the setting away: ALTER ROLE ${user} RESET session_replication_role, ALTER ROLE ${user} IN DATABASE ${database} RESET session_replication_role, or ALTER DATABASE ${database} RESET session_replication_role (SELECT setdatabase, setrole, setconfig FROM pg_db_role_setting shows where it is), or take it out of the URL's options. Then run the command again.`,
    { cause: error },
  );
}
