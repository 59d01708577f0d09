// A command whose session another one ends (pg_terminate_backend, 57P01 while the server still answers) fails
// with code `connection`, says that another session may have ended it, and says what to run for the command
// that was running: a revert is run again (never apply, which would apply again what it took out), a read
// command again, apply again, each printed as the operator ran it (its folder included), to run as printed.
// What the fix says then holds: the rerun completes and verify is clean. The
// moment is not guessed: the command sleeps in a migration or waits for a lock the test holds, and is ended
// once it is seen there.
import { Client } from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { startCli, waitingForLockOn, waitUntil, type ProcessResult } from "../support/kill-points";

const db = useTestDatabase("lost");

const query = <T>(sql: string, params: unknown[] = []) =>
  withClient(db.current.url, async (c) => (await c.query<T & object>(sql, params)).rows);

const ledger = async () =>
  (await query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id")).map(
    (r) => r.name,
  );

const TERMINATED = "another session ended this one with pg_terminate_backend";

/** Ends the session named `neonhub-db:<application>` once `ready` holds, then waits for the command's end. */
async function terminateWhen(
  args: string[],
  application: string,
  ready: () => Promise<boolean>,
  url = db.current.url,
): Promise<ProcessResult> {
  const query = <T>(sql: string, params: unknown[] = []) =>
    withClient(url, async (c) => (await c.query<T & object>(sql, params)).rows);
  const run = startCli(args, { DATABASE_URL: url });
  await waitUntil(`neonhub-db:${application} to be where the test ends it`, ready, { while: run.running });
  const ended = await query<{ ended: boolean }>(
    "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1",
    [`neonhub-db:${application}`],
  );
  expect(ended).toEqual([{ ended: true }]);
  const result = await run.done;
  await waitUntil(
    "the command's sessions to end",
    async () =>
      (
        await query(
          "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'neonhub-db:%'",
        )
      ).length === 0,
  );
  return result;
}

/**
 * Runs the read command `args` (its first word) while a session holds `table` in ACCESS EXCLUSIVE mode, and
 * ends the command's session once it waits for that lock.
 */
