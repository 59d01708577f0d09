// The table constraint an ALTER TABLE action adds (the action squawk points at). squawk's constraint
// rules cover several kinds, and the kind decides the lock PostgreSQL takes (a FOREIGN KEY takes SHARE ROW
// EXCLUSIVE on both tables, the others ACCESS EXCLUSIVE) and the safer form (NOT VALID is open to CHECK and
// FOREIGN KEY only).
import { IDENT } from "./statements";

export type ConstraintKind = "check" | "foreign-key" | "unique" | "primary-key" | "exclude";

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
 * The kind of table constraint an ALTER TABLE action adds; undefined for any other action, a column's
 * constraint (`ADD COLUMN ... REFERENCES`) included: adding a column takes ACCESS EXCLUSIVE whatever its
 * constraints.
 */
export function addedConstraint(action: string): ConstraintKind | undefined {
  const kind = ADD_CONSTRAINT.exec(action)?.[1];
  return kind ? KINDS[kind.toUpperCase().replace(/\s+/g, " ")] : undefined;
}
