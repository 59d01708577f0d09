// A migration that fails after others of the same apply committed: the snapshot verify compares with is taken
// of what those committed, so verify is clean (their objects are the release's, not drift), and plan shows the
// failed migration still pending.
import { describe, expect, it } from "vitest";
import { applyRelease, planRelease, releaseStatus, verifyRelease, withReleaseSession } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { killAt, startCli, waitUntil } from "../support/kill-points";

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
    // The column the revert dropped is not drift, and nothing is to be put back: the revert goes on instead.
    expect(interrupted.drift).toMatchObject({ added: [], removed: [], changed: [], repairs: {} });
    expect(interrupted.drift.note).toContain("The schema was not compared with that snapshot");
    expect(interrupted.drift.note).toContain("a revert was interrupted");
    expect(interrupted.drift.note).toContain("neonhub-db revert --to 20250101000300_gadgets --confirm");
    expect(interrupted.drift.note).not.toContain("run apply");
    // plan shows the reverted migration as pending, and says what verify says: the revert goes on, not apply.
    const planned = await planRelease(options());
    expect(planned.migrations.pending.map((m) => m.name)).toContain("20250101000400_bad_down");
    expect(planned.interruption).toContain("a revert was interrupted");
    expect(planned.interruption).toContain("neonhub-db revert --to 20250101000300_gadgets --confirm");
    expect((await releaseStatus(options())).interruption).toBe(planned.interruption);
    const planText = await runCli(["plan", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(planText.stdout).toContain("  note: the snapshot was taken after 20250101000400_bad_down");
    const nothingLeft = await revert("20250101000300_gadgets");
    expect(nothingLeft.reverted).toEqual([]);
    expect((await verifyRelease(options())).clean).toBe(true);
    expect((await planRelease(options())).interruption).toBeUndefined();
    expect((await releaseStatus(options())).interruption).toBeUndefined();
  });
});

// An apply killed after a migration of its run committed and before it recorded the snapshot: the snapshot
// is of the release before, and the committed migration's objects (its table, its grant) differ from it. They
// are the release's: verify names the interruption and lists neither drift nor a repair (a REVOKE would take
// the grant the migration gave), and the apply that completes the release leaves it clean.
describe("verify after an interrupted apply", () => {
  const db = useTestDatabase("verifykill");
  const dir = fixtureMigrationsCopy();
  const options = () => ({ databaseUrl: db.current.url, migrationsDir: dir });
  const sessions = () =>
    withClient(db.current.url, async (c) =>
      (
        await c.query(
          "SELECT wait_event FROM pg_stat_activity WHERE datname = current_database() AND starts_with(application_name, 'neonhub-db:')",
        )
      ).rows.map((r: { wait_event: string | null }) => r.wait_event),
    );

  it("names the interruption without drift or repairs; the next apply completes it and verify is clean", async () => {
    await applyRelease(options());
    writeMigration(
      dir,
      "20250101000400_walked.sql",
      "CREATE TABLE walked (id integer PRIMARY KEY);\nGRANT SELECT ON walked TO PUBLIC;",
    );
    writeMigration(dir, "20250101000500_sleeps.sql", "CREATE TABLE slept (id int);\nSELECT pg_sleep(60);");
    const killed = await killAt(
      startCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url }),
      "the second migration to sleep",
      async () => (await sessions()).includes("PgSleep"),
    );
    expect(killed.signal, killed.stderr).toBe("SIGKILL");
    await waitUntil("the killed apply's session to end", async () => (await sessions()).length === 0);

    const report = await verifyRelease(options());
    expect(report.clean).toBe(false);
    expect(report.drift).toMatchObject({ added: [], removed: [], changed: [], repairs: {} });
    expect(report.drift.note).toContain(
      "the ledger ends at 20250101000400_walked: an apply was interrupted; run apply to complete it",
    );
    const run = await runCli(["verify", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toContain(
      `an apply was interrupted; run \`neonhub-db apply --migrations-dir ${dir}\` to complete it`,
    );
    expect(run.stdout).not.toContain("drift:");
    expect(run.stdout).not.toContain("repair:");

    writeMigration(dir, "20250101000500_sleeps.sql", "CREATE TABLE slept (id int);");
    await applyRelease(options());
    const after = await verifyRelease(options());
    expect(after.drift.note).toBeUndefined();
    expect(after.clean).toBe(true);
  });
});
