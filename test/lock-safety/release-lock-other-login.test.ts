// The release lock is a PostgreSQL advisory lock, which every role may take, and application_name is whatever
// the client says. The app (or read-only) login can hold the release's key under the name "neonhub-db apply"
// and block every release. The CLI's apply, as the migrator, must not call that session another release nor
// offer a pg_terminate_backend the migrator cannot run: it says the holder is not a release, that the name
// proves nothing, and that the admin must end it. A real other release of the migrator gets a statement the
// migrator can run (it becomes the owner at login, which may not signal the migrator's sessions). The
// statements offered are run here, as offered.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRelease, RELEASE_LOCK_KEY } from "../../core";
import { runCli } from "../support/cli";
import {
  createTestDatabase,
  dropTestDatabase,
  type TestDatabase,
  errorOfStatements,
} from "../support/database";
import { fixtureMigrationsCopy } from "../support/fixtures";
import { createAccessRoles, dropAccessRoles, type AccessRoles, type Login } from "../support/roles";

interface ApplyError {
  error: { code: string; message: string; fix: string };
}

/** `text` matched as it is, in a RegExp. */
const literally = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("the release lock held by a session that is not a release", () => {
  const dir = fixtureMigrationsCopy();
  let db: TestDatabase;
  let roles: AccessRoles;

  beforeAll(async () => {
    db = await createTestDatabase("lockother");
    roles = await createAccessRoles(db);
    await applyRelease({ databaseUrl: roles.url("migrator"), migrationsDir: dir });
  });
  afterAll(async () => {
    await dropTestDatabase(db);
    await dropAccessRoles(db, roles);
  });

  /** A session of `login` (or the admin, a superuser) that takes the release lock, as an apply would, named "neonhub-db apply". */
  async function holder(login: Login | "admin"): Promise<{ client: Client; pid: number }> {
    const url = login === "admin" ? db.url : roles.url(login);
    const client = new Client({ connectionString: url, application_name: "neonhub-db apply" });
    await client.connect();
    client.on("error", () => {}); // terminated by the test
    await client.query("SELECT pg_advisory_lock($1::bigint)", [RELEASE_LOCK_KEY.toString()]);
    const pid = (await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    return { client, pid };
  }

  // The apply the fixes say to run again: printed as the CLI prints it, with the --lock-timeout it was given.
  const applyAgain = () => literally(`\`neonhub-db apply --migrations-dir ${dir} --lock-timeout 1\``);

  async function applyBehindLock(): Promise<ApplyError & { stderr: string }> {
    const run = await runCli(["apply", "--json", "--migrations-dir", dir, "--lock-timeout", "1"], {
      DATABASE_URL: roles.url("migrator"),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).not.toContain("TypeError");
    return { ...(JSON.parse(run.stdout) as ApplyError), stderr: run.stderr };
  }

  for (const login of ["app", "readonly"] as const) {
    it(`the ${login} login holding it: not a release, the name proves nothing, the admin must end it`, async () => {
      const held = await holder(login);
      try {
        const { error, stderr } = await applyBehindLock();
        expect(stderr).toContain(
          `waiting for the release lock (held by a session that is not a release: pid ${held.pid}, application "neonhub-db apply"`,
        );
        expect(error.code).toBe("lock-timeout");
        expect(error.message).toMatch(
          /^A session that is not a release holds the release lock on this database/,
        );
        expect(error.message).toContain(
          `pid ${held.pid}, application "neonhub-db apply", user ${roles.names[login]}`,
        );
        expect(error.message).toContain(
          `This command runs as ${roles.names.migrator}; every release, baseline or adopt acts as the database's owner ${roles.names.owner}, of which ${roles.names[login]} is not a member, so it cannot be running one.`,
        );
        expect(error.message).toContain("Its application name is set by the client and proves nothing.");
        expect(error.message).not.toContain("Another release");
        expect(error.fix).toMatch(
          new RegExp(
            `^Waiting will not help: end it with SELECT pg_terminate_backend\\(${held.pid}\\) as its own login ` +
              `${roles.names[login]}, or the server's admin \\(a superuser, rds_superuser on RDS, or a member of ` +
              `pg_signal_backend\\), then run ${applyAgain()} again\\. `,
          ),
        );
        expect(error.fix).toContain("compromised");
        expect(error.fix).not.toMatch(/Wait for it to finish|raise the wait/);

        // What the message says: the migrator cannot end it (as itself either), the admin can.
        const statement = `SELECT pg_terminate_backend(${held.pid})`;
        expect(await errorOfStatements(roles.url("migrator"), statement)).toMatch(
          /must be a member of the role/,
        );
        expect(await errorOfStatements(roles.url("migrator"), `SET ROLE NONE; ${statement}`)).toMatch(
          /must be a member of the role/,
        );
        expect(await errorOfStatements(db.url, statement)).toBeUndefined();
      } finally {
        await held.client.end().catch(() => {});
      }
      // Once it is gone, the release runs.
      const run = await runCli(["apply", "--json", "--migrations-dir", dir, "--lock-timeout", "5"], {
        DATABASE_URL: roles.url("migrator"),
      });
      expect(run.code).toBe(0);
    });
  }

  it("another release of the migrator: a statement the migrator can run ends it", async () => {
    const held = await holder("migrator");
    try {
      const { error, stderr } = await applyBehindLock();
      expect(stderr).toContain(`waiting for the release lock (held by pid ${held.pid}, `);
      expect(error.code).toBe("lock-timeout");
      expect(error.message).toMatch(/^Another release holds the lock on this database \(pid \d+/);
      expect(error.fix).toMatch(
        new RegExp(
          `^Wait for it to finish and run ${applyAgain()} again, or raise the wait with --lock-timeout\\. `,
        ),
      );
      const offered = `SET ROLE NONE; SELECT pg_terminate_backend(${held.pid})`;
      expect(error.fix).toContain(
        `If that session is stuck, end it with ${offered} (as ${roles.names.migrator}, in one session).`,
      );
      // The migrator becomes the owner at login, which may not end the migrator's sessions: the bare statement
      // fails, the offered one works.
      expect(
        await errorOfStatements(roles.url("migrator"), `SELECT pg_terminate_backend(${held.pid})`),
      ).toMatch(/must be a member of the role/);
      expect(await errorOfStatements(roles.url("migrator"), offered)).toBeUndefined();
    } finally {
      await held.client.end().catch(() => {});
    }
  });

  it("a superuser holding it may be the admin's release: waiting is offered, and a superuser must end it", async () => {
    const held = await holder("admin");
    try {
      const { error } = await applyBehindLock();
      expect(error.message).toMatch(/^Another release holds the lock on this database \(pid \d+/);
      expect(error.fix).toMatch(
        new RegExp(
          `^Wait for it to finish and run ${applyAgain()} again, or raise the wait with --lock-timeout\\. `,
        ),
      );
      expect(error.fix).toMatch(
        new RegExp(
          `If that session is stuck, end it with SELECT pg_terminate_backend\\(${held.pid}\\) as its own login ` +
            `\\w+, or another superuser\\.$`,
        ),
      );
    } finally {
      await held.client.end().catch(() => {});
    }
  });
});
