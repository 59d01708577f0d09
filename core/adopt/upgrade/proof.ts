// Proof that nothing was lost, read before cutover in one REPEATABLE READ snapshot (the mirror writes the
// staging rows in the old app's own transactions and each batch commits whole, so a snapshot sees both sides
// consistent, and the proof takes no lock beyond reading): per table the row count and an md5 over every
// legacy column in key order, computed on the legacy rows through the mapping and on the release rows; every
// foreign key of the release validated and checked by a query. "Every legacy column" is checked, not
// assumed: the md5 covers the columns the mapping carries, so a column of the legacy table that it does not
// carry (added while the upgrade ran: the start refuses one) fails the proof by name. After cutover and the release's steps,
// row-level security on every table that has a policy.
import type { ClientBase } from "pg";
import { tableMappings } from "./mapping";
import type { LegacyOrganization } from "./names";
import { uncarriedColumns } from "./uncarried";

export interface TableProof {
  table: string;
  /** The legacy columns the checksums cover: those the mapping carries. */
  columns: string[];
  /** Columns of the legacy table the mapping does not carry (none, or the proof fails). */
  uncarriedColumns: string[];
  legacyRows: number;
  releaseRows: number;
  legacyChecksum: string;
  releaseChecksum: string;
  equal: boolean;
}

export interface RowLevelSecurityState {
  tablesWithPolicies: number;
  enabled: number;
  forced: number;
}

export interface UpgradeProof {
  tables: TableProof[];
  foreignKeys: { checked: number; notValidated: string[]; violated: string[] };
  /** Read after the release's steps ran (undefined until then). */
  rowLevelSecurity?: RowLevelSecurityState;
  /** True when every table is equal over all of its columns and no foreign key is unvalidated or violated. */
  ok: boolean;
}

export async function proveUpgrade(
  client: ClientBase,
  org: LegacyOrganization,
  schemas: { legacy: string; release: string },
): Promise<UpgradeProof> {
  await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  try {
    const proof = await proveInSnapshot(client, org, schemas);
    await client.query("COMMIT");
    return proof;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

async function proveInSnapshot(
  client: ClientBase,
  org: LegacyOrganization,
  schemas: { legacy: string; release: string },
): Promise<UpgradeProof> {
  const tables: TableProof[] = [];
  const mappings = tableMappings(org, schemas.release);
  const uncarried = await uncarriedColumns(client, mappings, schemas.legacy, false);
  for (const mapping of mappings) {
    const row = (exprs: string[]) => `ROW(${exprs.join(", ")})::text`;
    const legacy = await client.query<{ n: string; h: string }>(
      `SELECT count(*) AS n, md5(coalesce(string_agg(${row(mapping.proof.map((p) => p.legacy))}, '|' ORDER BY l."id"), '')) AS h
         FROM ${schemas.legacy}."${mapping.table}" l`,
    );
    const release = await client.query<{ n: string; h: string }>(
      `SELECT count(*) AS n, md5(coalesce(string_agg(${row(mapping.proof.map((p) => p.release))}, '|' ORDER BY t."id"), '')) AS h
         FROM ${schemas.release}."${mapping.table}" t`,
    );
    const l = legacy.rows[0]!;
    const r = release.rows[0]!;
    tables.push({
      table: mapping.table,
      columns: mapping.proof.map((p) => p.column),
      uncarriedColumns: uncarried.filter((c) => c.table === mapping.table).map((c) => c.column),
      legacyRows: Number(l.n),
      releaseRows: Number(r.n),
      legacyChecksum: l.h,
      releaseChecksum: r.h,
      equal: l.n === r.n && l.h === r.h,
    });
  }
  const foreignKeys = await checkForeignKeys(client, schemas.release);
  return {
    tables,
    foreignKeys,
    ok:
      tables.every((t) => t.equal && t.uncarriedColumns.length === 0) &&
      foreignKeys.notValidated.length === 0 &&
      foreignKeys.violated.length === 0,
  };
}

/** Row-level security on the tables that have a policy, in `public`. */
export async function rowLevelSecurityState(client: ClientBase): Promise<RowLevelSecurityState> {
  const rls = await client.query<{ policies: number; enabled: number; forced: number }>(
    `SELECT count(*)::int AS policies, count(*) FILTER (WHERE c.relrowsecurity)::int AS enabled,
            count(*) FILTER (WHERE c.relforcerowsecurity)::int AS forced
       FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
        AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)`,
  );
  const r = rls.rows[0]!;
  return { tablesWithPolicies: r.policies, enabled: r.enabled, forced: r.forced };
}

/** Every foreign key of `schema`: validated in the catalog, and no row that references a missing one. */
async function checkForeignKeys(
  client: ClientBase,
  schema: string,
): Promise<{ checked: number; notValidated: string[]; violated: string[] }> {
  const fks = await client.query<{ name: string; validated: boolean; sql: string }>(
    `SELECT format('%s.%s', c.conrelid::regclass, quote_ident(c.conname)) AS name, c.convalidated AS validated,
            format('SELECT EXISTS (SELECT 1 FROM %s ch WHERE %s AND NOT EXISTS (SELECT 1 FROM %s pa WHERE %s))',
                   c.conrelid::regclass,
                   (SELECT string_agg(format('ch.%I IS NOT NULL', a.attname), ' AND ')
                      FROM unnest(c.conkey) k JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k),
                   c.confrelid::regclass,
                   (SELECT string_agg(format('pa.%I = ch.%I', pa.attname, ca.attname), ' AND ')
                      FROM unnest(c.conkey, c.confkey) AS k(ck, pk)
                      JOIN pg_attribute ca ON ca.attrelid = c.conrelid AND ca.attnum = k.ck
                      JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.pk)) AS sql
       FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = to_regnamespace($1)
      ORDER BY 1`,
    [schema],
  );
  const violated: string[] = [];
  for (const fk of fks.rows) {
    const r = await client.query<{ exists: boolean }>(fk.sql);
    if (r.rows[0]!.exists) violated.push(fk.name);
  }
  return {
    checked: fks.rows.length,
    notValidated: fks.rows.filter((f) => !f.validated).map((f) => f.name),
    violated,
  };
}
