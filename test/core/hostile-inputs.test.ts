// Faults found by trying hostile inputs: each gives a clear error, not a stack trace or a wrong report.
import { describe, expect, it } from "vitest";
import { applyRelease, parseDatabaseUrl, quoteIdentifier, ReleaseError } from "../../core";
import { closeClient, openClient } from "../../core/connection";
import { utf16Position } from "../../core/migrations/positions";
import { caretColumns } from "../support/caret";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
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

describe.each([
  ["the URL's options", (url: string) => `${url}?options=${encodeURIComponent("-c search_path=elsewhere")}`],
  ['the default "$user", public, with a schema named after the login', (url: string) => url],
])("a search_path that puts another schema first (%s)", (_, urlOf) => {
  const db = useTestDatabase("searchpath");

  it("the release still creates its objects in public, and plan then finds nothing to do", async () => {
    const user = new URL(db.current.url).username;
    await withClient(db.current.url, (c) =>
      c.query(`CREATE SCHEMA elsewhere; CREATE SCHEMA ${quoteIdentifier(decodeURIComponent(user))}`),
    );
    const url = urlOf(db.current.url);
    const apply = await runCli(["apply", "--seed", "demo"], { DATABASE_URL: url });
    expect(apply.code, apply.stderr).toBe(0);
    const schemas = await withClient(db.current.url, (c) =>
      c.query<{ schema: string; tables: number }>(
        `SELECT table_schema AS schema, count(*)::int AS tables FROM information_schema.tables
          WHERE table_schema NOT IN ('pg_catalog', 'information_schema', 'neonhub_release')
          GROUP BY 1 ORDER BY 1`,
      ),
    );
    expect(schemas.rows).toEqual([{ schema: "public", tables: expect.any(Number) }]);
    const plan = await runCli(["plan"], { DATABASE_URL: url });
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    const verify = await runCli(["verify"], { DATABASE_URL: url });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });
});

describe("settings for apps in the URL's options, the role or the database", () => {
  const db = useTestDatabase("appsettings");
  // A statement_timeout long enough for no statement to reach it: what is checked is that it is set back.
  const options = "-c search_path=elsewhere -c extra_float_digits=-15 -c statement_timeout=5min";
  const url = () => `${db.current.url}?options=${encodeURIComponent(options)}`;

  it("are set back for the engine's session with its first query", async () => {
    const client = await openClient(parseDatabaseUrl(url(), "--database-url"), { applicationName: "test" });
    try {
      const { rows } = await client.query<{ path: string; digits: string; timeout: string }>(
        `SELECT current_setting('search_path') AS path, current_setting('extra_float_digits') AS digits,
                current_setting('statement_timeout') AS timeout`,
      );
      expect(rows[0]).toEqual({ path: "public, elsewhere", digits: "1", timeout: "0" });
    } finally {
      await closeClient(client);
    }
  });

  it("leave what plan reads as apply recorded it: nothing to do after an apply", async () => {
    const apply = await runCli(["apply", "--seed", "demo"], { DATABASE_URL: url() });
    expect(apply.code, apply.stderr).toBe(0);
    const plan = await runCli(["plan"], { DATABASE_URL: url() });
    expect(plan.code, plan.stdout).toBe(0);
    expect(plan.stdout).not.toContain("recalibrate");
  });
});

describe("a read-only session (default_transaction_read_only in the URL's options)", () => {
  const db = useTestDatabase("readonly");
  const dir = fixtureMigrationsCopy();
  const readOnly = () =>
    `${db.current.url}?options=${encodeURIComponent("-c default_transaction_read_only=on")}`;
  const errorOf = (stdout: string) =>
    (JSON.parse(stdout) as { error: { code: string; message: string; fix: string } }).error;

  it("is named as such, not as a bug, when apply first writes", async () => {
    const run = await runCli(["apply", "--json", "--migrations-dir", dir], { DATABASE_URL: readOnly() });
    expect(run.code).toBe(1);
    expect(run.stderr).not.toMatch(/unexpected error|\n\s+at /);
    const error = errorOf(run.stdout);
    expect(error).toMatchObject({
      code: "permission",
      message: expect.stringContaining("The database refused a write of apply: cannot execute"),
    });
    expect(error.fix).toContain("The session is read-only");
    expect(error.fix).toContain("RESET default_transaction_read_only");
    const schemas = await withClient(db.current.url, (c) =>
      c.query("SELECT 1 FROM pg_namespace WHERE nspname = 'neonhub_release'"),
    );
    expect(schemas.rowCount).toBe(0);
  });

  it("is named as such when a migration writes, not as the file's fault", async () => {
    const first = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(first.code, first.stderr).toBe(0);
    writeMigration(dir, "20990101000000_later.sql", "CREATE TABLE later (id int);", "DROP TABLE later;");
    const run = await runCli(["apply", "--json", "--migrations-dir", dir], { DATABASE_URL: readOnly() });
    expect(run.code).toBe(1);
    const error = errorOf(run.stdout);
    expect(error.code).toBe("migration-failed");
    expect(error.message).toContain("cannot execute CREATE TABLE in a read-only transaction");
    expect(error.fix).toContain("The session is read-only");
    expect(error.fix).not.toContain("Fix the file");
  });
});
