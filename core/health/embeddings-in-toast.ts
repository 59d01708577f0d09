// Embeddings still stored in TOAST, out of their rows: those written before migration 20261203100000 kept
// them in the row ("Chunk" and "Message"). That migration changed the storage of rows written from then on;
// an existing row moves into its page only when it is rewritten (an UPDATE, VACUUM FULL, pg_repack). Until
// then exact search and the prefilter read each such embedding back from TOAST: a database upgraded or
// adopted with its rows in place searched its small and medium tenants 2-5 times slower (docs/search.md,
// "Where the embedding is stored").
//
// No SQL function says whether a value is stored out of line (pg_column_size() gives a TOAST pointer's full
// size), but a page does: a heap page holds 8 KB, so the embeddings of its rows that do not fit in it are out
// of line. Health reads a sample of the table's pages (TABLESAMPLE SYSTEM, a fixed seed, a bounded number of
// pages: a few MB read whatever the table's size) and counts, per page, the embedded rows beyond what the page
// could hold with their embeddings in it. Only embeddings the toaster would move out of a row and that fit in
// a page are counted (about 500 to 2,000 dimensions as `vector`): a smaller one stays in its row in either
// storage, and a larger one is out of line whatever the storage (docs/search.md).
import type { ClientBase } from "pg";
import { formatCount } from "../count-format";
import { quoteIdentifier as quoteIdent } from "../identifiers";
import { EMBEDDING_TABLES } from "../vector-indexes/spec";
import type { EmbeddingStorageHealth, HealthFinding } from "./report";

/** How many of a table's pages the sample reads, at most (8 MB at 8 KB a page). */
const SAMPLED_PAGES = 1000;

/** Room for rows in a heap page: toast_tuple_target's largest value, which the migration sets. */
const PAGE_ROOM_BYTES = 8160;

/**
 * The embeddings counted: larger than what the toaster leaves in a row of the default target (about 2 KB),
 * and small enough for a page with the row's other columns.
 */
const COUNTED_BYTES = { above: 2000, atMost: 8000 } as const;

/** Each vector-indexed table's sample, for the tables that exist and are not in `lockedTables`. */
export async function readEmbeddingsInToast(
  client: ClientBase,
  lockedTables: readonly string[] = [],
): Promise<EmbeddingStorageHealth[]> {
  const readings: EmbeddingStorageHealth[] = [];
  for (const { table, column } of EMBEDDING_TABLES) {
    if (lockedTables.includes(table)) continue;
    const pages = await client.query<{ pages: string | null }>(
      `SELECT pg_relation_size(c.oid) / current_setting('block_size')::bigint AS pages
         FROM pg_class c WHERE c.oid = to_regclass($1)`,
      [`public.${quoteIdent(table)}`],
    );
    if (!pages.rows.length) continue;
    const tablePages = Number(pages.rows[0]!.pages ?? 0);
    const percent = tablePages > SAMPLED_PAGES ? (100 * SAMPLED_PAGES) / tablePages : 100;
    const col = `x.${quoteIdent(column)}`;
    const { rows } = await client.query<{ pages: string; rows: string; in_toast: string }>(
      `SELECT count(*) AS pages, coalesce(sum(p.n), 0) AS rows,
              coalesce(sum(greatest(0, p.n - greatest(1, floor(${PAGE_ROOM_BYTES} / p.bytes)))), 0) AS in_toast
         FROM (SELECT count(*) AS n, avg(pg_column_size(${col})) AS bytes
                 FROM public.${quoteIdent(table)} x TABLESAMPLE SYSTEM ($1) REPEATABLE (0)
                WHERE ${col} IS NOT NULL
                  AND pg_column_size(${col}) > ${COUNTED_BYTES.above}
                  AND pg_column_size(${col}) <= ${COUNTED_BYTES.atMost}
                GROUP BY (x.ctid::text::point)[0]) p`,
      [percent],
    );
    const sampledRows = Number(rows[0]!.rows);
    const inToast = Number(rows[0]!.in_toast);
    readings.push({
      table,
      tablePages,
      sampledPages: Math.min(tablePages, Math.round((tablePages * percent) / 100)),
      sampledRows,
      inToast,
      share: sampledRows ? Number((inToast / sampledRows).toFixed(3)) : 0,
    });
  }
  return readings;
}

/** An action per table whose sampled embeddings are in TOAST at `inToastShare` (HealthLimits) or more. */
export function embeddingsInToastFindings(
  readings: readonly EmbeddingStorageHealth[],
  inToastShare: number,
): HealthFinding[] {
  return readings
    .filter((r) => r.inToast > 0 && r.share >= inToastShare)
    .map((r) => {
      const name = quoteIdent(r.table);
      const sample =
        r.sampledPages < r.tablePages
          ? `on a sample of ${formatCount(r.sampledPages)} of its ${formatCount(r.tablePages)} pages`
          : `on its ${formatCount(r.tablePages)} pages`;
      return {
        severity: "action",
        subject: r.table,
        subjectKind: "table",
        problem:
          `${Math.round(100 * r.share)}% of the embeddings ${sample} (${formatCount(r.inToast)} of ` +
          `${formatCount(r.sampledRows)}) are stored in TOAST, out of their rows: written before migration ` +
          `20261203100000 kept embeddings in the row, and not rewritten since; exact search and the prefilter ` +
          `read each back from TOAST, 2-5 times slower (docs/search.md, "Where the embedding is stored")`,
        action:
          `rewrite the table in a maintenance window: VACUUM FULL ${name} (it can be neither read nor written ` +
          `while it runs, and needs room for a copy of the table), or online with pg_repack --table ` +
          `'public.${name}'`,
      };
    });
}
