// What each migration's Up section created, so that its revert can refuse a Down section that leaves part of
// it behind. Without this, such a revert ended cleanly, recorded what was left as the release's schema, and the
// next apply of the migration was the first to fail ("already exists", failure.ts).
//
// Recorded inside the Up section's own transaction, in the message that already carries it (transaction-
// messages.ts: no round trip more): after the BEGIN, the highest oid of the catalogs read, each table's column
// count and the names of the indexes and constraints (a transaction-local setting); before the ledger row, the
// catalog rows with a higher oid (a column: a number past the table's count then) that this transaction wrote,
// its subtransactions included (a DO block's EXCEPTION clause runs in one). A row with an oid at or under that
// mark existed before and was only altered (ALTER FUNCTION ... SET, CREATE OR REPLACE, a column's new type):
// not the migration's to drop; nor is an index or constraint ALTER COLUMN ... TYPE made again under its name.
// The SQL of both is bookkeeping functions (created-objects-record.ts).
// What goes with something recorded (a new table's indexes, triggers and columns, a constraint's index, a
// serial column's sequence, an extension's members) is not recorded on its own. Extensions are not recorded:
// the project's Down sections keep one another role owns on purpose (migration 20250126000100).
//
// A revert runs the check in the Down section's transaction, before its ledger row is deleted: each recorded
// object still there by the same oid and name (a column: the same table, number and name), or by its name
// alone (a database restored from pg_dump has new oids, an index after REINDEX CONCURRENTLY a new one) with a
// catalog row the Down section did not make again, is left behind, and the transaction fails with
// DOWN_LEFT_BEHIND, rolling back the Down section, the ledger row's deletion and this check's own clean-up. The
// Down section's BEGIN takes the same mark as an Up section's (in the BEGIN's own message): an object it dropped
// and made again (the definition an earlier migration had) has an oid past the mark, written by its transaction
// (a column: a number past its table's count), and passes; one it only altered (ALTER TABLE ... SET, ALTER
// FUNCTION ... SET) has its row written too, but an oid at or under the mark, and is still left behind. So is
// one it renamed (ALTER TABLE ... RENAME TO, ALTER INDEX ... RENAME, RENAME COLUMN, SET SCHEMA), which no name
// finds: the BEGIN's message also notes which recorded objects are there by their oid and name when the section
// starts, and one still there by that oid under any name is left behind, named where it is now (after a pg_dump
// restore no oid is the recorded one: a rename there goes unseen). An object the Up section renamed, which the
// Down section renames back, is not in the record: it passes.
// Migrations applied before this record existed have none: they revert as before.
import type { ClientBase, QueryResult } from "pg";
import { BOOKKEEPING_SCHEMA, MIGRATIONS_TABLE } from "../bookkeeping";
import {
  CREATED_OBJECTS_TABLE,
  MADE_HERE_FUNCTION,
  MARK_FUNCTION,
  MARK_SETTING,
  RECORD_FUNCTION,
  createdSinceMark,
} from "./created-objects-record";
import { ReleaseError } from "../errors";
import type { PlanProblem } from "../plan-problems";
import { revertAgain, type RevertRerun } from "../revert-preview";
import { shownName } from "../shown-names";
import { literal } from "../sql";
import { CORRECTED_DOWN_FLAG } from "./corrected-down";
import type { MigrationFile } from "./files";

type Query = (config: unknown, values?: unknown) => Promise<QueryResult>;

/** The SQLSTATE of the revert's refusal (a class of the engine's own, as transaction-guard.ts's NHTX1). */
export const DOWN_LEFT_BEHIND = "NHDL1";

/** The problem kind a refused revert reports in `problems` (--json). */
export const DOWN_LEFT_BEHIND_KIND = "down-leaves-behind";

const TABLE = `${BOOKKEEPING_SCHEMA}.${CREATED_OBJECTS_TABLE}`;

/** After the BEGIN: the mark of the catalogs (createdObjectsDdl). */
const MARK_BEFORE = `SELECT ${BOOKKEEPING_SCHEMA}.${MARK_FUNCTION}();`;

/** How many statements the record sends after a `BEGIN;`, before the migration's SQL (MARK_BEFORE). */
export const CREATED_OBJECTS_STATEMENTS_AFTER_BEGIN = 1;

