// The binary-quantized prefilter of a tenant's search (migration 20261203120000_tenant_search_prefilter.sql).
//
// Below the exact threshold a tenant's search is exact, and exact search reads every visible row's page (the
// embedding is stored in the row). With the prefilter, search_chunks() takes the `depth` rows nearest by the
// Hamming distance between sign bits ("embeddingBits", kept by a trigger) from an index-only scan of one
// b-tree, and ranks only those by their exact distance. This module keeps that b-tree and the calibrated depth
// (search_prefilter_entries()); core/search/calibrate-tenants.ts decides the depth.
//
// The b-tree is not a migration's: a migration runs in a transaction, where CREATE INDEX blocks writes to a
// table that may already be large. The calibration builds it CONCURRENTLY, first filling the bits of rows
// written before the migration, in batches of their own transactions.
import { shownName } from "../shown-names";
import type { ClientBase } from "pg";
import { formatCount } from "../count-format";
import { silentLogger, type Logger } from "../logger";
import { literal } from "../sql";
import { dropInvalid } from "../vector-indexes/build";
import { quoteIdent } from "../vector-indexes/spec";
import type { PrefilterGraphFacts } from "./prefilter-graphs";

/** The tables whose search has a prefilter: the b-tree each one's reads, and the trigger keeping its bits. */
const PREFILTERS: Readonly<Record<string, { indexName: string; trigger: string }>> = {
  Chunk: { indexName: "idx_chunk_sign_bits", trigger: "chunk_embedding_bits" },
};

/** The tables whose search has a prefilter. */
export function prefilterTables(): string[] {
  return Object.keys(PREFILTERS);
}

/** Whether a table's search has a prefilter. */
export function isPrefilterTable(table: string): boolean {
  return PREFILTERS[table] !== undefined;
}

/** Whether `name` is a prefilter b-tree (a release index, not one of the migrations'). */
export function isPrefilterIndexName(name: string): boolean {
  return Object.values(PREFILTERS).some((p) => p.indexName === name);
}

/**
 * search_chunks() prefilters only a tenant with more than this many times the depth in visible rows: below it,
 * reading every row costs no more than the prefilter (measured at depth 40, migration 20261203180000, which
 * states the same number).
 */
export const PREFILTER_MIN_FACTOR = 4;

/** The depth range the calibration searches: at least 4k candidates for k = 10, at most what still gains. */
export const PREFILTER_MIN_DEPTH = 40;
export const PREFILTER_MAX_DEPTH = 640;

/**
 * The least depth calibrated for the smallest tenants the prefilter serves (2k for k = 10): on the benchmark's
 * 192-row tenant, 20 candidates gave recall@10 0.984-0.998 and a call under exact search written by hand.
 */
export const PREFILTER_SMALL_MIN_DEPTH = 20;

/** Rows filled per transaction when the bits of earlier rows are filled in, and a progress line per so many. */
const BACKFILL_BATCH = 2000;
const BACKFILL_REPORT_EVERY = 25;

export interface PrefilterEntry {
  table: string;
  dimension: number;
  /** For any tenant the prefilter serves, calibrated on the largest of them. */
  depth: number;
  /** A smaller depth for tenants of at most `rows` visible rows, calibrated on a tenant of that size. */
  small?: { rows: number; depth: number };
}

/** The depth search_chunks() takes for a tenant of `rows` visible rows (k = 10); the migration says the same. */
export function prefilterDepthFor(entry: Pick<PrefilterEntry, "depth" | "small">, rows: number): number {
  return entry.small && rows <= entry.small.rows ? entry.small.depth : entry.depth;
}

/** Whether search_chunks() prefilters a tenant of `rows` visible rows (else it reads them all). */
export function prefilters(entry: Pick<PrefilterEntry, "depth" | "small">, rows: number): boolean {
  return rows > PREFILTER_MIN_FACTOR * prefilterDepthFor(entry, rows);
}

/** What the calibration did about a table's prefilter, as recorded and shown by status. */
export type PrefilterFacts =
  | {
      state: "on";
      indexName: string;
      /** Hamming candidates ranked exactly per call, for k = 10. */
      depth: number;
      recall: number;
      latencyP50Ms: number;
      /** Set when this calibration built the b-tree. */
      buildMs?: number;
      /** Rows written before the migration whose bits this calibration filled in. */
      backfilledRows?: number;
      /** The largest tenants' graphs over their sign bits; absent in records made before them. */
      graphs?: PrefilterGraphFacts[];
      /** The smaller depth for small tenants; absent in records made before it. */
      small?: PrefilterSmallFacts;
    }
  | {
      state: "off";
      reason: string;
      /** Why, for the release to act on: a trigger disabled then enabled again is a reason to recalibrate. */
      cause?: PrefilterOffCause;
    };

