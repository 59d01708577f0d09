// Transaction control in a migration, on real PostgreSQL. The engine runs each migration in one transaction (its
// section and its ledger row); a COMMIT, ROLLBACK, BEGIN or PREPARE TRANSACTION among a section's statements, or
// a COMMIT or ROLLBACK in a DO block or in a procedure the section defines and calls, is an error on every stack
// that no exemption accepts, one finding per statement, and apply refuses it before it writes anything. What the
// lint cannot read, the runner catches before the ledger row (test/core/transaction-guard.test.ts).
import { describe, expect, it } from "vitest";
import { lintMigrations, readMigrationFiles, type SafetyFinding, type SafetyReport } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient, columnsOf } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

interface PlanJson {
  safety: SafetyReport;
}

const FILE = "20250101000400_txn.sql";

function cliOn(url: string, dir: string) {
  return (...args: string[]) => runCli([...args, "--migrations-dir", dir], { DATABASE_URL: url });
}

const ledger = (url: string) =>
  withClient(url, async (c) => (await c.query("SELECT name FROM neonhub_release.migrations")).rowCount);

const columns = (url: string) => columnsOf(url, '"Widget"');

describe("transaction control in a migration", () => {
  const db = useTestDatabase("linttxnctl");
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) => cliOn(db.current.url, dir)(...args);
  const lint = async (up: string, down = "SELECT 1;") => {
    writeMigration(dir, FILE, up, down);
    const pending = readMigrationFiles(dir).filter((f) => `${f.name}.sql` === FILE);
    return withClient(db.current.url, (c) => lintMigrations(c, pending));
  };

  it("is what PostgreSQL does with it inside the migration's transaction: ends it, or refuses it", async () => {
    expect((await cli("apply")).code).toBe(0);
    await withClient(db.current.url, (c) =>
      c.query(`INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'widget ' || g FROM generate_series(1, 6) g`),
    );
    // A section's statements as apply sends them: in the transaction its BEGIN opened, as one message.
    const inTransaction = (statement: string) =>
      withClient(db.current.url, async (c) => {
        const results = (await c.query(
          `BEGIN; SELECT txid_current()::text AS t; ${statement}; SELECT txid_current()::text AS t`,
        )) as unknown as { rows: { t?: string }[] }[];
        await c.query("ROLLBACK").catch(() => {});
        return results[1]!.rows[0]!.t === results.at(-1)!.rows[0]!.t ? "same transaction" : "ended";
      }).catch((error: Error) => error.message);
    for (const ends of ["COMMIT", "END", "COMMIT AND CHAIN", "ROLLBACK", "ABORT", "ROLLBACK AND CHAIN"]) {
      expect(await inTransaction(ends), ends).toBe("ended");
    }
    // BEGIN only warns; its intent is what the lint refuses.
    expect(await inTransaction("BEGIN")).toBe("same transaction");
    expect(await inTransaction("SAVEPOINT s; ROLLBACK TO SAVEPOINT s; RELEASE SAVEPOINT s")).toBe(
      "same transaction",
    );
    expect(await inTransaction("DO $$ BEGIN COMMIT; END $$")).toBe("invalid transaction termination");
    expect(await inTransaction("DO $$ BEGIN ROLLBACK; END $$")).toBe("invalid transaction termination");
    // A procedure that commits, created by an earlier migration: refused in a transaction block too, so a CALL
    // of one fails the migration cleanly (the runner's guard is for what ends it and is not refused).
    await withClient(db.current.url, (c) =>
      c.query("CREATE PROCEDURE widget_commit() LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$"),
    );
    expect(await inTransaction("CALL widget_commit()")).toBe("invalid transaction termination");
    await withClient(db.current.url, (c) => c.query("DROP PROCEDURE widget_commit()"));
    // PREPARE TRANSACTION ends it too, where prepared transactions are enabled (max_prepared_transactions).
  });

  it("is an error on every stack, not exemptable, with one finding per statement", async () => {
    const statements = [
      'ALTER TABLE "Widget" ADD COLUMN "x1" text;',
      "COMMIT;",
      "END;",
      "commit work and no chain;",
      "ROLLBACK;",
      "ABORT;",
      "rollback transaction;",
      "BEGIN;",
      "BEGIN ISOLATION LEVEL SERIALIZABLE;",
      "START TRANSACTION;",
      "PREPARE TRANSACTION 'x';",
    ];
    writeMigration(dir, FILE, statements.join("\n"));
    const plan = await cli("plan", "--json");
    expect(plan.code).toBe(1);
    const { safety } = JSON.parse(plan.stdout) as PlanJson;
    // squawk's transaction-nesting and ban-uncommitted-transaction are not asked for: the lint's own says it.
    expect(safety.findings.map((f) => [f.level, f.line, f.rule, f.exemptable])).toEqual(
      statements.slice(1).map((_, i) => ["error", i + 3, "transaction-control", false]),
    );
    const commit = safety.findings[0]!;
    expect(commit).toEqual({
      level: "error",
      file: FILE,
      line: 3,
      section: "up",
      rule: "transaction-control",
      table: null,
      tableSize: null,
      lock: null,
      problem:
        "COMMIT commits the migration's transaction part way: what ran before it stays applied even when a later statement fails, and apply records no ledger row for it, so the database is left with part of the migration.",
      saferForm:
        "remove it: the engine runs each migration in one transaction and commits it, with its ledger row, once the section ends. If the intent was two transactions, split it into two migrations; a backfill in batches belongs in a migration of its own or in batches outside the release (docs/runbook.md#lock-timeouts-a-migration-never-waits-long-for-a-table)",
      exemptable: false,
    } satisfies SafetyFinding);
    expect(safety.findings[3]!.problem).toBe(
      "ROLLBACK rolls back what ran before it, and PostgreSQL runs the statements after it outside the migration's transaction: apply would go on and record the migration as applied, though part of it did not run.",
    );
    expect(safety.findings[6]!.problem).toMatch(/^BEGIN inside the migration's transaction starts none/);
    expect(safety.findings[8]!.problem).toMatch(/^START TRANSACTION inside/);
    expect(safety.findings[9]!.problem).toMatch(/^PREPARE TRANSACTION ends the migration's transaction/);

    const text = await cli("plan");
    expect(text.stdout).toContain(
      `    error: ${FILE}:3 transaction-control: COMMIT commits the migration's transaction part way`,
    );
    expect(text.stdout).toContain("An error blocks this development release.");
    expect(text.stdout).not.toContain("transaction-nesting");
    expect(text.stdout).not.toContain("managed by your migration tool");
  });

  it("in a Down section too, in revert's words", async () => {
    const report = await lint(
      'ALTER TABLE "Widget" ADD COLUMN "d1" text;',
      'ALTER TABLE "Widget" DROP COLUMN "d1";\nCOMMIT;',
    );
    expect(report.findings.map((f) => [f.level, f.section, f.line, f.rule])).toEqual([
      ["error", "down", 6, "transaction-control"],
    ]);
    expect(report.findings[0]!.problem).toContain(
      "stays reverted even when a later statement fails, and the ledger row stays",
    );
  });

  it("is COMMIT or ROLLBACK in a DO block's body, which PostgreSQL refuses there", async () => {
    const report = await lint(
      [
        "DO $$",
        "BEGIN",
        "  UPDATE \"Widget\" SET name = name WHERE id = 'w1'; -- COMMIT;",
        "  RAISE NOTICE 'ROLLBACK;';",
        "  COMMIT;",
        "END $$;",
        "DO LANGUAGE plpgsql $body$ BEGIN IF true THEN ROLLBACK; END IF; END $body$;",
        "DO $$ BEGIN PERFORM 1; END $$;",
      ].join("\n"),
    );
    expect(
      report.findings.filter((f) => f.rule === "transaction-control").map((f) => [f.level, f.line]),
    ).toEqual([
      ["error", 6],
      ["error", 8],
    ]);
    expect(report.findings.find((f) => f.rule === "transaction-control")!.problem).toBe(
      "COMMIT in a DO block's body ends a transaction, which PostgreSQL refuses inside the migration's transaction (invalid transaction termination): the engine runs each migration in one, and ending it inside would leave part of the migration applied, so PostgreSQL stops the migration at it.",
    );
  });

  it("is COMMIT or ROLLBACK in a procedure or function the section defines and calls, at each call", async () => {
    const report = await lint(
      [
        "CREATE PROCEDURE widget_batches() LANGUAGE plpgsql AS $$", // line 2
        "BEGIN",
        "  UPDATE \"Widget\" SET name = name WHERE id = 'w1';",
        "  COMMIT;",
        "END $$;",
        "CREATE FUNCTION widget_outer() RETURNS void LANGUAGE plpgsql AS $$", // line 7
        "BEGIN",
        "  CALL widget_batches();",
        "END $$;",
        "CALL widget_batches();", // line 11
        "DO $$ BEGIN PERFORM widget_outer(); END $$;",
      ].join("\n"),
    );
    expect(
      report.findings.filter((f) => f.rule === "transaction-control").map((f) => [f.level, f.line]),
    ).toEqual([
      ["error", 11],
      ["error", 12],
    ]);
    expect(report.findings.find((f) => f.rule === "transaction-control")!.problem).toBe(
      "COMMIT in the body of procedure widget_batches, which this statement calls, ends a transaction, which PostgreSQL refuses inside the migration's transaction (invalid transaction termination): the engine runs each migration in one, so PostgreSQL stops the migration at the call.",
    );
    // As PostgreSQL says when the migration's transaction runs the call.
    await withClient(db.current.url, async (c) => {
      await c.query("BEGIN");
      await c.query(
        "CREATE PROCEDURE widget_batches() LANGUAGE plpgsql AS $$ BEGIN UPDATE \"Widget\" SET name = name WHERE id = 'w1'; COMMIT; END $$",
      );
      await expect(c.query("CALL widget_batches()")).rejects.toThrow(/invalid transaction termination/);
      await c.query("ROLLBACK");
    });
  });

  it("is not a savepoint, a COMMIT in a string or a comment, or one in a function that is only created", async () => {
    const report = await lint(
      [
        "SAVEPOINT before_widget;",
        "ROLLBACK TO SAVEPOINT before_widget;",
        "ROLLBACK TO before_widget;",
        "RELEASE SAVEPOINT before_widget;",
        "SELECT 'COMMIT;' AS a, $q$ROLLBACK;$q$ AS b;",
        "-- COMMIT;",
        "/* ROLLBACK; */",
        "CREATE FUNCTION widget_commit() RETURNS void LANGUAGE plpgsql AS $$ BEGIN COMMIT; END $$;",
        "CREATE PROCEDURE widget_rollback() LANGUAGE plpgsql AS $$ BEGIN ROLLBACK; END $$;",
        "CREATE FUNCTION widget_one() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;",
        "CREATE FUNCTION widget_sign(x int) RETURNS int LANGUAGE sql",
        "BEGIN ATOMIC",
        "  SELECT CASE WHEN x > 0 THEN 1 ELSE 0 END;",
        "END;",
        "CREATE FUNCTION widget_none() RETURNS void LANGUAGE sql BEGIN ATOMIC END;",
      ].join("\n"),
    );
    expect(report.findings.filter((f) => f.level === "error")).toEqual([]);
    expect(report.findings.map((f) => f.rule)).not.toContain("transaction-nesting");
    // And PostgreSQL runs them all in the migration's transaction.
    await withClient(db.current.url, async (c) => {
      const file = readMigrationFiles(dir).find((f) => `${f.name}.sql` === FILE)!;
      await c.query("BEGIN");
      const before = (await c.query("SELECT txid_current()::text AS t")).rows[0].t as string;
      await c.query(file.sql.split("-- Down Migration")[0]!);
      expect((await c.query("SELECT txid_current()::text AS t")).rows[0].t).toBe(before);
      await c.query("ROLLBACK");
    });
  });

  it("leaves squawk's advice on a statement with no table in squawk's words, not weighed as data", async () => {
    // As squawk's transaction-nesting was shown: "...managed by your migration tool The lint cannot tell which
    // table the statement works on, so it weighs it as one that holds data."
    await withClient(db.current.url, (c) => c.query("CREATE TYPE mood AS ENUM ('calm')"));
    const report = await lint(
      ["ALTER TYPE mood ADD VALUE 'tense';", "CREATE DOMAIN positive AS int CHECK (VALUE > 0);"].join("\n"),
    );
    expect(report.findings.map((f) => [f.level, f.line, f.rule, f.problem])).toEqual([
      [
        "warning",
        2,
        "require-enum-value-ordering",
        "ADD VALUE without BEFORE or AFTER appends the value to the end of the enum, which may result in unexpected ordering.",
      ],
      [
        "warning",
        3,
        "ban-create-domain-with-constraint",
        "Domains with constraints have poor support for online migrations. Use table and column constraints instead.",
      ],
    ]);
    await withClient(db.current.url, (c) => c.query("DROP TYPE mood"));
  });

  it("is not accepted by an exemption", async () => {
    const report = await lint(
      ["-- neonhub-db:allow transaction-control because the backfill is long", "COMMIT;"].join("\n"),
    );
    expect(report.findings.map((f) => [f.level, f.line, f.rule])).toEqual([
      ["error", 2, "neonhub-db:allow"],
      ["error", 3, "transaction-control"],
    ]);
    expect(report.findings[0]!.problem).toBe(
      "The exemption names transaction-control, which no exemption accepts: a migration that ends its own transaction is not applied all or nothing, whatever the comment says.",
    );
  });

  it("apply refuses a COMMIT then a failing statement, and a ROLLBACK, before writing anything (production too)", async () => {
    const before = await ledger(db.current.url);
    const cases = [
      [
        'ALTER TABLE "Widget" ADD COLUMN "x1" text;',
        "COMMIT;",
        "BEGIN;",
        'ALTER TABLE "Widget" ADD COLUMN "x2" nosuchtype;',
      ],
      ['ALTER TABLE "Widget" ADD COLUMN "r1" text;', "ROLLBACK;", "SELECT 1;"],
    ];
    for (const up of cases) {
      writeMigration(dir, FILE, up.join("\n"), 'ALTER TABLE "Widget" DROP COLUMN "x1";');
      for (const environment of ["development", "production"]) {
        const apply = await cli("apply", "--json", "--environment", environment);
        expect(apply.code).toBe(1);
        const { error } = JSON.parse(apply.stdout) as { error: { code: string; message: string } };
        expect(error.code).toBe("unsafe-migration");
        expect(error.message).toContain("nothing was applied");
        expect(error.message).toContain(`${FILE}:3 transaction-control: `);
      }
      expect(await columns(db.current.url)).toEqual(["id", "name", "color"]);
      expect(await ledger(db.current.url)).toBe(before);
    }
  });
});
