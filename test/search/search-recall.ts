// A tenant's search as the app runs it (search_chunks under its organization), scored against exact search
// over its rows: the check the search tests make after a recalibration.
import type { ClientBase } from "pg";
import { expect } from "vitest";
import { inTransaction } from "../security/sessions";
import { vectorText } from "../vector-indexes/data";
import { recallOf } from "../../core";
import { exactNeighbours, type Corpus, type Tenant } from "./corpus";

/**
 * Mean recall@k of `queries` held-out queries of `kind` for `tenant`, searched by `app` and checked against
 * the exact top k read by `owner`. Each search must return k rows, all of the tenant's dataset.
 */
export async function meanSearchRecall(
  logins: { app: ClientBase; owner: ClientBase },
  corpus: Corpus,
  tenant: Tenant,
  kind: "own" | "table-wide",
  { queries, k }: { queries: number; k: number },
): Promise<number> {
  const recalls: number[] = [];
  for (const q of corpus.queries(tenant, kind, queries)) {
    const found = await inTransaction(logins.app, tenant.organizationId, async (c) => {
      const r = await c.query<{ id: string; datasetId: string; distance: number }>(
        `SELECT "id", "datasetId", "distance" FROM search_chunks($1::vector, $2)`,
        [vectorText(q), k],
      );
      return r.rows;
    });
    expect(found).toHaveLength(k);
    expect(new Set(found.map((r) => r.datasetId))).toEqual(new Set([tenant.datasetId]));
    recalls.push(recallOf(await exactNeighbours(logins.owner, tenant.organizationId, q, k), found));
  }
  return recalls.reduce((a, b) => a + b, 0) / recalls.length;
}
