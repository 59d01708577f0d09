// The b-tree that lets plan, apply and the search functions count embedded rows without reading the table.
//
// Why. Every plan and apply counts the embedded rows of each dimension (rowsByDimensionSql), and whether a
// row has its embedding is only in the row. Since 20261203100000_embeddings_stored_inline.sql that row is a
// heap page: the count read 781 MB for 100,000 chunks of 1,536 dimensions, 8 GB for a million, on every CI
// preview. A partial b-tree over the embedded rows holds the same count, and the planner answers the same
// query from it with an index-only scan (b-tree deduplication keeps it to a few pages per 10,000 rows). Rows
// still waiting for their embedding stay out of it, so the count is exact (docs/vector-indexes.md, "Counting
// the rows").
//
// Keyed by the tenant, then the space: the search functions count one tenant's embedded rows from it before
// they send the tenant to the dimension's index (migration 20261205030000; docs/search.md, "How it
// searches"); counting them on the rows' pages cost 75 ms for 19,331 chunks, from this b-tree 1.3 ms. The
// release's own count (every tenant of every space) reads the whole b-tree, still a few pages. An earlier
// release's b-tree, keyed by the space alone, is "outdated": built again.
//
// Not a migration: a migration runs in a transaction, where CREATE INDEX blocks writes for the whole build on
// a table that may already be large (an adopted database). The step builds it the way it builds the vector
// indexes, CONCURRENTLY when vectorIndexes.concurrently is set, on the first apply after the table exists;
// on a first deploy's empty table that takes milliseconds.
import { shownName } from "../shown-names";
import type { ClientBase } from "pg";
import { actingRoleSql } from "../acting-owner";
import { applyAgain, type CommandPrinter } from "../command-to-run";
import { ReleaseError } from "../errors";
import type { Logger } from "../logger";
import type { StepItemResult, VectorIndexPlanItem } from "../results";
import { literal } from "../sql";
import { dropInvalid } from "./build";
import { quoteIdent, rebuildName, type EmbeddingTable } from "./spec";

/**
 * Whether the count index is there to count from: INVALID after an interrupted concurrent build, outdated when
 * it is an earlier release's (keyed by the space alone).
 */
export type CountIndexState = "valid" | "INVALID" | "outdated" | "missing";

/** A table's count index as the catalog shows it, and whether the role the release runs as may build it. */
export interface CountIndexReading {
  state: CountIndexState;
  /**
   * The table has its tenant column: a partial release (apply --to) may stop before the migration that adds
   * it (20261202030000), and the index waits for it, the counts reading the table meanwhile.
   */
  keyable: boolean;
  /**
   * The role the release acts as (after SET ROLE; for plan, the --owner-role apply would set) owns the table,
   * or is a member of its owner.
   */
  buildable: boolean;
  /** That role's name as it is (current_user), which SQL must quote. */
  role: string;
  /** The table's owner as SQL writes it (regrole's text, quoted where the name needs it). */
  owner: string;
}

/** The count index's key columns, in order: what createCountIndexSql builds. */
function countIndexKeys(table: EmbeddingTable): [string, string] {
  return [table.tenantColumn, table.spaceColumn];
}

/**
 * A SQL expression giving the table's CountIndexReading as jsonb (the table must exist). Its test of the keys
 * is the one search_count_index_valid() makes (migration 20261205030000), which the search functions read.
 * `actingAs`: the --owner-role the release acts as, set by plan as by apply (actingRoleSql).
 */
export function countIndexStateSql(table: EmbeddingTable, actingAs?: string): string {
  const role = actingRoleSql(actingAs);
  const regclass = `to_regclass(${literal(quoteIdent(table.table))})`;
  const [first, second] = countIndexKeys(table);
  const keyName = (n: number) =>
    `(SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[${n}])`;
  return `(SELECT jsonb_build_object(
             'state', coalesce((SELECT CASE WHEN NOT i.indisvalid THEN 'INVALID'
                                            WHEN i.indnkeyatts = 2 AND ${keyName(0)} = ${literal(first)}
                                                 AND ${keyName(1)} = ${literal(second)} THEN 'valid'
                                            ELSE 'outdated' END
                                  FROM pg_index i
                                 WHERE i.indexrelid = to_regclass(${literal(quoteIdent(table.countIndexName))})),
                               'missing'),
             'keyable', EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                                   AND a.attname = ${literal(first)} AND NOT a.attisdropped),
             'buildable', pg_has_role(${role}, c.relowner, 'USAGE'),
             'role', ${role}, 'owner', c.relowner::regrole::text)
             FROM pg_class c WHERE c.oid = ${regclass})`;
}

