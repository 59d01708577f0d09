// A release that waits for another's lock: a command stopped by a signal while it waits says that nothing was
// done. The other release is the test's own session holding the release lock.
import { Client } from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { RELEASE_LOCK_KEY } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy } from "../support/fixtures";
import { startCli, waitUntil } from "../support/kill-points";

const db = useTestDatabase("behind");

const ledger = () =>
  withClient(db.current.url, async (c) =>
    (await c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id")).rows.map(
      (r) => r.name,
    ),
  );

interface ErrorDocument {
  error: { code: string; message: string; fix: string };
}

const dir = fixtureMigrationsCopy();

beforeAll(async () => {
  const apply = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
  expect(apply.code, apply.stderr).toBe(0);
});

describe("a command stopped by a signal while it waits for the release lock", () => {
  it.each([
    ["apply", "SIGINT", false],
    ["apply", "SIGTERM", true],
    ["revert", "SIGINT", true],
  ] as const)(
    "%s (%s, --json %s) says it stopped waiting and nothing was done",
    async (command, signal, json) => {
      const holder = new Client({ connectionString: db.current.url });
      await holder.connect();
      try {
        const pid = (await holder.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
        await holder.query("SELECT pg_advisory_lock($1::bigint)", [RELEASE_LOCK_KEY.toString()]);
        const before = await ledger();
        const args =
          command === "apply"
            ? ["apply", "--migrations-dir", dir]
            : ["revert", "--to", "20250101000100_widgets", "--confirm", "--migrations-dir", dir];
        const run = startCli([...args, ...(json ? ["--json"] : [])], { DATABASE_URL: db.current.url });
        await waitUntil(
          "the command to wait for the release lock",
          async () => run.stderr().includes("waiting for the release lock"),
          { while: run.running },
        );
        run.child.kill(signal);
        const result = await run.done;

        expect(result.signal, result.stderr).toBe(signal);
        const message = `${command} stopped while waiting for the release lock (held by pid ${pid}): nothing was done, and the other release goes on.`;
        const fix =
          "Run the same command again once that release has finished (`neonhub-db plan` shows what is left).";
        expect(result.stderr).toContain(`neonhub-db: error: interrupted: ${message}\n  fix: ${fix}`);
        expect(result.stderr).not.toContain("rolled back");
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
