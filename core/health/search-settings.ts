// The calibrated search setting hand-written queries get (core/search/session-defaults.ts): the release makes the
// main chunk index's ivfflat.probes or hnsw.ef_search the database's default (ALTER DATABASE ... SET), which
// the app's and the read-only login's sessions inherit unless a setting of their role overrides it. Either can
// be changed by hand (ALTER DATABASE ... SET, ALTER ROLE ... [IN DATABASE ...] SET) and search quietly loses
// the recall the release measured, so health compares pg_db_role_setting with the release's record: the
// database's own value, and the app and read-only roles' in this database and in all databases. Only the
// setting the release owns; other role settings are another check's.
import type { ClientBase } from "pg";
import { quoteIdentifier } from "../identifiers";
import type { SearchCalibrationRecord } from "../search";
import type { IndexRecord } from "../vector-indexes";
import { EMBEDDING_TABLES } from "../vector-indexes";
import type { HealthFinding, SearchSettingHealth } from "./report";

/** What the release made the database's default: the chunk index's setting, the tenant calibration's first. */
export function recordedSearchDefault(
  records: readonly IndexRecord[],
  searches: readonly SearchCalibrationRecord[] | undefined,
): { setting: string; value: number } | undefined {
  const chunk = EMBEDDING_TABLES.find((t) => t.table === "Chunk");
  if (!chunk) return undefined;
  const record = records.find((r) => r.name === chunk.indexName);
  if (!record) return undefined;
  const tenant = searches?.find((s) => s.indexName === chunk.indexName);
  return tenant
    ? { setting: tenant.setting, value: Math.trunc(tenant.value) }
    : { setting: record.calibration.setting, value: Math.trunc(record.calibration.value) };
}

/**
 * The access layer's app and read-only roles: `<prefix>_app` and `<prefix>_readonly` beside the database's
 * owner `<prefix>_owner` (infra/access-definition.js), those that exist.
 */
const ROLES_SQL = `
  SELECT r.oid, r.rolname FROM pg_roles r, pg_database d
   WHERE d.datname = current_database() AND pg_get_userbyid(d.datdba) LIKE '%\\_owner'
     AND r.rolname IN (left(pg_get_userbyid(d.datdba), -length('_owner')) || '_app',
                       left(pg_get_userbyid(d.datdba), -length('_owner')) || '_readonly')`;

/** Where the setting is set (or missing) against the recorded value, each place with its fix. */
export async function readSearchSettings(
  client: ClientBase,
  recorded: { setting: string; value: number } | undefined,
): Promise<SearchSettingHealth[]> {
  if (!recorded) return [];
  const { rows } = await client.query<{
    database: string;
    role: string | null;
    all_databases: boolean;
    value: string | null;
  }>(
    `WITH roles AS (${ROLES_SQL}),
          here AS (SELECT oid, datname FROM pg_database WHERE datname = current_database())
     SELECT here.datname AS database, NULL AS role, false AS all_databases,
            (SELECT substr(c, length($1::text) + 2) FROM pg_db_role_setting s, unnest(s.setconfig) c
              WHERE s.setdatabase = here.oid AND s.setrole = 0 AND starts_with(c, $1::text || '=') LIMIT 1) AS value
       FROM here
     UNION ALL
     SELECT here.datname, roles.rolname, s.setdatabase = 0, substr(c, length($1::text) + 2)
       FROM here, roles
       JOIN pg_db_role_setting s ON s.setrole = roles.oid
       CROSS JOIN unnest(s.setconfig) c
      WHERE s.setdatabase IN (0, here.oid) AND starts_with(c, $1::text || '=')
     ORDER BY 2 NULLS FIRST, 3`,
    [recorded.setting],
  );
  const found: SearchSettingHealth[] = [];
  for (const row of rows) {
    const database = quoteIdentifier(row.database);
    const same = row.value !== null && Number(row.value) === recorded.value;
    if (same) continue;
    if (row.role === null) {
      found.push({
        setting: recorded.setting,
        where: `database ${row.database}`,
        live: row.value,
        recorded: recorded.value,
        // Before pgvector's library is loaded in the session its setting is a placeholder, which only a
        // superuser may ALTER DATABASE ... SET: a vector value loads it.
        fix: `SELECT '[1]'::vector; ALTER DATABASE ${database} SET ${recorded.setting} = ${recorded.value} (as the database's owner: the migrator)`,
      });
    } else {
      const role = quoteIdentifier(row.role);
      found.push({
        setting: recorded.setting,
        where: row.all_databases
          ? `role ${row.role} in all databases`
          : `role ${row.role} in database ${row.database}`,
        live: row.value,
        recorded: recorded.value,
        fix:
          `ALTER ROLE ${role}${row.all_databases ? "" : ` IN DATABASE ${database}`} RESET ${recorded.setting} ` +
          `(as the server's admin), so that its sessions take the database's ${recorded.setting} = ${recorded.value}`,
      });
    }
  }
  return found;
}

export function searchSettingFindings(settings: readonly SearchSettingHealth[]): HealthFinding[] {
  return settings.map((s) => ({
    severity: "action",
    subject: s.setting,
    problem:
      s.live === null
        ? `not set for ${s.where}: hand-written vector queries get the server's default, not the calibrated ${s.recorded} the release recorded`
        : `${s.setting} = ${s.live} set for ${s.where} by hand, where the release recorded the calibrated ${s.recorded}: hand-written vector queries there get ${s.live}`,
    action: s.fix,
  }));
}
