// A migration's checksum: what the ledger records when it is applied, and what every later release (plan,
// apply, status, verify, revert, the Pulumi diff) compares with its file.
//
// Exemption comments (`-- neonhub-db:allow <rule> because <reason>`, core/lint/exemptions.ts) are left out of
// it. They speak only to the safety lint, which reads the migrations still pending, and PostgreSQL reads a
// comment as whitespace. A migration that dev applied (where lint findings are warnings) and prod's lint
// refuses must take an exemption to reach prod; counted as a change, that edit would make dev refuse the file
// prod needs. So adding, removing or rewording an exemption after apply is no change; any other edit is one,
// a comment that is not an exemption included.
//
// Ledger rows recorded before exemptions were left out hold the sha256 of the file's bytes; that stays
// accepted (matchesRecorded). For a file without exemption comments the two are the same value.
import { sha256 } from "../checksum";
import { isExemptionComment } from "../lint/exemptions";
import { splitStatements } from "../lint/statements";
import { holdsSectionMarker } from "./section-markers";

export interface MigrationChecksums {
  /** sha256 of the file without its exemption comments: the migration's checksum. */
  checksum: string;
  /** sha256 of the file's bytes. */
  bytesChecksum: string;
}

/** Both checksums of a migration file, from its bytes and their UTF-8 text. */
export function migrationChecksums(bytes: Uint8Array, sql: string): MigrationChecksums {
  const bytesChecksum = sha256(bytes);
  const stripped = withoutExemptionComments(sql);
  return { checksum: stripped === sql ? bytesChecksum : sha256(stripped), bytesChecksum };
}

/**
 * Whether a checksum the ledger recorded is this file's: its checksum, or the sha256 of its bytes (a row
 * recorded by an earlier release of neonhub-db). `bytesChecksum` may be absent where it is the checksum.
 */
export function matchesRecorded(
  file: { checksum: string; bytesChecksum?: string },
  recorded: string | undefined,
): boolean {
  return recorded !== undefined && (recorded === file.checksum || recorded === file.bytesChecksum);
}

interface Span {
  start: number;
  end: number;
}

/**
 * The SQL with its exemption comments taken out, in a way that leaves the SQL PostgreSQL reads as it was: a
 * comment on a line of its own goes with its line (and one line break), so that adding one above a statement
 * and taking it out again give the same text; one after code goes with the blanks before it, and becomes one
 * space where it alone separated two tokens (`a/*...*\/b`). Only comments as PostgreSQL's lexer sees them
 * (core/lint/statements.ts): the same words in a string or a function's dollar-quoted body are the function's,
 * and stay. A comment that is also a section marker stays too: node-pg-migrate splits the file by it.
 */
export function withoutExemptionComments(sql: string): string {
  let out = "";
  let kept = 0;
  for (const comment of exemptionComments(sql)) {
    const cut = ownLine(sql, comment, kept) ?? inline(sql, comment, kept);
    out += sql.slice(kept, cut.start);
    // PostgreSQL reads a comment as whitespace: where it alone separated two tokens, a space does.
    if (cut.inline && /\S/.test(out.at(-1) ?? " ") && /\S/.test(sql[cut.end] ?? " ")) out += " ";
    kept = cut.end;
  }
  return out + sql.slice(kept);
}

/** Where each exemption comment is in the file, in order. */
function exemptionComments(sql: string): Span[] {
  const spans: Span[] = [];
  for (const statement of splitStatements(sql)) {
    // The statement's code has its comments blanked: a comment starts where the file has `-` or `/` and the
    // code a blank. Searching from the last one found keeps the order; a string with the same words is code.
    let from = statement.start;
    for (const comment of statement.comments) {
      let at = sql.indexOf(comment, from);
      while (at >= 0 && statement.code[at - statement.start] === sql[at]) at = sql.indexOf(comment, at + 1);
      if (at < 0) break;
      from = at + comment.length;
      if (!isExemptionComment(comment) || holdsSectionMarker(comment)) continue;
      // A `--` comment runs to the line break; a CRLF file's `\r` is the line's, not the comment's.
      spans.push({ start: at, end: comment.endsWith("\r") ? from - 1 : from });
    }
  }
  return spans;
}

/** The comment with its line, when nothing but blanks shares the line: from the line break before it. */
function ownLine(sql: string, comment: Span, kept: number): (Span & { inline: false }) | undefined {
  const lineStart = sql.lastIndexOf("\n", comment.start - 1) + 1;
  const next = sql.indexOf("\n", comment.end);
  const lineEnd = next < 0 ? sql.length : next;
  const alone =
    /^[ \t]*$/.test(sql.slice(lineStart, comment.start)) &&
    /^[ \t\r]*$/.test(sql.slice(comment.end, lineEnd));
  if (!alone || lineStart < kept) return undefined;
  // With the line break after it where there is none before it (the first line) or an earlier cut took it.
  if (lineStart === 0 || lineStart - 1 < kept) {
    return { start: lineStart, end: next < 0 ? sql.length : next + 1, inline: false };
  }
  return { start: lineStart - 1, end: lineEnd, inline: false };
}

/** The comment and the blanks before it on its line (none that an earlier cut took). */
function inline(sql: string, comment: Span, kept: number): Span & { inline: true } {
  let start = comment.start;
  while (start > kept && (sql[start - 1] === " " || sql[start - 1] === "\t")) start -= 1;
  return { start, end: comment.end, inline: true };
}
