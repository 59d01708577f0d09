// The calibrated search setting hand-written queries get (core/search/session-defaults.ts): the release makes the
// main chunk index's ivfflat.probes or hnsw.ef_search the database's default (ALTER DATABASE ... SET), which
// the app's and the read-only login's sessions inherit. Changed by hand there, search quietly loses the recall
// the release measured, so health compares the database's value in pg_db_role_setting with the release's
// record. A value stored on the app or read-only login (ALTER ROLE ... SET), which overrides the database's,
// is role-settings.ts's finding: the release sets none there.
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

/** The database's value of the setting when it is not the recorded one (or missing), with its fix. */
export async function readSearchSettings(
  client: ClientBase,
  recorded: { setting: string; value: number } | undefined,
): Promise<SearchSettingHealth[]> {
  if (!recorded) return [];
  const { rows } = await client.query<{
    database: string;
    value: string | null;
    owner: string;
    acting: string;
    mayAlter: boolean;
  }>(
    `SELECT d.datname AS database,
            (SELECT substr(c, length($1::text) + 2) FROM pg_db_role_setting s, unnest(s.setconfig) c
              WHERE s.setdatabase = d.oid AND s.setrole = 0 AND starts_with(c, $1::text || '=') LIMIT 1) AS value,
            pg_get_userbyid(d.datdba) AS owner, current_user AS acting,
            pg_has_role(current_user, d.datdba, 'MEMBER') AS "mayAlter"
       FROM pg_database d WHERE d.datname = current_database()`,
    [recorded.setting],
  );
  const found: SearchSettingHealth[] = [];
  for (const row of rows) {
    const database = quoteIdentifier(row.database);
    const same = row.value !== null && Number(row.value) === recorded.value;
    if (same) continue;
    found.push({
      setting: recorded.setting,
      where: `database ${row.database}`,
      live: row.value,
      recorded: recorded.value,
      // Before pgvector's library is loaded in the session its setting is a placeholder, which only a
      // superuser may ALTER DATABASE ... SET: a vector value loads it.
      fix: row.mayAlter
        ? `SELECT '[1]'::vector; ALTER DATABASE ${database} SET ${recorded.setting} = ${recorded.value} (as the database's owner: the migrator)`
        : // A database made by createdb or CREATE DATABASE ... TEMPLATE without OWNER (a restore, a staging copy)
          // belongs to the admin, whose database the migrator may not ALTER: it goes to the owner role first.
          `ALTER DATABASE ${database} OWNER TO ${quoteIdentifier(row.acting)} (as ${quoteIdentifier(row.owner)}, which owns the database, or a superuser); then SELECT '[1]'::vector; ALTER DATABASE ${database} SET ${recorded.setting} = ${recorded.value} (as the migrator)`,
    });
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
