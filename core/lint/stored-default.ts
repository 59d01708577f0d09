// ADD COLUMN with a DEFAULT that calls a function squawk does not know (adding-field-with-default): PostgreSQL
// 11 and later rewrites the table only when the default is volatile (ATExecAddColumn stores a non-volatile one
// once, as the column's missing value), or when the column's type is a domain with constraints (PostgreSQL 15
// checks each row's value by rewriting). squawk knows a few functions by name (now()) and takes any other for
// volatile, so `DEFAULT lower('x')` or a tenant column's `DEFAULT current_org_id()` (a STABLE function) was an
// error that blocked a production apply. The live catalog says what each function, operator and cast the
// DEFAULT names is; test/lint/stored-default.test.ts checks the verdict against the table's relfilenode.
//
// Read-only and conservative: a name the catalog does not have (a function an earlier pending statement
// defines), a call whose arguments could run a volatile overload, a volatile operator of a symbol the default
// uses, a volatile cast anywhere in the database when the default casts, or a domain with constraints named in
// the action leaves the finding as it is.
import type { ClientBase } from "pg";
import { accepts, namesCalledIn } from "./called-functions";
import { withoutStrings } from "./do-blocks";
import type { Statement } from "./statements";

/** An operator as written: a run of PostgreSQL's operator characters (a cast's `::` is none). */
const OPERATOR = /[+\-*/<>=~!@#%^&|`?]+/g;

/** A name, quoted or not. */
const WORD = /"(?:[^"]|"")+"|[A-Za-z_][\w$]*/g;

/** SQL's constructs written like calls that are no function of the catalog: they are as volatile as what
 *  they hold, which the rest of the default shows. */
const NOT_FUNCTIONS = new Set(["coalesce", "nullif", "greatest", "least", "row", "cast"]);

/** What an earlier statement may change of what the catalog says of a default: its functions, operators,
 *  casts and domains. */
const CHANGES_WHAT_IT_CALLS =
  /^\s*(?:CREATE|ALTER|DROP)\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|OPERATOR|CAST|DOMAIN|TYPE|SCHEMA)\b|\bsearch_path\b/i;

/** The text of an ADD COLUMN action from its DEFAULT on (its constraints included: what they call is read too);
 *  undefined for an action with no DEFAULT. */
export function defaultOnwards(action: string): string | undefined {
  const code = withoutStrings(action);
  const at = code.search(/\bDEFAULT\b/i);
  return at < 0 ? undefined : action.slice(at + "DEFAULT".length);
}

/** Whether an earlier statement of the sections that run may change what the catalog says of a default. */
export function changesWhatDefaultsCall(earlier: readonly Statement[]): boolean {
  return earlier.some((s) => CHANGES_WHAT_IT_CALLS.test(withoutStrings(s.code)));
}

interface Candidate {
  kind: "function" | "operator";
  name: string;
  schema: string;
  volatile: boolean;
  args: number;
  optional: number;
  variadic: boolean;
  visible: boolean;
}

const CATALOG_SQL = `
  SELECT 'function' AS kind, p.proname AS name, n.nspname AS schema, p.provolatile = 'v' AS volatile,
         p.pronargs::int AS args, p.pronargdefaults::int AS optional, p.provariadic <> 0 AS variadic,
         pg_function_is_visible(p.oid) AS visible
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE p.prokind = 'f' AND p.proname = ANY($1::text[])
  UNION ALL
  SELECT 'operator', o.oprname, n.nspname, p.provolatile = 'v', 0, 0, false, true
    FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace JOIN pg_proc p ON p.oid = o.oprcode
   WHERE o.oprname = ANY($2::text[])`;

const VOLATILE_CASTS_SQL = `
  SELECT EXISTS (SELECT 1 FROM pg_cast c JOIN pg_proc p ON p.oid = c.castfunc WHERE p.provolatile = 'v')
      OR EXISTS (SELECT 1 FROM pg_type t JOIN pg_proc p ON p.oid = t.typinput WHERE p.provolatile = 'v')
      AS volatile`;

const CONSTRAINED_DOMAINS_SQL = `
  SELECT lower(t.typname) AS name FROM pg_type t
   WHERE t.typtype = 'd' AND (t.typnotnull OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.contypid = t.oid))`;

/**
 * The functions `action`'s DEFAULT calls, by name, when the live catalog shows that PostgreSQL stores it once
 * rather than rewriting the table; undefined when it does not show that.
 */
export async function storedDefault(client: ClientBase, action: string): Promise<string[] | undefined> {
  const onwards = defaultOnwards(action);
  if (onwards === undefined) return undefined;
  const code = withoutStrings(onwards);
  const calls = namesCalledIn({ code, start: 0, end: code.length, comments: [] }).filter(
    (c) => !NOT_FUNCTIONS.has(c.name),
  );
  const operators = [...new Set(code.match(OPERATOR) ?? [])];
  const found = await client.query<Candidate>(CATALOG_SQL, [
    [...new Set(calls.map((c) => c.name.split(".").at(-1)!))],
    operators,
  ]);
  for (const call of calls) {
    const [schema, name] = call.name.includes(".") ? call.name.split(".") : [undefined, call.name];
    const runs = found.rows.filter(
      (r) =>
        r.kind === "function" &&
        r.name === name &&
        (schema === undefined ? r.visible : r.schema === schema) &&
        accepts({ min: r.args - r.optional, max: r.variadic ? Infinity : r.args }, call.args),
    );
    if (runs.length === 0 || runs.some((r) => r.volatile)) return undefined;
  }
  if (found.rows.some((r) => r.kind === "operator" && r.volatile)) return undefined;
  if (/::|\bCAST\s*\(/i.test(code)) {
    const casts = await client.query<{ volatile: boolean }>(VOLATILE_CASTS_SQL);
    if (casts.rows[0]?.volatile !== false) return undefined;
  }
  const domains = await client.query<{ name: string }>(CONSTRAINED_DOMAINS_SQL);
  const words = new Set(
    (withoutStrings(action).match(WORD) ?? []).map((w) => w.replace(/^"|"$/g, "").toLowerCase()),
  );
  if (domains.rows.some((d) => words.has(d.name))) return undefined;
  return [...new Set(calls.map((c) => c.written))];
}
