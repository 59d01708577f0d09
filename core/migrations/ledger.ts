// Reading the migration ledger and checking it against the files, before anything runs.
import path from "node:path";
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA, CHECKSUMS_SETTING, MIGRATIONS_TABLE, bookkeepingExists } from "../bookkeeping";
import { commandToRun, type CommandPrinter } from "../command-to-run";
import { literal } from "../sql";
import { shownObjectKey } from "../shown-names";
import { matchesRecorded } from "./checksums";
import { CORRECTED_DOWN_FLAG, upSectionUnchanged } from "./corrected-down";
import { isRecordedUpSection, type MigrationFile } from "./files";

export interface LedgerEntry {
  /** The row's id: numbered as the rows were recorded, so a deleted row leaves a hole (missingRows). */
  id: number;
  name: string;
  checksum: string;
  /** sha256 of its Up section as applied (core/migrations/corrected-down.ts); null for rows recorded before. */
  upChecksum: string | null;
  appliedAt: string;
  durationMs: number;
  appliedBy: string;
}

export interface LedgerProblem {
  /** `foreign-database` and `existing-objects` come from the pre-flight (core/adopt/preflight.ts). */
  kind:
    | "changed"
    | "missing-file"
    | "out-of-order"
    | "missing-from-ledger"
    | "foreign-database"
    | "existing-objects"
    | "legacy-schema"
    | "legacy-rows";
  migration: string;
  message: string;
  fix: string;
  /** changed: the full sha256 the ledger recorded and the file's now (core/display.ts shortens them for people). */
  checksums?: { applied: string; file: string };
  /** legacy-rows: how many rows, which (a sample), and the offending values. */
  details?: { column: string; count: number; sampleIds: string[]; values?: string[] };
}

export interface MigrationComparison<F extends MigrationIdentity = MigrationFile> {
  applied: LedgerIdentity[];
  pending: F[];
  problems: LedgerProblem[];
}

/** What the comparison needs of a migration file: its name and checksum (a manifest entry will do). */
export interface MigrationIdentity {
  name: string;
  /** Without its exemption comments (core/migrations/checksums.ts). */
  checksum: string;
  /** sha256 of its bytes, which an earlier release recorded; absent where it is `checksum` (no exemptions). */
  bytesChecksum?: string;
  /** The file's text, where it is at hand (a manifest entry has none): tells whether its Up section changed. */
  sql?: string;
}

/**
 * What it needs of a ledger row, in applied order; `appliedAt` when known, for the messages; `id` when known,
 * to tell a row deleted from the ledger from a new migration (a recorded manifest has no ids); `upChecksum`
 * when known, to tell a changed file from a checksum that no longer matches an unchanged Up section.
 */
export type LedgerIdentity = MigrationIdentity & {
  appliedAt?: string;
  id?: number;
  upChecksum?: string | null;
};

/** The applied migrations in order; empty when the ledger does not exist yet. Read-only. */
export async function readLedger(client: ClientBase): Promise<LedgerEntry[]> {
  if (!(await bookkeepingExists(client))) return [];
  const result = await client.query<{
    id: number;
    name: string;
    checksum: string;
    up_checksum: string | null;
    applied_at: Date;
    duration_ms: number;
    applied_by: string;
  }>(
    // to_jsonb(m) reads up_checksum where the column exists and NULL where the bookkeeping predates it.
    `SELECT id, name, checksum, to_jsonb(m) ->> 'up_checksum' AS up_checksum, applied_at, duration_ms, applied_by
       FROM ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE} m ORDER BY run_on, id`,
  );
  return result.rows.map((row) => ({
    id: row.id,
    name: row.name,
    checksum: row.checksum,
    upChecksum: row.up_checksum,
    appliedAt: row.applied_at.toISOString(),
    durationMs: row.duration_ms,
    appliedBy: row.applied_by,
  }));
}

