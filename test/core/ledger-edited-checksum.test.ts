// A ledger row whose checksum no longer matches its file while the file's Up section is the one the row
// recorded (up_checksum) is not blamed on the file: either only the rest of the file changed (its Down section,
// or a comment above its Up section), or the row's checksum was edited by hand, and the ledger (no checksum of
// the rest) cannot tell which. status,
// apply and revert say both, and give the UPDATE that puts the file's checksum back in the row, which works.
// The refusal itself stays: apply and revert run nothing.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

interface Problem {
  kind: string;
  migration: string;
  message: string;
  fix: string;
}

describe("a ledger row's checksum edited by hand", () => {
  const db = useTestDatabase("edited");
  const dir = fixtureMigrationsCopy();
  const NAME = "20250101000400_flag";
  const cli = (...args: string[]) =>
    runCli([...args, "--migrations-dir", dir, "--json"], { DATABASE_URL: db.current.url });
  const query = (sql: string) => withClient(db.current.url, (c) => c.query(sql));

  it("is named as such, with the UPDATE that restores the row's checksum, and refused until then", async () => {
    writeMigration(
      dir,
      `${NAME}.sql`,
      'ALTER TABLE "Widget" ADD COLUMN flag int;',
      'ALTER TABLE "Widget" DROP COLUMN flag;',
    );
    expect((await cli("apply")).code).toBe(0);
    await query(`UPDATE neonhub_release.migrations SET checksum = repeat('a', 64) WHERE name = '${NAME}'`);

    const status = await cli("status");
    expect(status.code, status.stderr).toBe(2);
    const { problems } = JSON.parse(status.stdout) as { problems: Problem[] };
    expect(problems).toHaveLength(1);
    const [problem] = problems;
    expect(problem).toMatchObject({ kind: "changed", migration: NAME });
    expect(problem!.message).not.toContain("was changed after it was applied");
    expect(problem!.message).toContain("Its Up section is the applied one");
    expect(problem!.message).toContain("the row's checksum was edited by hand");
    expect(problem!.message).toContain(
      "the file changed outside that section (its Down section, or the lines before `-- Up Migration`) after it was applied",
    );
    const update =
      /UPDATE neonhub_release\.migrations SET checksum = '[0-9a-f]{64}' WHERE name = '[^']+';/.exec(
        problem!.fix,
      )?.[0];
    expect(update, problem!.fix).toContain(`WHERE name = '${NAME}'`);
    expect(problem!.fix).toContain(`git log -p -- ${dir}/${NAME}.sql`);
    expect(problem!.fix).toContain(`If the file changed, restore ${dir}/${NAME}.sql`);

    // Refused as before: nothing runs.
    writeMigration(dir, "20250101000500_after.sql", 'ALTER TABLE "Widget" ADD COLUMN after int;');
    const apply = await cli("apply");
    expect(apply.code).toBe(1);
    const applied = JSON.parse(apply.stdout) as { error: { code: string; message: string; fix: string } };
    expect(applied.error.code).toBe("ledger-mismatch");
    expect(applied.error.message).toContain("the row's checksum was edited by hand");
    expect(applied.error.fix).toContain(update);
    expect(
      (await query("SELECT 1 FROM neonhub_release.migrations WHERE name = '20250101000500_after'")).rowCount,
    ).toBe(0);

    const revert = await cli("revert", "--to", "20250101000300_gadgets", "--confirm");
    expect(revert.code).toBe(1);
    const reverted = JSON.parse(revert.stdout) as { error: { code: string; message: string; fix: string } };
    expect(reverted.error.code).toBe("ledger-mismatch");
    expect(reverted.error.message).toContain("the row's checksum was edited by hand");
    expect(reverted.error.message).not.toContain("the change is outside it");
    expect(reverted.error.fix).toContain(`--corrected-down ${NAME}`);
    expect(reverted.error.fix).toContain(update);
    expect(
      (await query("SELECT 1 FROM neonhub_release.migrations WHERE name = '" + NAME + "'")).rowCount,
    ).toBe(1);

    // The fix works: the row matches its file again.
    await query(update!);
    const fixed = await cli("status");
    expect(fixed.code, fixed.stdout).toBe(0);
    expect((await cli("apply")).code).toBe(0);
  });

  it("a comment edited above the Up section of an applied file is named as a change outside that section", async () => {
    // The file as applied above, with a comment added before its "-- Up Migration" line.
    writeFileSync(
      path.join(dir, `${NAME}.sql`),
      '-- Widgets get a flag.\n-- Up Migration\nALTER TABLE "Widget" ADD COLUMN flag int;\n\n-- Down Migration\nALTER TABLE "Widget" DROP COLUMN flag;\n',
    );
    const plan = await cli("plan");
    expect(plan.code).toBe(1);
    const { problems } = JSON.parse(plan.stdout) as { problems: Problem[] };
    expect(problems).toMatchObject([{ kind: "changed" }]);
    expect(problems[0]!.message).toContain("Its Up section is the applied one");
    expect(problems[0]!.message).toContain("the lines before `-- Up Migration`");
    expect(problems[0]!.fix).toContain(`If the file changed, restore ${dir}/${NAME}.sql`);
  });

  it("a file whose Up section changed is still said to be changed, with no UPDATE offered", async () => {
    writeMigration(
      dir,
      `${NAME}.sql`,
      'ALTER TABLE "Widget" ADD COLUMN flag bigint;',
      'ALTER TABLE "Widget" DROP COLUMN flag;',
    );
    const status = await cli("status");
    expect(status.code).toBe(2);
    const { problems } = JSON.parse(status.stdout) as { problems: Problem[] };
    expect(problems[0]!.message).toBe(`Migration ${NAME}.sql was changed after it was applied.`);
    expect(problems[0]!.fix).not.toContain("UPDATE");
  });
});
