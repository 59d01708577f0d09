// A migration whose Down section does not undo all its Up section did. A revert refuses it before that section
// commits (core/migrations/created-objects.ts): the migration stays applied, the ledger, the snapshot and the
// schema as they were, and the error names each object left and the DROP to add. A migration applied before
// that record existed reverts as it did: the revert ends cleanly, and the next apply fails on what was left,
// with a fix that says so (correct the Down section, build the database again). The CLI on a real database.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { shellWord } from "../../core";
import { runCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { dumpSchema, pgTool } from "../support/migrations";
import { scratchDir } from "../support/scratch";

const GADGETS = "20250101000300_gadgets";
const FLAG = "20250101000400_widget_flag";

interface ErrorDocument {
  error: {
    code: string;
    message: string;
    fix: string;
    problems?: { section: string; kind: string; message: string; fix: string }[];
    failedMigration?: { name: string; direction: string; sqlstate: string | null; finished: number };
  };
}

/** Everything a refused revert must leave as it was: the schema, the ledger, the snapshot and the record. */
async function releaseState(url: string) {
  return withClient(url, async (c) => ({
    schema: await dumpSchema(url),
    ledger: (await c.query("SELECT * FROM neonhub_release.migrations ORDER BY id")).rows,
    snapshot: (await c.query("SELECT taken_at, last_migration, objects FROM neonhub_release.schema_snapshot"))
      .rows,
    record: (
      await c.query(
        "SELECT migration, kind, object_oid, column_number, schema_name, table_name, name, arguments FROM neonhub_release.created_objects ORDER BY 1, 2, 3, 4",
      )
    ).rows,
  }));
}

/** What the record holds of `migration`: `kind schema.[table.]name[(arguments)]`, sorted. */
async function recorded(url: string, migration: string): Promise<string[]> {
  const { rows } = await withClient(url, (c) =>
    c.query<{ what: string }>(
      `SELECT kind || ' ' || schema_name || '.' || coalesce(table_name || '.', '') || name || coalesce('(' || arguments || ')', '') AS what
         FROM neonhub_release.created_objects WHERE migration = $1`,
      [migration],
    ),
  );
  // Sorted by code point, whatever the database's collation.
  return rows.map((r) => r.what).sort();
}

/** The fix the refusals give, followed: the flag column's DROP added to the Down section after its index's. */
function dropFlagColumnToo(file: string): void {
  writeFileSync(
    file,
    readFileSync(file, "utf8").replace(
      "DROP INDEX widget_flag_idx;",
      'DROP INDEX widget_flag_idx;\nALTER TABLE "Widget" DROP COLUMN flag;',
    ),
  );
}

describe("a Down section that leaves part of its Up section behind", () => {
  const db = useTestDatabase("leftbehind");
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--migrations-dir", dir, "--json"], { DATABASE_URL: db.current.url });
  const ledger = () =>
    withClient(db.current.url, (c) =>
      c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id"),
    ).then((r) => r.rows.map((row) => row.name));

  it("is refused before it commits, naming the column left and the DROP to add; followed, the fix reverts", async () => {
    const file = writeMigration(
      dir,
      `${FLAG}.sql`,
      'ALTER TABLE "Widget" ADD COLUMN flag int;\nCREATE INDEX widget_flag_idx ON "Widget" (flag);',
      "DROP INDEX widget_flag_idx;",
    );
    expect((await cli("apply")).code).toBe(0);
    // The column, not its index: dropping the column drops the index.
    expect(await recorded(db.current.url, FLAG)).toEqual([
      "column public.Widget.flag",
      "index public.widget_flag_idx",
    ]);
    const before = await releaseState(db.current.url);

    const revert = await cli("revert", "--to", GADGETS, "--confirm", "--expect-last", FLAG);
    expect(revert.code).toBe(1);
    const { error } = JSON.parse(revert.stdout) as ErrorDocument;
    expect(error.code).toBe("migration-failed");
    expect(error.message).toBe(
      `Refusing to revert migration ${FLAG}.sql: its Down section leaves behind an object its Up section created, which the next apply of it would fail on ("already exists"):\n` +
        '- column public."Widget".flag',
    );
    const fix =
      "Its transaction was rolled back (it is still applied). " +
      `Add to the Down section of ${FLAG}.sql, leaving its Up section as it is: ALTER TABLE public."Widget" DROP COLUMN flag; ` +
      // The revert to run again is the one run, printed as it was given (its --expect-last still holds).
      `Then run \`neonhub-db revert --to ${GADGETS} --confirm --expect-last ${FLAG} --migrations-dir ${dir} --json\` again with --corrected-down ${FLAG}.`;
    expect(error.fix).toBe(fix);
    expect(error.problems).toEqual([
      {
        section: "migrations",
        kind: "down-leaves-behind",
        message: `${FLAG}: its Down section leaves behind column public."Widget".flag`,
        fix,
      },
    ]);
    expect(error.failedMigration).toMatchObject({
      name: FLAG,
      direction: "down",
      sqlstate: "NHDL1",
      finished: 0,
    });
    // Nothing changed: the index its Down section dropped is back, the ledger, snapshot and record as they were.
    expect(await releaseState(db.current.url)).toEqual(before);

    // The fix, followed: the DROP added to the Down section, the revert run again with --corrected-down.
    dropFlagColumnToo(file);
    const corrected = await cli(
      "revert",
      ...["--to", GADGETS, "--confirm", "--expect-last", FLAG, "--corrected-down", FLAG],
    );
    expect(corrected.code, corrected.stdout).toBe(0);
    expect((await ledger()).at(-1)).toBe(GADGETS);
    expect(await recorded(db.current.url, FLAG)).toEqual([]);
    const again = await cli("apply");
    expect(again.code, again.stdout).toBe(0);
    expect(await recorded(db.current.url, FLAG)).toEqual([
      "column public.Widget.flag",
      "index public.widget_flag_idx",
    ]);
  });
});

describe("a Down section that forgets an index", () => {
  const db = useTestDatabase("leftindex");
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--migrations-dir", dir, "--json"], { DATABASE_URL: db.current.url });
  const NAME_INDEX = "20250101000500_widget_name_index";

  it("is refused after the Down sections after it are reverted, naming the index", async () => {
    writeMigration(dir, `${FLAG}.sql`, 'CREATE INDEX "Widget_name_idx" ON "Widget" (name);', "SELECT 1;");
    writeMigration(dir, `${NAME_INDEX}.sql`, 'CREATE TABLE "Part" (id int);', 'DROP TABLE "Part";');
    expect((await cli("apply")).code).toBe(0);
    const revert = await cli("revert", "--to", GADGETS, "--confirm", "--expect-last", NAME_INDEX);
    expect(revert.code).toBe(1);
    const { error } = JSON.parse(revert.stdout) as ErrorDocument;
    expect(error.message).toContain(`Refusing to revert migration ${FLAG}.sql`);
    expect(error.message.split("\n").slice(1)).toEqual(['- index public."Widget_name_idx"']);
    // The confirm as run would be refused now (its --expect-last is reverted): the fix names where the ledger ends.
    const printed = `neonhub-db revert --to ${GADGETS} --migrations-dir ${dir} --json --confirm --expect-last ${FLAG}`;
    expect(error.fix).toBe(
      "Its transaction was rolled back (it is still applied; the 1 migration(s) after it are reverted). " +
        `Add to the Down section of ${FLAG}.sql, leaving its Up section as it is: DROP INDEX public."Widget_name_idx"; ` +
        `Then run \`${printed}\` again with --corrected-down ${FLAG} (its --expect-last names the migration the ledger ends at now).`,
    );
    expect(error.failedMigration).toMatchObject({ name: FLAG, finished: 1 });
    // The later migration's revert committed, this one's did not; verify finds the schema as the ledger says.
    const { rows } = await withClient(db.current.url, (c) =>
      c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id DESC LIMIT 1"),
    );
    expect(rows[0]!.name).toBe(FLAG);
    const verify = await cli("verify");
    expect(verify.code, verify.stdout).toBe(0);

    // Corrected as the fix says, the printed rerun with --corrected-down reverts the rest.
    writeMigration(
      dir,
      `${FLAG}.sql`,
      'CREATE INDEX "Widget_name_idx" ON "Widget" (name);',
      'DROP INDEX "Widget_name_idx";',
    );
    const rest = await runCli([...printed.split(" ").slice(1), "--corrected-down", FLAG], {
      DATABASE_URL: db.current.url,
    });
    expect(rest.code, rest.stdout).toBe(0);
    const after = await withClient(db.current.url, (c) =>
      c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id DESC LIMIT 1"),
    );
    expect(after.rows[0]!.name).toBe(GADGETS);
  });
});

describe("what an Up section created, and what it only changed", () => {
  const db = useTestDatabase("createdrecord");
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--migrations-dir", dir, "--json"], { DATABASE_URL: db.current.url });
  const LABEL = "20250101000400_widget_label";
  const MANY = "20250101000500_many_kinds";
  const REPLACE = "20250101000600_replace";

  it("records each object it created alone, refuses a Down section that keeps them, and passes one that puts back what it replaced", async () => {
    writeMigration(
      dir,
      `${LABEL}.sql`,
      "CREATE FUNCTION widget_label(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT upper(t)';",
      "DROP FUNCTION widget_label(text);",
    );
    writeMigration(
      dir,
      `${MANY}.sql`,
      [
        "CREATE SCHEMA archive;",
        "CREATE TABLE archive.old (id int PRIMARY KEY);",
        'CREATE TABLE "Part" (id serial PRIMARY KEY, name text);',
        'CREATE INDEX part_name ON "Part" (name);',
        'CREATE VIEW widget_names AS SELECT name FROM "Widget";',
        "CREATE SEQUENCE ticket_seq;",
        'ALTER TABLE "Widget" ADD COLUMN serial_no serial, ADD COLUMN note text;',
        'ALTER TABLE "Widget" ADD CONSTRAINT widget_name_unique UNIQUE (name);',
        'CREATE INDEX "Gadget_id_idx" ON "Gadget" (id);',
        "CREATE TYPE mood AS ENUM ('calm');",
        "CREATE DOMAIN short_text AS text CHECK (length(VALUE) < 10);",
        "DO $$ BEGIN CREATE TYPE size AS ENUM ('s'); EXCEPTION WHEN duplicate_object THEN NULL; END $$;",
        "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';",
        'CREATE TRIGGER widget_touch BEFORE UPDATE ON "Widget" FOR EACH ROW EXECUTE FUNCTION touch();',
        'CREATE POLICY widget_all ON "Widget" USING (true);',
        // Changed, not created: none of these is the migration's to drop.
        'ALTER TABLE "Gadget" ALTER COLUMN id TYPE varchar(200);',
        "CREATE OR REPLACE FUNCTION widget_label(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower(t)';",
        "ALTER FUNCTION widget_label(text) SET search_path = public;",
        'ALTER TABLE "Gadget" SET (fillfactor = 90);',
        "COMMENT ON TABLE \"Widget\" IS 'widgets';",
      ].join("\n"),
      "SELECT 1;",
    );
    const applied = await cli("apply");
    expect(applied.code, applied.stdout).toBe(0);
    expect(await recorded(db.current.url, LABEL)).toEqual(["function public.widget_label(t text)"]);
    expect(await recorded(db.current.url, MANY)).toEqual([
      "column public.Widget.note",
      "column public.Widget.serial_no",
      "constraint public.Widget.widget_name_unique",
      "domain public.short_text",
      "function public.touch()",
      "index public.Gadget_id_idx",
      "policy public.Widget.widget_all",
      "schema archive.archive",
      "sequence public.ticket_seq",
      "table public.Part",
      "trigger public.Widget.widget_touch",
      "type public.mood",
      "type public.size",
      "view public.widget_names",
    ]);

    const refused = await cli("revert", "--to", LABEL, "--confirm", "--expect-last", MANY);
    expect(refused.code).toBe(1);
    const { error } = JSON.parse(refused.stdout) as ErrorDocument;
    // By schema, table and name, as code points order them.
    expect(error.message.split("\n").slice(1)).toEqual([
      "- schema archive",
      '- index public."Gadget_id_idx"',
      '- table public."Part"',
      "- type public.mood",
      "- domain public.short_text",
      "- type public.size",
      "- sequence public.ticket_seq",
      "- function public.touch()",
      "- view public.widget_names",
      '- column public."Widget".note',
      '- column public."Widget".serial_no',
      '- policy public."Widget".widget_all',
      '- constraint public."Widget".widget_name_unique',
      '- trigger public."Widget".widget_touch',
    ]);
    expect(error.fix).toContain(
      'DROP SCHEMA archive; DROP INDEX public."Gadget_id_idx"; DROP TABLE public."Part"; DROP TYPE public.mood; ' +
        "DROP DOMAIN public.short_text; DROP TYPE public.size; DROP SEQUENCE public.ticket_seq; DROP FUNCTION public.touch(); " +
        'DROP VIEW public.widget_names; ALTER TABLE public."Widget" DROP COLUMN note; ' +
        'ALTER TABLE public."Widget" DROP COLUMN serial_no; DROP POLICY widget_all ON public."Widget"; ' +
        'ALTER TABLE public."Widget" DROP CONSTRAINT widget_name_unique; DROP TRIGGER widget_touch ON public."Widget";',
    );

    // The Down section corrected as the fix says, with the changes it undoes, is accepted.
    const file = `${dir}/${MANY}.sql`;
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        "-- Down Migration\nSELECT 1;",
        [
          "-- Down Migration",
          'COMMENT ON TABLE "Widget" IS NULL;',
          'ALTER TABLE "Gadget" RESET (fillfactor);',
          "CREATE OR REPLACE FUNCTION widget_label(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT upper(t)';",
          "ALTER FUNCTION widget_label(text) RESET search_path;",
          'DROP POLICY widget_all ON "Widget";',
          'DROP TRIGGER widget_touch ON "Widget";',
          "DROP FUNCTION touch();",
          "DROP TYPE size; DROP TYPE mood; DROP DOMAIN short_text;",
          'DROP INDEX "Gadget_id_idx";',
          'ALTER TABLE "Widget" DROP CONSTRAINT widget_name_unique, DROP COLUMN serial_no, DROP COLUMN note;',
          'ALTER TABLE "Gadget" ALTER COLUMN id TYPE text;',
          'DROP SEQUENCE ticket_seq; DROP VIEW widget_names; DROP TABLE "Part"; DROP SCHEMA archive CASCADE;',
        ].join("\n"),
      ),
    );
    const reverted = await cli(
      "revert",
      ...["--to", LABEL, "--confirm", "--expect-last", MANY, "--corrected-down", MANY],
    );
    expect(reverted.code, reverted.stdout).toBe(0);

    // An index dropped and made again (an earlier migration's, with another definition) is not one the
    // migration created: its Down section puts the earlier one back under that name, and the revert passes.
    writeMigration(
      dir,
      `${REPLACE}.sql`,
      'DROP INDEX gadget_widget;\nCREATE INDEX gadget_widget ON "Gadget" ("widgetId", id);',
      'DROP INDEX gadget_widget;\nCREATE INDEX gadget_widget ON "Gadget" ("widgetId");',
    );
    expect((await cli("apply")).code).toBe(0);
    expect(await recorded(db.current.url, REPLACE)).toEqual([]);
    const replaced = await cli("revert", "--to", MANY, "--confirm", "--expect-last", REPLACE);
    expect(replaced.code, replaced.stdout).toBe(0);
  });
});