/** CREATE INDEX for the table's count index, under its own name or `name` (a rebuild's temporary one). */
export function createCountIndexSql(
  table: EmbeddingTable,
  concurrently: boolean,
  name: string = table.countIndexName,
): string {
  return (
    `CREATE INDEX${concurrently ? " CONCURRENTLY" : ""} ${quoteIdent(name)} ` +
    `ON ${quoteIdent(table.table)} (${countIndexKeys(table).map(quoteIdent).join(", ")}) ` +
    `WHERE ${quoteIdent(table.column)} IS NOT NULL`
  );
}

/**
 * What apply would do about a table's count index; undefined when nothing (valid, or no table or tenant
 * column yet). A role that may not build it gets a skip that says how to let it: the counts then read the
 * table, as before.
 */
export function countIndexPlanItem(
  table: EmbeddingTable,
  reading: CountIndexReading | undefined,
): VectorIndexPlanItem | undefined {
  if (reading === undefined || reading.state === "valid" || !reading.keyable) return undefined;
  const name = table.countIndexName;
  if (!reading.buildable) {
    return {
      name,
      action: "unchanged",
      decision: "skip",
      skip: "not-owner",
      reason:
        `${shownName(table.table)} is owned by ${reading.owner}, not by ${reading.role}, which runs this release and so ` +
        `cannot build the index: the embedded rows are counted from the table. If ${reading.role} is the ` +
        `owner role releases run as, hand it the table: ALTER TABLE ${quoteIdent(table.table)} OWNER TO ${quoteIdent(reading.role)}`,
    };
  }
  if (reading.state === "INVALID") {
    return {
      name,
      action: "rebuild",
      decision: "rebuild",
      reason:
        "the index is INVALID (an interrupted concurrent build): built again beside it, then swapped in",
    };
  }
  if (reading.state === "outdated") {
    const [first, second] = countIndexKeys(table);
    return {
      name,
      action: "rebuild",
      decision: "rebuild",
      reason:
        `an earlier release's, not keyed by "${first}", "${second}": built again beside it with those keys, ` +
        `then swapped in, so that the search functions count a tenant's embedded rows from it`,
    };
  }
  return {
    name,
    action: "create",
    decision: "create",
    reason: `new index: plan and apply count the embedded rows of ${shownName(table.table)} from it, not from the table`,
  };
}

/**
 * Builds the count index that `item` (countIndexPlanItem) says is missing, INVALID or outdated. A rebuild
 * builds the new index under a temporary name beside the old one and then swaps them, as the vector indexes'
 * rebuild does (build.ts): the search functions count from the old one until the swap, which holds its lock
 * for a drop and a rename only. Without `concurrently` the build and the swap are one transaction. A failed
 * build leaves the old index as it was; a failed concurrent build's INVALID leftover is dropped before the
 * error is reported, with a fix whose apply to run again `print` prints (ReleaseOptions.printCommand).
 */
export async function buildCountIndex(
  client: ClientBase,
  table: EmbeddingTable,
  item: VectorIndexPlanItem,
  concurrently: boolean,
  log: Logger,
  print?: CommandPrinter,
): Promise<StepItemResult<"vectorIndexes">> {
  const rebuild = item.action === "rebuild";
  const target = rebuild ? rebuildName(table.countIndexName) : table.countIndexName;
  log.info(`${item.name}: ${item.action} (${item.reason})`);
  const started = Date.now();
  try {
    if (concurrently) {
      await client.query(createCountIndexSql(table, true, target));
      if (rebuild) await swapIn(client, table, true);
    } else {
      await client.query("BEGIN");
      try {
        await client.query(createCountIndexSql(table, false, target));
        if (rebuild) await swapIn(client, table, false);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        throw error;
      }
    }
  } catch (error) {
    const left = concurrently
      ? await dropInvalid(client, target)
      : "Nothing was built (the build rolled back).";
    const kept = rebuild ? ` The earlier ${table.countIndexName} is as it was.` : "";
    throw new ReleaseError(
      "index-failed",
      `Building ${item.name} on ${shownName(table.table)} failed: ${(error as Error).message}\n${left}${kept}`,
      `Fix the cause and ${applyAgain(print)}.`,
      { cause: error },
    );
  }
  const buildMs = Date.now() - started;
  log.info(`${item.name}: built in ${(buildMs / 1000).toFixed(1)} s`);
  return {
    name: item.name,
    action: rebuild ? "rebuild" : "create",
    durationMs: buildMs,
    details: { table: table.table, counts: "embedded rows", buildMs, concurrently },
  };
}

/** Replaces the table's count index by the one built under its rebuild name. */
async function swapIn(client: ClientBase, table: EmbeddingTable, concurrently: boolean): Promise<void> {
  const name = quoteIdent(table.countIndexName);
  await client.query(`DROP INDEX${concurrently ? " CONCURRENTLY" : ""} IF EXISTS ${name}`);
  await client.query(`ALTER INDEX ${quoteIdent(rebuildName(table.countIndexName))} RENAME TO ${name}`);
}
