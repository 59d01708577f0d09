// Revert in the core: the Down sections of the migrations after a given one, newest first, under the release
// lock, with failures reported like apply's (file, line, caret), and the CLI's guarded `revert` command.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  ReleaseError,
  applyRelease,
  verifyRelease,
  withReleaseSession,
  type ReleaseOptions,
} from "../../core";
import { caretColumns } from "../support/caret";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const options = (databaseUrl: string, migrationsDir: string): ReleaseOptions => ({
  databaseUrl,
  migrationsDir,
});

async function ledgerNames(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const rows = await c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id");
    return rows.rows.map((r) => r.name);
  });
}

async function tables(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const rows = await c.query<{ name: string }>(
      "SELECT relname AS name FROM pg_class WHERE relname IN ('Widget', 'Gadget') AND relkind = 'r' ORDER BY 1",
    );
    return rows.rows.map((r) => r.name);
  });
}

/** Applies a migration `file` whose Down section is `down`, reverts it, and returns the revert's error. */
async function failedRevert(url: string, dir: string, file: string, down: string): Promise<ReleaseError> {
  writeFileSync(
    path.join(dir, file),
    `-- Up Migration\nCREATE TABLE "Sprocket" (id text PRIMARY KEY);\n\n-- Down Migration\n${down}\n`,
  );
  await applyRelease(options(url, dir));
  const error = await withReleaseSession(options(url, dir), "test", (s) =>
    s.revert({ to: "20250101000300_gadgets" }),
  ).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ReleaseError);
  return error as ReleaseError;
}

describe("revert in the core", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("lists what it would revert and drop without changing anything", async () => {
    await applyRelease(options(db.current.url, dir));
    const plan = await withReleaseSession(options(db.current.url, dir), "test", (s) =>
      s.planRevert("20250101000100_widgets"),
    );
    expect(plan.migrations.map((m) => m.name)).toEqual([
      "20250101000300_gadgets",
      "20250101000200_widget_color",
    ]);
    expect(plan.migrations[0]!.drops).toEqual(['DROP TABLE "Gadget"']);
    expect(plan.migrations[1]!.drops).toEqual(['ALTER TABLE "Widget" DROP COLUMN color']);
    expect(plan.lastMigrationAfter).toBe("20250101000100_widgets");
    expect(await ledgerNames(db.current.url)).toHaveLength(3);
  });

  it("refuses a --to that names no applied migration, naming the applied ones", async () => {
    const error = await withReleaseSession(options(db.current.url, dir), "test", (s) =>
      s.revert({ to: "20250101009900_nope" }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReleaseError);
    expect((error as ReleaseError).code).toBe("invalid-input");
    expect((error as ReleaseError).describe()).toContain("20250101000300_gadgets");
    expect(await ledgerNames(db.current.url)).toHaveLength(3);
  });

  it("reverts newest first, keeps the ledger and snapshot true, and apply brings them back", async () => {
    const result = await withReleaseSession(options(db.current.url, dir), "test", (s) =>
      s.revert({ to: "20250101000100_widgets" }),
    );
    expect(result.reverted.map((m) => m.name)).toEqual([
      "20250101000300_gadgets",
      "20250101000200_widget_color",
    ]);
    // Each reverted migration's result: its outcome and its file's full checksum.
    for (const m of result.reverted) {
      const sum = createHash("sha256")
        .update(readFileSync(path.join(dir, `${m.name}.sql`)))
        .digest("hex");
      expect(m).toMatchObject({ outcome: "reverted", checksum: sum });
    }
    expect(result.lastMigration).toBe("20250101000100_widgets");
    expect(await ledgerNames(db.current.url)).toEqual(["20250101000100_widgets"]);
    expect(await tables(db.current.url)).toEqual(["Widget"]);
    expect((await verifyRelease(options(db.current.url, dir))).clean).toBe(true);
    const again = await applyRelease(options(db.current.url, dir));
    expect(again.migrations.map((m) => m.name)).toEqual([
      "20250101000200_widget_color",
      "20250101000300_gadgets",
    ]);
  });

  it("refuses to revert a migration whose file changed since it was applied", async () => {
    const file = path.join(dir, "20250101000300_gadgets.sql");
    const original = (await import("node:fs")).readFileSync(file, "utf8");
    writeFileSync(file, `${original}\n-- edited\n`);
    try {
      const error = await withReleaseSession(options(db.current.url, dir), "test", (s) =>
        s.revert({ to: "20250101000200_widget_color" }),
      ).catch((e: unknown) => e);
      expect((error as ReleaseError).code).toBe("ledger-mismatch");
      // Appended to its Down section: its Up section is the applied one.
      expect((error as ReleaseError).message).toContain(
        "20250101000300_gadgets.sql does not match the checksum its ledger row records",
      );
      expect((error as ReleaseError).describe()).toContain("--corrected-down 20250101000300_gadgets");
      expect(await ledgerNames(db.current.url)).toHaveLength(3);
    } finally {
      writeFileSync(file, original);
    }
  });
});

