// The SQL a DO block runs. squawk reads a `DO $$ ... $$` as one statement and nothing inside it, so a CREATE
// INDEX, an ALTER TABLE or an UPDATE of every row written in a PL/pgSQL block would block the app unseen. The
// lint (index.ts) and revert's preview (core/migrations/drops.ts) read the block's body here instead: each SQL
// command PL/pgSQL hands to PostgreSQL, with its offsets in the file, in the place of the block (statements-run.ts;
// a function's PL/pgSQL body the section calls is read the same way, called-functions.ts). What the body
// builds at run time (EXECUTE, a FOR ... IN EXECUTE loop) and a body of another language cannot be read: the
// lint says so (rules.ts, the unchecked-do-block warning).
import { blank, splitStatements, type Statement } from "./statements";

/** A DO block's body: `body` starts at `at` in the statement's code; `language` as written, lower case. */
export interface DoBlockBody {
  body: string;
  at: number;
  language: string;
}

/** A DO block's body in dollar quotes, with its LANGUAGE before or after it (PL/pgSQL when none is named). */
const DO_BLOCK =
  /^(\s*DO\s+(?:LANGUAGE\s+(\w+|"[^"]+")\s+)?)(\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$)([\s\S]*?)\3(?:\s+LANGUAGE\s+(\w+|"[^"]+"))?\s*;?\s*$/i;

/** Whether a statement is a DO block, however its body is quoted. */
const IS_DO = /^\s*DO\b/i;

/** The body of `statement` when it is a DO block whose body is dollar-quoted. */
export function doBlockBody(statement: Statement): DoBlockBody | undefined {
  const block = DO_BLOCK.exec(statement.code);
  if (!block) return undefined;
  const language = (block[2] ?? block[5] ?? "plpgsql").replace(/"/g, "").toLowerCase();
  return { body: block[4]!, at: block[1]!.length + block[3]!.length, language };
}

/** Single-quoted strings blanked, so that a keyword in one is not read as code. */
export function withoutStrings(code: string): string {
  return code.replace(/'(?:[^']|'')*'/g, (quoted) => `'${blank(quoted.slice(1, -1))}'`);
}

/**
 * What opens a PL/pgSQL statement before the SQL command in it, read from the start of a piece of the body
 * (the text between two `;`s): a label, BEGIN, DECLARE's declarations up to BEGIN, an IF/ELSIF/WHEN condition
 * up to THEN, ELSE, a loop's head up to LOOP. Anchored at the start, so that a CASE ... THEN ... ELSE inside
 * a command is never taken for control.
 */
const CONTROL =
  /^\s*(?:<<\s*\w+\s*>>|DECLARE\b[\s\S]*?\bBEGIN\b|BEGIN\b|ELSE\b|LOOP\b|(?:EXCEPTION\s+WHEN|ELSIF|ELSEIF|IF|WHEN)\b[\s\S]*?\bTHEN\b|(?:WHILE|FOR|FOREACH)\b[\s\S]*?\bLOOP\b|CASE\b[\s\S]*?(?=\bWHEN\b))/i;

/** The SQL commands PL/pgSQL hands to PostgreSQL that the lint weighs: they change tables, rows or locks. */
const SQL_COMMAND =
  /^\s*(?:ALTER|CREATE|DROP|UPDATE|DELETE|INSERT|MERGE|TRUNCATE|LOCK|CLUSTER|REINDEX|VACUUM|REFRESH|COMMENT|GRANT|REVOKE|WITH|SECURITY\s+LABEL)\b/i;

/** Whether `code` (its strings blanked, what opens it cut) is an SQL command the lint weighs. */
export function runsSqlCommand(code: string): boolean {
  return SQL_COMMAND.test(code);
}

/** How much of a piece of a PL/pgSQL body (strings blanked) is what opens the statement in it: CONTROL, as
 *  often as it repeats (`BEGIN IF ... THEN`). */
export function controlLength(code: string): number {
  let skip = 0;
  for (let control = CONTROL.exec(code); control; control = CONTROL.exec(code.slice(skip))) {
    if (control[0].length === 0) break;
    skip += control[0].length;
  }
  return skip;
}

/** SQL built at run time: an EXECUTE statement, or a loop or cursor over one (`FOR r IN EXECUTE`, `OPEN c FOR
 *  EXECUTE`). */
const EXECUTES = /^\s*EXECUTE\b/i;
const LOOPS_OVER_EXECUTE = /\b(?:IN|FOR)\s+(EXECUTE)\b/i;

/** What a PL/pgSQL body runs, as the lint reads it: a DO block's, or a function's the migration calls. */
export interface BodyCommands {
  /** Each SQL command of the body, its offsets the file's. */
  commands: Statement[];
  /** Where the body runs SQL it builds (an offset in the file), or where the block starts when its body is
   *  not PL/pgSQL or not dollar-quoted: none of it can be read. */
  unread: { offset: number; why: "dynamic" | "language" }[];
  /** Each statement of the body, its offsets the file's, with what opens it (IF ... THEN, a loop's head):
   *  where the body may call a function (called-functions.ts). */
  pieces: Statement[];
}

/** The commands a PL/pgSQL body runs; `bodyStart`, where the body starts in the file. */
export function plpgsqlCommands(body: string, bodyStart: number): BodyCommands {
  const commands: Statement[] = [];
  const unread: BodyCommands["unread"] = [];
  const pieces = splitStatements(body).map((piece) => ({
    ...piece,
    start: bodyStart + piece.start,
    end: bodyStart + piece.end,
  }));
  for (const piece of pieces) {
    const code = withoutStrings(piece.code);
    const skip = controlLength(code);
    const rest = code.slice(skip);
    const loop = LOOPS_OVER_EXECUTE.exec(code);
    const dynamic = EXECUTES.test(rest)
      ? skip + rest.search(/\S/)
      : loop
        ? loop.index + loop[0].length - 7
        : -1;
    if (dynamic >= 0) {
      unread.push({ offset: piece.start + dynamic, why: "dynamic" });
    } else if (runsSqlCommand(rest)) {
      commands.push({
        start: piece.start + skip,
        end: piece.end,
        code: piece.code.slice(skip),
        comments: piece.comments,
      });
    }
  }
  return { commands, unread, pieces };
}

/** The commands `statement` runs when it is a DO block; undefined for another statement. */
export function doBlockCommands(statement: Statement): BodyCommands | undefined {
  if (!IS_DO.test(statement.code)) return undefined;
  const block = doBlockBody(statement);
  const blockStart = statement.start + statement.code.search(/\S/);
  if (!block || block.language !== "plpgsql")
    return { commands: [], unread: [{ offset: blockStart, why: "language" }], pieces: [] };
  return plpgsqlCommands(block.body, statement.start + block.at);
}
