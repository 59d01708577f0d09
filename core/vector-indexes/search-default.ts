// The database's search default (core/search/session-defaults.ts) compared with the release's records. A
// calibration makes the main chunk index's ivfflat.probes or hnsw.ef_search the database's default (ALTER
// DATABASE ... SET), but that setting lives in pg_db_role_setting, outside the database: pg_dump does not carry
// it, nor does CREATE DATABASE ... TEMPLATE. The records the setting came from do travel, so a restored or
// copied database says what it should be, and plan, apply, status and health read it here, from one reading:
// plan shows the difference, apply sets it again, status shows it on the index, health reports it.
import type { ClientBase } from "pg";
import { actingRoleSql } from "../acting-owner";
import { quoteIdentifier } from "../identifiers";
import type { Logger } from "../logger";
import type { StepItemResult, VectorIndexPlanItem } from "../results";
import type { SearchCalibrationRecord } from "../search/records";
import { setDatabaseSearchDefault } from "../search/session-defaults";
import type { IndexRecord } from "./records";
import { EMBEDDING_TABLES } from "./spec";

type SearchSettingName = "ivfflat.probes" | "hnsw.ef_search";
export const SEARCH_SETTINGS: readonly SearchSettingName[] = ["ivfflat.probes", "hnsw.ef_search"];

/** What the release made the database's default, and the index whose calibration it is. */
export interface RecordedSearchDefault {
  setting: SearchSettingName;
  value: number;
  indexName: string;
}

/** The database's search defaults as pg_db_role_setting holds them, and who may change them. */
export interface SearchDefaultReading {
  database: string;
  /** The database's owner. */
  owner: string;
  /** The role the release acts as (the owner role; for plan, the --owner-role apply would set). */
  acting: string;
  /** `acting` has the owner's privileges: it may ALTER DATABASE ... SET. */
  mayAlter: boolean;
  /** Setting name -> value, for the search settings set for the whole database (no role). */
  values: Partial<Record<SearchSettingName, string>>;
}

/** The database's default when it is not the recorded one: its value, null when it is not set. */
export interface SearchDefaultDifference {
  recorded: RecordedSearchDefault;
  live: string | null;
  reading: SearchDefaultReading;
}

const ITEM_PREFIX = "database default ";

/** The name of the plan item and result: `database default ivfflat.probes`. */
export function searchDefaultItemName(setting: string): string {
  return `${ITEM_PREFIX}${setting}`;
}

/** Whether a vector-index step item is the database's search default (its name says what it is). */
export function isSearchDefaultItem(name: string): boolean {
  return name.startsWith(ITEM_PREFIX);
}

/** What the release made the database's default: the chunk index's setting, its tenant calibration's first. */
export function recordedSearchDefault(
  records: readonly IndexRecord[],
  searches: readonly SearchCalibrationRecord[] | undefined,
): RecordedSearchDefault | undefined {
  const chunk = EMBEDDING_TABLES.find((t) => t.table === "Chunk");
  if (!chunk) return undefined;
  const record = records.find((r) => r.name === chunk.indexName);
  if (!record) return undefined;
  const tenant = searches?.find((s) => s.indexName === chunk.indexName);
  const { setting, value } = tenant ?? record.calibration;
  return { setting, value: Math.trunc(value), indexName: chunk.indexName };
}

/**
 * A jsonb SQL expression giving the SearchDefaultReading of the current database; valid on any database.
 * `actingAs`: the --owner-role the release acts as, set by plan as by apply (actingRoleSql).
 */
export function searchDefaultReadingSql(actingAs?: string): string {
  const acting = actingRoleSql(actingAs);
  return `(SELECT jsonb_build_object(
     'database', d.datname, 'owner', pg_get_userbyid(d.datdba), 'acting', ${acting},
     'mayAlter', pg_has_role(${acting}, d.datdba, 'USAGE'),
     'values', coalesce((SELECT jsonb_object_agg(split_part(c, '=', 1), substr(c, strpos(c, '=') + 1))
                           FROM pg_db_role_setting s, unnest(s.setconfig) c
                          WHERE s.setdatabase = d.oid AND s.setrole = 0
                            AND split_part(c, '=', 1) IN (${SEARCH_SETTINGS.map((s) => `'${s}'`).join(", ")})),
                        '{}'::jsonb))
     FROM pg_database d WHERE d.datname = current_database())`;
}

export async function readSearchDefault(
  client: ClientBase,
  actingAs?: string,
): Promise<SearchDefaultReading> {
  const { rows } = await client.query<{ reading: SearchDefaultReading }>(
    `SELECT ${searchDefaultReadingSql(actingAs)} AS reading`,
  );
  return rows[0]!.reading;
}

