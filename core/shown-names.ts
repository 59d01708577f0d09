// How report lines (verify's drift and repairs, plan's and apply's drift, the schema-drift error, health's
// tables and indexes) show the names of database objects. A name may hold a quote, a space, a dot or a
// newline: printed as it is, a newline splits the report's line, so that a reader, or a script reading the
// text, takes the rest for a line of its own, and a quote or a space blurs where the name ends; a mixed-case
// name or a keyword printed bare (public.Brand, public.order) is another object, or no SQL, when copied into
// a statement. Each name is shown as PostgreSQL's quote_ident writes it: bare when it is a plain lower-case
// identifier and no keyword quote_ident quotes, else double-quoted with its quotes doubled, and a quoted name
// holding a control character in PostgreSQL's Unicode escape form (U&"a\000Ab"), which keeps it on one line
// and is still SQL that names the same object. --json keeps the raw names.
import { QUOTED_KEYWORDS } from "./sql-keywords";

/** A name quote_ident leaves bare, unless it is a keyword: lower-case letters, digits and `_`, not starting with a digit. */
const PLAIN_NAME = /^[a-z_][a-z0-9_]*$/;

/** The kinds of a snapshot key whose path is `schema.table.name`, the rest after the table being the name. */
const TABLE_MEMBER_KINDS: ReadonlySet<string> = new Set(["column", "constraint", "trigger", "policy"]);

/** The kinds of a snapshot key whose path is `schema.name`. */
const SCHEMA_MEMBER_KINDS: ReadonlySet<string> = new Set(["table", "index", "type"]);

// Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: what would break or hide
// in a line of text.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** One name as a report shows it: as quote_ident writes it (shownSql then escapes a control character). */
export function shownName(name: string): string {
  return PLAIN_NAME.test(name) && !QUOTED_KEYWORDS.has(name)
    ? name
    : shownSql(`"${name.replace(/"/g, '""')}"`);
}

/** `schema.name` as a report shows it, each part by shownName. */
export function shownQualifiedName(schema: string, name: string): string {
  return `${shownName(schema)}.${shownName(name)}`;
}

/**
 * A snapshot key (`index public.Chunk_embedding_idx`, `grant TABLE public."Agent" TO neonhub_app`) as a
 * report line shows it, so that one object reads the same whatever kind of key names it. The kinds recorded
 * since format 2 (owners, grants, default privileges, storage, extension versions) already name their
 * objects as quote_ident writes them; the kinds of format 1 (tables, columns, indexes, ..., still recorded
 * so) join the raw names with dots, and are read back into schema, table and name, each shown by shownName
 * (`index public."Chunk_embedding_idx"`). A schema's and a table's name are taken to hold no dot (the
 * repairs read the keys the same way): the rest of the key is the last name.
 */
export function shownObjectKey(key: string): string {
  const space = key.indexOf(" ");
  if (space < 0) return shownSql(key);
  const kind = key.slice(0, space);
  const path = key.slice(space + 1);
  const dot = path.indexOf(".");
  if (kind === "extension") return `${kind} ${shownName(path)}`;
  if (dot < 0 || !(SCHEMA_MEMBER_KINDS.has(kind) || TABLE_MEMBER_KINDS.has(kind) || kind === "function")) {
    return shownSql(key);
  }
  const schema = shownName(path.slice(0, dot));
  const rest = path.slice(dot + 1);
  if (kind === "function") {
    // `name(arguments)`: the arguments are pg_get_function_identity_arguments', quoted as SQL already.
    const open = rest.indexOf("(");
    const name = open < 0 ? rest : rest.slice(0, open);
    return `${kind} ${schema}.${shownName(name)}${open < 0 ? "" : shownSql(rest.slice(open))}`;
  }
  if (TABLE_MEMBER_KINDS.has(kind)) {
    const second = rest.indexOf(".");
    if (second >= 0) {
      return `${kind} ${schema}.${shownName(rest.slice(0, second))}.${shownName(rest.slice(second + 1))}`;
    }
  }
  return `${kind} ${schema}.${shownName(rest)}`;
}

/**
 * SQL text (a repair statement, a key of format 2) as a report line shows it: each double-quoted name that
 * holds a control character written in PostgreSQL's Unicode escape form, the same name on one line. String
 * literals are left as they are (no repair writes a control character in one).
 */
export function shownSql(sql: string): string {
  if (!CONTROL.test(sql)) return sql;
  let shown = "";
  let i = 0;
  while (i < sql.length) {
    const quote = sql[i];
    if (quote !== '"' && quote !== "'") {
      shown += sql[i++];
      continue;
    }
    const end = quotedEnd(sql, i, quote);
    const quoted = sql.slice(i, end);
    shown += quote === '"' && CONTROL.test(quoted) ? unicodeEscaped(quoted) : quoted;
    i = end;
  }
  return shown;
}

/** The index just past the quoted text opening at `open` (its quote doubled inside), or the text's end. */
function quotedEnd(sql: string, open: number, quote: string): number {
  let i = open + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

/** `"a<newline>b"` as `U&"a\000Ab"`: backslashes doubled, each control character as \XXXX (or \+XXXXXX). */
function unicodeEscaped(quoted: string): string {
  let body = "";
  for (const char of quoted.slice(1, -1)) {
    const code = char.codePointAt(0)!;
    if (char === "\\") body += "\\\\";
    else if (CONTROL.test(char)) body += `\\${code.toString(16).toUpperCase().padStart(4, "0")}`;
    else body += char;
  }
  return `U&"${body}"`;
}
