// The schema release's failure paths through the real Pulumi engine (`npm run test:engine`, which provides the
// CLI): a changed applied migration fails the preview, and a failed migration leaves the state true to the
// database, the engine recording the outputs the provider reports with the failure. The inline program holds
// the SchemaRelease component alone (local-stack.engine.ts covers the happy path with the access roles).
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SchemaRelease } from "../../infra/schema-release";
import { withClient } from "../support/database";
import { FIXTURE_MIGRATIONS, writeMigration } from "../support/fixtures";
import { engineStack, type EngineStack } from "../dynamic/support/engine";
import { projectCopy } from "../dynamic/support/project-copy";
import { createReleaseDatabase, type ReleaseDatabase } from "../dynamic/support/release-database";

const MIGRATIONS_TYPE = "pulumi-nodejs:dynamic/neonhub:SchemaMigrations";

interface StateResource {
  type: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

describe("the schema release's failures under the Pulumi engine", () => {
  let db: ReleaseDatabase;
  let migrationsDir: string;
  let engine: EngineStack;

  /** The migrations resource's outputs as the engine recorded them. */
  async function recorded(): Promise<Record<string, unknown>> {
    const deployment = (await engine.stack.exportStack()).deployment as { resources?: StateResource[] };
    return deployment.resources?.find((r) => r.type === MIGRATIONS_TYPE)?.outputs ?? {};
  }

  async function tables(): Promise<string[]> {
    return withClient(db.superuserUrl, async (client) => {
      const result = await client.query<{ relname: string }>(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1",
      );
      return result.rows.map((row) => row.relname);
    });
  }

  beforeAll(async () => {
    db = await createReleaseDatabase();
    // The stack's project folder: where the engine starts the dynamic-provider plugin.
    const root = projectCopy();
    migrationsDir = path.join(root, "fixture-migrations");
    cpSync(FIXTURE_MIGRATIONS, migrationsDir, { recursive: true });
    engine = await engineStack(root, async () => {
      const release = new SchemaRelease("schema", {
        directUrl: pulumi.secret(db.migratorUrl),
        ownerRole: db.owner,
        database: db.name,
        migrationsDir,
      });
      return { schemaRelease: release.summary };
    });
  }, 120_000);

  afterAll(async () => {
    await db?.drop();
  });

  it("up applies the whole release; the state keeps the connection string encrypted and no password elsewhere", async () => {
    let log = "";
    const result = await engine.stack.up({ onOutput: (line) => (log += line) });
    expect(result.summary.result).toBe("succeeded");
    expect(result.outputs.schemaRelease).toMatchObject({
      secret: false,
      value: { appliedMigrations: 3, lastMigration: "20250101000300_gadgets" },
    });
    expect(log).toContain("migration 20250101000300_gadgets: applied in");
    expect(await tables()).toEqual(["Gadget", "Widget"]);
    const state = engine.rawState();
    expect(state).not.toContain(db.password);
    expect(JSON.stringify(await recorded())).not.toContain(db.password);
  });

  it("fails the preview on a changed applied migration, naming the file", async () => {
    const file = path.join(migrationsDir, "20250101000100_widgets.sql");
    const original = readFileSync(file, "utf8");
    writeFileSync(file, `${original}\n-- edited after it was applied\n`);
    try {
      const failed = engine.stack.preview().then(
        () => "",
        (error: unknown) => String(error),
      );
      const message = await failed;
      // Appended after its Up section: check, which reads the ledger's Up-section checksum, says the Up
      // section is the applied one; the offline diff, which has none, that the file changed.
      expect(message).toMatch(
        /20250101000100_widgets\.sql (was changed after it was applied|does not match the checksum its ledger row records)/,
      );
      // The reviewer reads the problem, not the migrations input's value (every file's checksum) before it.
      expect(message).toContain("resource 'schema-migrations' has a problem: ");
      expect(message).not.toContain("property migrations value");
    } finally {
      writeFileSync(file, original);
    }
  });

  it("records what the database holds when a migration fails; the retry after the fix applies nothing more", async () => {
    writeMigration(migrationsDir, "20250101000500_gizmos.sql", 'CREATE TABLE "Gizmo" (id text PRIMARY KEY);');
    const broken = writeMigration(
      migrationsDir,
      "20250101000600_broken.sql",
      'ALTER TABLE "Nope" ADD COLUMN x int;',
    );
    await expect(engine.stack.up()).rejects.toThrow(/Migration 20250101000600_broken\.sql failed/);
    expect(await recorded()).toMatchObject({ appliedMigrations: 4, lastMigration: "20250101000500_gizmos" });
    rmSync(broken);
    // The engine retries a resource that failed to initialize with an update; it has nothing left to apply.
    const retry = await engine.stack.up();
    expect(retry.summary.resourceChanges).toEqual({ same: 4, update: 1 });
    expect(((await recorded()).lastRun as { items: unknown[] }).items).toEqual([]);
    expect((await engine.stack.preview()).changeSummary).toEqual({ same: 5 });
    expect(engine.rawState()).not.toContain(db.password);
  });

  it("destroy keeps the tables and the ledger", async () => {
    const result = await engine.stack.destroy();
    expect(result.summary.resourceChanges).toMatchObject({ delete: 5 });
    expect(await tables()).toEqual(["Gadget", "Gizmo", "Widget"]);
  });
});
