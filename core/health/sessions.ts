// Other sessions as health names them in a fix: who holds back vacuum (the oldest snapshot: a session's
// transaction, a prepared transaction, a replication slot), who waits on a lock and whom for, and who may end a
// session. pg_terminate_backend(pid) works only for a role with the privileges of the session's login, or a
// member of pg_signal_backend (a superuser's session: only a superuser); health acts as the owner role, which is
// neither for another login's session, so each session read here says whether health's role could.
import type { ClientBase } from "pg";
import { countText, durationText } from "../count-format";
import { mayEndSql, terminateFix as endSessionFix } from "../lock-safety/end-session";
import { preparedHoldersSql } from "../lock-safety/lock-waits";
import {
  describePreparedTransaction,
  finishPrepared,
  PREPARED_TRANSACTIONS_SQL,
  preparedTransactionJson,
  type PreparedTransaction,
} from "../lock-safety/prepared-transactions";
import type { LockWaitHealth, SessionHealth, XminHolderHealth } from "./report";
import { numberOrNull } from "./values";

/** SQL true when current_user may pg_terminate_backend() a session of `a` (pg_stat_activity) `r` (pg_roles). */
export const CAN_TERMINATE = mayEndSql("r");

/** The fix that ends a session, with who may run it when health's own role may not (end-session.ts). */
export function terminateFix(session: Pick<SessionHealth, "pid" | "user" | "canTerminate">): string {
  return endSessionFix({ pid: session.pid, user: session.user, mayEnd: session.canTerminate });
}

/** "pid 4242 (neonhub_app, api, idle in transaction, in a transaction for 12 s)". */
export function describeSession(s: SessionHealth): string {
  const details = [
    s.user ?? "user unknown",
    s.application ?? "no application name",
    s.state ?? "state unknown",
    s.transactionSeconds !== null
      ? `in a transaction for ${durationText(s.transactionSeconds)}`
      : "no transaction open",
  ];
  return `pid ${s.pid} (${details.join(", ")})`;
}

/** What holds the oldest snapshot (xmin) of this database, which no vacuum can remove a row past. */
export function describeXminHolder(h: XminHolderHealth): string {
  if (h.kind === "session") return `session ${describeSession(h.session!)}`;
  if (h.kind === "prepared transaction") return describePreparedTransaction(h.preparedTransaction!);
  return `replication slot ${h.name} (${h.state})`;
}

/** "1 transaction old", "1,234 transactions old": how far back the oldest snapshot reaches. */
export function snapshotAgeText(h: XminHolderHealth): string {
  return `${countText(h.xminAge, "transaction")} old`;
}

/** How to end what holds the oldest snapshot. */
export function xminHolderFix(h: XminHolderHealth): string {
  if (h.kind === "session") return `end it from its client, or ${terminateFix(h.session!)}`;
  if (h.kind === "prepared transaction") return finishPrepared(h.preparedTransaction!);
  return `reconnect its consumer, or drop it: SELECT pg_drop_replication_slot('${h.name}')`;
}

interface SessionRow {
  pid: number;
  user: string | null;
  application: string | null;
  state: string | null;
  transaction_seconds: number | null;
  can_terminate: boolean;
}

const SESSION_COLUMNS = `a.pid, a.usename AS user, a.application_name AS application, a.state,
       extract(epoch FROM now() - a.xact_start)::float8 AS transaction_seconds,
       ${CAN_TERMINATE} AS can_terminate`;

function session(row: SessionRow): SessionHealth {
  return {
    pid: row.pid,
    user: row.user,
    application: row.application || null,
    state: row.state,
    transactionSeconds: row.transaction_seconds === null ? null : Math.round(row.transaction_seconds),
    canTerminate: row.can_terminate,
  };
}

/**
 * The oldest snapshot of this database other than health's own: a client session's transaction ID or xmin, a
 * prepared transaction of this database, a replication slot's xmin. Vacuum removes no row that it might still
 * see, whatever its age. Oldest by transaction ID age; null when none holds one.
 */
