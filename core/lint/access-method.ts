// SET ACCESS METHOD naming the access method a table (materialized view) already has: PostgreSQL 15's
// ATPrepSetAccessMethod returns before it plans a rewrite when the relation's relam is that method's oid, so the
// statement takes its ACCESS EXCLUSIVE lock for a moment and changes nothing. The live catalog says which case
// a statement is; test/lint/unflagged-statements.test.ts measures both.
import type { ClientBase } from "pg";
import { IDENT, canonicalName, type Statement } from "./statements";

const SET_ACCESS_METHOD = new RegExp(String.raw`^SET\s+ACCESS\s+METHOD\s+(${IDENT})\s*;?\s*$`, "i");

/** The access method an ALTER TABLE / MATERIALIZED VIEW action names, as the catalog spells it; undefined for
 *  another action, or for `DEFAULT` (PostgreSQL 17), whose method depends on the session's setting. */
export function accessMethodNamed(action: string): string | undefined {
  const named = SET_ACCESS_METHOD.exec(action.trim());
  if (!named || /^default$/i.test(named[1]!)) return undefined;
  return canonicalName(named[1]!);
}

/** Whether an earlier statement may change some relation's access method: then the live one is not the one a
 *  later SET ACCESS METHOD finds. */
export function changesAccessMethod(statements: readonly Statement[]): boolean {
  return statements.some((s) => /\bACCESS\s+METHOD\b/i.test(s.code));
}

/** The access method `relation` has in the live catalog; undefined when the catalog has no such relation. */
export async function liveAccessMethod(client: ClientBase, relation: string): Promise<string | undefined> {
  const found = await client.query<{ amname: string }>(
    `SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.oid = to_regclass($1)`,
    [relation],
  );
  return found.rows[0]?.amname;
}
