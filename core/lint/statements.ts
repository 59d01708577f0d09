// Splits a migration's SQL into statements (respecting comments, quotes and dollar quotes) and reads which
// table each statement works on, so that a squawk finding can be weighed with that table's data.

export interface Statement {
  /** Offsets in the file: from just after the previous statement (its leading comments included) to the `;`. */
  start: number;
  end: number;
  /** The statement with its comments blanked out character for character, so that `start` plus an offset in
   *  it is the offset in the file. */
  code: string;
  /** Its comments' text, `--` lines and block comments. */
  comments: string[];
}

export function splitStatements(sql: string): Statement[] {
  const statements: Statement[] = [];
  let start = 0;
  let code = "";
  let comments: string[] = [];
  let i = 0;
  const finish = (end: number) => {
    if (code.trim() !== "" || comments.length > 0) statements.push({ start, end, code, comments });
    start = end;
    code = "";
    comments = [];
  };
  while (i < sql.length) {
    const rest = sql.slice(i, i + 2);
    if (rest === "--") {
      const end = sql.indexOf("\n", i);
      const stop = end < 0 ? sql.length : end;
      comments.push(sql.slice(i, stop));
      code += blank(sql.slice(i, stop));
      i = stop;
    } else if (rest === "/*") {
      const stop = blockCommentEnd(sql, i);
      comments.push(sql.slice(i, stop));
      code += blank(sql.slice(i, stop));
      i = stop;
    } else if (sql[i] === "'" || sql[i] === '"') {
      const stop = quotedEnd(sql, i, sql[i] === "'" && isEscapeStringPrefix(sql, i));
      code += sql.slice(i, stop);
      i = stop;
    } else if (sql[i] === "$" && !isIdentifierChar(sql[i - 1])) {
      const tag = DOLLAR_TAG.exec(sql.slice(i));
      if (tag) {
        const end = sql.indexOf(tag[0], i + tag[0].length);
        const stop = end < 0 ? sql.length : end + tag[0].length;
        code += sql.slice(i, stop);
        i = stop;
      } else {
        code += sql[i];
        i += 1;
      }
    } else if (sql[i] === ";") {
      code += ";";
      i += 1;
      finish(i);
    } else {
      code += sql[i];
      i += 1;
    }
  }
  finish(sql.length);
  return statements;
}

// The lexical rules below are PostgreSQL's (scan.l): a statement's number in a failure message, and the
// table a finding is weighed with, are only right if a `;` inside a string or comment is not taken for an end.

/** A dollar quote's opening tag: `$$` or `$tag$`, a tag being an identifier without `$`. */
const DOLLAR_TAG = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/;

/** Whether a character continues an identifier, so that a `$` after it is part of the name (`a$1`). */
function isIdentifierChar(char: string | undefined): boolean {
  return char !== undefined && /[A-Za-z0-9_$\u0080-\uffff]/.test(char);
}

/** Block comments nest in PostgreSQL: `/* a /* b *\/ c *\/` is one comment. Returns the offset after it. */
function blockCommentEnd(sql: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < sql.length) {
    const pair = sql.slice(i, i + 2);
    if (pair === "/*") {
      depth += 1;
      i += 2;
    } else if (pair === "*/") {
      depth -= 1;
      i += 2;
      if (depth === 0) return i;
    } else {
      i += 1;
    }
  }
  return sql.length;
}

/** `E'...'` (or `e'...'`) is an escape string, where a backslash escapes the next character (`E'it\'s'`). */
function isEscapeStringPrefix(sql: string, quote: number): boolean {
  return /[Ee]/.test(sql[quote - 1] ?? "") && !isIdentifierChar(sql[quote - 2]);
}

/** The offset after a quoted string or identifier that opens at `open`; a doubled quote stays inside it. */
function quotedEnd(sql: string, open: number, backslashEscapes: boolean): number {
  const quote = sql[open];
  let i = open + 1;
  while (i < sql.length) {
    if (backslashEscapes && sql[i] === "\\") i += 2;
    else if (sql[i] === quote && sql[i + 1] === quote) i += 2;
    else if (sql[i] === quote) return i + 1;
    else i += 1;
  }
  return sql.length;
}

