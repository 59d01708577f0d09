// apply and revert stopped by Ctrl-C (SIGINT) or a kill (SIGTERM) say what they left and what to run before
// the process ends by the signal, and what they say holds: the migration that was running is rolled back with
// its ledger row once the server ends the session, the ones before it stay, and the release lock is free. The
// moment is not guessed: a migration sleeps, and the signal goes once its session is seen sleeping.
import { Client } from "pg";
import { describe, expect, it } from "vitest";
import { RELEASE_LOCK_KEY } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import {
  holdTableLock,
  killAt,
  startCli,
  waitingForLockOn,
  waitUntil,
  type ProcessResult,
} from "../support/kill-points";

const db = useTestDatabase("intr");

const query = <T>(sql: string, params: unknown[] = []) =>
  withClient(db.current.url, async (c) => (await c.query<T & object>(sql, params)).rows);

const ledger = async () =>
  (await query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id")).map(
    (r) => r.name,
  );

/** Runs the CLI, signals it once one of its sessions sleeps, and waits until its sessions are gone. */
async function stopWhileSleeping(
  args: string[],
  signal: NodeJS.Signals,
  url = db.current.url,
): Promise<ProcessResult> {
  const query = (sql: string) => withClient(url, async (c) => (await c.query(sql)).rows);
  const run = startCli(args, { DATABASE_URL: url });
  await waitUntil(
    "a migration sleeping",
    async () =>
      (
        await query(
          "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'",
        )
      ).length > 0,
    { while: run.running },
  );
  run.child.kill(signal);
  const result = await run.done;
  await waitUntil(
    "the stopped command's sessions to end",
    async () =>
      (
        await query(
          "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'neonhub-db:%'",
        )
      ).length === 0,
  );
  return result;
}

const lockIsFree = async () => {
  const [row] = await query<{ locked: boolean }>(
    `SELECT pg_try_advisory_lock(${RELEASE_LOCK_KEY.toString()}::bigint) AS locked`,
  );
  return row!.locked;
};

interface InterruptedError {
  error: { code: string; message: string; fix: string };
  warnings: string[];
}

/** The warnings a command wrote on stderr, as --json's `warnings` says them (after `warning: `). */
const stderrWarnings = (stderr: string) =>
  stderr
    .split("\n")
    .filter((line) => line.startsWith("[neonhub-db] warning: "))
    .map((line) => line.slice("[neonhub-db] warning: ".length));

describe("a command stopped by a signal", () => {
  it.each([
    ["SIGINT", false],
    ["SIGTERM", false],
    ["SIGINT", true],
  ] as const)(
    "apply (%s, --json %s) says what it left, naming the running migration, and what to run; the running migration is rolled back, the lock free",
    async (signal, json) => {
      const dir = fixtureMigrationsCopy();
      writeMigration(dir, "20991231000000_sleep.sql", "CREATE TABLE slept (id int);\nSELECT pg_sleep(60);");
      const args = ["apply", "--migrations-dir", dir, ...(json ? ["--json"] : [])];
      const result = await stopWhileSleeping(args, signal);
      expect(result.signal, result.stderr).toBe(signal);
      // An error line, not a warning: --json's warnings hold every stderr warning line, and not this.
      expect(result.stderr).toContain("neonhub-db: error: interrupted: apply stopped");
      // One report: the command-wide one (every command's) gives way to apply's, which names what ran.
      expect(result.stderr.match(/error: interrupted/g)).toHaveLength(1);
      expect(result.stderr).not.toContain("warning: interrupted");
      expect(result.stderr).toContain(
        "migration 20991231000000_sleep, which was running, is rolled back whole with its ledger row",
      );
      // The command as it was run, to run again.
      expect(result.stderr).toMatch(/Run `neonhub-db apply [^`]*` again to complete the release/);
      if (json) {
        // --json's one document, errors included: the interruption is one.
        const { error, warnings } = JSON.parse(result.stdout) as InterruptedError;
        expect(error.code).toBe("interrupted");
        expect(error.message).toContain("migration 20991231000000_sleep, which was running");
        expect(warnings).toEqual(stderrWarnings(result.stderr));
        expect(error.fix).toMatch(/^Run `neonhub-db apply [^`]*--json[^`]*` again to complete the release/);
      } else {
        expect(result.stdout).toBe("");
      }
      expect(await ledger()).not.toContain("20991231000000_sleep");
      expect(await ledger()).toContain("20250101000300_gadgets");
      expect(await query("SELECT to_regclass('public.slept') AS t")).toEqual([{ t: null }]);
      expect(await lockIsFree()).toBe(true);
      await query("SELECT pg_advisory_unlock_all()");
    },
  );

  it.each([
    ["SIGINT", false],
    ["SIGTERM", true],
  ] as const)(
    "revert (%s, --json %s) says what it left and what to run; the migration being reverted stays applied",
    async (signal, json) => {
      const dir = fixtureMigrationsCopy();
      writeMigration(
        dir,
        "20991231000100_revertable.sql",
        "CREATE TABLE revertable (id int);",
        "DROP TABLE revertable;\nSELECT pg_sleep(60);",
      );
      const apply = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
      expect(apply.code, apply.stderr).toBe(0);
      const result = await stopWhileSleeping(
        [
          "revert",
          "--to",
          "20250101000300_gadgets",
          "--confirm",
          "--migrations-dir",
          dir,
          ...(json ? ["--json"] : []),
        ],
        signal,
      );
      expect(result.signal, result.stderr).toBe(signal);
      expect(result.stderr).toContain("neonhub-db: error: interrupted: revert stopped");
      expect(result.stderr).not.toContain("warning: interrupted");
      expect(result.stderr).toContain(
        "migration 20991231000100_revertable, whose Down section was running, is rolled back whole and stays applied",
      );
      expect(result.stderr).toContain("Run the same command again to revert the rest");
      if (json) {
        const { error } = JSON.parse(result.stdout) as InterruptedError;
        expect(error.code).toBe("interrupted");
        expect(error.message).toContain(
          "migration 20991231000100_revertable, whose Down section was running",
        );
        expect(error.fix).toBe(
          "Run the same command again to revert the rest; one given --expect-last refuses then, as the ledger no longer ends there: " +
            `run \`neonhub-db revert --to 20250101000300_gadgets --migrations-dir ${dir} --json\` again and the command it prints.`,
        );
      }
      expect(await ledger()).toContain("20991231000100_revertable");
      expect(await query("SELECT to_regclass('public.revertable')::text AS t")).toEqual([
        { t: "revertable" },
      ]);
    },
  );
});

