// Passwords the CLI quotes back from what it was given, on the real database: a failed migration's statement
// (CREATE ROLE ... PASSWORD '...', reported with its lines), a connection string typed where no URL belongs (a
// stray argument, a flag's refused value), whose password may hold a space or a double quote that pg's parser
// takes and the password pattern ends at, and a file given to load-chunks that is no chunk file (a pgpass or
// .env line, which the JSON parser's message quoted). Each is shown masked or not at all, in text and --json.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRelease, jsonSyntaxProblem, ReleaseError } from "../../core";
import { caretColumns } from "../support/caret";
import { runCli, type CliRun } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { scratchDir } from "../support/scratch";

/** Fails when any part of `password` (each run of letters and digits) shows in the run's output. */
function expectNoPassword(run: CliRun, password: string) {
  for (const part of password.match(/[A-Za-z0-9]{3,}/g) ?? []) {
    expect(run.stdout + run.stderr, `"${part}" of the password`).not.toContain(part);
  }
}

describe("a failed migration whose statement holds a password literal", () => {
  const db = useTestDatabase("pwliteral");
  const dir = fixtureMigrationsCopy();
  const role = `pwliteral_${randomBytes(4).toString("hex")}`;
  const password = "Hx7Qv Lm2Rt";
  const literal = `'${password}'`;
  afterAll(() => withClient(db.current.adminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${role}`)));

  beforeAll(async () => {
    const run = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(run.code, run.stderr).toBe(0);
  });

  it("apply quotes the statement with the literal masked, in text and --json, and applies nothing", async () => {
    // The second CREATE ROLE fails (the role exists): the statement is found by count and quoted whole.
    const create = `CREATE ROLE ${role} LOGIN PASSWORD ${literal};`;
    writeMigration(dir, "20250101000400_report_role.sql", `${create}\n${create}`);
    for (const json of [[], ["--json"]]) {
      const run = await runCli(["apply", "--migrations-dir", dir, ...json], { DATABASE_URL: db.current.url });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `20250101000400_report_role.sql failed at line 3 (statement 2 of its Up section): role "${role}" already exists`,
      );
      expect(run.stderr).toContain(`3 | CREATE ROLE ${role} LOGIN PASSWORD '****';`);
      if (json.length > 0) {
        const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
        expect(error.code).toBe("migration-failed");
        expect(error.message).toContain(`PASSWORD '****';`);
      }
      expect(run.stderr).not.toContain("unexpected error");
      expectNoPassword(run, password);
    }
    const roles = await withClient(db.current.url, (c) =>
      c.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role]),
    );
    expect(roles.rowCount).toBe(0);
  });

  it("puts the caret under the token a masked literal precedes on its line", async () => {
    writeMigration(
      dir,
      "20250101000400_report_role.sql",
      `CREATE ROLE ${role} LOGIN PASSWORD ${literal}; SELECT no_such_column FROM "Widget";`,
    );
    const error = await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReleaseError);
    const report = (error as ReleaseError).describe();
    expect(report).toContain('failed at line 2: column "no_such_column" does not exist');
    expect(report).toContain(`PASSWORD '****'; SELECT`);
    expect(report).not.toContain(password);
    const { token, caret } = caretColumns(report, "no_such_column FROM");
    expect(caret).toBe(token);
  });

  it("masks a literal on the line after its PASSWORD, and keeps the caret under the token after it", async () => {
    writeMigration(
      dir,
      "20250101000400_report_role.sql",
      `CREATE ROLE ${role} LOGIN PASSWORD\n  ${literal}; SELECT no_such_column FROM "Widget";`,
    );
    const positioned = await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(positioned).toBeInstanceOf(ReleaseError);
    const report = (positioned as ReleaseError).describe();
    expect(report).toContain("3 |   '****'; SELECT no_such_column");
    expect(report).not.toContain(password);
    const { token, caret } = caretColumns(report, "no_such_column FROM");
    expect(caret).toBe(token);
    // Found by count: the statement's lines are quoted, the literal's masked.
    writeMigration(
      dir,
      "20250101000400_report_role.sql",
      `ALTER ROLE ${role}_missing\n  PASSWORD\n  ${literal};`,
    );
    const run = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("  3 |   PASSWORD\n  4 |   '****';");
    expectNoPassword(run, password);
  });

  it("revert quotes a Down section's dollar-quoted literal masked", async () => {
    writeMigration(
      dir,
      "20250101000400_report_role.sql",
      "SELECT 1;",
      `ALTER ROLE ${role}_missing\n  WITH ENCRYPTED PASSWORD $pw$${password}$pw$;`,
    );
    const apply = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(apply.code, apply.stderr).toBe(0);
    const run = await runCli(
      ["revert", "--to", "20250101000300_gadgets", "--confirm", "--migrations-dir", dir],
      { DATABASE_URL: db.current.url },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`role "${role}_missing" does not exist`);
    expect(run.stderr).toContain("WITH ENCRYPTED PASSWORD $pw$****$pw$;");
    expectNoPassword(run, password);
  });
});

describe("a connection string given where no URL belongs", () => {
  const db = useTestDatabase("strayurl");
  const role = `strayurl_${randomBytes(4).toString("hex")}`;
  // pg's parser takes the space, the double quote and the single quote as they are.
  const password = `Kw4Pz Tn8"Gv'Yc3`;
  let url = "";
  let masked = "";
  afterAll(() => withClient(db.current.adminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${role}`)));

  beforeAll(async () => {
    await withClient(db.current.adminUrl, (c) =>
      c.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password.replace(/'/g, "''")}'`),
    );
    const { host, pathname } = new URL(db.current.url); // host: with its port
    url = `postgresql://${role}:${password}@${host}${pathname}`;
    masked = `postgresql://${role}:****@${host}${pathname}`;
  });

  it("logs in as given with --database-url", async () => {
    const run = await runCli(["status", "--json", "--database-url", url], {});
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { database: string }).database).toBe(masked);
    expectNoPassword(run, password);
  });

  it.each([
    ["a stray argument", (u: string) => ["status", u], `Unexpected argument "`, "invalid-input"],
    [
      "--lock-timeout's value",
      (u: string) => ["plan", "--lock-timeout", u],
      "--lock-timeout takes",
      "invalid-input",
    ],
    ["--set's value", (u: string) => ["plan", "--set", u], "--set ", "invalid-input"],
    [
      "--environment's value",
      (u: string) => ["plan", "--environment", u],
      "--environment must be",
      "invalid-input",
    ],
    [
      "--migrations-dir's value",
      (u: string) => ["plan", "--migrations-dir", u],
      "The migrations folder ",
      "migration-files",
    ],
    ["--config's value", (u: string) => ["plan", "--config", u], "--config ", "invalid-input"],
  ])("is echoed masked as %s, in text and --json", async (_, args, refusal, code) => {
    for (const json of [[], ["--json"]]) {
      const run = await runCli([...args(url), ...json], { DATABASE_URL: db.current.url });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(refusal);
      expect(run.stderr).toContain(masked);
      if (json.length > 0) {
        const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string } };
        expect(error.code).toBe(code);
        expect(error.message).toContain(masked);
      }
      expect(run.stderr).not.toContain("unexpected error");
      expectNoPassword(run, password);
    }
  });
});

