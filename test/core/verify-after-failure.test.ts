// A migration that fails after others of the same apply committed: the snapshot verify compares with is taken
// of what those committed, so verify is clean (their objects are the release's, not drift), and plan shows the
// failed migration still pending.
import { describe, expect, it } from "vitest";
import { applyRelease, planRelease, verifyRelease } from "../../core";
import { useTestDatabase } from "../support/database";
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
