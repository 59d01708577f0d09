// squawk's syntax errors, said the way PostgreSQL would say them, for a statement the server's parser could
// not be asked about (server-parse.ts; when it was, its own message is used). Such a statement is kept as one
// apply would stop at, whatever its table holds: it is not a finding to weigh or to exempt. squawk's own text
// ("expected NULL_KW") is kept as the detail.
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
