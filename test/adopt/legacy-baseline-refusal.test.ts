// baseline and adopt on the Prisma-era NeonHub database (test/fixtures/legacy): refused up front, before any
// proof (no scratch database) or write (no ledger), pointing at the upgrade in place. A partial baseline
// (--to the extensions) would otherwise succeed and leave a ledger the upgrade refuses to run over. health,
// which reads the release's tables, says the same instead of taking the legacy ones for the release's
// changed by hand, and verify's "no release applied yet" and status name the upgrade.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { LEGACY_SCALES, createLegacySchema, generateLegacyData } from "../fixtures/legacy/generate";

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase("lgbase");
  await withClient(db.url, async (c) => {
    await createLegacySchema(c);
    await generateLegacyData(c, LEGACY_SCALES.small);
  });
});
afterAll(async () => {
  if (db) await dropTestDatabase(db);
});

const ledgerSchema = () =>
  withClient(db.url, async (c) => {
    const { rows } = await c.query<{ s: string | null }>(
      "SELECT to_regnamespace('neonhub_release')::text AS s",
    );
    return rows[0]!.s;
  });

interface ErrorDocument {
  error: { code: string; message: string; fix: string };
}

describe("baseline and adopt on the Prisma-era database", () => {
  it.each(["baseline", "baseline --to 20250126000100_extensions", "adopt"])(
    "%s refuses before proving anything, naming the upgrade; nothing is written",
    async (line) => {
      const command = line.split(" ");
      const run = await runCli([...command, "--json"], { DATABASE_URL: db.url });
      expect(run.code, run.stderr).toBe(1);
      const { error } = JSON.parse(run.stdout) as ErrorDocument;
      expect(error.code).toBe("invalid-input");
      expect(error.message).toContain("Prisma-era NeonHub schema");
      expect(error.message).toContain(`${command[0]} does not apply to it`);
      expect(error.fix).toContain("neonhub-db plan --upgrade-legacy");
      expect(error.fix).toContain("neonhub-db apply --upgrade-legacy --legacy-organization <slug>");
      expect(error.fix).toContain('docs/runbook.md, "Upgrading a Prisma-era database"');
      // Not the paths that do not apply here, and no proof was run.
      expect(error.fix).not.toContain("--to");
      expect(run.stderr).not.toContain("scratch database");
      expect(await ledgerSchema()).toBeNull();
    },
  );

  it("names the ledger an earlier baseline left over it, and the statement that clears the upgrade's way", async () => {
    await withClient(db.url, (c) => c.query("CREATE SCHEMA neonhub_release"));
    try {
      const run = await runCli(["baseline", "--json"], { DATABASE_URL: db.url });
      expect(run.code).toBe(1);
      const { error } = JSON.parse(run.stdout) as ErrorDocument;
      expect(error.fix).toContain("DROP SCHEMA neonhub_release CASCADE");
    } finally {
      await withClient(db.url, (c) => c.query("DROP SCHEMA neonhub_release"));
    }
  });
});

describe("health on the Prisma-era database", () => {
  it("says it is the legacy schema, to be upgraded first, not a release changed by hand", async () => {
    const run = await runCli(["health", "--json"], { DATABASE_URL: db.url });
    expect(run.code, run.stderr).toBe(1);
    const { error } = JSON.parse(run.stdout) as ErrorDocument;
    expect(error.code).toBe("invalid-input");
    expect(error.message).toContain("Prisma-era NeonHub schema");
    expect(error.message).toContain("health reads the release's tables");
    expect(error.message).not.toContain("differs from the release's");
    expect(error.fix).toMatch(/^Upgrade it in place: `neonhub-db plan --upgrade-legacy`/);
    expect(error.fix).not.toContain("rename it back");
  });
});

describe("verify on the Prisma-era database", () => {
  it("says no release is applied and names the upgrade that takes it to one", async () => {
    const run = await runCli(["verify", "--json"], { DATABASE_URL: db.url });
    expect(run.code, run.stderr).toBe(2);
    const report = JSON.parse(run.stdout) as { clean: boolean; drift: { note: string } };
    expect(report.clean).toBe(false);
    expect(report.drift.note).toMatch(/^no release applied yet: this is the Prisma-era NeonHub schema/);
    expect(report.drift.note).toContain("neonhub-db plan --upgrade-legacy");
  });
});

describe("status on the Prisma-era database", () => {
  it("names the legacy schema and the upgrade, as verify does, besides the pending migrations", async () => {
    const text = await runCli(["status"], { DATABASE_URL: db.url });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(
      "\n  note: no release applied yet: this is the Prisma-era NeonHub schema, which plain apply refuses and the upgrade in place takes to the release (`neonhub-db plan --upgrade-legacy --legacy-organization '<slug>'",
    );
    expect(text.stdout).toContain('docs/runbook.md, "Upgrading a Prisma-era database"');

    const run = await runCli(["status", "--json"], { DATABASE_URL: db.url });
    expect(run.code, run.stderr).toBe(0);
    const status = JSON.parse(run.stdout) as {
      ledger: unknown[];
      pendingMigrations: string[];
      legacyUpgrade?: unknown;
      legacyNotUpgraded?: { note: string };
    };
    // A field of its own: the ledger and the pending migrations mean what they meant.
    expect(status.ledger).toEqual([]);
    expect(status.pendingMigrations[0]).toBe("20250126000100_extensions");
    expect(status.legacyUpgrade).toBeUndefined();
    expect(status.legacyNotUpgraded?.note).toMatch(
      /^no release applied yet: this is the Prisma-era NeonHub schema/,
    );
    expect(status.legacyNotUpgraded?.note).toContain("neonhub-db plan --upgrade-legacy");
  });

  it("says nothing of it on an empty database", async () => {
    const empty = await createTestDatabase("lgstatus");
    try {
      const run = await runCli(["status", "--json"], { DATABASE_URL: empty.url });
      expect(run.code, run.stderr).toBe(0);
      const status = JSON.parse(run.stdout) as { pendingMigrations: string[]; legacyNotUpgraded?: unknown };
      expect(status.pendingMigrations.length).toBeGreaterThan(0);
      expect(status.legacyNotUpgraded).toBeUndefined();
    } finally {
      await dropTestDatabase(empty);
    }
  });
});
