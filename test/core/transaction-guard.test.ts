// The runner's transaction guard, on real PostgreSQL: a section that ends the transaction the engine runs its
// migration in (a COMMIT, a ROLLBACK, or what the lint cannot read) fails the migration before its ledger row,
// says that what ran before may be committed, and how to check. apply lints such a section first
// (test/lint/transaction-control.test.ts), and revert the Down sections it runs (test/lint/down-sections.test.ts):
// these run the runner itself, as the lint does not. (The runner is not the engine's API: imported where it
// lives, as transaction-messages.test.ts does.)
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  ReleaseError,
  applyRelease,
  readMigrationFiles,
  silentLogger,
  withReleaseSession,
  type CommandPrinter,
} from "../../core";
import { runPendingMigrations } from "../../core/migrations/run";
import { runRevert } from "../../core/migrations/revert";
import { useTestDatabase, withClient, columnsOf } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const FILE = "20250101000400_txn";

const ledger = (url: string) =>
  withClient(url, async (c) =>
    (await c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id")).rows.map(
      (r) => r.name,
    ),
  );

const columns = (url: string) => columnsOf(url, '"Widget"');

describe("the runner's transaction guard", () => {
  const db = useTestDatabase("txnguard");
  const dir = fixtureMigrationsCopy();

  /** Runs FILE's Up section with the runner alone (no lint), and returns its error; `print`, the fixes' printer. */
  const run = async (up: string, print?: CommandPrinter): Promise<ReleaseError> => {
    writeMigration(dir, `${FILE}.sql`, up);
    const pending = readMigrationFiles(dir).filter((f) => f.name === FILE);
    try {
      const error = await withClient(db.current.url, (c) =>
        runPendingMigrations(c, { pending, dir, log: silentLogger, print }).then(
          () => undefined,
          (e: unknown) => e,
        ),
      );
      expect(error).toBeInstanceOf(ReleaseError);
      return error as ReleaseError;
    } finally {
      rmSync(path.join(dir, `${FILE}.sql`));
    }
  };

  it("stops a section that commits part way before its ledger row, saying what is committed", async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    const before = await ledger(db.current.url);
    const error = await run(
      'ALTER TABLE "Widget" ADD COLUMN "c1" text;\nCOMMIT;\nALTER TABLE "Widget" ADD COLUMN "c2" text;',
    );
    expect(error.code).toBe("migration-failed");
    expect(error.message).toBe(
      `Migration ${FILE}.sql stopped before its ledger row: its Up section ended the transaction apply runs it in (a COMMIT, ROLLBACK or the like, or a function or procedure that ends it), so it did not run all or nothing.`,
    );
    expect(error.fix).toBe(
      `What ran of it before its transaction ended is committed, and no ledger row records it. See what is in the database with verify (or plan, which reports it as schema drift), undo that part by hand, remove the transaction control from ${FILE}.sql (if it meant two transactions, split it into two migrations), and run apply again.`,
    );
    expect(error.failedMigration).toMatchObject({
      name: FILE,
      direction: "up",
      sqlstate: "NHTX1",
      line: null,
    });
    // What ran before the COMMIT is in; what ran after it, outside the migration's transaction, was not kept.
    expect(await columns(db.current.url)).toEqual(["id", "name", "color", "c1"]);
    expect(await ledger(db.current.url)).toEqual(before);
    await withClient(db.current.url, (c) => c.query('ALTER TABLE "Widget" DROP COLUMN "c1"'));
  });

  it("names verify, plan and apply as the caller prints its commands", async () => {
    const before = await ledger(db.current.url);
    // A caller's printer, as the CLI's prints each command with the operator's options.
    const print: CommandPrinter = (args) => `\`neonhub-db ${args.join(" ")} --migrations-dir db\``;
    const error = await run('ALTER TABLE "Widget" ADD COLUMN "p1" text;\nCOMMIT;\nSELECT 1;', print);
    expect(error.fix).toBe(
      `What ran of it before its transaction ended is committed, and no ledger row records it. See what is in the database with \`neonhub-db verify --migrations-dir db\` (or \`neonhub-db plan --migrations-dir db\`, which reports it as schema drift), undo that part by hand, remove the transaction control from ${FILE}.sql (if it meant two transactions, split it into two migrations), and run \`neonhub-db apply --migrations-dir db\` again.`,
    );
    expect(await ledger(db.current.url)).toEqual(before);
    await withClient(db.current.url, (c) => c.query('ALTER TABLE "Widget" DROP COLUMN "p1"'));
  });

  it("stops a section that rolls back before the ledger records it", async () => {
    const before = await ledger(db.current.url);
    const error = await run('ALTER TABLE "Widget" ADD COLUMN "r1" text;\nROLLBACK;\nSELECT 1;');
    expect(error.code).toBe("migration-failed");
    expect(error.message).toContain("its Up section ended the transaction apply runs it in");
    expect(error.fix).toMatch(
      /^What ran of it before its transaction ended may be committed, and no ledger row/,
    );
    expect(await columns(db.current.url)).toEqual(["id", "name", "color"]);
    expect(await ledger(db.current.url)).toEqual(before);
  });

  it("says a failure after a COMMIT left what ran before it committed, not that nothing is applied", async () => {
    const before = await ledger(db.current.url);
    const error = await run(
      [
        'ALTER TABLE "Widget" ADD COLUMN "x1" text;',
        "COMMIT;",
        "BEGIN;",
        'ALTER TABLE "Widget" ADD COLUMN "x2" nosuchtype;',
      ].join("\n"),
    );
    expect(error.code).toBe("migration-failed");
    expect(error.message).toMatch(
      new RegExp(`^Migration ${FILE}\\.sql failed at line 5: type "nosuchtype" does not exist\\n`),
    );
    expect(error.message).toContain(
      "\nBefore that statement, its Up section ended the transaction apply runs it in (a COMMIT, ROLLBACK or the like, or a function or procedure that ends it), so it did not run all or nothing.",
    );
    expect(error.fix).toMatch(/^What ran of it before its transaction ended is committed, and no ledger row/);
    expect(error.fix).not.toContain("rolled back");
    expect(error.failedMigration).toMatchObject({ name: FILE, line: 5, sqlstate: "42704" });
    expect(await columns(db.current.url)).toEqual(["id", "name", "color", "x1"]);
    expect(await ledger(db.current.url)).toEqual(before);
    await withClient(db.current.url, (c) => c.query('ALTER TABLE "Widget" DROP COLUMN "x1"'));
  });

  it("lets a failure that ended nothing say, as ever, that it was rolled back; and a clean section applies", async () => {
    const failed = await run('ALTER TABLE "Widget" ADD COLUMN "f1" text;\nSELECT 1/0;');
    expect(failed.fix).toMatch(/^Its transaction was rolled back \(nothing of it is applied\)/);
    // The same session, after the guard's failures: applied and recorded.
    writeMigration(dir, `${FILE}.sql`, 'ALTER TABLE "Widget" ADD COLUMN "ok" text;');
    const pending = readMigrationFiles(dir).filter((f) => f.name === FILE);
    const applied = await withClient(db.current.url, (c) =>
      runPendingMigrations(c, { pending, dir, log: silentLogger }),
    );
    expect(applied.map((m) => m.name)).toEqual([FILE]);
    expect((await ledger(db.current.url)).at(-1)).toBe(FILE);
    expect(await columns(db.current.url)).toEqual(["id", "name", "color", "ok"]);
  });

  it("stops a corrected Down section that commits before its ledger row is deleted", async () => {
    // FILE is applied (the test before); its Down section corrected with a COMMIT. revert lints it first and
    // refuses it, nothing reverted; the runner, run on its own, stops it too.
    writeFileSync(
      path.join(dir, `${FILE}.sql`),
      `-- Up Migration\nALTER TABLE "Widget" ADD COLUMN "ok" text;\n\n-- Down Migration\nALTER TABLE "Widget" DROP COLUMN "ok";\nCOMMIT;\nSELECT 1;\n`,
    );
    const refused = await withReleaseSession(
      { databaseUrl: db.current.url, migrationsDir: dir },
      "test",
      (s) => s.revert({ to: "20250101000300_gadgets", correctedDown: [FILE] }),
    ).catch((e: unknown) => e);
    expect((refused as ReleaseError).code).toBe("unsafe-migration");
    expect(await columns(db.current.url)).toEqual(["id", "name", "color", "ok"]);
    const newestFirst = readMigrationFiles(dir).filter((f) => f.name === FILE);
    const error = await withClient(db.current.url, (c) =>
      runRevert(c, { dir, newestFirst, log: silentLogger }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReleaseError);
    const { code, message, fix } = error as ReleaseError;
    expect(code).toBe("migration-failed");
    expect(message).toBe(
      `Reverting migration ${FILE}.sql stopped before its ledger row: its Down section ended the transaction revert runs it in (a COMMIT, ROLLBACK or the like, or a function or procedure that ends it), so it did not run all or nothing.`,
    );
    expect(fix).toContain(
      "What ran of it before its transaction ended is committed, and its ledger row stays: the ledger records it as applied.",
    );
    expect(fix).toContain(`run the revert again with --corrected-down ${FILE}`);
    expect(await columns(db.current.url)).toEqual(["id", "name", "color"]);
    expect((await ledger(db.current.url)).at(-1)).toBe(FILE);
  });
});
