// Soak: 200 plan/apply/verify cycles in this one process against one database, the way a long-lived caller (a
// Pulumi provider host, a deploy daemon) uses the engine. Every tenth cycle brings a new migration, so that
// twenty of the applies do real work and the rest are the no-op applies of a steady state. After every cycle
// the database has no session of ours left (pg_stat_activity back to its baseline), and the heap after a full
// garbage collection stays flat between cycle 20 and cycle 200.
import { rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";
import { afterAll, describe, expect, it } from "vitest";
import { Client } from "pg";
import {
  DEFAULT_MIGRATIONS_DIR,
  applyRelease,
  planRelease,
  verifyRelease,
  type ReleaseOptions,
} from "../../core";
import { defaultReleaseSteps } from "../../core";
import { useTestDatabase } from "../support/database";
import { backends, migrationsCopy, waitUntil } from "../support/kill-points";

const CYCLES = 200;
const NEW_MIGRATION_EVERY = 10;
/** Heap growth allowed from cycle 20 to 200, after GC: 30 KB a cycle, well above the noise (0.1 MB in all). */
const HEAP_GROWTH_BOUND_MB = 6;

/** V8's gc(), without starting the worker with --expose-gc: the flag is read when a new context is made. */
function exposeGc(): () => void {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
}

function heapAfterGcMb(gc: () => void): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

describe(`${CYCLES} plan/apply/verify cycles in one process`, () => {
  const db = useTestDatabase("soak");
  const dir = migrationsCopy(DEFAULT_MIGRATIONS_DIR);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("leave no connection behind and keep the heap flat", async () => {
    const gc = exposeGc();
    const monitor = new Client({ connectionString: db.current.adminUrl, application_name: "soak-monitor" });
    await monitor.connect();
    const options = (): ReleaseOptions => ({
      databaseUrl: db.current.url,
      migrationsDir: dir,
      steps: defaultReleaseSteps({ seedSets: ["demo"] }),
    });
    const sessions = async () => (await backends(monitor, db.current.name, "")).length;
    const baseline = await sessions();
    const heap = new Map<number, number>();
    let realApplies = 0;
    try {
      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        if (cycle % NEW_MIGRATION_EVERY === 0) {
          // Cycle n is named n seconds after midnight (00:mm:ss): a real time, in the cycles' order.
          const time = [Math.floor(cycle / 60), cycle % 60].map((n) => String(n).padStart(2, "0")).join("");
          const name = `2099010100${time}_soak_${cycle}.sql`;
          writeFileSync(
            path.join(dir, name),
            `-- Up Migration\nCREATE TABLE soak_${cycle} (id int PRIMARY KEY, note text);\n-- Down Migration\nDROP TABLE soak_${cycle};\n`,
          );
        }
        const plan = await planRelease(options());
        const applied = await applyRelease(options());
        const report = await verifyRelease(options());
        expect(applied.migrations.map((m) => m.name)).toEqual(plan.migrations.pending.map((m) => m.name));
        expect(report.clean, JSON.stringify(report.drift)).toBe(true);
        if (applied.migrations.length > 0) realApplies++;
        // A closed client's backend exits a moment after the client returns: wait for it, boundedly.
        await waitUntil(`cycle ${cycle}'s sessions to close`, async () => (await sessions()) === baseline, {
          timeoutMs: 5_000,
        });
        if (cycle % 20 === 0) heap.set(cycle, heapAfterGcMb(gc));
      }
    } finally {
      await monitor.end();
    }

    // The first apply and one per new migration.
    expect(realApplies).toBe(1 + CYCLES / NEW_MIGRATION_EVERY);
    const first = heap.get(20)!;
    const last = heap.get(CYCLES)!;
    const trend = [...heap.entries()].map(([c, mb]) => `${c}: ${mb.toFixed(1)} MB`).join(", ");
    expect(last - first, `heap after GC by cycle: ${trend}`).toBeLessThan(HEAP_GROWTH_BOUND_MB);
  });
});
