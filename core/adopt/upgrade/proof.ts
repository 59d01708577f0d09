// Proof that nothing was lost, read after cutover while the legacy tables are still kept: per table the row
// count and an md5 over every legacy column in key order, computed on the legacy rows through the mapping
// and on the release rows; every foreign key validated and checked by a query; row-level security on every
// table that has a policy.
import type { ClientBase } from "pg";
import { tableMappings } from "./mapping";
import { LEGACY_KEPT_SCHEMA, type LegacyOrganization } from "./names";

export interface TableProof {
  table: string;
  legacyRows: number;
  releaseRows: number;
  legacyChecksum: string;
  releaseChecksum: string;
  equal: boolean;
}

export interface UpgradeProof {
  tables: TableProof[];
  foreignKeys: { checked: number; notValidated: string[]; violated: string[] };
  rowLevelSecurity: { tablesWithPolicies: number; enabled: number; forced: number };
  /** True when every table is equal and no foreign key is unvalidated or violated. */
  ok: boolean;
}

export async function proveUpgrade(client: ClientBase, org: LegacyOrganization): Promise<UpgradeProof> {
  const tables: TableProof[] = [];
  for (const mapping of tableMappings(org, "public")) {
    const row = (exprs: string[]) => `ROW(${exprs.join(", ")})::text`;
    const legacy = await client.query<{ n: string; h: string }>(
      `SELECT count(*) AS n, md5(coalesce(string_agg(${row(mapping.proof.map((p) => p.legacy))}, '|' ORDER BY l."id"), '')) AS h
         FROM ${LEGACY_KEPT_SCHEMA}."${mapping.table}" l`,
    );
    const release = await client.query<{ n: string; h: string }>(
      `SELECT count(*) AS n, md5(coalesce(string_agg(${row(mapping.proof.map((p) => p.release))}, '|' ORDER BY t."id"), '')) AS h
         FROM public."${mapping.table}" t`,
    );
    const l = legacy.rows[0]!;
    const r = release.rows[0]!;
    tables.push({
      table: mapping.table,
      legacyRows: Number(l.n),
      releaseRows: Number(r.n),
      legacyChecksum: l.h,
      releaseChecksum: r.h,
      equal: l.n === r.n && l.h === r.h,
    });
  }
  const foreignKeys = await checkForeignKeys(client);
  const rls = await client.query<{ policies: number; enabled: number; forced: number }>(
    `SELECT count(*)::int AS policies, count(*) FILTER (WHERE c.relrowsecurity)::int AS enabled,
            count(*) FILTER (WHERE c.relforcerowsecurity)::int AS forced
       FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
        AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)`,
  );
  const r = rls.rows[0]!;
  return {
    tables,
    foreignKeys,
    rowLevelSecurity: { tablesWithPolicies: r.policies, enabled: r.enabled, forced: r.forced },
    ok:
      tables.every((t) => t.equal) &&
      foreignKeys.notValidated.length === 0 &&
      foreignKeys.violated.length === 0,
  };
}

/** Every foreign key of `public`: validated in the catalog, and no row that references a missing one. */
async function checkForeignKeys(
  client: ClientBase,
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
       FROM pg_constraint c WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
      ORDER BY 1`,
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
