// The release's batched reads: a no-op apply is three round trips, a plan and a status two, and what they
// answer is what reading step by step answers (the steps without their batch take the step-by-step path).
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  applyRelease,
  planRelease,
  releaseStatus,
  type ReleaseOptions,
  defaultReleaseSteps,
  type ReleaseStep,
} from "../../core";
import { useTestDatabase, withClient } from "../support/database";

/** Counts the queries sent by every pg Client of this process: one query is one round trip. */
function countQueries() {
  const original = Client.prototype.query;
  let count = 0;
  Client.prototype.query = function (this: Client, ...args: unknown[]) {
    count++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof Client.prototype.query;
  return {
    async during<T>(fn: () => Promise<T>): Promise<{ value: T; queries: number }> {
      count = 0;
      const value = await fn();
      return { value, queries: count };
    },
    restore: () => void (Client.prototype.query = original),
  };
}

/** The same steps without their part in the batched reads: the step-by-step path. */
function unbatched(steps: readonly ReleaseStep[]): ReleaseStep[] {
  return steps.map((step) => ({
    kind: step.kind,
    bookkeepingDdl: step.bookkeepingDdl,
    manifest: () => step.manifest(),
    plan: (client) => step.plan(client),
    apply: (client, log) => step.apply(client, log),
    status: (client) => step.status(client),
    ...(step.recordedSettings && { recordedSettings: (client) => step.recordedSettings!(client) }),
  }));
}

const withoutTimings = <T>(value: T): T =>
  JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === "durationMs" ? 0 : v))) as T;

describe("round trips of a released database", () => {
  const db = useTestDatabase();
  const counter = countQueries();
  let options: ReleaseOptions;
  beforeAll(async () => {
    options = {
      databaseUrl: db.current.url,
      migrationsDir: DEFAULT_MIGRATIONS_DIR,
      steps: defaultReleaseSteps({ seedSets: ["demo"] }),
    };
    await applyRelease(options);
  });
  afterAll(() => counter.restore());

  it("a no-op apply takes at most 3 round trips and reports what the step-by-step path reports", async () => {
    const fast = await counter.during(() => applyRelease(options));
    expect(fast.queries).toBeLessThanOrEqual(3);
    expect(fast.value.changed).toBe(false);
    const slow = await counter.during(() => applyRelease({ ...options, steps: unbatched(options.steps!) }));
    expect(slow.queries).toBeGreaterThan(3);
    expect(withoutTimings(fast.value)).toEqual(withoutTimings(slow.value));
  });

  it("a plan with nothing pending takes at most 2 round trips and says what the step-by-step plan says", async () => {
    const fast = await counter.during(() => planRelease(options));
    expect(fast.queries).toBeLessThanOrEqual(2);
    expect(fast.value.pending).toBe(false);
    const slow = await planRelease({ ...options, steps: unbatched(options.steps!) });
    expect(fast.value).toEqual(slow);
  });

  it("a status takes 2 round trips and matches the step-by-step status", async () => {
    const fast = await counter.during(() => releaseStatus(options));
    expect(fast.queries).toBeLessThanOrEqual(2);
    expect(fast.value).toEqual(await releaseStatus({ ...options, steps: unbatched(options.steps!) }));
  });

  it("a seeded row changed by hand is seen: plan names it and apply puts it back", async () => {
    await withClient(db.current.url, (c) =>
      c.query(`UPDATE "Organization" SET name = 'changed by hand' WHERE id = 'demo-org'`),
    );
    const plan = await planRelease(options);
    expect(plan.pending).toBe(true);
    expect(plan.seedSets[0]).toMatchObject({ name: "demo", action: "update" });
    expect(plan.seedSets[0]!.reason).toContain("Organization demo-org");
    const applied = await applyRelease(options);
    expect(applied.seedSets[0]).toMatchObject({ action: "update", details: { updated: 1 } });
    expect((await planRelease(options)).pending).toBe(false);
  });

  it("row-level security turned off by hand is seen and enforced again", async () => {
    await withClient(db.current.url, (c) => c.query(`ALTER TABLE "Brand" DISABLE ROW LEVEL SECURITY`));
    const plan = await planRelease(options);
    expect(plan.rowLevelSecurity).toEqual([expect.objectContaining({ name: "Brand", action: "update" })]);
    const applied = await applyRelease(options);
    expect(applied.changed).toBe(true);
    const again = await counter.during(() => applyRelease(options));
    expect(again.value.changed).toBe(false);
    expect(again.queries).toBeLessThanOrEqual(3);
  });
});
