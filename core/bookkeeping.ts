// The release engine's own schema. It holds the migration ledger (node-pg-migrate's table, with checksum
// and duration added), the schema snapshot used by `verify`, and the seed-set and vector-index records.
import type { ClientBase } from "pg";
import { sha256 } from "./checksum";
import { createdObjectsDdl } from "./migrations/created-objects-record";
import { upSectionChecksum, type MigrationFile } from "./migrations/files";

export const BOOKKEEPING_SCHEMA = "neonhub_release";
export const MIGRATIONS_TABLE = "migrations";
/** Session setting through which the engine hands each migration's checksum to the ledger trigger. */
export const CHECKSUMS_SETTING = "neonhub_release.checksums";
/** The same for each migration's Up section (core/migrations/corrected-down.ts). */
export const UP_CHECKSUMS_SETTING = "neonhub_release.up_checksums";

/**
 * The set_config() calls that hand the ledger trigger the files' checksums and their Up sections', for the
 * session (`local` false) or the transaction, with their parameters numbered from `$first`.
 */
export function checksumSettings(
  files: readonly Pick<MigrationFile, "name" | "checksum" | "sql">[],
  local: boolean,
  first = 1,
): { sql: string; params: string[] } {
  const checksums = Object.fromEntries(files.map((f) => [f.name, f.checksum]));
  const upChecksums = Object.fromEntries(files.map((f) => [f.name, upSectionChecksum(f.sql)]));
  return {
    sql: `set_config($${first}, $${first + 1}, ${local}), set_config($${first + 2}, $${first + 3}, ${local})`,
    params: [CHECKSUMS_SETTING, JSON.stringify(checksums), UP_CHECKSUMS_SETTING, JSON.stringify(upChecksums)],
  };
}

/**
 * The ledger's column for each migration's Up-section checksum: added by the ledger DDL, and by a revert on a
 * database whose bookkeeping predates it (core/migrations/corrected-down.ts). NULL for rows recorded before.
 */
export const UP_CHECKSUM_COLUMN_DDL = `ALTER TABLE ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE} ADD COLUMN IF NOT EXISTS up_checksum text`;
/**
 * Records migrations as applied without running them (baseline, adoption, the legacy upgrade's cutover),
 * inside the caller's transaction: the ledger trigger fills each row's checksum from the files. `runOn` is
 * when each one ran, where another ledger knows (an upstream node-pg-migrate's); now otherwise.
 */
export async function recordAsApplied(
  client: ClientBase,
  files: readonly Pick<MigrationFile, "name" | "checksum" | "sql">[],
  runOn?: readonly Date[],
): Promise<void> {
  const settings = checksumSettings(files, true);
  await client.query(`SELECT ${settings.sql}`, settings.params);
  for (const [i, file] of files.entries()) {
    const insert = `INSERT INTO ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE} (name, run_on)`;
    await (runOn
      ? client.query(`${insert} VALUES ($1, $2)`, [file.name, runOn[i]])
      : client.query(`${insert} VALUES ($1, now())`, [file.name]));
  }
}

/** Our own advisory-lock key (node-pg-migrate's is 7241865325823964); one release at a time per database. */
export const RELEASE_LOCK_KEY = 7241865325823965n;

/**
 * node-pg-migrate inserts (name, run_on) into its table inside each migration's transaction. A trigger
 * completes the row with the file's checksum, its Up section's and the migration's duration in that same
 * transaction, so a migration is never committed without its ledger entry (no crash window between the two).
 * The checksums come from session settings the engine sets before running; an insert without one (someone
 * running node-pg-migrate by hand) fails instead of leaving an unverifiable row.
 */