/** What the calibration did about a smaller depth for the smallest tenants the prefilter serves. */
export type PrefilterSmallFacts =
  | {
      state: "on";
      /** The tenant it was calibrated on, and its visible rows then: tenants of at most that many take it. */
      organizationId: string;
      rows: number;
      depth: number;
      recall: number;
      latencyP50Ms: number;
    }
  | { state: "off"; reason: string };

/** One line for the log and status: the smaller depth, or why there is none. */
export function describePrefilterSmall(small: PrefilterSmallFacts): string {
  return small.state === "on"
    ? `prefilter for tenants of at most ${formatCount(small.rows)} visible rows: depth ${small.depth}, above ` +
        `${formatCount(PREFILTER_MIN_FACTOR * small.depth)} rows (calibrated on tenant ${small.organizationId}: ` +
        `recall@10 ${small.recall}, p50 ${small.latencyP50Ms} ms)`
    : `prefilter: one depth for every tenant (${small.reason})`;
}

export type PrefilterOffCause =
  | "unavailable"
  | "trigger-disabled"
  | "build-failed"
  | "target-missed"
  | "no-tenant-filter";

/** Whether the trigger that keeps a table's sign bits is there and enabled, as the catalog says. */
export type SignBitsTriggerState = "enabled" | "disabled" | "missing";

/** A SQL expression giving the table's SignBitsTriggerState; undefined for a table without a prefilter. */
export function signBitsTriggerStateSql(table: string): string | undefined {
  const prefilter = PREFILTERS[table];
  if (!prefilter) return undefined;
  return `coalesce((SELECT CASE WHEN t.tgenabled = 'D' THEN 'disabled' ELSE 'enabled' END FROM pg_trigger t
                     WHERE t.tgrelid = to_regclass(${literal(quoteIdent(table))})
                       AND t.tgname = ${literal(prefilter.trigger)}), 'missing')`;
}

/** Whether a table's prefilter b-tree is there and valid (an interrupted concurrent build leaves it INVALID). */
export type PrefilterIndexState = "valid" | "INVALID" | "missing";

/**
 * A SQL expression giving the table's PrefilterIndexState; undefined for a table without a prefilter. Read by
 * plan: a record that says the prefilter is on while its b-tree is gone (a revert past migration
 * 20261203120000 drops it with the column it carries) plans the calibration that builds it again.
 */
export function prefilterIndexStateSql(table: string): string | undefined {
  const prefilter = PREFILTERS[table];
  if (!prefilter) return undefined;
  return `coalesce((SELECT CASE WHEN i.indisvalid THEN 'valid' ELSE 'INVALID' END FROM pg_index i
                     WHERE i.indexrelid = to_regclass(${literal(quoteIdent(prefilter.indexName))})), 'missing')`;
}

/** CREATE INDEX of a table's prefilter b-tree: the tenant and space as keys, the bits and filters carried. */
export function prefilterIndexSql(table: string): string {
  return (
    `CREATE INDEX CONCURRENTLY ${quoteIdent(PREFILTERS[table]!.indexName)} ON ${quoteIdent(table)} ` +
    `("organizationId", "embeddingSpaceId") INCLUDE ("embeddingBits", "id", "datasetId", "documentId") ` +
    `WHERE "embeddingBits" IS NOT NULL`
  );
}

/**
 * Why a table's search cannot have the prefilter here, or undefined when it can: its migrations may stop
 * before it, or pgvector may be older than binary_quantize (0.7), in which case the migration made no trigger.
 */
export async function prefilterUnavailable(
  client: ClientBase,
  table: string,
): Promise<{ reason: string; cause: PrefilterOffCause } | undefined> {
  const prefilter = PREFILTERS[table];
  const triggerSql = signBitsTriggerStateSql(table);
  if (!prefilter || !triggerSql)
    return { reason: `${shownName(table)} has no prefilter`, cause: "unavailable" };
  const result = await client.query<{ entries: boolean; trigger: SignBitsTriggerState }>(
    `SELECT to_regprocedure('search_prefilter_entries()') IS NOT NULL AS entries, ${triggerSql} AS trigger`,
  );
  const { entries, trigger } = result.rows[0] ?? { entries: false, trigger: "missing" };
  if (!entries) {
    return {
      reason: "the database's migrations stop before the prefilter (20261203120000)",
      cause: "unavailable",
    };
  }
  if (trigger === "missing") {
    return {
      reason: "pgvector is older than 0.7 (no binary_quantize): the sign bits are not kept",
      cause: "unavailable",
    };
  }
  if (trigger === "disabled") {
    return {
      reason:
        `the trigger ${prefilter.trigger} that keeps the sign bits is disabled: ` +
        `ALTER TABLE ${quoteIdent(table)} ENABLE TRIGGER ${prefilter.trigger} (the next apply then builds it)`,
      cause: "trigger-disabled",
    };
  }
  return undefined;
}

/**
 * Makes the table's prefilter b-tree valid: fills the bits of rows that have an embedding but none (rows
 * written before the migration), then builds the b-tree concurrently if it is missing or INVALID. Returns what
 * it did; a failed build leaves no INVALID index behind.
 */