describe("a failing Down section", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("is reported with its file, line and caret, and its transaction rolled back", async () => {
    // An error PostgreSQL finds only as it runs (a syntax error is refused by the lint before apply).
    const error = await failedRevert(
      db.current.url,
      dir,
      "20250101000400_broken_down.sql",
      'DROP TABLE "Sprocket";\nSELECT count(*) FROM "Widget" WHERE nope;',
    );
    expect(error.code).toBe("migration-failed");
    expect(error.message).toContain("Reverting migration 20250101000400_broken_down.sql failed at line 6");
    expect(error.message).toContain('6 | SELECT count(*) FROM "Widget" WHERE nope;');
    expect(error.message).toMatch(/\n\s+\^/);
    expect(error.fix).toContain("still applied");
    // Rolled back: the table is still there, the migration still recorded.
    const sprocket = await withClient(db.current.url, (c) =>
      c.query("SELECT to_regclass('\"Sprocket\"') IS NOT NULL AS ok"),
    );
    expect(sprocket.rows[0].ok).toBe(true);
    expect((await ledgerNames(db.current.url)).at(-1)).toBe("20250101000400_broken_down");
  });
});

describe("a failing Down section with no position from the server", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("names the statement that failed, by its line and number", async () => {
    const error = await failedRevert(
      db.current.url,
      dir,
      "20250101000400_missing_column_down.sql",
      'DROP TABLE "Sprocket";\nALTER TABLE "Widget" DROP COLUMN doesnotexist;',
    );
    expect(error.message).toContain(
      'Reverting migration 20250101000400_missing_column_down.sql failed at line 6 (statement 2 of its Down section): column "doesnotexist" of relation "Widget" does not exist',
    );
    expect(error.message).toContain('6 | ALTER TABLE "Widget" DROP COLUMN doesnotexist;');
  });
});

describe("a failing Down section with emoji before the bad token", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();

  it("puts the caret under the token, as apply does", async () => {
    const error = await failedRevert(
      db.current.url,
      dir,
      "20250101000400_emoji_down.sql",
      `SELECT '🚀✨🚀' AS launch, no_such_column FROM "Widget";`,
    );
    expect(error.message).toContain('column "no_such_column" does not exist');
    expect(error.message).toContain("failed at line 5");
    const { token, caret } = caretColumns(error.message, "no_such_column FROM");
    expect(caret).toBe(token);
  });
});

