// The README documents the top-level fields of `status --json` and `verify --json` as `{a, b, ...}`; this
// keeps them the fields the CLI prints, on a released database and on one with drift.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT, applyRelease } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const README = readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8").replace(/\s+/g, " ");
const RUNBOOK = readFileSync(path.join(PROJECT_ROOT, "docs", "runbook.md"), "utf8").replace(/\s+/g, " ");

/** The fields the README gives `<command> --json`: "`status --json` is `{a, b}`". */
function documentedFields(command: string): string[] {
  const found = new RegExp(`\`${command} --json\` is \`\\{([^}]*)\\}\``).exec(README);
  expect(found, `README documents ${command} --json's fields`).not.toBeNull();
  return found![1]!.split(",").map((f) => f.trim());
}

describe("status --json and verify --json, as the README documents them", () => {
  const db = useTestDatabase("jsonshape");
  const dir = fixtureMigrationsCopy();
  const json = async (command: string) => {
    const run = await runCli([command, "--json", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    return JSON.parse(run.stdout) as Record<string, unknown>;
  };

  it("have the documented top-level fields, and verify's drift the documented ones", async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    expect(Object.keys(await json("status")).sort()).toEqual(documentedFields("status").sort());
    const clean = await json("verify");
    expect(Object.keys(clean).sort()).toEqual(documentedFields("verify").sort());
    for (const field of ["added", "removed", "changed", "repairs", "snapshotTakenAt"]) {
      expect(clean.drift).toHaveProperty(field);
      expect(README).toContain(`\`${field}\``);
    }
    await withClient(db.current.url, (c) => c.query('ALTER TABLE "Widget" RENAME TO "WidgetOld"'));
    const drifted = await json("verify");
    expect(drifted.clean).toBe(false);
    expect(Object.keys(drifted).sort()).toEqual(documentedFields("verify").sort());
  });
});

/** The fields docs/runbook.md gives an object of the safety lint's JSON: "<what> is `{a, b}`". */
function runbookFields(what: string): string[] {
  const found = new RegExp(`${what} is \`\\{([^}]*)\\}\``).exec(RUNBOOK);
  expect(found, `docs/runbook.md documents ${what}'s fields`).not.toBeNull();
  return found![1]!.split(",").map((f) => f.trim());
}

describe("plan --json's safety lint, as docs/runbook.md documents it", () => {
  const db = useTestDatabase("jsonsafety");
  const dir = fixtureMigrationsCopy();

  it("has the documented fields, and each error is a top-level problem", async () => {
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    await withClient(db.current.url, (c) => c.query(`INSERT INTO "Widget" (id, name) VALUES ('w1', 'one')`));
    writeMigration(
      dir,
      "20250101000400_widget_name.sql",
      'CREATE INDEX "Widget_name_idx" ON "Widget" (name);',
    );
    const run = await runCli(["plan", "--json", "--environment", "production", "--migrations-dir", dir], {
      DATABASE_URL: db.current.url,
    });
    expect(run.code).toBe(1);
    const plan = JSON.parse(run.stdout) as {
      safety: { findings: Record<string, unknown>[] };
      problems: Record<string, unknown>[];
    };
    expect(Object.keys(plan.safety).sort()).toEqual(runbookFields("`safety`").sort());
    expect(plan.safety.findings).toHaveLength(1);
    const [finding] = plan.safety.findings;
    expect(Object.keys(finding!).sort()).toEqual(runbookFields("Each finding").sort());
    expect(finding).toMatchObject({
      level: "error",
      section: "up",
      rule: "require-concurrent-index-creation",
    });
    expect(plan.problems).toEqual([expect.objectContaining({ section: "safety", kind: "unsafe-migration" })]);
  });
});
