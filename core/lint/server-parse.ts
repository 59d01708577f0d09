// Asks the server's own parser about a statement squawk's parser cannot read. squawk's parser is not
// PostgreSQL's: it lags new syntax and has gaps (a column named `exclude`, a table named `sequence`), and
// a statement it cannot read is not always one the server refuses.
//
// PostgreSQL has no SQL function that only parses, but PL/pgSQL compiles a DO block's SQL statements by
// handing each to the server's raw parser (grammar only: no table, column or privilege is looked up) when
// check_function_bodies is on, and runs nothing it does not reach. So
//
//   SET LOCAL check_function_bodies = on; DO $tag$BEGIN RETURN; <statement>
//   ; END$tag$
//
// parses the statement and runs nothing: the block returns before the statement, and what the compiler
// builds lives in a memory context freed with the command. DO itself is a strictly read-only command (so the
// server's utility.c classes it: allowed in a read-only transaction and on a standby), and it needs no
// privilege beyond USAGE on plpgsql, which PUBLIC has. The SET LOCAL lasts as long as the message's implicit transaction: a role or database with
// check_function_bodies off would otherwise have every statement pass unchecked.
//
// PL/pgSQL reads a few statements itself rather than handing them over (BEGIN, COMMIT, FETCH, ...), takes an
// INTO for its own variables, and finds a statement's end only past paired parentheses: such a statement is
// not wrapped, and the check says it could not tell. Only an error the server's raw parser raises (its
// source file is the parser's, not PL/pgSQL's) is the server refusing the statement.
import type { ClientBase } from "pg";
import { closestName } from "../closest-name";
import { utf16Position } from "../migrations/positions";
import { codeTokens, splitStatements, type Statement } from "./statements";

/** What the server's parser says of a statement. */
export type ServerParse =
  | { verdict: "parses" }
  | {
      verdict: "refuses";
      /** In PostgreSQL's words, e.g. `syntax error at or near "NUL"`. */
      message: string;
      /** Where the server points, as an offset in the file. */
      offset: number;
    }
  | {
      verdict: "unknown";
      /** Why the server's parser could not be asked, e.g. PL/pgSQL would read the statement itself. */
      reason: string;
    };

/**
 * The first words of the SQL commands PL/pgSQL hands to the server's parser as they are (gram.y's `stmt`).
 * Left out, since PL/pgSQL reads them with its own grammar: BEGIN, END, COMMIT, ROLLBACK, DECLARE, EXECUTE,
 * FETCH, MOVE, CLOSE and TABLE (test/lint/server-parse.test.ts checks both lists on the server).
 */
const HANDED_OVER = new Set([
  "ABORT",
  "ALTER",
  "ANALYSE",
  "ANALYZE",
  "CALL",
  "CHECKPOINT",
  "CLUSTER",
  "COMMENT",
  "COPY",
  "CREATE",
  "DEALLOCATE",
  "DELETE",
  "DISCARD",
  "DO",
  "DROP",
  "EXPLAIN",
  "GRANT",
  "IMPORT",
  "INSERT",
  "LISTEN",
  "LOAD",
  "LOCK",
  "MERGE",
  "NOTIFY",
  "PREPARE",
  "REASSIGN",
  "REFRESH",
  "REINDEX",
  "RELEASE",
  "RESET",
  "REVOKE",
  "SAVEPOINT",
  "SECURITY",
  "SELECT",
  "SET",
  "SHOW",
  "START",
  "TRUNCATE",
  "UNLISTEN",
  "UPDATE",
  "VACUUM",
  "VALUES",
  "WITH",
]);

/** The SQL commands PL/pgSQL reads with its own grammar: with HANDED_OVER, the first word of every command. */
const READ_BY_PLPGSQL = [
  "BEGIN",
  "END",
  "COMMIT",
  "ROLLBACK",
  "DECLARE",
  "EXECUTE",
  "FETCH",
  "MOVE",
  "CLOSE",
  "TABLE",
];
const SQL_COMMANDS = [...HANDED_OVER, ...READ_BY_PLPGSQL];

/** The block's code before the statement: a RETURN, so that nothing after it runs. */
const BODY_START = "BEGIN RETURN; ";
const BEFORE = `SET LOCAL check_function_bodies = on; DO $TAG$${BODY_START}`;
/** After the statement: on a line of its own, so that a statement ending in a `--` comment ends there. */
const AFTER = "\n; END";