export async function readOldestXminHolder(client: ClientBase): Promise<XminHolderHealth | null> {
  const { rows } = await client.query<
    SessionRow & {
      kind: XminHolderHealth["kind"];
      name: string | null;
      age_seconds: number | null;
      xmin_age: number;
      prepared: PreparedTransaction | null;
    }
  >(`
    SELECT * FROM (
      SELECT 'session' AS kind, NULL AS name, ${SESSION_COLUMNS},
             extract(epoch FROM now() - a.xact_start)::float8 AS age_seconds,
             greatest(age(a.backend_xid), age(a.backend_xmin)) AS xmin_age, NULL::jsonb AS prepared
        FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
       WHERE a.datname = current_database() AND a.backend_type = 'client backend'
         AND a.pid <> pg_backend_pid() AND (a.backend_xid IS NOT NULL OR a.backend_xmin IS NOT NULL)
      UNION ALL
      SELECT 'prepared transaction', p.gid, NULL, p.owner, NULL, NULL, NULL, NULL,
             extract(epoch FROM now() - p.prepared)::float8, age(p.transaction), ${preparedTransactionJson("p")}
        FROM pg_prepared_xacts p WHERE p.database = current_database()
      UNION ALL
      SELECT 'replication slot', slot_name, NULL, NULL, NULL, CASE WHEN active THEN 'active' ELSE 'inactive' END,
             NULL, NULL, NULL, age(xmin), NULL
        FROM pg_replication_slots WHERE xmin IS NOT NULL
    ) holders
    ORDER BY xmin_age DESC, age_seconds DESC NULLS LAST
    LIMIT 1`);
  const row = rows[0];
  if (!row) return null;
  return {
    kind: row.kind,
    name: row.name,
    user: row.user,
    state: row.state,
    ageSeconds: row.age_seconds === null ? null : Math.round(row.age_seconds),
    xminAge: Number(row.xmin_age),
    session: row.kind === "session" ? session(row) : null,
    preparedTransaction: row.prepared,
  };
}

/** Every prepared transaction of this database, oldest first. */
export async function readPreparedTransactions(client: ClientBase): Promise<PreparedTransaction[]> {
  const { rows } = await client.query<{ prepared: PreparedTransaction }>(PREPARED_TRANSACTIONS_SQL);
  return rows.map((r) => r.prepared);
}

/**
 * Sessions of this database waiting on a lock for at least `minSeconds` (pg_locks.waitstart), each with the
 * sessions that block it (pg_blocking_pids) and the head of its chain: the blocker that waits on nobody, the one
 * to end. A blocker that is a prepared transaction has no session (pid 0 is left out): it is named from
 * pg_prepared_xacts instead (preparedTransactions).
 */
export async function readLockWaits(client: ClientBase, minSeconds: number): Promise<LockWaitHealth[]> {
  const { rows: waiting } = await client.query<
    SessionRow & {
      here: boolean;
      wait_seconds: number | null;
      lock: string | null;
      blocked_by: number[];
      prepared: PreparedTransaction[];
    }
  >(`
    SELECT w.*, pg_blocking_pids(w.pid) AS blocked_by FROM (
      SELECT ${SESSION_COLUMNS}, a.datname IS NOT DISTINCT FROM current_database() AS here,
             ${preparedHoldersSql("l", "a.pid")} AS prepared,
             extract(epoch FROM now() - l.waitstart)::float8 AS wait_seconds,
             l.mode || CASE WHEN l.relation IS NOT NULL AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                            THEN ' on ' || l.relation::regclass::text ELSE ' (' || l.locktype || ')' END AS lock
        FROM pg_stat_activity a
        LEFT JOIN pg_roles r ON r.oid = a.usesysid
        JOIN LATERAL (SELECT * FROM pg_locks WHERE pid = a.pid AND NOT granted LIMIT 1) l ON true
       WHERE a.wait_event_type = 'Lock' AND a.pid <> pg_backend_pid()
    ) w`);
  if (waiting.length === 0) return [];
  const byPid = new Map(waiting.map((w) => [w.pid, w]));
  const blockerPids = [...new Set(waiting.flatMap((w) => w.blocked_by))].filter(
    (pid) => pid > 0 && !byPid.has(pid),
  );
  const { rows: blockers } = await client.query<SessionRow>(
    `SELECT ${SESSION_COLUMNS} FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid WHERE a.pid = ANY($1)`,
    [blockerPids],
  );
  const sessions = new Map<number, SessionHealth>([
    ...waiting.map((w) => [w.pid, session(w)] as const),
    ...blockers.map((b) => [b.pid, session(b)] as const),
  ]);
  const head = (pid: number): number => {
    const seen = new Set<number>();
    let current = pid;
    for (;;) {
      seen.add(current);
      const next = byPid.get(current)?.blocked_by.find((p) => p > 0 && !seen.has(p));
      if (next === undefined) return current;
      current = next;
    }
  };
  return waiting
    .filter((w) => w.here)
    .filter((w) => (numberOrNull(w.wait_seconds) ?? 0) >= minSeconds)
    .map((w) => {
      const root = head(w.pid);
      return {
        session: session(w),
        waitSeconds: Math.round(numberOrNull(w.wait_seconds) ?? 0),
        lock: w.lock,
        blockedBy: w.blocked_by,
        blocker: root !== w.pid ? (sessions.get(root) ?? null) : null,
        byPreparedTransaction: w.blocked_by.includes(0),
        preparedTransactions: w.prepared.map(
          ({ holding: _, ...p }: PreparedTransaction & { holding?: string[] }) => p,
        ),
      };
    })
    .sort((a, b) => b.waitSeconds - a.waitSeconds);
}
