// The migration files on disk: validated before anything touches a database, so that a bad file name, a
// duplicate or a non-UTF-8 file never leaves half a release applied.
import { readdirSync, readFileSync, statSync, type Stats } from "node:fs";
import path from "node:path";
import { sha256 } from "../checksum";
import { ReleaseError } from "../errors";
import { DEFAULT_MIGRATIONS_DIR } from "../project";
import { holdsStatement } from "../lint/statements";
import { migrationChecksums, withoutExemptionComments } from "./checksums";
import {
  malformedName,
  MIGRATION_FILE_PATTERN,
  newestMigration,
  timestampAfter,
  utcTimestamp,
} from "./file-name";
import { DOWN_MARKER, UP_MARKER } from "./section-markers";

export interface MigrationFile {
  /** node-pg-migrate's name for it: the file name without `.sql`. */
  name: string;
  /** Absolute path. */
  path: string;
  /**
   * The migration's checksum: sha256 of the file without its exemption comments (core/migrations/checksums.ts),
   * which is the sha256 of its bytes when it holds none. What the ledger records and every release compares.
   */
  checksum: string;
  /** sha256 of the file's bytes: what an earlier release of neonhub-db recorded in the ledger. */
  bytesChecksum: string;
  /** The file's text (UTF-8). */
  sql: string;
}

export { MIGRATION_FILE_PATTERN } from "./file-name";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Where the migrations are: a folder, or a release's options (which also say how the user named it). */
export type MigrationsLocation = string | { migrationsDir: string; migrationsDirAsGiven?: string };

/**
 * Refuses a migrations folder that cannot be listed (not there, a file, unreadable), in the words every reader
 * of the files uses: what the CLI checks with the rest of its command line, before it looks for a database.
 */
export function checkMigrationsFolder(location: MigrationsLocation): void {
  const dir = typeof location === "string" ? location : location.migrationsDir;
  try {
    readdirSync(dir);
  } catch (error) {
    throw unreadableFolder(location, (error as NodeJS.ErrnoException).code);
  }
}

