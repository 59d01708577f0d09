// Concurrency: eight `neonhub-db apply` processes started at the same moment on one database. The release lock
// must serialize them so that every migration and seed row is written once, and none of them may fail.
import { readdirSync, rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, type ReleaseResult } from "../../core";
import { runCli, type CliRun } from "../support/cli";
import { createTestDatabase, dropTestDatabase, useTestDatabase, withClient } from "../support/database";
import { tableSums, type TableSum } from "../support/db-fingerprint";
import { backends, migrationsCopy } from "../support/kill-points";
import { writeMigration } from "../support/fixtures";

const PROCESSES = 8;
const migrationNames = readdirSync(DEFAULT_MIGRATIONS_DIR)
  .filter((f) => f.endsWith(".sql"))
  .map((f) => f.slice(0, -".sql".length))
  .sort();

/** Starts `PROCESSES` applies at once and waits for all of them. */
async function applyAtOnce(url: string, args: readonly string[]): Promise<CliRun[]> {
  return Promise.all(
    Array.from({ length: PROCESSES }, () =>
      runCli(["apply", "--json", "--lock-timeout", "300", ...args], { DATABASE_URL: url }),
    ),
  );
}

function results(runs: readonly CliRun[]): ReleaseResult[] {
  for (const run of runs) expect(run.code, run.stderr).toBe(0);
  return runs.map((run) => JSON.parse(run.stdout) as ReleaseResult);
}

async function rowCounts(url: string): Promise<Record<string, number>> {
  const sums = await withClient(url, (c) => tableSums(c));
  return Object.fromEntries(
    Object.entries(sums).map(([table, sum]: [string, TableSum]) => [table, sum.rows]),
  );
}

describe(`${PROCESSES} applies started at once`, () => {
  const db = useTestDatabase("concurrent");
  const extra = migrationsCopy(DEFAULT_MIGRATIONS_DIR);
  afterAll(() => rmSync(extra, { recursive: true, force: true }));

  it("on an empty database: all exit 0, each migration and the seed set applied by exactly one of them", async () => {
    const runs = await applyAtOnce(db.current.url, ["--seed", "demo"]);
    const all = results(runs);

    const applied = all.flatMap((r) => r.migrations.map((m) => m.name));
    expect(applied.sort()).toEqual(migrationNames);
    const seeded = all.flatMap((r) => r.seedSets.filter((s) => s.action !== "unchanged"));
    expect(seeded).toEqual([expect.objectContaining({ name: "demo", action: "create" })]);
    // One process did the release; the seven that waited found nothing left to do.
    expect(all.filter((r) => r.changed)).toHaveLength(1);
    expect(runs.filter((r) => r.stderr.includes("waiting for the release lock")).length).toBeGreaterThan(0);

    await withClient(db.current.url, async (c) => {
      const ledger = await c.query<{ name: string; n: number }>(
        "SELECT name, count(*)::int AS n FROM neonhub_release.migrations GROUP BY name ORDER BY name",
      );
      expect(ledger.rows).toEqual(migrationNames.map((name) => ({ name, n: 1 })));
      const sets = await c.query("SELECT name FROM neonhub_release.seed_sets");
      expect(sets.rows).toEqual([{ name: "demo" }]);
      expect(await backends(c, db.current.name)).toEqual([]);
    });

    // Row for row what a single apply writes: nothing twice, nothing missing.
    const single = await createTestDatabase("single");
    try {
      const one = await runCli(["apply", "--seed", "demo"], { DATABASE_URL: single.url });
      expect(one.code, one.stderr).toBe(0);
      expect(await rowCounts(db.current.url)).toEqual(await rowCounts(single.url));
    } finally {
      await dropTestDatabase(single);
    }
  });

  it("on a released database, with a new release of two migrations: each applied once", async () => {
    writeMigration(
      extra,
      "20990101000100_campaign_notes.sql",
      'ALTER TABLE "Campaign" ADD COLUMN "notes" text;',
    );
    writeMigration(
      extra,
      "20990101000200_campaign_notes_index.sql",
      'CREATE INDEX "Campaign_notes_idx" ON "Campaign" ("notes");',
    );
    const all = results(await applyAtOnce(db.current.url, ["--seed", "demo", "--migrations-dir", extra]));
    expect(all.flatMap((r) => r.migrations.map((m) => m.name)).sort()).toEqual([
      "20990101000100_campaign_notes",
      "20990101000200_campaign_notes_index",
    ]);
    expect(all.flatMap((r) => r.seedSets).every((s) => s.action === "unchanged")).toBe(true);
    const verify = await runCli(["verify", "--migrations-dir", extra], { DATABASE_URL: db.current.url });
    expect(verify.code, verify.stdout).toBe(0);
    await withClient(db.current.url, async (c) => {
      const ledger = await c.query<{ n: number; distinct: number }>(
        "SELECT count(*)::int AS n, count(DISTINCT name)::int AS distinct FROM neonhub_release.migrations",
      );
      expect(ledger.rows[0]).toEqual({ n: migrationNames.length + 2, distinct: migrationNames.length + 2 });
    });
  });
});
