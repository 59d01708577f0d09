// The calibrated search setting hand-written queries get (core/search/session-defaults.ts): the release makes the
// main chunk index's ivfflat.probes or hnsw.ef_search the database's default (ALTER DATABASE ... SET), which
// the app's and the read-only login's sessions inherit. Changed by hand there, search quietly loses the recall
// the release measured, so health compares the database's value in pg_db_role_setting with the release's
// record, from the reading plan and apply compare (core/vector-indexes/search-default.ts), which set it again.
// A value stored on the app or read-only login (ALTER ROLE ... SET), which overrides the database's, is
// role-settings.ts's finding: the release sets none there.
import type { ClientBase } from "pg";
import { quoteIdentifier } from "../identifiers";
import {
  readSearchDefault,
  searchDefaultDifference,
  type RecordedSearchDefault,
} from "../vector-indexes/search-default";
import type { HealthFinding, SearchSettingHealth } from "./report";

/** The database's value of the setting when it is not the recorded one (or missing), with its fix. */
export async function readSearchSettings(
  client: ClientBase,
  recorded: RecordedSearchDefault | undefined,
): Promise<SearchSettingHealth[]> {
  if (!recorded) return [];
  const difference = searchDefaultDifference(recorded, await readSearchDefault(client));
  if (!difference) return [];
  const { reading, live } = difference;
  const database = quoteIdentifier(reading.database);
  return [
    {
      setting: recorded.setting,
      where: `database ${reading.database}`,
      live,
      recorded: recorded.value,
      // Before pgvector's library is loaded in the session its setting is a placeholder, which only a
      // superuser may ALTER DATABASE ... SET: a vector value loads it.
      fix: reading.mayAlter
        ? `SELECT '[1]'::vector; ALTER DATABASE ${database} SET ${recorded.setting} = ${recorded.value} (as the database's owner: the migrator)`
        : // A database made by createdb or CREATE DATABASE ... TEMPLATE without OWNER (a restore, a staging copy)
          // belongs to the admin, whose database the migrator may not ALTER: it goes to the owner role first.
          `ALTER DATABASE ${database} OWNER TO ${quoteIdentifier(reading.acting)} (as ${quoteIdentifier(reading.owner)}, which owns the database, or a superuser); then SELECT '[1]'::vector; ALTER DATABASE ${database} SET ${recorded.setting} = ${recorded.value} (as the migrator)`,
    },
  ];
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
