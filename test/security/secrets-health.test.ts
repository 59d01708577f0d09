// `neonhub-db health` on settings stored on the app and read-only logins (ALTER ROLE ... SET): the value of a
// PostgreSQL setting (no dot in its name) or a search setting is shown, since it is what the finding is
// about; any other dotted setting, a custom one the app may read a secret from, shows its name and its RESET with the value masked, in text
// and --json alike.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quoteIdentifier } from "../../core";
import { runCli } from "../support/cli";
import { withClient } from "../support/database";
import { useReleasedDatabase } from "./released-database";

const target = useReleasedDatabase("healthsecret");
const SECRET = "s3cret-Stored-On-Login";

describe("health on settings stored on the app login", () => {
  let app: string;
  const asAdmin = (sql: string) => withClient(target.current.db.adminUrl, (c) => c.query(sql));

  beforeAll(async () => {
    app = quoteIdentifier(target.current.roles.names.app);
    await asAdmin(`ALTER ROLE ${app} SET myapp.api_password = '${SECRET}'`);
    await asAdmin(`ALTER ROLE ${app} SET statement_timeout = '1'`);
    // An extension's setting the release does not calibrate is masked as a custom one is.
    await asAdmin(`ALTER ROLE ${app} SET hnsw.iterative_scan = 'relaxed_order'`);
  });

  afterAll(async () => {
    await asAdmin(`ALTER ROLE ${app} RESET ALL`);
  });

  it("shows a judged setting's value, and a custom one's name with its value masked, in text", async () => {
    const run = await runCli(["health"], { DATABASE_URL: target.current.roles.url("migrator") });
    expect(run.code).toBe(2);
    expect(run.stdout).toContain("statement_timeout = 1 is stored on the login");
    expect(run.stdout).toContain("myapp.api_password = **** is stored on the login");
    expect(run.stdout).toContain(`ALTER ROLE ${app} RESET myapp.api_password`);
    expect(run.stdout).toContain("hnsw.iterative_scan = **** is stored on the login");
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });

  it("does the same in --json", async () => {
    const run = await runCli(["health", "--json"], { DATABASE_URL: target.current.roles.url("migrator") });
    expect(run.code).toBe(2);
    const problems = (JSON.parse(run.stdout) as { findings: { problem: string }[] }).findings.map(
      (f) => f.problem,
    );
    expect(problems).toContainEqual(expect.stringContaining("statement_timeout = 1 is stored"));
    expect(problems).toContainEqual(expect.stringContaining("myapp.api_password = **** is stored"));
    expect(run.stdout + run.stderr).not.toContain(SECRET);
  });
});
