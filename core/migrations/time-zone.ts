// Every migration's section runs with TimeZone UTC, whatever the server, database, role or connection sets:
// the same file then gives the same schema and data on every server. What a section evaluates in the session's
// time zone (a timestamptz literal without an offset in a default, a CHECK, a view or a partition bound;
// `now()::date`, `current_date` or `localtimestamp` in a backfill or a stable default ADD COLUMN stores for the
// existing rows; a cast between timestamp and timestamptz) would otherwise differ between a laptop's cluster
// (initdb takes the machine's zone) and a managed server (UTC by default). The columns are `timestamp(3)`
// holding UTC wall-clock time (migration 20250126000300): a change of one to timestamptz reads its values as
// UTC, which is what they are. And PostgreSQL (12 and later) changes a column between timestamp and
// timestamptz in the catalog alone when the session's zone is UTC (TimestampTimestampTzRequiresRewrite), which
// the safety lint relies on (core/lint/type-change.ts). It is set for the migration's transaction alone (SET
// LOCAL): the seed sets, the vector indexes and the session after it keep their own. A section may set another
// zone for itself; the lint then judges such a change as the rewrite it may be.
import type { ClientBase, QueryResult } from "pg";

/** The time zone every migration's section runs in. */
export const MIGRATION_TIME_ZONE = "UTC";

/** Sets the time zone for the transaction it runs in alone. */
export const MIGRATION_TIME_ZONE_SQL = `SET LOCAL TimeZone = '${MIGRATION_TIME_ZONE}';`;

/** How many statements withMigrationTimeZone sends after a `BEGIN;`, before the migration's SQL. */
export const TIME_ZONE_STATEMENTS_AFTER_BEGIN = 1;

type Query = (config: unknown, values?: unknown) => Promise<QueryResult>;

/** A client for node-pg-migrate (it needs only `query`) that sets the time zone after each `BEGIN;`. */
export function withMigrationTimeZone(client: Pick<ClientBase, "query">): Pick<ClientBase, "query"> {
  const send = client.query.bind(client) as unknown as Query;
  const query: Query = async (config, values) => {
    if (config !== "BEGIN;" || values !== undefined) return send(config, values);
    const begun = await send(config);
    await send(MIGRATION_TIME_ZONE_SQL);
    return begun;
  };
  return { query } as Pick<ClientBase, "query">;
}

/**
 * Whether a statement may set the session's time zone (SET [LOCAL] TIME ZONE / timezone, RESET of it or of all,
 * set_config('timezone', ...)): after it, a section no longer runs in MIGRATION_TIME_ZONE. Anywhere in its
 * text, a DO block's or a function's SET clause included: one too many keeps a lint finding, none drops one.
 */
export function mayChangeTimeZone(sql: string): boolean {
  return /\b(?:SET|RESET)\s+(?:(?:SESSION|LOCAL)\s+)?(?:TIME\s+ZONE|"?timezone"?)\b|\bRESET\s+ALL\b|\bset_config\s*\(\s*'timezone'/i.test(
    sql,
  );
}
