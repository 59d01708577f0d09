// The schema migrations resource through @pulumi/pulumi's dynamic-provider host, as the engine drives it,
// against a real PostgreSQL: the provider is the one the program serializes, the host runs in the project
// root, and every request carries `__provider` like the engine's.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReleaseManifest } from "../../core";
import { manifestMap } from "../../infra/dynamic/part-args";
import { dropDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { HostCallError, type ProviderHost, type Props } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { hostReaching, releaseInputsFor } from "./support/release-host";
import { urnOf } from "./support/release-inputs";

const URN = urnOf("migrations", "lifecycle-migrations");

function withManifest(inputs: Props, dir: string): Props {
  return { ...inputs, migrations: manifestMap(buildReleaseManifest({ migrationsDir: dir }).migrations) };
}

async function ledger(db: ReleaseDatabase): Promise<Map<string, string>> {
  return withClient(db.superuserUrl, async (client) => {
    const rows = await client.query<{ name: string; applied_at: Date }>(
      "SELECT name, applied_at FROM neonhub_release.migrations ORDER BY id",
    );
    return new Map(rows.rows.map((row) => [row.name, row.applied_at.toISOString()]));
  });
}

async function tables(db: ReleaseDatabase): Promise<Record<string, string>> {
  return withClient(db.superuserUrl, async (client) => {
    const rows = await client.query<{ relname: string; owner: string }>(
      `SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1`,
    );
    return Object.fromEntries(rows.rows.map((row) => [row.relname, row.owner]));
  });
}

describe("schema migrations through the dynamic-provider host", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let dir: string;
  let inputs: Props;
  let id: string;
  let state: Props;

  beforeAll(async () => {
    db = await createReleaseDatabase();
    dir = fixtureMigrationsCopy();
    inputs = (await releaseInputsFor("lifecycle", db, { migrationsDir: dir })).migrations;
    // DIRECT_URL is how an operator lets `pulumi refresh` reach the database (read gets no inputs).
    host = await hostReaching(db);
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("checks the inputs the program serialized, and create applies the whole release as the owner", async () => {
    const checked = await host.check(URN, {}, inputs);
    expect(checked.failures).toEqual([]);
    expect(checked.inputs.__provider).toBe(inputs.__provider);

    const created = await host.create(URN, inputs);
    id = created.id;
    state = created.properties;
    const port = new URL(db.migratorUrl).port;
    expect(id).toBe(`127.0.0.1:${port}/${db.name}`);
    expect(state).toMatchObject({
      part: "migrations",
      target: id,
      appliedMigrations: 3,
      lastMigration: "20250101000300_gadgets",
      drift: [],
    });
    expect(Object.keys(state.migrations as Props)).toEqual([...(await ledger(db)).keys()]);
    expect(await tables(db)).toEqual({ Gadget: db.owner, Widget: db.owner });
  });

  it("records no password in its outputs or in anything the host printed", () => {
    expect(JSON.stringify(state)).not.toContain(db.password);
    expect(state.connection).toBe(`postgresql://${db.migrator}@${id}`);
    expect(host.output()).not.toContain(db.password);
  });

  it("diffs to no change when the files are what was applied", async () => {
    const diff = await host.diff(URN, id, state, inputs);
    expect(diff).toEqual({ changes: "none", replaces: [] });
  });

  it("shows a new migration file in diff, and update applies only it", async () => {
    writeMigration(
      dir,
      "20250101000400_sprockets.sql",
      'CREATE TABLE "Sprocket" (id text PRIMARY KEY);',
      'DROP TABLE "Sprocket";',
    );
    const news = withManifest(inputs, dir);
    const before = await ledger(db);

    const diff = await host.diff(URN, id, state, news);
    expect(diff).toEqual({ changes: "some", replaces: [] });
    await host.waitFor("1 migration to apply: 20250101000400_sprockets");

    const updated = await host.update(URN, id, state, news);
    state = updated.properties;
    expect(state).toMatchObject({ appliedMigrations: 4, lastMigration: "20250101000400_sprockets" });
    expect((state.lastRun as { items: { name: string }[] }).items).toEqual([
      {
        name: "20250101000400_sprockets",
        action: "apply",
        // The full sha256 the ledger and the manifest hold: the state is never cut for display.
        checksum: (news.migrations as Record<string, string>)["20250101000400_sprockets"],
        durationMs: expect.any(Number) as number,
      },
    ]);
    expect((state.migrations as Record<string, string>)["20250101000400_sprockets"]).toMatch(
      /^[0-9a-f]{64}$/,
    );
    const after = await ledger(db);
    for (const [name, appliedAt] of before) expect(after.get(name), name).toBe(appliedAt);
    inputs = news;
    expect(await host.diff(URN, id, state, inputs)).toEqual({ changes: "none", replaces: [] });
  });

  it("fails check on a changed applied migration, naming the file, and diff refuses it offline", async () => {
    const file = path.join(dir, "20250101000100_widgets.sql");
    const original = readFileSync(file, "utf8");
    writeFileSync(file, `${original}\n-- edited after it was applied\n`);
    try {
      const news = withManifest(inputs, dir);
      const checked = await host.check(URN, inputs, news);
      expect(checked.failures).toHaveLength(1);
      expect(checked.failures[0]?.property).toBe("");
      // check reads the ledger: the edit is after the Up section, which the row's up_checksum says is the
      // applied one. The offline diff has no Up-section checksums, and says the file changed.
      expect(checked.failures[0]?.reason).toContain(
        "20250101000100_widgets.sql does not match the checksum its ledger row records",
      );

      await expect(host.diff(URN, id, state, news)).rejects.toThrow(
        /20250101000100_widgets\.sql was changed after it was applied/,
      );
    } finally {
      writeFileSync(file, original);
    }
  });

  it("reports drift on read after a manual change", async () => {
    await withClient(db.superuserUrl, (client) => client.query('ALTER TABLE "Widget" ADD COLUMN note text'));
    const read = await host.read(URN, id, state);
    expect(read.id).toBe(id);
    expect(read.properties.drift).toEqual(['added by hand: column public."Widget".note']);
    expect(read.properties.appliedMigrations).toBe(4);
    state = read.properties;
  });

  it("records what the database holds when a migration fails", async () => {
    writeMigration(
      dir,
      "20250101000500_gizmos.sql",
      'CREATE TABLE "Gizmo" (id text PRIMARY KEY);',
      'DROP TABLE "Gizmo";',
    );
    writeMigration(dir, "20250101000600_broken.sql", 'ALTER TABLE "NoSuchTable" ADD COLUMN x int;');
    try {
      const news = withManifest(inputs, dir);
      // The column added by hand above would be recorded as the release's: the update is refused before its
      // first write, naming it, as apply refuses it (core/drift-before-release.ts). Put back, the update runs.
      const refused = await host.update(URN, id, state, news).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(HostCallError);
      expect((refused as HostCallError).message).toContain(
        'column public."Widget".note was added by hand since the last release',
      );
      expect(Object.keys(await tables(db))).not.toContain("Gizmo");
      await withClient(db.superuserUrl, (client) => client.query('ALTER TABLE "Widget" DROP COLUMN note'));
      const failure = await host.update(URN, id, state, news).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(HostCallError);
      const { message, initFailure } = failure as HostCallError;
      expect(message).toContain("Migration 20250101000600_broken.sql failed");
      expect(initFailure?.id).toBe(id);
      expect(initFailure?.properties).toMatchObject({
        appliedMigrations: 5,
        lastMigration: "20250101000500_gizmos",
        // Delete and later updates need the provider, which the host adds to successful results only.
        __provider: inputs.__provider,
      });
      expect(JSON.stringify(initFailure)).not.toContain(db.password);
      state = initFailure?.properties ?? {};
    } finally {
      rmSync(path.join(dir, "20250101000600_broken.sql"));
    }
    inputs = withManifest(inputs, dir);
    expect(await host.diff(URN, id, state, inputs)).toEqual({ changes: "none", replaces: [] });
  });

  it("replaces the resource only when the target database changes", async () => {
    const elsewhere = { ...inputs, database: `${db.name}_copy`, databaseUrl: `${db.migratorUrl}_copy` };
    expect(await host.diff(URN, id, state, elsewhere)).toEqual({ changes: "some", replaces: ["database"] });
    expect(await host.diff(URN, id, state, { ...inputs, lockTimeoutMs: 5_000 })).toEqual({
      changes: "some",
      replaces: [],
    });
  });

  it("keeps the tables and the ledger on delete", async () => {
    await host.delete(URN, id, state);
    expect(Object.keys(await tables(db))).toEqual(["Gadget", "Gizmo", "Sprocket", "Widget"]);
    expect((await ledger(db)).size).toBe(5);
    await host.waitFor("kept in the database (dropOnDelete is false)");
    expect(host.output()).not.toContain(db.password);
  });

  it("tells a refresh the resource is gone once its database is", async () => {
    await dropDatabase(db.name);
    expect((await host.read(URN, id, state)).id).toBe("");
  });
});