/** Text blanked to spaces, its line breaks kept: as long as the text in UTF-16 units, so offsets stay. */
export function blank(text: string): string {
  return text.replace(/[^\n]/g, " ");
}

/**
 * A statement's code (comments already blanked) as PostgreSQL's lexer would cut it, roughly: its words
 * (keywords and unquoted names, upper-cased) and each other character on its own, with every quoted string,
 * quoted name and dollar-quoted body as one token `'`, `"` or `$`, so that nothing inside them is read.
 */
export function codeTokens(code: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < code.length) {
    const c = code[i]!;
    if (/\s/.test(c)) {
      i += 1;
    } else if (c === "'" || c === '"') {
      i = quotedEnd(code, i, c === "'" && isEscapeStringPrefix(code, i));
      tokens.push(c);
    } else if (c === "$" && !isIdentifierChar(code[i - 1]) && DOLLAR_TAG.test(code.slice(i))) {
      const tag = DOLLAR_TAG.exec(code.slice(i))![0];
      const end = code.indexOf(tag, i + tag.length);
      i = end < 0 ? code.length : end + tag.length;
      tokens.push("$");
    } else if (isIdentifierChar(c)) {
      let end = i + 1;
      while (end < code.length && isIdentifierChar(code[end])) end += 1;
      const word = code.slice(i, end);
      // An escape string's prefix belongs to its string: `E'...'` is one token.
      if (/^[Ee]$/.test(word) && code[end] === "'") i = end;
      else {
        tokens.push(word.toUpperCase());
        i = end;
      }
    } else {
      tokens.push(c);
      i += 1;
    }
  }
  return tokens;
}

/** The statement an offset is in (squawk points past the last one at the end of the file: that one). */
export function statementAt(statements: readonly Statement[], offset: number): Statement | undefined {
  return statements.find((s) => offset >= s.start && offset < s.end) ?? statements.at(-1);
}

/** The offset in the file of a statement's first character of code, after leading blanks and comments. */
export function codeStart(statement: Statement): number {
  const first = statement.code.search(/\S/);
  return first < 0 ? statement.end : statement.start + first;
}

/** Whether SQL text holds a statement at all, rather than only whitespace, comments and empty `;`. */
export function holdsStatement(sql: string): boolean {
  return splitStatements(sql).some((statement) => statement.code.replace(/;/g, "").trim() !== "");
}

