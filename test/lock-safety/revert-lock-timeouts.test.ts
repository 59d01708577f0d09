// revert --confirm's Down sections under the migrations' lock safety, on real PostgreSQL, through the real CLI:
// a Down section's DROP TABLE behind an app's open transaction that read the table gives up after
// --migration-lock-timeout, is rolled back and retried --lock-retries times, and fails naming the holder,
// with the migration still applied and its table still there; a holder gone before the retry lets it finish.
// --statement-timeout bounds a Down section as it bounds a migration, and node-pg-migrate's own read of the
// ledger before the first one; either fix names the revert to run again with the timeout to raise.
import { spawn } from "node:child_process";
import path from "node:path";
import { Client } from "pg";
import { describe, expect, it } from "vitest";
import { CLI, runCli, type CliRun } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const HOLDER_APPLICATION = "app-report-job";
const KEEP = "20250101000300_gadgets";
const REVERTED = "20250101000400_sprocket";

/** An app's transaction left open after reading "Sprocket": it holds ACCESS SHARE, which DROP TABLE waits for. */
async function openReadOfSprocket(url: string): Promise<{ holder: Client; pid: number }> {
  const holder = new Client({ connectionString: url, application_name: HOLDER_APPLICATION });
  await holder.connect();
  await holder.query('BEGIN; SELECT count(*) FROM "Sprocket"');
  const pid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
  return { holder, pid };
}

const ledgerRows = (url: string) =>
  withClient(url, async (c) =>
    (await c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id")).rows.map(
      (r) => r.name,
    ),
  );

const sprocketExists = (url: string) =>
  withClient(
    url,
    async (c) => (await c.query<{ t: string | null }>(`SELECT to_regclass('"Sprocket"') AS t`)).rows[0]!.t,
  );

/** The revert to KEEP, as an operator runs it: `timeouts` its flags, by default one retry after a lock timeout of 1 s. */
const revertArgs = (dir: string, timeouts = ["--migration-lock-timeout", "1", "--lock-retries", "1"]) => [
  "revert",
  "--to",
  KEEP,
  "--confirm",
  "--migrations-dir",
  dir,
  ...timeouts,
];

/** Runs the CLI, calling `onStderr` with its stderr so far each time more of it arrives. */
function runCliWatching(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  onStderr: (stderr: string) => void,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: path.resolve(__dirname, "..", ".."),
      env: { PATH: process.env.PATH, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      onStderr(stderr);
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("revert --confirm behind an app's open transaction on a table a Down section drops", () => {
  const db = useTestDatabase("revlock");
  const dir = fixtureMigrationsCopy();
  writeMigration(dir, `${REVERTED}.sql`, 'CREATE TABLE "Sprocket" (id int);', 'DROP TABLE "Sprocket";');

  it("gives up after its retries naming the holder, with the migration still applied", async () => {
    const url = db.current.url;
    expect((await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: url })).code).toBe(0);
    const before = await ledgerRows(url);
    const { holder, pid } = await openReadOfSprocket(url);
    let run: CliRun;
    try {
      run = await runCli([...revertArgs(dir), "--json"], { DATABASE_URL: url });
    } finally {
      await holder.end();
    }
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as {
      error: { code: string; message: string; fix: string; failedMigration: unknown };
    };
    expect(error.code).toBe("lock-timeout");
    expect(error.message).toContain(
      `Reverting migration ${REVERTED}.sql could not take its lock within the lock timeout (1000 ms) in 2 attempt(s)`,
    );
    expect(error.message).toContain(
      `AccessExclusiveLock on "Sprocket", blocked by pid ${pid} (holding AccessShareLock; application "${HOLDER_APPLICATION}"`,
    );
    expect(error.fix).toContain(
      "Nothing of it is reverted: each attempt was rolled back, so it is still applied",
    );
    // The revert to run again is the one run, printed as it was given: its --confirm and its lock flags.
    expect(error.fix).toContain(
      `Run \`neonhub-db ${[...revertArgs(dir), "--json"].join(" ")}\` again when that session has finished, or raise --migration-lock-timeout / --lock-retries.`,
    );
    expect(error.fix).toContain(`SELECT pg_terminate_backend(${pid})`);
    expect(error.failedMigration).toMatchObject({
      name: REVERTED,
      direction: "down",
      sqlstate: "55P03",
      finished: 0,
    });
    // The first attempt's timeout was said on stderr, with the retry.
    expect(run.stderr).toMatch(
      new RegExp(
        `migration ${REVERTED}: gave up waiting for a lock after 1000 ms \\(AccessExclusiveLock on "Sprocket", blocked by pid ${pid} .*rolled back, retrying in`,
      ),
    );
    // Nothing half-reverted: the ledger row and the table are there.
    expect(await ledgerRows(url)).toEqual(before);
    expect(await sprocketExists(url)).toBe('"Sprocket"');
  });

  it("completes when the holder is gone before the retry", async () => {
    const url = db.current.url;
    const { holder } = await openReadOfSprocket(url);
    let released: Promise<void> | undefined;
    try {
      // Released the moment the first attempt says it gave up: the retry comes after a pause of at least half
      // a second, and would wait another second for the lock anyway.
      const run = await runCliWatching(revertArgs(dir), { DATABASE_URL: url }, (stderr) => {
        if (!released && stderr.includes("rolled back, retrying in")) {
          released = holder.query("ROLLBACK").then(() => {});
        }
      });
      expect(run.stderr).toContain("rolled back, retrying in");
      expect(run.stderr).toContain(`migration ${REVERTED}: reverting (1/1, attempt 2 of 2)`);
      expect(run.code, run.stderr).toBe(0);
    } finally {
      await released;
      await holder.end();
    }
    expect(await ledgerRows(url)).not.toContain(REVERTED);
    expect((await ledgerRows(url)).at(-1)).toBe(KEEP);
    expect(await sprocketExists(url)).toBeNull();
  });
});