// A revert --confirm --expect-last stopped in its 2nd Down section: the 1st committed, so the ledger no longer
// ends at the --expect-last given, and the rerun printed confirms where it ends now, the stopped migration.
describe("revert --confirm --expect-last stopped by a signal after a Down section committed", () => {
  const revertDb = useTestDatabase("intr_rev");
  const SLOW = "20991231000100_slow";
  const QUICK = "20991231000200_quick";
  const GADGETS = "20250101000300_gadgets";
  const revertLedger = () =>
    withClient(revertDb.current.url, async (c) =>
      (await c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id")).rows.map(
        (r) => r.name,
      ),
    );

  it("prints the confirm with --expect-last at the stopped migration, which reverts the rest", async () => {
    const url = revertDb.current.url;
    const dir = fixtureMigrationsCopy();
    // Slow to revert only while "slow_gate" holds a row: the rerun then reverts it at once.
    writeMigration(
      dir,
      `${SLOW}.sql`,
      "CREATE TABLE slow_gate (id int);\nINSERT INTO slow_gate VALUES (1);",
      "SELECT pg_sleep(60) FROM slow_gate;\nDROP TABLE slow_gate;",
    );
    writeMigration(dir, `${QUICK}.sql`, "SELECT 1;", "SELECT 1;");
    const apply = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: url });
    expect(apply.code, apply.stderr).toBe(0);
    const args = ["revert", "--to", GADGETS, "--migrations-dir", dir];
    const result = await stopWhileSleeping(
      [...args, "--confirm", "--expect-last", QUICK, "--json"],
      "SIGINT",
      url,
    );
    expect(result.signal, result.stderr).toBe("SIGINT");
    expect(await revertLedger()).toEqual([
      "20250101000100_widgets",
      "20250101000200_widget_color",
      GADGETS,
      SLOW,
    ]);
    const { error } = JSON.parse(result.stdout) as InterruptedError;
    expect(error.code).toBe("interrupted");
    const rerun = `neonhub-db ${args.join(" ")} --json --confirm --expect-last ${SLOW}`;
    expect(error.fix).toBe(
      `Run \`${rerun}\` again to revert the rest: its --expect-last is ${SLOW}, where the ledger ends now (if the signal came as that section committed, it refuses: run \`neonhub-db ${args.join(" ")} --json\` again and the command it prints).`,
    );
    expect(result.stderr).toContain(`Run \`${rerun}\` again to revert the rest`);

    await withClient(url, (c) => c.query("DELETE FROM slow_gate"));
    const rest = await runCli(rerun.split(" ").slice(1), { DATABASE_URL: url });
    expect(rest.code, rest.stderr).toBe(0);
    expect(await revertLedger()).toEqual(["20250101000100_widgets", "20250101000200_widget_color", GADGETS]);
  });
});

