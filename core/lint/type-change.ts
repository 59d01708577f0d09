// ALTER COLUMN ... TYPE rewrites the table under ACCESS EXCLUSIVE (squawk's changing-column-type), except
// where PostgreSQL finds the old values binary-coercible to the new type and fitting it unchanged: then it
// changes the catalog alone (ATColumnChangeRequiresRewrite, with the length-coercion functions' support
// functions varchar_support, numeric_support, varbit_support, and timestamp_support, time_support and
// interval_support for the time types' precision), keeps the table's file and reuses its
// indexes. A change between timestamp and timestamptz is one too (PostgreSQL 12 and later) in a session whose
// TimeZone is UTC, as every migration's is (core/migrations/time-zone.ts), to a precision none or the largest;
// but the two types' operator classes differ, so PostgreSQL builds the indexes on the column again and
// validates its foreign keys again. Which case a statement is depends on the column's type before it, which the statement does not
// say: the lint reads it from the live catalog (pg_attribute), exactly (type oid and typmod), and the new type
// from the server's own reading of it. test/lint/column-type-changes.test.ts measures each case on PostgreSQL.
//
// What it does not know, it leaves to the rewrite it was: a USING clause, a type it cannot read, a column an
// earlier pending statement may have changed, a change of collation (the indexes on the column are rebuilt),
// and a column that something other than a plain index or key constraint depends on (a CHECK constraint is
// checked again over every row, an expression or partial index is rebuilt, a view refuses the change).
import type { ClientBase } from "pg";
import { MIGRATION_TIME_ZONE, mayChangeTimeZone } from "../migrations/time-zone";
import { canonicalName, type Statement } from "./statements";