/** A table name as SQL writes it: quoted or not, with an optional schema. */
export const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*))?`;

export interface StatementTarget {
  /** The table as written, for to_regclass(); for DROP INDEX and REINDEX INDEX, the index. */
  name: string;
  kind: "table" | "index";
}

/** REINDEX's options in parentheses, as PostgreSQL 14 and later write them. */
const REINDEX = String.raw`^\s*REINDEX\s+(?:\([^)]*\)\s*)?`;

/** `ALL IN TABLESPACE name`: ALTER TABLE, INDEX or MATERIALIZED VIEW of every relation of that kind in a
 *  tablespace, not of one named "all". */
const NOT_ALL_IN_TABLESPACE = String.raw`(?!ALL\s+IN\s+TABLESPACE\b)`;

const TARGETS: { pattern: RegExp; kind: StatementTarget["kind"] }[] = [
  {
    pattern: new RegExp(
      String.raw`^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?${NOT_ALL_IN_TABLESPACE}(?:ONLY\s+)?(${IDENT})`,
      "i",
    ),
    kind: "table",
  },
  // A materialized view has rows and a file of its own, as a table does: weighed as one.
  {
    pattern: new RegExp(
      String.raw`^\s*ALTER\s+MATERIALIZED\s+VIEW\s+(?:IF\s+EXISTS\s+)?${NOT_ALL_IN_TABLESPACE}(${IDENT})`,
      "i",
    ),
    kind: "table",
  },
  {
    pattern: new RegExp(
      String.raw`^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?:(?!ON\s)${IDENT}\s+)?ON\s+(?:ONLY\s+)?(${IDENT})`,
      "i",
    ),
    kind: "table",
  },
  {
    pattern: new RegExp(
      String.raw`^\s*ALTER\s+INDEX\s+(?:IF\s+EXISTS\s+)?${NOT_ALL_IN_TABLESPACE}(${IDENT})`,
      "i",
    ),
    kind: "index",
  },
  { pattern: new RegExp(String.raw`${REINDEX}TABLE\s+(?:CONCURRENTLY\s+)?(${IDENT})`, "i"), kind: "table" },
  { pattern: new RegExp(String.raw`${REINDEX}INDEX\s+(?:CONCURRENTLY\s+)?(${IDENT})`, "i"), kind: "index" },
  {
    pattern: new RegExp(String.raw`^\s*CLUSTER\s+(?:VERBOSE\s+|\([^)]*\)\s*)?(?!USING\b)(${IDENT})`, "i"),
    kind: "table",
  },
  { pattern: new RegExp(String.raw`^\s*DELETE\s+FROM\s+(?:ONLY\s+)?(${IDENT})`, "i"), kind: "table" },
  { pattern: new RegExp(String.raw`^\s*UPDATE\s+(?:ONLY\s+)?(${IDENT})`, "i"), kind: "table" },
  { pattern: new RegExp(String.raw`^\s*INSERT\s+INTO\s+(${IDENT})`, "i"), kind: "table" },
  { pattern: new RegExp(String.raw`^\s*MERGE\s+INTO\s+(?:ONLY\s+)?(${IDENT})`, "i"), kind: "table" },
];

/** Statements that name several tables (or indexes) in a list, `TRUNCATE a, b`: each one is weighed, since a
 *  new or empty first one says nothing of the others. */
const LISTS: { head: RegExp; kind: StatementTarget["kind"] }[] = [
  { head: /^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?/i, kind: "table" },
  { head: /^\s*TRUNCATE\s+(?:TABLE\s+)?/i, kind: "table" },
  { head: /^\s*DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?/i, kind: "index" },
];

/** One name of such a list (TRUNCATE's `ONLY a` and `a *` included), and the comma after it, if any. */
const LISTED = new RegExp(String.raw`^(?:ONLY\s+)?(${IDENT})\s*(?:\*\s*)?(,\s*)?`, "i");

/** The names of a list that starts at `from` in `code`. */
function listedNames(code: string, from: number): string[] {
  const names: string[] = [];
  let at = from;
  for (;;) {
    const match = LISTED.exec(code.slice(at));
    if (!match) return names;
    names.push(match[1]!);
    if (match[2] === undefined) return names;
    at += match[0].length;
  }
}

export interface StatementPart {
  /** Offset of the part's first character in the text it was read from. */
  offset: number;
  text: string;
}

/** The offset of the parenthesis that closes the one at `open` (quotes skipped); -1 when none does. */
export function closingParen(text: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === "(") depth += 1;
    else if (c === ")" && --depth === 0) return i;
  }
  return -1;
}

/** A comma, and the keyword AND as a word (not the end of a name such as `brand`). */
const SEPARATORS = { comma: /^,/, and: /^AND\b/i } as const;

/** `a, b (c, d), "e,f"` -> [a, b (c, d), "e,f"]: the comma-separated parts outside parentheses and quotes,
 *  trimmed, such as an ALTER TABLE's actions; with `and`, the terms of `a AND (b OR c) AND d`. */
export function topLevelParts(text: string, separator: keyof typeof SEPARATORS = "comma"): StatementPart[] {
  const parts: StatementPart[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  const push = (end: number) => {
    const raw = text.slice(start, end);
    const trimmed = raw.trim();
    if (trimmed !== "") parts.push({ offset: start + raw.length - raw.trimStart().length, text: trimmed });
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "(") depth += 1;
    else if (c === ")") depth -= 1;
    else if (depth === 0) {
      const found = SEPARATORS[separator].exec(text.slice(i));
      // A keyword separates only where a word starts: the AND of `brand` is the name's.
      if (!found || (separator === "and" && isIdentifierChar(text[i - 1]))) continue;
      push(i);
      start = i + found[0].length;
      i = start - 1;
    }
  }
  push(text.length);
  return parts;
}

const ALTER_TABLE = new RegExp(
  String.raw`^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?${NOT_ALL_IN_TABLESPACE}(?:ONLY\s+)?${IDENT}\s+`,
  "i",
);

const ALTER_MATERIALIZED_VIEW = new RegExp(
  String.raw`^\s*ALTER\s+MATERIALIZED\s+VIEW\s+(?:IF\s+EXISTS\s+)?${NOT_ALL_IN_TABLESPACE}${IDENT}\s+`,
  "i",
);

/** The comma-separated actions after the head `head` matches, each with its offset in the file. */
function actionsAfter(statement: Statement, head: RegExp): StatementPart[] {
  const alter = head.exec(statement.code);
  if (!alter) return [];
  const base = statement.start + alter[0].length;
  return topLevelParts(statement.code.slice(alter[0].length)).map((part) => ({
    ...part,
    offset: base + part.offset,
  }));
}

/** The actions of an ALTER TABLE statement (`ADD CONSTRAINT ...`, `ADD COLUMN ...`), each with its offset in
 *  the file the statement was read from; none for another statement (ALTER TABLE ALL IN TABLESPACE included:
 *  it names no table). */
export function alterTableActions(statement: Statement): StatementPart[] {
  return actionsAfter(statement, ALTER_TABLE);
}

/** The actions of an ALTER MATERIALIZED VIEW statement (`SET TABLESPACE ...`, `SET (...)`), as
 *  alterTableActions gives an ALTER TABLE's. */
export function alterMaterializedViewActions(statement: Statement): StatementPart[] {
  return actionsAfter(statement, ALTER_MATERIALIZED_VIEW);
}

/** What an `ALTER TABLE | INDEX | MATERIALIZED VIEW ALL IN TABLESPACE from [OWNED BY ...] SET TABLESPACE to`
 *  moves: every relation of that kind in the tablespace `from` (as written), whatever the rows of each. */
export interface TablespaceMove {
  kind: "table" | "index" | "materialized view";
  from: string;
}

const MOVE_ALL_IN_TABLESPACE = new RegExp(
  String.raw`^\s*ALTER\s+(TABLE|INDEX|MATERIALIZED\s+VIEW)\s+ALL\s+IN\s+TABLESPACE\s+(${IDENT})\s+(?:OWNED\s+BY\s+[\s\S]*?\s+)?SET\s+TABLESPACE\b`,
  "i",
);

/** The move of a whole tablespace's tables, indexes or materialized views a statement makes, if it is one. */
export function tablespaceMove(statement: Statement): TablespaceMove | undefined {
  const match = MOVE_ALL_IN_TABLESPACE.exec(statement.code);
  if (!match) return undefined;
  const kind = match[1]!.toLowerCase().replace(/\s+/g, " ") as TablespaceMove["kind"];
  return { kind, from: match[2]! };
}

/** The action of an ALTER TABLE statement at `offset` in the file the statement was read from, as squawk
 *  points at it; undefined for another statement. */
export function alterTableAction(statement: Statement, offset: number): string | undefined {
  return alterTableActions(statement).find(
    (part) => offset >= part.offset && offset < part.offset + part.text.length,
  )?.text;
}

/** The ALTER MATERIALIZED VIEW action at `offset` of `statement`, as alterTableAction gives an ALTER TABLE's. */
export function alterMaterializedViewAction(statement: Statement, offset: number): string | undefined {
  return alterMaterializedViewActions(statement).find(
    (part) => offset >= part.offset && offset < part.offset + part.text.length,
  )?.text;
}

/** The tables (or, for DROP INDEX and REINDEX INDEX, the indexes) a statement changes, when it is one the lint
 *  weighs: every one a list names (`TRUNCATE a, b`), in order; none for another statement. */
export function statementTargets(statement: Statement): StatementTarget[] {
  for (const { head, kind } of LISTS) {
    const match = head.exec(statement.code);
    if (match) return listedNames(statement.code, match[0].length).map((name) => ({ name, kind }));
  }
  for (const { pattern, kind } of TARGETS) {
    const match = pattern.exec(statement.code);
    if (match) return [{ name: match[1]!, kind }];
  }
  return [];
}

/** The table (or index) a statement changes, for a statement that names one (ALTER TABLE, UPDATE, ...): the
 *  first of statementTargets. */
export function statementTarget(statement: Statement): StatementTarget | undefined {
  return statementTargets(statement)[0];
}

const CREATE_TABLE = new RegExp(
  String.raw`^\s*CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+(IF\s+NOT\s+EXISTS\s+)?(${IDENT})`,
  "i",
);

export interface CreatedTable {
  /** The table as written. */
  name: string;
  /** `IF NOT EXISTS`: the statement creates nothing when the table is there already. */
  ifNotExists: boolean;
}

/** The table a CREATE TABLE statement names. */
export function createdTable(statement: Statement): CreatedTable | undefined {
  const match = CREATE_TABLE.exec(statement.code);
  return match ? { name: match[2]!, ifNotExists: match[1] !== undefined } : undefined;
}

const CREATE_INDEX_NAMED = new RegExp(
  String.raw`^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?!ON\s)(${IDENT})\s+ON\s+(?:ONLY\s+)?(${IDENT})`,
  "i",
);

export interface CreatedIndex {
  /** The index as written. */
  name: string;
  /** Its table as written. */
  table: string;
}

/** The index a CREATE INDEX statement creates, when it names it, and its table. */
export function createdIndex(statement: Statement): CreatedIndex | undefined {
  const match = CREATE_INDEX_NAMED.exec(statement.code);
  return match ? { name: match[1]!, table: match[2]! } : undefined;
}

const WITH = /^\s*WITH\s+(?:RECURSIVE\s+)?/i;
const MODIFIES_ROWS = /^\s*(?:INSERT|UPDATE|DELETE|MERGE)\b/i;
/** A WITH query's head up to its opening parenthesis: `name [(columns)] AS [NOT] [MATERIALIZED] (`. */
const WITH_QUERY = new RegExp(
  String.raw`^\s*${IDENT}\s*(?:\([^)]*\)\s*)?AS\s+(?:NOT\s+)?(?:MATERIALIZED\s+)?\(`,
  "i",
);
/** A recursive query's SEARCH and CYCLE clauses, after its parentheses. */
const SEARCH_OR_CYCLE = new RegExp(
  String.raw`^\s*(?:SEARCH\s+(?:DEPTH|BREADTH)\s+FIRST\s+BY\s+[\s\S]*?\bSET\s+${IDENT}|CYCLE\s+[\s\S]*?\bUSING\s+${IDENT})`,
  "i",
);

/**
 * The statements a statement runs that change rows: for a WITH, each of its queries and the statement after
 * it that is an INSERT, UPDATE, DELETE or MERGE, with its offsets in the file, since PostgreSQL runs one in a
 * WITH as a statement of its own however its result is used (`WITH d AS (DELETE FROM t RETURNING 1) SELECT
 * count(*) FROM d` deletes every row); for another statement, itself. A WITH whose queries cannot be read
 * is itself.
 */
export function statementParts(statement: Statement): Statement[] {
  const { code } = statement;
  const head = WITH.exec(code);
  if (!head) return [statement];
  const part = (from: number, to: number): Statement => ({
    start: statement.start + from,
    end: statement.start + to,
    code: code.slice(from, to),
    comments: [],
  });
  const parts: Statement[] = [];
  let at = head[0].length;
  for (;;) {
    const query = WITH_QUERY.exec(code.slice(at));
    const open = query ? at + query[0].length - 1 : -1;
    const close = query ? closingParen(code, open) : -1;
    if (close < 0) return [statement];
    parts.push(part(open + 1, close));
    at = close + 1;
    at += SEARCH_OR_CYCLE.exec(code.slice(at))?.[0].length ?? 0;
    const comma = /^\s*,/.exec(code.slice(at));
    if (!comma) break;
    at += comma[0].length;
  }
  parts.push(part(at, code.length));
  return parts.filter((p) => MODIFIES_ROWS.test(p.code));
}

/** `INSERT INTO t`, `MERGE INTO t`, `COPY t FROM`: a statement that may add rows to the table it names. */
const ADDS_ROWS = new RegExp(
  String.raw`^\s*(?:INSERT\s+INTO\s+(${IDENT})|MERGE\s+INTO\s+(?:ONLY\s+)?(${IDENT})|COPY\s+(${IDENT})(?:\s*\([^)]*\))?\s+FROM\b)`,
  "i",
);

/**
 * The tables (canonical names) a statement may add rows to: an INSERT's, a MERGE's or a `COPY ... FROM`'s, a
 * WITH's queries' included. A DO block's commands are statements of their own here (do-blocks.ts); rows a
 * function or a trigger writes, or SQL a block builds at run time, are not read.
 */
export function tablesGivenRows(statement: Statement): string[] {
  return statementParts(statement).flatMap((part) => {
    const match = ADDS_ROWS.exec(part.code);
    const name = match && (match[1] ?? match[2] ?? match[3]);
    return name ? [canonicalName(name)] : [];
  });
}

/** The statement of `statement` (statementParts) that `offset` in the file is in; itself when none is. */
export function statementPartAt(statement: Statement, offset: number): Statement {
  return statementParts(statement).find((p) => offset >= p.start && offset < p.end) ?? statement;
}

/** Whether a statement has `keyword` outside parentheses and quotes: an UPDATE's or DELETE's own WHERE,
 *  not one of a subquery. */
export function hasTopLevelKeyword(statement: Statement, keyword: string): boolean {
  let depth = 0;
  let quote: string | undefined;
  let top = "";
  for (const c of statement.code) {
    if (quote) {
      if (c === quote) quote = undefined;
      top += " ";
    } else if (c === "'" || c === '"') {
      quote = c;
      top += " ";
    } else if (c === "(" || c === ")") {
      depth += c === "(" ? 1 : -1;
      top += " ";
    } else top += depth === 0 ? c : " ";
  }
  return new RegExp(String.raw`\b${keyword}\b`, "i").test(top);
}

/** Blanks `statements` out of `sql` character for character (line breaks kept), so offsets stay the file's. */
export function withoutStatements(sql: string, statements: readonly Statement[]): string {
  let out = sql;
  for (const { start, end } of statements)
    out = out.slice(0, start) + blank(sql.slice(start, end)) + out.slice(end);
  return out;
}

/** One spelling per table: quoted names as written, unquoted ones folded to lower case, `public.` dropped. */
export function canonicalName(name: string): string {
  const parts = name.match(/"(?:[^"]|"")+"|[^.\s]+/g) ?? [name];
  const folded = parts.map((part) =>
    part.startsWith('"') ? part.slice(1, -1).replace(/""/g, '"') : part.toLowerCase(),
  );
  if (folded.length === 2 && folded[0] === "public") folded.shift();
  return folded.join(".");
}

/** The 1-based line of an offset. */
export function lineOf(sql: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < sql.length; i++) if (sql[i] === "\n") line += 1;
  return line;
}

/** The 1-based line and column (in characters, as squawk counts them) of an offset: offsetOf's inverse. */
export function positionOf(sql: string, offset: number): { line: number; column: number } {
  const lineStart = sql.lastIndexOf("\n", offset - 1) + 1;
  return { line: lineOf(sql, offset), column: Array.from(sql.slice(lineStart, offset)).length + 1 };
}

/** The offset of a 1-based line and column (columns in characters). */
export function offsetOf(sql: string, line: number, column: number): number {
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const next = sql.indexOf("\n", offset);
    if (next < 0) return sql.length;
    offset = next + 1;
  }
  const lineEnd = sql.indexOf("\n", offset);
  const text = sql.slice(offset, lineEnd < 0 ? undefined : lineEnd);
  const units = Array.from(text)
    .slice(0, Math.max(0, column - 1))
    .join("").length;
  return offset + units;
}
