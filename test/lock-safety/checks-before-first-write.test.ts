// What apply and revert read under the release lock before their first write (the ledger, the lost-last-rows
// reading, the pre-flight, the safety lint's reads of the live tables, the drift), and what plan and apply
// --upgrade-legacy read before anything is written, behind a session holding ACCESS EXCLUSIVE on the table
// read: each command fails with `lock-timeout` naming that session (after --migration-lock-timeout; plan,
// after --lock-timeout), instead of waiting as long as it holds the lock, and changes nothing.
// The locks are real, held by a session of the test; nothing is mocked. Each run is killed if it is still
// going after RUN_LIMIT_MS, so that an unbounded wait fails its test rather than hanging the file.
import { Client } from "pg";
import { describe, expect, it } from "vitest";
import {
  applyRelease,
  defaultReleaseSteps,
  isReleaseError,
  type ReleaseOptions,
  type ReleaseStep,
} from "../../core";
import { createLegacySchema, generateLegacyData, LEGACY_SCALES } from "../fixtures/legacy/generate";
import { useTestDatabase, withClient } from "../support/database";
import { fingerprint } from "../support/db-fingerprint";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { startCli } from "../support/kill-points";

/**
 * Far beyond the 3 s bounds the runs are given (long enough for the lock-wait watcher, which starts after a
 * second, to see the blocker): reaching it means the wait was not bounded.
 */
const RUN_LIMIT_MS = 20_000;

interface ErrorDocument {
  error: { code: string; message: string; fix: string | null };
}

/** The CLI's `--json` error document, or a failure that says the run was still waiting. */
async function cliError(url: string, args: readonly string[]): Promise<ErrorDocument["error"]> {
  const run = startCli([...args, "--json"], { DATABASE_URL: url });
  const timer = setTimeout(() => run.child.kill("SIGKILL"), RUN_LIMIT_MS);
  const result = await run.done.finally(() => clearTimeout(timer));
  expect(result.signal, `still waiting after ${RUN_LIMIT_MS} ms: ${result.stderr}`).toBeNull();
  expect(result.code, result.stderr).toBe(1);
  return (JSON.parse(result.stdout) as ErrorDocument).error;
}