describe("neonhub-db revert", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--migrations-dir", dir], { DATABASE_URL: db.current.url });

  it("needs --to, naming the flag and an example", async () => {
    const run = await cli("revert");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("revert needs --to <migration name>");
    expect(run.stderr).not.toContain("unexpected error");
  });

  it("without --confirm names what it would revert and drop, changes nothing and exits 2", async () => {
    await applyRelease(options(db.current.url, dir));
    const run = await cli("revert", "--to", "20250101000200_widget_color");
    expect(run.code).toBe(2);
    expect(run.stdout).toContain("20250101000300_gadgets");
    expect(run.stdout).toContain('DROP TABLE "Gadget"');
    const deeper = await cli("revert", "--to", "20250101000100_widgets");
    expect(deeper.stdout).toMatch(
      /- 20250101000200_widget_color .*\n {8}ALTER TABLE "Widget" DROP COLUMN color\n/,
    );
    expect(run.stdout).toContain("--confirm");
    expect(await tables(db.current.url)).toEqual(["Gadget", "Widget"]);
  });

  it("with --confirm --json reverts and prints one JSON document", async () => {
    const run = await cli("revert", "--to", "20250101000200_widget_color", "--confirm", "--json");
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { confirmed: boolean; result: { reverted: { name: string }[] } };
    expect(out.confirmed).toBe(true);
    expect(out.result.reverted.map((m) => m.name)).toEqual(["20250101000300_gadgets"]);
    expect(await tables(db.current.url)).toEqual(["Widget"]);
    const nothing = await cli("revert", "--to", "20250101000200_widget_color");
    expect(nothing.code).toBe(0);
    expect(nothing.stdout).toContain("Nothing to revert");
  });

  it("an unknown --to is an error with exit 1 and a JSON error", async () => {
    const run = await cli("revert", "--to", "nope", "--json");
    expect(run.code).toBe(1);
    const out = JSON.parse(run.stdout) as { error: { code: string; message: string } };
    expect(out.error.code).toBe("invalid-input");
    expect(out.error.message).toContain('--to "nope"');
    // A mistyped name gets the applied one it is nearest to.
    const typo = await cli("revert", "--to", "20250101000200_widget_colour", "--json");
    expect(typo.code).toBe(1);
    const near = JSON.parse(typo.stdout) as { error: { fix: string } };
    expect(near.error.fix).toContain("Did you mean 20250101000200_widget_color?");
  });
});

