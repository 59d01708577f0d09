// ALTER COLUMN ... TYPE on a table with data, as PostgreSQL runs it and as the lint weighs it: a change the
// live column's type shows PostgreSQL makes in the catalog alone (no new file for the table or its index) is
// a warning on every stack, as a brief ACCESS EXCLUSIVE is; a rewrite, and a change the lint cannot read,
// stays an error in production, saying why.
import { readdirSync, rmSync } from "node:fs";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { lintMigrations, readMigrationFiles, type SafetyFinding } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { relationChanges } from "../support/relation-changes";
import { scratchDir } from "../support/scratch";

const TABLE = `
  DROP VIEW IF EXISTS campaign_names;
  DROP TABLE IF EXISTS "Campaign";
  DROP DOMAIN IF EXISTS wide_name, plain_note, named_note, checked_note, required_note;
  CREATE DOMAIN wide_name AS varchar(400);
  CREATE DOMAIN plain_note AS text;
  CREATE DOMAIN checked_note AS text CHECK (length(VALUE) > 0);
  CREATE DOMAIN named_note AS checked_note;
  CREATE DOMAIN required_note AS text NOT NULL;
  CREATE TABLE "Campaign" (
    id int PRIMARY KEY,
    "name" varchar(200),
    "slug" varchar,
    "note" text,
    "budget" numeric(10, 2),
    "flags" varbit(8),
    "code" varchar(20) CHECK (length("code") > 0),
    "label" varchar(40) COLLATE "C",
    "tag" varchar(20),
    "created" timestamp(3),
    "seen" timestamptz(3),
    "opens" time(3),
    "closes" timetz(3),
    "span" interval(3),
    "days" interval day,
    "stamp" timestamp
  );
  CREATE INDEX campaign_name ON "Campaign" ("name");
  CREATE INDEX campaign_budget ON "Campaign" ("budget");
  CREATE INDEX campaign_tag_lower ON "Campaign" (lower("tag"));
  CREATE INDEX campaign_created ON "Campaign" ("created");
  INSERT INTO "Campaign"
  SELECT g, 'campaign ' || g, 'c-' || g, 'note', g, B'101', 'C' || g, 'L' || g, 'T' || g,
         now(), now(), now()::time, now()::timetz, g * interval '1.234 s', g * interval '1 day', now()
    FROM generate_series(1, 100) g;`;

/** Changes PostgreSQL makes in the catalog alone, and the index on the column each keeps. */
const CATALOG_ONLY = [
  { change: '"name" TYPE varchar(500)', index: "campaign_name", from: "character varying(200)" },
  {
    change: '"name" SET DATA TYPE character varying(200)',
    index: "campaign_name",
    from: "character varying(200)",
  },
  { change: '"name" TYPE varchar', index: "campaign_name", from: "character varying(200)" },
  { change: '"name" TYPE text', index: "campaign_name", from: "character varying(200)" },
  { change: '"slug" TYPE text', index: undefined, from: "character varying" },
  { change: '"note" TYPE varchar', index: undefined, from: "text" },
  { change: '"budget" TYPE numeric(12, 2)', index: "campaign_budget", from: "numeric(10,2)" },
  { change: '"budget" TYPE decimal', index: "campaign_budget", from: "numeric(10,2)" },
  { change: '"flags" TYPE bit varying(16)', index: undefined, from: "bit varying(8)" },
  { change: '"flags" TYPE varbit', index: undefined, from: "bit varying(8)" },
  // The time types' precision widened, to the largest or dropped (timestamp_support, time_support).
  {
    change: '"created" TYPE timestamp(6)',
    index: "campaign_created",
    from: "timestamp(3) without time zone",
  },
  { change: '"created" TYPE timestamp', index: "campaign_created", from: "timestamp(3) without time zone" },
  {
    change: '"created" TYPE timestamp(4) without time zone',
    index: "campaign_created",
    from: "timestamp(3) without time zone",
  },
  { change: '"stamp" TYPE timestamp(6)', index: undefined, from: "timestamp without time zone" },
  { change: '"seen" TYPE timestamptz(5)', index: undefined, from: "timestamp(3) with time zone" },
  { change: '"seen" TYPE timestamp with time zone', index: undefined, from: "timestamp(3) with time zone" },
  { change: '"opens" TYPE time(6)', index: undefined, from: "time(3) without time zone" },
  { change: '"opens" TYPE time', index: undefined, from: "time(3) without time zone" },
  { change: '"closes" TYPE timetz(4)', index: undefined, from: "time(3) with time zone" },
  { change: '"closes" TYPE time with time zone', index: undefined, from: "time(3) with time zone" },
  // interval_support, judged only where the fields stay the same.
  { change: '"span" TYPE interval(5)', index: undefined, from: "interval(3)" },
  { change: '"span" TYPE interval', index: undefined, from: "interval(3)" },
  { change: '"days" TYPE interval day', index: undefined, from: "interval day" },
  { change: '"days" TYPE interval', index: undefined, from: "interval day" },
  // A domain without a constraint of its own or beneath it: judged by its base type.
  { change: '"name" TYPE wide_name', index: "campaign_name", from: "character varying(200)" },
  { change: '"note" TYPE plain_note', index: undefined, from: "text" },
];