// Past the migrations, apply names the step that was running: the vector index being built, which waits here
// for a lock the test holds on "Chunk" (CREATE INDEX needs SHARE, the test holds ROW EXCLUSIVE).
describe("apply stopped by a signal during a vector-index build", () => {
  const indexDb = useTestDatabase("intr_idx");
  const DIMENSION = 16;
  const INDEX = `idx_chunk_embedding_cosine_${DIMENSION}`;

  it("names the index being built, says every migration stays applied, and the next apply builds it", async () => {
    const url = indexDb.current.url;
    const first = await runCli(["apply", "--seed", "demo"], { DATABASE_URL: url });
    expect(first.code, first.stderr).toBe(0);
    await withClient(url, async (c) => {
      await c.query(
        `INSERT INTO "EmbeddingSpace" ("id", "provider", "model", "dimension") VALUES ('intr-space', 'test', 'intr', ${DIMENSION})`,
      );
      await c.query(
        `INSERT INTO "Chunk" ("id", "datasetId", "embeddingSpaceId", "documentId", "idx", "text", "embedding")
         SELECT 'intr-' || i, 'demo-dataset', 'intr-space', 'demo-doc-brand-guide', 1000 + i, 'generated',
                (SELECT array_agg(sin(i * 0.7 + j)::real) FROM generate_series(1, ${DIMENSION}) j)::vector
           FROM generate_series(1, 50) i`,
      );
    });
    const lock = await holdTableLock(url, '"Chunk"', "ROW EXCLUSIVE");
    const probe = new Client({ connectionString: url });
    await probe.connect();
    let result: ProcessResult;
    try {
      const run = startCli(["apply", "--json"], { DATABASE_URL: url });
      result = await killAt(
        run,
        "CREATE INDEX to wait for its lock",
        () => waitingForLockOn(probe, '"Chunk"'),
        30_000,
        "SIGINT",
      );
      await waitUntil(
        "the stopped command's sessions to end",
        async () =>
          (
            await probe.query(
              "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'neonhub-db:%'",
            )
          ).rowCount === 0,
      );
    } finally {
      await probe.end();
      await lock.release();
    }
    expect(result.signal, result.stderr).toBe("SIGINT");
    const building = `the vector-index step was building index ${INDEX}`;
    expect(result.stderr).toContain(`neonhub-db: error: interrupted: apply stopped`);
    expect(result.stderr).toContain(building);
    expect(result.stderr).toContain("every migration stays applied");
    const { error } = JSON.parse(result.stdout) as InterruptedError;
    expect(error.code).toBe("interrupted");
    expect(error.message).toContain(building);

    // What the message says holds: the next apply builds it.
    const again = await runCli(["apply", "--json"], { DATABASE_URL: url });
    expect(again.code, again.stderr).toBe(0);
    const { vectorIndexes } = JSON.parse(again.stdout) as {
      vectorIndexes: { name: string; action: string }[];
    };
    expect(vectorIndexes).toContainEqual(expect.objectContaining({ name: INDEX, action: "create" }));
  });
});

// Every other command says it was stopped too, in its own words, and with --json as the one document stdout
// gets: here while it waits for a lock the test holds on the ledger, which each of them reads.
describe("a read command stopped by a signal", () => {
  const readDb = useTestDatabase("intr_read");
  const dir = fixtureMigrationsCopy();

  it.each([
    ["plan", "SIGTERM", true, []],
    ["status", "SIGINT", false, []],
    ["verify", "SIGINT", true, []],
    ["revert's preview (without --confirm)", "SIGTERM", true, ["revert", "--to", "20250101000100_widgets"]],
  ] as const)(
    "%s (%s, --json %s) says it only read and to run it again",
    async (label, signal, json, given) => {
      const url = readDb.current.url;
      const apply = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: url });
      expect(apply.code, apply.stderr).toBe(0);
      const args = [
        ...(given.length > 0 ? given : [label]),
        "--migrations-dir",
        dir,
        "--lock-timeout",
        "120",
        ...(json ? ["--json"] : []),
      ];
      const lock = await holdTableLock(url, "neonhub_release.migrations", "ACCESS EXCLUSIVE");
      const probe = new Client({ connectionString: url });
      await probe.connect();
      let result: ProcessResult;
      try {
        result = await killAt(
          startCli(args, { DATABASE_URL: url }),
          "the command to wait for its lock on the ledger",
          () => waitingForLockOn(probe, "neonhub_release.migrations"),
          30_000,
          signal,
        );
      } finally {
        await lock.release();
        await probe.end();
      }
      expect(result.signal, result.stderr).toBe(signal);
      const stopped = `${label} stopped. It only reads: nothing was written to the database`;
      expect(result.stderr).toContain(`neonhub-db: error: interrupted: ${stopped}`);
      expect(result.stderr).toMatch(/fix: Run `neonhub-db (plan|status|verify|revert)[^`]*` again\./);
      if (json) {
        const { error } = JSON.parse(result.stdout) as InterruptedError;
        expect(error.code).toBe("interrupted");
        expect(error.message).toContain(stopped);
        expect(error.fix).toMatch(/^Run `neonhub-db [^`]*--json[^`]*` again\.$/);
      } else {
        expect(result.stdout).toBe("");
      }
    },
  );
});
