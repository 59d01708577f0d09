// squawk's syntax errors, said the way PostgreSQL would say them, for a statement the server's parser could
// not be asked about (server-parse.ts; when it was, its own message is used). Such a statement is kept as one
// apply would stop at, whatever its table holds: it is not a finding to weigh or to exempt. squawk's own text
// ("expected NULL_KW") is kept as the detail.
import { SECRET_MASK } from "../dsn";
import type { SquawkFinding } from "./squawk";
import { lineOf, offsetOf } from "./statements";

export interface StatementSyntaxError {
  /** 1-based line of the token the error is at (squawk's position when the text ends there). */
  line: number;
  /** In PostgreSQL's words: `syntax error at or near "NUL"`, or `syntax error at end of input`. */
  message: string;
  /** squawk's parser's text, e.g. "expected NULL_KW". */
  detail: string;
}

const TOKEN = /^(?:"(?:[^"]|"")*"?|'(?:[^']|'')*'?|[\w$]+|\S)/;

/** One squawk syntax error in `text` (the file as squawk read it), in PostgreSQL's words. */
export function describeSyntaxError(text: string, finding: SquawkFinding): StatementSyntaxError {
  const at = offsetOf(text, finding.line, finding.column);
  // squawk points just after the last token it could read; PostgreSQL quotes the next one.
  const start = at + (/^\s*/.exec(text.slice(at))?.[0].length ?? 0);
  const token = TOKEN.exec(text.slice(start))?.[0];
  if (token === undefined) {
    return { line: finding.line, message: "syntax error at end of input", detail: finding.message };
  }
  return {
    line: lineOf(text, start),
    message: `syntax error at or near "${token}"`,
    detail: finding.message,
  };
}

/** A syntax error's `at or near "<token>"` ending whose token is a string literal: plain, escaped or dollar-quoted. */
const AT_LITERAL = /( at or near ")([eE]?'|\$[A-Za-z_0-9]*\$)[\s\S]*"$/;

/**
 * A syntax error's message with the text of the string literal it is at masked (`at or near "'****'"`): the
 * literal may be the password the statement sets (`ALTER ROLE r SET password 'x'` is refused at the literal,
 * an unterminated `PASSWORD 'x` quotes it to the end of the file), which redactSecrets cannot tell without the
 * PASSWORD keyword before it. The finding's line still says where it is.
 */
export function withLiteralMasked(message: string): string {
  return message.replace(AT_LITERAL, (_whole, at: string, open: string) => {
    const close = open.endsWith("'") ? "'" : open;
    return `${at}${open}${SECRET_MASK}${close}"`;
  });
}
