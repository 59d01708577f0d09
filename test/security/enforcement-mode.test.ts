// The stack setting that leaves the policies created but not enforced, for an application that does not set
// app.current_organization_id yet: the release's row-level security step, against a real database.
import { cpSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  applyRelease,
  buildReleaseManifest,
  planRelease,
  releaseStatus,
  verifyRelease,
} from "../../core";
import { defaultReleaseSteps } from "../../core";
import { parseRowLevelSecurityMode, type RowLevelSecurityMode } from "../../core";
import { readTableSecurity } from "./catalog";
import { applyAsMigrator, useReleasedDatabase } from "./released-database";
import { inTransaction } from "./sessions";
import {
  GLOBAL_TABLES,
  POLICY_GLOBAL_TABLES,
  TENANT_TABLES,
  organizationOf,
  seedTwoOrganizations,
} from "./tenant-tables";
import { scratchDir } from "../support/scratch";

const target = useReleasedDatabase("rlsmode");
let owner: Client;
let app: Client;

const steps = (rowLevelSecurity?: RowLevelSecurityMode) =>
  defaultReleaseSteps({ seedSets: [], rowLevelSecurity });
const options = (rowLevelSecurity?: RowLevelSecurityMode) => ({
  databaseUrl: target.current.roles.url("migrator"),
  migrationsDir: DEFAULT_MIGRATIONS_DIR,
  ownerRole: target.current.roles.names.owner,
  steps: steps(rowLevelSecurity),
});

/** Every table with a policy: the tenant tables, and "User" with its own. */
const POLICY_TABLES = [...TENANT_TABLES.map((t) => t.table), ...POLICY_GLOBAL_TABLES];
/** "User" has one policy per command; every tenant table one for all. */
const POLICIES = TENANT_TABLES.length + 4;

/** table with a policy → whether row-level security is enabled, and how many policies there are in all. */
async function state(): Promise<{ enabled: Record<string, boolean>; policies: number }> {
  const tables = (await readTableSecurity(owner)).filter(
    (t) => !(t.table in GLOBAL_TABLES) || POLICY_GLOBAL_TABLES.includes(t.table),
  );
  return {
    enabled: Object.fromEntries(tables.map((t) => [t.table, t.enabled])),
    policies: tables.reduce((n, t) => n + t.policies.length, 0),
  };
}
const all = (enabled: boolean) => Object.fromEntries(POLICY_TABLES.map((table) => [table, enabled]));

async function brandsSeenByAppAsA(): Promise<number> {
  const { rows } = await inTransaction(app, organizationOf("A"), (c) =>
    c.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Brand"`),
  );
  return rows[0]?.n ?? -1;
}

beforeAll(async () => {
  owner = await target.current.roles.connect("migrator");
  await seedTwoOrganizations(owner);
  app = await target.current.roles.connect("app");
});

afterAll(async () => {
  await app?.end();
  await owner?.end();
});

describe("rowLevelSecurity: enforce | off", () => {
  it("is enforced by default: the migrations enable it and the step records the mode", async () => {
    expect(await state()).toEqual({ enabled: all(true), policies: POLICIES });
    expect(await brandsSeenByAppAsA()).toBe(1);
    const status = await releaseStatus(options());
    expect(status.rowLevelSecurity).toEqual([
      expect.objectContaining({ name: "row-level security", mode: "enforce", tables: 33, enforced: 33 }),
    ]);
  });

  it("off: plan names every tenant table, apply disables row-level security and keeps every policy", async () => {
    const plan = await planRelease(options("off"));
    expect(plan.pending).toBe(true);
    expect(plan.rowLevelSecurity.map((item) => item.name).sort()).toEqual([...POLICY_TABLES].sort());

    const result = await applyAsMigrator(target.current, steps("off"));
    expect(result.changed).toBe(true);
    expect(result.rowLevelSecurity).toHaveLength(POLICY_TABLES.length);
    expect(await state()).toEqual({ enabled: all(false), policies: POLICIES });
    // Not enforced: the app now sees organization B's brand too.
    expect(await brandsSeenByAppAsA()).toBe(2);
  });

  it("leaves verify clean after the change, and stays off when a run names no mode (the CLI without a flag)", async () => {
    expect((await verifyRelease(options())).clean).toBe(true);
    const again = await applyAsMigrator(target.current, steps());
    expect(again.changed).toBe(false);
    expect(again.rowLevelSecurity).toEqual([]);
    expect((await state()).enabled).toEqual(all(false));
    expect((await releaseStatus(options())).rowLevelSecurity).toEqual([
      expect.objectContaining({ mode: "off", enforced: 0, changedBy: target.current.roles.names.owner }),
    ]);
  });

  it("enforce: turns every policy back on", async () => {
    expect((await planRelease(options("enforce"))).rowLevelSecurity).toHaveLength(POLICY_TABLES.length);
    await applyAsMigrator(target.current, steps("enforce"));
    expect(await state()).toEqual({ enabled: all(true), policies: POLICIES });
    expect(await brandsSeenByAppAsA()).toBe(1);
    expect((await planRelease(options("enforce"))).pending).toBe(false);
  });

  it("shows a hand-made DISABLE as drift, and the next apply enforces again", async () => {
    await owner.query(`ALTER TABLE "Chunk" DISABLE ROW LEVEL SECURITY`);
    const report = await verifyRelease(options());
    expect(report.clean).toBe(false);
    expect(report.drift.changed).toEqual(["table public.Chunk"]);
    const result = await applyAsMigrator(target.current, steps());
    expect(result.rowLevelSecurity.map((item) => item.name)).toEqual(["Chunk"]);
    expect((await verifyRelease(options())).clean).toBe(true);
  });

  it("applies to a tenant table that a later migration creates with its policy enabled", async () => {
    const dir = scratchDir("rls-migrations-");
    try {
      cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
      writeFileSync(
        path.join(dir, "29991231000000_notes.sql"),
        [
          "-- Up Migration",
          `CREATE TABLE "Note" ("id" text PRIMARY KEY, "organizationId" text NOT NULL REFERENCES "Organization" ("id"));`,
          `ALTER TABLE "Note" ENABLE ROW LEVEL SECURITY;`,
          `CREATE POLICY tenant_isolation ON "Note" USING ("organizationId" = current_organization_id());`,
          "-- Down Migration",
          `DROP TABLE "Note";`,
        ].join("\n"),
      );
      const result = await applyRelease({ ...options("off"), migrationsDir: dir });
      expect(result.migrations.map((m) => m.name)).toEqual(["29991231000000_notes"]);
      expect(result.rowLevelSecurity.map((item) => item.name)).toContain("Note");
      expect((await state()).enabled).toEqual({ ...all(false), Note: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("shows in the release manifest, so a change of mode shows in `pulumi preview`", () => {
    const manifest = (mode?: RowLevelSecurityMode) =>
      buildReleaseManifest({ migrationsDir: DEFAULT_MIGRATIONS_DIR, steps: steps(mode) }).rowLevelSecurity;
    expect(manifest()).toEqual([]);
    expect(manifest("off")).toEqual([
      { name: "row-level security", checksum: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
    expect(manifest("off")).not.toEqual(manifest("enforce"));
  });

  it("refuses any other mode, naming the accepted ones", () => {
    expect(() => parseRowLevelSecurityMode("strict", "rowLevelSecurity")).toThrow(
      /rowLevelSecurity must be one of enforce, off \(got "strict"\)/,
    );
  });
});
