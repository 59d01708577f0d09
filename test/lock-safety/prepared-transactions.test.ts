// Prepared transactions (PREPARE TRANSACTION, two-phase commit) as lock and snapshot holders, on real
// PostgreSQL (the test cluster runs with max_prepared_transactions: global-setup.ts). One has no session: its
// locks have a NULL pid in pg_locks, pg_blocking_pids names it 0, pg_stat_activity has no row for it, and no
// pg_terminate_backend ends it. Each command that meets one names it (gid, owner, when prepared) and the
// COMMIT PREPARED / ROLLBACK PREPARED that finishes it, where it said "the session blocking it was not seen";
// health lists them, names one behind a lock wait and the oldest snapshot, and makes an old one an action.
import { Client } from "pg";
import { afterEach, describe, expect, it } from "vitest";
import {
  applyRelease,
  checkHealth,
  defaultReleaseSteps,
  ReleaseError,
  RELEASE_LOCK_KEY,
  type ReleaseOptions,
} from "../../core";
import { renderHealth } from "../../cli/render-health";
import { withClient } from "../support/database";
import { repoMigrationsUpTo, writeMigration } from "../support/fixtures";
import { runCli } from "../support/cli";
import { startCli, waitUntil } from "../support/kill-points";
import { useReleasedDatabase } from "../security/released-database";

const target = useReleasedDatabase("prepared");
const migrator = () => target.current.roles.url("migrator");
/** The cluster's superuser, in the test's database. */
const admin = () => target.current.db.url;
const owner = () => target.current.roles.names.owner;

/** Runs `sql` in a transaction of `url` and prepares it as `gid`: its locks outlive the session. */
async function prepare(url: string, gid: string, sql: string): Promise<void> {
  await withClient(url, async (c) => {
    await c.query("BEGIN");
    await c.query(sql);
    await c.query(`PREPARE TRANSACTION '${gid}'`);
  });
}

afterEach(async () => {
  // A prepared transaction left behind would keep the database from being dropped.
  await withClient(admin(), async (c) => {
    const { rows } = await c.query<{ gid: string }>(
      "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()",
    );
    for (const { gid } of rows) await c.query(`ROLLBACK PREPARED '${gid}'`);
  });
});

const allMigrations = repoMigrationsUpTo(Number.MAX_SAFE_INTEGER);

const releaseOptions = (extra: Partial<ReleaseOptions> = {}): ReleaseOptions => ({
  databaseUrl: migrator(),
  migrationsDir: allMigrations,
  ownerRole: owner(),
  steps: defaultReleaseSteps({ seedSets: [] }),
  ...extra,
});

