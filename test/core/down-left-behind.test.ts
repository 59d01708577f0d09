// A migration applied and reverted whose Down section does not undo all its Up section did: the revert ends
// cleanly, and the next apply fails on what was left behind. Its fix says so (correct the Down section, build the
// database again), not "Fix the file", and following it, revert and apply go through. The CLI on a real database.
import { readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const GADGETS = "20250101000300_gadgets";
const FLAG = "20250101000400_widget_flag";

interface ErrorDocument {
  error: { code: string; message: string; fix: string };
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

  it("makes the next apply name the Down section and the way out, which works", async () => {
    const file = writeMigration(
      dir,
      `${FLAG}.sql`,
      'ALTER TABLE "Widget" ADD COLUMN flag int;\nCREATE INDEX widget_flag_idx ON "Widget" (flag);',
      "DROP INDEX widget_flag_idx;",
    );
    expect((await cli("apply")).code).toBe(0);
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
        "If its ledger row was deleted by hand, `neonhub-db verify` says so and how to put it back. " +
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
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        "DROP INDEX widget_flag_idx;",
        'DROP INDEX widget_flag_idx;\nALTER TABLE "Widget" DROP COLUMN flag;',
      ),
    );
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
    expect(error.fix).toContain("Fix the file and run apply again.");
    expect(error.fix).not.toContain("already has");
  });
});
