// Size, validity and use of indexes, from the catalogs and pg_stat_user_indexes (counters since the last
// statistics reset of this database).
import type { ClientBase } from "pg";
import { numberOrNull, timestamp } from "./values";

export interface IndexStats {
  name: string;
  table: string;
  method: string;
  valid: boolean;
  sizeBytes: number;
  scans: number | null;
  tuplesRead: number | null;
}

/** Indexes of `public` named in `names`, or using one of `methods` (ivfflat, hnsw), by name. */
export async function readIndexStats(
  client: ClientBase,
  names: readonly string[],
  methods: readonly string[],
): Promise<Map<string, IndexStats>> {
  const { rows } = await client.query<{
    name: string;
    table: string;
    method: string;
    valid: boolean;
    size_bytes: string;
    scans: string | null;
    tuples_read: string | null;
  }>(
    `SELECT i.relname AS name, t.relname AS table, am.amname AS method, x.indisvalid AS valid,
            pg_relation_size(i.oid) AS size_bytes, s.idx_scan AS scans, s.idx_tup_read AS tuples_read
     FROM pg_index x
     JOIN pg_class i ON i.oid = x.indexrelid
     JOIN pg_class t ON t.oid = x.indrelid
     JOIN pg_namespace n ON n.oid = i.relnamespace
     JOIN pg_am am ON am.oid = i.relam
     LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.oid
     WHERE n.nspname = 'public' AND (i.relname = ANY($1) OR am.amname = ANY($2))
     ORDER BY i.relname`,
    [names, methods],
  );
  return new Map(
    rows.map((r) => [
      r.name,
      {
        name: r.name,
        table: r.table,
        method: r.method,
        valid: r.valid,
        sizeBytes: Number(r.size_bytes),
        scans: numberOrNull(r.scans),
        tuplesRead: numberOrNull(r.tuples_read),
      },
    ]),
  );
}

/** When this database's statistics were last reset (null: never, since the cluster started counting). */
export async function readStatsReset(client: ClientBase): Promise<string | null> {
  const { rows } = await client.query<{ reset: Date | null }>(
    "SELECT stats_reset AS reset FROM pg_stat_database WHERE datname = current_database()",
  );
  return timestamp(rows[0]?.reset);
}
