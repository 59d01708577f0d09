// Every failure the release engine reports on purpose is a ReleaseError: a message that names the input and
// the problem, and a `fix` that says what to do. Anything else reaching the CLI is a bug.
import { shellWord } from "./shell-word";
import type { PlanProblem } from "./plan-problems";
import { shownValue } from "./shown-value";
import type { FailedMigration } from "./results";

/**
 * Every code a ReleaseError carries, as a list so that the CLI's documented table of error codes can be checked
 * against it (README, "Exit codes and error codes"); the CLI adds its own `internal` (cli/error-document.ts).
 */
export const RELEASE_ERROR_CODES = [
  "invalid-input",
  "connection",
  "authentication",
  "missing-database",
  "missing-pgvector",
  "lock-timeout",
  "migration-files",
  "ledger-mismatch",
  "unsafe-migration",
  "migration-failed",
  "seed-failed",
  "index-failed",
  "schema-drift",
  "permission",
  // Not thrown: the CLI's --json error when SIGINT or SIGTERM stopped a command (core/interrupted-commands.ts).
  "interrupted",
] as const;

export type ReleaseErrorCode = (typeof RELEASE_ERROR_CODES)[number];

export class ReleaseError extends Error {
  override readonly name = "ReleaseError";
  /** Set when a migration failed: which one and where, as fields (the message says the same in words). */
  readonly failedMigration?: FailedMigration;
  /**
   * Set when apply or revert refused before running anything: each problem it refused on, as plan's top-level
   * `problems` lists it (core/plan-problems.ts), so that CI reads why it stopped as it reads a plan.
   */
  readonly problems?: readonly PlanProblem[];
  constructor(
    readonly code: ReleaseErrorCode,
    message: string,
    /** What the operator should do about it. */
    readonly fix?: string,
    options?: { cause?: unknown; failedMigration?: FailedMigration; problems?: readonly PlanProblem[] },
  ) {
    super(message, options);
    this.failedMigration = options?.failedMigration;
    this.problems = options?.problems;
  }

  /** The same error, carrying the problems it refuses on (for a refusal written where they are not known). */
  withProblems(problems: readonly PlanProblem[]): ReleaseError {
    return new ReleaseError(this.code, this.message, this.fix, {
      cause: this.cause,
      failedMigration: this.failedMigration,
      problems,
    });
  }

  /** The message and the fix, as one text for people; a fix of several lines (joinFixes) one per line. */
  describe(): string {
    if (!this.fix) return this.message;
    if (!this.fix.includes("\n")) return `${this.message}\n  fix: ${this.fix}`;
    return `${this.message}\n  fix:\n${this.fix
      .split("\n")
      .map((line) => `    ${line}`)
      .join("\n")}`;
  }
}

/**
 * The fixes of several problems refused together, as one `fix`: each on its own numbered line, so that one
 * problem's statements do not run into the next's (the same fix once; a single one as it is). `closing`, what
 * holds for all of them ("Nothing was written."), follows on a line of its own.
 */
export function joinFixes(fixes: readonly string[], closing?: string): string {
  const distinct = [...new Set(fixes)];
  if (distinct.length <= 1) return [...distinct, ...(closing ? [closing] : [])].join(" ");
  // A refusal's fixes each end by saying nothing was written, as each is also given alone: said once, after them.
  const unwritten = distinct.filter((fix) => fix.endsWith(` ${NOTHING_WRITTEN}`));
  const numbered = distinct.map(
    (fix, i) => `${i + 1}. ${unwritten.includes(fix) ? fix.slice(0, -NOTHING_WRITTEN.length - 1) : fix}`,
  );
  const last = closing ?? (unwritten.length > 0 ? NOTHING_WRITTEN : undefined);
  return [...numbered, ...(last ? [last] : [])].join("\n");
}

export const NOTHING_WRITTEN = "Nothing was written.";

/**
 * A setting as the settings it came in write it: for --set flags alone, the flags that give it (one per leaf,
 * `--set vectorIndexes.method=hnsw`), which the operator types; else (a --config file, a stack's config, the
 * two merged) as a document. A JSON document in a fix for a --set flag was a shape the flag does not take.
 */
export function settingExample(path: readonly string[], value: unknown, source: string): string {
  if (source !== "--set") return JSON.stringify(settingDocument(path, value));
  return settingFlags(path, value).join(" ");
}

function settingFlags(path: readonly string[], value: unknown): string[] {
  if (typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length > 0) {
    return Object.entries(value).flatMap(([key, inner]) => settingFlags([...path, key], inner));
  }
  // --set reads its value as JSON when it parses as JSON, else as text (settingValue): a string stays bare.
  const written = typeof value === "string" ? value : JSON.stringify(value);
  return [`--set ${shellWord(`${path.join(".")}=${written}`)}`];
}

/** A setting as a document: (["vectorIndexes", "method"], "hnsw") -> {"vectorIndexes": {"method": "hnsw"}}. */
export function settingDocument(path: readonly string[], value: unknown): Record<string, unknown> {
  return path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

/**
 * A release setting refused (core/release-config.ts): which one, what is wrong and an example, as fields, so
 * that the CLI (a settings document) and a stack's config (a `pulumi config set` command) give the same
 * refusal in the same words, each with the example in its own form.
 */
export class SettingError extends ReleaseError {
  /** What is wrong, after the setting's name, with the value as the source lets it be shown: `must be true or false (got "no")`. */
  readonly problem: string;
  constructor(
    /** Where the setting is in the release settings: ["vectorIndexes", "concurrently"]. */
    readonly path: readonly string[],
    /** What is wrong, after the setting's name, without the value: `must be true or false`. */
    readonly rule: string,
    /** The value refused, shown after the rule as shownValue lets it be for `source` (none: not shown). */
    readonly refused: { value: unknown } | undefined,
    /** A valid setting: the refused one, or for an unknown key the one meant or a known one. */
    readonly example: { path: readonly string[]; value: unknown },
    /** What else helps, before the example, ending in ". ": "Did you mean ...? Known here: ... ". */
    readonly hint = "",
    /** Where the settings came from ("--config release.yaml", "--set"); empty when the caller says it. */
    readonly source = "",
  ) {
    const problem = refused ? `${rule} (got ${shownValue(refused.value, source)})` : rule;
    super(
      "invalid-input",
      `${source ? `${source}: ` : ""}${path.join(".")} ${problem}.`,
      `${hint}For example ${settingExample(example.path, example.value, source)}.`,
    );
    this.problem = problem;
  }

  /** The same refusal, of settings that came from `source`. */
  from(source: string): SettingError {
    return new SettingError(this.path, this.rule, this.refused, this.example, this.hint, source);
  }
}

export function isReleaseError(error: unknown): error is ReleaseError {
  return error instanceof ReleaseError;
}

/**
 * Where the migrator's connection string (DIRECT_URL) comes from, on a stack and locally: said by every fix
 * that points to it (a refused login, a login that may not do what a command needs, no URL given). The stack
 * is named: without --stack, `pulumi stack output` reads whichever stack is selected, maybe another database.
 */
export const MIGRATOR_URL_SOURCES =
  "`pulumi stack output --stack <stack> --show-secrets directUrl` on a stack, `npm run -s local -- env` locally";

/**
 * The fix for a command run with a login that may not do what it needs (health, load-chunks): where the
 * migrator's connection string comes from, on a stack and locally.
 */
export function asMigratorFix(command: string): string {
  return `Run ${command} as the migrator: --database-url "$DIRECT_URL" (${MIGRATOR_URL_SOURCES}).`;
}
