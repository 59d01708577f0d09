// The objects a migration's up section creates, by name: what the pre-flight looks up in the catalog before
// the first migration runs. Read from the SQL text (comments and dollar-quoted bodies left out), so that it
// needs no database and no scratch copy: plan runs it with a read-only role.
import type { MigrationFile } from "../migrations/files";

export type CreatedObjectKind = "table" | "index" | "view" | "sequence" | "type" | "function" | "schema";

export interface CreatedObject {
  kind: CreatedObjectKind;
  /** The name as PostgreSQL stores it (quotes removed, unquoted names folded to lower case). */
  name: string;
  /** `schema` when the statement qualifies the name; otherwise the first schema of the search path. */
  schema?: string;
  /** The migration that creates it. */
  migration: string;
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const QUALIFIED = String.raw`(${IDENT})(?:\s*\.\s*(${IDENT}))?`;

// `IF NOT EXISTS` and `OR REPLACE` statements are idempotent: an existing object is no collision (the
// patterns below do not match `CREATE OR REPLACE`). Triggers and policies belong to a table: its collision
// is reported already.
const STATEMENTS: { kind: CreatedObjectKind; pattern: RegExp }[] = [
  {
    kind: "table",
    pattern: new RegExp(
      String.raw`\bCREATE\s+(?:(?:GLOBAL|LOCAL)\s+)?(?:UNLOGGED\s+)?TABLE\s+(?!IF\s+NOT\s+EXISTS\b)${QUALIFIED}`,
      "gi",
    ),
  },
  {
    kind: "index",
    pattern: new RegExp(
      String.raw`\bCREATE\s+(?:UNIQUE\s+)?INDEX\s+(?:CONCURRENTLY\s+)?(?!IF\s+NOT\s+EXISTS\b)(?!ON\b)${QUALIFIED}`,
      "gi",
    ),
  },
  {
    kind: "view",
    pattern: new RegExp(
      String.raw`\bCREATE\s+(?:MATERIALIZED\s+)?VIEW\s+(?!IF\s+NOT\s+EXISTS\b)${QUALIFIED}`,
      "gi",
    ),
  },
  {
    kind: "sequence",
    pattern: new RegExp(String.raw`\bCREATE\s+SEQUENCE\s+(?!IF\s+NOT\s+EXISTS\b)${QUALIFIED}`, "gi"),
  },
  { kind: "type", pattern: new RegExp(String.raw`\bCREATE\s+(?:TYPE|DOMAIN)\s+${QUALIFIED}`, "gi") },
  {
    kind: "function",
    pattern: new RegExp(String.raw`\bCREATE\s+(?:FUNCTION|PROCEDURE)\s+${QUALIFIED}`, "gi"),
  },
  {
    kind: "schema",
    pattern: new RegExp(String.raw`\bCREATE\s+SCHEMA\s+(?!IF\s+NOT\s+EXISTS\b)(${IDENT})()`, "gi"),
  },
];

/** The up section of a migration without comments, string literals and dollar-quoted bodies. */
export function upStatementsText(sql: string): string {
  const up = sql.split(/^\s*--[\s-]*down\s+migration/im)[0] ?? "";
  return up
    .replace(/\$([A-Za-z_]*)\$[\s\S]*?\$\1\$/g, " ")
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/--[^\n]*/g, " ")
    .replace(/'(?:[^']|'')*'/g, "''");
}

function unquote(identifier: string): string {
  return identifier.startsWith('"') ? identifier.slice(1, -1).replace(/""/g, '"') : identifier.toLowerCase();
}

// A DROP before a CREATE of the same object (a function whose result type changes, say) is a replacement:
// the object existing beforehand is what the migration expects.
const DROPS = new RegExp(
  String.raw`\bDROP\s+(?:MATERIALIZED\s+)?(TABLE|INDEX|VIEW|SEQUENCE|TYPE|DOMAIN|FUNCTION|PROCEDURE|SCHEMA)\s+` +
    String.raw`(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?${QUALIFIED}`,
  "gi",
);
const DROP_KINDS: Record<string, CreatedObjectKind> = {
  TABLE: "table",
  INDEX: "index",
  VIEW: "view",
  SEQUENCE: "sequence",
  TYPE: "type",
  DOMAIN: "type",
  FUNCTION: "function",
  PROCEDURE: "function",
  SCHEMA: "schema",
};

const objectKey = (kind: CreatedObjectKind, first: string, second: string | undefined) =>
  `${kind}:${unquote(second ?? first)}`;

/**
 * Every object the migrations create without `IF NOT EXISTS`/`OR REPLACE`, in migration order, leaving out
 * those an earlier statement of the pending migrations drops.
 */
export function createdObjects(files: readonly MigrationFile[]): CreatedObject[] {
  const out: CreatedObject[] = [];
  const droppedBefore = new Set<string>(); // by the files before this one
  for (const file of files) {
    const text = upStatementsText(file.sql);
    const drops = [...text.matchAll(DROPS)].map((m) => ({
      at: m.index,
      key: objectKey(DROP_KINDS[m[1]!.toUpperCase()]!, m[2]!, m[3]),
    }));
    for (const { kind, pattern } of STATEMENTS) {
      for (const match of text.matchAll(pattern)) {
        const [first, second] = [match[1]!, match[2]];
        const key = objectKey(kind, first, second);
        if (droppedBefore.has(key) || drops.some((d) => d.key === key && d.at < match.index)) continue;
        out.push(
          second
            ? { kind, schema: unquote(first), name: unquote(second), migration: file.name }
            : { kind, name: unquote(first), migration: file.name },
        );
      }
    }
    for (const d of drops) droppedBefore.add(d.key);
  }
  return out;
}
