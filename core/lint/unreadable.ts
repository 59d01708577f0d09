// squawk's reading of the sections, with each statement its parser cannot read put to the server's parser
// (server-parse.ts). squawk checks none of its rules in a file once its parser fails anywhere in it, so a
// statement the server parses is blanked, line for line, and squawk reads the file again: the statements
// around it are checked as usual, and only the blanked one goes unchecked (the lint says so).
import type { ClientBase } from "pg";
import { SYNTAX_ERROR_RULE } from "./rules";
import { parseOnServer, type ServerParse } from "./server-parse";
import { runSquawk, type SquawkFinding } from "./squawk";
import { blank, offsetOf, statementAt, type Statement } from "./statements";

/** A section for squawk: its id (squawk's file name), its text and its statements. */
export interface SquawkSection {
  id: string;
  text: string;
  statements: readonly Statement[];
}

/** A statement squawk's parser cannot read, and what the server's parser says of it. */
export interface UnreadStatement {
  /** The id of the section it is in. */
  source: string;
  statement: Statement;
  /** squawk's first syntax error in it: where its parser lost the statement. */
  squawk: SquawkFinding;
  server: ServerParse;
}

export interface SquawkReading {
  /** squawk's findings on the texts it read last. */
  findings: SquawkFinding[];
  /** The text squawk read last, by section id: the section with the statements the server parses blanked,
   *  unit for unit, so that an offset in it is the same offset in the section. */
  texts: ReadonlyMap<string, string>;
  /** Every statement squawk's parser could not read, by statement. */
  unreadable: ReadonlyMap<Statement, UnreadStatement>;
}

/**
 * Runs squawk over the sections and asks the server's parser about each statement squawk's parser cannot read,
 * once each: no round trip when squawk reads them all. squawk runs again only when a statement was blanked.
 */
export async function readWithServerParser(
  client: ClientBase,
  sections: readonly SquawkSection[],
  options: { pgVersion?: string },
): Promise<SquawkReading> {
  const unreadable = new Map<Statement, UnreadStatement>();
  for (;;) {
    const texts = new Map(sections.map((section) => [section.id, withoutParsed(section, unreadable)]));
    const findings = await runSquawk(
      sections.map(({ id }) => ({ id, text: texts.get(id)! })),
      options,
    );
    let blanked = false;
    for (const finding of findings) {
      if (finding.rule !== SYNTAX_ERROR_RULE) continue;
      const section = sections.find((s) => s.id === finding.source);
      if (!section) continue;
      const statement = statementAt(
        section.statements,
        offsetOf(texts.get(section.id)!, finding.line, finding.column),
      );
      if (!statement || unreadable.has(statement)) continue;
      const server = await parseOnServer(client, statement);
      unreadable.set(statement, { source: section.id, statement, squawk: finding, server });
      if (server.verdict === "parses") blanked = true;
    }
    // Each pass blanks at least one more statement, so this ends.
    if (!blanked) return { findings, texts, unreadable };
  }
}

/** The section's text with each statement the server's parser reads blanked. */
function withoutParsed(section: SquawkSection, unreadable: ReadonlyMap<Statement, UnreadStatement>): string {
  let text = section.text;
  for (const statement of section.statements) {
    if (unreadable.get(statement)?.server.verdict !== "parses") continue;
    text =
      text.slice(0, statement.start) +
      blank(text.slice(statement.start, statement.end)) +
      text.slice(statement.end);
  }
  return text;
}
