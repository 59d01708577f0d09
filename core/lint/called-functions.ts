// The functions a section defines and then calls. A backfill is often written as a function and a call
// (`CREATE FUNCTION backfill() ... UPDATE ...; SELECT backfill();`): squawk reads the CREATE FUNCTION as one
// statement and its body as a string, and the call as a SELECT, so an UPDATE of every row, or a CREATE INDEX,
// in the body went unweighed. The lint (statements-run.ts) weighs the body of a function the section calls
// where the call runs, as it weighs a DO block's. A function the section calls but does not define (an earlier
// migration's, or the database's) is followed by calls-elsewhere.ts.
import {
  controlLength,
  plpgsqlCommands,
  runsSqlCommand,
  withoutStrings,
  type BodyCommands,
} from "./do-blocks";
import { canonicalName, splitStatements, type Statement } from "./statements";

/** A function or procedure the section defines. */
export interface DefinedFunction {
  /** The CREATE FUNCTION or CREATE PROCEDURE statement. */
  statement: Statement;
  /** Its name as written, for messages. */
  name: string;
  kind: "function" | "procedure";
  /** Its parameter list as written, whitespace collapsed: what tells one overload from another in messages. */
  parameters: string;
  /** How many arguments a call of it may pass. */
  arity: Arity;
  /** What its body runs, offsets the file's; for a body the lint cannot read, one `language` entry. */
  body: BodyCommands;
}

/** The least and most arguments a call may pass (defaults make some optional; VARIADIC takes any more). */
export interface Arity {
  min: number;
  max: number;
}

/**
 * Whether a call passing `args` arguments may run a function of `arity`: PostgreSQL picks an overload among
 * those taking that many, so an overload of the same name taking another count is not what the call runs.
 * An unknown count (a call the lint could not read to its end) may run any.
 */
export function accepts(arity: Arity, args: number | undefined): boolean {
  return args === undefined || (args >= arity.min && args <= arity.max);
}