export function readMigrationFiles(location: MigrationsLocation): MigrationFile[] {
  const dir = typeof location === "string" ? location : location.migrationsDir;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    throw unreadableFolder(location, (error as NodeJS.ErrnoException).code);
  }
  const files: MigrationFile[] = [];
  const byTimestamp = new Map<string, string>();
  // A name a fix gives goes after every migration here (the applied ones among them): one before the newest
  // would be refused as out of order once that one is applied.
  const newest = newestMigration(entries);
  const now = new Date();
  const nameAfterNewest = (name: string) => {
    const { timestamp, moved } = timestampAfter(utcTimestamp(now), newest, now);
    return `${timestamp}_${name}.sql ${moved ? `(after ${newest}, the newest migration here, which is later than now)` : "for now"}`;
  };
  for (const entry of entries.sort()) {
    // node-pg-migrate skips dot-files too; anything else it would try to load, so we refuse it here.
    if (entry.startsWith(".")) continue;
    const full = path.join(dir, entry);
    if (!fileStats(full, entry).isFile()) continue;
    const match = MIGRATION_FILE_PATTERN.exec(entry);
    if (!match) {
      const { problem, renameTo, movedAfter } = malformedName(entry, now, newest);
      const after = movedAfter
        ? ` (after ${movedAfter}, the newest migration here: a name before it is refused as out of order once that one is applied)`
        : "";
      throw new ReleaseError(
        "migration-files",
        // As a JSON string: a name may hold a quote, a newline or a terminal's control character.
        `Migration file name ${JSON.stringify(entry)} is malformed: ${problem}.`,
        renameTo
          ? `Rename it ${renameTo}${after}: migrations are named <14-digit UTC timestamp>_<snake_case_name>.sql (the time it was written, YYYYMMDDHHMMSS).`
          : "Move it out of the migrations folder: migrations are named <14-digit UTC timestamp>_<snake_case_name>.sql, e.g. 20250126000100_extensions.sql.",
      );
    }
    const timestamp = match[1]!;
    const badParts = timestampProblems(timestamp);
    if (badParts.length > 0) {
      throw new ReleaseError(
        "migration-files",
        `Migration file name "${entry}" starts with ${timestamp}, which is not a UTC date and time (YYYYMMDDHHMMSS): ${badParts.join(", ")}.`,
        `Name it after the UTC time it was written, e.g. ${nameAfterNewest(match[2]!)}.`,
      );
    }
    const other = byTimestamp.get(timestamp);
    if (other) {
      throw new ReleaseError(
        "migration-files",
        `Migrations "${other}" and "${entry}" share the timestamp ${timestamp}, so their order is ambiguous.`,
        `Give "${entry}" a later timestamp, e.g. ${nameAfterNewest(match[2]!)}.`,
      );
    }
    byTimestamp.set(timestamp, entry);
    const bytes = readMigrationBytes(full, entry);
    let sql: string;
    try {
      sql = utf8.decode(bytes);
    } catch {
      throw new ReleaseError(
        "migration-files",
        `Migration "${entry}" is not valid UTF-8.`,
        "Save the file as UTF-8.",
      );
    }
    // PostgreSQL takes no NUL in a statement's text: the lint would report the statement as a syntax error at
    // an invisible character, and a file saved as UTF-16 (valid UTF-8, a NUL after each letter) as one
    // without its "-- Up Migration" line.
    const nul = sql.indexOf("\0");
    if (nul >= 0) {
      throw new ReleaseError(
        "migration-files",
        `Migration "${entry}" holds a NUL character (\\0) at line ${sql.slice(0, nul).split("\n").length}, which no SQL statement may hold.`,
        "Take it out; a file with one after every letter was saved as UTF-16: save it as UTF-8.",
      );
    }
    if (!UP_MARKER.test(sql)) {
      throw new ReleaseError(
        "migration-files",
        `Migration "${entry}" has no "-- Up Migration" line.`,
        'Start the SQL with a line "-- Up Migration" (and put its reversal after "-- Down Migration").',
      );
    }
    if (!DOWN_MARKER.test(sql)) {
      throw new ReleaseError(
        "migration-files",
        `Migration "${entry}" has no "-- Down Migration" section.`,
        'Add a line "-- Down Migration" followed by the SQL that reverses the migration.',
      );
    }
    // An empty Down section would let revert record the migration as reverted while its change stays.
    if (!holdsStatement(downSection(sql))) {
      throw new ReleaseError(
        "migration-files",
        `Migration "${entry}" has an empty "-- Down Migration" section (no statement, only whitespace or comments), so reverting it would undo nothing.`,
        "Put the SQL that reverses the migration after \"-- Down Migration\". If it cannot be reversed, make the Down section fail instead: DO $$ BEGIN RAISE EXCEPTION 'this migration cannot be reverted'; END $$;",
      );
    }
    files.push({ name: entry.slice(0, -".sql".length), path: full, ...migrationChecksums(bytes, sql), sql });
  }
  return files;
}

/**
 * An entry of the migrations folder that cannot be read (a link to a file that is gone, a file this user may
 * not read) names it, where the bare ENOENT or EACCES of the file system would be reported as a bug.
 */
function unreadableFile(entry: string, error: unknown): ReleaseError {
  const code = (error as NodeJS.ErrnoException).code ?? "unknown error";
  return new ReleaseError(
    "migration-files",
    `Migration file ${JSON.stringify(entry)} cannot be read (${code}${code === "ENOENT" ? ": a link to a file that is not there" : ""}).`,
    "Restore the file (or the link's target), make it readable by the user running neonhub-db, or take it out of the migrations folder.",
  );
}

function fileStats(full: string, entry: string): Stats {
  try {
    return statSync(full);
  } catch (error) {
    throw unreadableFile(entry, error);
  }
}

function readMigrationBytes(full: string, entry: string): Buffer {
  try {
    return readFileSync(full);
  } catch (error) {
    throw unreadableFile(entry, error);
  }
}

/**
 * What in a 14-digit timestamp is not a date and time, e.g. ["month 13", "hour 99"]; empty when it is one. The
 * order of migrations is the order of their names, so a timestamp that is no time would still sort, silently,
 * somewhere no one meant.
 */
