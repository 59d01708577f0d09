// Statements that rewrite a table or change all of its rows, which squawk does not report: the lint reports
// them itself, under squawk's rule where one says it (a serial column is a default evaluated per row,
// adding-field-with-default) and under a rule of its own otherwise. They are weighed like squawk's findings
// (rules.ts says what each does, test/lint/unflagged-statements.test.ts measures it on PostgreSQL).
// SET NOT NULL is one squawk reports only sometimes: after any VALIDATE CONSTRAINT earlier in the file it
// reports none, whichever constraint was validated. The lint reports every one itself, and its proof
// (not-null-proof.ts) decides whether the scan is skipped; index.ts drops those squawk reported itself.
import { addsSerialColumn } from "./added-column";
import { setNotNullColumn } from "./not-null-proof";
import { ACCESS_METHOD_RULE, NOT_NULL_RULE } from "./rules";
import {
  IDENT,
  alterMaterializedViewActions,
  alterTableActions,
  codeStart,
  hasTopLevelKeyword,
  statementParts,
  statementTarget,
  tablespaceMove,
  type Statement,
} from "./statements";

export interface UnflaggedFinding {
  rule: string;
  /** Where the finding points, as an offset in the file: the ALTER TABLE action, else the statement. */
  offset: number;
}

/** The ALTER TABLE actions squawk does not report, and the rule the lint reports each under. */
const ACTIONS: readonly { matches: (action: string) => boolean; rule: string }[] = [
  { matches: addsSerialColumn, rule: "adding-field-with-default" },
  { matches: (action) => SET_TABLESPACE.test(action), rule: "moving-tablespace" },
  { matches: (action) => /^SET\s+(?:UN)?LOGGED\b/i.test(action), rule: "changing-table-logging" },
  { matches: (action) => SET_ACCESS_METHOD.test(action), rule: ACCESS_METHOD_RULE },
  { matches: (action) => setNotNullColumn(action) !== undefined, rule: NOT_NULL_RULE },
];

/** ALTER INDEX ... SET TABLESPACE of one index. */
const INDEX_SET_TABLESPACE = new RegExp(
  String.raw`^\s*ALTER\s+INDEX\s+(?:IF\s+EXISTS\s+)?${IDENT}\s+SET\s+TABLESPACE\b`,
  "i",
);

const SET_TABLESPACE = /^SET\s+TABLESPACE\b/i;

/** SET ACCESS METHOD (PostgreSQL 15 and later): a table's or materialized view's rows rewritten in the new one. */
const SET_ACCESS_METHOD = /^SET\s+ACCESS\s+METHOD\b/i;

/** Whole statements squawk does not report. CLUSTER without a table and VACUUM cannot run in a migration's
 *  transaction at all (transaction-block.ts); TRUNCATE ... CASCADE is squawk's ban-truncate-cascade. */
const STATEMENTS: readonly { matches: (statement: Statement) => boolean; rule: string }[] = [
  {
    matches: (s) => /^\s*CLUSTER\b/i.test(s.code) && statementTarget(s) !== undefined,
    rule: "clustering-table",
  },
  { matches: (s) => INDEX_SET_TABLESPACE.test(s.code), rule: "moving-tablespace" },
  // ALTER TABLE, INDEX or MATERIALIZED VIEW ALL IN TABLESPACE: every one of the tablespace (index.ts says so).
  { matches: (s) => tablespaceMove(s) !== undefined, rule: "moving-tablespace" },
  {
    matches: (s) => /^\s*TRUNCATE\b/i.test(s.code) && !/\bCASCADE\b/i.test(s.code),
    rule: "truncating-table",
  },
  {
    matches: (s) => /^\s*DELETE\b/i.test(s.code) && !hasTopLevelKeyword(s, "WHERE"),
    rule: "deleting-all-rows",
  },
  {
    matches: (s) => /^\s*UPDATE\b/i.test(s.code) && !hasTopLevelKeyword(s, "WHERE"),
    rule: "updating-all-rows",
  },
];

/** The lint's own findings on a statement. */
export function unflaggedFindings(statement: Statement): UnflaggedFinding[] {
  const found: UnflaggedFinding[] = [];
  for (const action of alterTableActions(statement)) {
    for (const { matches, rule } of ACTIONS)
      if (matches(action.text)) found.push({ rule, offset: action.offset });
  }
  // SET TABLESPACE copies a materialized view's file as it copies a table's; SET ACCESS METHOD rewrites it.
  for (const action of alterMaterializedViewActions(statement)) {
    if (SET_TABLESPACE.test(action.text)) found.push({ rule: "moving-tablespace", offset: action.offset });
    if (SET_ACCESS_METHOD.test(action.text)) found.push({ rule: ACCESS_METHOD_RULE, offset: action.offset });
  }
  // A WITH's DELETE or UPDATE is a statement of its own (statementParts), pointed at where it starts.
  for (const part of statementParts(statement)) {
    for (const { matches, rule } of STATEMENTS) {
      if (matches(part)) found.push({ rule, offset: codeStart(part) });
    }
  }
  return found;
}