/** Before an Up section's ledger row: its record, in place of any an earlier apply of it left. */
function recordSql(migration: string): string {
  return `SELECT ${BOOKKEEPING_SCHEMA}.${RECORD_FUNCTION}(${literal(migration)});`;
}

/** Whether the recorded object `o` is still there: the same oid and name (a column: table, number and name). */
const SAME_OID = `CASE
  WHEN o.kind = 'schema' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_namespace x WHERE x.oid = o.object_oid AND x.nspname = o.name)
  WHEN o.kind = 'column' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_attribute x WHERE x.attrelid = o.object_oid
                                       AND x.attnum = o.column_number AND x.attname = o.name AND NOT x.attisdropped)
  WHEN o.kind IN ('function', 'procedure', 'aggregate') THEN EXISTS (SELECT 1 FROM pg_catalog.pg_proc x WHERE x.oid = o.object_oid AND x.proname = o.name)
  WHEN o.kind IN ('type', 'domain') THEN EXISTS (SELECT 1 FROM pg_catalog.pg_type x WHERE x.oid = o.object_oid AND x.typname = o.name)
  WHEN o.kind = 'constraint' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_constraint x WHERE x.oid = o.object_oid AND x.conname = o.name)
  WHEN o.kind = 'trigger' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_trigger x WHERE x.oid = o.object_oid AND x.tgname = o.name)
  WHEN o.kind = 'policy' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_policy x WHERE x.oid = o.object_oid AND x.polname = o.name)
  ELSE EXISTS (SELECT 1 FROM pg_catalog.pg_class x WHERE x.oid = o.object_oid AND x.relname = o.name)
END`;

/**
 * The catalog row `x` is not one the Down section's transaction created (an oid past the mark its BEGIN took,
 * `catalog_mark` in checkSql, and written by it): the object was there before the Down section, which at most
 * altered it (ALTER TABLE ... SET, ALTER FUNCTION ... SET, CREATE OR REPLACE). Without a mark (a section that
 * reset the setting) a row it wrote passes, as one made again.
 */
const notMadeAgain = (x: string) =>
  `NOT coalesce(${createdSinceMark(BOOKKEEPING_SCHEMA, x, "coalesce(catalog_mark, 0)")}, false)`;
/**
 * The column `x` (pg_attribute has no oid) was not added by the Down section: it did not write it, or its number
 * is within its table's column count at the mark (ALTER COLUMN ... TYPE, SET STATISTICS rewrite the row). A
 * table not in the mark was made after it, its columns with it.
 */
const columnNotMadeAgain = (x: string) =>
  `NOT coalesce(${BOOKKEEPING_SCHEMA}.${MADE_HERE_FUNCTION}(${x}.xmin)
                AND ${x}.attnum > coalesce((columns_before ->> ${x}.attrelid::text)::int, 0), false)`;
/** `relid` is the recorded object's table, by schema and name. */
const recordedTable = (relid: string) =>
  `${relid} = (SELECT c.oid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = o.schema_name AND c.relname = o.table_name)`;
/** `nsp` is the recorded object's schema, by name. */
const recordedSchema = (nsp: string) =>
  `${nsp} = (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = o.schema_name)`;

/** The catalog of the recorded object `o`'s kind (a column's: its table's). */
const CATALOG_OF_KIND = `CASE o.kind
  WHEN 'schema' THEN 'pg_catalog.pg_namespace'::pg_catalog.regclass
  WHEN 'function' THEN 'pg_catalog.pg_proc'::pg_catalog.regclass WHEN 'procedure' THEN 'pg_catalog.pg_proc'::pg_catalog.regclass
  WHEN 'aggregate' THEN 'pg_catalog.pg_proc'::pg_catalog.regclass
  WHEN 'type' THEN 'pg_catalog.pg_type'::pg_catalog.regclass WHEN 'domain' THEN 'pg_catalog.pg_type'::pg_catalog.regclass
  WHEN 'constraint' THEN 'pg_catalog.pg_constraint'::pg_catalog.regclass
  WHEN 'trigger' THEN 'pg_catalog.pg_trigger'::pg_catalog.regclass
  WHEN 'policy' THEN 'pg_catalog.pg_policy'::pg_catalog.regclass
  ELSE 'pg_catalog.pg_class'::pg_catalog.regclass
END`;