/** The difference between the database's default and the record; undefined when they agree or nothing is recorded. */
export function searchDefaultDifference(
  recorded: RecordedSearchDefault | undefined,
  reading: SearchDefaultReading | undefined,
): SearchDefaultDifference | undefined {
  if (!recorded || !reading) return undefined;
  const live = reading.values[recorded.setting] ?? null;
  if (live !== null && Number(live) === recorded.value) return undefined;
  return { recorded, live, reading };
}

/** "not set for database x" or "ivfflat.probes = 40 for database x": what the database has now. */
function liveText({ recorded, live, reading }: SearchDefaultDifference): string {
  return live === null
    ? `not set for database ${reading.database}`
    : `${recorded.setting} = ${live} for database ${reading.database}`;
}

/** The statement that sets the recorded value, for the role that owns the database. */
function setStatement({ recorded, reading }: SearchDefaultDifference): string {
  return `ALTER DATABASE ${quoteIdentifier(reading.database)} SET ${recorded.setting} = ${recorded.value}`;
}

/**
 * What apply does about the database's default: set it to the record, or, when the role the release acts as
 * does not own the database (a database made by createdb or CREATE DATABASE ... TEMPLATE without OWNER
 * belongs to the admin), a skip naming the hand-over to run and as whom, after which apply sets it.
 */
export function searchDefaultPlanItem(difference: SearchDefaultDifference): VectorIndexPlanItem {
  const { recorded, reading } = difference;
  const name = searchDefaultItemName(recorded.setting);
  const why =
    difference.live === null
      ? `${liveText(difference)} (a pg_dump restore or a CREATE DATABASE ... TEMPLATE copy leaves the database's settings behind)`
      : `${liveText(difference)}, changed by hand`;
  const calibrated = `the calibrated ${recorded.value} the release recorded for ${recorded.indexName}`;
  if (!reading.mayAlter) {
    return {
      name,
      action: "unchanged",
      decision: "skip",
      skip: "not-owner",
      reason:
        `${why}, where hand-written vector queries should get ${calibrated}; database ${reading.database} ` +
        `belongs to ${reading.owner}, not to ${reading.acting}, which runs this release, so it may not set ` +
        `it. As ${reading.owner} (or a superuser), hand it over: ALTER DATABASE ${quoteIdentifier(reading.database)} ` +
        `OWNER TO ${quoteIdentifier(reading.acting)}; then apply sets it (or, as ${reading.owner}: ` +
        `SELECT '[1]'::vector; ${setStatement(difference)})`,
    };
  }
  return {
    name,
    action: "update",
    decision: "search-default",
    reason:
      `${why}: set to ${calibrated} (${setStatement(difference)}); ` +
      `until then hand-written vector queries get ${difference.live === null ? "the server's default" : difference.live}`,
  };
}

/**
 * Sets the database's default to the record, as `item` (searchDefaultPlanItem, not a skip) says: apply, when
 * no calibration of the index ran and set it. The setting is pgvector's: until the library is loaded in the
 * session it is a placeholder, which only a superuser may set for a database, so a vector value loads it first.
 */
export async function restoreSearchDefault(
  client: ClientBase,
  item: VectorIndexPlanItem,
  recorded: RecordedSearchDefault,
  log: Logger,
): Promise<StepItemResult<"vectorIndexes">> {
  const started = Date.now();
  // A failure here (pgvector out of the search path) leaves the placeholder, which the ALTER below reports.
  await client.query(`SELECT '[1]'::vector`).catch(() => undefined);
  const set = await setDatabaseSearchDefault(client, recorded.setting, recorded.value, log);
  const durationMs = Date.now() - started;
  if (!set) {
    const reason = `${item.reason}: not set (the warning above says why)`;
    return { name: item.name, action: "unchanged", durationMs, skipped: reason, details: { reason } };
  }
  return { name: item.name, action: "update", durationMs, details: { change: item.reason } };
}

/** What status shows on the index whose calibration is the default: the database's value against the record. */
export function searchDefaultStatus(recorded: RecordedSearchDefault, reading: SearchDefaultReading): string {
  const difference = searchDefaultDifference(recorded, reading);
  if (!difference) return `${recorded.setting} = ${recorded.value}`;
  const fix = reading.mayAlter ? "apply sets it" : "plan says who may set it";
  return `${liveText(difference)}, not the recorded ${recorded.setting} = ${recorded.value}: ${fix}`;
}
