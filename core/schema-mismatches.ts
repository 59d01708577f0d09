// The lines that tell an operator how a live schema differs from what the migrations build (baseline's and
// adopt's proof). A table renamed by hand is the release's table missing and another table there instead:
// both are named, first, each with the columns, constraints, policies and triggers it carries counted on its
// line rather than listed, so that the two read side by side as the rename they are.
import { runAgain, type CommandPrinter } from "./command-to-run";
import { ReleaseError } from "./errors";
import type { PlanProblem } from "./plan-problems";
import { shownObjectKey, shownSql } from "./shown-names";
import { repairStatements } from "./snapshot-repair";
import type { SchemaSnapshot, SnapshotDiff } from "./snapshot";

/** One difference the proof found, as its line says it, and the statement that removes it where one does. */
export interface SchemaMismatch {
  /** `missing`/`different`: the migrations build it and the live schema lacks it; `extra`: beside a missing table, what may be it renamed. */
  kind: "missing" | "different" | "extra";
  /** "missing: index public.Message_authorId_idx". */
  line: string;
  /** The statement that brings the live object in line, from the definition the migrations' scratch build has. */
  repair?: string;
}

/** How many lines the error shows; the rest are counted. */
const SHOWN_AT_MOST = 25;

/** The plural of each kind of object a table carries, for the count on the table's line. */
const ON_A_TABLE: Readonly<Record<string, string>> = {
  column: "columns",
  constraint: "constraints",
  policy: "policies",
  trigger: "triggers",
};

const kindOf = (key: string) => key.slice(0, key.indexOf(" "));
const nameOf = (key: string) => key.slice(key.indexOf(" ") + 1);

/**
 * The mismatches, or none when the live schema has everything the migrations build, as they build them.
 * Objects only the live schema has do not make a mismatch (they are kept, not managed); beside a missing
 * table, they are what shows a rename.
 */
export function schemaMismatches(
  diff: SnapshotDiff,
  expected: SchemaSnapshot,
  live: SchemaSnapshot,
): SchemaMismatch[] {
  if (diff.removed.length === 0 && diff.changed.length === 0) return [];
  const missing = byTable(diff.removed);
  const extra = byTable(diff.added);
  // What one statement restores, from the scratch build's definition (verify's repairs, for the release's side only).
  const repairs = repairStatements(expected, live, {
    added: [],
    removed: diff.removed,
    changed: diff.changed,
  });
  const withRepair = (mismatch: SchemaMismatch, key: string): SchemaMismatch =>
    repairs[key] ? { ...mismatch, repair: repairs[key] } : mismatch;
  return [
    ...missing.tables.map((t): SchemaMismatch => ({ kind: "missing", line: `missing: ${t}` })),
    ...extra.tables.map(
      (t): SchemaMismatch => ({ kind: "extra", line: `extra: ${t} (the migrations do not build it)` }),
    ),
    ...missing.others.map((k) => withRepair({ kind: "missing", line: `missing: ${shownObjectKey(k)}` }, k)),
    ...diff.changed.map((k) =>
      withRepair(
        {
          kind: "different",
          line: `different: ${shownObjectKey(k)} (live: ${signatureText(k, live[k]!)}; migrations: ${signatureText(k, expected[k]!)})`,
        },
        k,
      ),
    ),
    ...extra.others.map((k): SchemaMismatch => ({ kind: "extra", line: `extra: ${shownObjectKey(k)}` })),
  ];
}

/**
 * The command whose proof refused the schema, to run again once it is in line (runAgain): as the operator ran
 * it (`asRun`, ReleaseOptions.commandAsRun: the admin's login it ran with, which a printer may name otherwise);
 * else its arguments as the CLI takes them (`["baseline", "--to", "<migration>"]`) printed by `print`
 * (ReleaseOptions.printCommand); else named in words.
 */
export interface ProofCommand {
  args: readonly [command: "baseline" | "adopt", ...options: string[]];
  print?: CommandPrinter;
  asRun?: string;
}

