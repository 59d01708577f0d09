// Crash during a seed set: `neonhub-db apply --seed demo` killed with SIGKILL while the set's transaction is
// open, at its first table, in the middle, while recording what it wrote, and while putting back a row that
// was edited by hand. The set applies in one transaction, so afterwards the database is exactly as before the
// apply (fingerprint: schema, every row, every sequence), `plan` still shows the set pending, and the next
// apply writes it, once.
import { describe, expect, it } from "vitest";
import { Client } from "pg";
import { runCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { fingerprint } from "../support/db-fingerprint";
import {
  holdTableLock,
  killAt,
  startCli,
  waitForBackendsGone,
  waitingForLockOn,
} from "../support/kill-points";
import { cliJson } from "./support/release-state";

/** Rows of seeds/demo (the set's own count, checked against its plan line below). */
const DEMO_ROWS = 37;

interface SeedKillPoint {
  label: string;
  /** The table the apply is made to wait for (a SHARE lock lets it read, not write). */
  blockedAt: string;
  /** The set was applied before and a seeded row edited by hand: the killed apply was putting it back. */
  edited?: boolean;
}

const POINTS: SeedKillPoint[] = [
  { label: "writing its first table (Organization), nothing written yet", blockedAt: '"Organization"' },
  { label: 'writing "Chunk", the rows of the seed files before it written', blockedAt: '"Chunk"' },
  {
    label: "recording the rows it wrote, every row written",
    blockedAt: "neonhub_release.seed_rows",
  },
  {
    label: "putting back a seeded row edited by hand (an update)",
    blockedAt: '"Organization"',
    edited: true,
  },
];

async function apply(db: TestDatabase, ...args: string[]): Promise<void> {
  const run = await runCli(["apply", ...args], { DATABASE_URL: db.url });
  expect(run.code, run.stderr).toBe(0);
}

describe(`apply --seed demo killed with SIGKILL at ${POINTS.length} moments of the seed set`, () => {
  it.each(POINTS)("$label", async ({ blockedAt, edited }) => {
    const db = await createTestDatabase("crash_seed");
    const probe = new Client({ connectionString: db.url });
    try {
      await withClient(db.adminUrl, (c) =>
        c.query(`ALTER DATABASE "${db.name}" SET client_connection_check_interval = '100ms'`),
      );
      await apply(db);
      if (edited) {
        await apply(db, "--seed", "demo");
        await withClient(db.url, (c) =>
          c.query(`UPDATE "Organization" SET "name" = 'Edited by hand' WHERE "id" = 'demo-org'`),
        );
      }
      const before = await fingerprint(db.url);
      await probe.connect();

      const lock = await holdTableLock(db.url, blockedAt, "SHARE");
      const run = startCli(["apply", "--seed", "demo"], { DATABASE_URL: db.url });
      try {
        const killed = await killAt(run, `the seed set to wait for ${blockedAt}`, () =>
          waitingForLockOn(probe, blockedAt),
        );
        expect(killed.signal).toBe("SIGKILL");
      } finally {
        await lock.release();
      }
      await waitForBackendsGone(probe, db.name);

      // All or nothing: not one row of the set, not one bookkeeping row.
      expect(await fingerprint(db.url)).toEqual(before);
      const verify = await runCli(["verify"], { DATABASE_URL: db.url });
      expect(verify.code, verify.stdout).toBe(0);
      const plan = await cliJson("plan", db.url, ["--seed", "demo"]);
      expect(plan.code).toBe(2);
      expect(plan.value.seedSets).toEqual([
        expect.objectContaining({ name: "demo", action: edited ? "update" : "create" }),
      ]);

      const recovered = await cliJson("apply", db.url, ["--seed", "demo"]);
      expect(recovered.code, recovered.stderr).toBe(0);
      expect(recovered.value.seedSets).toEqual([
        expect.objectContaining({
          name: "demo",
          action: edited ? "update" : "create",
          details: expect.objectContaining({ inserted: edited ? 0 : DEMO_ROWS, updated: edited ? 1 : 0 }),
        }),
      ]);
      const settled = await cliJson("plan", db.url, ["--seed", "demo"]);
      expect(settled.code).toBe(0);
      expect(settled.value.seedSets[0]?.reason).toBe(`${DEMO_ROWS} rows up to date`);
      const owned = await probe.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM neonhub_release.seed_rows",
      );
      expect(owned.rows[0]!.n).toBe(DEMO_ROWS);
    } finally {
      await probe.end().catch(() => {});
      await dropTestDatabase(db);
    }
  });
});
