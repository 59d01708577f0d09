// The server as a whole: connections against max_connections, the oldest open transaction in this database
// (it keeps vacuum from removing dead rows anywhere in it) and the oldest snapshot of any kind, sessions waiting
// on a lock and whom for (core/health/sessions.ts), transaction ID age (the oldest database's: wraparound is
// server-wide), and replication: streaming
// replicas and slots on a primary, replay lag on a standby. Other sessions' details need pg_read_all_stats
// (core/stat-activity.ts; the access layer grants it to the owner role health acts as): without it their
// sessions are still counted, and the report says how many it cannot see into instead of "none open".
import type { ClientBase } from "pg";
import { durationText } from "../count-format";
import { literal } from "../sql";
import { readAllStatsGrant } from "../stat-activity";
import type { HealthLimits } from "./limits";
import type { ClusterHealth, HealthFinding } from "./report";
import {
  CAN_TERMINATE,
  describeSession,
  readLockWaits,
  readOldestXminHolder,
  readPreparedTransactions,
  terminateFix,
} from "./sessions";
import { describePreparedTransaction, finishPrepared } from "../lock-safety/prepared-transactions";
import { count, numberOrNull } from "./values";

/** Lock waits shorter than this are not listed: a snapshot of the server catches many a wait of milliseconds. */
export const LISTED_LOCK_WAIT_SECONDS = 5;

export async function readCluster(client: ClientBase, limits: HealthLimits): Promise<ClusterHealth> {
  const { rows: basics } = await client.query<{
    max: number;
    reserved: number;
    in_use: string;
    hidden: string;
    hidden_here: string;
    viewer: string;
    standby: boolean;
    xid_age: number;
    xid_database: string;
    freeze_max_age: string;
  }>(`
    SELECT current_setting('max_connections')::int AS max,
           current_setting('superuser_reserved_connections')::int AS reserved,
           in_use, hidden, hidden_here, current_user AS viewer,
           pg_is_in_recovery() AS standby,
           oldest.xid_age, oldest.xid_database,
           current_setting('autovacuum_freeze_max_age') AS freeze_max_age
    FROM (${SESSION_COUNTS}) AS sessions, (${OLDEST_DATABASE}) AS oldest`);
  const b = basics[0]!;
  const standby = b.standby;
  return {
    connections: { inUse: count(b.in_use), max: b.max, reservedForSuperuser: b.reserved },
    sessionDetails: {
      role: b.viewer,
      hiddenSessions: count(b.hidden),
      hiddenInDatabase: count(b.hidden_here),
    },
    oldestTransaction: await readOldestTransaction(client),
    preparedTransactions: await readPreparedTransactions(client),
    oldestXmin: await readOldestXminHolder(client),
    lockWaits: await readLockWaits(client, Math.min(LISTED_LOCK_WAIT_SECONDS, limits.lockWaitSeconds)),
    transactionIdAge: {
      age: b.xid_age,
      freezeMaxAge: Number(b.freeze_max_age),
      database: b.xid_database,
    },
    role: standby ? "standby" : "primary",
    replicas: standby ? [] : await readReplicas(client),
    standbyReplayLagSeconds: standby ? await readStandbyLag(client) : null,
    replicationSlots: standby ? [] : await readSlots(client),
  };
}

// A row whose details are hidden has no backend_type either; one with a user and a database is a client
// session (or, rarely, a background worker attached to a database), so it counts as a connection: the
// connections check must not read 0 because it cannot see. Our own session counts, but is never "hidden":
// without the grant even it reads as hidden, since it logged in as the migrator and acts as the owner.
const SESSION_COUNTS = `
  SELECT count(*) FILTER (WHERE backend_type = 'client backend' OR (backend_type IS NULL AND client_session))
           AS in_use,
         count(*) FILTER (WHERE backend_type IS NULL AND client_session AND pid <> pg_backend_pid()) AS hidden,
         count(*) FILTER (WHERE backend_type IS NULL AND client_session AND pid <> pg_backend_pid()
                            AND datname = current_database()) AS hidden_here
    FROM (SELECT *, usesysid IS NOT NULL AND datid IS NOT NULL AS client_session FROM pg_stat_activity) AS a`;

