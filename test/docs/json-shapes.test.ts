// The README documents the top-level fields of `status --json` and `verify --json` as `{a, b, ...}`; this
// keeps them the fields the CLI prints, on a released database and on one with drift.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT, applyRelease } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy } from "../support/fixtures";

const README = readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8").replace(/\s+/g, " ");

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