/** Why PL/pgSQL would not hand the statement's code to the server's parser as it is, or undefined. */
function notHandedOver(code: string): string | undefined {
  const tokens = codeTokens(code);
  const first = tokens[0];
  if (first === undefined) return "the statement holds no code";
  // A word no command begins with is a typo (CREAT, SELEC) more often than not: say that, not how the check works.
  if (/^[A-Z_]+$/.test(first) && !SQL_COMMANDS.includes(first)) {
    const meant = closestName(first, SQL_COMMANDS);
    return `${first} begins no SQL command${meant ? ` (${meant}, misspelt?)` : ""}`;
  }
  if (!HANDED_OVER.has(first)) {
    return `a statement that begins with ${first} is not one PL/pgSQL, which the check compiles it in, hands to the server's parser as written`;
  }
  // PL/pgSQL takes any INTO for its own (SELECT ... INTO variable), except INSERT INTO, MERGE INTO and
  // IMPORT FOREIGN SCHEMA's.
  const into = tokens.some(
    (token, i) =>
      token === "INTO" && tokens[i - 1] !== "INSERT" && tokens[i - 1] !== "MERGE" && first !== "IMPORT",
  );
  if (into) return "PL/pgSQL, which the check compiles it in, takes its INTO for a variable of its own";
  let depth = 0;
  for (const token of tokens) {
    depth += token === "(" ? 1 : token === ")" ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth !== 0) {
    return "its parentheses do not pair up, and PL/pgSQL, which the check compiles it in, cannot find its end";
  }
  return undefined;
}

/** A dollar-quote tag the statement does not hold, so that it cannot end the DO block's body. */
function tagFor(code: string): string {
  let tag = "neonhub_parse";
  for (let n = 1; code.includes(`$${tag}$`); n++) tag = `neonhub_parse${n}`;
  return tag;
}

/** The server's source files of its raw parser (scanner, grammar): an error raised elsewhere is not its verdict. */
const RAW_PARSER = new Set(["scan.l", "gram.y", "parser.c", "scansup.c"]);

interface ServerError {
  code?: string;
  /** The server's source file that raised it, e.g. "scan.l" (the lexer) or "pl_gram.y" (PL/pgSQL's grammar). */
  file?: string;
  message: string;
  /** 1-based, in characters of the message sent. */
  position?: string;
  /** 1-based, in characters of internalQuery (the DO block's body), when the server could not point into the message. */
  internalPosition?: string;
}

/**
 * The server's parser on `statement` (read from the file it is in), in one round trip. Runs nothing; meant to
 * be sent outside a transaction block, as plan and apply do (a refused statement ends in an error).
 */
export async function parseOnServer(client: ClientBase, statement: Statement): Promise<ServerParse> {
  // The code, comments blanked, without the `;` that ends it (not one inside an unterminated string): the
  // block gives it one.
  const ended = codeTokens(statement.code).at(-1) === ";";
  const code = ended ? statement.code.replace(/;\s*$/, "") : statement.code;
  const unwrappable = notHandedOver(code);
  if (unwrappable) return { verdict: "unknown", reason: unwrappable };
  const tag = tagFor(code);
  const before = BEFORE.replace("TAG", tag);
  try {
    await client.query(`${before}${code}${AFTER}$${tag}$`);
    return { verdict: "parses" };
  } catch (error) {
    const failure = error as ServerError;
    // Not the server's answer (the connection failed): not the lint's to judge.
    if (typeof failure.code !== "string") throw error;
    if (!RAW_PARSER.has(failure.file ?? "")) {
      const who = failure.file?.startsWith("pl_")
        ? "PL/pgSQL, which the check compiles it in,"
        : "the server";
      return { verdict: "unknown", reason: `${who} answered: ${failure.message}` };
    }
    // Characters into the statement's code where the server points, or undefined.
    const at = pointedAt(failure, before.length, BODY_START.length);
    if (at === undefined || at < 0 || at > Array.from(code).length + AFTER.length) {
      return { verdict: "unknown", reason: `the server answered: ${failure.message}` };
    }
    const units = Math.min(utf16Position(code, at + 1) - 1, code.length);
    // PL/pgSQL hands the statement over without its `;`: where the parser ran out of input, the file has the
    // `;`, and PostgreSQL names that.
    const message =
      ended && failure.message === "syntax error at end of input"
        ? 'syntax error at or near ";"'
        : withoutWrapper(failure.message);
    return { verdict: "refuses", message, offset: statement.start + units };
  }
}

/** 0-based characters into the statement's code where the error points, or undefined when it points nowhere. */
function pointedAt(error: ServerError, inMessage: number, inBody: number): number | undefined {
  const position = Number(error.position);
  if (Number.isInteger(position) && position > 0) return position - 1 - inMessage;
  const internal = Number(error.internalPosition);
  if (Number.isInteger(internal) && internal > 0) return internal - 1 - inBody;
  return undefined;
}

/** The message as PostgreSQL gives it for the statement alone: an unterminated string or comment runs on
 *  to the end of the block's body, which is not the migration's text. */
function withoutWrapper(message: string): string {
  return message.replace(/ at or near "([\s\S]*)"$/, (whole, near: string) =>
    near.endsWith(AFTER) ? ` at or near "${near.slice(0, -AFTER.length).trimEnd()}"` : whole,
  );
}

/** The server's parser on one statement's SQL, offsets in `sql`: parseOnServer for a statement not in a file. */
export async function serverParse(client: ClientBase, sql: string): Promise<ServerParse> {
  const statements = splitStatements(sql);
  if (statements.length !== 1) {
    throw new Error(`serverParse takes one statement; this SQL holds ${statements.length}`);
  }
  return parseOnServer(client, statements[0]!);
}