// Transaction ID wraparound is the server's: the database frozen longest ago (template0 included) is the one
// anti-wraparound vacuums are about.
const OLDEST_DATABASE = `
  SELECT age(datfrozenxid) AS xid_age, datname AS xid_database
    FROM pg_database
   ORDER BY age(datfrozenxid) DESC, datname
   LIMIT 1`;

async function readOldestTransaction(client: ClientBase): Promise<ClusterHealth["oldestTransaction"]> {
  const { rows } = await client.query<{
    pid: number;
    user: string | null;
    application: string | null;
    state: string | null;
    age_seconds: number;
    can_terminate: boolean;
  }>(`
    SELECT pid, usename AS user, application_name AS application, state,
           extract(epoch FROM now() - xact_start)::float8 AS age_seconds,
           ${CAN_TERMINATE} AS can_terminate
    FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
    WHERE datname = current_database() AND backend_type = 'client backend'
      AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
    ORDER BY xact_start
    LIMIT 1`);
  const row = rows[0];
  return row
    ? {
        pid: row.pid,
        user: row.user,
        application: row.application || null,
        state: row.state,
        ageSeconds: Math.round(row.age_seconds),
        canTerminate: row.can_terminate,
      }
    : null;
}

async function readReplicas(client: ClientBase): Promise<ClusterHealth["replicas"]> {
  const { rows } = await client.query<{
    name: string;
    state: string | null;
    lag_seconds: number | null;
    lag_bytes: string | null;
  }>(`
    SELECT application_name AS name, state,
           extract(epoch FROM replay_lag)::float8 AS lag_seconds,
           pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS lag_bytes
    FROM pg_stat_replication
    ORDER BY application_name`);
  return rows.map((r) => ({
    name: r.name,
    state: r.state,
    replayLagSeconds: numberOrNull(r.lag_seconds),
    replayLagBytes: numberOrNull(r.lag_bytes),
  }));
}

async function readStandbyLag(client: ClientBase): Promise<number | null> {
  // Time since the last replayed commit: also grows on an idle primary, so a finding names both readings.
  const { rows } = await client.query<{ lag: number | null }>(
    "SELECT extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS lag",
  );
  return numberOrNull(rows[0]?.lag);
}

async function readSlots(client: ClientBase): Promise<ClusterHealth["replicationSlots"]> {
  const { rows } = await client.query<{
    name: string;
    type: string;
    active: boolean;
    retained: string | null;
  }>(`
    SELECT slot_name AS name, slot_type AS type, active,
           pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) AS retained
    FROM pg_replication_slots
    ORDER BY slot_name`);
  return rows.map((r) => ({
    name: r.name,
    type: r.type,
    active: r.active,
    retainedBytes: numberOrNull(r.retained),
  }));
}

const n = (value: number) => value.toLocaleString("en-US");
const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

