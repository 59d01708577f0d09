// What `neonhub-db health` reports: plain data (JSON as it is), built by checkHealth and printed by the CLI.
import type { ReleaseInProgress } from "../lock";
import type { PreparedTransaction } from "../lock-safety/prepared-transactions";

/** Something worth knowing; `action` findings make the report unhealthy. */
export interface HealthFinding {
  /** `action`: someone must do something (exit 2); `info`: worth knowing, nothing to do. */
  severity: "action" | "info";
  /** What it is about: an index, a table, `connections`, a replica... (a name raw, as the catalog has it) */
  subject: string;
  /** Set when the subject is a table's or an index's name: the text shows it as SQL writes it. */
  subjectKind?: "table" | "index";
  /** What was found, with the numbers. */
  problem: string;
  /** What to do about it, as a command when there is one. */
  action: string;
}

/** A vector or hot-path index. Counters are since `statsResetAt`. */
export interface IndexHealth {
  name: string;
  table: string;
  kind: "vector" | "hot-path";
  /** False when the index does not exist (a hot-path index a migration should have made). */
  exists: boolean;
  /** False for an index a failed CREATE INDEX CONCURRENTLY left behind: it is maintained but never used. */
  valid: boolean | null;
  sizeBytes: number | null;
  scans: number | null;
  tuplesRead: number | null;
  /** Vector indexes: the access method and its build parameter (`lists` or `m`/`ef_construction`). */
  method?: string;
  build?: Record<string, number>;
  /** Vector indexes: rows the index was built on, and rows it covers now. */
  rowsAtBuild?: number | null;
  rowsNow?: number | null;
  /** Vector indexes: the calibrated search setting, e.g. `{ "ivfflat.probes": 10 }`. */
  searchSetting?: Record<string, number> | null;
}

/** A large or bulk-loaded table, and where autovacuum stands with it. */
export interface TableHealth {
  name: string;
  liveTuples: number;
  deadTuples: number;
  /** Rows inserted, updated or deleted since the last ANALYZE. */
  modifiedSinceAnalyze: number;
  /** Rows inserted since the last VACUUM. */
  insertedSinceVacuum: number;
  totalBytes: number;
  lastVacuum: string | null;
  lastAutovacuum: string | null;
  lastAnalyze: string | null;
  lastAutoanalyze: string | null;
  autovacuumEnabled: boolean;
  /** Changed rows at which autovacuum analyzes, and whether that point is passed. */
  analyzeThreshold: number;
  analyzeDue: boolean;
  /** Dead rows at which autovacuum vacuums, and whether that point is passed. */
  vacuumThreshold: number;
  vacuumDue: boolean;
  /** Inserted rows at which autovacuum vacuums an insert-mostly table, and whether that point is passed. */
  insertVacuumThreshold: number;
  insertVacuumDue: boolean;
}

export interface ReplicaHealth {
  /** The standby's application_name as the primary sees it. */
  name: string;
  state: string | null;
  replayLagSeconds: number | null;
  replayLagBytes: number | null;
}

export interface ReplicationSlotHealth {
  name: string;
  type: string;
  active: boolean;
  /** WAL the slot keeps on the primary's disk. */
  retainedBytes: number | null;
}

export interface ClusterHealth {
  /** Client connections to the whole server, against max_connections. */
  connections: { inUse: number; max: number; reservedForSuperuser: number };
  /**
   * What pg_stat_activity hides from `role` (current_user: the owner, for the migrator): other sessions whose
   * state and start times it cannot see without pg_read_all_stats. They are counted in `connections`, but
   * `oldestTransaction` is only the oldest of the sessions it can see.
   */
  sessionDetails: { role: string; hiddenSessions: number; hiddenInDatabase: number };
  /**
   * The oldest open transaction in this database (it holds back vacuum) among the sessions whose details are
   * visible; null when none is open (or, with `sessionDetails.hiddenInDatabase` > 0, none is seen).
   */
  oldestTransaction: {
    pid: number;
    user: string | null;
    application: string | null;
    state: string | null;
    ageSeconds: number;
    /** Whether the role health acts as may pg_terminate_backend() it (else its own login or the admin must). */
    canTerminate: boolean;
  } | null;
  /**
   * This database's prepared transactions (PREPARE TRANSACTION), oldest first: each holds its locks and its
   * snapshot until it is committed or rolled back, across restarts, and has no session (pid) to end.
   */
  preparedTransactions: PreparedTransaction[];
  /**
   * The oldest snapshot (xmin) held in this database besides health's own, of any age: vacuum removes no dead
   * row it might still see. A session's transaction, a prepared transaction or a replication slot.
   */
  oldestXmin: XminHolderHealth | null;
  /** Sessions of this database waiting on a lock for a few seconds or more, longest first. */
  lockWaits: LockWaitHealth[];
  /**
   * Transaction ID age: the largest over the server's databases (wraparound is server-wide), naming that
   * database, against autovacuum_freeze_max_age.
   */
  transactionIdAge: { age: number; freezeMaxAge: number; database: string };
  /** `primary` or `standby`. */
  role: "primary" | "standby";
  /** Streaming replicas of this primary (empty on Aurora, whose readers CloudWatch watches). */
  replicas: ReplicaHealth[];
  /** On a standby: how far behind its primary it replays. */
  standbyReplayLagSeconds: number | null;
  replicationSlots: ReplicationSlotHealth[];
}