/**
 * The refusal of baseline's or adopt's proof: code `schema-drift` (the live schema is not what the migrations
 * build, as verify's drift is not what the release recorded), each difference as a line and a problem, the
 * statements that bring the live schema in line where the migrations' definition gives one, and `command` to
 * run again after.
 */
export function schemaMismatchError(
  title: string,
  mismatches: readonly SchemaMismatch[],
  otherwise: string,
  command: ProofCommand,
): ReleaseError {
  const shown = mismatches.slice(0, SHOWN_AT_MOST).map((m) => `- ${m.line}`);
  if (mismatches.length > shown.length) shown.push(`- ... and ${mismatches.length - shown.length} more`);
  const repairs = mismatches.flatMap((m) => (m.repair ? [shownSql(m.repair)] : []));
  const run = repairs.length > 0 ? `Run, as the owner of the objects: ${repairs.join("; ")}. ` : "";
  const problems = mismatches
    .filter((m) => m.kind !== "extra")
    .map(
      (m): PlanProblem => ({
        section: "drift",
        kind: "schema-drift",
        message: m.line,
        fix: m.repair ? `Run, as the owner of the objects: ${shownSql(m.repair)}` : otherwise,
      }),
    );
  // An extra object is shown for what it may explain (a missing one renamed), but among the differences it
  // reads as one more to remove, and dropping it (a column of the app's own, with its data) is never needed:
  // the proof keeps such objects.
  const extrasKept = mismatches.some((m) => m.kind === "extra")
    ? "\nThe extra objects are not what stops it: they are kept as they are, unmanaged by the release (shown beside what is missing, which one of them may be, renamed)."
    : "";
  return new ReleaseError(
    "schema-drift",
    `${title}:\n${shown.join("\n")}${extrasKept}`,
    `${run}${repairs.length < problems.length ? `${otherwise} ` : ""}Then ${runAgain(command.print, command.args, `run ${command.args[0]} again`, command.asRun)}. Nothing was written.`,
    { problems },
  );
}

/**
 * A snapshot signature as a person reads it: a column's `text notnull=false default=` as `text` (with `NOT
 * NULL` and `DEFAULT ...` only when it has them), an index's definition without its `valid=true`.
 */
function signatureText(key: string, signature: string): string {
  const kind = kindOf(key);
  if (kind === "column") {
    const column = /^(.*) notnull=(true|false) default=(.*)$/s.exec(signature);
    if (!column) return signature;
    const [, type, notNull, value] = column;
    return `${type}${notNull === "true" ? " NOT NULL" : ""}${value ? ` DEFAULT ${value}` : ""}`;
  }
  if (kind === "index") return signature.replace(/ valid=true$/, "").replace(/ valid=false$/, " (INVALID)");
  return signature;
}

/** Table lines, each with what it carries counted ("table public.Brand, with 8 columns, ..."), and the rest. */
function byTable(keys: readonly string[]): { tables: string[]; others: string[] } {
  const tables = keys.filter((k) => kindOf(k) === "table").map(nameOf);
  const carried = new Map(tables.map((t) => [t, new Map<string, number>()]));
  const others: string[] = [];
  for (const key of keys) {
    const kind = kindOf(key);
    if (kind === "table") continue;
    const name = nameOf(key);
    const table = kind in ON_A_TABLE ? tables.find((t) => name.startsWith(`${t}.`)) : undefined;
    if (table === undefined) {
      others.push(key);
      continue;
    }
    const counts = carried.get(table)!;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return {
    tables: tables.map((t) => {
      const counts = [...carried.get(t)!].map(([kind, n]) => `${n} ${n === 1 ? kind : ON_A_TABLE[kind]}`);
      return `${shownObjectKey(`table ${t}`)}${counts.length > 0 ? `, with ${counts.join(", ")}` : ""}`;
    }),
    others,
  };
}
