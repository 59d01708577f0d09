// A migration that adds a constraint (CHECK, NOT NULL, UNIQUE, FOREIGN KEY) fails when rows the database
// already holds break it (SQLSTATE class 23, raised by an ALTER TABLE or CREATE INDEX rather than by a row the
// migration writes). The file is then not at fault and must not be edited to get past it: it may be applied on
// other databases already, whose ledgers hold its checksum. The fix is the rows: this names them, with a query
// that finds them where the error's fields (table, constraint, column, detail) and the statement say enough.
import { quoteIdentifier } from "../identifiers";
import { IDENT, closingParen, topLevelParts } from "../lint/statements";

/** The fields of a server error that say which rows break which constraint (pg's DatabaseError). */
export interface IntegrityError {
  code?: string;
  schema?: string;
  table?: string;
  column?: string;
  constraint?: string;
  detail?: string;
}

export interface ViolatedRows {
  /** e.g. `rows of "public"."ApiKey" violate check constraint "ApiKey_tokenHash_check"`. */
  what: string;
  /** A query that lists them; undefined when the error and the statement do not say enough to write one. */
  query?: string;
  /** What makes them pass. */
  repair: string;
}

const CORRECT_OR_REMOVE = "correct or remove those rows";

/** Statements that write rows: their integrity errors concern the rows they write, which the file chose. */
const WRITES_ROWS = /^\s*(?:INSERT|UPDATE|DELETE|MERGE|COPY|SELECT|WITH|VALUES|CALL|DO)\b/i;

/**
 * The existing rows that made `statement` (its code, comments blanked) fail, or undefined when the failure is not
 * an integrity violation on existing data: another error, or one raised by a row the statement writes.
 */
export function violatedRows(error: IntegrityError, statement: string | undefined): ViolatedRows | undefined {
  if (!error.code?.startsWith("23") || statement === undefined || WRITES_ROWS.test(statement))
    return undefined;
  if (!error.table) return undefined;
  const table = `${error.schema ? `${quoteIdentifier(error.schema)}.` : ""}${quoteIdentifier(error.table)}`;
  const constraint = error.constraint ? ` "${error.constraint}"` : "";
  switch (error.code) {
    case "23514": {
      const expression = checkExpression(statement, error.constraint);
      return {
        what: `rows of ${table} violate check constraint${constraint}`,
        query: expression && `SELECT * FROM ${table} WHERE NOT (${expression});`,
        repair: CORRECT_OR_REMOVE,
      };
    }
    case "23502":
      return {
        what: `rows of ${table} hold NULL in ${error.column ? quoteIdentifier(error.column) : "the column"}, which the migration makes NOT NULL`,
        query: error.column && `SELECT * FROM ${table} WHERE ${quoteIdentifier(error.column)} IS NULL;`,
        repair: "set a value in those rows, or remove them",
      };
    case "23505": {
      const columns = detailKey(error.detail);
      return {
        what: `rows of ${table} share a value that unique index${constraint} allows once`,
        query:
          columns && `SELECT ${columns}, count(*) FROM ${table} GROUP BY ${columns} HAVING count(*) > 1;`,
        repair: "make the values of those rows distinct, or remove the extra rows",
      };
    }
    case "23503":
      return {
        what: `rows of ${table} refer to rows that do not exist, which foreign key${constraint} refuses`,
        query: missingReferencesQuery(table, statement),
        repair: "add the rows they refer to, or correct or remove those rows",
      };
    default:
      return { what: `rows of ${table} violate constraint${constraint}`, repair: CORRECT_OR_REMOVE };
  }
}

/** `Key (a, b)=(1, 2) is duplicated.` -> `a, b`: the key's columns, as the server writes them. */
function detailKey(detail: string | undefined): string | undefined {
  return /^Key \((.+?)\)=\(/.exec(detail ?? "")?.[1];
}

/** The text of the parenthesis opening at `open`, without it; undefined when it does not close. */
function parenthesized(text: string, open: number): string | undefined {
  const close = closingParen(text, open);
  return close < 0 ? undefined : text.slice(open + 1, close).trim();
}

/** The CHECK's expression in the statement: the one named `constraint`, else the statement's only CHECK. */
function checkExpression(statement: string, constraint: string | undefined): string | undefined {
  const checks = [
    ...statement.matchAll(new RegExp(String.raw`(?:\bCONSTRAINT\s+(${IDENT})\s+)?\bCHECK\s*\(`, "gi")),
  ];
  const unquote = (name: string) => name.replace(/^"(.*)"$/, "$1").replace(/""/g, '"');
  const named = checks.find(
    (m) => m[1] !== undefined && constraint !== undefined && unquote(m[1]) === constraint,
  );
  const check = named ?? (checks.length === 1 ? checks[0] : undefined);
  return check && parenthesized(statement, check.index + check[0].length - 1);
}

const FOREIGN_KEY = new RegExp(
  String.raw`\bFOREIGN\s+KEY\s*\(([^)]*)\)\s*REFERENCES\s+(${IDENT})\s*\(([^)]*)\)`,
  "i",
);

/** The rows whose key is set and found nowhere in the referenced table, when the statement names both column
 *  lists (`FOREIGN KEY (a) REFERENCES t (b)`). */
function missingReferencesQuery(table: string, statement: string): string | undefined {
  const key = FOREIGN_KEY.exec(statement);
  if (!key) return undefined;
  const columns = topLevelParts(key[1]!).map((p) => p.text);
  const referenced = topLevelParts(key[3]!).map((p) => p.text);
  if (columns.length === 0 || columns.length !== referenced.length) return undefined;
  const set = columns.map((c) => `c.${c} IS NOT NULL`).join(" AND ");
  const match = columns.map((c, i) => `p.${referenced[i]} = c.${c}`).join(" AND ");
  return `SELECT c.* FROM ${table} c WHERE ${set} AND NOT EXISTS (SELECT 1 FROM ${key[2]} p WHERE ${match});`;
}
