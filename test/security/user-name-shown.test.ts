// A login whose name needs percent-escapes in a URL (a ":", a space, a double quote, a non-ASCII letter), with
// a password of every character a URL makes special: messages name the user as the server sees it, decoded, and
// quoted as an SQL identifier as the fixes quote it; the password shows nowhere, in text and --json alike.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quoteIdentifier } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";

const db = useTestDatabase("username");
const ROLE = `ten:ant "q" é ${Math.random().toString(36).slice(2, 8)}`;
const PASSWORD = `p@ss:/%#"' wörd`;
const SHOWN = quoteIdentifier(ROLE);

function urlWith(password: string): string {
  const url = new URL(db.current.url);
  url.username = encodeURIComponent(ROLE);
  url.password = encodeURIComponent(password);
  return url.toString();
}

const asAdmin = (sql: string) => withClient(db.current.adminUrl, (c) => c.query(sql));

describe("a user name with URL-escaped characters", () => {
  beforeAll(() => asAdmin(`CREATE ROLE ${SHOWN} LOGIN PASSWORD '${PASSWORD.replace(/'/g, "''")}'`));
  afterAll(() => asAdmin(`DROP ROLE IF EXISTS ${SHOWN}`));

  it("is named decoded and quoted in a failed login, without the password given", async () => {
    for (const json of [false, true]) {
      const run = await runCli(["status", ...(json ? ["--json"] : [])], { DATABASE_URL: urlWith("wrong") });
      expect(run.code).toBe(1);
      const output = run.stdout + run.stderr;
      const message = json ? JSON.stringify(`for user ${SHOWN}`).slice(1, -1) : `for user ${SHOWN}`;
      expect(output).toContain(`Password authentication failed ${message}`);
      expect(output).not.toContain("%3A");
    }
  });

  it("is named so in a refusal after logging in, and the password shows nowhere", async () => {
    for (const json of [false, true]) {
      const run = await runCli(["apply", ...(json ? ["--json"] : [])], { DATABASE_URL: urlWith(PASSWORD) });
      expect(run.code).toBe(1);
      const output = run.stdout + run.stderr;
      const who = json ? JSON.stringify(`user ${SHOWN}`).slice(1, -1) : `user ${SHOWN}`;
      expect(output).toContain(`and ${who} would create its objects`);
      for (const form of [PASSWORD, encodeURIComponent(PASSWORD), JSON.stringify(PASSWORD).slice(1, -1)]) {
        expect(output).not.toContain(form);
      }
    }
  });
});
