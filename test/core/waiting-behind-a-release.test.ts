// A release that waits for another's lock: `revert --confirm` reverts only what it set out to revert when it
// started (an apply it waited behind commits migrations that are not its to undo), and a command stopped by a
// signal while it waits says that nothing was done. With --expect-last the confirm checks the ledger's last
// migration under the lock, so the apply it waited behind is refused by that check too. The other release is
// a real apply held inside its migration by a table lock the test keeps, or the test's own session holding the
// release lock.
import { Client } from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { RELEASE_LOCK_KEY } from "../../core";
import { runCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { startCli, waitingForLockOn, waitUntil, type ProcessResult } from "../support/kill-points";

const db = useTestDatabase("behind");

const ledger = () =>
  withClient(db.current.url, async (c) =>
    (await c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id")).rows.map(
      (r) => r.name,
    ),
  );

interface VerifyDocument {
  releaseInProgress?: unknown;
  drift: { added: string[]; removed: string[]; changed: string[]; repairs: object; note?: string };
}

interface ErrorDocument {
  error: { code: string; message: string; fix: string };
}

const dir = fixtureMigrationsCopy();
const WIDGETS = "20250101000100_widgets";
const KEEP = "20250101000300_gadgets";
const NEW = "20991231000000_gadget_notes";

beforeAll(async () => {
  const apply = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
  expect(apply.code, apply.stderr).toBe(0);
});

/**
 * Runs `revertArgs` while an apply of the pending migration holds the release lock, its ALTER TABLE of "Gadget"
 * waiting for a reader's lock; once the revert waits for the release lock, lets the apply finish (it must
 * succeed) and returns the revert's result.
 */
async function revertBehindApply(revertArgs: string[]): Promise<ProcessResult> {
  const reader = new Client({ connectionString: db.current.url });
  await reader.connect();
  const probe = new Client({ connectionString: db.current.url });
  await probe.connect();
  try {
    await reader.query('BEGIN; LOCK TABLE "Gadget" IN ACCESS SHARE MODE');
    const apply = startCli(["apply", "--migrations-dir", dir, "--migration-lock-timeout", "0"], {
      DATABASE_URL: db.current.url,
    });
    await waitUntil("the apply's migration to wait for its lock", () => waitingForLockOn(probe, '"Gadget"'), {
      while: apply.running,
    });
    const revert = startCli([...revertArgs, "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    await waitUntil(
      "the revert to wait for the release lock",
      async () => revert.stderr().includes("waiting for the release lock"),
      { while: revert.running },
    );
    await reader.query("ROLLBACK");
    const applied = await apply.done;
    expect(applied.code, applied.stderr).toBe(0);
    return await revert.done;
  } finally {
    await reader.end();
    await probe.end();
  }
}

describe("revert --confirm behind an apply that commits a new migration", () => {
  it("refuses to revert the migration it did not see when it started, naming it; nothing is reverted", async () => {
    writeMigration(
      dir,
      `${NEW}.sql`,
      'ALTER TABLE "Gadget" ADD COLUMN "notes" text;',
      'ALTER TABLE "Gadget" DROP COLUMN "notes";',
    );
    // As it starts, the ledger ends at KEEP: nothing to revert. It waits for the apply's lock.
    const result = await revertBehindApply(["revert", "--to", KEEP, "--confirm", "--json"]);
    expect(result.code, result.stderr).toBe(1);
    const { error } = JSON.parse(result.stdout) as ErrorDocument;
    expect(error.code).toBe("ledger-mismatch");
    expect(error.message).toBe(
      `Refusing to revert: migration ${NEW} was applied after this revert started (by a release it waited for), so it was not in what it set out to revert.`,
    );
    expect(error.fix).toBe(
      // The preview as this confirm was given: its folder and --json kept, --confirm left out.
      `Nothing was reverted. Run \`neonhub-db revert --to ${KEEP} --json --migrations-dir ${dir}\` again to see what a revert undoes now, then confirm that.`,
    );
    // The apply's migration stays applied, its column with it.
    expect((await ledger()).at(-1)).toBe(NEW);
    const columns = await withClient(db.current.url, (c) =>
      c.query(
        "SELECT 1 FROM information_schema.columns WHERE table_name = 'Gadget' AND column_name = 'notes'",
      ),
    );
    expect(columns.rowCount).toBe(1);

    // Seen as it starts, the same migration is reverted as asked.
    const again = await runCli(["revert", "--to", KEEP, "--confirm", "--migrations-dir", dir], {
      DATABASE_URL: db.current.url,
    });
    expect(again.code, again.stderr).toBe(0);
    expect((await ledger()).at(-1)).toBe(KEEP);
  });
});

describe("revert --confirm --expect-last behind an apply that commits a new migration", () => {
  it("refuses as the ledger under the lock no longer ends where the preview saw it, naming the migration; nothing is reverted", async () => {
    // As the first test left it: the ledger ends at KEEP, and NEW is pending.
    expect((await ledger()).at(-1)).toBe(KEEP);
    // The operator's preview saw the ledger end at KEEP, and so does the confirm as it starts.
    const result = await revertBehindApply([
      "revert",
      "--to",
      WIDGETS,
      "--confirm",
      "--expect-last",
      KEEP,
      "--json",
    ]);
    expect(result.code, result.stderr).toBe(1);
    const { error } = JSON.parse(result.stdout) as ErrorDocument;
    expect(error.code).toBe("ledger-mismatch");
    expect(error.message).toBe(
      `Refusing to revert: the ledger ends at ${NEW}, not at ${KEEP} (--expect-last): migration ${NEW} was applied after ${KEEP}.`,
    );
    expect((await ledger()).slice(-2)).toEqual([KEEP, NEW]);

    const back = await runCli(
      ["revert", "--to", KEEP, "--confirm", "--expect-last", NEW, "--migrations-dir", dir],
      {
        DATABASE_URL: db.current.url,
      },
    );
    expect(back.code, back.stderr).toBe(0);
    expect((await ledger()).at(-1)).toBe(KEEP);
  });
});

describe("a command stopped by a signal while it waits for the release lock", () => {
  const reverted = ["revert", "--to", WIDGETS, "--confirm"];
  const upgrade = ["apply", "--upgrade-legacy", "--legacy-organization", "acme"];
  // Each command's subject as the message names it, and its fix: the command as it was run, again, with the
  // read that shows where things stand; a revert previews again (run again, it could take out what the other
  // release applied, unseen).
  const again = (shows: string) => (args: readonly string[], json: boolean) =>
    `Run \`neonhub-db ${[...args, "--migrations-dir", dir, ...(json ? ["--json"] : [])].join(" ")}\` again once that release has finished (${shows}).`;
  // The read names the folder the command was given.
  const PLAN = again(`\`neonhub-db plan --migrations-dir ${dir}\` shows what is left`);
  const STATUS = again(`\`neonhub-db status --migrations-dir ${dir}\` shows what the ledger records`);
  const UPGRADE_PLAN = again(
    `\`neonhub-db plan --upgrade-legacy --migrations-dir ${dir} --legacy-organization acme\` shows where it stands`,
  );
  // The preview of the command as it was run: its folder and --json kept, --confirm left out.
  const PREVIEW_AGAIN = (_args: readonly string[], json: boolean) =>
    `Once that release has finished, run \`neonhub-db revert --to ${WIDGETS} --migrations-dir ${dir}${json ? " --json" : ""}\` again and the command it prints: what it would revert may have changed.`;
  it.each([
    ["apply", "SIGINT", false, ["apply"], "apply", PLAN],
    ["apply", "SIGTERM", true, ["apply"], "apply", PLAN],
    ["revert --confirm", "SIGINT", true, reverted, "revert", PREVIEW_AGAIN],
    ["revert --confirm", "SIGTERM", false, reverted, "revert", PREVIEW_AGAIN],
    ["baseline", "SIGINT", false, ["baseline"], "baseline", STATUS],
    ["baseline", "SIGTERM", true, ["baseline"], "baseline", STATUS],
    ["adopt", "SIGINT", true, ["adopt"], "adopt", STATUS],
    ["adopt", "SIGTERM", false, ["adopt"], "adopt", STATUS],
    ["apply --upgrade-legacy", "SIGTERM", true, upgrade, "the upgrade", UPGRADE_PLAN],
  ] as const)(
    "%s (%s, --json %s) says it stopped waiting and nothing was done",
    async (_name, signal, json, args, subject, fixOf) => {
      const fix = fixOf(args, json);
      const holder = new Client({ connectionString: db.current.url });
      await holder.connect();
      try {
        const pid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
        await holder.query("SELECT pg_advisory_lock($1::bigint)", [RELEASE_LOCK_KEY.toString()]);
        const before = await ledger();
        const run = startCli([...args, "--migrations-dir", dir, ...(json ? ["--json"] : [])], {
          DATABASE_URL: db.current.url,
        });
        await waitUntil(
          "the command to wait for the release lock",
          async () => run.stderr().includes("waiting for the release lock"),
          { while: run.running },
        );
        run.child.kill(signal);
        const result = await run.done;

        expect(result.signal, result.stderr).toBe(signal);
        const message = `${subject} stopped while waiting for the release lock (held by pid ${pid}): nothing was done, and the other release goes on.`;
        expect(result.stderr).toContain(`neonhub-db: error: interrupted: ${message}\n  fix: ${fix}`);
        expect(result.stderr).not.toContain("rolled back");
        // baseline and adopt make their scratch database only once they hold the lock.
        expect(result.stderr).not.toContain("scratch database");
        if (json) {
          const { error } = JSON.parse(result.stdout) as ErrorDocument;
          expect(error).toEqual({ code: "interrupted", message, fix });
        }
        expect(await ledger()).toEqual(before);
      } finally {
        await holder.end();
      }
    },
  );
});

describe("plan, status and the revert preview while another release holds the lock", () => {
  /** Runs `fn` while a session named as an apply holds the release lock of `url`; gives it that session's pid. */
  async function whileHeld<T>(url: string, fn: (pid: number) => Promise<T>): Promise<T> {
    const holder = new Client({ connectionString: url, application_name: "neonhub-db:apply" });
    await holder.connect();
    try {
      const pid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      await holder.query("SELECT pg_advisory_lock($1::bigint)", [RELEASE_LOCK_KEY.toString()]);
      return await fn(pid);
    } finally {
      await holder.end();
    }
  }
  const json = async (command: string, url = db.current.url) => {
    const run = await runCli([command, "--json", "--migrations-dir", dir], { DATABASE_URL: url });
    expect(run.code, run.stderr).not.toBe(1);
    return JSON.parse(run.stdout) as { releaseInProgress?: unknown };
  };

  it("name it (pid, application, since when) without waiting, in --json and in text; not once it is gone", async () => {
    await whileHeld(db.current.url, async (pid) => {
      const named = { pid, applicationName: "neonhub-db:apply", since: expect.stringMatching(/^\d{4}-.*Z$/) };
      expect((await json("plan")).releaseInProgress).toEqual(named);
      expect((await json("status")).releaseInProgress).toEqual(named);
      for (const command of ["plan", "status"]) {
        const text = await runCli([command, "--migrations-dir", dir], { DATABASE_URL: db.current.url });
        expect(text.stdout).toMatch(
          new RegExp(
            `^  a release is in progress: pid ${pid}, application "neonhub-db:apply", connected since \\S+Z; what follows is what it has committed so far$`,
            "m",
          ),
        );
      }
    });
    expect(await json("plan")).not.toHaveProperty("releaseInProgress");
    expect(await json("status")).not.toHaveProperty("releaseInProgress");
  });

  it("the revert preview names it as they do, in --json's plan and in text; not once it is gone", async () => {
    const preview = ["revert", "--to", WIDGETS, "--migrations-dir", dir];
    const planOf = async () => {
      const run = await runCli([...preview, "--json"], { DATABASE_URL: db.current.url });
      expect(run.code, run.stderr).not.toBe(1);
      return (JSON.parse(run.stdout) as { plan: { releaseInProgress?: unknown } }).plan;
    };
    await whileHeld(db.current.url, async (pid) => {
      expect((await planOf()).releaseInProgress).toEqual({
        pid,
        applicationName: "neonhub-db:apply",
        since: expect.stringMatching(/^\d{4}-.*Z$/),
      });
      const text = await runCli(preview, { DATABASE_URL: db.current.url });
      expect(text.stdout.split("\n")[1]).toMatch(
        new RegExp(
          `^  a release is in progress: pid ${pid}, application "neonhub-db:apply", connected since \\S+Z; what follows is what it has committed so far$`,
        ),
      );
    });
    expect(await planOf()).not.toHaveProperty("releaseInProgress");
  });

  it("verify compares nothing with the snapshot, and plan names no drift: what the release did is not drift", async () => {
    // A pending migration, so that plan reads the drift apply would check.
    const pendingDir = fixtureMigrationsCopy();
    writeMigration(
      pendingDir,
      "20991231000100_widget_notes.sql",
      'ALTER TABLE "Widget" ADD COLUMN notes text;',
    );
    const run = (args: string[]) =>
      runCli([...args, "--json", "--migrations-dir", pendingDir], { DATABASE_URL: db.current.url });
    const verify = async () => {
      const result = await run(["verify"]);
      return { code: result.code, report: JSON.parse(result.stdout) as VerifyDocument };
    };
    const planDrift = async () => (JSON.parse((await run(["plan"])).stdout) as { drift: unknown[] }).drift;
    // An index the release builds, as the other release would have by now.
    const index = async (sql: string) => withClient(db.current.url, (c) => c.query(sql));
    await whileHeld(db.current.url, async (pid) => {
      await index('CREATE INDEX widget_name_by_release ON "Widget" (name)');
      const { code, report } = await verify();
      expect(code).toBe(2);
      expect(report.releaseInProgress).toMatchObject({ pid, applicationName: "neonhub-db:apply" });
      expect(report.drift).toMatchObject({ added: [], removed: [], changed: [], repairs: {} });
      expect(report.drift.note).toMatch(
        new RegExp(
          `^a release is in progress \\(pid ${pid}, application "neonhub-db:apply"\\): the schema was not compared`,
        ),
      );
      expect(report.drift.note).toContain("verify");
      expect(await planDrift()).toEqual([]);
      const text = await runCli(["verify", "--migrations-dir", pendingDir], { DATABASE_URL: db.current.url });
      expect(text.stdout.split("\n")[0]).toMatch(/: not verified$/);
    });
    try {
      // Left by hand once no release runs: both name it again.
      const { code, report } = await verify();
      expect(code).toBe(2);
      expect(report).not.toHaveProperty("releaseInProgress");
      expect(report.drift.added).toEqual([expect.stringContaining("widget_name_by_release")]);
      expect(JSON.stringify(await planDrift())).toContain("widget_name_by_release");
    } finally {
      await index("DROP INDEX widget_name_by_release");
    }
  });

  it("name it on a database with no release yet (the step-by-step reads)", async () => {
    const fresh = await createTestDatabase("behind_fresh");
    try {
      await whileHeld(fresh.url, async (pid) => {
        expect((await json("plan", fresh.url)).releaseInProgress).toMatchObject({ pid });
        expect((await json("status", fresh.url)).releaseInProgress).toMatchObject({ pid });
      });
    } finally {
      await dropTestDatabase(fresh);
    }
  });
});
