// How a failed migration is reported: the file, the line and the statement that failed, what the server added
// (detail, where, hint), and a fix for the direction it ran in. The server points at a character of the SQL
// for errors it finds while parsing or planning (a caret goes under it); an error raised while a statement
// runs has no position, and the statement is found from how many of the section's statements completed
// before it (statement-counts.ts). A password literal in the statement (CREATE ROLE ... PASSWORD '...') is
// shown masked: the report reaches terminals, CI logs and pull-request comments the file itself does not.
import { applyAgain, commandToRun, type CommandPrinter } from "../command-to-run";
import { redactSecrets } from "../dsn";
import { rerunReason, revertAgain, revertToRun, type RevertRerun } from "../revert-preview";
import { ReleaseError } from "../errors";
import type { FailedMigration } from "../results";
import { createExtensionFix, extensionRefusedBy } from "../extensions";
import { isReadOnlyRefusal, readOnlySessionFix } from "../read-only-session";
import { codeStart, lineOf, splitStatements } from "../lint/statements";
import {
  RAISED_STATEMENT_TIMEOUT,
  STATEMENT_TIMEOUT_PLACEHOLDER,
  STATEMENT_TIMEOUT_SETTINGS,
} from "../lock-safety/settings";
import { CORRECTED_DOWN_FLAG } from "./corrected-down";
import { migrationSection, type MigrationFile } from "./files";
import type { CountedError } from "./statement-counts";
import { indexMemoryFix, indexMemoryShortfall } from "./index-memory";
import { TRANSACTION_ENDED } from "./transaction-guard";
import { violatedRows, type IntegrityError, type ViolatedRows } from "./violated-rows";

/** SQLSTATE query_canceled: a statement timeout, or a cancel request (pg_cancel_backend, Ctrl-C in psql). */
const QUERY_CANCELED = "57014";

interface ServerError extends CountedError, IntegrityError {
  message?: string;
  position?: string;
  detail?: string;
  hint?: string;
  where?: string;
}

export interface MigrationFailure {
  /** The migration that was running; undefined when node-pg-migrate failed before running one. */
  file: MigrationFile | undefined;
  direction: "up" | "down";
  /** Migrations this run finished before it failed: applied before it (up), reverted after it (down). */
  finished: number;
  /** The migrations' statement_timeout in ms (0 = off), named in the fix when it stopped the statement. */
  statementTimeoutMs?: number;
  /**
   * How the fix names the apply to run again and the verify to run (ReleaseOptions.printCommand): under the
   * schema-release provider, `pulumi up`; unset, the words "apply" and `neonhub-db verify`.
   */
  print?: CommandPrinter;
  /**
   * down: the revert --confirm to run again, printed: the one as run, or the confirm with the ledger's last
   * when the one as run would be refused (its --expect-last names a migration this run reverted:
   * core/revert-preview.ts, revertRerun); unset, the words. A revert's fixes never name apply, which would
   * apply again what it reverted.
   */
  rerun?: RevertRerun;
}

/** Where the failure is in the file: its line, the statement's number in its section, and the lines shown. */
interface FailurePlace {
  line: number;
  /** 1-based, in the section; undefined when the position is past the section's statements. */
  statement?: number;
  /** Found from the server's position (a caret points at the token), or by counting completed statements. */
  foundBy: "position" | "count";
  shown: string[];
  /** The failed statement's code (comments blanked), when the place is one of the section's statements. */
  code?: string;
}

/** At most this many lines of a failed statement are shown. */
const SHOWN_LINES = 6;