describe("a table lock held by a prepared transaction", () => {
  it("status and plan name it, and how to finish it, as a role that may not", async () => {
    // Prepared by the superuser: the migrator, acting as the owner role, may not finish it.
    await prepare(admin(), "schema-change-2pc", 'LOCK TABLE "Chunk" IN ACCESS EXCLUSIVE MODE');
    const commands = [["status"], ["plan"]];
    const results = await Promise.all(
      commands.map(
        (args) => startCli([...args, "--json", "--lock-timeout", "2"], { DIRECT_URL: migrator() }).done,
      ),
    );
    for (const [i, result] of results.entries()) {
      const context = `${commands[i]![0]}\n${result.stderr}`;
      expect(result.code, context).toBe(1);
      const { error } = JSON.parse(result.stdout) as {
        error: { code: string; message: string; fix: string };
      };
      expect(error.code, context).toBe("lock-timeout");
      expect(error.message, context).toMatch(
        /on "Chunk", blocked by prepared transaction 'schema-change-2pc' \(holding AccessExclusiveLock; owner postgres, prepared \d{4}-\d\d-\d\dT[\d:.]+Z, \d+ s ago\)/,
      );
      expect(error.message, context).not.toContain("not seen");
      // The command to run again is the one run, as it was given.
      expect(error.fix, context).toContain(
        `Run \`neonhub-db ${[...commands[i]!, "--json", "--lock-timeout", "2"].join(" ")}\` again when that prepared transaction is committed or rolled back`,
      );
      expect(error.fix, context).toContain(
        "run COMMIT PREPARED 'schema-change-2pc' or ROLLBACK PREPARED 'schema-change-2pc', as role postgres " +
          '(SET ROLE "postgres" first, from a login that is a member of it) or a superuser',
      );
      expect(error.fix, context).not.toContain("pg_terminate_backend");
    }
  });

  it("a migration waiting for it names it after its retries, with the statements its own role may run", async () => {
    // Prepared by the migrator, which acts as the owner role: the owner may finish it.
    await prepare(migrator(), "app-2pc", 'LOCK TABLE "Chunk" IN ROW EXCLUSIVE MODE');
    writeMigration(
      allMigrations,
      "20991231000000_chunk_note.sql",
      'ALTER TABLE "Chunk" ADD COLUMN note text;',
    );
    const failure = await applyRelease(
      releaseOptions({
        lockSafety: { lockTimeoutMs: 1_000, lockRetries: 1, retryBaseDelayMs: 100, retryMaxDelayMs: 200 },
      }),
    ).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ReleaseError);
    const error = failure as ReleaseError;
    expect(error.code).toBe("lock-timeout");
    expect(error.message).toContain(
      `AccessExclusiveLock on "Chunk", blocked by prepared transaction 'app-2pc' (holding RowExclusiveLock; owner ${owner()}, prepared `,
    );
    expect(error.fix).toContain("Run apply again when that prepared transaction is committed or rolled back");
    expect(error.fix).toContain(
      "have its transaction manager finish it, or, if it was abandoned, run COMMIT PREPARED 'app-2pc' or ROLLBACK PREPARED 'app-2pc' (whichever",
    );
    expect(error.fix).not.toContain("SET ROLE");
    const columns = await withClient(
      admin(),
      async (c) =>
        (
          await c.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = '\"Chunk\"'::regclass AND attname = 'note'",
          )
        ).rows[0]!.n,
    );
    expect(columns).toBe(0);
  });
});