function timestampProblems(timestamp: string): string[] {
  const part = (from: number, to: number) => ({
    text: timestamp.slice(from, to),
    value: Number(timestamp.slice(from, to)),
  });
  const year = part(0, 4);
  const month = part(4, 6);
  const day = part(6, 8);
  const problems: string[] = [];
  const monthValid = month.value >= 1 && month.value <= 12;
  if (!monthValid) problems.push(`month ${month.text}`);
  // Date.UTC's day 0 of the next month is this month's last day (leap years included).
  const days = monthValid ? new Date(Date.UTC(year.value, month.value, 0)).getUTCDate() : 31;
  if (day.value < 1 || day.value > days) {
    problems.push(
      monthValid ? `day ${day.text} (${year.text}-${month.text} has ${days} days)` : `day ${day.text}`,
    );
  }
  const limits: [string, number, number][] = [
    ["hour", 8, 23],
    ["minute", 10, 59],
    ["second", 12, 59],
  ];
  for (const [name, at, max] of limits) {
    const { text, value } = part(at, at + 2);
    if (value > max) problems.push(`${name} ${text}`);
  }
  return problems;
}

/** A moment as a migration's timestamp: YYYYMMDDHHMMSS in UTC. */
/**
 * A section as node-pg-migrate sends it (sqlMigration.ts, getActions): from its marker line to the other
 * section's marker when that one follows, else to the end of the file; `offset` is where it starts in the file,
 * so an error position the server reports in the section is `offset` plus that position in the file.
 */
export function migrationSection(sql: string, direction: "up" | "down"): { offset: number; text: string } {
  const up = sql.search(UP_MARKER);
  const down = sql.search(DOWN_MARKER);
  const [start, other] = direction === "up" ? [up, down] : [down, up];
  if (start < 0) return { offset: 0, text: direction === "up" ? sql : "" };
  return { offset: start, text: sql.slice(start, other > start ? other : undefined) };
}

/**
 * sha256 of the Up section as node-pg-migrate runs it, without its exemption comments (as the file's own
 * checksum, core/migrations/checksums.ts): recorded in the ledger with the file's checksum, so that a revert can
 * tell a file changed only outside its Up section (a corrected Down section).
 */
export function upSectionChecksum(sql: string): string {
  return sha256(migrationSection(withoutExemptionComments(sql), "up").text);
}

/**
 * Whether the Up section is the one whose checksum the ledger recorded: upSectionChecksum, or the sha256 of the
 * section with its exemption comments that an earlier release of neonhub-db recorded.
 */
export function isRecordedUpSection(recorded: string, sql: string): boolean {
  return recorded === upSectionChecksum(sql) || recorded === sha256(migrationSection(sql, "up").text);
}

/** The Down section's text, without its marker line: what a revert runs. */
export function downSection(sql: string): string {
  const at = sql.search(DOWN_MARKER);
  if (at < 0) return "";
  const up = sql.search(UP_MARKER);
  const end = up > at ? up : undefined;
  const section = sql.slice(at, end);
  return section.slice(section.indexOf("\n") + 1);
}

/**
 * Why the migrations folder cannot be listed, naming it as the user gave it: a folder that is not there or is
 * a file is a mistyped --migrations-dir (or, for the project's own folder, a run from elsewhere).
 */
function unreadableFolder(location: MigrationsLocation, code: string | undefined): ReleaseError {
  const dir = typeof location === "string" ? location : location.migrationsDir;
  const shown = typeof location === "string" ? location : migrationsFolder(location);
  const problem =
    code === "ENOENT"
      ? "does not exist"
      : code === "ENOTDIR"
        ? "is a file, not a folder"
        : `cannot be read (${code ?? "unknown error"})`;
  return new ReleaseError(
    "migration-files",
    `The migrations folder ${shown} ${problem}.`,
    path.resolve(dir) === DEFAULT_MIGRATIONS_DIR
      ? "Run from the project root, or pass the folder with --migrations-dir."
      : `Correct --migrations-dir: give the folder of the migration files (a path relative to the current folder, or absolute), or leave it out for the project's ${path.basename(DEFAULT_MIGRATIONS_DIR)}/.`,
  );
}

/** The migrations folder as the fixes name it: as the user gave it (`migrationsDirAsGiven`), else `migrationsDir`. */
export function migrationsFolder(options: { migrationsDir: string; migrationsDirAsGiven?: string }): string {
  return options.migrationsDirAsGiven ?? options.migrationsDir;
}
