// Faults found by trying hostile inputs: each gives a clear error, not a stack trace or a wrong report.
import { describe, expect, it } from "vitest";
import { applyRelease, ReleaseError } from "../../core";
import { utf16Position } from "../../core/migrations/positions";
import { caretColumns } from "../support/caret";
import { runCli } from "../support/cli";
import { useTestDatabase } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

async function failure(promise: Promise<unknown>): Promise<ReleaseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReleaseError);
  return error as ReleaseError;
}

describe("--owner-role naming a role that does not exist", () => {
  const db = useTestDatabase("owner");
  const dir = fixtureMigrationsCopy();

  it("is a clear input error naming the role, with nothing applied", async () => {
    const run = await runCli(["apply", "--json", "--migrations-dir", dir, "--owner-role", "no_such_owner"], {
      DATABASE_URL: db.current.url,
    });
    expect(run.code).toBe(1);
    expect(run.stderr).not.toContain("unexpected error");
    expect(run.stderr).toContain('--owner-role names the role "no_such_owner", which does not exist');
    const json = JSON.parse(run.stdout) as { error: { code: string; fix: string } };
    expect(json.error.code).toBe("invalid-input");
    expect(json.error.fix).toMatch(/owner role/);
  });
});

describe("a migration with multi-byte characters before an SQL error", () => {
  const db = useTestDatabase("utf8err");
  const dir = fixtureMigrationsCopy();

  it("converts the server's character position to the string's", () => {
    expect(utf16Position("ab", 2)).toBe(2);
    expect(utf16Position("😀b", 2)).toBe(3);
    expect(utf16Position("é😀😀x", 4)).toBe(6);
  });

  it("reports the server's message, the line and a caret under the bad token that starts a line", async () => {
    // A column that does not exist, not a syntax error: the safety lint refuses those before apply runs.
    writeMigration(
      dir,
      "20250101000400_emoji.sql",
      ["-- launch 🚀🚀 notes", "SELECT 1;", "SELECT", 'bogus_token FROM "Widget";'].join("\n"),
    );
    const error = await failure(applyRelease({ databaseUrl: db.current.url, migrationsDir: dir }));
    const report = error.describe();
    expect(report).not.toContain("Invalid count value");
    expect(error.code).toBe("migration-failed");
    expect(report).toContain('failed at line 5: column "bogus_token" does not exist');
    const { token, caret } = caretColumns(report, "bogus_token FROM");
    expect(caret).toBe(token);
  });

  it("puts the caret under the token when emoji precede it on its line", async () => {
    writeMigration(
      dir,
      "20250101000400_emoji.sql",
      `SELECT '🚀✨🚀' AS launch, no_such_column FROM "Widget";`,
    );
    const error = await failure(applyRelease({ databaseUrl: db.current.url, migrationsDir: dir }));
    const report = error.describe();
    expect(report).toContain('column "no_such_column" does not exist');
    expect(report).toContain("failed at line 2");
    const { token, caret } = caretColumns(report, "no_such_column FROM");
    expect(caret).toBe(token);
  });
});