/**
 * The names of the catalog row the record holds by oid (a column: its table's oid and its number), whatever
 * they are now: pg_identify_object_as_address's object_names (`{schema, name}`, `{schema, table, name}`, a
 * schema's `{name}`, a type's `{schema.name}` as format_type quotes it), NULL when there is no such row or the
 * column was dropped. One call for every kind, where a lookup per catalog took ~5 ms to plan in each section.
 */
const ADDRESS_BY_OID = `(SELECT a.object_names
   FROM pg_catalog.pg_identify_object_as_address(${CATALOG_OF_KIND}, o.object_oid, o.column_number) a
  WHERE o.kind <> 'column' OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute x
                                       WHERE x.attrelid = o.object_oid AND x.attnum = o.column_number AND NOT x.attisdropped))`;

/** The last of those names when the row is the recorded object under its recorded name. */
const RECORDED_LAST_NAME = `CASE WHEN o.kind IN ('type', 'domain')
  THEN pg_catalog.quote_ident(o.schema_name) || '.' || pg_catalog.quote_ident(o.name) ELSE o.name END`;

/** Where the object of the names `addr` (ADDRESS_BY_OID) is: its schema, table and name, as the record has them. */
const placeOf = (addr: string) => {
  const place = (schema: string, table: string, name: string) =>
    `pg_catalog.jsonb_build_object('schema', ${schema}, 'table', ${table}, 'name', ${name})`;
  return `CASE
  WHEN ${addr} IS NULL THEN NULL
  WHEN o.kind = 'schema' THEN ${place(`${addr}[1]`, "NULL", `${addr}[1]`)}
  WHEN o.kind IN ('column', 'constraint', 'trigger', 'policy') THEN ${place(`${addr}[1]`, `${addr}[2]`, `${addr}[3]`)}
  WHEN o.kind IN ('type', 'domain') THEN (SELECT ${place("n.nspname", "NULL", "x.typname")}
    FROM pg_catalog.pg_type x JOIN pg_catalog.pg_namespace n ON n.oid = x.typnamespace WHERE x.oid = o.object_oid)
  ELSE ${place(`${addr}[1]`, "NULL", `${addr}[2]`)}
END`;
};

/**
 * Whether an object of the recorded object's kind and name (a column: its table's and its own) is there that
 * the Down section did not make again. It finds what the oid no longer can: the object after a pg_dump restore
 * (every oid new), an index after REINDEX CONCURRENTLY, an object a later migration's Down section made again.
 * An object the Down section dropped is gone; one it made again (an oid past the mark, a column number past
 * its table's count, written by its transaction) is taken as put back; one it only altered is still there.
 */
const SAME_NAME_NOT_MADE_AGAIN = `CASE
  WHEN o.kind = 'schema' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_namespace x WHERE x.nspname = o.name AND ${notMadeAgain("x")})
  WHEN o.kind = 'column' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_attribute x WHERE ${recordedTable("x.attrelid")}
                                       AND x.attname = o.name AND NOT x.attisdropped AND ${columnNotMadeAgain("x")})
  WHEN o.kind IN ('function', 'procedure', 'aggregate') THEN EXISTS (SELECT 1 FROM pg_catalog.pg_proc x
    WHERE ${recordedSchema("x.pronamespace")} AND x.proname = o.name
      AND pg_catalog.pg_get_function_identity_arguments(x.oid) = o.arguments AND ${notMadeAgain("x")})
  WHEN o.kind IN ('type', 'domain') THEN EXISTS (SELECT 1 FROM pg_catalog.pg_type x
    WHERE ${recordedSchema("x.typnamespace")} AND x.typname = o.name AND ${notMadeAgain("x")})
  WHEN o.kind = 'constraint' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_constraint x
    WHERE ${recordedTable("x.conrelid")} AND x.conname = o.name AND ${notMadeAgain("x")})
  WHEN o.kind = 'trigger' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_trigger x
    WHERE ${recordedTable("x.tgrelid")} AND x.tgname = o.name AND ${notMadeAgain("x")})
  WHEN o.kind = 'policy' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_policy x
    WHERE ${recordedTable("x.polrelid")} AND x.polname = o.name AND ${notMadeAgain("x")})
  ELSE EXISTS (SELECT 1 FROM pg_catalog.pg_class x
    WHERE ${recordedSchema("x.relnamespace")} AND x.relname = o.name AND ${notMadeAgain("x")})
END`;