/** Changes PostgreSQL rewrites the table for, and what the finding says of each. */
const REWRITES = [
  { change: '"name" TYPE varchar(100)', says: "The column is character varying(200) now" },
  { change: '"note" TYPE varchar(300)', says: "text to character varying(300) is not a change" },
  { change: "id TYPE bigint", says: "integer to bigint is not a change" },
  { change: '"budget" TYPE numeric(12, 3)', says: "numeric(10,2) to numeric(12,3)" },
  { change: '"budget" TYPE numeric(8, 2)', says: "numeric(10,2) to numeric(8,2)" },
  { change: '"flags" TYPE varbit(4)', says: "bit varying(8) to bit varying(4)" },
  { change: '"created" TYPE timestamp(1)', says: "timestamp(3) without time zone to timestamp(1) without" },
  { change: '"stamp" TYPE timestamp(3)', says: "timestamp without time zone to timestamp(3) without" },
  { change: '"seen" TYPE timestamptz(2)', says: "timestamp(3) with time zone to timestamp(2) with" },
  { change: '"created" TYPE timestamptz(3)', says: "timestamp(3) without time zone to timestamp(3) with" },
  { change: '"opens" TYPE time(0)', says: "time(3) without time zone to time(0) without time zone" },
  { change: '"closes" TYPE timetz(1)', says: "time(3) with time zone to time(1) with time zone" },
  { change: '"span" TYPE interval(2)', says: "interval(3) to interval(2)" },
  { change: '"name" TYPE varchar(500) USING trim("name")', says: "With a USING clause" },
  // A domain with a constraint, its own or a domain's beneath it: every row is checked, by a rewrite, though
  // its base type is the column's.
  {
    change: '"note" TYPE checked_note',
    says: "checked_note is a domain with a CHECK or NOT NULL constraint",
  },
  { change: '"note" TYPE named_note', says: "named_note is a domain with a CHECK or NOT NULL constraint" },
  {
    change: '"note" TYPE required_note',
    says: "required_note is a domain with a CHECK or NOT NULL constraint",
  },
];

const alter = (change: string) => `ALTER TABLE "Campaign" ALTER COLUMN ${change};`;

