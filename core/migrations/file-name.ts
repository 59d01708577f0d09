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

/** Why `entry`, which does not match MIGRATION_FILE_PATTERN, is refused, and what to rename it to. */
export function malformedName(entry: string, now: Date): MalformedName {
  if (!entry.endsWith(".sql")) {
    // A migration saved without its extension is still one; anything else is not a migration at all.
    if (MIGRATION_FILE_PATTERN.test(`${entry}.sql`))
      return { problem: "it has no .sql extension", renameTo: `${entry}.sql` };
    return { problem: "it is not a .sql file, and the migrations folder holds migrations alone" };
  }
  const [, digits = "", rest = ""] = /^(\d*)(.*)\.sql$/s.exec(entry) ?? [];
  // The part after the timestamp's separator (an underscore, or the dash node-pg-migrate writes).
  const namePart = digits && /^[_-]/.test(rest) ? rest.slice(1) : rest;
  const words = snakeCase(namePart);
  const renameTo = `${timestampOf(digits) ?? utcTimestamp(now)}_${words || "describe_the_change"}.sql`;
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
  return { problem: problems.join("; "), renameTo };
}