/** Flyway-style validation: what is pending, and what makes the release unsafe to run. */
export function compareWithLedger<F extends MigrationIdentity = MigrationFile>(
  files: readonly F[],
  ledger: readonly LedgerIdentity[],
  /** The migrations folder as the user named it (`--migrations-dir` as given), for the fixes that name a file. */
  folder: string,
  /**
   * `missing-from-ledger` problems read earlier where the database was at hand, for a ledger that cannot tell
   * them itself: a recorded manifest has no ids, and a deleted last row takes the snapshot and the catalog
   * (core/adopt/lost-last-rows.ts). Such a file is that problem, neither pending nor out of order.
   */
  readBefore: readonly LedgerProblem[] = [],
  /** How a fix prints the verify it names to run on this database (ReleaseOptions.printCommand). */
  print?: CommandPrinter,
): MigrationComparison<F> {
  const byName = new Map(files.map((f) => [f.name, f]));
  const appliedNames = new Set(ledger.map((e) => e.name));
  const problems: LedgerProblem[] = [];
  for (const entry of ledger) {
    const file = byName.get(entry.name);
    if (!file) {
      problems.push({
        kind: "missing-file",
        migration: entry.name,
        message: `Migration ${entry.name}.sql was applied${entry.appliedAt ? ` (${entry.appliedAt})` : ""} but its file is gone.`,
        fix: `Restore ${path.join(folder, `${entry.name}.sql`)} from version control: applied migrations are never deleted; undo a change with a new migration.`,
      });
    } else if (!matchesRecorded(file, entry.checksum)) {
      const filePath = path.join(folder, `${entry.name}.sql`);
      const restore = (verb: string) =>
        `${verb} ${filePath} to the applied version and put the change in a new migration`;
      const upUnchanged =
        entry.upChecksum != null && file.sql !== undefined && isRecordedUpSection(entry.upChecksum, file.sql)
          ? upSectionUnchanged(entry.name, file.checksum, filePath)
          : undefined;
      problems.push({
        kind: "changed",
        migration: entry.name,
        message: upUnchanged?.message ?? `Migration ${entry.name}.sql was changed after it was applied.`,
        checksums: { applied: entry.checksum, file: file.checksum },
        fix: upUnchanged
          ? `${upUnchanged.ifHandEdited} If the file changed, ${restore("restore")} (to revert it with a corrected Down section, name it at the revert: ${CORRECTED_DOWN_FLAG} ${entry.name}).`
          : `${restore("Restore")}.`,
      });
    }
  }
  const lastApplied = ledger.at(-1)?.name;
  const unrecorded = files.filter((f) => !appliedNames.has(f.name));
  const lost = missingRows(unrecorded, ledger);
  const known = new Map(
    readBefore.filter((p) => p.kind === "missing-from-ledger").map((p) => [p.migration, p] as const),
  );
  for (const file of unrecorded) {
    const row = lost.get(file.name);
    const read = known.get(file.name);
    if (row && lastApplied !== undefined) {
      problems.push(missingRowProblem(file, row, lastApplied, print));
    } else if (read) {
      problems.push(read);
    } else if (lastApplied !== undefined && file.name < lastApplied) {
      problems.push({
        kind: "out-of-order",
        migration: file.name,
        message: `Migration ${file.name}.sql is new but ordered before the applied migration ${lastApplied}.sql.`,
        fix: laterTimestampFix(lastApplied),
      });
    }
  }
  // A migration whose row was deleted is not to be run again: it is the problem, not pending work.
  const pending = unrecorded.filter((f) => !lost.has(f.name) && !known.has(f.name));
  return { applied: [...ledger], pending, problems };
}

function laterTimestampFix(lastApplied: string): string {
  return `Rename it with a timestamp later than ${lastApplied.slice(0, 14)} so that it runs after what is already applied.`;
}

/** Where a deleted ledger row stood: the applied rows around it and the id it can have back. */
interface MissingRow {
  /** The applied migration before it; none when it was the first. */
  before?: LedgerIdentity;
  after: LedgerIdentity;
  id: number;
}

/**
 * The files not in the ledger that sit where it lost rows. The ledger numbers its rows as they are recorded
 * (a serial id) and a release only ever removes its last rows (revert), so between two applied migrations,
 * ids that skip values mean rows were deleted there by hand: a file ordered between them, no more files than
 * the skipped ids, was applied and lost its row. A new migration ordered before an applied one finds the ids
 * around its place consecutive and stays out-of-order. Neither the file's age (a checkout's) nor the database's
 * objects (a migration may only change data) say it as reliably. The one case read wrongly: a migration
 * reverted, applied again, and a new file then named between it and the one before; the fix covers it.
 */
