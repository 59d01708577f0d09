// A migration that fails after others of the same apply committed: the snapshot verify compares with is taken
// of what those committed, so verify is clean (their objects are the release's, not drift), and plan shows the
// failed migration still pending.
import { describe, expect, it } from "vitest";
import { applyRelease, planRelease, verifyRelease, withReleaseSession } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

describe("verify after a failed apply", () => {
  const db = useTestDatabase("verifyfail");
  const dir = fixtureMigrationsCopy();
  const options = () => ({ databaseUrl: db.current.url, migrationsDir: dir });

  it("is clean: the migrations that committed are in the snapshot, the failed one is pending", async () => {
    await applyRelease(options());
    writeMigration(dir, "20250101000400_widget_note.sql", `ALTER TABLE "Widget" ADD COLUMN note text;`);
    writeMigration(dir, "20250101000500_widget_size.sql", `ALTER TABLE "Widget" ADD COLUMN size integer;`);
    writeMigration(dir, "20250101000600_broken.sql", `ALTER TABLE no_such_table ADD COLUMN x integer;`);
    await expect(applyRelease(options())).rejects.toThrow(/20250101000600_broken/);
    const report = await verifyRelease(options());
    expect(report.drift).toMatchObject({ added: [], removed: [], changed: [] });
    expect(report.drift.note).toBeUndefined();
    expect(report.clean).toBe(true);
    const plan = await planRelease(options());
    expect(plan.migrations.pending.map((m) => m.name)).toEqual(["20250101000600_broken"]);
  });
});

// A revert whose Down section fails after the Down sections of later migrations committed: the snapshot is
// taken of what is left, so verify is clean and does not advise an apply (which would undo the revert).
describe("verify after a failed revert", () => {
  const db = useTestDatabase("verifyrevert");
  const dir = fixtureMigrationsCopy();
  const options = () => ({ databaseUrl: db.current.url, migrationsDir: dir });
  const revert = (to: string) => withReleaseSession(options(), "test", (s) => s.revert({ to }));

  it("is clean: the reverted migrations' objects are gone from the snapshot too", async () => {
    writeMigration(
      dir,
      "20250101000400_bad_down.sql",
      `ALTER TABLE "Widget" ADD COLUMN tmp int;`,
      `ALTER TABLE "Widget" DROP COLUMN tmp;\nALTER TABLE "Widget" DROP COLUMN doesnotexist;`,
    );
    writeMigration(
      dir,
      "20250101000500_widget_flag.sql",
      `ALTER TABLE "Widget" ADD COLUMN flag boolean;`,
      `ALTER TABLE "Widget" DROP COLUMN flag;`,
    );
    await applyRelease(options());
    await expect(revert("20250101000300_gadgets")).rejects.toThrow(/20250101000400_bad_down/);
    const report = await verifyRelease(options());
    expect(report.drift).toMatchObject({ added: [], removed: [], changed: [] });
    expect(report.drift.note).toBeUndefined();
    expect(report.clean).toBe(true);
    const run = await runCli(["verify", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toContain("run apply");
  });

  it("after a revert stopped before its snapshot, says so instead of advising an apply; revert records it", async () => {
    // What a revert killed between a Down section's commit and the snapshot leaves: the Down section and its
    // ledger row's removal committed, the snapshot still the one taken before.
    await withClient(db.current.url, (c) =>
      c.query(
        `ALTER TABLE "Widget" DROP COLUMN tmp;
         DELETE FROM neonhub_release.migrations WHERE name = '20250101000400_bad_down'`,
      ),
    );
    const interrupted = await verifyRelease(options());
    expect(interrupted.clean).toBe(false);
    expect(interrupted.drift.note).toContain("a revert was interrupted");
    expect(interrupted.drift.note).toContain("neonhub-db revert --to 20250101000300_gadgets --confirm");
    expect(interrupted.drift.note).not.toContain("run apply");
    const nothingLeft = await revert("20250101000300_gadgets");
    expect(nothingLeft.reverted).toEqual([]);
    expect((await verifyRelease(options())).clean).toBe(true);
  });
});
