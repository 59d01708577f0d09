// Which migration files the upstream `pgmigrations` ledger says ran, and what stands in the way when they are
// not the first files of the folder in order. Each defect is named for what it is, so that one row deleted by
// hand reads as the one migration it records, not as every later row out of place.
import { commandToRun, type CommandPrinter } from "../command-to-run";
import { ReleaseError } from "../errors";
import { quoteIdentifier } from "../identifiers";
import type { MigrationFile } from "../migrations/files";
import { literal } from "../sql";
import { ADOPTING_SECTION } from "./runbook-sections";

/**
 * The fix when the ledger does not describe these files (another project's, or another version's): the folder
 * the database was migrated with, then the adopt to run again as `print` prints it (the run's own flags).
 */
function otherFilesFix(print: CommandPrinter | undefined): string {
  return `Adopt only a database migrated with these very files: check out the project version it was migrated with (or give --migrations-dir that version's folder), then adopt again with ${commandToRun(print, ["adopt"])}; see ${ADOPTING_SECTION}. Nothing was written.`;
}

/** What the match needs of a pgmigrations row. */
export interface UpstreamRow {
  name: string;
  run_on: Date;
}

/** The files the upstream ledger in `schema` says ran: they must be the first files of the folder, in order. */
export function matchUpstreamRows(
  ledgerRows: readonly UpstreamRow[],
  files: readonly MigrationFile[],
  schema: string,
  print?: CommandPrinter,
): MigrationFile[] {
  const ledger = `${schema}.pgmigrations`;
  if (ledgerRows.length === 0) {
    throw new ReleaseError(
      "invalid-input",
      `${ledger} records no migration: there is nothing to adopt.`,
      `Drop the empty ${ledger} table and run ${commandToRun(print, ["apply"])}.`,
    );
  }
  const positions = new Map(files.map((file, i) => [file.name, i]));
  // In the order they ran, as far as run_on tells it. Rows of one run_on ran in one transaction (the upstream
  // CLI's default), which checked their order itself: their ids say only in which order they were inserted,
  // and a row put back by hand (the fix below) comes last by id.
  const rows = [...ledgerRows].sort(
    (a, b) =>
      a.run_on.getTime() - b.run_on.getTime() ||
      (positions.get(a.name) ?? files.length) - (positions.get(b.name) ?? files.length),
  );
  const recorded = new Set(rows.map((row) => row.name));
  const unknown = rows.filter((row) => !positions.has(row.name)).map((row) => row.name);
  const lastRecorded = Math.max(...rows.map((row) => positions.get(row.name) ?? -1));
  const missing = files.slice(0, lastRecorded + 1).filter((file) => !recorded.has(file.name));
  const problems = [
    ...unknown.map((name) => `- ${name} is recorded, but the migrations folder has no such file`),
    ...missing.map(
      (file) =>
        `- ${file.name} is not recorded, though migrations after it in the folder are (its row is gone)`,
    ),
  ];
  // The order says something only once the rows are the folder's first files: before that, every row after
  // a missing or unknown one would be out of place, and name nothing the operator can act on.
  if (problems.length === 0) {
    rows.forEach((row, i) => {
      const file = files[i];
      if (file?.name !== row.name) {
        problems.push(
          `- ${row.name} is recorded as migration ${i + 1}, but in the migrations folder migration ${i + 1} is ${file?.name ?? "(none)"}`,
        );
      }
    });
  }
  if (problems.length === 0) return files.slice(0, rows.length);
  throw new ReleaseError(
    "ledger-mismatch",
    `${ledger} does not record the first migrations of this folder in order:\n${problems.slice(0, 25).join("\n")}`,
    unknown.length === 0 && missing.length > 0
      ? restoreRowsFix(schema, missing, rows, files, print)
      : otherFilesFix(print),
  );
}

/**
 * For rows deleted by hand: the INSERTs that put them back where they ran, with the run time of the recorded
 * migration before each, or a second before the first recorded one (rows of one run_on are matched in the
 * folder's order, so the restored rows fall in place however many share it).
 */
function restoreRowsFix(
  schema: string,
  missing: readonly MigrationFile[],
  rows: readonly UpstreamRow[],
  files: readonly MigrationFile[],
  print: CommandPrinter | undefined,
): string {
  const table = `${quoteIdentifier(schema)}.pgmigrations`;
  const recorded = new Set(rows.map((row) => row.name));
  const firstRecorded = files.find((f) => recorded.has(f.name))!;
  const inserts = missing.map((file) => {
    const i = files.indexOf(file);
    const before = files
      .slice(0, i)
      .reverse()
      .find((f) => recorded.has(f.name));
    const runOn = before
      ? `run_on FROM ${table} WHERE name = ${literal(before.name)}`
      : `run_on - interval '1 second' FROM ${table} WHERE name = ${literal(firstRecorded.name)}`;
    return `INSERT INTO ${table} (name, run_on) SELECT ${literal(file.name)}, ${runOn};`;
  });
  const one = missing.length === 1;
  return `If ${one ? "that migration" : "those migrations"} ran (${one ? "its" : "their"} objects are in the schema), put ${one ? "its row" : "their rows"} back (${inserts.join(" ")}) and adopt again, which proves the schema against every recorded file, with ${commandToRun(print, ["adopt"])}. If not, adopt only a database these files migrated (check out the project version it was migrated with, or give --migrations-dir that version's folder; ${ADOPTING_SECTION}). Nothing was written.`;
}