/**
 * The transaction-local setting, in the bookkeeping schema's namespace, that holds which catalog rows the
 * recorded objects of the migration a Down section reverts are when that section starts (MARK_BEFORE_DOWN).
 */
const DOWN_START_SETTING = `${BOOKKEEPING_SCHEMA}.down_start`;

/** The key of the recorded object `o` among those (kind, oid and column number: unique in a migration's record). */
const recordKey = (o: string) => `${o}.kind || '/' || ${o}.object_oid || '/' || ${o}.column_number`;

/**
 * After a Down section's BEGIN: the same mark, where the record is (a database whose bookkeeping is older than
 * it has neither the record nor the function, and reverts unchecked); and which objects of the reverted
 * migration's record are there by their oid and name at that moment (ADDRESS_BY_OID), for the check to find
 * one the section renamed: still there by that oid, under another name. The migration a Down section reverts is the ledger's last by run_on and id,
 * the order node-pg-migrate reverts in (getRunMigrations, getMigrationsToRun); the check uses the objects only
 * when the migration is the one whose ledger row it deletes.
 */
const MARK_BEFORE_DOWN = `DO $neonhub_created_objects$
DECLARE reverting text;
BEGIN
  IF pg_catalog.to_regclass('${TABLE}') IS NULL THEN RETURN; END IF;
  PERFORM ${BOOKKEEPING_SCHEMA}.${MARK_FUNCTION}();
  SELECT m.name INTO reverting FROM ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE} m ORDER BY m.run_on DESC, m.id DESC LIMIT 1;
  PERFORM pg_catalog.set_config('${DOWN_START_SETTING}', pg_catalog.jsonb_build_object('migration', reverting, 'objects',
    (SELECT coalesce(pg_catalog.jsonb_object_agg(${recordKey("o")}, true), '{}')
       FROM ${TABLE} o CROSS JOIN LATERAL (SELECT ${ADDRESS_BY_OID} AS names) s
      WHERE o.migration = reverting AND s.names[pg_catalog.cardinality(s.names)] = ${RECORDED_LAST_NAME}))::text, true);
END $neonhub_created_objects$;`;

/**
 * The recorded object `o` is left behind: there by its oid and name, or by its name alone, not made again (and,
 * in checkSql, there by its oid under any name, where it was there by its oid and name when the section started).
 */
const STILL_THERE = `((${SAME_OID}) OR (${SAME_NAME_NOT_MADE_AGAIN}))`;

/** The recorded object `o`'s place, as placeOf gives one. */
const RECORDED_PLACE = `pg_catalog.jsonb_build_object('schema', o.schema_name, 'table', o.table_name, 'name', o.name)`;

/**
 * Before a Down section's ledger row is deleted: fails with DOWN_LEFT_BEHIND, the objects left as JSON in its
 * detail, when the Down section left any; else clears the migration's record. A database without the record
 * (bookkeeping older than it) passes.
 */
function checkSql(migration: string): string {
  return `DO $neonhub_created_objects$
DECLARE
  left_behind jsonb;
  mark jsonb := nullif(pg_catalog.current_setting('${BOOKKEEPING_SCHEMA}.${MARK_SETTING}', true), '')::jsonb;
  catalog_mark oid := (mark ->> 'oid')::oid;
  columns_before jsonb := mark -> 'columns';
  down_start jsonb := nullif(pg_catalog.current_setting('${DOWN_START_SETTING}', true), '')::jsonb;
  started jsonb := CASE WHEN down_start ->> 'migration' = ${literal(migration)} THEN down_start -> 'objects' END;
BEGIN
  IF pg_catalog.to_regclass('${TABLE}') IS NULL THEN RETURN; END IF;
  SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('kind', o.kind, 'schema', o.schema_name, 'table', o.table_name,
                                                            'name', o.name, 'arguments', o.arguments, 'renamedTo',
                                                            CASE WHEN cur.place <> ${RECORDED_PLACE} THEN cur.place END)
                              ORDER BY o.schema_name COLLATE "C", o.table_name COLLATE "C" NULLS FIRST, o.name COLLATE "C", o.kind)
    INTO left_behind FROM ${TABLE} o
         CROSS JOIN LATERAL (SELECT CASE WHEN started ? (${recordKey("o")}) THEN ${ADDRESS_BY_OID} END AS names) now_at
         CROSS JOIN LATERAL (SELECT ${placeOf("now_at.names")} AS place) cur
   WHERE o.migration = ${literal(migration)} AND (cur.place IS NOT NULL OR ${STILL_THERE});
  IF left_behind IS NOT NULL THEN
    RAISE EXCEPTION 'the Down section left behind objects its Up section created' USING ERRCODE = '${DOWN_LEFT_BEHIND}', DETAIL = left_behind::text;
  END IF;
  DELETE FROM ${TABLE} WHERE migration = ${literal(migration)};
END $neonhub_created_objects$;`;
}

