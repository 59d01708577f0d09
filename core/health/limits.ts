// When a reading becomes a finding that needs action. Defaults a caller can override, one place to read them.

export interface HealthLimits {
  /** Tables with at least this many live rows are reported, besides the bulk-loaded ones. */
  largeTableRows: number;
  /**
   * Autovacuum starts at its threshold; past this many times the threshold it is behind (or a bulk load
   * outran it), and the table needs an ANALYZE or VACUUM now.
   */
  overdueFactor: number;
  /** Share of max_connections in use that needs action (the production alarm's default too). */
  connectionsPercent: number;
  /** An open transaction older than this holds back vacuum in the whole database. */
  longTransactionSeconds: number;
  /**
   * A session waiting on a lock longer than this needs action (its blocker is named); shorter waits of 5 s
   * or more are listed.
   */
  lockWaitSeconds: number;
  /** Replication lag that needs action. */
  replicaLagSeconds: number;
  /** WAL kept by an inactive replication slot that needs action. */
  slotRetainedBytes: number;
  /**
   * Transaction ID age, as a multiple of autovacuum_freeze_max_age (where anti-wraparound vacuums start),
   * past which freezing is behind.
   */
  freezeAgeFactor: number;
  /**
   * The time limit of each embedded table's scan for zero-vector embeddings and embeddings of another dimension
   * than their space, which reads every embedded row (core/health/embedding-looks.ts), its lock waits included;
   * one that runs out is a note, not an action.
   */
  embeddingScanMs: number;
  /**
   * Share of a vector-indexed table's sampled embeddings stored in TOAST, out of their rows, from which the
   * table needs rewriting (core/health/embeddings-in-toast.ts).
   */
  inToastShare: number;
}

export const DEFAULT_HEALTH_LIMITS: HealthLimits = {
  largeTableRows: 10_000,
  overdueFactor: 2,
  connectionsPercent: 80,
  longTransactionSeconds: 30 * 60,
  lockWaitSeconds: 30,
  replicaLagSeconds: 60,
  slotRetainedBytes: 1024 ** 3,
  freezeAgeFactor: 2,
  embeddingScanMs: 10_000,
  inToastShare: 0.1,
};

/** The tables that take bulk embedding loads (see migrations/20250126001500_bulk_load_autovacuum.sql). */
export const BULK_LOADED_TABLES: readonly string[] = ["Chunk", "Message"];

/**
 * The hot-path b-tree indexes (migrations/20250126001300_hot_path_indexes.sql), by index name:
 * the application's hot query paths.
 */
export const HOT_PATH_INDEXES: Readonly<Record<string, string>> = {
  idx_agent_run_started: "AgentRun",
  idx_campaign_metric_ts: "CampaignMetric",
  idx_api_key_token_hash: "ApiKey",
  idx_conversation_org_created: "Conversation",
};
