// A ledger's last row deleted by hand. The serial's ids cannot tell it from a revert (which removes the last
// rows too, and leaves the sequence past max(id) alike), and neither can the snapshot alone (an interrupted
// revert leaves it recorded after the reverted migration as well); the migration's objects can: there as the
// snapshot recorded them, they were not reverted. Then plan, apply, status and verify name the migration
// missing from the ledger rather than pending (apply would run it again), with the statements that put its
// row back; an interrupted revert, whose Down section dropped them, stays pending. A migration that creates
// nothing cannot be told this way: when its changes are there, running it again fails on them (a column that
// exists), with the file, line and statement.
import { describe, expect, it } from "vitest";
import {
  applyRelease,
  type PlanProblem,
  type ReleasePlan,
  type ReleaseStatus,
  type VerifyReport,
} from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

interface ErrorDocument {
  error: { code: string; message: string; fix: string | null; problems?: PlanProblem[] };
}

const DELETE_LAST_ROW =
  "DELETE FROM neonhub_release.migrations WHERE id = (SELECT max(id) FROM neonhub_release.migrations)";

function useReleased() {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();
  const cli = async <T>(...args: string[]) => {
    const run = await runCli([...args, "--json", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    return { code: run.code, doc: JSON.parse(run.stdout) as T, stderr: run.stderr };
  };
  const ledger = async () =>
    (
      await withClient(db.current.url, (c) =>
        c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY run_on, id"),
      )
    ).rows.map((r) => r.name);
  return { db, dir, cli, ledger };
}

describe("the ledger's last row deleted by hand, its migration's table there", () => {
  const { db, dir, cli, ledger } = useReleased();
  const lost = "20250101000300_gadgets";

  it("is missing from the ledger for plan, apply, status and verify, and its fix puts the row back", async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    await withClient(db.current.url, (c) => c.query(DELETE_LAST_ROW));

    const planned = await cli<ReleasePlan>("plan");
    expect(planned.code).toBe(1);
    expect(planned.doc.migrations.pending).toEqual([]);
    expect(planned.doc.problems.map((p) => [p.kind, p.message.split(" is ")[0]])).toEqual([
      ["missing-from-ledger", `Migration ${lost}.sql`],
    ]);
    const [problem] = planned.doc.problems;
    expect(problem!.message).toContain(`the schema snapshot was recorded after ${lost}`);
    expect(problem!.message).toContain('table public."Gadget"');
    expect(problem!.fix).toContain("Put its row back only if its changes are in the database");
    expect(problem!.fix).toContain(
      `INSERT INTO neonhub_release.migrations (name, run_on) SELECT '${lost}', run_on FROM neonhub_release.migrations WHERE name = '20250101000200_widget_color';`,
    );

    const applied = await cli<ErrorDocument>("apply");
    expect(applied.code).toBe(1);
    expect(applied.doc.error.problems).toEqual(planned.doc.problems);

    const status = await cli<ReleaseStatus>("status");
    expect(status.code).toBe(2);
    expect(status.doc.pendingMigrations).toEqual([]);
    expect(status.doc.problems.map((p) => [p.kind, p.migration])).toEqual([["missing-from-ledger", lost]]);

    const verified = await cli<VerifyReport>("verify");
    expect(verified.code).toBe(2);
    expect(verified.doc.problems.map((p) => p.kind)).toEqual(["missing-from-ledger"]);
    expect(verified.doc.drift.note).toBeUndefined();

    // A revert goes back from the ledger's last row: it would leave the lost migration's table while its
    // snapshot recorded the state the ledger ends at. Refused, previewed or confirmed, with nothing changed.
    const previewed = await cli<{ plan: { problems: { kind: string; migration: string }[] } }>(
      "revert",
      "--to",
      "20250101000100_widgets",
    );
    expect(previewed.code).toBe(1);
    expect(previewed.doc.plan.problems.map((p) => [p.kind, p.migration])).toEqual([
      ["missing-from-ledger", lost],
    ]);
    const reverted = await cli<ErrorDocument>("revert", "--to", "20250101000100_widgets", "--confirm");
    expect(reverted.code).toBe(1);
    expect(reverted.doc.error.code).toBe("ledger-mismatch");
    expect(reverted.doc.error.message).toContain(`Migration ${lost}.sql`);
    expect(await ledger()).toEqual(["20250101000100_widgets", "20250101000200_widget_color"]);
    const gadget = await withClient(db.current.url, (c) => c.query(`SELECT to_regclass('"Gadget"') AS t`));
    expect(gadget.rows[0].t).toBe('"Gadget"');

    const fix = problem!.fix;
    const restore = fix.slice(fix.indexOf("SELECT set_config"), fix.indexOf(" If they are not"));
    await withClient(db.current.url, (c) => c.query(restore));
    expect((await cli<ReleasePlan>("plan")).code).toBe(0);
    expect(await ledger()).toEqual(["20250101000100_widgets", "20250101000200_widget_color", lost]);
    expect((await cli<VerifyReport>("verify")).doc.clean).toBe(true);
  });

  it("names the rows before it missing too when the last two rows went, the one before creating nothing", async () => {
    await withClient(db.current.url, (c) => c.query(`${DELETE_LAST_ROW}; ${DELETE_LAST_ROW}`));
    const planned = await cli<ReleasePlan>("plan");
    expect(planned.code).toBe(1);
    expect(planned.doc.migrations.pending).toEqual([]);
    expect(planned.doc.problems.map((p) => [p.kind, p.message.split(" is ")[0]])).toEqual([
      ["missing-from-ledger", "Migration 20250101000200_widget_color.sql"],
      ["missing-from-ledger", `Migration ${lost}.sql`],
    ]);
    // Each row goes back after the one before it.
    for (const p of planned.doc.problems) {
      const restore = p.fix.slice(p.fix.indexOf("SELECT set_config"), p.fix.indexOf(" If they are not"));
      await withClient(db.current.url, (c) => c.query(restore));
    }
    expect(await ledger()).toEqual(["20250101000100_widgets", "20250101000200_widget_color", lost]);
    expect((await cli<VerifyReport>("verify")).code).toBe(0);
  });
});

describe("a revert interrupted after its Down section committed", () => {
  const { db, dir, cli } = useReleased();

  it("stays pending: the Down section dropped what the snapshot recorded, and apply applies it again", async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    await withClient(db.current.url, (c) => c.query(`DROP TABLE "Gadget"; ${DELETE_LAST_ROW}`));
    const planned = await cli<ReleasePlan>("plan");
    expect(planned.code, JSON.stringify(planned.doc.problems)).toBe(2);
    expect(planned.doc.migrations.pending.map((m) => m.name)).toEqual(["20250101000300_gadgets"]);
    expect((await cli<ReleaseStatus>("status")).code).toBe(0);
    const verified = await cli<VerifyReport>("verify");
    expect(verified.doc.problems).toEqual([]);
    expect(verified.doc.drift.note).toContain("a revert was interrupted");
    expect((await cli("apply")).code).toBe(0);
  });
});

