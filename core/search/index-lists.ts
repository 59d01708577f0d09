// The SQL functions that list the tenant search's per-tenant indexes with the settings calibrated for each:
// search_tenant_indexes() (a large tenant's own index, tenant-indexes.ts) and search_prefilter_graphs() (a
// graph over a tenant's sign bits, prefilter-graphs.ts). search_settings() reads them on every search call, so
// each is a SQL function over literal VALUES that the calibration writes again whole. Both lists have the same
// shape but for one column (the tenant index's exact threshold, the graph's depth): written and read here.
import type { ClientBase } from "pg";
import { quoteIdentifier } from "../identifiers";
import { literal } from "../sql";

/** One list function: its name, and its one column of its own as SQL names it and as an entry holds it. */
export interface IndexList<K extends string> {
  fn: string;
  column: string;
  key: K;
}

/** An entry of a list: the index of one tenant in one dimension of one table, and its settings. */
export type ListedIndex<K extends string> = {
  table: string;
  dimension: number;
  organizationId: string;
  indexName: string;
  efSearch: number;
} & Record<K, number>;

/** CREATE OR REPLACE of the list's function, listing exactly `entries`. */
export function indexListSql<K extends string>(
  list: IndexList<K>,
  entries: readonly ListedIndex<K>[],
): string {
  const body =
    entries.length === 0
      ? "SELECT NULL::text, NULL::integer, NULL::text, NULL::text, NULL::integer, NULL::integer WHERE false"
      : `VALUES ${entries
          .map(
            (e) =>
              `(${literal(e.table)}, ${Math.trunc(e.dimension)}, ${literal(e.organizationId)}, ` +
              `${literal(e.indexName)}, ${Math.trunc(e[list.key])}, ${Math.trunc(e.efSearch)})`,
          )
          .join(", ")}`;
  return (
    `CREATE OR REPLACE FUNCTION ${list.fn}() ` +
    `RETURNS TABLE (table_name text, dims integer, organization_id text, index_name text, ${list.column} integer, ef_search integer) ` +
    `LANGUAGE sql STABLE AS $$ ${body} $$`
  );
}

/** Whether the database has the list's function (its migrations may stop before it). */
export async function indexListSupported(client: ClientBase, list: IndexList<string>): Promise<boolean> {
  const result = await client.query<{ ok: boolean }>(`SELECT to_regprocedure($1) IS NOT NULL AS ok`, [
    `${list.fn}()`,
  ]);
  return result.rows[0]?.ok ?? false;
}

/** What the list's function lists today; none where the migrations stop before it. */
export async function readIndexList<K extends string>(
  client: ClientBase,
  list: IndexList<K>,
): Promise<ListedIndex<K>[]> {
  if (!(await indexListSupported(client, list))) return [];
  const result = await client.query<Record<string, string | number>>(
    `SELECT * FROM ${list.fn}() ORDER BY 1, 2, 3`,
  );
  return result.rows.map(
    (r) =>
      ({
        table: r.table_name,
        dimension: r.dims,
        organizationId: r.organization_id,
        indexName: r.index_name,
        [list.key]: r[list.column],
        efSearch: r.ef_search,
      }) as ListedIndex<K>,
  );
}

export async function saveIndexList<K extends string>(
  client: ClientBase,
  list: IndexList<K>,
  entries: readonly ListedIndex<K>[],
): Promise<void> {
  await client.query(indexListSql(list, entries));
}

/**
 * Drops a listed index without blocking the table's writes, after taking it off its list: a listed index that
 * is gone still sends its tenant's search down its path (listed-indexes.ts) until the list is written again.
 */
export async function dropListedIndex<K extends string>(
  client: ClientBase,
  list: IndexList<K>,
  name: string,
): Promise<void> {
  const listed = await readIndexList(client, list);
  if (listed.some((e) => e.indexName === name)) {
    await saveIndexList(
      client,
      list,
      listed.filter((e) => e.indexName !== name),
    );
  }
  await dropIndexConcurrently(client, name);
}

/** Drops an index of the tenant search's without blocking the table's writes; nothing if there is none. */
export async function dropIndexConcurrently(client: ClientBase, name: string): Promise<void> {
  await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${quoteIdentifier(name)}`);
}
