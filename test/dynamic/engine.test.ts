// The schema release under the real Pulumi engine: preview, up, refresh and destroy of an inline program that
// holds the SchemaRelease component alone (the access layer's bridged providers cannot run here), against a
// real PostgreSQL. The engine starts the dynamic-provider plugin itself, computes the displayed diff, records
// partial failures and encrypts secrets.
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SchemaRelease } from "../../infra/schema-release";
import { withClient } from "../support/database";
import { FIXTURE_MIGRATIONS, writeMigration } from "../support/fixtures";
import { engineStack, type EngineStack } from "./support/engine";
import { projectCopy } from "./support/project-copy";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";

const MIGRATIONS_TYPE = "pulumi-nodejs:dynamic/neonhub:SchemaMigrations";

interface StateResource {
  type: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

describe("the schema release under the Pulumi engine", () => {
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

  it("preview shows a new migration by name, and up applies only it", async () => {
    writeMigration(
      migrationsDir,
      "20250101000400_sprockets.sql",
      'CREATE TABLE "Sprocket" (id text PRIMARY KEY);',
    );
    let log = "";
    const preview = await engine.stack.preview({ diff: true, onOutput: (line) => (log += line) });
    expect(preview.changeSummary).toEqual({ same: 4, update: 1 });
    expect(log).toMatch(/\+ 20250101000400_sprockets\s*: "[0-9a-f]{64}"/);

    const result = await engine.stack.up();
    expect(result.summary.resourceChanges).toEqual({ same: 4, update: 1 });
    const state = await recorded();
    expect(state).toMatchObject({ appliedMigrations: 4, lastMigration: "20250101000400_sprockets" });
    expect((state.lastRun as { items: { name: string }[] }).items.map((i) => i.name)).toEqual([
      "20250101000400_sprockets",
    ]);
  });

  it("fails the preview on a changed applied migration, naming the file", async () => {
    const file = path.join(migrationsDir, "20250101000100_widgets.sql");
    const original = readFileSync(file, "utf8");
    writeFileSync(file, `${original}\n-- edited after it was applied\n`);
    try {
      await expect(engine.stack.preview()).rejects.toThrow(
        /20250101000100_widgets\.sql was changed after it was applied/,
      );
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
    expect(await recorded()).toMatchObject({ appliedMigrations: 5, lastMigration: "20250101000500_gizmos" });
    rmSync(broken);
    // The engine retries a resource that failed to initialize with an update; it has nothing left to apply.
    const retry = await engine.stack.up();
    expect(retry.summary.resourceChanges).toEqual({ same: 4, update: 1 });
    expect(((await recorded()).lastRun as { items: unknown[] }).items).toEqual([]);
    expect((await engine.stack.preview()).changeSummary).toEqual({ same: 5 });
  });

  it("refresh records catalog drift, with DIRECT_URL giving read the password", async () => {
    await withClient(db.superuserUrl, (client) => client.query('ALTER TABLE "Widget" ADD COLUMN note text'));
    engine.stack.workspace.envVars.DIRECT_URL = db.migratorUrl;
    await engine.stack.refresh();
    expect((await recorded()).drift).toEqual(["added by hand: column public.Widget.note"]);
    expect(engine.rawState()).not.toContain(db.password);
  });

  it("destroy keeps the tables and the ledger", async () => {
    const result = await engine.stack.destroy();
    expect(result.summary.resourceChanges).toMatchObject({ delete: 5 });
    expect(await tables()).toEqual(["Gadget", "Gizmo", "Sprocket", "Widget"]);
  });
});