export async function ensurePrefilterIndex(
  client: ClientBase,
  table: string,
  log: Logger = silentLogger,
): Promise<{ indexName: string; buildMs?: number; backfilledRows: number }> {
  const name = PREFILTERS[table]!.indexName;
  const t = quoteIdent(table);
  let backfilledRows = 0;
  // Each batch its own transaction (the client is outside one here): app writes to other rows go on, and
  // an interrupted backfill keeps what it did. Setting the bits to NULL fires the trigger, which computes them.
  for (;;) {
    const batch = await client.query<{ filled: boolean }>(
      `UPDATE ${t} SET "embeddingBits" = NULL
        WHERE "id" IN (SELECT "id" FROM ${t} WHERE "embeddingBits" IS NULL AND "embedding" IS NOT NULL
                        LIMIT ${BACKFILL_BATCH})
        RETURNING "embeddingBits" IS NOT NULL AS filled`,
    );
    // A disabled trigger fills nothing: said, rather than the same rows updated forever.
    if (batch.rows.some((r) => !r.filled)) {
      throw new Error(
        `the trigger ${PREFILTERS[table]!.trigger} on ${shownName(table)} did not fill the sign bits (is it disabled? ` +
          `ALTER TABLE ${t} ENABLE TRIGGER ${PREFILTERS[table]!.trigger})`,
      );
    }
    backfilledRows += batch.rows.length;
    if (batch.rows.length < BACKFILL_BATCH) break;
    if (backfilledRows % (BACKFILL_BATCH * BACKFILL_REPORT_EVERY) === 0)
      log.info(
        `${name}: sign bits filled for ${formatCount(backfilledRows)} earlier rows of ${shownName(table)} so far`,
      );
  }
  const live = await client.query<{ valid: boolean }>(
    `SELECT i.indisvalid AS valid FROM pg_index i WHERE i.indexrelid = to_regclass(${literal(quoteIdent(name))})`,
  );
  if (live.rows[0]?.valid) return { indexName: name, backfilledRows };
  const drop = `DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdent(name)}`;
  await client.query(drop);
  log.info(`${name}: building on ${shownName(table)} (CONCURRENTLY)`);
  const started = Date.now();
  try {
    await client.query(prefilterIndexSql(table));
  } catch (error) {
    // A failed concurrent build leaves an INVALID index: dropped (or said why not), as for the other builds.
    throw new Error(`${(error as Error).message}. ${await dropInvalid(client, name)}`, { cause: error });
  }
  // The index-only scan needs the visibility map: a table just filled in has none for its new row versions.
  if (backfilledRows > 0) await client.query(`VACUUM ${t}`);
  return { indexName: name, buildMs: Date.now() - started, backfilledRows };
}

/** CREATE OR REPLACE of search_prefilter_entries() listing exactly `entries`. */
export function searchPrefilterSql(entries: readonly PrefilterEntry[]): string {
  const int = (n: number | undefined) => (n === undefined ? "NULL::integer" : String(Math.trunc(n)));
  const body =
    entries.length === 0
      ? "SELECT NULL::text, NULL::integer, NULL::integer, NULL::integer, NULL::integer WHERE false"
      : `VALUES ${entries
          .map(
            (e) =>
              `(${literal(e.table)}, ${int(e.dimension)}, ${int(e.depth)}, ${int(e.small?.rows)}, ${int(e.small?.depth)})`,
          )
          .join(", ")}`;
  return (
    "CREATE OR REPLACE FUNCTION search_prefilter_entries() " +
    "RETURNS TABLE (table_name text, dims integer, depth integer, small_rows integer, small_depth integer) " +
    `LANGUAGE sql STABLE AS $$ ${body} $$`
  );
}

export async function savePrefilterEntries(
  client: ClientBase,
  entries: readonly PrefilterEntry[],
): Promise<void> {
  await client.query(searchPrefilterSql(entries));
}

/** Whether the database has search_prefilter_entries() (its migrations may stop before it). */
export async function prefilterEntriesExist(client: ClientBase): Promise<boolean> {
  const exists = await client.query<{ ok: boolean }>(
    `SELECT to_regprocedure('search_prefilter_entries()') IS NOT NULL AS ok`,
  );
  return exists.rows[0]?.ok ?? false;
}

/** What search_prefilter_entries() lists today; none where the migrations stop before it. */
export async function readPrefilterEntries(client: ClientBase): Promise<PrefilterEntry[]> {
  if (!(await prefilterEntriesExist(client))) return [];
  const result = await client.query<{
    table_name: string;
    dims: number;
    depth: number;
    small_rows?: number | null;
    small_depth?: number | null;
  }>("SELECT * FROM search_prefilter_entries() ORDER BY 1, 2");
  return result.rows.map((r) => ({
    table: r.table_name,
    dimension: r.dims,
    depth: r.depth,
    ...(r.small_rows != null && r.small_depth != null
      ? { small: { rows: r.small_rows, depth: r.small_depth } }
      : {}),
  }));
}
