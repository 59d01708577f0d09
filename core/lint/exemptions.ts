// A migration may accept a finding on purpose, with a reason a reviewer can judge, in a comment of the
// statement it concerns (on a line of its own before the statement, or inside it):
//
//   -- neonhub-db:allow <squawk rule> because <reason>
//
// An exemption that cannot do what it says is reported, never skipped: one that names no rule, a rule the
// lint does not report (a misspelling), a rule no exemption may accept, or gives no reason is an error; one
// that matches no finding of its statement (placed before the wrong statement) is a warning.
import { closestName } from "../closest-name";
import { EXEMPTABLE_RULES, TRANSACTION_CONTROL_RULE, UNCHECKED_RULES, UNEXEMPTABLE_RULES } from "./rules";

export interface Exemption {
  /** The rule it names, lower case; null when it names none (an error). */
  rule: string | null;
  /** null when the comment gives none (an error). */
  reason: string | null;
  comment: string;
}

export const EXEMPTION_SYNTAX = "-- neonhub-db:allow <rule> because <reason>";

// `neonhub-db:allow` as a word of its own (not `neonhub-db:allowedCidrs`), then the rest of the comment.
const EXEMPTION = /neonhub-db:allow(?![\w-])(.*)/is;

/**
 * Whether a comment is an exemption, well formed or not: what parseExemptions reads. Such a comment is left out
 * of a migration's checksum (core/migrations/checksums.ts), so that adding one to an applied migration is no change.
 */
export function isExemptionComment(comment: string): boolean {
  return EXEMPTION.test(comment);
}

export function parseExemptions(comments: readonly string[]): Exemption[] {
  const found: Exemption[] = [];
  for (const comment of comments) {
    if (!isExemptionComment(comment)) continue;
    const match = EXEMPTION.exec(comment)!;
    const rest = match[1]!.replace(/\*\/\s*$/, "").trim();
    // The first word is the rule, unless it is already `because` (no rule named).
    const named = /^(\S+)\s*([\s\S]*)$/.exec(rest);
    const first = named?.[1] ?? "";
    const rule = first === "" || /^because$/i.test(first) ? null : first.toLowerCase();
    const afterRule = rule === null ? rest : (named?.[2] ?? "");
    const reason = /^because\b\s*([\s\S]*)$/i.exec(afterRule)?.[1]?.trim();
    found.push({ rule, reason: reason ? reason : null, comment: comment.trim() });
  }
  return found;
}

export interface ExemptionProblem {
  level: "error" | "warning";
  problem: string;
  fix: string;
}

/**
 * What is wrong with an exemption, if anything. `reported`: the rules squawk reported on its statement, before
 * weighing (a finding left out on an empty or new table still matches its exemption, written for the
 * production data), or undefined when squawk could not read the file (a syntax error), so that whether it
 * matches is unknown; `known`: the rules the lint may report (EXEMPTABLE_RULES and any a newer squawk reported).
 */
export function exemptionProblem(
  exemption: Exemption,
  reported: ReadonlySet<string> | undefined,
  known: ReadonlySet<string>,
): ExemptionProblem | undefined {
  const { rule, reason } = exemption;
  if (rule === null) {
    return {
      level: "error",
      problem: "The exemption names no rule.",
      fix: `name the rule of the finding it accepts, as plan shows it: ${EXEMPTION_SYNTAX}`,
    };
  }
  if (UNEXEMPTABLE_RULES.includes(rule)) {
    return {
      level: "error",
      problem:
        rule === TRANSACTION_CONTROL_RULE
          ? `The exemption names ${rule}, which no exemption accepts: a migration that ends its own transaction is not applied all or nothing, whatever the comment says.`
          : `The exemption names ${rule}, which no exemption accepts: PostgreSQL cannot run such a statement whatever the comment says.`,
      fix: "correct the statement as its own finding says, and remove the comment",
    };
  }
  if (UNCHECKED_RULES.includes(rule)) {
    return {
      level: "warning",
      problem: `The exemption names ${rule}, a warning that blocks nothing: there is nothing for it to accept.`,
      fix: "remove the comment; to have the statement checked, write it in a form the lint reads, as the warning says",
    };
  }
  if (!known.has(rule)) {
    const near = closestName(rule, [...known]);
    return {
      level: "error",
      problem: `The exemption names "${rule}", which is not a rule the safety lint reports.`,
      fix: `name ${near ? `${near}, which it most likely means` : "the rule of the finding it accepts"}; the rules an exemption may name: ${[...known].sort().join(", ")}`,
    };
  }
  if (!reason) {
    return {
      level: "error",
      problem: `The exemption for ${rule} gives no reason.`,
      fix: `say why it is safe: ${EXEMPTION_SYNTAX}`,
    };
  }
  if (reported && !reported.has(rule)) {
    return {
      level: "warning",
      problem: `The exemption for ${rule} matches no finding: squawk reports no ${rule} on the statement after it.`,
      fix: "put it just before the statement the finding names (plan shows its file and line), or remove it",
    };
  }
  return undefined;
}

/** The rules an exemption may name in this lint: the pinned squawk's, and any a newer squawk reported. */
export function knownRules(reported: Iterable<string>): Set<string> {
  const known = new Set(EXEMPTABLE_RULES);
  for (const rule of reported) if (!UNEXEMPTABLE_RULES.includes(rule)) known.add(rule);
  return known;
}
