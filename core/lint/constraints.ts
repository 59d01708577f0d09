// The table constraint an ALTER TABLE action adds, read at the action squawk points at. squawk's constraint
// rules cover several kinds, and the kind decides the lock PostgreSQL takes (a FOREIGN KEY takes SHARE ROW
// EXCLUSIVE on both tables, the others ACCESS EXCLUSIVE) and the safer form (NOT VALID is open to CHECK and
// FOREIGN KEY only).
import { IDENT, topLevelParts, type Statement } from "./statements";

export type ConstraintKind = "check" | "foreign-key" | "unique" | "primary-key" | "exclude";

const ALTER_TABLE = new RegExp(
  String.raw`^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?:ONLY\s+)?${IDENT}\s+`,
  "i",
);

/** `ADD [CONSTRAINT name] <kind>`. `UNIQUE USING INDEX name` (and PRIMARY KEY's) adopts a built index: no
 *  build and no scan, so squawk does not report it; `USING INDEX TABLESPACE` still builds one. */
const ADD_CONSTRAINT = new RegExp(
  String.raw`^ADD\s+(?:CONSTRAINT\s+${IDENT}\s+)?(CHECK|FOREIGN\s+KEY|UNIQUE|PRIMARY\s+KEY|EXCLUDE)\b(?!\s+USING\s+INDEX\s+(?!TABLESPACE\b))`,
  "i",
);

const KINDS: Record<string, ConstraintKind> = {
  CHECK: "check",
  "FOREIGN KEY": "foreign-key",
  UNIQUE: "unique",
  "PRIMARY KEY": "primary-key",
  EXCLUDE: "exclude",
};

/**
 * The kind of table constraint added by the action of `statement` at `offset` (in the file, as squawk's
 * finding points at it); undefined for any other action, a column's constraint (`ADD COLUMN ... REFERENCES`)
 * included: adding a column takes ACCESS EXCLUSIVE whatever its constraints.
 */
export function addedConstraint(statement: Statement, offset: number): ConstraintKind | undefined {
  const alter = ALTER_TABLE.exec(statement.code);
  if (!alter) return undefined;
  const at = offset - statement.start - alter[0].length;
  const action = topLevelParts(statement.code.slice(alter[0].length)).find(
    (part) => at >= part.offset && at < part.offset + part.text.length,
  );
  const kind = action && ADD_CONSTRAINT.exec(action.text)?.[1];
  return kind ? KINDS[kind.toUpperCase().replace(/\s+/g, " ")] : undefined;
}