const MIGRATION_LEDGER_DDL = `
CREATE SCHEMA IF NOT EXISTS ${BOOKKEEPING_SCHEMA};
CREATE TABLE IF NOT EXISTS ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE} (
  id serial PRIMARY KEY,
  name varchar(255) NOT NULL UNIQUE,
  run_on timestamp NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  duration_ms integer NOT NULL DEFAULT 0,
  applied_by text NOT NULL DEFAULT current_user
);
${UP_CHECKSUM_COLUMN_DDL};
CREATE OR REPLACE FUNCTION ${BOOKKEEPING_SCHEMA}.complete_ledger_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.checksum := current_setting('${CHECKSUMS_SETTING}', true)::jsonb ->> NEW.name;
  IF NEW.checksum IS NULL THEN
    RAISE EXCEPTION 'migration % has no checksum: apply migrations with neonhub-db apply, not node-pg-migrate directly', NEW.name;
  END IF;
  NEW.up_checksum := current_setting('${UP_CHECKSUMS_SETTING}', true)::jsonb ->> NEW.name;
  NEW.applied_at := now();
  -- now() is the start of this migration's transaction, clock_timestamp() its end.
  NEW.duration_ms := (extract(epoch FROM clock_timestamp() - now()) * 1000)::integer;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS complete_ledger_row ON ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE};
CREATE TRIGGER complete_ledger_row BEFORE INSERT ON ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}
  FOR EACH ROW EXECUTE FUNCTION ${BOOKKEEPING_SCHEMA}.complete_ledger_row();
CREATE TABLE IF NOT EXISTS ${BOOKKEEPING_SCHEMA}.schema_snapshot (
  id integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  taken_at timestamptz NOT NULL DEFAULT now(),
  last_migration text,
  objects jsonb NOT NULL
);
${createdObjectsDdl(BOOKKEEPING_SCHEMA)};
`;

/** Bumped whenever the DDL above changes, so that a no-op apply can skip it with one catalog read. */
export const BOOKKEEPING_VERSION = "neonhub-db bookkeeping 3";

/**
 * Creates or updates the bookkeeping schema (the migration ledger plus each step's own tables, given as
 * `stepDdl`). Runs under the release lock, in one transaction.
 */
/**
 * The comment the bookkeeping schema carries once `ensureBookkeeping` ran with these steps' DDL: the version and
 * the full sha256 of the DDL, compared whole. (A schema commented with the 12-character form of earlier
 * releases differs, so the first apply after the upgrade runs the idempotent DDL once and rewrites the comment.)
 */
export function bookkeepingVersion(stepDdl: readonly string[]): string {
  return `${BOOKKEEPING_VERSION} ${sha256(stepDdl.join("\n"))}`;
}

/**
 * `recorded` is the schema's comment when the caller read it already under the release lock (apply's probe);
 * undefined reads it here.
 */
export async function ensureBookkeeping(
  client: ClientBase,
  stepDdl: readonly string[],
  recorded?: string | null,
): Promise<void> {
  const version = bookkeepingVersion(stepDdl);
  const current =
    recorded !== undefined
      ? recorded
      : (
          await client.query<{ comment: string | null }>(
            "SELECT obj_description(oid, 'pg_namespace') AS comment FROM pg_namespace WHERE nspname = $1",
            [BOOKKEEPING_SCHEMA],
          )
        ).rows[0]?.comment;
  if (current === version) return;
  // Its commit need not wait for the disk: the DDL is idempotent, and the release's next synchronous commit
  // (a migration's, or the snapshot's) flushes the log up to it. A crash before that only loses this
  // transaction, which the next apply runs again. One fsync less on a first release. One message: the server
  // runs its statements in order and stops at the first error, leaving the transaction to roll back.
  const statements = [
    "BEGIN",
    "SET LOCAL synchronous_commit = off",
    MIGRATION_LEDGER_DDL,
    ...stepDdl,
    `COMMENT ON SCHEMA ${BOOKKEEPING_SCHEMA} IS '${version}'`,
    "COMMIT",
  ];
  try {
    await client.query(statements.join("\n;\n"));
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** Whether the migration ledger exists yet (plan must not create it). */
export async function bookkeepingExists(client: ClientBase): Promise<boolean> {
  const result = await client.query<{ exists: boolean }>("SELECT to_regclass($1) IS NOT NULL AS exists", [
    `${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}`,
  ]);
  return result.rows[0]?.exists === true;
}