export function clusterFindings(cluster: ClusterHealth, limits: HealthLimits): HealthFinding[] {
  const findings: HealthFinding[] = [];
  const add = (subject: string, problem: string, action: string) =>
    findings.push({ severity: "action", subject, problem, action });

  const { inUse, max } = cluster.connections;
  if (inUse * 100 >= max * limits.connectionsPercent) {
    add(
      "connections",
      `${n(inUse)} of max_connections ${n(max)} in use (${Math.round((inUse * 100) / max)}%)`,
      "find idle or leaked sessions in pg_stat_activity, put a connection pooler in front, or raise maxConnections",
    );
  }
  const { role, hiddenSessions, hiddenInDatabase } = cluster.sessionDetails;
  if (hiddenSessions > 0) {
    add(
      "session details",
      `pg_stat_activity hides the state and start times of ${n(hiddenSessions)} other session${hiddenSessions === 1 ? "" : "s"} (${n(hiddenInDatabase)} in this database) from role ${role}: they count as connections, but an old transaction among them would go unseen`,
      `${readAllStatsGrant(role)} as the server's admin (the access layer grants it to the owner role: run pulumi up, or npm run local, again)`,
    );
  }
  const oldest = cluster.oldestTransaction;
  if (oldest && oldest.ageSeconds >= limits.longTransactionSeconds) {
    add(
      "oldest transaction",
      `pid ${oldest.pid} (${oldest.application ?? "no application name"}, ${oldest.state ?? "state unknown"}) has been in a transaction for ${durationText(oldest.ageSeconds)}: vacuum cannot remove rows it might still see`,
      `end it from its client, or ${terminateFix(oldest)}`,
    );
  }
  // A prepared transaction as old as a long transaction: nothing ends it but its COMMIT or ROLLBACK PREPARED,
  // and meanwhile it holds its locks and keeps vacuum from removing rows it might still see. A younger one is
  // a two-phase commit in progress, left to its transaction manager.
  for (const prepared of cluster.preparedTransactions) {
    if (prepared.ageSeconds < limits.longTransactionSeconds) continue;
    add(
      "prepared transaction",
      `${describePreparedTransaction(prepared)} holds its locks and keeps vacuum from removing rows it might still see until it is committed or rolled back; it has no session to end, and outlives restarts`,
      finishPrepared(prepared),
    );
  }
  for (const wait of cluster.lockWaits) {
    if (wait.waitSeconds < limits.lockWaitSeconds) continue;
    const { blocker } = wait;
    const pids = wait.blockedBy.filter((pid) => pid > 0).join(", ");
    const prepared = wait.preparedTransactions.map((p) => describePreparedTransaction(p)).join(", ");
    const by = blocker
      ? wait.blockedBy.includes(blocker.pid)
        ? describeSession(blocker)
        : `pid ${pids}, itself waiting behind ${describeSession(blocker)}`
      : wait.byPreparedTransaction
        ? prepared || "a prepared transaction (pg_prepared_xacts)"
        : `pid ${pids}`;
    add(
      "lock wait",
      `${describeSession(wait.session)} has waited ${durationText(wait.waitSeconds)} for ${wait.lock ?? "a lock"}, blocked by ${by}`,
      blocker
        ? `end the blocking session from its client, or ${terminateFix(blocker)}`
        : wait.byPreparedTransaction
          ? wait.preparedTransactions.length > 0
            ? wait.preparedTransactions.map((p) => `${literal(p.gid)}: ${finishPrepared(p)}`).join("; ")
            : "COMMIT PREPARED or ROLLBACK PREPARED the transaction pg_prepared_xacts lists, as its owner or a superuser"
          : "find the blocking session in pg_stat_activity and end it",
    );
  }
  const { age, freezeMaxAge, database } = cluster.transactionIdAge;
  if (age > limits.freezeAgeFactor * freezeMaxAge) {
    add(
      "transaction ID age",
      `${n(age)} transactions since database ${database} was last frozen (anti-wraparound vacuums start at ${n(freezeMaxAge)}); wraparound is server-wide`,
      "end old transactions and prepared transactions and drop stale replication slots (they hold back freezing), then let autovacuum finish; " +
        `or, as the server's admin (the migrator cannot freeze the shared catalogs), run VACUUM (FREEZE) in database ${database}`,
    );
  }
  for (const replica of cluster.replicas) {
    if ((replica.replayLagSeconds ?? 0) > limits.replicaLagSeconds) {
      add(
        `replica ${replica.name}`,
        `replays ${Math.round(replica.replayLagSeconds ?? 0)} s behind (${gib(replica.replayLagBytes ?? 0)} of WAL)`,
        "check the replica's load, network and disk; reads from it are stale meanwhile",
      );
    }
  }
  const standbyLag = cluster.standbyReplayLagSeconds;
  if (standbyLag !== null && standbyLag > limits.replicaLagSeconds) {
    add(
      "replication",
      `this standby's last replayed commit is ${Math.round(standbyLag)} s old`,
      "if the primary is writing, this standby is behind: check its load and its connection to the primary",
    );
  }
  for (const slot of cluster.replicationSlots) {
    if (!slot.active && (slot.retainedBytes ?? 0) >= limits.slotRetainedBytes) {
      add(
        `replication slot ${slot.name}`,
        `inactive, and keeps ${gib(slot.retainedBytes ?? 0)} of WAL on the primary's disk`,
        `reconnect its consumer, or drop it: SELECT pg_drop_replication_slot('${slot.name}')`,
      );
    }
  }
  return findings;
}
