// What the upgrade would lose if it went on: the legacy tables are moved aside at the cutover and dropped at
// the end, so a column of theirs that the mapping does not carry would go with them, and an object of the
// app's own that depends on them (a foreign key from another table, a view, a function, a policy) would be
// left on the frozen legacy tables and go when they go. Read from the catalog (pg_attribute,
// pg_depend) before anything is written, again inside the cutover's transaction (what appeared while the
// upgrade ran) and before the legacy tables are dropped, and refused naming each with what to do: the upgrade
// never decides for the operator what may be lost. The drop itself does not cascade (cutover.ts): a
// dependent that escaped every check makes it fail rather than go with it.
import type { ClientBase } from "pg";
import type { CommandPrinter } from "../../command-to-run";
import { upgradeAgain } from "./again";
import { countText, formatCount } from "../../count-format";
import { ReleaseError, joinFixes } from "../../errors";
import { quoteIdentifier } from "../../identifiers";
import { LEGACY_TABLES } from "../legacy-inspection";
import { UPGRADING_SECTION } from "../runbook-sections";
import { FOREIGN_LEDGER_TABLES } from "../preflight";
import type { TableMapping } from "./mapping";
import { LEGACY_KEPT_SCHEMA, LEGACY_SCHEMA } from "./names";
import type { UpgradeProblem } from "./preconditions";
import { UPGRADE_STOPS, type UpgradeStop } from "./stops";

/** A column of a legacy table that no release column is mapped from. */
export interface UncarriedColumn {
  table: string;
  column: string;
  /** Rows holding a value in it; null when it was not counted (the cutover) or the role may not read it. */
  nonNullValues: number | null;
}

/** An object outside the legacy tables that depends on them, so that dropping them would drop it too. */
export interface LegacyDependent {
  /** As PostgreSQL describes it (pg_describe_object): `view user_emails`, `constraint ... on table "Invoice"`. */
  object: string;
  /** The legacy tables (`"User"`) or columns (`"User".email`) it depends on. */
  dependsOn: string[];
  /** The statement that drops it alone, where one does. */
  drop?: string;
  /** The statement that re-creates it, as the catalog holds its definition (constraints, views, functions). */
  definition?: string;
}

/** The schema the legacy tables are in at each stop: moved aside at the cutover. */
const LEGACY_TABLES_AT: Record<UpgradeStop, string> = {
  start: LEGACY_SCHEMA,
  resume: LEGACY_SCHEMA,
  cutover: LEGACY_SCHEMA,
  contract: LEGACY_KEPT_SCHEMA,
};

/** The legacy tables the upgrade moves aside and drops: the app's eight and Prisma's ledger. */
const DROPPED_TABLES = [...LEGACY_TABLES, FOREIGN_LEDGER_TABLES.prisma];

/** The legacy columns each mapping carries (the proof compares exactly these). */
function carriedColumns(mappings: readonly TableMapping[]): Record<string, string[]> {
  return Object.fromEntries(mappings.map((m) => [m.table, m.proof.map((p) => p.column)]));
}

/**
 * The columns of the mapped legacy tables in `schema` the mappings do not carry, in table then column
 * order, with their non-null values counted when `count` (one scan per table that has any).
 */
export async function uncarriedColumns(
  client: ClientBase,
  mappings: readonly TableMapping[],
  schema: string,
  count: boolean,
): Promise<UncarriedColumn[]> {
  const carried = carriedColumns(mappings);
  const { rows } = await client.query<{ table: string; column: string }>(
    `SELECT c.relname AS table, a.attname AS column
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relnamespace = to_regnamespace($1) AND c.relkind IN ('r', 'p') AND c.relname = ANY($2)
        AND a.attnum > 0 AND NOT a.attisdropped AND NOT (($3::jsonb -> c.relname) ? a.attname)
      ORDER BY array_position($2, c.relname::text), a.attnum`,
    [schema, Object.keys(carried), JSON.stringify(carried)],
  );
  const columns = rows.map((r): UncarriedColumn => ({ ...r, nonNullValues: null }));
  if (!count) return columns;
  for (const table of new Set(columns.map((c) => c.table))) {
    const ofTable = columns.filter((c) => c.table === table);
    try {
      const counted = await client.query<Record<string, string>>(
        `SELECT ${ofTable.map((c, i) => `count(${quoteIdentifier(c.column)}) AS c${i}`).join(", ")}
           FROM ${quoteIdentifier(schema)}.${quoteIdentifier(table)}`,
      );
      ofTable.forEach((c, i) => (c.nonNullValues = Number(counted.rows[0]![`c${i}`])));
    } catch (error) {
      // A role that may read the catalog but not the table (plan as another login): named, not counted.
      if ((error as { code?: string }).code !== "42501") throw error;
    }
  }
  return columns;
}