describe("a Down section that renames what its Up section created", () => {
  const db = useTestDatabase("leftrenamed");
  const RENAMES = "20250101000400_renames";
  // Made by the Up section: a table, an index on a table that was there, a column, a function.
  const made = [
    "CREATE TABLE widget_notes (id int PRIMARY KEY);",
    'CREATE INDEX widget_name_idx3 ON "Widget" (name);',
    'ALTER TABLE "Widget" ADD COLUMN flag int;',
    "CREATE FUNCTION widget_note(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT t';",
    // Renamed by the Up section, not created: its Down section renames it back, as it should, but leaves the
    // column the Up section added to it, which the refusal names where the rename back left it.
    'ALTER TABLE "Gadget" RENAME TO "Gizmo";',
    'ALTER TABLE "Gizmo" ADD COLUMN extra int;',
  ].join("\n");
  const renames = [
    'ALTER TABLE "Gizmo" RENAME TO "Gadget";',
    "ALTER TABLE widget_notes RENAME TO widget_notes_old;",
    "ALTER INDEX widget_name_idx3 RENAME TO widget_name_idx3_old;",
    'ALTER TABLE "Widget" RENAME COLUMN flag TO flag_old;',
    "ALTER FUNCTION widget_note(text) RENAME TO widget_note_old;",
  ].join("\n");
  const left = [
    "- index public.widget_name_idx3 (its Down section renames it to public.widget_name_idx3_old)",
    "- function public.widget_note(t text) (its Down section renames it to public.widget_note_old)",
    "- table public.widget_notes (its Down section renames it to public.widget_notes_old)",
    '- column public."Gizmo".extra (its Down section renames its table: now public."Gadget".extra)',
    '- column public."Widget".flag (its Down section renames it to public."Widget".flag_old)',
  ];
  const drops =
    "DROP INDEX public.widget_name_idx3_old; DROP FUNCTION public.widget_note_old(t text); " +
    'DROP TABLE public.widget_notes_old; ALTER TABLE public."Gadget" DROP COLUMN extra; ' +
    'ALTER TABLE public."Widget" DROP COLUMN flag_old;';

  /** The Down section as the fix says: the DROP of each, after the renames. */
  const followFix = (file: string) =>
    writeFileSync(file, readFileSync(file, "utf8").replace(renames, `${renames}\n${drops}`));

  it("is refused, naming each object where the rename left it and the DROP that finds it; the renamed-back table is not named, its column is where it is now", async () => {
    const dir = fixtureMigrationsCopy();
    const file = writeMigration(dir, `${RENAMES}.sql`, made, renames);
    const cli = (...args: string[]) =>
      runCli([...args, "--migrations-dir", dir, "--json"], { DATABASE_URL: db.current.url });
    expect((await cli("apply")).code).toBe(0);
    expect(await recorded(db.current.url, RENAMES)).toEqual([
      "column public.Gizmo.extra",
      "column public.Widget.flag",
      "function public.widget_note(t text)",
      "index public.widget_name_idx3",
      "table public.widget_notes",
    ]);
    const before = await releaseState(db.current.url);

    const refused = await cli("revert", "--to", GADGETS, "--confirm", "--expect-last", RENAMES);
    expect(refused.code, refused.stdout).toBe(1);
    const { error } = JSON.parse(refused.stdout) as ErrorDocument;
    expect(error.failedMigration).toMatchObject({ name: RENAMES, sqlstate: "NHDL1", finished: 0 });
    expect(error.message.split("\n")[0]).toContain(
      '("already exists") or make a second time beside what it keeps under another name:',
    );
    expect(error.message.split("\n").slice(1)).toEqual(left);
    expect(error.fix).toBe(
      "Its transaction was rolled back (it is still applied). " +
        `Add to the Down section of ${RENAMES}.sql, leaving its Up section as it is: ${drops} ` +
        "What it renames stays under the new name: these statements drop it after the rename (dropping it by its old name in place of the rename does the same). " +
        `Then run \`neonhub-db revert --to ${GADGETS} --confirm --expect-last ${RENAMES} --migrations-dir ${dir} --json\` again with --corrected-down ${RENAMES}.`,
    );
    expect(error.problems![0]!.message).toBe(
      `${RENAMES}: its Down section leaves behind ${left.map((l) => l.slice(2)).join(", ")}`,
    );
    expect(await releaseState(db.current.url)).toEqual(before);

    // The fix, followed: the revert passes, "Gadget" is back, and the migration applies again.
    followFix(file);
    const corrected = await cli(
      "revert",
      ...["--to", GADGETS, "--confirm", "--expect-last", RENAMES, "--corrected-down", RENAMES],
    );
    expect(corrected.code, corrected.stdout).toBe(0);
    expect(await recorded(db.current.url, RENAMES)).toEqual([]);
    const names = await withClient(db.current.url, (c) =>
      c.query<{ n: string | null; g: string | null }>(
        `SELECT to_regclass('"Gadget"')::text AS g, to_regclass('widget_notes_old')::text AS n`,
      ),
    );
    expect(names.rows[0]).toEqual({ g: '"Gadget"', n: null });
    const again = await cli("apply");
    expect(again.code, again.stdout).toBe(0);
  });
});

