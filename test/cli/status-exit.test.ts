// `neonhub-db status` exits 2 when it reports a ledger problem (one that apply refuses), as verify does for the
// same problems, so that CI can act on it: 0 with nothing wrong, pending migrations included (plan's exit 2
// says those), and 1 for an error such as a database it could not read. Plain text and --json alike.
import { appendFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT, applyRelease, type ReleaseStatus } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

describe("status's exit code", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();
  // Given relative (the CLI runs in the project root): the fixes name the folder as given.
  const given = path.relative(PROJECT_ROOT, dir);
  const status = (...args: string[]) =>
    runCli(["status", "--migrations-dir", given, ...args], { DATABASE_URL: db.current.url });
  /** Both forms: the exit codes, the JSON's problems, and the text. */
  async function both(): Promise<{ codes: (number | null)[]; json: ReleaseStatus; text: string }> {
    const text = await status();
    const json = await status("--json");
    return {
      codes: [text.code, json.code],
      json: JSON.parse(json.stdout) as ReleaseStatus,
      text: text.stdout,
    };
  }

  it("is 0 with migrations pending and once they are applied", async () => {
    const pending = await both();
    expect(pending.codes).toEqual([0, 0]);
    expect(pending.json.pendingMigrations).toHaveLength(3);
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
    const applied = await both();
    expect(applied.codes).toEqual([0, 0]);
    expect(applied.json.problems).toEqual([]);
    expect(applied.text).not.toContain("problem:");
  });

  it("is 2 for an applied migration whose file changed, with the problem and its fix", async () => {
    const file = path.join(dir, "20250101000200_widget_color.sql");
    const original = readFileSync(file, "utf8");
    appendFileSync(file, "\n-- edited\n");
    try {
      const run = await both();
      expect(run.codes).toEqual([2, 2]);
      expect(run.json.problems.map((p) => p.kind)).toEqual(["changed"]);
      // Appended to its Down section: its Up section is the applied one, so the row may have been edited.
      expect(run.text).toContain(
        "problem: Migration 20250101000200_widget_color.sql does not match the checksum its ledger row records",
      );
      expect(run.text).toContain(`git log -p -- ${given}/20250101000200_widget_color.sql`);
      expect(run.text).toContain(
        `If the file changed, restore ${given}/20250101000200_widget_color.sql to the applied version`,
      );
      expect(run.json.problems[0]!.fix).toContain(`restore ${given}/20250101000200_widget_color.sql`);
      // Not the resolved path (the relative one may contain it as its tail, after "../").
      expect(run.text).not.toContain(` ${dir}`);
    } finally {
      writeFileSync(file, original);
    }
    expect((await status()).code).toBe(0);
  });

  it("is 2 for an applied migration whose file is gone, naming the folder as given", async () => {
    const file = path.join(dir, "20250101000300_gadgets.sql");
    const original = readFileSync(file, "utf8");
    rmSync(file);
    try {
      const run = await both();
      expect(run.codes).toEqual([2, 2]);
      expect(run.json.problems.map((p) => p.kind)).toEqual(["missing-file"]);
      expect(run.text).toContain(`fix: Restore ${given}/20250101000300_gadgets.sql from version control`);
      expect(JSON.stringify(run.json)).not.toContain(` ${dir}`);
    } finally {
      writeFileSync(file, original);
    }
    expect((await status()).code).toBe(0);
  });

  it("is 2 for a new migration ordered before an applied one", async () => {
    const file = writeMigration(dir, "20250101000150_early.sql", "SELECT 1;");
    try {
      const run = await both();
      expect(run.codes).toEqual([2, 2]);
      expect(run.json.problems.map((p) => [p.kind, p.migration])).toEqual([
        ["out-of-order", "20250101000150_early"],
      ]);
    } finally {
      rmSync(file);
    }
  });

  it("is 2 for a migration whose row was deleted from the ledger", async () => {
    const missing = "20250101000200_widget_color";
    await withClient(db.current.url, (c) =>
      c.query("DELETE FROM neonhub_release.migrations WHERE name = $1", [missing]),
    );
    const run = await both();
    expect(run.codes).toEqual([2, 2]);
    expect(run.json.problems.map((p) => [p.kind, p.migration])).toEqual([["missing-from-ledger", missing]]);
    expect(run.text).toContain(`problem: Migration ${missing}.sql is missing from the ledger`);
    expect(run.text).toContain("fix: Put its row back only if its changes are in the database");
  });

  it("is 1 for an error, not 2", async () => {
    const run = await runCli(["status", "--json", "--migrations-dir", dir], {
      DATABASE_URL: `${db.current.url.replace(/\/[^/]*$/, "")}/no_such_database`,
    });
    expect(run.code).toBe(1);
    expect((JSON.parse(run.stdout) as { error: { code: string } }).error.code).toBeTruthy();
  });
});