describe("revert --confirm --statement-timeout on a Down section that runs too long", () => {
  const db = useTestDatabase("revstmt");
  const dir = fixtureMigrationsCopy();
  writeMigration(dir, `${REVERTED}.sql`, 'CREATE TABLE "Sprocket" (id int);', "SELECT pg_sleep(5);");

  it("fails naming the timeout and the flag, with the migration still applied, and the revert to run again", async () => {
    const url = db.current.url;
    expect((await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: url })).code).toBe(0);
    const before = await ledgerRows(url);
    // The statement timeout longer than the lock timeout, as the CLI requires.
    const args = [
      ...revertArgs(dir, ["--statement-timeout", "0.2", "--migration-lock-timeout", "0.1"]),
      "--json",
    ];
    const run = await runCli(args, { DATABASE_URL: url });
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; fix: string } };
    expect(error.code).toBe("migration-failed");
    expect(error.fix).toContain("it is still applied");
    expect(error.fix).toContain("The statement ran longer than the statement timeout (200 ms)");
    expect(error.fix).toContain("--statement-timeout");
    // The revert as it was run, printed to run again as apply's fix prints the apply, with the timeout to
    // raise in place of the 0.2 that stopped it; never apply itself, which would apply again what the revert
    // took out.
    const raised = [...revertArgs(dir, ["--migration-lock-timeout", "0.1"]), "--json", "--statement-timeout"];
    expect(error.fix).toContain(
      `The statement ran longer than the statement timeout (200 ms): raise it, then run \`neonhub-db ${raised.join(" ")} '<seconds>'\` with <seconds> more than 0.2 seconds, or 0 to turn it off.`,
    );
    expect(error.fix).not.toMatch(/\bapply\b/);
    expect(await ledgerRows(url)).toEqual(before);
  });
});

/** node-pg-migrate's read of the ledger, its own query before the first Down section runs. */
const RUNNER_LEDGER_READ = 'SELECT name FROM "neonhub_release"."migrations" ORDER BY run_on, id';

/**
 * The session waiting for a lock on `table` (`pid`'s, when given), with the query that waits, once there is
 * one; `until` bounds the polling, so that a revert that never waits there fails the test instead of hanging it.
 */
