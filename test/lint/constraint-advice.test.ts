// The safer form the lint gives for adding a constraint works on real PostgreSQL: every finding on the
// statement names it; what it says to run by hand runs, the migration it leads to passes the lint and runs in
// a transaction, and VALIDATE CONSTRAINT lets writes go on. NOT VALID is advised only where PostgreSQL takes
// it: a UNIQUE, PRIMARY KEY or EXCLUDE constraint written NOT VALID is refused.
import { describe, expect, it } from "vitest";
import { lintMigrations, readMigrationFiles, type SafetyFinding } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { writeMigration } from "../support/fixtures";
import { scratchDir } from "../support/scratch";

interface Advice {
  statement: string;
  /** Text every finding's safer form holds. */
  advice: string[];
  /** Statements of the safer form: by hand (outside a transaction), then each in a migration of its own. */
  byHand: string[];
  release: string[];
}

const CASES: Advice[] = [
  {
    statement: "ALTER TABLE t ADD CONSTRAINT t_c_positive CHECK (c > 0);",
    advice: ["NOT VALID", "VALIDATE CONSTRAINT"],
    byHand: [],
    release: [
      "ALTER TABLE t ADD CONSTRAINT t_c_positive CHECK (c > 0) NOT VALID;",
      "ALTER TABLE t VALIDATE CONSTRAINT t_c_positive;",
    ],
  },
  {
    statement: "ALTER TABLE t ADD CONSTRAINT t_c_fk FOREIGN KEY (c) REFERENCES p (id);",
    advice: ["NOT VALID", "VALIDATE CONSTRAINT"],
    byHand: [],
    release: [
      "ALTER TABLE t ADD CONSTRAINT t_c_fk FOREIGN KEY (c) REFERENCES p (id) NOT VALID;",
      "ALTER TABLE t VALIDATE CONSTRAINT t_c_fk;",
    ],
  },
  {
    statement: "ALTER TABLE t ADD CONSTRAINT t_c_unique UNIQUE (c);",
    advice: ["CREATE UNIQUE INDEX CONCURRENTLY", "UNIQUE USING INDEX"],
    byHand: ["CREATE UNIQUE INDEX CONCURRENTLY t_c_key ON t (c)"],
    release: ["ALTER TABLE t ADD CONSTRAINT t_c_unique UNIQUE USING INDEX t_c_key;"],
  },
  {
    statement: "ALTER TABLE u ADD CONSTRAINT u_pkey PRIMARY KEY (id);",
    advice: ["CREATE UNIQUE INDEX CONCURRENTLY", "PRIMARY KEY USING INDEX", "NOT NULL"],
    byHand: ["CREATE UNIQUE INDEX CONCURRENTLY u_id_key ON u (id)"],
    release: ["ALTER TABLE u ADD CONSTRAINT u_pkey PRIMARY KEY USING INDEX u_id_key;"],
  },
];

const NOT_VALID_REFUSED = [
  "ALTER TABLE t ADD CONSTRAINT t_c_unique UNIQUE (c) NOT VALID",
  "ALTER TABLE u ADD CONSTRAINT u_pkey PRIMARY KEY (id) NOT VALID",
  "ALTER TABLE t ADD CONSTRAINT t_c_exclude EXCLUDE USING btree (c WITH =) NOT VALID",
];

