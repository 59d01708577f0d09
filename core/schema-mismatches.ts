// The lines that tell an operator how a live schema differs from what the migrations build (baseline's and
// adopt's proof). A table renamed by hand is the release's table missing and another table there instead:
// both are named, first, each with the columns, constraints, policies and triggers it carries counted on its
// line rather than listed, so that the two read side by side as the rename they are.
import type { SchemaSnapshot, SnapshotDiff } from "./snapshot";

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
 * The mismatches as "- ..." lines, or "" when the live schema has everything the migrations build, as they
 * build it. Objects only the live schema has do not make a mismatch (they are kept, not managed); beside
 * one, they are what shows a rename.
 */
export function schemaMismatchLines(
  diff: SnapshotDiff,
  expected: SchemaSnapshot,
  live: SchemaSnapshot,
): string {
  if (diff.removed.length === 0 && diff.changed.length === 0) return "";
  const missing = byTable(diff.removed);
  const extra = byTable(diff.added);
  const lines = [
    ...missing.tables.map((t) => `missing: ${t}`),
    ...extra.tables.map((t) => `extra: ${t} (the migrations do not build it)`),
    ...missing.others.map((k) => `missing: ${k}`),
    ...diff.changed.map((k) => `different: ${k} (live: ${live[k]}; migrations: ${expected[k]})`),
    ...extra.others.map((k) => `extra: ${k}`),
  ];
  const shown = lines.slice(0, SHOWN_AT_MOST).map((line) => `- ${line}`);
  if (lines.length > shown.length) shown.push(`- ... and ${lines.length - shown.length} more`);
  return shown.join("\n");
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
      return `table ${t}${counts.length > 0 ? `, with ${counts.join(", ")}` : ""}`;
    }),
    others,
  };
}
