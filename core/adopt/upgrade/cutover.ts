// Contract: in one transaction under the lock timeout, the mirror triggers go (their DROP waits for, then
// holds off, the old app's writes on the legacy tables), the staging tables' own triggers come back, the
// schemas swap names (catalog-only: ALTER SCHEMA RENAME locks the schema, not its tables), `public` gets back
// what belongs to the schema itself (owner, comment, privileges, default privileges), and the ledger records
// every release migration as apply would (name, checksum). Either all of it commits, or none.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA, CHECKSUMS_SETTING, MIGRATIONS_TABLE } from "../../bookkeeping";
import { ReleaseError } from "../../errors";
import type { MigrationFile } from "../../migrations/files";
import { dropMirrors } from "./backfill";
import { markDone, setStagingTriggers } from "./expand";
import type { LockClock } from "./lock-clock";
import type { TableMapping } from "./mapping";
import { LEGACY_KEPT_SCHEMA, LEGACY_SCHEMA, STAGING_SCHEMA, WORK_SCHEMA } from "./names";

const DEFAULT_PRIVILEGE_OBJECTS: Record<string, string> = {
  r: "TABLES",
  S: "SEQUENCES",
  f: "FUNCTIONS",
  T: "TYPES",
};

/** The statements that give the new `public` the old one's owner, comment, privileges and default privileges. */
async function schemaPropertiesStatements(client: ClientBase): Promise<string[]> {
  const schema = await client.query<{ owner: string; comment: string | null; acl: boolean }>(
    `SELECT quote_ident(pg_get_userbyid(n.nspowner)) AS owner, obj_description(n.oid, 'pg_namespace') AS comment,
            n.nspacl IS NOT NULL AS acl
       FROM pg_namespace n WHERE n.nspname = $1`,
    [LEGACY_SCHEMA],
  );
  const { owner, comment, acl } = schema.rows[0]!;
  const out = [
    `ALTER SCHEMA ${LEGACY_SCHEMA} OWNER TO ${owner}`,
    `COMMENT ON SCHEMA ${LEGACY_SCHEMA} IS ${comment === null ? "NULL" : `'${comment.replace(/'/g, "''")}'`}`,
  ];
  if (acl) {
    const grants = await client.query<{ sql: string }>(
      `SELECT format('GRANT %s ON SCHEMA ${LEGACY_SCHEMA} TO %s%s', a.privilege_type,
                     CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                     CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS sql
         FROM pg_namespace n, aclexplode(n.nspacl) a
        WHERE n.nspname = $1 AND a.grantee <> n.nspowner
        ORDER BY a.grantee, a.privilege_type`,
      [LEGACY_SCHEMA],
    );
    out.push(...grants.rows.map((r) => r.sql));
  }
  const defaults = await client.query<{
    role: string;
    kind: string;
    privilege: string;
    grantee: string;
    grantable: boolean;
  }>(
    `SELECT quote_ident(pg_get_userbyid(d.defaclrole)) AS role, d.defaclobjtype::text AS kind, a.privilege_type AS privilege,
            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END AS grantee,
            a.is_grantable AS grantable
       FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) a
      WHERE n.nspname = $1
      ORDER BY 1, 2, 4, 3`,
    [LEGACY_SCHEMA],
  );
  for (const d of defaults.rows) {
    const objects = DEFAULT_PRIVILEGE_OBJECTS[d.kind];
    if (!objects) continue;
    out.push(
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${d.role} IN SCHEMA ${LEGACY_SCHEMA} GRANT ${d.privilege} ON ${objects} TO ${d.grantee}${d.grantable ? " WITH GRANT OPTION" : ""}`,
    );
  }
  return out;
}

/** Rows the mirror could not map (an old-app write that breaks a release rule): cutover waits for their fix. */
export async function rejectedRows(
  client: ClientBase,
): Promise<{ table: string; id: string; error: string }[]> {
  const r = await client.query<{ table: string; id: string; error: string }>(
    `SELECT "table", id, error FROM ${WORK_SCHEMA}.rejected ORDER BY "table", id LIMIT 20`,
  );
  return r.rows;
}

export async function cutover(
  client: ClientBase,
  files: readonly MigrationFile[],
  mappings: readonly TableMapping[],
  clock: LockClock,
): Promise<void> {
  await clock.transaction(client, "cutover", async () => {
    // Captured before the swap: these are the old `public`'s.
    const properties = await schemaPropertiesStatements(client);
    await dropMirrors(client, mappings);
    const rejected = await rejectedRows(client);
    if (rejected.length > 0) {
      throw new ReleaseError(
        "invalid-input",
        `The old app wrote ${rejected.length === 20 ? "20 or more" : rejected.length} row(s) during the backfill that the release's rules refuse: ${rejected
          .map((r) => `${r.table} ${r.id} (${r.error})`)
          .join("; ")}.`,
        `Fix those rows in the legacy tables (the mirror copies them once they are valid; see ${WORK_SCHEMA}.rejected), then run the upgrade again. Nothing of the cutover was applied; the backfill is kept.`,
      );
    }
    await setStagingTriggers(client, true);
    await client.query(`ALTER SCHEMA ${LEGACY_SCHEMA} RENAME TO ${LEGACY_KEPT_SCHEMA}`);
    await client.query(`ALTER SCHEMA ${STAGING_SCHEMA} RENAME TO ${LEGACY_SCHEMA}`);
    for (const sql of properties) await client.query(sql);
    await client.query("SELECT set_config($1, $2, true)", [
      CHECKSUMS_SETTING,
      JSON.stringify(Object.fromEntries(files.map((f) => [f.name, f.checksum]))),
    ]);
    for (const file of files) {
      await client.query(
        `INSERT INTO ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE} (name, run_on) VALUES ($1, now())`,
        [file.name],
      );
    }
    await markDone(client, "cutover");
  });
}