describe("the safer form for adding a constraint", () => {
  const db = useTestDatabase("lintadvice");
  const dir = scratchDir("neonhub-migrations-");
  const sql = (text: string) => withClient(db.current.url, (c) => c.query(text));

  const lint = async (statement: string): Promise<SafetyFinding[]> => {
    writeMigration(dir, "20250101000100_constraint.sql", statement);
    const report = await withClient(db.current.url, (c) =>
      lintMigrations(c, readMigrationFiles(dir), { environment: "production" }),
    );
    return report.findings;
  };

  const tablesWithRows = () =>
    sql(`
      DROP TABLE IF EXISTS t, u, p;
      CREATE TABLE p (id int PRIMARY KEY);
      CREATE TABLE t (id int PRIMARY KEY, c int);
      CREATE TABLE u (id int NOT NULL);
      INSERT INTO p SELECT g FROM generate_series(1, 100) g;
      INSERT INTO t SELECT g, g FROM generate_series(1, 100) g;
      INSERT INTO u SELECT g FROM generate_series(1, 100) g;`);

  it.each(CASES)("$statement", async ({ statement, advice, byHand, release }) => {
    await tablesWithRows();
    const findings = await lint(statement);
    expect(findings.length).toBeGreaterThan(0);
    for (const finding of findings) {
      for (const text of advice) {
        expect({ rule: finding.rule, saferForm: finding.saferForm }).toEqual({
          rule: finding.rule,
          saferForm: expect.stringContaining(text) as unknown,
        });
      }
    }

    for (const statement of byHand) await sql(statement);
    for (const statement of release) {
      expect(await lint(statement)).toEqual([]);
      await withClient(db.current.url, async (c) => {
        await c.query("BEGIN");
        await c.query(statement);
        // What the safer form's statements hold on the table: nothing that stops the app's writes.
        const held = await c.query<{ mode: string }>(
          `SELECT mode FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'relation' AND relation = 't'::regclass`,
        );
        if (/VALIDATE CONSTRAINT/.test(statement)) {
          // SHARE UPDATE EXCLUSIVE, and the ACCESS SHARE of a foreign key's check query: neither conflicts
          // with the ROW EXCLUSIVE of the app's writes.
          const modes = held.rows.map((r) => r.mode);
          expect(modes).toContain("ShareUpdateExclusiveLock");
          expect(modes.filter((m) => m !== "ShareUpdateExclusiveLock" && m !== "AccessShareLock")).toEqual(
            [],
          );
        }
        await c.query("COMMIT");
      });
    }
  });

  // squawk reports a FOREIGN KEY, UNIQUE or PRIMARY KEY added without NOT VALID under its kind's rule and
  // under constraint-missing-not-valid, which say the same once the kind is read: one finding.
  it("one finding for each constraint added, which an exemption naming either of squawk's rules accepts", async () => {
    await tablesWithRows();
    const FK = "ALTER TABLE t ADD CONSTRAINT t_c_fk FOREIGN KEY (c) REFERENCES p (id);";
    const described = (findings: SafetyFinding[]) => findings.map((f) => `${f.level} ${f.line} ${f.rule}`);
    expect(described(await lint(FK))).toEqual(["error 2 adding-foreign-key-constraint"]);
    for (const rule of ["adding-foreign-key-constraint", "constraint-missing-not-valid"]) {
      const findings = await lint(`-- neonhub-db:allow ${rule} because p and t are small\n${FK}`);
      expect(described(findings)).toEqual(["exempted 3 adding-foreign-key-constraint"]);
      expect(findings[0]!.exemption).toBe("p and t are small");
    }
    expect(described(await lint("ALTER TABLE t ADD CONSTRAINT t_c_unique UNIQUE (c);"))).toEqual([
      "error 2 disallowed-unique-constraint",
    ]);
    expect(described(await lint("ALTER TABLE u ADD CONSTRAINT u_pkey PRIMARY KEY (id);"))).toEqual([
      "error 2 adding-serial-primary-key-field",
    ]);
    // A CHECK is squawk's constraint-missing-not-valid alone: its finding, and its exemption, as before.
    const CHECK = "ALTER TABLE t ADD CONSTRAINT t_c_positive CHECK (c > 0);";
    expect(described(await lint(CHECK))).toEqual(["error 2 constraint-missing-not-valid"]);
    expect(
      described(await lint(`-- neonhub-db:allow constraint-missing-not-valid because t is small\n${CHECK}`)),
    ).toEqual(["exempted 3 constraint-missing-not-valid"]);
    // An exemption for the foreign key's rule accepts nothing on a CHECK.
    expect(
      described(await lint(`-- neonhub-db:allow adding-foreign-key-constraint because t is small\n${CHECK}`)),
    ).toEqual(["warning 2 neonhub-db:allow", "error 3 constraint-missing-not-valid"]);
    // Two constraints in one ALTER TABLE: a finding each, with its own kind's text.
    const both = await lint(
      "ALTER TABLE t ADD CONSTRAINT t_c_fk FOREIGN KEY (c) REFERENCES p (id), ADD CONSTRAINT t_c_positive CHECK (c > 0);",
    );
    expect(described(both)).toEqual([
      "error 2 adding-foreign-key-constraint",
      "error 2 constraint-missing-not-valid",
    ]);
    expect(both.map((f) => f.problem.split(" ").slice(0, 3).join(" "))).toEqual([
      "Adding a FOREIGN",
      "Adding a CHECK",
    ]);
  });

  it.each(NOT_VALID_REFUSED)("is never NOT VALID where PostgreSQL refuses it: %s", async (refused) => {
    await tablesWithRows();
    await expect(sql(refused)).rejects.toThrow(/cannot be marked NOT VALID/);
    for (const finding of await lint(`${refused.replace(/ NOT VALID$/, "")};`)) {
      expect({ rule: finding.rule, saferForm: finding.saferForm }).toEqual({
        rule: finding.rule,
        saferForm: expect.not.stringContaining("VALIDATE CONSTRAINT") as unknown,
      });
    }
  });
});