const NAME = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`;

/** `CREATE [OR REPLACE] FUNCTION|PROCEDURE [schema.]name (`. */
const CREATES = new RegExp(
  String.raw`^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE)\s+(${NAME}(?:\s*\.\s*${NAME})?)\s*\(`,
  "i",
);

/** The body in dollar quotes after AS. */
const DOLLAR_BODY = /\bAS\s+(\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$)([\s\S]*?)\1/i;

const LANGUAGE = /\bLANGUAGE\s+(\w+|"[^"]+"|'[^']+')/i;

/** A name followed by `(`: a call, when the name is a function the section defines. */
const CALL = new RegExp(String.raw`(?<![\w$."])(${NAME}(?:\s*\.\s*${NAME})?)\s*\(`, "g");

/** Statements that define or describe objects: a function named in one is not run by it (a trigger's EXECUTE
 *  FUNCTION, a policy's USING, COMMENT ON FUNCTION, GRANT EXECUTE). */
const DEFINES = /^\s*(?:CREATE|ALTER|DROP|COMMENT|GRANT|REVOKE|SECURITY\s+LABEL)\b/i;

/** The functions and procedures `written` defines, by canonical name; the last definition of a name wins. */
export function definedFunctions(written: readonly Statement[]): Map<string, DefinedFunction> {
  return new Map(everyFunctionDefined(written).map((fn) => [canonicalName(fn.name), fn]));
}

/** Every CREATE FUNCTION and CREATE PROCEDURE of `written`, in order: overloads of a name each. */
export function everyFunctionDefined(written: readonly Statement[]): DefinedFunction[] {
  return written.flatMap((statement): DefinedFunction[] => {
    const created = CREATES.exec(statement.code);
    if (!created) return [];
    const name = created[2]!.replace(/\s+/g, "");
    const kind = created[1]!.toLowerCase() === "procedure" ? "procedure" : "function";
    // Read with its strings blanked (a DEFAULT's ',' or ')' is not the list's), said as written.
    const open = created[0].length - 1;
    const list = parenthesised(withoutStrings(statement.code), open);
    const parameters =
      list === undefined ? [] : topLevelItems(list, statement.code.slice(open + 1, open + 1 + list.length));
    return [
      {
        statement,
        name,
        kind,
        parameters: parameters.map((p) => p.replace(/\s+/g, " ")).join(", "),
        arity: arityOf(parameters, kind),
        body: functionBody(statement),
      },
    ];
  });
}

const MODE = /^(IN|OUT|INOUT|VARIADIC)\s/i;

/**
 * The arguments a call passes for `parameters`. A function's OUT parameters are not passed; a procedure's are
 * (PostgreSQL 14 on: CALL passes NULL for them). A parameter with a DEFAULT (or `=`) may be left out.
 */
function arityOf(parameters: readonly string[], kind: DefinedFunction["kind"]): Arity {
  let min = 0;
  let max = 0;
  for (const parameter of parameters) {
    const mode = MODE.exec(parameter.trimStart())?.[1]?.toUpperCase() ?? "IN";
    if (mode === "OUT" && kind === "function") continue;
    if (mode === "VARIADIC") return { min, max: Infinity };
    max += 1;
    if (!/\bDEFAULT\b|=/i.test(parameter)) min = max;
  }
  return { min, max };
}

/** The text between the `(` at `open` of `code` and its matching `)`; undefined when it does not close. */
function parenthesised(code: string, open: number): string | undefined {
  let depth = 0;
  for (let at = open; at < code.length; at += 1) {
    if (code[at] === "(") depth += 1;
    else if (code[at] === ")" && --depth === 0) return code.slice(open + 1, at);
  }
  return undefined;
}

/**
 * `list`'s items, split at its top-level commas (none when it is blank), taken from `written`: the same text
 * before its strings were blanked.
 */
function topLevelItems(list: string, written = list): string[] {
  if (list.trim() === "") return [];
  const items: string[] = [];
  let depth = 0;
  let from = 0;
  for (let at = 0; at < list.length; at += 1) {
    if (list[at] === "(" || list[at] === "[") depth += 1;
    else if (list[at] === ")" || list[at] === "]") depth -= 1;
    else if (list[at] === "," && depth === 0) {
      items.push(written.slice(from, at).trim());
      from = at + 1;
    }
  }
  items.push(written.slice(from).trim());
  return items;
}

/** What a function's body runs: PL/pgSQL and SQL bodies in dollar quotes are read; any other is not. */
function functionBody(statement: Statement): BodyCommands {
  const unreadable: BodyCommands = {
    commands: [],
    unread: [{ offset: statement.start + statement.code.search(/\S/), why: "language" }],
    pieces: [],
  };
  const body = DOLLAR_BODY.exec(statement.code);
  if (!body) return unreadable;
  const outside = statement.code.slice(0, body.index) + statement.code.slice(body.index + body[0].length);
  const language = (LANGUAGE.exec(withoutStrings(outside))?.[1] ?? "").replace(/["']/g, "").toLowerCase();
  const bodyStart = statement.start + body.index + body[0].length - body[1]!.length - body[2]!.length;
  if (language === "plpgsql") return plpgsqlCommands(body[2]!, bodyStart);
  if (language !== "sql") return unreadable;
  // An SQL function's body is statements, each run as written.
  const pieces = splitStatements(body[2]!).map((piece) => ({
    ...piece,
    start: bodyStart + piece.start,
    end: bodyStart + piece.end,
  }));
  return {
    commands: pieces.filter((piece) => runsSqlCommand(withoutStrings(piece.code))),
    unread: [],
    pieces,
  };
}

/** The section's functions that `piece` calls, in the order it names them. */
export function callsIn(piece: Statement, defined: ReadonlyMap<string, DefinedFunction>): DefinedFunction[] {
  if (defined.size === 0) return [];
  const called: DefinedFunction[] = [];
  for (const { name } of namesCalledIn(piece)) {
    const fn = defined.get(name);
    if (fn && !called.includes(fn)) called.push(fn);
  }
  return called;
}

/** A name `piece` calls: canonical (canonicalName) and as written, with the arguments the call passes. */
export interface CalledName {
  name: string;
  written: string;
  /** How many arguments it passes; undefined when the call does not close within what was read. */
  args: number | undefined;
}

/** Every name `piece` follows with `(` where it runs, in order: functions, and words such as VALUES alike. */
export function namesCalledIn(piece: Statement): CalledName[] {
  const whole = withoutStrings(piece.code);
  // In a PL/pgSQL body, what opens the statement (IF f() THEN) may call one even when the statement defines.
  const opens = controlLength(whole);
  const code = DEFINES.test(whole.slice(opens)) ? whole.slice(0, opens) : whole;
  return [...code.matchAll(CALL)].map((match) => {
    const written = match[1]!.replace(/\s+/g, "");
    const list = parenthesised(code, match.index + match[0].length - 1);
    return {
      name: canonicalName(written),
      written,
      args: list === undefined ? undefined : topLevelItems(list).length,
    };
  });
}
