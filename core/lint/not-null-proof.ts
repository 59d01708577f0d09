// ALTER COLUMN ... SET NOT NULL scans the table under ACCESS EXCLUSIVE, unless a validated CHECK constraint
// already proves the column holds no NULL: PostgreSQL 12 and later then skip the scan ("existing constraints on
// column ... are sufficient to prove that it does not contain nulls", measured in
// test/lint/not-null-proof.test.ts), and the lock is held for a moment only. That CHECK is the lint's own safer
// form for squawk's adding-not-nullable-field, so the lint looks for it: in the live catalog, and in what the
// pending migrations before the statement add, validate or drop (each runs in a transaction of its own, so a
// VALIDATE in an earlier one has committed when SET NOT NULL runs).
import type { ClientBase } from "pg";
import { quoteIdentifier } from "../identifiers";
import {
  IDENT,
  alterTableActions,
  closingParen,
  canonicalName,
  statementTarget,
  topLevelParts,
  type Statement,
} from "./statements";

/** `ALTER [COLUMN] name SET NOT NULL`: the column, as written. */
const SET_NOT_NULL = new RegExp(String.raw`^ALTER\s+(?:COLUMN\s+)?(${IDENT})\s+SET\s+NOT\s+NULL\b`, "i");

/** The column an ALTER TABLE action sets NOT NULL, as written; undefined for another action. */
export function setNotNullColumn(action: string): string | undefined {
  return SET_NOT_NULL.exec(action)?.[1];
}

/** `( ... )` around the whole text, as many times as it is wrapped. */
function unwrapped(text: string): string {
  let inner = text.trim();
  while (inner.startsWith("(") && closingParen(inner, 0) === inner.length - 1)
    inner = inner.slice(1, -1).trim();
  return inner;
}

const IS_NOT_NULL = new RegExp(String.raw`^(${IDENT})\s+IS\s+NOT\s+NULL$`, "i");

/**
 * The columns (canonical names) a CHECK expression proves NOT NULL: `col IS NOT NULL`, alone or as one of the
 * expression's top-level AND terms. The same reading for a migration's text and the catalog's
 * pg_get_expr() (`(description IS NOT NULL)`, `(("charCount" IS NOT NULL) AND ...)`).
 */
export function columnsProvenNotNull(expression: string): Set<string> {
  const terms = topLevelParts(unwrapped(expression), "and").map((part) => part.text);
  const columns = new Set<string>();
  for (const term of terms) {
    const column = IS_NOT_NULL.exec(unwrapped(term))?.[1];
    if (column) columns.add(canonicalName(column));
  }
  return columns;
}

const ADD_CHECK = new RegExp(String.raw`^ADD\s+(?:CONSTRAINT\s+(${IDENT})\s+)?CHECK\s*\(`, "i");
const VALIDATE = new RegExp(String.raw`^VALIDATE\s+CONSTRAINT\s+(${IDENT})`, "i");
const DROP_CONSTRAINT = new RegExp(String.raw`^DROP\s+CONSTRAINT\s+(?:IF\s+EXISTS\s+)?(${IDENT})`, "i");

/** What the pending migrations did before a statement to the CHECK constraints that prove columns NOT NULL. */
export interface PendingChecks {
  /** `table\0column` -> the constraint, added valid or validated, that proves it. */
  proven: Map<string, string>;
  /** `table\0constraint` of constraints validated by a pending VALIDATE CONSTRAINT. */
  validated: Set<string>;
  /** `table\0constraint` of constraints a pending migration dropped. */
  dropped: Set<string>;
}

const key = (table: string, name: string) => `${canonicalName(table)}\0${canonicalName(name)}`;

/**
 * Walks the pending migrations' Up sections in order and gives, for each statement that sets a column NOT
 * NULL, what the statements before it did to CHECK constraints. Only earlier statements count: within one
 * ALTER TABLE, PostgreSQL checks SET NOT NULL before it adds a constraint.
 */
export function readPendingChecks(upSections: Iterable<readonly Statement[]>): Map<Statement, PendingChecks> {
  const state: PendingChecks = { proven: new Map(), validated: new Set(), dropped: new Set() };
  // `table\0constraint` -> the columns a pending NOT VALID CHECK would prove once validated.
  const notValid = new Map<string, Set<string>>();
  const before = new Map<Statement, PendingChecks>();
  for (const statements of upSections) {
    for (const statement of statements) {
      const table = statementTarget(statement);
      const actions = table?.kind === "table" ? alterTableActions(statement) : [];
      if (actions.some((a) => setNotNullColumn(a.text) !== undefined)) {
        before.set(statement, {
          proven: new Map(state.proven),
          validated: new Set(state.validated),
          dropped: new Set(state.dropped),
        });
      }
      for (const { text } of actions) {
        const t = table!.name;
        const check = ADD_CHECK.exec(text);
        if (check) {
          const open = check[0].length - 1;
          const columns = columnsProvenNotNull(text.slice(open, closingParen(text, open) + 1));
          const name = check[1];
          if (/\bNOT\s+VALID\s*;?\s*$/i.test(text)) {
            if (name) notValid.set(key(t, name), columns);
          } else {
            for (const column of columns) state.proven.set(key(t, column), name ?? "(unnamed CHECK)");
          }
          if (name) state.dropped.delete(key(t, name));
        }
        const validate = VALIDATE.exec(text)?.[1];
        if (validate) {
          state.validated.add(key(t, validate));
          for (const column of notValid.get(key(t, validate)) ?? [])
            state.proven.set(key(t, column), validate);
        }
        const drop = DROP_CONSTRAINT.exec(text)?.[1];
        if (drop) {
          state.dropped.add(key(t, drop));
          state.validated.delete(key(t, drop));
          for (const [k, name] of state.proven)
            if (k.startsWith(`${canonicalName(t)}\0`) && canonicalName(name) === canonicalName(drop))
              state.proven.delete(k);
        }
      }
    }
  }
  return before;
}

/**
 * The validated CHECK constraint that proves `column` of `table` NOT NULL when the statement runs, as the live
 * catalog and the pending migrations before it (`pending`) have it; undefined when none does.
 */
export async function notNullProof(
  client: ClientBase,
  table: string,
  column: string,
  pending: PendingChecks | undefined,
): Promise<string | undefined> {
  const pendingProof = pending?.proven.get(key(table, column));
  if (pendingProof) return pendingProof;
  const found = await client.query<{ name: string; validated: boolean; expression: string }>(
    `SELECT conname AS name, convalidated AS validated, pg_get_expr(conbin, conrelid) AS expression
       FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'c'`,
    [table],
  );
  const proof = found.rows.find(
    (c) =>
      columnsProvenNotNull(c.expression).has(canonicalName(column)) &&
      !pending?.dropped.has(key(table, quoteIdentifier(c.name))) &&
      (c.validated || pending?.validated.has(key(table, quoteIdentifier(c.name)))),
  );
  return proof?.name;
}