/**
 * Everything outside the legacy tables of `schema` that depends on them. The legacy tables' own parts (their
 * indexes, constraints, row types, triggers, owned sequences: what depends on them automatically or
 * internally, followed transitively) go with them by design; a normal dependency on any of those from an
 * object that is not one of them is what DROP ... CASCADE would take along. A view is found through its
 * rewrite rule, and named as the view.
 */
export async function legacyDependents(client: ClientBase, schema: string): Promise<LegacyDependent[]> {
  const { rows } = await client.query<LegacyDependent>(
    `WITH RECURSIVE own(classid, objid, root) AS (
       SELECT 'pg_class'::regclass::oid, c.oid, c.oid
         FROM pg_class c
        WHERE c.relnamespace = to_regnamespace($1) AND c.relkind IN ('r', 'p') AND c.relname = ANY($2)
       UNION
       SELECT d.classid, d.objid, o.root
         FROM pg_depend d JOIN own o ON d.refclassid = o.classid AND d.refobjid = o.objid
        WHERE d.deptype IN ('a', 'i')
     ),
     edge AS (
       SELECT DISTINCT
              CASE WHEN d.classid = 'pg_rewrite'::regclass THEN 'pg_class'::regclass::oid ELSE d.classid END AS classid,
              CASE WHEN d.classid = 'pg_rewrite'::regclass THEN r.ev_class ELSE d.objid END AS objid,
              CASE WHEN d.refclassid = 'pg_class'::regclass AND d.refobjid = o.root AND d.refobjsubid > 0
                   THEN format('%I.%I', root.relname, a.attname)
                   ELSE quote_ident(root.relname) END AS target
         FROM pg_depend d
         JOIN own o ON d.refclassid = o.classid AND d.refobjid = o.objid
         JOIN pg_class root ON root.oid = o.root
         LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid
         LEFT JOIN pg_attribute a ON a.attrelid = o.root AND a.attnum = d.refobjsubid
        WHERE d.deptype = 'n'
          AND NOT EXISTS (SELECT 1 FROM own x WHERE x.classid = d.classid AND x.objid = d.objid)
          -- A view's rule, and a legacy table's own rule: the view or the table is what it belongs to.
          AND NOT EXISTS (SELECT 1 FROM own x WHERE d.classid = 'pg_rewrite'::regclass
                                                AND x.classid = 'pg_class'::regclass AND x.objid = r.ev_class)
     )
     SELECT pg_describe_object(e.classid, e.objid, 0) AS object,
            array_agg(DISTINCT e.target ORDER BY e.target) AS "dependsOn",
            CASE
              WHEN e.classid = 'pg_constraint'::regclass THEN
                (SELECT format('ALTER TABLE %s DROP CONSTRAINT %I;', k.conrelid::regclass, k.conname)
                   FROM pg_constraint k WHERE k.oid = e.objid)
              WHEN e.classid = 'pg_class'::regclass THEN
                (SELECT format('DROP %s %s;', CASE v.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'v' THEN 'VIEW' END, v.oid::regclass)
                   FROM pg_class v WHERE v.oid = e.objid AND v.relkind IN ('v', 'm'))
              WHEN e.classid = 'pg_proc'::regclass THEN
                (SELECT format('DROP %s %s;', CASE p.prokind WHEN 'p' THEN 'PROCEDURE' ELSE 'FUNCTION' END, p.oid::regprocedure)
                   FROM pg_proc p WHERE p.oid = e.objid AND p.prokind IN ('f', 'p'))
              WHEN e.classid = 'pg_policy'::regclass THEN
                (SELECT format('DROP POLICY %I ON %s;', p.polname, p.polrelid::regclass)
                   FROM pg_policy p WHERE p.oid = e.objid)
            END AS drop,
            CASE
              WHEN e.classid = 'pg_constraint'::regclass THEN
                (SELECT format('ALTER TABLE %s ADD CONSTRAINT %I %s;', k.conrelid::regclass, k.conname, pg_get_constraintdef(k.oid))
                   FROM pg_constraint k WHERE k.oid = e.objid)
              WHEN e.classid = 'pg_class'::regclass THEN
                (SELECT format('CREATE %s %s AS %s', CASE v.relkind WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'VIEW' END,
                               v.oid::regclass, btrim(pg_get_viewdef(v.oid)))
                   FROM pg_class v WHERE v.oid = e.objid AND v.relkind IN ('v', 'm'))
              WHEN e.classid = 'pg_proc'::regclass THEN
                (SELECT btrim(pg_get_functiondef(p.oid)) || ';' FROM pg_proc p WHERE p.oid = e.objid AND p.prokind IN ('f', 'p'))
            END AS definition
       FROM edge e
      GROUP BY e.classid, e.objid
      ORDER BY 1`,
    [schema, DROPPED_TABLES],
  );
  return rows.map(({ drop, definition, dependsOn, ...rest }) => ({
    ...rest,
    // A foreign key depends on the referenced column and on the table's key index: the column says it all.
    dependsOn: dependsOn.filter((t) => !dependsOn.some((other) => other.startsWith(`${t}.`))),
    ...(drop ? { drop } : {}),
    ...(definition ? { definition } : {}),
  }));
}

