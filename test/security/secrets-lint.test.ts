// A pending migration with a syntax error at a string literal: plan's (and so a preview's) finding quotes the
// token the error is at, which may be the password the statement sets without a PASSWORD keyword before it
// (ALTER ROLE ... SET password '...') or one left unterminated. The literal's text is masked, in text and
// --json alike; the line still says where it is.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { createReleaseDatabase, type ReleaseDatabase } from "../dynamic/support/release-database";

const SECRET = "Lint-Literal-S3cret";

describe("a syntax error at a string literal", () => {
  let db: ReleaseDatabase;
  beforeAll(async () => {
    db = await createReleaseDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it.each([
    [
      "refused at the literal",
      `ALTER ROLE nobody SET password '${SECRET}';`,
      `syntax error at or near "'****'"`,
    ],
    [
      "left unterminated",
      `ALTER ROLE nobody PASSWORD '${SECRET}`,
      `unterminated quoted string at or near "'****'"`,
    ],
  ])("is masked when %s", async (_case, sql, shown) => {
    const dir = fixtureMigrationsCopy();
    writeMigration(dir, "20250101000400_role_password.sql", sql);
    for (const json of [false, true]) {
      const args = ["plan", ...(json ? ["--json"] : []), "--migrations-dir", dir, "--owner-role", db.owner];
      const run = await runCli(args, { DATABASE_URL: db.migratorUrl });
      expect(run.code).toBe(1);
      const output = run.stdout + run.stderr;
      expect(output).toContain(json ? JSON.stringify(shown).slice(1, -1) : shown);
      expect(output).toContain("20250101000400_role_password.sql:2 syntax-error");
      expect(output).not.toContain(SECRET);
    }
  });
});
