// Reverting a migration whose Down section was corrected after it was applied. The ledger refuses any change to
// an applied file, since the Down section a revert runs must belong to the Up section that ran. But a Down
// section never ran, and one that fails (it drops a column the Up section never added) can only be fixed by
// changing it. So the ledger also records each migration's Up-section checksum (core/bookkeeping.ts): a file
// whose Up section is still the applied one may be reverted with its Down section as it is now, when the
// operator names it (`--corrected-down NAME`). The revert says so in its result and log.
import path from "node:path";
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA, MIGRATIONS_TABLE, UP_CHECKSUM_COLUMN_DDL } from "../bookkeeping";
import { literal } from "../sql";
import { matchesRecorded } from "./checksums";
import { isRecordedUpSection, upSectionChecksum, type MigrationFile } from "./files";
import type { LedgerEntry, LedgerProblem } from "./ledger";

/** The flag that names a migration to revert with its corrected Down section. */
export const CORRECTED_DOWN_FLAG = "--corrected-down";

/** The Up-section checksum each ledger row records; null for rows recorded before the ledger kept it. */
export type UpChecksums = ReadonlyMap<string, string | null>;

/** A migration reverted with its corrected Down section: the file's checksum then (applied) and now. */
export interface CorrectedDown {
  applied: string;
  file: string;
}

/** The recorded Up-section checksums; a ledger whose bookkeeping predates the column reads as all null. */
export async function readUpChecksums(client: ClientBase): Promise<UpChecksums> {
  // to_jsonb(row) reads the column where it exists and NULL where it does not, in one statement either way.
  const result = await client.query<{ name: string; up_checksum: string | null }>(
    `SELECT name, to_jsonb(m) ->> 'up_checksum' AS up_checksum FROM ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE} m`,
  );
  return new Map(result.rows.map((row) => [row.name, row.up_checksum]));
}

/**
 * Records the Up-section checksum of each migration to revert whose file is the applied one and whose row has
 * none (applied by an earlier release of neonhub-db, baselined, adopted): its file is the applied one, so its
 * Up section is too. A Down section that then fails can be corrected and named with --corrected-down.
 */
export async function recordUpChecksums(
  client: ClientBase,
  toRevert: readonly MigrationFile[],
  ledger: readonly LedgerEntry[],
  known: UpChecksums,
): Promise<void> {
  const applied = new Map(ledger.map((e) => [e.name, e.checksum]));
  const missing = toRevert.filter(
    (f) => known.get(f.name) == null && matchesRecorded(f, applied.get(f.name)),
  );
  if (missing.length === 0) return;
  // Only when it is missing: ALTER TABLE needs the table's owner even when the column exists.
  const column = await client.query(
    `SELECT 1 FROM pg_attribute WHERE attrelid = '${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}'::regclass
        AND attname = 'up_checksum' AND NOT attisdropped`,
  );
  if (column.rowCount === 0) await client.query(UP_CHECKSUM_COLUMN_DDL);
  await client.query(
    `UPDATE ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE} m SET up_checksum = f.up
       FROM jsonb_to_recordset($1::jsonb) AS f(name text, checksum text, up text)
      WHERE m.name = f.name AND m.checksum = f.checksum AND m.up_checksum IS NULL`,
    [
      JSON.stringify(
        missing.map((f) => ({ name: f.name, checksum: applied.get(f.name), up: upSectionChecksum(f.sql) })),
      ),
    ],
  );
}

/**
 * A file whose checksum is not its ledger row's while its Up section is the one applied (the row's
 * up_checksum): either the rest of the file changed since (its Down section, or the comments above the Up
 * section, which a developer edits as often), or the row's checksum was edited by hand. The ledger records no
 * checksum of the rest, so it cannot tell which: the message says both, and
 * `ifHandEdited` the fix of the second (the UPDATE that puts the file's checksum back in the row); the
 * caller adds the first's, which depends on the command.
 */
export function upSectionUnchanged(
  name: string,
  fileChecksum: string,
  filePath: string,
): { message: string; ifHandEdited: string } {
  const table = `${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}`;
  return {
    message:
      `Migration ${name}.sql does not match the checksum its ledger row records. Its Up section is the applied one ` +
      `(the row's up_checksum): either the file changed outside that section (its Down section, or the lines before \`-- Up Migration\`) after it was applied, ` +
      `or the row's checksum was edited by hand (the ledger records no checksum of the rest of the file, so it cannot tell which).`,
    ifHandEdited:
      `If the file is as it was applied (\`git log -p -- ${filePath}\` shows no change since), the row was edited: ` +
      `put its checksum back with UPDATE ${table} SET checksum = ${literal(fileChecksum)} WHERE name = ${literal(name)};`,
  };
}

/**
 * A changed file of a migration to revert: accepted when its Up section is the applied one and the operator
 * named it; otherwise the problem, with the fix that applies to it.
 */
export function judgeChangedFile(
  problem: LedgerProblem,
  file: MigrationFile,
  upChecksums: UpChecksums,
  named: boolean,
  /** The migrations folder as the user named it, for the fix that names the file. */
  folder: string,
): { accepted: CorrectedDown } | { problem: LedgerProblem } {
  const recorded = upChecksums.get(file.name) ?? null;
  const name = file.name;
  if (recorded === null) {
    return {
      problem: {
        ...problem,
        message: `${problem.message} Whether its Up section changed cannot be told: the ledger has no checksum of it (recorded by an earlier release of neonhub-db).`,
        fix: `${problem.fix} Then run the revert: it records the Up section's checksum, and if this Down section fails, correct it and run the revert again with ${CORRECTED_DOWN_FLAG} ${name}.`,
      },
    };
  }
  if (!isRecordedUpSection(recorded, file.sql)) {
    return {
      problem: {
        ...problem,
        message: `${problem.message} Its Up section is not the applied one.`,
        fix: `${problem.fix} A corrected Down section is accepted only with the Up section as it was applied.`,
      },
    };
  }
  if (named) return { accepted: { applied: problem.checksums!.applied, file: file.checksum } };
  const unchanged = upSectionUnchanged(name, file.checksum, path.join(folder, `${name}.sql`));
  return {
    problem: {
      ...problem,
      message: unchanged.message,
      fix: `If its Down section was corrected since it was applied, run the revert again with ${CORRECTED_DOWN_FLAG} ${name} to revert it with its Down section as it is now. ${unchanged.ifHandEdited} Then run the revert again.`,
    },
  };
}