async function terminatedWhileLocked(url: string, table: string, args: string[]): Promise<ProcessResult> {
  const holder = new Client({ connectionString: url });
  await holder.connect();
  const probe = new Client({ connectionString: url });
  await probe.connect();
  try {
    await holder.query(`BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    return await terminateWhen(args, args[0]!, () => waitingForLockOn(probe, table), url);
  } finally {
    await holder.query("ROLLBACK").catch(() => {});
    await holder.end();
    await probe.end();
  }
}

/** A read command's lost connection, as --json gives it: code connection, nothing changed, run it again. */
function expectReadCommandLost(result: ProcessResult, command: string, args: readonly string[]): void {
  expect(result.code, result.stderr).toBe(1);
  const { error } = JSON.parse(result.stdout) as ErrorDocument;
  expect(error.code).toBe("connection");
  expect(error.message).toContain(`(the server stopped, or ${TERMINATED}).`);
  expect(error.fix).toBe(
    `Nothing was changed: ${command} only reads. Check the server, then run \`neonhub-db ${args.join(" ")}\` again.`,
  );
  expect(result.stderr).not.toContain("unexpected error");
}

const sleepingIn = (application: string) => async () =>
  (
    await query(
      "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1 AND wait_event = 'PgSleep'",
      [application],
    )
  ).length > 0;

interface ErrorDocument {
  error: { code: string; message: string; fix: string };
  warnings: string[];
}

describe("a command whose session another one ends", () => {
  const dir = fixtureMigrationsCopy();

  it("apply: names pg_terminate_backend, says to run apply again, and warns of verify only if a migration of this run committed", async () => {
    const released = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(released.code, released.stderr).toBe(0);
    writeMigration(dir, "20991231000000_slow_up.sql", "CREATE TABLE slow_up (id int);\nSELECT pg_sleep(60);");
    const result = await terminateWhen(
      ["apply", "--migrations-dir", dir],
      "apply",
      sleepingIn("neonhub-db:apply"),
    );
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain("Migration 20991231000000_slow_up.sql failed");
    expect(result.stderr).toContain(`Lost the connection to PostgreSQL at`);
    expect(result.stderr).toContain(`(the server stopped, or ${TERMINATED}).`);
    expect(result.stderr).toContain(
      `Check the server, then run \`neonhub-db apply --migrations-dir ${dir}\` again: it continues where this one stopped.`,
    );
    // What the loss left, in any of apply's steps (the connection went during a calibration as readily).
    expect(result.stderr).toContain(
      "Each migration and seed set runs in its own transaction, so nothing is half-applied; an index build or calibration that was running is done again by the next apply (a CONCURRENTLY build it stopped leaves an INVALID index, which that apply drops first).",
    );
    expect(result.stderr).not.toContain("unexpected error");
    // The snapshot could not be recorded (the session is gone); nothing of this run committed, so verify is
    // clean, and the warning says "if", not that verify will complain.
    expect(result.stderr).toContain(
      "if a migration of this run committed before it, verify will say an apply was interrupted until the next apply",
    );
    expect(await ledger()).toEqual([
      "20250101000100_widgets",
      "20250101000200_widget_color",
      "20250101000300_gadgets",
    ]);
    const verify = await runCli(["verify", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    // The slow migration becomes one that reverts slowly, for the revert below.
    writeMigration(
      dir,
      "20991231000000_slow_up.sql",
      "CREATE TABLE slow_up (id int);",
      "DROP TABLE slow_up;\nSELECT pg_sleep(60);",
    );
    writeMigration(dir, "20991231000100_fast.sql", "CREATE TABLE fast (id int);", "DROP TABLE fast;");
    const apply = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(apply.code, apply.stderr).toBe(0);
  });

  it("revert --confirm (--json): says to run the same revert again, not apply; that revert completes it", async () => {
    const revert = ["revert", "--to", "20250101000300_gadgets", "--confirm", "--migrations-dir", dir];
    const result = await terminateWhen([...revert, "--json"], "revert", sleepingIn("neonhub-db:revert"));
    expect(result.code, result.stderr).toBe(1);
    const { error } = JSON.parse(result.stdout) as ErrorDocument;
    expect(error.code).toBe("connection");
    expect(error.message).toContain("Reverting migration 20991231000000_slow_up.sql failed");
    expect(error.message).toContain(`(the server stopped, or ${TERMINATED}).`);
    expect(error.fix).toBe(
      "Each Down section runs in its own transaction, so nothing is half-reverted: the migrations reverted before it stay reverted. Check the server, then run " +
        // The revert as it was run, --confirm included: runnable as printed.
        `\`neonhub-db revert --to 20250101000300_gadgets --confirm --migrations-dir ${dir} --json\` again: it reverts the rest and records the schema snapshot (not apply, which would apply again what this revert took out); ` +
        "one given --expect-last refuses then, as the ledger no longer ends there: " +
        // The preview as this revert was run, its folder included: runnable as printed.
        `run \`neonhub-db revert --to 20250101000300_gadgets --migrations-dir ${dir} --json\` again and the command it prints.`,
    );
    expect(result.stderr).not.toContain("run apply again");
    // The fast one was reverted; the slow one's Down section was rolled back with the session.
    expect(await ledger()).toEqual([
      "20250101000100_widgets",
      "20250101000200_widget_color",
      "20250101000300_gadgets",
      "20991231000000_slow_up",
    ]);

    // What the fix says: the same revert (its Down section now quick) reverts the rest, and verify is clean.
    writeMigration(
      dir,
      "20991231000000_slow_up.sql",
      "CREATE TABLE slow_up (id int);",
      "DROP TABLE slow_up;",
    );
    const again = await runCli([...revert, "--corrected-down", "20991231000000_slow_up"], {
      DATABASE_URL: db.current.url,
    });
    expect(again.code, again.stderr).toBe(0);
    expect(await ledger()).toEqual([
      "20250101000100_widgets",
      "20250101000200_widget_color",
      "20250101000300_gadgets",
    ]);
    const verify = await runCli(["verify", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  });

  it.each(["status", "plan"])(
    "%s, ended while it waits for a lock on the ledger: nothing changed, run it again",
    async (command) => {
      const args = [command, "--json", "--migrations-dir", dir];
      const result = await terminatedWhileLocked(db.current.url, "neonhub_release.migrations", args);
      expectReadCommandLost(result, command, args);
    },
  );
});

// health and prisma-schema read the release's tables ("Chunk" among them): the project's migrations, not the
// fixtures.
describe("health and prisma-schema whose session another one ends while they wait for a lock on Chunk", () => {
  const released = useTestDatabase("lost_health");
  beforeAll(async () => {
    const apply = await runCli(["apply"], { DATABASE_URL: released.current.url });
    expect(apply.code, apply.stderr).toBe(0);
  });

  it.each(["health", "prisma-schema"])(
    "%s says nothing changed and to run it again, as code connection",
    async (command) => {
      const result = await terminatedWhileLocked(released.current.url, '"Chunk"', [command, "--json"]);
      expectReadCommandLost(result, command, [command, "--json"]);
    },
  );
});