describe("what its Up section created, found by name where the oid is new", () => {
  const db = useTestDatabase("leftbyname");
  const LABEL = "20250101000400_widget_label";
  const LOWER = "20250101000500_label_lower";
  const NAME_INDEX = "20250101000400_widget_name_index";
  const upper =
    "CREATE FUNCTION widget_label(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT upper(t)';";

  it("in a database restored from pg_dump: refuses what the Down section leaves, passes what it made again", async () => {
    const dir = fixtureMigrationsCopy();
    writeMigration(dir, `${LABEL}.sql`, upper, "DROP FUNCTION widget_label(text);");
    const file = writeMigration(
      dir,
      `${LOWER}.sql`,
      [
        "DROP FUNCTION widget_label(text);",
        "CREATE FUNCTION widget_label(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT lower(t)';",
        'ALTER TABLE "Widget" ADD COLUMN flag int;',
        'CREATE INDEX widget_flag_idx ON "Widget" (flag);',
      ].join("\n"),
      ["DROP INDEX widget_flag_idx;", "DROP FUNCTION widget_label(text);", upper].join("\n"),
    );
    const onSource = (...args: string[]) =>
      runCli([...args, "--migrations-dir", dir, "--json"], { DATABASE_URL: db.current.url });
    expect((await onSource("apply")).code).toBe(0);
    expect(await recorded(db.current.url, LOWER)).toEqual([
      "column public.Widget.flag",
      "function public.widget_label(t text)",
      "index public.widget_flag_idx",
    ]);
    const dump = path.join(scratchDir("leftbyname"), "source.dump");
    expect(await pgTool("pg_dump", db.current.url, ["-Fc", "-f", dump])).toBe(0);
    const restored = await createTestDatabase("leftbyname");
    try {
      expect(await pgTool("pg_restore", restored.url, [dump])).toBe(0);
      const cli = (...args: string[]) =>
        runCli([...args, "--migrations-dir", dir, "--json"], { DATABASE_URL: restored.url });
      // Every oid is new: the record's match none of them, and the column is found by its table and name.
      const before = await releaseState(restored.url);
      const refused = await cli("revert", "--to", LABEL, "--confirm", "--expect-last", LOWER);
      expect(refused.code, refused.stdout).toBe(1);
      const { error } = JSON.parse(refused.stdout) as ErrorDocument;
      // The function its Down section made again (the earlier definition) and the index it dropped pass.
      expect(error.message.split("\n").slice(1)).toEqual(['- column public."Widget".flag']);
      expect(error.fix).toContain('ALTER TABLE public."Widget" DROP COLUMN flag;');
      expect(await releaseState(restored.url)).toEqual(before);

      // Corrected, it reverts, and so does the migration before it, whose function is the one made again.
      dropFlagColumnToo(file);
      const corrected = await cli(
        "revert",
        ...["--to", LABEL, "--confirm", "--expect-last", LOWER, "--corrected-down", LOWER],
      );
      expect(corrected.code, corrected.stdout).toBe(0);
      const first = await cli("revert", "--to", GADGETS, "--confirm", "--expect-last", LABEL);
      expect(first.code, first.stdout).toBe(0);
      expect(await recorded(restored.url, LABEL)).toEqual([]);
    } finally {
      await dropTestDatabase(restored);
    }
  });

  it("in a database restored from pg_dump: refuses a Down section that only alters what its Up section created, as the same database does", async () => {
    const NOTES = "20250101000400_widget_notes";
    const dir = fixtureMigrationsCopy();
    const made = {
      table: "CREATE TABLE widget_notes (id int PRIMARY KEY, note text);",
      index: 'CREATE INDEX widget_name_lower_idx ON "Widget" (lower(name));',
      fn: "CREATE FUNCTION widget_note(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT t';",
      column: 'ALTER TABLE "Widget" ADD COLUMN note_count int;',
    };
    // Each changes an object the Up section created, which stays; all but the COMMENT rewrite its catalog row,
    // as one dropped and made again has it.
    const altersOnly = [
      "ALTER TABLE widget_notes SET (fillfactor = 90);",
      "COMMENT ON TABLE widget_notes IS 'still here';",
      "ALTER INDEX widget_name_lower_idx SET (fillfactor = 80);",
      "ALTER FUNCTION widget_note(text) SET search_path = public;",
      'ALTER TABLE "Widget" ALTER COLUMN note_count SET STATISTICS 200;',
    ].join("\n");
    const file = writeMigration(dir, `${NOTES}.sql`, Object.values(made).join("\n"), altersOnly);
    const on =
      (url: string) =>
      (...args: string[]) =>
        runCli([...args, "--migrations-dir", dir, "--json"], { DATABASE_URL: url });
    const source = await createTestDatabase("leftaltered");
    const restored = await createTestDatabase("leftaltered");
    try {
      expect((await on(source.url)("apply")).code).toBe(0);
      const dump = path.join(scratchDir("leftaltered"), "source.dump");
      expect(await pgTool("pg_dump", source.url, ["-Fc", "-f", dump])).toBe(0);
      expect(await pgTool("pg_restore", restored.url, [dump])).toBe(0);
      const left = [
        "- index public.widget_name_lower_idx",
        "- function public.widget_note(t text)",
        "- table public.widget_notes",
        '- column public."Widget".note_count',
      ];
      // Restored (every oid new, found by name) and where they were made (found by oid): refused alike.
      for (const url of [restored.url, source.url]) {
        const before = await releaseState(url);
        const refused = await on(url)("revert", "--to", GADGETS, "--confirm", "--expect-last", NOTES);
        expect(refused.code, refused.stdout).toBe(1);
        const { error } = JSON.parse(refused.stdout) as ErrorDocument;
        expect(error.failedMigration).toMatchObject({ name: NOTES, sqlstate: "NHDL1" });
        expect(error.message.split("\n").slice(1)).toEqual(left);
        expect(error.fix).toContain("DROP TABLE public.widget_notes;");
        expect(await releaseState(url)).toEqual(before);
      }

      // A Down section that drops each and makes it again (as one putting back an earlier definition does)
      // passes on both: what it made has an oid past the mark its BEGIN took (a column, a number past the count).
      writeFileSync(
        file,
        `-- Up Migration\n${Object.values(made).join("\n")}\n\n-- Down Migration\n` +
          [
            "DROP TABLE widget_notes;",
            made.table,
            "DROP INDEX widget_name_lower_idx;",
            made.index,
            "DROP FUNCTION widget_note(text);",
            made.fn,
            'ALTER TABLE "Widget" DROP COLUMN note_count;',
            made.column,
          ].join("\n") +
          "\n",
      );
      for (const url of [restored.url, source.url]) {
        const reverted = await on(url)(
          "revert",
          ...["--to", GADGETS, "--confirm", "--expect-last", NOTES, "--corrected-down", NOTES],
        );
        expect(reverted.code, reverted.stdout).toBe(0);
        expect(await recorded(url, NOTES)).toEqual([]);
      }
    } finally {
      await dropTestDatabase(restored);
      await dropTestDatabase(source);
    }
  });

  it("after REINDEX CONCURRENTLY: refuses the index the Down section leaves", async () => {
    const dir = fixtureMigrationsCopy();
    writeMigration(
      dir,
      `${NAME_INDEX}.sql`,
      'CREATE INDEX widget_name_idx2 ON "Widget" (name);',
      "SELECT 1;",
    );
    const fresh = await createTestDatabase("leftreindex");
    try {
      const cli = (...args: string[]) =>
        runCli([...args, "--migrations-dir", dir, "--json"], { DATABASE_URL: fresh.url });
      expect((await cli("apply")).code).toBe(0);
      await withClient(fresh.url, (c) => c.query("REINDEX INDEX CONCURRENTLY widget_name_idx2"));
      const refused = await cli("revert", "--to", GADGETS, "--confirm", "--expect-last", NAME_INDEX);
      expect(refused.code, refused.stdout).toBe(1);
      const { error } = JSON.parse(refused.stdout) as ErrorDocument;
      expect(error.message.split("\n").slice(1)).toEqual(["- index public.widget_name_idx2"]);
    } finally {
      await dropTestDatabase(fresh);
    }
  });
});

