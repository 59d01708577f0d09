// The lock the lint names for adding a constraint is the one PostgreSQL takes: each statement is linted on
// tables with rows, then run in a transaction that reads its own locks from pg_locks before rolling back. The
// lock text's first mode is the altered table's; "on both tables" or "<mode> on the referenced table" is the
// referenced one's.
import { describe, expect, it } from "vitest";
import { lintMigrations, readMigrationFiles, type SafetyFinding } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { writeMigration } from "../support/fixtures";
import { scratchDir } from "../support/scratch";

/** PostgreSQL's table lock modes, weakest first, as pg_locks names them. */
const MODES = [
  "AccessShareLock",
  "RowShareLock",
  "RowExclusiveLock",
  "ShareUpdateExclusiveLock",
  "ShareLock",
  "ShareRowExclusiveLock",
  "ExclusiveLock",
  "AccessExclusiveLock",
];

/** "SHARE ROW EXCLUSIVE" -> "ShareRowExclusiveLock". */
const asPgLocks = (mode: string) =>
  `${mode
    .toLowerCase()
    .split(" ")
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join("")}Lock`;

// Longest first, so that "SHARE ROW EXCLUSIVE" is not read as "SHARE".
const MODE_TEXT = String.raw`ACCESS EXCLUSIVE|SHARE ROW EXCLUSIVE|SHARE UPDATE EXCLUSIVE|ROW EXCLUSIVE|ACCESS SHARE|ROW SHARE|EXCLUSIVE|SHARE`;

/** The modes a lock text names: the altered table's, and the referenced table's when it names one. */
function namedModes(lock: string): { table: string; referenced?: string } {
  const table = new RegExp(String.raw`^(${MODE_TEXT})\b`).exec(lock)?.[1];
  if (!table) throw new Error(`the lock text does not start with a lock mode: ${lock}`);
  const referenced = / on both tables\b/.test(lock)
    ? table
    : new RegExp(String.raw`\b(${MODE_TEXT}) on the referenced table\b`).exec(lock)?.[1];
  return { table: asPgLocks(table), ...(referenced ? { referenced: asPgLocks(referenced) } : {}) };
}

const CASES = [
  {
    statement: "ALTER TABLE t ADD CONSTRAINT t_c_positive CHECK (c > 0);",
    rules: ["constraint-missing-not-valid"],
  },
  { statement: "ALTER TABLE t ADD CHECK (c > 0);", rules: ["constraint-missing-not-valid"] },
  {
    statement: "ALTER TABLE t ADD CONSTRAINT t_c_fk FOREIGN KEY (c) REFERENCES p (id);",
    // squawk's constraint-missing-not-valid too, on the same action: one finding (constraint-advice.test.ts).
    rules: ["adding-foreign-key-constraint"],
  },
  {
    statement: "ALTER TABLE t ADD COLUMN p_id int REFERENCES p (id);",
    rules: ["adding-foreign-key-constraint"],
  },
  {
    statement: "ALTER TABLE t ADD CONSTRAINT t_c_unique UNIQUE (c);",
    rules: ["disallowed-unique-constraint"],
  },
  { statement: "ALTER TABLE t ADD COLUMN k int UNIQUE;", rules: ["disallowed-unique-constraint"] },
  {
    statement: "ALTER TABLE t ADD COLUMN n int, ADD CONSTRAINT t_c_unique UNIQUE (c);",
    rules: ["disallowed-unique-constraint"],
  },
  {
    statement: "ALTER TABLE u ADD CONSTRAINT u_pkey PRIMARY KEY (id);",
    rules: ["adding-serial-primary-key-field"],
  },
  {
    statement: "ALTER TABLE u ADD COLUMN serial_id serial PRIMARY KEY;",
    // Numbering the rows rewrites the table too, which squawk does not report (core/lint/unflagged.ts).
    rules: ["adding-field-with-default", "adding-serial-primary-key-field"],
  },
  {
    statement: "ALTER TABLE t ADD CONSTRAINT t_c_exclude EXCLUDE USING btree (c WITH =);",
    rules: ["constraint-missing-not-valid"],
  },
];

describe("the lock named for adding a constraint", () => {
  const db = useTestDatabase("lintlocks");
  const dir = scratchDir("neonhub-migrations-");

  const lint = async (statement: string): Promise<SafetyFinding[]> => {
    writeMigration(dir, "20250101000100_constraint.sql", statement);
    const report = await withClient(db.current.url, (c) =>
      lintMigrations(c, readMigrationFiles(dir), { environment: "production" }),
    );
    return report.findings;
  };

  /** The strongest lock the statement's transaction holds on each of the two tables. */
  const measured = (statement: string) =>
    withClient(db.current.url, async (c) => {
      await c.query("BEGIN");
      try {
        await c.query(statement);
        const locks = await c.query<{ relation: string; mode: string }>(
          `SELECT relation::regclass::text AS relation, mode FROM pg_locks
            WHERE pid = pg_backend_pid() AND locktype = 'relation' AND relation IN ('t'::regclass, 'p'::regclass, 'u'::regclass)`,
        );
        const strongest = (relation: string) =>
          locks.rows
            .filter((l) => l.relation === relation)
            .map((l) => l.mode)
            .sort((a, b) => MODES.indexOf(b) - MODES.indexOf(a))[0];
        const table = /^ALTER TABLE (\w+)/.exec(statement)![1]!;
        return { table: strongest(table), referenced: strongest("p") };
      } finally {
        await c.query("ROLLBACK");
      }
    });

  it.each(CASES)("$statement", async ({ statement, rules }) => {
    await withClient(db.current.url, (c) =>
      c.query(`
        CREATE TABLE IF NOT EXISTS p (id int PRIMARY KEY);
        CREATE TABLE IF NOT EXISTS t (id int PRIMARY KEY, c int);
        CREATE TABLE IF NOT EXISTS u (id int);
        INSERT INTO p SELECT g FROM generate_series(1, 100) g ON CONFLICT DO NOTHING;
        INSERT INTO t SELECT g, g FROM generate_series(1, 100) g ON CONFLICT DO NOTHING;
        INSERT INTO u SELECT g FROM generate_series(1, 100) g WHERE NOT EXISTS (SELECT FROM u);`),
    );
    const findings = await lint(statement);
    expect(findings.map((f) => f.rule).sort()).toEqual(rules);
    const locks = await measured(statement);
    for (const finding of findings) {
      const named = namedModes(finding.lock!);
      // The problem names the lock the lock text names (squawk's "block writes" for a scan under ACCESS
      // EXCLUSIVE did not).
      const mode = new RegExp(String.raw`^(${MODE_TEXT})\b`).exec(finding.lock!)![1]!;
      expect({ rule: finding.rule, problem: finding.problem }).toEqual({
        rule: finding.rule,
        problem: expect.stringContaining(mode) as unknown,
      });
      expect({ rule: finding.rule, table: named.table }).toEqual({ rule: finding.rule, table: locks.table });
      // A statement that locks the referenced table has a lock text that names it.
      expect({ rule: finding.rule, referenced: named.referenced }).toEqual({
        rule: finding.rule,
        referenced: locks.referenced,
      });
    }
  });
});