function missingRows(unrecorded: readonly MigrationIdentity[], ledger: readonly LedgerIdentity[]) {
  const lost = new Map<string, MissingRow>();
  if (ledger.some((e) => e.id === undefined)) return lost;
  ledger.forEach((after, i) => {
    const before = ledger[i - 1];
    // Serial ids start at 1: a first row of id 3 had two before it.
    const firstFree = (before?.id ?? 0) + 1;
    const skipped = after.id! - firstFree;
    const between = unrecorded.filter(
      (f) => (before === undefined || f.name > before.name) && f.name < after.name,
    );
    if (between.length === 0 || between.length > skipped) return;
    between.forEach((f, k) => lost.set(f.name, { before, after, id: firstFree + k }));
  });
  return lost;
}

/**
 * A migration whose ledger row was deleted: named as missing, with the statements that put its row back where
 * it stood (its checksum from the file, through the ledger trigger's setting; the id it had room for and the
 * run time of the row before it, so the ledger's order holds). Only if its changes are in the database.
 */
function missingRowProblem(
  file: MigrationIdentity,
  row: MissingRow,
  lastApplied: string,
  print: CommandPrinter | undefined,
): LedgerProblem {
  const table = `${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}`;
  const neighbours = row.before
    ? `the migrations before and after it (${row.before.name}, ${row.after.name}) are applied`
    : `the migration after it (${row.after.name}) is applied`;
  const runOn = row.before
    ? `run_on FROM ${table} WHERE name = ${literal(row.before.name)}`
    : `run_on - interval '1 second' FROM ${table} WHERE name = ${literal(row.after.name)}`;
  return {
    kind: "missing-from-ledger",
    migration: file.name,
    message: `Migration ${file.name}.sql is missing from the ledger (${table}): ${neighbours}, and the ledger's row ids skip where its row stood, so its row was deleted.`,
    fix: `${putRowBack(file, row.id, runOn, print)} If they are not (it is a new migration), ${laterTimestampFix(lastApplied).replace(/^R/, "r")}`,
  };
}

/** The statements that put a migration's row back: its checksum through the trigger's setting, then the row. */
function putRowBack(
  file: MigrationIdentity,
  id: number | undefined,
  runOn: string,
  print: CommandPrinter | undefined,
): string {
  const table = `${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}`;
  const restore = [
    `SELECT set_config(${literal(CHECKSUMS_SETTING)}, ${literal(JSON.stringify({ [file.name]: file.checksum }))}, false);`,
    id === undefined
      ? `INSERT INTO ${table} (name, run_on) SELECT ${literal(file.name)}, ${runOn};`
      : `INSERT INTO ${table} (id, name, run_on) SELECT ${id}, ${literal(file.name)}, ${runOn};`,
  ].join(" ");
  return `Put its row back only if its changes are in the database (${commandToRun(print, ["verify"])} reports no drift when its schema changes are there): ${restore}`;
}

/**
 * A migration after the ledger's last row whose row was deleted (core/adopt/lost-last-rows.ts tells it): the
 * schema snapshot was recorded after it, and objects it creates are there as the snapshot recorded them. Its
 * row goes back after the row before it (the same run time, and a later id from the serial).
 */
export function lostLastRowProblem(
  file: MigrationIdentity,
  previous: string,
  evidence: { snapshotLast: string; objects: readonly string[] },
  print?: CommandPrinter,
): LedgerProblem {
  const table = `${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}`;
  const runOn = `run_on FROM ${table} WHERE name = ${literal(previous)}`;
  return {
    kind: "missing-from-ledger",
    migration: file.name,
    message:
      `Migration ${file.name}.sql is missing from the ledger (${table}): it is after the ledger's last row, but ` +
      `the schema snapshot was recorded after ${evidence.snapshotLast}, and what the migrations up to that one ` +
      `create is there as the snapshot recorded it (${evidence.objects.map(shownObjectKey).join(", ")}), which a revert would have ` +
      `dropped: its row was deleted. Applying it again would run it twice.`,
    fix: `${putRowBack(file, undefined, runOn, print)} If they are not, the objects were made again by hand: drop them, then run ${commandToRun(print, ["apply"], "apply")}.`,
  };
}
