// A waiting command's progress line ("status: waiting N s for ...") says how long the wait has lasted since it
// began, by the server's clock, not since the watcher first saw it: a command's watcher starts a second after
// the command, and counting from its first poll, the first line said "waiting 2 s" after three. Here the
// watcher starts once the server says the wait has lasted 3 s, so a count of its own says 2 s at its first line.
import { Client } from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { collectingLogger, watchLockWaits } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { waitUntil } from "../support/kill-points";

const opened: Client[] = [];
afterEach(async () => {
  for (const client of opened.splice(0)) await client.end().catch(() => {});
});

async function connect(url: string, name: string): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: name });
  await client.connect();
  opened.push(client);
  return client;
}

describe("a lock wait's progress line", () => {
  const db = useTestDatabase("waitclock");

  it("counts the seconds from the wait's start, whenever the watcher began", async () => {
    await withClient(db.current.url, (c) => c.query('CREATE TABLE "Held" (id int)'));
    const holder = await connect(db.current.url, "app-holder");
    await holder.query("BEGIN");
    await holder.query('LOCK TABLE "Held" IN ACCESS EXCLUSIVE MODE');
    const waiter = await connect(db.current.url, "neonhub-db:status");
    const pid = (await waiter.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
    const sentAt = Date.now();
    const blocked = waiter.query('SELECT count(*) FROM "Held"');

    const monitor = await connect(db.current.url, "monitor");
    await waitUntil(
      "the wait to have lasted 3 s",
      async () => {
        const { rows } = await monitor.query<{ ok: boolean }>(
          "SELECT clock_timestamp() - waitstart >= interval '3 s' AS ok FROM pg_locks WHERE pid = $1 AND NOT granted",
          [pid],
        );
        return rows[0]?.ok === true;
      },
      { intervalMs: 100 },
    );

    const log = collectingLogger();
    const watch = watchLockWaits(monitor, pid, { progressIntervalMs: 2_000, log, label: () => "status" });
    await waitUntil("the first progress line", async () => log.lines.length > 0, { intervalMs: 50 });
    await watch.stop();
    const saidAt = Date.now();

    const first = /^status: waiting (\d+) s for AccessShareLock on "Held", blocked by pid \d+ /.exec(
      log.lines[0]!,
    );
    expect(first, log.lines[0]).not.toBeNull();
    const said = Number(first![1]);
    // At least the 3 s the server had counted before the watcher started, and no more than it waited.
    expect(said).toBeGreaterThanOrEqual(3);
    expect(said * 1000).toBeLessThanOrEqual(saidAt - sentAt);

    await holder.query("ROLLBACK");
    await blocked;
  });
});
