// A migration blocked by a table lock names its blocker and how to end it, in a statement that works for whom it
// names. The usual blocker is an app session, which the migrator may not end (pg_terminate_backend: "must be a
// member of the role whose process is being terminated"): the fix says the admin must. Another session of the
// migrator itself takes SET ROLE NONE first (the migrator becomes the owner at login). The statements offered
// are run here, as offered.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRelease } from "../../core";
import { runCli } from "../support/cli";
import {
  createTestDatabase,
  dropTestDatabase,
  type TestDatabase,
  errorOfStatements,
} from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { createAccessRoles, dropAccessRoles, type AccessRoles, type Login } from "../support/roles";

interface ApplyError {
  error: { code: string; message: string; fix: string };
}

describe("a migration blocked by another login's table lock", () => {
  const dir = fixtureMigrationsCopy();
  let db: TestDatabase;
  let roles: AccessRoles;

  beforeAll(async () => {
    db = await createTestDatabase("tablelockother");
    roles = await createAccessRoles(db);
    await applyRelease({ databaseUrl: roles.url("migrator"), migrationsDir: dir });
    writeMigration(dir, "20250101000400_widget_size.sql", 'ALTER TABLE "Widget" ADD COLUMN size int;');
  });
  afterAll(async () => {
    await dropTestDatabase(db);
    await dropAccessRoles(db, roles);
  });

  /** A transaction of `login` that reads "Widget" and stays open. */
  async function reader(login: Login): Promise<{ client: Client; pid: number }> {
    const client = new Client({ connectionString: roles.url(login), application_name: "report-job" });
    await client.connect();
    client.on("error", () => {}); // terminated by the test
    await client.query(`BEGIN; LOCK TABLE "Widget" IN ACCESS SHARE MODE`);
    const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    return { client, pid };
  }

  async function applyBlocked(): Promise<ApplyError["error"]> {
    const run = await runCli(
      ["apply", "--json", "--migrations-dir", dir, "--migration-lock-timeout", "1", "--lock-retries", "0"],
      { DATABASE_URL: roles.url("migrator") },
    );
    expect(run.code).toBe(1);
    return (JSON.parse(run.stdout) as ApplyError).error;
  }

  it("by the app: the migrator may not end it, its own login or the admin must, and the admin's statement works", async () => {
    const held = await reader("app");
    try {
      const error = await applyBlocked();
      expect(error.code).toBe("lock-timeout");
      expect(error.message).toContain(
        `blocked by pid ${held.pid} (holding AccessShareLock; application "report-job"`,
      );
      const statement = `SELECT pg_terminate_backend(${held.pid})`;
      expect(error.fix).toContain(
        `If that session is stuck, end it with ${statement} as its own login ${roles.names.app}, ` +
          `or the server's admin (a superuser, rds_superuser on RDS, or a member of pg_signal_backend).`,
      );
      expect(await errorOfStatements(roles.url("migrator"), statement)).toMatch(
        /must be a member of the role/,
      );
      expect(await errorOfStatements(db.url, statement)).toBeUndefined();
    } finally {
      await held.client.end().catch(() => {});
    }
  });

  it("by another session of the migrator: SET ROLE NONE first, and that statement works", async () => {
    const held = await reader("migrator");
    try {
      const error = await applyBlocked();
      const offered = `SET ROLE NONE; SELECT pg_terminate_backend(${held.pid})`;
      expect(error.fix).toContain(
        `If that session is stuck, end it with ${offered} (as ${roles.names.migrator}, in one session).`,
      );
      expect(
        await errorOfStatements(roles.url("migrator"), `SELECT pg_terminate_backend(${held.pid})`),
      ).toMatch(/must be a member of the role/);
      expect(await errorOfStatements(roles.url("migrator"), offered)).toBeUndefined();
    } finally {
      await held.client.end().catch(() => {});
    }
    // Once it is gone, the migration applies.
    const run = await runCli(["apply", "--json", "--migrations-dir", dir], {
      DATABASE_URL: roles.url("migrator"),
    });
    expect(run.code).toBe(0);
  });
});
