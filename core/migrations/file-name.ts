// What is wrong with a migration file's name, and the name it should have. A developer new to the project
// often makes the file with node-pg-migrate's own `create`, which names it after the time in milliseconds
// (`1796591630050_add-thing.sql`, or with --migration-filename-format utc `20261206211350426_add-thing.sql`),
// or writes the name in camelCase: each is refused, and the refusal says what to rename it to, keeping the
// time the file was made where the name tells it.

/** `<14-digit UTC timestamp>_<snake_case_name>.sql`, the form `neonhub-db` and reviewers rely on. */
export const MIGRATION_FILE_PATTERN = /^(\d{14})_([a-z0-9]+(?:_[a-z0-9]+)*)\.sql$/;

/** The 14-digit UTC timestamp (YYYYMMDDHHMMSS) of a moment. */
export function utcTimestamp(at: Date): string {
  return at.toISOString().replace(/\D/g, "").slice(0, 14);
}

export interface MalformedName {
  /** What breaks the form, as a clause after "is malformed: ". */
  problem: string;
  /** The name it should have, when it is a migration at all (a `.sql` file). */
  renameTo?: string;
  /**
   * The newest migration of the folder, when renameTo's timestamp is not the one the name told (or now) because
   * that one sorts before it (timestampAfter).
   */
  movedAfter?: string;
}

/** The newest well-formed migration of a folder's entries (their names sort as their timestamps), if any. */
export function newestMigration(entries: readonly string[]): string | undefined {
  return entries
    .filter((e) => isUtcTimestamp(MIGRATION_FILE_PATTERN.exec(e)?.[1] ?? ""))
    .sort()
    .at(-1);
}

/**
 * The timestamp for a migration a fix names, and whether it was moved: `preferred` (the time its name tells,
 * else now) when it sorts after `newest`, the folder's newest migration; else now, or the second after the
 * newest's when now is not later (a clock behind, names from the future). A name before the newest is out of
 * order once that one is applied, which apply refuses: the file is new, so it goes last.
 */
export function timestampAfter(
  preferred: string,
  newest: string | undefined,
  now: Date,
): { timestamp: string; moved: boolean } {
  const last = newest?.slice(0, 14);
  if (last === undefined || preferred > last) return { timestamp: preferred, moved: false };
  const current = utcTimestamp(now);
  if (current > last) return { timestamp: current, moved: true };
  const at = (from: number, to: number) => Number(last.slice(from, to));
  const next = new Date(Date.UTC(at(0, 4), at(4, 6) - 1, at(6, 8), at(8, 10), at(10, 12), at(12, 14)) + 1000);
  return { timestamp: utcTimestamp(next), moved: true };
}

/** The name part in snake_case: words of letters and digits, lower case, joined by single underscores. */
function snakeCase(words: string): string {
  return words
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .join("_");
}

/** Whether 14 digits are a real UTC date and time (no month 13, no 30 February, no hour 24). */
function isUtcTimestamp(digits: string): boolean {
  const [y, mo, d, h, mi, s] = [0, 4, 6, 8, 10, 12].map((at) => Number(digits.slice(at, at + (at ? 2 : 4))));
  return utcTimestamp(new Date(Date.UTC(y!, mo! - 1, d, h, mi, s))) === digits;
}

/**
 * The timestamp a leading run of digits stands for: 14 digits as they are, node-pg-migrate's 17-digit UTC
 * form without its milliseconds, its default milliseconds since 1970 (13 digits) in UTC; else undefined.
 */
function timestampOf(digits: string): string | undefined {
  const timestamp =
    digits.length === 14
      ? digits
      : digits.length === 17
        ? digits.slice(0, 14)
        : digits.length === 13
          ? utcTimestamp(new Date(Number(digits)))
          : undefined;
  return timestamp !== undefined && isUtcTimestamp(timestamp) ? timestamp : undefined;
}

/**
 * Why `entry`, which does not match MIGRATION_FILE_PATTERN, is refused, and what to rename it to: after
 * `newest`, the folder's newest well-formed migration (newestMigration), whatever time the name told.
 */
export function malformedName(entry: string, now: Date, newest?: string): MalformedName {
  const renamed = (preferred: string, name: string): Pick<MalformedName, "renameTo" | "movedAfter"> => {
    const { timestamp, moved } = timestampAfter(preferred, newest, now);
    return { renameTo: `${timestamp}_${name}.sql`, ...(moved ? { movedAfter: newest } : {}) };
  };
  if (!entry.endsWith(".sql")) {
    // A migration saved without its extension is still one; anything else is not a migration at all.
    const match = MIGRATION_FILE_PATTERN.exec(`${entry}.sql`);
    if (match) return { problem: "it has no .sql extension", ...renamed(match[1]!, match[2]!) };
    return { problem: "it is not a .sql file, and the migrations folder holds migrations alone" };
  }
  const [, digits = "", rest = ""] = /^(\d*)(.*)\.sql$/s.exec(entry) ?? [];
  // The part after the timestamp's separator (an underscore, or the dash node-pg-migrate writes).
  const namePart = digits && /^[_-]/.test(rest) ? rest.slice(1) : rest;
  const words = snakeCase(namePart);
  const renaming = renamed(timestampOf(digits) ?? utcTimestamp(now), words || "describe_the_change");
  const problems: string[] = [];
  if (digits.length === 0) problems.push("it does not start with a 14-digit UTC timestamp");
  else if (digits.length === 13)
    problems.push(
      `it starts with ${digits}, a time in milliseconds (as node-pg-migrate create names files), not a 14-digit UTC timestamp`,
    );
  else if (digits.length !== 14)
    problems.push(`it starts with ${digits}, ${digits.length} digits, not a 14-digit UTC timestamp`);
  if (digits.length > 0 && !rest.startsWith("_"))
    problems.push("an underscore does not follow the timestamp");
  if (!words) problems.push("it has no name after the timestamp");
  else if (!/^[a-z0-9]+(?:_[a-z0-9]+)*$/.test(namePart))
    problems.push(
      `its name ${JSON.stringify(namePart)} is not snake_case (lower-case letters and digits, single underscores)`,
    );
  return { problem: problems.join("; "), ...renaming };
}
