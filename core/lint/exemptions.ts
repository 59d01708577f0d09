// A migration may accept a finding on purpose, with a reason a reviewer can judge, in a comment of the
// statement it concerns (on a line of its own before the statement, or inside it):
//
//   -- neonhub-db:allow <squawk rule> because <reason>
//
// The reason is required: an exemption without one is itself an error.

export interface Exemption {
  rule: string;
  /** null when the comment gives none (an error). */
  reason: string | null;
  comment: string;
}

const EXEMPTION = /neonhub-db:allow\s+([a-z0-9-]+)(?:\s+because\s+(.*\S))?/i;

export function parseExemptions(comments: readonly string[]): Exemption[] {
  const found: Exemption[] = [];
  for (const comment of comments) {
    const match = EXEMPTION.exec(comment);
    if (!match) continue;
    const reason = match[2]?.replace(/\*\/$/, "").trim();
    found.push({ rule: match[1]!.toLowerCase(), reason: reason ? reason : null, comment: comment.trim() });
  }
  return found;
}

export const EXEMPTION_SYNTAX = "-- neonhub-db:allow <rule> because <reason>";