/** Runs `fn` while a session of the test holds ACCESS EXCLUSIVE on `table`, with that session's pid. */
async function whileLocked<T>(url: string, table: string, fn: (pid: number) => Promise<T>): Promise<T> {
  const holder = new Client({ connectionString: url, application_name: "lock-holder-of-the-test" });
  await holder.connect();
  try {
    await holder.query(`BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    const pid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    return await fn(pid);
  } finally {
    await holder.end();
  }
}

/** The error names the bound, the table, the blocking session and its end, and says nothing was written. */
function expectLockTimeout(
  error: { code: string; message: string; fix: string | null },
  expected: { command: string; flag: string; table: string; pid: number },
): void {
  expect(error.code, error.message).toBe("lock-timeout");
  expect(error.message).toContain(
    `${expected.command} gave up waiting for a lock after 3 s (${expected.flag})`,
  );
  expect(error.message).toContain(`on ${expected.table}, blocked by pid ${expected.pid}`);
  expect(error.message).toContain('application "lock-holder-of-the-test"');
  expect(error.fix).toContain("Nothing was written.");
  expect(error.fix).toContain(`SELECT pg_terminate_backend(${expected.pid})`);
}

const LEDGER = "neonhub_release.migrations";
const SNAPSHOT = "neonhub_release.schema_snapshot";

describe("apply with work to do, behind a lock on what it reads before its first write", () => {
  const db = useTestDatabase("firstwrite");
  const dir = fixtureMigrationsCopy();
  const apply = (...extra: string[]) => [
    "apply",
    "--migrations-dir",
    dir,
    "--migration-lock-timeout",
    "3",
    ...extra,
  ];

  /** Locks `table`, runs apply, and checks it failed naming the lock and left the database as it was. */
  async function refusedBehind(table: string): Promise<void> {
    const before = await fingerprint(db.current.url);
    await whileLocked(db.current.url, table, async (pid) => {
      const error = await cliError(db.current.url, apply());
      expectLockTimeout(error, { command: "apply", flag: "--migration-lock-timeout", table, pid });
    });
    expect(await fingerprint(db.current.url)).toEqual(before);
  }

  it("the safety lint's weighing of the table a blocking statement is on", async () => {
    const first = await startCli(apply(), { DATABASE_URL: db.current.url }).done;
    expect(first.code, first.stderr).toBe(0);
    // Not CONCURRENTLY: the lint weighs "Widget" (its size and rows), which the lock excludes.
    writeMigration(dir, "20250101000400_widget_name.sql", 'CREATE INDEX widget_name ON "Widget" (name);');
    await refusedBehind('"Widget"');
    // The same migration goes through once the lock is gone: the lint found nothing it refuses.
    const applied = await startCli(apply(), { DATABASE_URL: db.current.url }).done;
    expect(applied.code, applied.stderr).toBe(0);
  });

  it("the pre-flight's look at another tool's ledger", async () => {
    writeMigration(dir, "20250101000500_sprocket.sql", 'CREATE TABLE "Sprocket" (id int);');
    await withClient(db.current.url, (c) =>
      c.query(
        "CREATE TABLE pgmigrations (id serial PRIMARY KEY, name text NOT NULL, run_on timestamp NOT NULL)",
      ),
    );
    try {
      await refusedBehind("pgmigrations");
    } finally {
      await withClient(db.current.url, (c) => c.query("DROP TABLE pgmigrations"));
    }
  });

  it("the ledger", async () => {
    await refusedBehind(LEDGER);
  });
});

/**
 * A release step that does not take part in the batched reads (a step of another project's own): apply then
 * reads the ledger and the lost-last-rows reading on their own, after the state read.
 */
function unbatched(step: ReleaseStep): ReleaseStep {
  return Object.assign(Object.create(step) as ReleaseStep, { batch: undefined });
}

describe("apply with steps that read step by step, behind a lock before its first write", () => {
  const db = useTestDatabase("firstwrite");
  const dir = fixtureMigrationsCopy();
  const options = (): ReleaseOptions => ({
    databaseUrl: db.current.url,
    migrationsDir: dir,
    steps: defaultReleaseSteps({ seedSets: [] }).map(unbatched),
    lockSafety: { lockTimeoutMs: 3_000 },
  });

  async function refusedBehind(table: string): Promise<void> {
    const before = await fingerprint(db.current.url);
    await whileLocked(db.current.url, table, async (pid) => {
      const refused = await Promise.race([
        applyRelease(options()).then(
          () => undefined,
          (error: unknown) => error,
        ),
        new Promise((resolve) =>
          setTimeout(() => resolve(`still waiting after ${RUN_LIMIT_MS} ms`), RUN_LIMIT_MS),
        ),
      ]);
      expect(isReleaseError(refused) && refused.code, String(refused)).toBe("lock-timeout");
      if (!isReleaseError(refused)) return;
      expectLockTimeout(
        { code: refused.code, message: refused.message, fix: refused.fix ?? null },
        { command: "apply", flag: "--migration-lock-timeout", table, pid },
      );
    });
    expect(await fingerprint(db.current.url)).toEqual(before);
  }

  it("the ledger read", async () => {
    await applyRelease(options());
    writeMigration(dir, "20250101000400_sprocket.sql", 'CREATE TABLE "Sprocket" (id int);');
    await refusedBehind(LEDGER);
  });

  it("the lost-last-rows reading of the snapshot", async () => {
    await refusedBehind(SNAPSHOT);
  });
});

describe("revert behind a lock on what it reads before its first write", () => {
  const db = useTestDatabase("firstwrite");
  const dir = fixtureMigrationsCopy();
  const revert = (...extra: string[]) => [
    "revert",
    "--to",
    "20250101000200_widget_color",
    "--migrations-dir",
    dir,
    "--migration-lock-timeout",
    "3",
    ...extra,
  ];

  async function refusedBehind(table: string, extra: readonly string[]): Promise<void> {
    const before = await fingerprint(db.current.url);
    await whileLocked(db.current.url, table, async (pid) => {
      const error = await cliError(db.current.url, revert(...extra));
      expectLockTimeout(error, { command: "revert", flag: "--migration-lock-timeout", table, pid });
    });
    expect(await fingerprint(db.current.url)).toEqual(before);
  }

  it("--confirm: the ledger read", async () => {
    const first = await startCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url }).done;
    expect(first.code, first.stderr).toBe(0);
    await refusedBehind(LEDGER, ["--confirm"]);
  });

  it("--confirm: the lost-last-rows reading of the snapshot, with a migration pending", async () => {
    writeMigration(dir, "20250101000400_sprocket.sql", 'CREATE TABLE "Sprocket" (id int);');
    await refusedBehind(SNAPSHOT, ["--confirm"]);
  });

  it("the preview: the ledger read", async () => {
    await refusedBehind(LEDGER, []);
  });
});

describe("plan and apply --upgrade-legacy behind a lock on a legacy table", () => {
  const db = useTestDatabase("firstwrite");
  // Explicit, or as the legacyUpgrade release setting asks it (then a check first reads whether it is needed).
  const requests = [
    ["--upgrade-legacy", "--legacy-organization", "acme"],
    ["--set", "legacyUpgrade.organization=acme"],
  ];

  it("plan fails with lock-timeout after --lock-timeout, naming the blocking session", async () => {
    await withClient(db.current.url, async (c) => {
      await createLegacySchema(c);
      await generateLegacyData(c, LEGACY_SCALES.small);
    });
    const before = await fingerprint(db.current.url);
    for (const request of requests) {
      await whileLocked(db.current.url, '"User"', async (pid) => {
        const error = await cliError(db.current.url, ["plan", ...request, "--lock-timeout", "3"]);
        expect(error.code, error.message).toBe("lock-timeout");
        expect(error.message).toContain("plan gave up waiting for a lock after 3 s (--lock-timeout)");
        expect(error.message).toContain(`on "User", blocked by pid ${pid}`);
        expect(error.fix).toContain(`SELECT pg_terminate_backend(${pid})`);
      });
    }
    expect(await fingerprint(db.current.url)).toEqual(before);
  });

  it("apply fails with lock-timeout after --migration-lock-timeout before its first write, naming the blocking session", async () => {
    const before = await fingerprint(db.current.url);
    for (const request of requests) {
      await whileLocked(db.current.url, '"User"', async (pid) => {
        const error = await cliError(db.current.url, ["apply", ...request, "--migration-lock-timeout", "3"]);
        expectLockTimeout(error, {
          command: "apply",
          flag: "--migration-lock-timeout",
          table: '"User"',
          pid,
        });
      });
    }
    expect(await fingerprint(db.current.url)).toEqual(before);
  });
});