/** One identifier, quoted or not (a column's name; one part of a type's). */
const WORD = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)`;

/** The SQL-standard type names of more than one word that name a type this module may judge. */
const MULTIWORD = String.raw`(?:(?:national\s+)?char(?:acter)?\s+varying|bit\s+varying)`;

/** The time types written with keywords around their precision: `timestamp(3) with time zone`,
 *  `interval day to second(3)`. Keywords and an integer only, as TYPE_NAME requires. */
const FIELD = String.raw`(?:year|month|day|hour|minute|second)`;
const TIME_TYPE = String.raw`(?:time(?:stamp)?(?:\s*\(\s*\d+\s*\))?\s+with(?:out)?\s+time\s+zone|interval\s+${FIELD}(?:\s+to\s+${FIELD})?(?:\s*\(\s*\d+\s*\))?)`;

/**
 * A type name as the lint hands it to the server: a (schema-qualified) name or a multiword one, an optional
 * modifier of one or two integers, or a time type's keywords; optional array brackets. Nothing else: the text
 * goes into a query (resolveType), so it may hold no expression.
 */
const TYPE_NAME = String.raw`(?:${TIME_TYPE}|(?:${MULTIWORD}|${WORD}(?:\s*\.\s*${WORD})?)(?:\s*\(\s*\d+\s*(?:,\s*-?\d+\s*)?\))?)(?:\s*\[\s*\d*\s*\])*`;

/** `ALTER [COLUMN] col [SET DATA] TYPE ...`: the column and the rest of the action. */
const ALTER_TYPE = new RegExp(
  String.raw`^ALTER\s+(?:COLUMN\s+)?(${WORD})\s+(?:SET\s+DATA\s+)?TYPE\s+([\s\S]+)$`,
  "i",
);

/** The rest of the action: the type, then `COLLATE name` and `USING expression`, each optional. */
const TYPE_CLAUSES = new RegExp(
  String.raw`^(${TYPE_NAME})(?:\s+COLLATE\s+(${WORD}(?:\s*\.\s*${WORD})?))?(\s+USING\b[\s\S]*)?$`,
  "i",
);

/** An ALTER TABLE action that changes a column's type, as written. */
export interface TypeChange {
  column: string;
  /** The new type as written; undefined when the lint does not read it (an expression, a type it does not parse). */
  type: string | undefined;
  /** The COLLATE clause's collation, as written. */
  collation: string | undefined;
  using: boolean;
}

/** The type change an ALTER TABLE action makes; undefined for another action. */
export function typeChange(action: string): TypeChange | undefined {
  const alter = ALTER_TYPE.exec(action.trim());
  if (!alter) return undefined;
  const rest = alter[2]!.trim().replace(/;$/, "").trim();
  const clauses = TYPE_CLAUSES.exec(rest);
  if (!clauses)
    return { column: alter[1]!, type: undefined, collation: undefined, using: /\bUSING\b/i.test(rest) };
  return { column: alter[1]!, type: clauses[1], collation: clauses[2], using: clauses[3] !== undefined };
}

/** A type as the catalog holds it: oid and typmod (-1: none). */
export interface ColumnType {
  oid: number;
  typmod: number;
}

// Built-in types' oids are fixed in PostgreSQL's catalog (pg_type.dat), the same on every server.
const TEXT = 25;
const VARCHAR = 1043;
const NUMERIC = 1700;
const VARBIT = 1562;
const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;
const TIME = 1083;
const TIMETZ = 1266;
const INTERVAL = 1186;

/** The types whose typmod is a fractional-seconds precision alone (timestamp_support, time_support). */
const PRECISION_TYPES: readonly number[] = [TIMESTAMP, TIMESTAMPTZ, TIME, TIMETZ];

/** The largest fractional-seconds precision of the time types (MAX_TIMESTAMP_PRECISION and the like). */
const MAX_TIME_PRECISION = 6;

/** The header size PostgreSQL adds to a varchar's and a numeric's typmod (VARHDRSZ). */
const VARHDRSZ = 4;

/** Whether a limit of `to` admits every value of `from` (varchar_support, varbit_support): none, or no lower. */
const admits = (from: number, to: number) => to < 0 || (from >= 0 && from <= to);

/** A numeric typmod's precision and scale (numeric.c's NUMERIC_TYPMOD_PRECISION and _SCALE). */
function numericTypmod(typmod: number): { precision: number; scale: number } {
  const packed = typmod - VARHDRSZ;
  return { precision: (packed >> 16) & 0xffff, scale: ((packed & 0x7ff) ^ 1024) - 1024 };
}

/**
 * Whether a time type's precision `to` keeps every value of precision `from` (TemporalSimplify): none, the
 * largest (which every value fits), or no lower than a precision `from` has.
 */
const keepsPrecision = (from: number, to: number) =>
  to < 0 || to === MAX_TIME_PRECISION || (from >= 0 && from <= to);

/** An interval typmod's fields (INTERVAL_RANGE) and precision (INTERVAL_PRECISION; 0xFFFF: none). */
function intervalTypmod(typmod: number): { range: number; precision: number } {
  if (typmod < 0) return { range: 0x7fff, precision: 0xffff };
  return { range: (typmod >> 16) & 0x7fff, precision: typmod & 0xffff };
}

/**
 * Whether interval_support keeps an interval of typmod `from` as `to`, judged only where the fields part (DAY,
 * HOUR TO SECOND, ...) stays the same: to no typmod, or a precision none or no lower. interval_support also
 * keeps some changes of the fields, which the lint leaves to the rewrite it weighs them as.
 */
function keepsInterval(from: number, to: number): boolean {
  if (to < 0) return true;
  const [a, b] = [intervalTypmod(from), intervalTypmod(to)];
  if (a.range !== b.range) return false;
  return b.precision === 0xffff || (a.precision !== 0xffff && a.precision <= b.precision);
}

/** Whether `from` to `to` is timestamp to timestamptz or back: a change of how the values read, not of what
 *  is stored, in a session whose TimeZone is UTC. */
export const crossesTimeZone = (from: ColumnType, to: ColumnType): boolean =>
  (from.oid === TIMESTAMP && to.oid === TIMESTAMPTZ) || (from.oid === TIMESTAMPTZ && to.oid === TIMESTAMP);

/**
 * Whether PostgreSQL changes a column of type `from` to `to` in the catalog alone: the same type, varchar to a
 * limit as long or none, varchar to text and text to varchar without a limit, numeric to a precision as large
 * with the same scale or to numeric without one, varbit to a limit as long or none, timestamp, timestamptz,
 * time or timetz to a precision as large, the largest or none, interval of the same fields to such a precision;
 * timestamp to timestamptz or back to a precision none or the largest, in a session whose TimeZone is UTC
 * (TimestampTimestampTzRequiresRewrite; the cast's result has no precision, so timestamp_support keeps only
 * those). Another change between two time types (timestamp(3) to timestamptz(3), time to timetz) rewrites.
 */
export function changesCatalogOnly(from: ColumnType, to: ColumnType): boolean {
  if (from.oid === to.oid && from.typmod === to.typmod) return true;
  if (from.oid === VARCHAR && to.oid === VARCHAR) return admits(from.typmod, to.typmod);
  if (from.oid === VARCHAR && to.oid === TEXT) return true;
  if (from.oid === TEXT && to.oid === VARCHAR) return to.typmod < 0;
  if (from.oid === VARBIT && to.oid === VARBIT) return admits(from.typmod, to.typmod);
  if (from.oid === NUMERIC && to.oid === NUMERIC) {
    if (to.typmod < VARHDRSZ) return true;
    if (from.typmod < VARHDRSZ) return false;
    const [a, b] = [numericTypmod(from.typmod), numericTypmod(to.typmod)];
    return a.scale === b.scale && a.precision <= b.precision;
  }
  if (from.oid === to.oid && PRECISION_TYPES.includes(from.oid))
    return keepsPrecision(from.typmod, to.typmod);
  if (from.oid === INTERVAL && to.oid === INTERVAL) return keepsInterval(from.typmod, to.typmod);
  if (crossesTimeZone(from, to)) return to.typmod < 0 || to.typmod === MAX_TIME_PRECISION;
  return false;
}

/** What the lint makes of a type change: one PostgreSQL makes in the catalog alone, or why it cannot tell. */
export type TypeChangeVerdict =
  | { catalogOnly: true; from: string; to: string; because?: string }
  | { catalogOnly: false; reason: string };

/**
 * The new type as the server reads it. A domain reaches the client as its base type (the row description
 * names the base type and its typmod), which is what the catalog-only rules compare; `named` is the type the
 * statement names, and `constrainedDomain` says whether it is a domain with a CHECK or NOT NULL constraint of
 * its own or of a domain under it: PostgreSQL then checks every row, rewriting the table
 * (ATColumnChangeRequiresRewrite's DomainHasConstraints), whatever the base type.
 */
interface NewType extends ColumnType {
  named: number;
  constrainedDomain: boolean;
}

const DOMAIN_CONSTRAINED_SQL = `
WITH RECURSIVE chain AS (
  SELECT oid, typbasetype, typnotnull FROM pg_type WHERE oid = $1::oid AND typtype = 'd'
  UNION ALL
  SELECT t.oid, t.typbasetype, t.typnotnull FROM pg_type t JOIN chain c ON t.oid = c.typbasetype WHERE t.typtype = 'd')