const BEGIN = "BEGIN;";
/** node-pg-migrate's ledger statements (its 8.x Migration: `VALUES ('<name>', NOW())`, `WHERE name='<name>'`). */
const LEDGER_INSERT = new RegExp(
  String.raw`^INSERT INTO "${BOOKKEEPING_SCHEMA}"\."${MIGRATIONS_TABLE}" \(name, run_on\) VALUES \('([^']*)'`,
);
const LEDGER_DELETE = new RegExp(
  String.raw`^DELETE FROM "${BOOKKEEPING_SCHEMA}"\."${MIGRATIONS_TABLE}" WHERE name='([^']*)'`,
);

/**
 * A client for node-pg-migrate (it needs only `query`). Both directions mark the catalogs after each `BEGIN;`
 * (the runner sends the mark in the message of the BEGIN, transaction-messages.ts: no round trip more).
 * Up: records what the section created before its ledger row. Down: checks before the ledger row's deletion
 * that the section left none of it. Everything else goes out as it comes.
 */
export function withCreatedObjects(
  client: Pick<ClientBase, "query">,
  direction: "up" | "down",
): Pick<ClientBase, "query"> {
  const send = client.query.bind(client) as unknown as Query;
  const query: Query = async (config, values) => {
    const text = typeof config === "string" && values === undefined ? config : undefined;
    if (text === undefined) return send(config, values);
    if (text === BEGIN) {
      const begun = await send(text);
      await send(direction === "up" ? MARK_BEFORE : MARK_BEFORE_DOWN);
      return begun;
    }
    if (direction === "up") {
      const inserted = LEDGER_INSERT.exec(text);
      if (inserted) await send(recordSql(inserted[1]!));
    } else {
      const deleted = LEDGER_DELETE.exec(text);
      if (deleted) await send(checkSql(deleted[1]!));
    }
    return send(config, values);
  };
  return { query } as Pick<ClientBase, "query">;
}

/** One object a Down section left behind, as the check's detail holds it. */
export interface LeftObject {
  kind: string;
  schema: string;
  /** The table of a column, constraint, trigger or policy. */
  table: string | null;
  name: string;
  /** A function's, procedure's or aggregate's identity arguments (pg_get_function_identity_arguments). */
  arguments: string | null;
  /**
   * Where it is now when the Down section renamed it (or moved it to another schema, or renamed its table)
   * rather than dropping it; absent or null when it is where the record says.
   */
  renamedTo?: ObjectPlace | null;
}

/** An object's schema, table (a column's, constraint's, trigger's or policy's) and name. */
export interface ObjectPlace {
  schema: string;
  table: string | null;
  name: string;
}

/** `public."Widget".flag`, or a schema's name alone. */
function qualifiedName(kind: string, p: ObjectPlace): string {
  if (kind === "schema") return shownName(p.name);
  return `${shownName(p.schema)}.${p.table === null ? "" : `${shownName(p.table)}.`}${shownName(p.name)}`;
}

/**
 * The object as report lines name it (core/shown-names.ts): `index public.widget_flag_idx`, and where a rename
 * left it: `table public.notes (its Down section renames it to public.notes_old)`; a column whose table the
 * Down section renamed back, but which it did not drop: `column public.notes_v2.flag (its Down section
 * renames its table: now public.notes.flag)`.
 */
export function shownLeftObject(o: LeftObject): string {
  const shown = `${o.kind} ${qualifiedName(o.kind, o)}${o.arguments === null ? "" : `(${o.arguments})`}`;
  return o.renamedTo ? `${shown} (${howDownMoved(o, o.renamedTo)})` : shown;
}