describe("a Down section corrected after it was applied", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--migrations-dir", dir], { DATABASE_URL: db.current.url });
  const badDown = "20250101000400_bad_down";
  const up = 'ALTER TABLE "Widget" ADD COLUMN tmp int;';
  // The Up section as node-pg-migrate cuts it: the Down marker's pattern starts at the blank line before it.
  const upChecksum = createHash("sha256").update(`-- Up Migration\n${up}\n`).digest("hex");

  it("apply records each migration's Up-section checksum in the ledger", async () => {
    writeMigration(
      dir,
      `${badDown}.sql`,
      up,
      'ALTER TABLE "Widget" DROP COLUMN tmp;\nALTER TABLE "Widget" DROP COLUMN doesnotexist;',
    );
    writeMigration(
      dir,
      "20250101000500_widget_flag.sql",
      'ALTER TABLE "Widget" ADD COLUMN flag int;',
      'ALTER TABLE "Widget" DROP COLUMN flag;',
    );
    expect((await cli("apply")).code).toBe(0);
    const recorded = await withClient(db.current.url, (c) =>
      c.query<{ up_checksum: string }>("SELECT up_checksum FROM neonhub_release.migrations WHERE name = $1", [
        badDown,
      ]),
    );
    expect(recorded.rows[0]!.up_checksum).toBe(upChecksum);
  });

  it("a failed Down section's fix works: correct it, then revert with --corrected-down", async () => {
    // As a database whose ledger an earlier release wrote: no Up-section checksums (the revert records them).
    await withClient(db.current.url, (c) =>
      c.query("ALTER TABLE neonhub_release.migrations DROP COLUMN up_checksum"),
    );
    const failed = await cli("revert", "--to", "20250101000300_gadgets", "--confirm", "--json");
    expect(failed.code).toBe(1);
    const { error } = JSON.parse(failed.stdout) as { error: { message: string; fix: string } };
    expect(error.message).toContain("failed at line 6 (statement 2 of its Down section)");
    expect(error.fix).toContain(`correct it in ${badDown}.sql, leaving the Up section as it is`);
    // The revert to run again, printed as it was run, as apply's fixes print the apply.
    expect(error.fix).toContain(
      `run \`neonhub-db revert --to 20250101000300_gadgets --confirm --json --migrations-dir ${dir}\` again with --corrected-down ${badDown}`,
    );
    expect(await ledgerNames(db.current.url)).toContain(badDown);

    // The correction alone is refused, naming the flag: the file is not the applied one.
    writeMigration(dir, `${badDown}.sql`, up, 'ALTER TABLE "Widget" DROP COLUMN tmp;');
    const refused = await cli("revert", "--to", "20250101000300_gadgets", "--confirm", "--json");
    expect(refused.code).toBe(1);
    const refusal = (JSON.parse(refused.stdout) as { error: { code: string; message: string; fix: string } })
      .error;
    expect(refusal.code).toBe("ledger-mismatch");
    expect(refusal.message).toContain("Its Up section is the applied one");
    expect(refusal.fix).toContain(`run the revert again with --corrected-down ${badDown}`);

    // Named, the preview shows it and the revert runs the corrected Down section, saying so.
    const preview = await cli("revert", "--to", "20250101000300_gadgets", "--corrected-down", badDown);
    expect(preview.code).toBe(2);
    expect(preview.stdout).toContain("its Down section corrected since it was applied");
    const run = await cli(
      "revert",
      "--to",
      "20250101000300_gadgets",
      "--confirm",
      "--json",
      "--corrected-down",
      badDown,
    );
    expect(run.code, run.stderr).toBe(0);
    const { result } = JSON.parse(run.stdout) as {
      result: {
        reverted: { name: string; checksum: string; correctedDown?: { applied: string; file: string } }[];
      };
    };
    const reverted = result.reverted[0]!;
    expect(reverted.name).toBe(badDown);
    expect(reverted.correctedDown?.file).toBe(reverted.checksum);
    expect(reverted.correctedDown?.applied).toMatch(/^[0-9a-f]{64}$/);
    expect(reverted.correctedDown?.applied).not.toBe(reverted.checksum);
    expect(run.stderr).toContain(`migration ${badDown}: reverting with its Down section corrected`);
    expect(await ledgerNames(db.current.url)).toEqual([
      "20250101000100_widgets",
      "20250101000200_widget_color",
      "20250101000300_gadgets",
    ]);
    expect((await cli("verify")).code).toBe(0);
  });

  it("is refused when the Up section changed too, and when the named file is the applied one", async () => {
    expect((await cli("apply")).code).toBe(0);
    writeMigration(dir, `${badDown}.sql`, 'ALTER TABLE "Widget" ADD COLUMN tmp bigint;', "SELECT 1;");
    const changedUp = await cli(
      "revert",
      "--to",
      "20250101000300_gadgets",
      "--confirm",
      "--corrected-down",
      badDown,
    );
    expect(changedUp.code).toBe(1);
    expect(changedUp.stderr).toContain("Its Up section is not the applied one.");
    writeMigration(dir, `${badDown}.sql`, up, 'ALTER TABLE "Widget" DROP COLUMN tmp;');
    const unchanged = await cli(
      "revert",
      "--to",
      "20250101000400_bad_down",
      "--confirm",
      "--corrected-down",
      "20250101000500_widget_flag",
    );
    expect(unchanged.code).toBe(1);
    expect(unchanged.stderr).toContain(
      "--corrected-down 20250101000500_widget_flag: its file is the applied one",
    );
    expect(await ledgerNames(db.current.url)).toHaveLength(5);
  });
});