export function describeMigrationFailure(error: unknown, failure: MigrationFailure): ReleaseError {
  const serverError = (error ?? {}) as ServerError;
  const reason = serverError.message ?? String(error);
  const { file, direction, finished, print, rerun } = failure;
  const timedOut = stoppedByStatementTimeout(serverError);
  const timeout = `the statement timeout${failure.statementTimeoutMs ? ` (${failure.statementTimeoutMs} ms)` : ""}`;
  if (!file) {
    // node-pg-migrate wraps its own queries' errors with their stack in the message: the first line says it.
    return new ReleaseError(
      "migration-failed",
      `node-pg-migrate failed before running a migration: ${reason.split("\n")[0]}`,
      timedOut ? `Its own query ran longer than ${timeout}: ${raiseStatementTimeout(failure)}.` : undefined,
      { cause: error },
    );
  }
  const place = failurePlace(file, direction, serverError);
  const where = whereText(place, direction);
  const failedMigration: FailedMigration = {
    name: file.name,
    checksum: file.checksum,
    direction,
    sqlstate: serverError.code ?? null,
    line: place?.line ?? null,
    statement: place?.statement ?? null,
    finished,
  };
  const lines = [...(place?.shown ?? [])];
  if (serverError.detail) lines.push(`  detail: ${serverError.detail}`);
  if (serverError.where) lines.push(`  where: ${serverError.where.split("\n")[0]}`);
  if (serverError.hint) lines.push(`  hint: ${serverError.hint}`);
  // Neither section is at fault when an IVFFlat build lacks memory: the table outgrew the server's setting.
  const memory = indexMemoryShortfall(serverError);
  if (direction === "down") {
    return new ReleaseError(
      "migration-failed",
      [`Reverting migration ${file.name}.sql failed${where}: ${reason}`, ...lines].join("\n"),
      [
        `Its transaction was rolled back (it is still applied${finished > 0 ? `; the ${finished} migration(s) after it are reverted` : ""}).`,
        ...(timedOut ? [`The statement ran longer than ${timeout}: ${raiseStatementTimeout(failure)}.`] : []),
        ...(memory
          ? [indexMemoryFix(memory, revertToRun(rerun))]
          : [
              // The file must stay the applied one for the revert to run it: a corrected Down section is
              // accepted only by name, with the Up section as it was applied (corrected-down.ts).
              `If its Down section is wrong, correct it in ${file.name}.sql, leaving the Up section as it is, and ${revertAgain(rerun, ` with ${CORRECTED_DOWN_FLAG} ${file.name}`)}.`,
              `If instead the database was changed by hand since, so that the Down section cannot run, restore what it expects and ${revertAgain(rerun)}.`,
            ]),
      ].join(" "),
      { cause: error, failedMigration },
    );
  }
  const rolledBack = `Its transaction was rolled back (nothing of it is applied${finished > 0 ? `; the ${finished} migration(s) before it are` : ""}).`;
  // An extension the role may not create is the server's business, not the file's.
  const extension = extensionRefusedBy(serverError);
  const violated = extension || timedOut ? undefined : violatedRows(serverError, place?.code);
  return new ReleaseError(
    extension ? "permission" : "migration-failed",
    [`Migration ${file.name}.sql failed${where}: ${reason}`, ...lines].join("\n"),
    extension
      ? `${rolledBack} ${createExtensionFix(extension, print)}`
      : timedOut
        ? `${rolledBack} The statement ran longer than ${timeout}: ${raiseStatementTimeout(failure, "or make the statement faster")}.`
        : violated
          ? `${rolledBack} ${existingRowsFix(violated, file.name, print)}`
          : isReadOnlyRefusal(serverError)
            ? `${rolledBack} ${readOnlySessionFix()}`
            : serverError.code !== undefined && ALREADY_EXISTS.has(serverError.code)
              ? `${rolledBack} ${alreadyExistsFix(file.name, print)}`
              : memory
                ? `${rolledBack} ${indexMemoryFix(memory, commandToRun(print, ["apply"], "apply"))}`
                : `${rolledBack} Fix the file and ${applyAgain(print)}.`,
    { cause: error, failedMigration },
  );
}

/**
 * A statement timeout's "raise it, then run the command again", decided here alone. The command is printed with
 * the timeout to raise as a placeholder (RAISED_STATEMENT_TIMEOUT) in place of the one that stopped it, which
 * the command as run carries (the CLI's --statement-timeout): copied as it ran, it would stop at the same
 * point. Up: the apply as `print` prints it (the CLI's, with the placeholder for the flag; a stack's, the
 * `pulumi config set` of its key and the up). Down: the revert as run (MigrationFailure.rerun), never apply.
 * Where neither prints it (a library caller, a stack's revert), where the timeout is set, in words. `instead`:
 * what else would do, said before the rerun.
 */
function raiseStatementTimeout(
  failure: Pick<MigrationFailure, "direction" | "print" | "rerun" | "statementTimeoutMs">,
  instead?: string,
): string {
  const { direction, print, rerun, statementTimeoutMs } = failure;
  const or = instead ? `, ${instead}` : "";
  const printed =
    direction === "up"
      ? print?.(["apply", ...RAISED_STATEMENT_TIMEOUT])
      : rerun?.with && `${rerun.with(RAISED_STATEMENT_TIMEOUT)}${rerunReason(rerun)}`;
  if (!printed) {
    const again =
      direction === "up" ? applyAgain(print) : revertAgain(rerun, rerun ? " with the raised timeout" : "");
    return `raise it with ${STATEMENT_TIMEOUT_SETTINGS} (0 turns it off)${or}, then ${again}`;
  }
  const longer = statementTimeoutMs ? `more than ${statementTimeoutMs / 1000} seconds` : "enough seconds";
  return `raise it${or}, then run ${printed} with ${STATEMENT_TIMEOUT_PLACEHOLDER} ${longer}, or 0 to turn it off`;
}

/**
 * SQLSTATEs of a statement that creates what the database already has: duplicate_table (a relation: a table,
 * an index, a sequence, a view), duplicate_column, duplicate_object (a constraint, a type, a trigger, a
 * policy), duplicate_function and duplicate_schema.
 */