/** What the Down section did that left the object where it is now: renamed it, its table, or moved either. */
function howDownMoved(o: LeftObject, to: ObjectPlace): string {
  const now = qualifiedName(o.kind, to);
  if (to.name !== o.name) return `its Down section renames it to ${now}`;
  if (to.table !== o.table) return `its Down section renames its table: now ${now}`;
  return `its Down section moves ${o.table === null ? "it" : "its table"} to schema ${shownName(to.schema)}: now ${now}`;
}

/** The statement that drops it where it is now (after the Down section's rename, if any), for the fix. */
export function dropStatement(left: LeftObject): string {
  const o = left.renamedTo ? { ...left, ...left.renamedTo } : left;
  const table = o.table === null ? "" : `${shownName(o.schema)}.${shownName(o.table)}`;
  const name = `${shownName(o.schema)}.${shownName(o.name)}`;
  switch (o.kind) {
    case "schema":
      return `DROP SCHEMA ${shownName(o.name)};`;
    case "column":
      return `ALTER TABLE ${table} DROP COLUMN ${shownName(o.name)};`;
    case "constraint":
      return `ALTER TABLE ${table} DROP CONSTRAINT ${shownName(o.name)};`;
    case "trigger":
    case "policy":
      return `DROP ${o.kind.toUpperCase()} ${shownName(o.name)} ON ${table};`;
    case "function":
    case "procedure":
    case "aggregate":
      return `DROP ${o.kind.toUpperCase()} ${name}(${o.arguments ?? ""});`;
    default:
      return `DROP ${o.kind.toUpperCase()} ${name};`;
  }
}

/** The objects in the check's error (its detail), or undefined when the error is not the check's. */
export function leftObjectsOf(error: unknown): LeftObject[] | undefined {
  const { code, detail } = (error ?? {}) as { code?: string; detail?: string };
  if (code !== DOWN_LEFT_BEHIND || !detail) return undefined;
  try {
    return JSON.parse(detail) as LeftObject[];
  } catch {
    return undefined;
  }
}

/**
 * The revert's refusal of a Down section that left behind what its Up section created: the migration, each
 * object, and the fix (the DROP of each in its Down section, then the revert again with --corrected-down, which
 * runs the Down section as the file has it now). `finished`: the migrations after it this revert did revert;
 * `rerun`: the revert to run again, printed (MigrationFailure.rerun).
 */
export function leftBehindError(
  error: unknown,
  file: MigrationFile,
  left: readonly LeftObject[],
  finished: number,
  rerun?: RevertRerun,
): ReleaseError {
  const renamed = left.some((o) => o.renamedTo);
  const message = [
    `Refusing to revert migration ${file.name}.sql: its Down section leaves behind ${left.length === 1 ? "an object" : `${left.length} objects`} its Up section created, which the next apply of it would fail on ("already exists")${renamed ? " or make a second time beside what it keeps under another name" : ""}:`,
    ...left.map((o) => `- ${shownLeftObject(o)}`),
  ].join("\n");
  const fix = [
    `Its transaction was rolled back (it is still applied${finished > 0 ? `; the ${finished} migration(s) after it are reverted` : ""}).`,
    `Add to the Down section of ${file.name}.sql, leaving its Up section as it is: ${left.map(dropStatement).join(" ")}`,
    // A rename keeps the object under another name, which the next apply's Up section does not see.
    ...(renamed
      ? [
          "What it renames stays under the new name: these statements drop it after the rename (dropping it by its old name in place of the rename does the same).",
        ]
      : []),
    `Then ${revertAgain(rerun, ` with ${CORRECTED_DOWN_FLAG} ${file.name}`)}.`,
  ].join(" ");
  const problem: PlanProblem = {
    section: "migrations",
    kind: DOWN_LEFT_BEHIND_KIND,
    message: `${file.name}: its Down section leaves behind ${left.map(shownLeftObject).join(", ")}`,
    fix,
  };
  return new ReleaseError("migration-failed", message, fix, {
    cause: error,
    problems: [problem],
    failedMigration: {
      name: file.name,
      checksum: file.checksum,
      direction: "down",
      sqlstate: DOWN_LEFT_BEHIND,
      line: null,
      statement: null,
      finished,
    },
  });
}