describe("a migration applied before the record of what it created existed", () => {
  const db = useTestDatabase("leftbehindold");
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--migrations-dir", dir, "--json"], { DATABASE_URL: db.current.url });
  const ledger = () =>
    withClient(db.current.url, (c) =>
      c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id"),
    ).then((r) => r.rows.map((row) => row.name));

  it("reverts as before, and the next apply names the Down section and the way out, which works", async () => {
    const file = writeMigration(
      dir,
      `${FLAG}.sql`,
      'ALTER TABLE "Widget" ADD COLUMN flag int;\nCREATE INDEX widget_flag_idx ON "Widget" (flag);',
      "DROP INDEX widget_flag_idx;",
    );
    expect((await cli("apply")).code).toBe(0);
    // The bookkeeping as an earlier release left it: no record, and another version's comment.
    await withClient(db.current.url, (c) =>
      c.query(
        `DROP TABLE neonhub_release.created_objects;
         DROP FUNCTION neonhub_release.record_created_objects(text), neonhub_release.mark_catalogs_before_migration(),
                       neonhub_release.made_in_this_transaction(xid);
         COMMENT ON SCHEMA neonhub_release IS 'neonhub-db bookkeeping 2 (an earlier release)'`,
      ),
    );
    const revert = await cli("revert", "--to", GADGETS, "--confirm", "--expect-last", FLAG);
    expect(revert.code, revert.stderr).toBe(0);
    expect((await ledger()).at(-1)).toBe(GADGETS);

    const again = await cli("apply");
    expect(again.code).toBe(1);
    const { error } = JSON.parse(again.stdout) as ErrorDocument;
    expect(error.code).toBe("migration-failed");
    expect(error.message).toContain(
      `Migration ${FLAG}.sql failed at line 2 (statement 1 of its Up section): column "flag" of relation "Widget" already exists`,
    );
    expect(error.fix).toBe(
      "Its transaction was rolled back (nothing of it is applied). The database already has what the statement creates. " +
        `If ${FLAG} was applied here and reverted, its Down section left it behind: correct that section to undo all its Up section does, while no other database has applied the file. ` +
        "Since that revert, what it left counts as the release's schema (dropped by hand, apply refuses it as drift): " +
        "build the database again (locally `npm run local -- destroy && npm run local`, which deletes its data) or restore the backup taken before the apply. " +
        `If its ledger row was deleted by hand, \`neonhub-db verify --migrations-dir ${shellWord(dir)}\` says so and how to put it back. ` +
        "If an earlier migration or a change by hand made it, fix the file.",
    );
    expect((await ledger()).at(-1)).toBe(GADGETS);

    // What the fix says of dropping it by hand: apply refuses that as drift, and applies nothing.
    await withClient(db.current.url, (c) => c.query('ALTER TABLE "Widget" DROP COLUMN flag'));
    const dropped = await cli("apply");
    expect(dropped.code).toBe(1);
    expect((JSON.parse(dropped.stdout) as ErrorDocument).error.code).toBe("schema-drift");
    expect((await ledger()).at(-1)).toBe(GADGETS);

    // The fix, followed: the Down section corrected, the database built again. The revert then undoes it all,
    // and the migration applies again.
    dropFlagColumnToo(file);
    const rebuilt = await createTestDatabase("leftbehind");
    try {
      const onRebuilt = (...args: string[]) =>
        runCli([...args, "--migrations-dir", dir, "--json"], { DATABASE_URL: rebuilt.url });
      expect((await onRebuilt("apply")).code).toBe(0);
      const reverted = await onRebuilt("revert", "--to", GADGETS, "--confirm", "--expect-last", FLAG);
      expect(reverted.code, reverted.stdout).toBe(0);
      const applied = await onRebuilt("apply");
      expect(applied.code, applied.stdout).toBe(0);
    } finally {
      await dropTestDatabase(rebuilt);
    }
  });
});

describe("a statement that fails otherwise", () => {
  const db = useTestDatabase("otherfailure");
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--migrations-dir", dir, "--json"], { DATABASE_URL: db.current.url });

  it("still says to fix the file", async () => {
    writeMigration(dir, "20250101000500_broken.sql", 'ALTER TABLE "Widget" DROP COLUMN no_such_column;');
    const run = await cli("apply");
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as ErrorDocument;
    expect(error.fix).toContain(
      `Fix the file and run \`neonhub-db apply --migrations-dir ${shellWord(dir)}\` again.`,
    );
    expect(error.fix).not.toContain("already has");
  });
});
