// apply --json refusing before anything runs: `error.problems` lists why, as plan --json's top-level `problems`
// lists it for the same database (one function builds both), so CI reads a refused apply as it reads a plan.
// And a row deleted from the release's ledger, named as missing by plan, apply, status and revert, restored by
// the statements its fix gives.
import { appendFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { applyRelease, type PlanProblem, type ReleasePlan, type ReleaseStatus } from "../../core";
import { cliJson } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

interface ErrorDocument {
  error: { code: string; message: string; fix: string | null; problems?: PlanProblem[] };
}

const plan = (url: string, dir: string, ...args: string[]) =>
  cliJson<ReleasePlan>(url, "plan", "--migrations-dir", dir, ...args);
const apply = (url: string, dir: string, ...args: string[]) =>
  cliJson<ErrorDocument>(url, "apply", "--migrations-dir", dir, ...args);

describe("apply --json with a changed applied migration", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("refuses with error.problems equal to plan --json's problems", async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    appendFileSync(path.join(dir, "20250101000200_widget_color.sql"), "\n-- edited\n");
    const planned = await plan(db.current.url, dir);
    const applied = await apply(db.current.url, dir);
    expect(applied.code).toBe(1);
    expect(applied.doc.error.code).toBe("ledger-mismatch");
    expect(planned.doc.problems.map((p) => p.kind)).toEqual(["changed"]);
    expect(applied.doc.error.problems).toEqual(planned.doc.problems);
  });
});

describe("apply --json with a safety lint error in production", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("refuses with error.problems equal to plan --json's problems (the lint's errors)", async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    await withClient(db.current.url, (c) =>
      c.query(`INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'w' || g FROM generate_series(1, 500) g`),
    );
    writeMigration(dir, "20250101000400_widget_name.sql", 'CREATE INDEX widget_name ON "Widget" (name);');
    const planned = await plan(db.current.url, dir, "--environment", "production");
    const applied = await apply(db.current.url, dir, "--environment", "production");
    expect(applied.code).toBe(1);
    expect(applied.doc.error.code).toBe("unsafe-migration");
    expect(planned.doc.problems.map((p) => p.kind)).toEqual(["unsafe-migration"]);
    expect(applied.doc.error.problems).toEqual(planned.doc.problems);
  });
});

describe("a row deleted from the release's ledger", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();
  const missing = "20250101000200_widget_color";

  it("is named missing by plan, apply, status and revert, and its fix's statements restore it", async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    await withClient(db.current.url, (c) =>
      c.query("DELETE FROM neonhub_release.migrations WHERE name = $1", [missing]),
    );

    const planned = await plan(db.current.url, dir);
    expect(planned.code).toBe(1);
    expect(planned.doc.migrations.pending).toEqual([]);
    expect(planned.doc.problems.map((p) => [p.kind, p.message.split(" is ")[0]])).toEqual([
      ["missing-from-ledger", `Migration ${missing}.sql`],
    ]);
    expect(planned.doc.problems[0]!.message).not.toContain("is new but ordered before");

    const applied = await apply(db.current.url, dir);
    expect(applied.code).toBe(1);
    expect(applied.doc.error.code).toBe("ledger-mismatch");
    expect(applied.doc.error.problems).toEqual(planned.doc.problems);

    const status = await cliJson<ReleaseStatus>(db.current.url, "status", "--migrations-dir", dir);
    expect(status.doc.pendingMigrations).toEqual([]);
    expect(status.doc.problems.map((p) => p.kind)).toEqual(["missing-from-ledger"]);

    // Reverting past it would leave its column while the ledger says the revert went before it.
    const reverted = await cliJson<ErrorDocument>(
      db.current.url,
      "revert",
      "--to",
      "20250101000100_widgets",
      "--confirm",
      "--migrations-dir",
      dir,
    );
    expect(reverted.code).toBe(1);
    expect(reverted.doc.error.problems?.map((p) => p.kind)).toEqual(["missing-from-ledger"]);

    // Its column is there (verify reports no drift), so its row goes back as the fix says.
    const verified = await cliJson<{ drift: { added: unknown[]; removed: unknown[]; changed: unknown[] } }>(
      db.current.url,
      "verify",
      "--migrations-dir",
      dir,
    );
    expect([
      ...verified.doc.drift.added,
      ...verified.doc.drift.removed,
      ...verified.doc.drift.changed,
    ]).toEqual([]);
    const fix = planned.doc.problems[0]!.fix;
    const restore = fix.slice(fix.indexOf("SELECT set_config"), fix.indexOf(" If they are not"));
    await withClient(db.current.url, (c) => c.query(restore));
    const after = await plan(db.current.url, dir);
    expect(after.code).toBe(0);
    expect(after.doc.problems).toEqual([]);
    const ledger = await withClient(db.current.url, (c) =>
      c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY run_on, id"),
    );
    expect(ledger.rows.map((r) => r.name)).toEqual([
      "20250101000100_widgets",
      missing,
      "20250101000300_gadgets",
    ]);
    const verifiedAfter = await cliJson<{ clean: boolean }>(
      db.current.url,
      "verify",
      "--migrations-dir",
      dir,
    );
    expect(verifiedAfter.doc.clean).toBe(true);
  });
});

describe("revert --json's preview that --confirm would refuse", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();
  const probe = "20250101000400_probe";
  const revert = (...args: string[]) =>
    cliJson<{ problems: PlanProblem[]; plan: { problems: unknown[] }; confirmCommand: string | null }>(
      db.current.url,
      "revert",
      "--to",
      "20250101000300_gadgets",
      "--migrations-dir",
      dir,
      ...args,
    );

  it("lists each reason in its top-level problems, as --confirm's error.problems, the ledger having none", async () => {
    // A Down section that builds an index on a table with data: an error of the lint in production only.
    writeMigration(
      dir,
      `${probe}.sql`,
      'CREATE TABLE "Probe" (id int);',
      'DROP TABLE "Probe"; CREATE INDEX widget_name ON "Widget" (name);',
    );
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    await withClient(db.current.url, (c) =>
      c.query(`INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'w' || g FROM generate_series(1, 500) g`),
    );

    const allowed = await revert();
    expect(allowed.code).toBe(2);
    expect(allowed.doc.problems).toEqual([]);

    const previewed = await revert("--environment", "production");
    expect(previewed.code).toBe(1);
    expect(previewed.doc.confirmCommand).toBeNull();
    // The ledger is fine: the reason was in the safety section alone.
    expect(previewed.doc.plan.problems).toEqual([]);
    expect(previewed.doc.problems.map((p) => [p.section, p.kind])).toEqual([["safety", "unsafe-migration"]]);
    const confirmed = await cliJson<ErrorDocument>(
      db.current.url,
      "revert",
      "--to",
      "20250101000300_gadgets",
      "--confirm",
      "--environment",
      "production",
      "--migrations-dir",
      dir,
    );
    expect(confirmed.code).toBe(1);
    expect(confirmed.doc.error.code).toBe("unsafe-migration");
    expect(confirmed.doc.error.problems).toEqual(previewed.doc.problems);
  });
});