describe("a file given to load-chunks that is no chunk file", () => {
  const db = useTestDatabase("wrongfile");
  const password = "Rv3Tk9Pw";

  it.each([
    ["a pgpass line", `db:5432:*:app:${password}`],
    ["a .env line", `PGPASSWORD=${password}`],
  ])("%s is refused naming the line, its text not quoted, in text and --json", async (_, line) => {
    const file = path.join(scratchDir("wrongfile-"), "chunks.ndjson");
    writeFileSync(file, `${line}\n`);
    for (const json of [[], ["--json"]]) {
      const run = await runCli(["load-chunks", "--file", file, "--dataset", "ds1", ...json], {
        DATABASE_URL: db.current.url,
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`chunks.ndjson, line 1: not valid JSON (Unexpected token`);
      expect(run.stderr).toContain("the text around it is not shown");
      expect(run.stderr).not.toContain("unexpected error");
      expectNoPassword(run, password);
    }
  });

  it("keeps the parser's words and position, and drops only the text it quotes", () => {
    const problem = (text: string) => {
      try {
        JSON.parse(text);
      } catch (error) {
        return jsonSyntaxProblem(error);
      }
      throw new Error(`${text} parsed`);
    };
    expect(problem(`[1,2,3,4,5,6,7,8,9,0,${password}]`)).toBe(
      "Unexpected token 'R'; the text around it is not shown",
    );
    expect(problem('{"a": 1} x')).toMatch(/^Unexpected non-whitespace character after JSON at position 9/);
    expect(problem('{"a": "b')).toMatch(/^Unterminated string in JSON at position 8/);
  });
});
