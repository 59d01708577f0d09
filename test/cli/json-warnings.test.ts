// The warnings a command writes on stderr are in its --json document too (`warnings`): a CI job that reads
// stdout alone must see that apply recorded a hand-dropped index or a storage setting as the schema's. Drift
// apply warns about (core/drift-before-release.ts) made by hand on a real database, then plan, apply, revert
// and a failed apply run by the CLI with --json.
import { rmSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { DriftBeforeRelease } from "../../core";
import type { ErrorDocument } from "../../cli/error-document";
import { runCli, type CliRun } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const WARNING = "[neonhub-db] warning: ";

/** The warnings a run wrote on stderr, each as its line says it. */
function stderrWarnings(run: CliRun): string[] {
  return run.stderr
    .split("\n")
    .filter((line) => line.startsWith(WARNING))
    .map((line) => line.slice(WARNING.length));
}

describe("--json holds the warnings the command wrote on stderr", () => {
  const db = useTestDatabase("jsonwarn");
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--migrations-dir", dir, "--json"], { DATABASE_URL: db.current.url });
  const sql = (statement: string) => withClient(db.current.url, (c) => c.query(statement));
  const storageWarning = (table: string, change: "added" | "changed") =>
    `storage TABLE public."${table}" was ${change} by hand since the last release; this release records it as the schema's`;

  it("apply: a hand-dropped index and a storage setting, as on stderr; plan lists them in drift", async () => {
    const first = await cli("apply");
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ warnings: [] });

    await sql("DROP INDEX gadget_widget");
    await sql('ALTER TABLE "Widget" SET (fillfactor = 70)');
    writeMigration(dir, "20250101000400_probe.sql", 'CREATE TABLE "Probe" (id int);', 'DROP TABLE "Probe";');

    // plan shows the drift apply goes on with in its report (`drift`, handling warn), not on stderr.
    const planned = await cli("plan");
    expect(planned.code, planned.stderr).toBe(2);
    const plan = JSON.parse(planned.stdout) as { drift: DriftBeforeRelease[]; warnings: string[] };
    expect(plan.drift.map((d) => [d.object, d.change, d.handling]).sort()).toEqual([
      ["index public.gadget_widget", "removed", "warn"],
      ['storage TABLE public."Widget"', "added", "warn"],
    ]);
    expect(plan.warnings).toEqual(stderrWarnings(planned));

    const applied = await cli("apply");
    expect(applied.code, applied.stderr).toBe(0);
    const result = JSON.parse(applied.stdout) as { migrations: { name: string }[]; warnings: string[] };
    expect(result.migrations.map((m) => m.name)).toEqual(["20250101000400_probe"]);
    expect(result.warnings).toEqual(stderrWarnings(applied));
    expect(result.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^index public\.gadget_widget was removed by hand since the last release; this release records it as the schema's/,
        ),
        expect.stringContaining(storageWarning("Widget", "added")),
      ]),
    );
  });

  it("revert: the preview lists the drift, --confirm's document holds its warning", async () => {
    await sql('ALTER TABLE "Gadget" SET (fillfactor = 80)');
    const to = "20250101000300_gadgets";

    const preview = await cli("revert", "--to", to);
    expect(preview.code, preview.stderr).toBe(2);
    const shown = JSON.parse(preview.stdout) as {
      confirmed: false;
      plan: { drift: DriftBeforeRelease[] };
      warnings: string[];
    };
    expect(shown.plan.drift).toEqual([
      expect.objectContaining({ object: 'storage TABLE public."Gadget"', handling: "warn" }),
    ]);
    expect(shown.warnings).toEqual(stderrWarnings(preview));

    const reverted = await cli("revert", "--to", to, "--confirm");
    expect(reverted.code, reverted.stderr).toBe(0);
    const done = JSON.parse(reverted.stdout) as { confirmed: true; warnings: string[] };
    expect(done.confirmed).toBe(true);
    expect(done.warnings).toEqual(stderrWarnings(reverted));
    expect(done.warnings).toContainEqual(expect.stringContaining(storageWarning("Gadget", "added")));
    rmSync(path.join(dir, "20250101000400_probe.sql"));
  });

  it("an apply that fails after a warning: the error document holds the warning beside the error", async () => {
    await sql('ALTER TABLE "Widget" SET (fillfactor = 60)');
    writeMigration(dir, "20250101000500_broken.sql", 'SELECT "noSuchColumn" FROM "Widget";');
    const failed = await cli("apply");
    expect(failed.code).toBe(1);
    const document = JSON.parse(failed.stdout) as ErrorDocument;
    expect(document.error.code).toBe("migration-failed");
    expect(document.warnings).toEqual(stderrWarnings(failed));
    expect(document.warnings).toContainEqual(expect.stringContaining(storageWarning("Widget", "changed")));
  });
});

// The safety lint's warnings (blocking statements on a table with data, outside production) are what apply
// goes on with: it says each on stderr before it applies, and --json keeps them, as plan shows them.
describe("apply says the safety lint's warnings", () => {
  const db = useTestDatabase("jsonlintwarn");
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--migrations-dir", dir], { DATABASE_URL: db.current.url });

  it("each warning as one stderr line and in --json's warnings; exempted findings as a count", async () => {
    const first = await cli("apply", "--json");
    expect(first.code, first.stderr).toBe(0);
    await withClient(db.current.url, (c) =>
      c.query(`INSERT INTO "Widget" (id, name) VALUES ('w1', 'one'), ('w2', 'two')`),
    );
    writeMigration(
      dir,
      "20250101000400_widget_indexes.sql",
      [
        'CREATE INDEX widget_name ON "Widget" (name);',
        "-- neonhub-db:allow require-concurrent-index-creation because Widget holds a few rows",
        'CREATE INDEX widget_color ON "Widget" (color);',
      ].join("\n"),
    );

    const planned = await cli("plan", "--json");
    expect(planned.code, planned.stderr).toBe(2);
    const plan = JSON.parse(planned.stdout) as { safety: { findings: { level: string; rule: string }[] } };
    expect(plan.safety.findings.map((f) => `${f.level} ${f.rule}`)).toEqual([
      "warning require-concurrent-index-creation",
      "exempted require-concurrent-index-creation",
    ]);

    const applied = await cli("apply", "--json");
    expect(applied.code, applied.stderr).toBe(0);
    const result = JSON.parse(applied.stdout) as { migrations: { name: string }[]; warnings: string[] };
    expect(result.migrations.map((m) => m.name)).toEqual(["20250101000400_widget_indexes"]);
    expect(result.warnings).toEqual(stderrWarnings(applied));
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /^safety lint: 20250101000400_widget_indexes\.sql:2 require-concurrent-index-creation on "Widget" \(2 rows, [^)]+\): [^\n]+\.$/,
      ),
    ]);
    expect(applied.stderr).toContain(
      "[neonhub-db] safety lint: 1 finding accepted by exemptions (plan lists them with their reasons)",
    );
    // Said before the migration runs.
    const lines = applied.stderr.split("\n");
    const warned = lines.findIndex((line) => line.startsWith(`${WARNING}safety lint: `));
    const running = lines.findIndex((line) =>
      line.startsWith("[neonhub-db] migration 20250101000400_widget_indexes:"),
    );
    expect([warned >= 0, running >= 0, warned < running]).toEqual([true, true, true]);
  });
});
