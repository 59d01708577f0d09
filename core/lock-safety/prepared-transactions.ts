// Prepared transactions (PREPARE TRANSACTION, two-phase commit) as every command names them: a lock holder or
// a snapshot holder with no session. PostgreSQL keeps one, with its locks and its snapshot, across restarts,
// until COMMIT PREPARED or ROLLBACK PREPARED: pg_locks shows its locks with a NULL pid, pg_blocking_pids
// names it as pid 0, and pg_stat_activity has no row for it, so a reading that joins on the pid loses it.
// Nothing ends it by itself, and no pg_terminate_backend does; it is finished in its own database by the role
// that prepared it (pg_prepared_xacts.owner: the current_user of the session, the owner role for a migrator
// that acts as it) or a superuser, which on a managed server (RDS's rds_superuser) may be its owner alone.
// Whether to commit or roll it back is its transaction manager's to say: the other participants of the
// two-phase commit may have committed theirs.
import { quoteIdentifier } from "../identifiers";
import { isoTime, literal } from "../sql";
import { durationText } from "../count-format";

export interface PreparedTransaction {
  /** pg_prepared_xacts.gid: the name it was prepared with. */
  gid: string;
  /** The role that prepared it, the one (besides a superuser) that may finish it. */
  owner: string;
  database: string;
  /** When it was prepared, ISO 8601 (UTC). */
  preparedAt: string;
  ageSeconds: number;
  /** Whether the role the command acts as (current_user) may finish it: its owner, or a superuser. */
  mayFinish: boolean;
}

/**
 * A row of pg_prepared_xacts `p` as a jsonb PreparedTransaction: an expression, so that a reading of locks or
 * snapshots names its prepared transactions in the same statement.
 */
export function preparedTransactionJson(p: string): string {
  return `jsonb_build_object('gid', ${p}.gid, 'owner', ${p}.owner::text, 'database', ${p}.database::text,
      'preparedAt', ${isoTime(`${p}.prepared`)},
      'ageSeconds', floor(extract(epoch FROM now() - ${p}.prepared))::int,
      'mayFinish', ${p}.owner = current_user OR coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false))`;
}

/**
 * Joins each prepared transaction of pg_prepared_xacts `p` to the locks `h` it holds, from `locks` (pg_locks,
 * or a CTE of its rows read once: pg_locks is a function, and one read per row took seconds): a prepared
 * transaction's locks share its virtual transaction with the lock on its own transaction ID, which PREPARE
 * always assigns.
 */
export function preparedLocksJoin(p: string, locks: string, h: string): string {
  return `JOIN ${locks} own ON own.locktype = 'transactionid' AND own.transactionid = ${p}.transaction AND own.pid IS NULL
      JOIN ${locks} ${h} ON ${h}.virtualtransaction = own.virtualtransaction AND ${h}.pid IS NULL`;
}

/** The granted locks of prepared transactions (and only theirs: no session's), read once for preparedLocksJoin. */
export const PREPARED_LOCKS_CTE =
  "held AS MATERIALIZED (SELECT * FROM pg_locks WHERE pid IS NULL AND granted)";

/** Every prepared transaction of this database, oldest first (health's reading). */
export const PREPARED_TRANSACTIONS_SQL = `SELECT ${preparedTransactionJson("p")} AS prepared
    FROM pg_prepared_xacts p WHERE p.database = current_database() ORDER BY p.prepared`;

/** `prepared transaction 'x' (owner neonhub_owner, prepared 2026-12-06T09:52:17.016Z, 12 min ago)`. */
export function describePreparedTransaction(p: PreparedTransaction, holding: readonly string[] = []): string {
  const modes = holding.length > 0 ? `holding ${holding.join(", ")}; ` : "";
  return `prepared transaction ${literal(p.gid)} (${modes}owner ${p.owner}, prepared ${p.preparedAt}, ${durationText(p.ageSeconds)} ago)`;
}

/**
 * The statements that finish it, with who runs them when the command's role may not: `COMMIT PREPARED 'x' or
 * ROLLBACK PREPARED 'x'`, then `, as role neonhub_owner (SET ROLE neonhub_owner first) or a superuser`, and
 * the database when it is another one's.
 */
export function finishPreparedFix(p: PreparedTransaction, currentDatabase?: string): string {
  const gid = literal(p.gid);
  const statements = `COMMIT PREPARED ${gid} or ROLLBACK PREPARED ${gid}`;
  const where =
    currentDatabase !== undefined && currentDatabase !== p.database
      ? ` in database ${quoteIdentifier(p.database)}`
      : "";
  const who = p.mayFinish
    ? ""
    : `, as role ${p.owner} (SET ROLE ${quoteIdentifier(p.owner)} first, from a login that is a member of it) or a superuser`;
  return `${statements}${where}${who}`;
}

/**
 * What to do about one that holds things up: its transaction manager finishes it, and one abandoned (its
 * manager gone) is finished by hand, the way the transaction's other participants went.
 */
export function finishPrepared(p: PreparedTransaction, currentDatabase?: string): string {
  return (
    `have its transaction manager finish it, or, if it was abandoned, run ${finishPreparedFix(p, currentDatabase)} ` +
    `(whichever the transaction's other participants did)`
  );
}

/** finishPrepared, said of a holder that a command waited for: `ends only when ...: have its ...`. */
export function howToFinish(p: PreparedTransaction, currentDatabase?: string): string {
  return `ends only when it is committed or rolled back (it outlives sessions and restarts): ${finishPrepared(p, currentDatabase)}`;
}
