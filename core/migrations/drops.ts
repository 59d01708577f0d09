// What a migration's Down section destroys, for revert's preview: the statements that remove objects or data,
// as written. Read statement by statement (comments, quotes and dollar quotes respected), so that a DELETE in
// the body of a function the Down section re-creates is not listed (it does not run), while the statements of
// a DO block, and of a function the section defines and calls, are (they do).
import { statementsRun, type UnreadBody } from "../lint/statements-run";
import { IDENT, splitStatements, topLevelParts } from "../lint/statements";
import { downSection, type MigrationFile } from "./files";

/** Statements that remove objects or rows, each matched where a statement starts. */
const DESTROYS = new RegExp(
  String.raw`^(?:DROP\s+(?:TABLE|MATERIALIZED\s+VIEW|TYPE|FUNCTION|POLICY|INDEX|EXTENSION|SCHEMA|VIEW|TRIGGER|DOMAIN|SEQUENCE)|TRUNCATE|DELETE\s+FROM)\b`,
  "i",
);
const ALTER_TABLE = new RegExp(
  String.raw`^ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?(${IDENT})\s+`,
  "i",
);
/** An ALTER TABLE action that drops a column: `DROP [COLUMN] [IF EXISTS] name` (not DROP CONSTRAINT). */
const DROP_COLUMN = /^DROP\s+(?!CONSTRAINT\b)/i;

/** What a DO block or a function the section calls runs that this list cannot read (statements-run.ts), said
 *  in its place. */
function unreadWords({ why, function: called }: UnreadBody): string {
  if (why === "dynamic")
    return `EXECUTE in ${called ? `function ${called}, which the section calls` : "a DO block"}: SQL built when it runs, which this list cannot read`;
  return called
    ? `function ${called}, which the section calls, whose body this list cannot read (not PL/pgSQL or SQL in dollar quotes)`
    : "a DO block this list cannot read (not PL/pgSQL in dollar quotes)";
}

const oneLine = (text: string) => text.replace(/\s+/g, " ").trim();

/** What reverting `file` removes: its Down section's DROP, TRUNCATE and DELETE statements and dropped columns,
 *  and where a DO block runs what cannot be read. */
export function dropsOf(file: MigrationFile): string[] {
  return destroyingStatements(downSection(file.sql));
}

export function destroyingStatements(sql: string): string[] {
  const run = statementsRun(splitStatements(sql));
  return [
    ...run.statements.map((s) => ({ at: s.start, lines: destroying(oneLine(s.code.replace(/;\s*$/, ""))) })),
    ...run.unread.map((u) => ({ at: u.offset, lines: [unreadWords(u)] })),
  ]
    .sort((a, b) => a.at - b.at)
    .flatMap(({ lines }) => lines);
}

function destroying(statement: string): string[] {
  if (DESTROYS.test(statement)) return [statement];
  const alter = ALTER_TABLE.exec(statement);
  if (!alter) return [];
  return topLevelParts(statement.slice(alter[0].length))
    .map((part) => part.text)
    .filter((action) => DROP_COLUMN.test(action))
    .map((action) => `ALTER TABLE ${alter[1]} ${action.replace(/^DROP\s+(?:COLUMN\s+)?/i, "DROP COLUMN ")}`);
}