const ALREADY_EXISTS = new Set(["42P07", "42701", "42710", "42723", "42P06"]);

/**
 * The fix when a pending migration creates what the database already has. Most often a revert left it: the
 * migration was applied and reverted, and its Down section does not undo all its Up section does, so the
 * revert ended cleanly (a migration applied before the record of what its Up section created, which the revert
 * of any other checks: created-objects.ts) and the next apply fails here: its Up section is not at fault, and
 * "fix the file" sent its author to the wrong section. The revert recorded the schema it left (core/revert.ts) as the release's,
 * so what the Down section missed, dropped by hand, is then a table or column the release created that is gone
 * (core/schema-drift.ts): the way out is a database built again. The ledger keeps no trace of a revert, so the
 * fix names both causes.
 */
function alreadyExistsFix(name: string, print: CommandPrinter | undefined): string {
  return [
    "The database already has what the statement creates.",
    `If ${name} was applied here and reverted, its Down section left it behind: correct that section to undo all its Up section does, while no other database has applied the file.`,
    "Since that revert, what it left counts as the release's schema (dropped by hand, apply refuses it as drift):",
    "build the database again (locally `npm run local -- destroy && npm run local`, which deletes its data) or restore the backup taken before the apply.",
    `If its ledger row was deleted by hand, ${commandToRun(print, ["verify"])} says so and how to put it back.`,
    "If an earlier migration or a change by hand made it, fix the file.",
  ].join(" ");
}

/**
 * The fix when rows the database holds break what the migration adds: the rows are at fault, not the file,
 * which must stay as it is wherever it is applied (each ledger holds its checksum).
 */
function existingRowsFix(
  { what, query, repair }: ViolatedRows,
  name: string,
  print: CommandPrinter | undefined,
): string {
  return [
    `Existing ${what}: the data is at fault, not the file.`,
    query ? `Find them with: ${query}` : "Find them by the detail above.",
    `${repair[0]!.toUpperCase()}${repair.slice(1)}, then ${applyAgain(print)}.`,
    `Do not edit ${name}.sql to get past them: where it is applied already, a changed file fails the ledger's checksum check; change it only if the constraint itself is wrong and no database has applied it.`,
  ].join(" ");
}

/** ` at line 7 (statement 2 of its Down section)`: where the headline puts the failure. */
function whereText(place: FailurePlace | undefined, direction: "up" | "down"): string {
  const section = direction === "up" ? "its Up section" : "its Down section";
  const at = place ? ` at line ${place.line}` : "";
  // With a position the caret shows the token; without one the statement's number is what locates it.
  if (place?.foundBy === "count" && place.statement !== undefined)
    return `${at} (statement ${place.statement} of ${section})`;
  // A revert's failure always names the section; an apply's is the Up section's, as ever.
  return direction === "down" ? `${at} (${section})` : at;
}

/**
 * The server's own words tell a statement timeout from a cancel request, which share their SQLSTATE (a server
 * set to another language for lc_messages gets the plain fix). node-pg-migrate's wrapped errors have no code.
 */
function stoppedByStatementTimeout(error: ServerError): boolean {
  return (
    (error.code ?? QUERY_CANCELED) === QUERY_CANCELED &&
    /canceling statement due to statement timeout/.test(error.message ?? "")
  );
}

/**
 * The file's lines as a report shows them: each password literal masked (redactSecrets), one on the line after
 * its PASSWORD too, which masking line by line would miss. Masking keeps the lines, each literal ending on its
 * own; a file whose masking would join lines (a `password = '...'` with a line break inside the quotes) is
 * masked line by line instead, so that the line numbers stay the file's.
 */
function shownLines(sql: string): string[] {
  const lines = sql.split("\n");
  const masked = redactSecrets(sql).split("\n");
  return masked.length === lines.length ? masked : lines.map((line) => redactSecrets(line));
}