describe("ALTER COLUMN ... TYPE weighed with the live column's type", () => {
  const db = useTestDatabase("linttypes");
  const dir = scratchDir("neonhub-migrations-");

  beforeEach(() => withClient(db.current.url, (c) => c.query(TABLE)));

  const lint = async (...migrations: string[]): Promise<SafetyFinding[]> => {
    for (const file of readdirSync(dir)) rmSync(path.join(dir, file));
    migrations.forEach((up, i) =>
      writeMigration(dir, `2025010100${String(i + 1).padStart(2, "0")}00_step.sql`, up),
    );
    const report = await withClient(db.current.url, (c) =>
      lintMigrations(c, readMigrationFiles(dir), { environment: "production" }),
    );
    return report.findings;
  };
  const typeFindings = (findings: SafetyFinding[]) =>
    findings.filter((f) => f.rule === "changing-column-type");

  it("the user's case: varchar(200) to varchar(500) keeps the table's file and its index, and is a warning", async () => {
    const statement = 'ALTER TABLE "Campaign" ALTER COLUMN "name" TYPE varchar(500);';
    const table = await relationChanges(db.current.url, statement, '"Campaign"');
    expect(table.rewritten).toBe(false);
    expect(table.locks['"Campaign"']).toContain("AccessExclusiveLock");
    expect((await relationChanges(db.current.url, statement, "campaign_name")).rewritten).toBe(false);
    const findings = await lint(statement);
    // prefer-text-field is advice on any varchar(n) and stays.
    expect(findings.map((f) => `${f.level} ${f.rule}`)).toEqual([
      "warning changing-column-type",
      "warning prefer-text-field",
    ]);
    const [change] = findings;
    expect(change).toMatchObject({ table: '"Campaign"', line: 2 });
    expect(change!.tableSize).toMatch(/^100 rows, /);
    expect(change!.problem).toContain(
      "The column is character varying(200) now, and PostgreSQL changes character varying(200) to character varying(500) in the catalog alone",
    );
    expect(change!.lock).toBe("ACCESS EXCLUSIVE (blocks reads and writes), for a moment: no rewrite");
  });

  it.each(CATALOG_ONLY)(
    "$change rewrites nothing and is a warning in production",
    async ({ change, index, from }) => {
      const statement = alter(change);
      expect((await relationChanges(db.current.url, statement, '"Campaign"')).rewritten).toBe(false);
      if (index) expect((await relationChanges(db.current.url, statement, index)).rewritten).toBe(false);
      const findings = typeFindings(await lint(statement));
      expect(findings.map((f) => f.level)).toEqual(["warning"]);
      expect(findings[0]!.problem).toContain(`The column is ${from}`);
      expect(findings[0]!.problem).toContain("in the catalog alone");
    },
  );

  it.each(REWRITES)("$change rewrites the table and stays an error", async ({ change, says }) => {
    const statement = alter(change);
    const { rewritten, locks } = await relationChanges(db.current.url, statement, '"Campaign"');
    expect(rewritten).toBe(true);
    expect(locks['"Campaign"']).toContain("AccessExclusiveLock");
    const findings = typeFindings(await lint(statement));
    expect(findings.map((f) => f.level)).toEqual(["error"]);
    expect(findings[0]!.problem).toContain("Changing a column type requires an `ACCESS EXCLUSIVE` lock");
    expect(findings[0]!.problem).toContain(says);
    expect(findings[0]!.lock).toBe("ACCESS EXCLUSIVE (blocks reads and writes) while the table is rewritten");
  });

  it("a narrowing of a timestamp's precision rewrites: an error", async () => {
    await withClient(db.current.url, (c) =>
      c.query('ALTER TABLE "Campaign" ALTER COLUMN "created" TYPE timestamp(6)'),
    );
    const statement = alter('"created" TYPE timestamp(3)');
    expect((await relationChanges(db.current.url, statement, '"Campaign"')).rewritten).toBe(true);
    const findings = typeFindings(await lint(statement));
    expect(findings.map((f) => f.level)).toEqual(["error"]);
    expect(findings[0]!.problem).toContain(
      "timestamp(6) without time zone to timestamp(3) without time zone",
    );
  });

  // timestamp to timestamptz and back rewrite nothing when the session's TimeZone is UTC (PostgreSQL 12 and
  // later), and rewrite under any other zone: every migration runs with TimeZone UTC, so the lint judges them
  // in it.
  const inZone = (zone: string, statement: string, relation: string) =>
    relationChanges(db.current.url, `SET LOCAL TimeZone = '${zone}'; ${statement}`, '"Campaign"', [
      '"Campaign"',
      relation,
    ]).then(async (table) => ({
      table: table.rewritten,
      relation: (
        await relationChanges(db.current.url, `SET LOCAL TimeZone = '${zone}'; ${statement}`, relation)
      ).rewritten,
    }));

  it.each([
    {
      change: '"seen" TYPE timestamp',
      from: "timestamp(3) with time zone",
      to: "timestamp without time zone",
    },
    { change: '"seen" TYPE timestamp(6)', from: "timestamp(3) with time zone", to: "timestamp(6) without" },
    {
      change: '"stamp" TYPE timestamptz',
      from: "timestamp without time zone",
      to: "timestamp with time zone",
    },
  ])(
    "$change keeps the table's file with TimeZone UTC, as every migration runs: a warning",
    async ({ change, from, to }) => {
      const statement = alter(change);
      expect((await inZone("UTC", statement, '"Campaign"')).table).toBe(false);
      expect((await inZone("Europe/Paris", statement, '"Campaign"')).table).toBe(true);
      const findings = typeFindings(await lint(statement));
      expect(findings.map((f) => f.level)).toEqual(["warning"]);
      expect(findings[0]!.problem).toContain(
        `The column is ${from} now, and PostgreSQL changes ${from} to ${to}`,
      );
      expect(findings[0]!.problem).toContain(
        "in the catalog alone (the stored values stay as they are because every migration runs with TimeZone UTC)",
      );
    },
  );

  it("timestamp to timestamptz builds the column's index again, and validates its foreign key: an error", async () => {
    // The table keeps its file; the index gets a new one (timestamptz_ops is not timestamp_ops).
    const statement = alter('"created" TYPE timestamptz');
    expect(await inZone("UTC", statement, "campaign_created")).toEqual({ table: false, relation: true });
    const findings = typeFindings(await lint(statement));
    expect(findings.map((f) => f.level)).toEqual(["error"]);
    expect(findings[0]!.problem).toContain(
      "but timestamp(3) without time zone and timestamp with time zone have operator classes of their own, so PostgreSQL builds each index on the column again and validates each foreign key on it against every row, under the same lock (index campaign_created)",
    );
    // A foreign key on the column is validated again against every row; an index that only INCLUDEs it is kept.
    await withClient(db.current.url, (c) =>
      c.query(`
        CREATE UNIQUE INDEX campaign_stamp_key ON "Campaign" (id) INCLUDE ("stamp");
        CREATE TABLE "Launch" ("at" timestamp PRIMARY KEY);
        INSERT INTO "Launch" SELECT DISTINCT "stamp" FROM "Campaign";
        ALTER TABLE "Campaign" ADD CONSTRAINT campaign_launch FOREIGN KEY ("stamp") REFERENCES "Launch" ("at");`),
    );
    expect((await inZone("UTC", alter('"stamp" TYPE timestamptz'), "campaign_stamp_key")).relation).toBe(
      false,
    );
    const keyed = typeFindings(await lint(alter('"stamp" TYPE timestamptz')));
    expect(keyed.map((f) => f.level)).toEqual(["error"]);
    expect(keyed[0]!.problem).toContain(
      'under the same lock (constraint campaign_launch on table "Campaign")',
    );
    expect(keyed[0]!.problem).not.toContain("campaign_stamp_key");
    await withClient(db.current.url, (c) => c.query('DROP TABLE "Launch" CASCADE'));
  });

  it("timestamp(3) to timestamptz(3) rewrites even with TimeZone UTC; an earlier SET TimeZone leaves it a rewrite", async () => {
    // The cast's result has no precision, so a precision other than none or 6 is applied to every row.
    const statement = alter('"stamp" TYPE timestamptz(3)');
    expect((await inZone("UTC", statement, '"Campaign"')).table).toBe(true);
    expect(typeFindings(await lint(statement)).map((f) => f.level)).toEqual(["error"]);
    // A section that sets its own zone first: the change is judged as the rewrite it may be.
    const zoned = typeFindings(
      await lint(`SET LOCAL TimeZone = 'Europe/Paris';\n${alter('"stamp" TYPE timestamptz')}`),
    );
    expect(zoned.map((f) => f.level)).toEqual(["error"]);
    expect(zoned[0]!.problem).toContain("an earlier statement of the pending migrations may set another");
  });

  it("a change of the column's collation rebuilds its index: an error", async () => {
    // label is COLLATE "C": text without COLLATE takes text's default collation.
    await withClient(db.current.url, (c) => c.query('CREATE INDEX campaign_label ON "Campaign" ("label")'));
    const statement = alter('"label" TYPE text');
    expect((await relationChanges(db.current.url, statement, '"Campaign"')).rewritten).toBe(false);
    expect((await relationChanges(db.current.url, statement, "campaign_label")).rewritten).toBe(true);
    const findings = typeFindings(await lint(statement));
    expect(findings.map((f) => f.level)).toEqual(["error"]);
    expect(findings[0]!.problem).toContain("The column's collation changes (to the default of text)");
    // The same collation, written out: the catalog alone.
    expect(typeFindings(await lint(alter('"label" TYPE text COLLATE "C"'))).map((f) => f.level)).toEqual([
      "warning",
    ]);
    expect(typeFindings(await lint(alter('"name" TYPE text COLLATE "C"'))).map((f) => f.level)).toEqual([
      "error",
    ]);
  });

  it("a column a CHECK constraint, an expression index or a view depends on stays an error, naming it", async () => {
    const check = typeFindings(await lint(alter('"code" TYPE varchar(40)')));
    expect(check.map((f) => f.level)).toEqual(["error"]);
    expect(check[0]!.problem).toContain(
      'constraint Campaign_code_check on table "Campaign" depends on the column',
    );
    // An index on an expression of the column is built again.
    const statement = alter('"tag" TYPE varchar(40)');
    expect((await relationChanges(db.current.url, statement, "campaign_tag_lower")).rewritten).toBe(true);
    const expression = typeFindings(await lint(statement));
    expect(expression.map((f) => f.level)).toEqual(["error"]);
    expect(expression[0]!.problem).toContain("index campaign_tag_lower depends on the column");
    // PostgreSQL refuses to change the type of a column a view reads.
    await withClient(db.current.url, (c) =>
      c.query('CREATE VIEW campaign_names AS SELECT "name" FROM "Campaign"'),
    );
    const view = typeFindings(await lint(alter('"name" TYPE varchar(500)')));
    expect(view.map((f) => f.level)).toEqual(["error"]);
    expect(view[0]!.problem).toContain("view campaign_names depends on the column");
  });

  it("a column whose type the lint cannot read from the live database stays an error, saying why", async () => {
    // Changed by an earlier pending migration: the live type is not the one the statement finds.
    const [, second] = typeFindings(await lint(alter('"name" TYPE text'), alter('"name" TYPE varchar(300)')));
    expect(second).toMatchObject({ level: "error", file: "20250101000200_step.sql" });
    expect(second!.problem).toContain(
      'An earlier statement of the pending migrations names "Campaign", so the live database does not tell the column\'s type',
    );
    // Added by a pending migration, earlier in the same one.
    const added = typeFindings(
      await lint(
        `ALTER TABLE "Campaign" ADD COLUMN "brief" varchar(10);\n${alter('"brief" TYPE varchar(20)')}`,
      ),
    );
    expect(added.map((f) => f.level)).toEqual(["error"]);
    // A type a pending migration creates is not in the database.
    const domain = typeFindings(
      await lint(`CREATE DOMAIN short_name AS varchar(300);`, alter('"name" TYPE short_name')),
    );
    expect(domain.map((f) => f.level)).toEqual(["error"]);
    expect(domain[0]!.problem).toContain(
      "The lint cannot read the new type: the server cannot read the type short_name",
    );
    // A column the table does not have.
    const missing = typeFindings(await lint(alter('"title" TYPE text')));
    expect(missing.map((f) => f.level)).toEqual(["error"]);
    expect(missing[0]!.problem).toContain('The column "title" is not in the table');
  });

  it("a Down section is weighed as before: revert runs it after its Up section changed the column", async () => {
    for (const file of readdirSync(dir)) rmSync(path.join(dir, file));
    writeMigration(
      dir,
      "20250101000100_step.sql",
      alter('"name" TYPE varchar(500)'),
      alter('"name" TYPE varchar(200)'),
    );
    const report = await withClient(db.current.url, (c) =>
      lintMigrations(c, readMigrationFiles(dir), { environment: "production" }),
    );
    const down = typeFindings(report.findings).find((f) => f.section === "down");
    expect(down).toMatchObject({
      level: "warning",
      lock: "ACCESS EXCLUSIVE (blocks reads and writes) while the table is rewritten",
    });
    expect(down!.problem).not.toContain("in the catalog alone");
  });
});