/** What dropping the legacy tables of `phase`'s schema would lose (`count`: the columns' values counted). */
export interface Uncarried {
  columns: UncarriedColumn[];
  dependents: LegacyDependent[];
}

export async function findUncarried(
  client: ClientBase,
  mappings: readonly TableMapping[],
  phase: UpgradeStop,
  count = true,
): Promise<Uncarried> {
  const schema = LEGACY_TABLES_AT[phase];
  return {
    columns: await uncarriedColumns(client, mappings, schema, count),
    dependents: await legacyDependents(client, schema),
  };
}

/**
 * As plan lists them: one problem for the columns and one for the dependents, each with its fix. `print`: how
 * a fix prints the upgrade to run again (upgradePrinter, run.ts); without one, in words.
 */
export function uncarriedProblems(
  found: Uncarried,
  phase: UpgradeStop,
  print?: CommandPrinter,
): UpgradeProblem[] {
  return problemsOf(found, phase, print).map((p) => ({
    ...p,
    fix: `${p.fix} ${UPGRADE_STOPS[phase].state}`,
  }));
}

/** Refuses the upgrade at `phase` on what it would lose, all of it named in one error. */
export function refuseUncarried(found: Uncarried, phase: UpgradeStop, print?: CommandPrinter): void {
  const problems = problemsOf(found, phase, print);
  if (problems.length === 0) return;
  throw new ReleaseError(
    "invalid-input",
    `The upgrade would lose data or objects the release does not carry, ${UPGRADE_STOPS[phase].stopped}:\n${problems
      .map((p) => `- ${p.message}`)
      .join("\n")}`,
    joinFixes(
      problems.map((p) => p.fix),
      UPGRADE_STOPS[phase].state,
    ),
  );
}

function problemsOf(
  { columns, dependents }: Uncarried,
  phase: UpgradeStop,
  print: CommandPrinter | undefined,
): UpgradeProblem[] {
  const rerun = `Then ${upgradeAgain(print)}.`;
  return [
    ...(columns.length > 0 ? [columnsProblem(columns, LEGACY_TABLES_AT[phase], rerun)] : []),
    ...(dependents.length > 0 ? [dependentsProblem(dependents, rerun)] : []),
  ];
}

function columnsProblem(columns: readonly UncarriedColumn[], schema: string, rerun: string): UpgradeProblem {
  const named = columns.map(
    (c) =>
      `${c.table}.${c.column} (${c.nonNullValues === null ? "not counted" : `${formatCount(c.nonNullValues)} non-null value(s)`})`,
  );
  const qualified = (table: string) => `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
  const first = columns[0]!;
  const drops = columns.map(
    (c) => `ALTER TABLE ${qualified(c.table)} DROP COLUMN ${quoteIdentifier(c.column)};`,
  );
  return {
    code: "invalid-input",
    message: `${countText(columns.length, "legacy column")} that the upgrade does not carry into the release would be dropped with the legacy tables: ${named.join(", ")}.`,
    fix:
      "Keep what such a column holds in a table of your own, which the upgrade leaves in public (it keeps the legacy ids), once the old app no longer writes it, e.g. " +
      `CREATE TABLE ${quoteIdentifier(`legacy_${first.table}_${first.column}`)} AS SELECT "id", ${quoteIdentifier(first.column)} FROM ${qualified(first.table)} WHERE ${quoteIdentifier(first.column)} IS NOT NULL; ` +
      `then drop the columns (a column nothing needs at once): ${drops.join(" ")} ${rerun}`,
    details: { columns: [...columns] },
  };
}

function dependentsProblem(dependents: readonly LegacyDependent[], rerun: string): UpgradeProblem {
  const named = dependents.map((d) => `${d.object} (on ${d.dependsOn.join(", ")})`);
  const drops = dependents.map((d) => d.drop ?? `drop ${d.object};`);
  const definitions = dependents.filter((d) => d.definition).map((d) => d.definition!);
  return {
    code: "invalid-input",
    message: `${countText(dependents.length, "object")} outside the legacy tables depend on them, which the upgrade moves aside at the cutover and drops at the end: ${named.join("; ")}.`,
    fix:
      `Save each definition and drop them first: ${drops.join(" ")} Re-create them once the upgrade finished, against the release's tables ` +
      `(they keep the legacy ids; a column the release renamed or changed must be written anew, ${UPGRADING_SECTION})` +
      `${definitions.length > 0 ? `: ${definitions.join(" ")}` : "."} ${rerun}`,
    details: { dependents: [...dependents] },
  };
}