/** Another session, as a fix names it. */
export interface SessionHealth {
  pid: number;
  user: string | null;
  application: string | null;
  state: string | null;
  /** How long its transaction has been open; null when none is. */
  transactionSeconds: number | null;
  /**
   * Whether the role health acts as may pg_terminate_backend() it: it has the privileges of the session's
   * login, or of pg_signal_backend. Otherwise that login or the server's admin must.
   */
  canTerminate: boolean;
}

export interface XminHolderHealth {
  kind: "session" | "prepared transaction" | "replication slot";
  /** The prepared transaction's gid, the replication slot's name. */
  name: string | null;
  /** The session's login, the prepared transaction's owner. */
  user: string | null;
  /** The session's state; a slot's `active` or `inactive`. */
  state: string | null;
  /** Since the session's transaction began, since the transaction was prepared; null for a slot. */
  ageSeconds: number | null;
  /** Transactions since its xmin. */
  xminAge: number;
  /** The session, when it is one. */
  session: SessionHealth | null;
  /** The prepared transaction, when it is one: when it was prepared, and whether health's role may finish it. */
  preparedTransaction: PreparedTransaction | null;
}

export interface LockWaitHealth {
  /** The waiting session. */
  session: SessionHealth;
  /** Since it began to wait (pg_locks.waitstart). */
  waitSeconds: number;
  /** The lock it waits for: mode, and the table when it is one (`AccessShareLock on "Chunk"`). */
  lock: string | null;
  /** The pids that block it (pg_blocking_pids; 0 is a prepared transaction). */
  blockedBy: number[];
  /** The head of its chain: the blocking session that itself waits on nobody, the one to end. */
  blocker: SessionHealth | null;
  /** Blocked by a prepared transaction (pg_prepared_xacts). */
  byPreparedTransaction: boolean;
  /** The prepared transactions holding a lock on what it waits for, when one blocks it. */
  preparedTransactions: PreparedTransaction[];
}

/**
 * A vector search setting the release makes the default for hand-written queries (ALTER DATABASE ... SET), as
 * pg_db_role_setting has it where it applies to the app's and the read-only login's sessions, when that is not
 * what the release recorded.
 */
export interface SearchSettingHealth {
  setting: string;
  /** `database neonhub`, `role neonhub_app in database neonhub`, `role neonhub_app in all databases`. */
  where: string;
  /** The value set there; null when the release's database default is missing. */
  live: string | null;
  recorded: number;
  /** The statement that puts it back. */
  fix: string;
}

/**
 * One embedded table's look for rows the dimension trigger refuses (core/health/embedding-looks.ts): zero-vector
 * embeddings, embeddings of another dimension than their space, embeddings a halfvec index holds as zero. The looks share one scan of the table, so its
 * readings of the table are in the same state.
 */
export interface EmbeddingRowsHealth {
  table: string;
  /**
   * `checked`: `rows` is how many, `ids` the first few by id; `timed-out`: the scan ran past its time limit
   * (`embeddingScanMs`) and was stopped; `locked`: another session's lock outlasted the scan's wait for it
   * (`--lock-timeout`, or the time limit when shorter); `hidden`: row-level security hides the table's rows
   * from this role.
   */
  state: "checked" | "timed-out" | "locked" | "hidden";
  rows: number | null;
  ids: string[];
  /**
   * `locked`: the table the lock was held on, the embedded table or "EmbeddingSpace" (which the scan joins);
   * absent when the scan, holding both, waited for one of their indexes.
   */
  lockedTable?: string;
}

/** A sample of a vector-indexed table's pages: how many of their embeddings are stored in TOAST. */
export interface EmbeddingStorageHealth {
  table: string;
  /** The table's pages, from its size. */
  tablePages: number;
  /** Pages the sample read (about; TABLESAMPLE SYSTEM picks each page with the same chance). */
  sampledPages: number;
  /** Embeddings on those pages that a page could hold in their rows (about 500 to 2,000 dimensions). */
  sampledRows: number;
  /** Of those, how many their pages cannot hold: stored in TOAST. */
  inToast: number;
  /** inToast / sampledRows; 0 when the sample holds none. */
  share: number;
}

export interface HealthReport {
  /** The database URL without its password. */
  database: string;
  checkedAt: string;
  /** When this database's statistics were last reset: scan counters count from then. */
  statsResetAt: string | null;
  /** False when a finding needs action. */
  healthy: boolean;
  indexes: IndexHealth[];
  tables: TableHealth[];
  cluster: ClusterHealth;
  /** Vector search settings set by hand over the release's (empty when they are as recorded). */
  searchSettings: SearchSettingHealth[];
  /** Each embedded table's rows whose embedding is the zero vector. */
  zeroEmbeddings: EmbeddingRowsHealth[];
  /** Each embedded table's rows whose embedding has another number of dimensions than their space. */
  wrongDimensionEmbeddings: EmbeddingRowsHealth[];
  /**
   * Each embedded table's rows above 2,000 dimensions whose every embedding value is below ~6e-8 in magnitude:
   * the zero vector in their halfvec index, which never finds them.
   */
  belowHalfvecEmbeddings: EmbeddingRowsHealth[];
  /** Each vector-indexed table's embeddings still stored in TOAST, from a sample of its pages. */
  embeddingsInToast: EmbeddingStorageHealth[];
  findings: HealthFinding[];
  /** Another session's release, running as health read: its vector indexes' findings are notes, not actions. */
  releaseInProgress?: ReleaseInProgress;
}