describe("the last row of a migration that creates nothing, deleted by hand", () => {
  const { db, dir, cli } = useReleased();

  it("reads as pending (nothing tells it apart), and apply fails on its column, naming the file and statement", async () => {
    writeMigration(
      dir,
      "20250101000400_widget_size.sql",
      'ALTER TABLE "Widget" ADD COLUMN size int;',
      'ALTER TABLE "Widget" DROP COLUMN size;',
    );
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    await withClient(db.current.url, (c) => c.query(DELETE_LAST_ROW));
    const verified = await cli<VerifyReport>("verify");
    expect(verified.doc.drift.note).toContain("its ledger row was deleted by hand");
    const applied = await cli<ErrorDocument & { error: { failedMigration?: { name: string } } }>("apply");
    expect(applied.code).toBe(1);
    expect(applied.doc.error.code).toBe("migration-failed");
    expect(applied.doc.error.failedMigration?.name).toBe("20250101000400_widget_size");
    expect(applied.doc.error.message).toContain('column "size" of relation "Widget" already exists');
    expect(applied.doc.error.message).toContain("20250101000400_widget_size.sql");
    // The verify it names is printed as the command to run on this database.
    expect(applied.doc.error.fix).toMatch(
      /If its ledger row was deleted by hand, `neonhub-db verify --migrations-dir [^`]+` says so and how to put it back/,
    );
  });
});