function failurePlace(
  file: MigrationFile,
  direction: "up" | "down",
  error: ServerError,
): FailurePlace | undefined {
  const section = migrationSection(file.sql, direction);
  // The server's statements: empty ones (a lone `;`, comments only) are none to it.
  const statements = splitStatements(section.text).filter((s) => /[^\s;]/.test(s.code));
  const position = Number(error.position);
  if (Number.isInteger(position) && position > 0) {
    const offset = section.offset + position - 1;
    const before = file.sql.slice(0, offset);
    const line = before.split("\n").length;
    const lineStart = before.lastIndexOf("\n") + 1;
    const lineEnd = file.sql.indexOf("\n", offset);
    const gutter = `${line} | `;
    // The caret's column in characters, as a terminal shows them, not UTF-16 units, on the line as shown: a
    // password literal before the token is shown masked, and the caret moves with it. What follows the token
    // is the same on both lines, unless a literal is masked there too; then the line's own start is masked.
    const shown = shownLines(file.sql)[line - 1]!;
    const after = file.sql.slice(offset, lineEnd < 0 ? undefined : lineEnd);
    const column = shown.endsWith(after)
      ? Array.from(shown.slice(0, shown.length - after.length)).length
      : Array.from(redactSecrets(file.sql.slice(lineStart, offset))).length;
    const at = statements.findIndex((s) => position - 1 < s.end);
    return {
      line,
      statement: at < 0 ? undefined : at + 1,
      code: statements[at]?.code,
      foundBy: "position",
      shown: [`  ${gutter}${shown}`, `  ${" ".repeat(gutter.length + column)}^`],
    };
  }
  const completed = error.completedStatements;
  if (completed === undefined) return undefined;
  const failed = statements[completed];
  // Past the section's last statement: the ledger row or the COMMIT failed, not the file's SQL.
  if (!failed) return undefined;
  const start = section.offset + codeStart(failed);
  const end = section.offset + failed.start + section.text.slice(failed.start, failed.end).trimEnd().length;
  const first = lineOf(file.sql, start);
  const last = lineOf(file.sql, end);
  const fileLines = shownLines(file.sql);
  const width = String(Math.min(last, first + SHOWN_LINES - 1)).length;
  const shown: string[] = [];
  for (let line = first; line <= last && line < first + SHOWN_LINES; line++) {
    shown.push(`  ${String(line).padStart(width)} | ${fileLines[line - 1]}`);
  }
  if (last >= first + SHOWN_LINES)
    shown.push(`  ${" ".repeat(width)} | ... (${last - first - SHOWN_LINES + 1} more line(s))`);
  return { line: first, statement: completed + 1, foundBy: "count", shown, code: failed.code };
}

/** How a section that ended the transaction it runs in (transaction-guard.ts) left the migration. */
export interface EndedTransaction {
  direction: "up" | "down";
  finished: number;
  /** Whether the section committed part of the migration (else it rolled back, and what followed ran outside). */
  committed: boolean;
  statementTimeoutMs?: number;
  /** As MigrationFailure.print. */
  print?: CommandPrinter;
  /** As MigrationFailure.rerun. */
  rerun?: RevertRerun;
}

/**
 * A migration whose section ended the transaction the engine runs it in: it did not run all or nothing, and no
 * ledger row was written (or deleted) for it. `error` is the guard's own (TRANSACTION_ENDED), raised before the
 * ledger row, or the error a statement after a COMMIT failed with.
 */
export function describeEndedTransaction(
  error: unknown,
  file: MigrationFile,
  ended: EndedTransaction,
): ReleaseError {
  const { direction, finished, committed, print, rerun } = ended;
  const run = direction === "up" ? "apply" : "revert";
  const section = direction === "up" ? "Up" : "Down";
  const guard = (error as { code?: unknown } | null)?.code === TRANSACTION_ENDED;
  const failed = describeMigrationFailure(error, {
    file,
    direction,
    finished,
    statementTimeoutMs: ended.statementTimeoutMs,
    print,
    rerun,
  });
  const what = `its ${section} section ended the transaction ${run} runs it in (a COMMIT, ROLLBACK or the like, or a function or procedure that ends it), so it did not run all or nothing`;
  const message = guard
    ? `${direction === "up" ? "Migration" : "Reverting migration"} ${file.name}.sql stopped before its ledger row: ${what}.`
    : `${failed.message}\nBefore that statement, ${what}.`;
  const state = committed ? "is committed" : "may be committed";
  // The commands as the other fixes print them (on this database, a stack's plan being its preview); a library
  // caller keeps the words.
  const verify = commandToRun(print, ["verify"], "verify");
  const plan = commandToRun(print, ["plan"], "plan");
  const fix =
    direction === "up"
      ? `What ran of it before its transaction ended ${state}, and no ledger row records it${finished > 0 ? ` (the ${finished} migration(s) before it are applied)` : ""}. See what is in the database with ${verify} (or ${plan}, which reports it as schema drift), undo that part by hand, remove the transaction control from ${file.name}.sql (if it meant two transactions, split it into two migrations), and ${applyAgain(print)}.`
      : `What ran of it before its transaction ended ${state}, and its ledger row stays: the ledger records it as applied${finished > 0 ? ` (the ${finished} migration(s) after it are reverted)` : ""}. See what is in the database with ${verify} (or ${plan}), put back by hand what its Down section removed, then remove the transaction control from its Down section and ${revertAgain(rerun, ` with ${CORRECTED_DOWN_FLAG} ${file.name}`)}.`;
  return new ReleaseError("migration-failed", message, fix, {
    cause: error,
    failedMigration: guard
      ? { ...failed.failedMigration!, line: null, statement: null }
      : failed.failedMigration,
  });
}
