// Expand: the whole release built in the staging schema next to the legacy tables, by the release's own
// migration files (their Up sections, as node-pg-migrate would send them), one transaction per file, each
// recorded in the work schema's progress so that an interrupted expand resumes at the next file. Nothing in
// `public` changes.
import type { ClientBase } from "pg";
import type { CommandPrinter } from "../../command-to-run";
import { quoteIdentifier } from "../../identifiers";
import { migrationSection, type MigrationFile } from "../../migrations/files";
import { describeMigrationFailure } from "../../migrations/failure";
import { withStatementCounts } from "../../migrations/statement-counts";
import { MIGRATION_TIME_ZONE_SQL } from "../../migrations/time-zone";
import { LEGACY_SCHEMA, STAGING_SCHEMA, WORK_SCHEMA } from "./names";
import type { Logger } from "../../logger";
import { isReleaseError } from "../../errors";
import { RELEASE_EXTENSIONS } from "../../extensions";
import type { LockClock } from "./lock-clock";

/** The work schema: progress of every step, the configuration the run started with, rows the mirror refused. */
export const WORK_DDL = `
CREATE SCHEMA IF NOT EXISTS ${WORK_SCHEMA};
CREATE TABLE IF NOT EXISTS ${WORK_SCHEMA}.config (
  id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  organization_slug text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  -- The proof read before cutover, for the result of a run that resumes after it.
  proof jsonb
);
CREATE TABLE IF NOT EXISTS ${WORK_SCHEMA}.progress (
  step text PRIMARY KEY,
  last_id text,
  done boolean NOT NULL DEFAULT false,
  rows bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ${WORK_SCHEMA}.rejected (
  "table" text NOT NULL,
  id text NOT NULL,
  error text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY ("table", id)
);
`;

/** The Up section of a migration file: what node-pg-migrate runs for it. */
export function upSection(file: MigrationFile): string {
  return migrationSection(file.sql, "up").text;
}

export async function stepDone(client: ClientBase, step: string): Promise<boolean> {
  const r = await client.query<{ done: boolean }>(
    `SELECT done FROM ${WORK_SCHEMA}.progress WHERE step = $1`,
    [step],
  );
  return r.rows[0]?.done ?? false;
}

export async function markDone(client: ClientBase, step: string, rows = 0): Promise<void> {
  await client.query(
    `INSERT INTO ${WORK_SCHEMA}.progress (step, done, rows) VALUES ($1, true, $2)
     ON CONFLICT (step) DO UPDATE SET done = true, rows = EXCLUDED.rows, updated_at = now()`,
    [step, rows],
  );
}

/**
 * Runs each migration's Up section with `search_path` set to the staging schema. The extensions are created
 * there first, so the files' `CREATE EXTENSION IF NOT EXISTS ... WITH SCHEMA public` finds them and does
 * nothing; function bodies are not checked (four name `public."..."`, resolved at call time, after cutover).
 * A file's failure names the commands to run as `print` prints them: its apply is the upgrade's own.
 */
export async function expandRelease(
  client: ClientBase,
  files: readonly MigrationFile[],
  clock: LockClock,
  log: Logger,
  print?: CommandPrinter,
): Promise<number> {
  let ran = 0;
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${STAGING_SCHEMA}`);
  for (const extension of RELEASE_EXTENSIONS) {
    // An extension the database has already (an administrator's, in `public`) stays where it is and is
    // found through the search_path; a new one is created in the staging schema and moves with the release.
    await client.query(
      `DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = '${extension}') THEN
           CREATE EXTENSION "${extension}" WITH SCHEMA ${STAGING_SCHEMA};
         END IF;
       END $$`,
    );
  }
  await copyDefaultPrivileges(client, LEGACY_SCHEMA, STAGING_SCHEMA);
  for (const [i, file] of files.entries()) {
    const step = `expand:${file.name}`;
    if (await stepDone(client, step)) continue;
    const started = Date.now();
    try {
      await clock.transaction(client, `expand ${file.name}`, async () => {
        // Staging first: what the files create lands there, and their names resolve there before `public`.
        await client.query(`SET LOCAL search_path = ${STAGING_SCHEMA}, ${LEGACY_SCHEMA}`);
        await client.query("SET LOCAL check_function_bodies = off");
        // In the time zone every migration runs in, as apply runs these files (migrations/time-zone.ts).
        await client.query(MIGRATION_TIME_ZONE_SQL);
        // An error without a position says how many of its statements completed: the failure names the one.
        await withStatementCounts(client).query(upSection(file));
        await markDone(client, step);
      });
    } catch (error) {
      if (isReleaseError(error)) throw error;
      throw describeMigrationFailure(error, { file, direction: "up", finished: i, print });
    }
    ran += 1;
    log.info(`upgrade: expand ${file.name} in ${STAGING_SCHEMA} (${Date.now() - started} ms)`);
  }
  return ran;
}

const DEFAULT_PRIVILEGE_OBJECTS: Record<string, string> = {
  r: "TABLES",
  S: "SEQUENCES",
  f: "FUNCTIONS",
  T: "TYPES",
};

/**
 * The default privileges the access layer gave in `public` (FOR ROLE owner ... TO app, readonly), given in
 * the staging schema too, so that the release's tables get the grants they would get in `public` (they keep
 * them when they move there). They go with the staging schema when it is dropped at cutover.
 */
export async function copyDefaultPrivileges(client: ClientBase, from: string, to: string): Promise<void> {
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
    [from],
  );
  for (const d of defaults.rows) {
    const objects = DEFAULT_PRIVILEGE_OBJECTS[d.kind];
    if (!objects) continue;
    await client.query(
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${d.role} IN SCHEMA ${to} GRANT ${d.privilege} ON ${objects} TO ${d.grantee}${d.grantable ? " WITH GRANT OPTION" : ""}`,
    );
  }
}

/**
 * The staging tables' own triggers (updatedAt, tenant columns, append-only audit log) stay off while rows
 * are copied as they are: the mapping sets every column itself, and those triggers resolve unqualified names
 * through the caller's search_path, which during the backfill is the legacy schema. Foreign keys stay on.
 */
export async function setStagingTriggers(client: ClientBase, enabled: boolean): Promise<void> {
  const tables = await client.query<{ name: string }>(
    `SELECT DISTINCT c.relname AS name FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND NOT t.tgisinternal ORDER BY 1`,
    [STAGING_SCHEMA],
  );
  for (const { name } of tables.rows) {
    await client.query(
      `ALTER TABLE ${STAGING_SCHEMA}.${quoteIdentifier(name)} ${enabled ? "ENABLE" : "DISABLE"} TRIGGER USER`,
    );
  }
}