describe("the release lock held by a prepared transaction", () => {
  it("is no release: apply says so and how to finish it, without waiting for a session that does not exist", async () => {
    await prepare(migrator(), "advisory-2pc", `SELECT pg_advisory_xact_lock(${RELEASE_LOCK_KEY})`);
    const failure = await applyRelease(releaseOptions({ lockTimeoutMs: 1_000 })).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ReleaseError);
    const error = failure as ReleaseError;
    expect(error.code).toBe("lock-timeout");
    expect(error.message).toContain(
      `A prepared transaction holds the release lock on this database (prepared transaction 'advisory-2pc' (owner ${owner()}, prepared `,
    );
    expect(error.message).toContain("It is not a release");
    expect(error.fix).toContain("Waiting will not help");
    expect(error.fix).toContain("COMMIT PREPARED 'advisory-2pc' or ROLLBACK PREPARED 'advisory-2pc'");
  });

  it("plan and the revert preview are blocked by it and status exits 2, each naming it and how to finish it", async () => {
    // The ledger's last migration but one: the preview keeps it, and has one to show.
    const keep = await withClient(
      admin(),
      async (c) =>
        (
          await c.query<{ name: string }>(
            "SELECT name FROM neonhub_release.migrations ORDER BY run_on DESC, id DESC OFFSET 1 LIMIT 1",
          )
        ).rows[0]!.name,
    );
    const commands = [["plan"], ["status"], ["revert", "--to", keep]];
    // status takes no --owner-role (it acts as no role); the others act as the owner, as a release does.
    const run = (command: string[], json: string[] = []) => {
      const acting = command[0] === "status" ? [] : ["--owner-role", owner()];
      return runCli([...command, ...json, "--migrations-dir", allMigrations, ...acting], {
        DIRECT_URL: migrator(),
      });
    };
    const free = await Promise.all(commands.map((command) => run(command)));
    // Without it: no problem (plan: 0 or 2, as the tests before left the database), one migration to revert.
    expect(free[0]!.code, free[0]!.stdout).not.toBe(1);
    expect(free.slice(1).map((r) => r.code)).toEqual([0, 2]);
    await prepare(migrator(), "advisory-2pc", `SELECT pg_advisory_xact_lock(${RELEASE_LOCK_KEY})`);
    // Unlike a live release, which ends by itself, it blocks every release until an operator finishes it:
    // plan and the revert preview are blocked (1, as when apply would refuse), status has something to act on.
    const held = { plan: 1, status: 2, revert: 1 } as Record<string, number>;
    const closing = {
      plan: "Blocked: `neonhub-db apply` would wait for the prepared transaction above and fail until it is finished.",
      revert:
        "Refused: `revert --confirm` would wait for the prepared transaction above and fail until it is finished.",
    } as Record<string, string>;
    for (const command of commands) {
      const text = await run(command);
      const context = `${command.join(" ")}\n${text.stdout}\n${text.stderr}`;
      expect(text.code, context).toBe(held[command[0]!]);
      if (closing[command[0]!])
        expect(text.stdout.trimEnd().split("\n").at(-1), context).toBe(closing[command[0]!]);
      // Named once, at the top: not again as a problem.
      expect(text.stdout, context).not.toContain("problem:");
      expect(text.stdout.split("\n").slice(1, 3), context).toEqual([
        expect.stringMatching(
          new RegExp(
            `^  the release lock is held by prepared transaction 'advisory-2pc' \\(owner ${owner()}, prepared \\S+Z, \\d+ s ago\\), not by a release$`,
          ),
        ),
        "    fix: Have its transaction manager finish it, or, if it was abandoned, run COMMIT PREPARED 'advisory-2pc' " +
          "or ROLLBACK PREPARED 'advisory-2pc' (whichever the transaction's other participants did). Until then apply, " +
          "revert --confirm, baseline and adopt wait for it and fail: it outlives sessions and restarts, and no " +
          "pg_terminate_backend ends it.",
      ]);
      expect(text.stdout, context).not.toContain("a release is in progress");
      const json = await run(command, ["--json"]);
      const document = JSON.parse(json.stdout) as Record<string, unknown> & {
        plan?: Record<string, unknown>;
      };
      expect(json.code, context).toBe(text.code);
      // plan's and the preview's problems hold it, in the words of the line above; status's are the ledger's.
      if (command[0] !== "status") {
        expect(document.problems, context).toEqual([
          {
            section: "releaseLock",
            kind: "release-lock-prepared",
            message: expect.stringMatching(
              new RegExp(
                `^the release lock is held by prepared transaction 'advisory-2pc' \\(owner ${owner()}, .*\\), not by a release: ${command[0] === "plan" ? "apply" : "revert --confirm"} would wait for it and fail, as long as it is not finished\\.$`,
              ),
            ),
            fix: expect.stringContaining(
              "COMMIT PREPARED 'advisory-2pc' or ROLLBACK PREPARED 'advisory-2pc'",
            ),
          },
        ]);
      } else expect(document.problems, context).toEqual([]);
      const holder = (command[0] === "revert" ? document.plan! : document).releaseLockPrepared;
      expect(holder, context).toEqual({
        gid: "advisory-2pc",
        owner: owner(),
        database: target.current.db.name,
        preparedAt: expect.stringMatching(/Z$/),
        ageSeconds: expect.any(Number),
        mayFinish: true,
        fix: expect.stringContaining("COMMIT PREPARED 'advisory-2pc' or ROLLBACK PREPARED 'advisory-2pc'"),
      });
      expect(document, context).not.toHaveProperty("releaseInProgress");
    }
    await withClient(admin(), (c) => c.query("ROLLBACK PREPARED 'advisory-2pc'"));
    for (const [i, command] of commands.entries()) {
      const json = await run(command, ["--json"]);
      const document = JSON.parse(json.stdout) as Record<string, unknown> & {
        plan?: Record<string, unknown>;
      };
      expect(command[0] === "revert" ? document.plan : document).not.toHaveProperty("releaseLockPrepared");
      expect(json.code).toBe(free[i]!.code);
    }
  });

  it("apply stopped by a signal while it waits names it, not a pid nor another release", async () => {
    await prepare(migrator(), "advisory-2pc", `SELECT pg_advisory_xact_lock(${RELEASE_LOCK_KEY})`);
    const run = startCli(["apply", "--migrations-dir", allMigrations, "--owner-role", owner()], {
      DIRECT_URL: migrator(),
    });
    await waitUntil(
      "apply to wait for the release lock",
      async () => run.stderr().includes("waiting for the release lock"),
      { while: run.running },
    );
    expect(run.stderr()).toContain(
      "waiting for the release lock (held by a session that is not a release: prepared transaction 'advisory-2pc' (owner",
    );
    run.child.kill("SIGINT");
    const result = await run.done;
    expect(result.signal, result.stderr).toBe("SIGINT");
    expect(result.stderr).toContain(
      "apply stopped while waiting for the release lock (held by prepared transaction 'advisory-2pc', not a release): nothing was done.",
    );
    expect(result.stderr).toMatch(
      /Run `neonhub-db apply [^`]*` again once that prepared transaction is committed or rolled back/,
    );
  });
});

describe("health with a prepared transaction", () => {
  it("lists it, names it as the oldest snapshot and behind a lock wait, and makes an old one an action", async () => {
    // SHARE on "Chunk" blocks writers, not health's reads.
    await prepare(migrator(), "old-2pc", 'LOCK TABLE "Chunk" IN SHARE MODE');
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const limits = { longTransactionSeconds: 1, lockWaitSeconds: 1 };
    const report = await checkHealth({ databaseUrl: migrator(), limits });
    const { cluster } = report;
    expect(cluster.preparedTransactions).toEqual([
      expect.objectContaining({ gid: "old-2pc", owner: owner(), mayFinish: true }),
    ]);
    // No other session of the database holds a snapshot yet.
    expect(cluster.oldestXmin).toMatchObject({
      kind: "prepared transaction",
      name: "old-2pc",
      preparedTransaction: { gid: "old-2pc", owner: owner() },
    });
    expect(report.findings.filter((f) => f.subject === "prepared transaction")).toEqual([
      {
        severity: "action",
        subject: "prepared transaction",
        problem: expect.stringMatching(
          new RegExp(
            `^prepared transaction 'old-2pc' \\(owner ${owner()}, prepared .+, \\d+ s ago\\) holds its locks and keeps vacuum from removing rows`,
          ),
        ),
        action: expect.stringContaining("COMMIT PREPARED 'old-2pc' or ROLLBACK PREPARED 'old-2pc'"),
      },
    ]);
    expect(report.healthy).toBe(false);
    expect(renderHealth(report)).toContain(
      `  prepared transactions: prepared transaction 'old-2pc' (owner ${owner()}, prepared `,
    );

    // A writer queued behind it: the wait names the prepared transaction, not a pid.
    const writer = new Client({ connectionString: migrator(), application_name: "chunk-writer" });
    await writer.connect();
    writer.on("error", () => {});
    const writing = writer.query('BEGIN; LOCK TABLE "Chunk" IN ROW EXCLUSIVE MODE').catch((e: unknown) => e);
    try {
      const writerPid = (writer as unknown as { processID: number }).processID;
      await waitUntil("the writer waiting behind the prepared transaction", async () =>
        withClient(admin(), async (c) => {
          const { rows } = await c.query<{ waiting: boolean }>(
            "SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = $1",
            [writerPid],
          );
          return rows[0]?.waiting === true;
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const waiting = await checkHealth({ databaseUrl: migrator(), limits });
      const wait = waiting.cluster.lockWaits.find((w) => w.session.pid === writerPid);
      expect(wait).toMatchObject({ byPreparedTransaction: true, blocker: null });
      expect(wait?.preparedTransactions.map((p) => p.gid)).toEqual(["old-2pc"]);
      const [lockWait] = waiting.findings.filter((f) => f.subject === "lock wait");
      expect(lockWait?.problem).toContain("blocked by prepared transaction 'old-2pc' (owner");
      expect(lockWait?.action).toContain(
        "'old-2pc': have its transaction manager finish it, or, if it was abandoned",
      );
      expect(renderHealth(waiting)).toMatch(
        /lock wait: pid \d+ \(chunk-writer\) \d+ s for .*, blocked by prepared transaction 'old-2pc'/,
      );
    } finally {
      await withClient(admin(), (c) => c.query("ROLLBACK PREPARED 'old-2pc'"));
      await writing;
      await writer.end();
    }
  });

  it("a young one is listed, and no finding: a two-phase commit in progress", async () => {
    await prepare(migrator(), "young-2pc", "SELECT 1");
    const report = await checkHealth({ databaseUrl: migrator() });
    expect(report.cluster.preparedTransactions.map((p) => p.gid)).toEqual(["young-2pc"]);
    expect(report.findings.filter((f) => f.subject === "prepared transaction")).toEqual([]);
    expect(renderHealth(report)).toContain("prepared transactions: prepared transaction 'young-2pc'");
  });
});
