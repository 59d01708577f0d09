// Splits a migration's SQL into statements (respecting comments, quotes and dollar quotes) and reads which
// table each statement works on, so that a squawk finding can be weighed with that table's data.

export interface Statement {
  /** Offsets in the file: from just after the previous statement (its leading comments included) to the `;`. */
  start: number;
  end: number;
  /** The statement with its comments blanked out. */
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
      code += " ";
      i = stop;
    } else if (rest === "/*") {
      const end = sql.indexOf("*/", i + 2);
      const stop = end < 0 ? sql.length : end + 2;
      comments.push(sql.slice(i, stop));
      code += " ";
      i = stop;
    } else if (sql[i] === "'" || sql[i] === '"') {
      const quote = sql[i]!;
      let j = i + 1;
      while (j < sql.length && !(sql[j] === quote && sql[j + 1] !== quote)) j += sql[j] === quote ? 2 : 1;
      code += sql.slice(i, j + 1);
      i = j + 1;
    } else if (sql[i] === "$") {
      const tag = /^\$[A-Za-z_]*\$/.exec(sql.slice(i));
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

/** Whether SQL text holds a statement at all, rather than only whitespace, comments and empty `;`. */
export function holdsStatement(sql: string): boolean {
  return splitStatements(sql).some((statement) => statement.code.replace(/;/g, "").trim() !== "");
}

/** A table name as SQL writes it: quoted or not, with an optional schema. */
export const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*))?`;

export interface StatementTarget {
  /** The table as written, for to_regclass(); for DROP INDEX, the index. */
  name: string;
  kind: "table" | "index";
}

const TARGETS: { pattern: RegExp; kind: StatementTarget["kind"] }[] = [
  {
    pattern: new RegExp(String.raw`^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(${IDENT})`, "i"),
    kind: "table",
  },
  {
    pattern: new RegExp(
      String.raw`^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+NOT\s+EXISTS\s+)?(?:(?!ON\s)${IDENT}\s+)?ON\s+(?:ONLY\s+)?(${IDENT})`,
      "i",
    ),
    kind: "table",
  },
  { pattern: new RegExp(String.raw`^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(${IDENT})`, "i"), kind: "table" },
  { pattern: new RegExp(String.raw`^\s*TRUNCATE\s+(?:TABLE\s+)?(?:ONLY\s+)?(${IDENT})`, "i"), kind: "table" },
  {
    pattern: new RegExp(
      String.raw`^\s*DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(${IDENT})`,
      "i",
    ),
    kind: "index",
  },
];

/** The table (or, for DROP INDEX, the index) a statement changes, when it is one squawk weighs. */
export function statementTarget(statement: Statement): StatementTarget | undefined {
  for (const { pattern, kind } of TARGETS) {
    const match = pattern.exec(statement.code);
    if (match) return { name: match[1]!, kind };
  }
  return undefined;
}

const CREATE_TABLE = new RegExp(
  String.raw`^\s*CREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:(?:TEMP|TEMPORARY|UNLOGGED)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(${IDENT})`,
  "i",
);

/** The table a CREATE TABLE statement creates. */
export function createdTable(statement: Statement): string | undefined {
  return CREATE_TABLE.exec(statement.code)?.[1];
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