describe("a release with a column type change, planned and applied in production", () => {
  const db = useTestDatabase("linttyperelease");
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--environment", "production", "--migrations-dir", dir], {
      DATABASE_URL: db.current.url,
    });
  const nameType = () =>
    withClient(db.current.url, async (c) => {
      const found = await c.query<{ type: string }>(
        `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = '"Widget"'::regclass AND attname = 'name'`,
      );
      return found.rows[0]!.type;
    });

  it("is not blocked when PostgreSQL changes the catalog alone, and refused when it rewrites", async () => {
    expect((await cli("apply")).code).toBe(0);
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'widget ' || g FROM generate_series(1, 500) g`,
      ),
    );
    // text to varchar without a limit: a warning, applied. Then a limit, which the live varchar column (as
    // the first release left it) makes a rewrite: refused before anything is applied.
    writeMigration(
      dir,
      "20250101000400_widget_name.sql",
      'ALTER TABLE "Widget" ALTER COLUMN name TYPE varchar;',
    );
    const plan = await cli("plan");
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain(
      'warning: 20250101000400_widget_name.sql:2 changing-column-type on "Widget"',
    );
    expect((await cli("apply")).code).toBe(0);
    expect(await nameType()).toBe("character varying");

    writeMigration(
      dir,
      "20250101000500_widget_name_limit.sql",
      'ALTER TABLE "Widget" ALTER COLUMN name TYPE varchar(20);',
    );
    const narrowing = await cli("plan");
    expect(narrowing.code).toBe(1);
    expect(narrowing.stdout).toContain(
      'error: 20250101000500_widget_name_limit.sql:2 changing-column-type on "Widget" (500 rows',
    );
    const apply = await cli("apply", "--json");
    expect(apply.code).toBe(1);
    expect((JSON.parse(apply.stdout) as { error: { code: string } }).error.code).toBe("unsafe-migration");
    expect(await nameType()).toBe("character varying");
  });
});

describe("the time zone migrations run in, on a database whose own is not UTC", () => {
  const db = useTestDatabase("linttypezone");
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--environment", "production", "--migrations-dir", dir], {
      DATABASE_URL: db.current.url,
    });
  const eventsAt = () =>
    withClient(db.current.url, async (c) => {
      const found = await c.query<{ type: string; file: string; at: string }>(
        `SELECT format_type(atttypid, atttypmod) AS type, pg_relation_filenode('"Event"')::text AS file,
                (SELECT "at"::text FROM "Event" WHERE id = 1) AS at
           FROM pg_attribute WHERE attrelid = '"Event"'::regclass AND attname = 'at'`,
      );
      return found.rows[0]!;
    });

  it("apply and revert run each section with TimeZone UTC: timestamp to timestamptz keeps the file and reads the values as UTC", async () => {
    await withClient(db.current.url, (c) =>
      c.query(`ALTER DATABASE ${c.escapeIdentifier(db.current.name)} SET TimeZone = 'Europe/Berlin'`),
    );
    writeMigration(
      dir,
      "20250101000400_events.sql",
      `CREATE TABLE "Event" (id int PRIMARY KEY, "at" timestamp NOT NULL, zone text NOT NULL);
       INSERT INTO "Event" SELECT g, '2025-06-01 12:00'::timestamp, current_setting('TimeZone') FROM generate_series(1, 200) g;`,
      'DROP TABLE "Event";',
    );
    expect((await cli("apply")).code).toBe(0);
    const before = await eventsAt();
    await withClient(db.current.url, async (c) => {
      // The session keeps its own zone: the migration's was its transaction's alone.
      expect(
        (await c.query<{ zone: string }>("SELECT current_setting('TimeZone') AS zone")).rows[0]!.zone,
      ).toBe("Europe/Berlin");
      expect((await c.query<{ zone: string }>('SELECT DISTINCT zone FROM "Event"')).rows).toEqual([
        { zone: "UTC" },
      ]);
    });

    writeMigration(
      dir,
      "20250101000500_event_zone.sql",
      'ALTER TABLE "Event" ALTER COLUMN "at" TYPE timestamptz;',
      'ALTER TABLE "Event" ALTER COLUMN "at" TYPE timestamp;',
    );
    const plan = await cli("plan");
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain('warning: 20250101000500_event_zone.sql:2 changing-column-type on "Event"');
    expect((await cli("apply")).code).toBe(0);
    const changed = await eventsAt();
    expect(changed.type).toBe("timestamp with time zone");
    expect(changed.file).toBe(before.file);
    // Read as UTC (the values the column held), shown in this session's Berlin time.
    expect(changed.at).toBe("2025-06-01 14:00:00+02");

    const revert = await cli("revert", "--to", "20250101000400_events", "--confirm", "--json");
    expect(revert.code).toBe(0);
    const reverted = await eventsAt();
    expect(reverted).toEqual(before);
  });
});