SELECT coalesce(bool_or(typnotnull), false)
       OR EXISTS (SELECT 1 FROM pg_constraint WHERE contypid IN (SELECT oid FROM chain)) AS constrained
  FROM chain`;

/** The new type as the server reads it (`NULL::type`), or why it could not. */
async function resolveType(client: ClientBase, type: string): Promise<NewType | string> {
  try {
    // TYPE_NAME admits names and integers only: the query can do nothing but name a type.
    // WHERE false: the row description is all it asks for, and a NOT NULL domain refuses the NULL itself.
    const field = (await client.query(`SELECT NULL::${type} AS probe WHERE false`)).fields[0]!;
    const named = (await client.query<{ named: number }>("SELECT $1::regtype::oid::int AS named", [type]))
      .rows[0]!.named;
    const constrainedDomain =
      named !== field.dataTypeID &&
      (await client.query<{ constrained: boolean }>(DOMAIN_CONSTRAINED_SQL, [named])).rows[0]!.constrained;
    return { oid: field.dataTypeID, typmod: field.dataTypeModifier, named, constrainedDomain };
  } catch (error) {
    // Not the server's answer (the connection failed): not the lint's to judge.
    if (typeof (error as { code?: unknown }).code !== "string") throw error;
    return `the server cannot read the type ${type} (${(error as Error).message}), perhaps one a pending migration creates`;
  }
}

interface LiveColumn {
  type: string;
  oid: number;
  typmod: number;
  collation: number;
  /** The new type's, as PostgreSQL gives the column when the statement has no COLLATE. */
  typeCollation: number;
  /** The COLLATE clause's collation; null when it has none, or names none the server has. */
  clauseCollation: number | null;
  newType: string;
  /** What depends on the column and makes PostgreSQL scan, rebuild or refuse (pg_describe_object). */
  dependents: string[] | null;
  /** The indexes with the column among their keys and the foreign keys on it or referencing it
   *  (pg_describe_object): kept by a change of the catalog alone within one type, built or validated again
   *  when the type's operator class changes. */
  keyedBy: string[] | null;
}

/**
 * The column as the catalog has it, and what depends on it beyond what PostgreSQL keeps as it is when the
 * type changes in the catalog alone: an index on plain columns (no expression, no predicate: reused), a
 * primary key, unique or foreign key constraint (reused, not validated again), the column's own default, an
 * owned sequence, extended statistics (rebuilt from the catalog).
 */
const LIVE_COLUMN_SQL = `
SELECT format_type(a.atttypid, a.atttypmod) AS type, a.atttypid::int AS oid, a.atttypmod AS typmod,
       a.attcollation::int AS collation,
       (SELECT typcollation::int FROM pg_type WHERE oid = $3::oid) AS "typeCollation",
       to_regcollation($5)::oid::int AS "clauseCollation",
       format_type($3::oid, $4::int) AS "newType",
       (SELECT array_agg(DISTINCT pg_describe_object(d.classid, d.objid, 0) ORDER BY pg_describe_object(d.classid, d.objid, 0))
          FROM pg_depend d
         WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = a.attrelid AND d.refobjsubid = a.attnum
           AND NOT (d.classid = 'pg_class'::regclass AND (
                      EXISTS (SELECT 1 FROM pg_index i
                               WHERE i.indexrelid = d.objid AND i.indexprs IS NULL AND i.indpred IS NULL)
                      OR EXISTS (SELECT 1 FROM pg_class s WHERE s.oid = d.objid AND s.relkind = 'S')))
           AND NOT (d.classid = 'pg_constraint'::regclass
                    AND EXISTS (SELECT 1 FROM pg_constraint c WHERE c.oid = d.objid AND c.contype IN ('p', 'u', 'f')))
           AND NOT (d.classid = 'pg_attrdef'::regclass
                    AND EXISTS (SELECT 1 FROM pg_attrdef f WHERE f.oid = d.objid AND f.adnum = a.attnum))
           AND d.classid <> 'pg_statistic_ext'::regclass) AS dependents,
       (SELECT array_agg(k.what ORDER BY k.what) FROM (
          SELECT pg_describe_object('pg_class'::regclass, i.indexrelid, 0) AS what
            FROM pg_index i
           WHERE i.indrelid = a.attrelid AND a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])
          UNION ALL
          SELECT pg_describe_object('pg_constraint'::regclass, c.oid, 0)
            FROM pg_constraint c
           WHERE c.contype = 'f' AND ((c.conrelid = a.attrelid AND a.attnum = ANY (c.conkey))
                                      OR (c.confrelid = a.attrelid AND a.attnum = ANY (c.confkey)))) k) AS "keyedBy"
  FROM pg_attribute a
 WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped`;

/**
 * Whether `change` of the column of `table` (as written) is made in the catalog alone, read from the live
 * database. `earlier`: the pending Up sections' statements before this one. Read-only.
 */
export async function judgeTypeChange(
  client: ClientBase,
  table: string,
  change: TypeChange,
  earlier: readonly Statement[],
): Promise<TypeChangeVerdict> {
  const no = (reason: string): TypeChangeVerdict => ({ catalogOnly: false, reason });
  if (change.using) return no("With a USING clause, the lint weighs the change as a rewrite.");
  // An earlier pending statement may have changed the column (or its table) already: what the catalog holds
  // now is not what this statement finds. Any mention of the table's name counts, in any case and a DO
  // block's or a string's included: a few mentions too many keep a finding, none too few drop one.
  const name = canonicalName(table).split(".").at(-1)!;
  const named = new RegExp(String.raw`(?<![\w$])${escapeRegExp(name)}(?![\w$])`, "i");
  if (earlier.some((s) => named.test(s.code))) {
    return no(
      `An earlier statement of the pending migrations names ${table}, so the live database does not tell the column's type when this one runs: the lint weighs the change as a rewrite.`,
    );
  }
  if (change.type === undefined)
    return no("The lint cannot read the new type, and weighs the change as a rewrite.");
  const to = await resolveType(client, change.type);
  if (typeof to === "string")
    return no(`The lint cannot read the new type: ${to}; it weighs the change as a rewrite.`);
  if (to.constrainedDomain) {
    return no(
      `${change.type} is a domain with a CHECK or NOT NULL constraint: PostgreSQL checks it against every row by rewriting the table.`,
    );
  }
  const found = await client.query<LiveColumn>(LIVE_COLUMN_SQL, [
    table,
    canonicalName(change.column),
    // A domain is named as itself (its collation, its name in the finding); its typmod is its base type's.
    to.named,
    to.named === to.oid ? to.typmod : -1,
    change.collation ?? null,
  ]);
  const live = found.rows[0];
  if (!live) {
    return no(
      `The column ${change.column} is not in the table, so the lint cannot read its type, and weighs the change as a rewrite.`,
    );
  }
  if (!changesCatalogOnly(live, to)) {
    return no(
      `The column is ${live.type} now: ${live.type} to ${live.newType} is not a change PostgreSQL makes in the catalog alone (varchar to a longer limit, to no limit or to text; text to varchar without a limit; numeric to a larger precision of the same scale, or without one; varbit to a longer limit; a time type to a precision as large, the largest or none, an interval only with the same fields; timestamp to timestamptz or back only to a precision none or the largest, with TimeZone ${MIGRATION_TIME_ZONE}).`,
    );
  }
  if (crossesTimeZone(live, to)) {
    if (earlier.some((s) => mayChangeTimeZone(s.code))) {
      return no(
        `${live.type} to ${live.newType} changes the catalog alone only with TimeZone ${MIGRATION_TIME_ZONE}, which every migration runs with, and an earlier statement of the pending migrations may set another: the lint weighs the change as a rewrite.`,
      );
    }
    if (live.keyedBy && live.keyedBy.length > 0) {
      return no(
        `The table keeps its file (every migration runs with TimeZone ${MIGRATION_TIME_ZONE}), but ${live.type} and ${live.newType} have operator classes of their own, so PostgreSQL builds each index on the column again and validates each foreign key on it against every row, under the same lock (${live.keyedBy.join(", ")}): the lint weighs it as a rewrite.`,
      );
    }
  }
  const collation = change.collation === undefined ? live.typeCollation : live.clauseCollation;
  if (collation !== live.collation) {
    return no(
      `The column's collation changes (${change.collation === undefined ? `to the default of ${live.newType}` : `to ${change.collation}`}), and PostgreSQL rebuilds the indexes on it.`,
    );
  }
  if (live.dependents && live.dependents.length > 0) {
    return no(
      `The type itself changes in the catalog alone, but ${live.dependents.join(", ")} depends on the column, which PostgreSQL checks again over every row (a CHECK constraint), rebuilds (an index on an expression or with a WHERE) or refuses to change (a view, a rule, a policy, a generated column): the lint weighs it as a rewrite.`,
    );
  }
  return {
    catalogOnly: true,
    from: live.type,
    to: live.newType,
    ...(crossesTimeZone(live, to)
      ? { because: `every migration runs with TimeZone ${MIGRATION_TIME_ZONE}` }
      : {}),
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
