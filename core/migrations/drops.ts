// What a migration's Down section destroys, for revert's preview: the statements that remove objects or data,
// as written. Read statement by statement (comments, quotes and dollar quotes respected), so that a DELETE in
// the body of a function the Down section re-creates is not listed (it does not run), while the statements of
// a DO block are (they do).
import { statementsRun } from "../lint/do-blocks";
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

/** What a DO block runs that this list cannot read (do-blocks.ts), said in its place. */
const UNREAD = {
  dynamic: "EXECUTE in a DO block: SQL built when it runs, which this list cannot read",
  language: "a DO block this list cannot read (not PL/pgSQL in dollar quotes)",
} as const;

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
    ...run.unread.map((u) => ({ at: u.offset, lines: [UNREAD[u.why]] })),
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