async function waitingFor(
  watcher: Client,
  table: string,
  pid?: number,
  until = Date.now() + 30_000,
): Promise<{ pid: number; query: string }> {
  for (;;) {
    const { rows } = await watcher.query<{ pid: number; query: string }>(
      `SELECT l.pid, a.query FROM pg_locks l JOIN pg_stat_activity a USING (pid)
        WHERE NOT l.granted AND l.relation = $1::regclass AND ($2::int IS NULL OR l.pid = $2)`,
      [table, pid ?? null],
    );
    if (rows[0]) return rows[0];
    if (Date.now() > until) throw new Error(`no session waited for a lock on ${table}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * `args` (a revert --confirm) run by the CLI on `url` with node-pg-migrate's read of the ledger, and that read
 * alone, waiting for a lock on the ledger until its own bound ends the wait. Without a race: the revert's own
 * reads of the ledger come first, so a first session holds the snapshot table, which the revert reads after the
 * ledger (its drift check); once the revert waits there, a second session takes the ledger, and the first lets
 * the revert go on to the runner, whose read waits for the ledger. The ledger is let go once that read stopped
 * waiting (what waits for it next is the revert's own read after the failure).
 */
async function withRunnerLedgerReadWaiting(url: string, args: readonly string[]): Promise<CliRun> {
  const watcher = new Client({ connectionString: url });
  const snapshotHolder = new Client({ connectionString: url });
  const ledgerHolder = new Client({ connectionString: url });
  await Promise.all([watcher.connect(), snapshotHolder.connect(), ledgerHolder.connect()]);
  try {
    await snapshotHolder.query("BEGIN; LOCK TABLE neonhub_release.schema_snapshot IN ACCESS EXCLUSIVE MODE");
    const running = runCli(args, { DATABASE_URL: url });
    const { pid } = await waitingFor(watcher, "neonhub_release.schema_snapshot");
    await ledgerHolder.query("BEGIN; LOCK TABLE neonhub_release.migrations IN ACCESS EXCLUSIVE MODE");
    await snapshotHolder.query("COMMIT");
    expect((await waitingFor(watcher, "neonhub_release.migrations", pid)).query).toBe(RUNNER_LEDGER_READ);
    for (let until = Date.now() + 30_000; ; ) {
      const { rows } = await watcher.query(
        "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query = $2 AND wait_event_type = 'Lock'",
        [pid, RUNNER_LEDGER_READ],
      );
      if (rows.length === 0) break;
      if (Date.now() > until) throw new Error("the runner's ledger read did not stop waiting");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await ledgerHolder.query("COMMIT");
    return await running;
  } finally {
    await snapshotHolder.query("ROLLBACK").catch(() => {});
    await ledgerHolder.query("ROLLBACK").catch(() => {});
    await Promise.all([watcher.end(), snapshotHolder.end(), ledgerHolder.end()]);
  }
}

describe("revert --confirm whose runner's own ledger read outlasts --statement-timeout", () => {
  const db = useTestDatabase("revownq");
  const dir = fixtureMigrationsCopy();
  writeMigration(dir, `${REVERTED}.sql`, 'CREATE TABLE "Sprocket" (id int);', 'DROP TABLE "Sprocket";');

  it("fails before the first Down section, naming the revert to run again with the timeout to raise", async () => {
    const url = db.current.url;
    expect((await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: url })).code).toBe(0);
    const before = await ledgerRows(url);
    // No migration lock timeout, so that the statement timeout is what ends the runner's wait.
    const args = [
      ...revertArgs(dir, ["--statement-timeout", "0.2", "--migration-lock-timeout", "0"]),
      "--json",
    ];
    const run = await withRunnerLedgerReadWaiting(url, args);
    expect(run.code, run.stderr).toBe(1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } };
    expect(error.code).toBe("migration-failed");
    expect(error.message).toBe(
      "node-pg-migrate failed before running a migration: canceling statement due to statement timeout",
    );
    // The revert as run, with the timeout to raise in place of its 0.2; never apply, which would apply
    // again what a revert took out.
    const raised = [...args.filter((a) => a !== "--statement-timeout" && a !== "0.2"), "--statement-timeout"];
    expect(error.fix).toBe(
      `Its own query ran longer than the statement timeout (200 ms): raise it, then run \`neonhub-db ${raised.join(" ")} '<seconds>'\` with <seconds> more than 0.2 seconds, or 0 to turn it off.`,
    );
    expect(error.fix).not.toMatch(/\bapply\b/);
    expect(await ledgerRows(url)).toEqual(before);
    expect(await sprocketExists(url)).not.toBeNull();
  });
});

describe("revert --confirm whose runner's own ledger read outlasts --migration-lock-timeout", () => {
  const db = useTestDatabase("revownl");
  const dir = fixtureMigrationsCopy();
  writeMigration(dir, `${REVERTED}.sql`, 'CREATE TABLE "Sprocket" (id int);', 'DROP TABLE "Sprocket";');

  it("is a lock-timeout error naming the ledger and the revert to run again, never apply; nothing reverted", async () => {
    const url = db.current.url;
    expect((await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: url })).code).toBe(0);
    const before = await ledgerRows(url);
    // No statement timeout: the runner's lock timeout (0.2 s) ends its wait.
    const run = await withRunnerLedgerReadWaiting(url, [
      ...revertArgs(dir, ["--migration-lock-timeout", "0.2"]),
      "--json",
    ]);
    expect(run.code, run.stderr).toBe(1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } };
    expect(error.code).toBe("lock-timeout");
    expect(error.message).toMatch(
      /^node-pg-migrate's own query \(its read of the ledger, neonhub_release\.migrations\) could not take its lock before the next migration within the lock timeout \(200 ms\): /,
    );
    expect(error.fix).toMatch(/^No Down section was started: nothing was reverted\. Run `neonhub-db revert /);
    expect(error.fix).toContain("or raise --migration-lock-timeout.");
    expect(error.fix).not.toMatch(/\bapply\b/);
    expect(await ledgerRows(url)).toEqual(before);
    expect(await sprocketExists(url)).not.toBeNull();
  });
});
