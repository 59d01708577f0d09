// The seed sets and vector indexes resources through the dynamic-provider host, after the real migrations,
// with the demo seed set. The host runs in a copy of the project root so that a test can change a seed file.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifestMap } from "../../infra/dynamic/part-args";
import type { ReleasePart } from "../../infra/dynamic/types";
import { withClient } from "../support/database";
import { manifestInCopy, projectCopy } from "./support/project-copy";
import type { ProviderHost, Props } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { hostReaching, releaseInputsFor } from "./support/release-host";
import { urnOf } from "./support/release-inputs";

const URN = {
  migrations: urnOf("migrations", "seeded-migrations"),
  seedSets: urnOf("seedSets", "seeded-seeds"),
  vectorIndexes: urnOf("vectorIndexes", "seeded-vector-indexes"),
};

interface SeedRun {
  items: { name: string; action: string; details: { inserted: number; updated: number; deleted: number } }[];
}

async function brand(db: ReleaseDatabase): Promise<{ name: string; description: string }> {
  return withClient(db.superuserUrl, async (client) => {
    const result = await client.query<{ name: string; description: string }>(
      `SELECT name, description FROM "Brand" WHERE id = 'demo-brand'`,
    );
    return result.rows[0] ?? { name: "", description: "" };
  });
}

/** The vector indexes the release built (by name). */
async function vectorIndexes(db: ReleaseDatabase): Promise<string[]> {
  return withClient(db.superuserUrl, async (client) => {
    const result = await client.query<{ indexname: string }>(
      "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'idx_%_embedding_cosine' ORDER BY 1",
    );
    return result.rows.map((row) => row.indexname);
  });
}

/** Tables with a policy whose row-level security is enabled. */
async function enforcedTables(db: ReleaseDatabase): Promise<number> {
  return withClient(db.superuserUrl, async (client) => {
    const result = await client.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM pg_class c
        WHERE c.relrowsecurity AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)`,
    );
    return result.rows[0]?.count ?? 0;
  });
}

function seedManifest(root: string): Record<string, string> {
  return manifestMap(manifestInCopy(root, { seedSets: ["demo"] }).seedSets);
}

describe("seed sets and vector indexes through the dynamic-provider host", () => {
  let root: string;
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let inputs: Record<ReleasePart, Props>;
  const ids: Partial<Record<ReleasePart, string>> = {};
  const state: Partial<Record<ReleasePart, Props>> = {};

  beforeAll(async () => {
    root = projectCopy();
    db = await createReleaseDatabase({ extensions: true });
    inputs = await releaseInputsFor("seeded", db, {
      seedSets: ["demo"],
      // The copy's own files, so the manifest is the one the host sees even while the repository changes.
      migrationsDir: path.join(root, "migrations"),
    });
    const manifest = manifestInCopy(root, { seedSets: ["demo"] });
    inputs.seedSets = { ...inputs.seedSets, seedSets: manifestMap(manifest.seedSets) };
    inputs.vectorIndexes = { ...inputs.vectorIndexes, vectorIndexes: manifestMap(manifest.vectorIndexes) };
    host = await hostReaching(db, root);
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("refuses to seed a database whose migrations are not applied yet", async () => {
    const count = Object.keys(inputs.migrations.migrations as Props).length;
    await expect(host.create(URN.seedSets, inputs.seedSets)).rejects.toThrow(
      new RegExp(`${count} migration\\(s\\) are not applied yet .*the seed sets run after them`),
    );
  });

  it("applies the migrations, then inserts the demo seed set", async () => {
    const migrations = await host.create(URN.migrations, inputs.migrations);
    ids.migrations = migrations.id;
    state.migrations = migrations.properties;
    expect(await enforcedTables(db)).toBeGreaterThan(5);
    expect(migrations.properties.appliedMigrations).toBe(
      Object.keys(inputs.migrations.migrations as Props).length,
    );

    expect((await host.check(URN.seedSets, {}, inputs.seedSets)).failures).toEqual([]);
    const seeds = await host.create(URN.seedSets, inputs.seedSets);
    ids.seedSets = seeds.id;
    state.seedSets = seeds.properties;
    const demo = (inputs.seedSets.seedSets as Record<string, string>).demo ?? "";
    expect(state.seedSets.seedSets).toEqual({ demo });
    const run = state.seedSets.lastRun as SeedRun;
    expect(run.items).toHaveLength(1);
    expect(run.items[0]).toMatchObject({
      name: "demo",
      action: "create",
      details: { updated: 0, deleted: 0 },
    });
    expect(run.items[0]?.details.inserted).toBeGreaterThan(10);
    expect(await brand(db)).toMatchObject({ name: "NeonHub Demo" });
    expect(await host.diff(URN.seedSets, seeds.id, state.seedSets, inputs.seedSets)).toEqual({
      changes: "none",
      replaces: [],
    });
  });

  it("shows a changed seed file in diff, and update rewrites only the rows that changed", async () => {
    const file = path.join(root, "seeds", "demo", "20-brand.json");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace('"name": "NeonHub Demo"', '"name": "NeonHub Demo Renamed"'),
    );
    const news = { ...inputs.seedSets, seedSets: seedManifest(root) };
    const id = ids.seedSets ?? "";

    expect(await host.diff(URN.seedSets, id, state.seedSets ?? {}, news)).toEqual({
      changes: "some",
      replaces: [],
    });
    await host.waitFor(/seed sets on \S+: seed set demo: update \(definition changed/);

    const updated = await host.update(URN.seedSets, id, state.seedSets ?? {}, news);
    const run = updated.properties.lastRun as SeedRun;
    expect(run.items[0]).toMatchObject({
      name: "demo",
      action: "update",
      details: { inserted: 0, updated: 1, deleted: 0 },
    });
    expect(await brand(db)).toMatchObject({ name: "NeonHub Demo Renamed" });
    state.seedSets = updated.properties;
    inputs.seedSets = news;
  });

  it("finds rows changed by hand on read, and update restores just those", async () => {
    const id = ids.seedSets ?? "";
    const expected = await brand(db);
    await withClient(db.superuserUrl, (client) =>
      client.query(`UPDATE "Brand" SET description = 'changed by hand' WHERE id = 'demo-brand'`),
    );
    const read = await host.read(URN.seedSets, id, state.seedSets ?? {});
    expect(read.properties.pending).toEqual([
      expect.objectContaining({
        name: "demo",
        action: "update",
        reason: expect.stringContaining("1 to update"),
      }),
    ]);
    expect(await host.diff(URN.seedSets, id, read.properties, inputs.seedSets)).toEqual({
      changes: "some",
      replaces: [],
    });
    const updated = await host.update(URN.seedSets, id, read.properties, inputs.seedSets);
    expect((updated.properties.lastRun as SeedRun).items[0]?.details).toMatchObject({
      inserted: 0,
      updated: 1,
      deleted: 0,
    });
    expect(updated.properties.pending).toEqual([]);
    expect(await brand(db)).toEqual(expected);
    state.seedSets = updated.properties;
  });

  it("shows a row-level security mode in the migrations resource's diff, and update applies it", async () => {
    const before = await host.read(URN.migrations, ids.migrations ?? "", state.migrations ?? {});
    const off = {
      ...inputs.migrations,
      steps: { ...(inputs.migrations.steps as Props), rowLevelSecurity: "off" },
      rowLevelSecurity: manifestMap(
        manifestInCopy(root, { seedSets: [], rowLevelSecurity: "off" }).rowLevelSecurity,
      ),
    };
    const id = ids.migrations ?? "";
    expect(await host.diff(URN.migrations, id, before.properties, off)).toEqual({
      changes: "some",
      replaces: [],
    });
    await host.waitFor(/schema migrations on \S+: row-level security: create/);

    const updated = await host.update(URN.migrations, id, before.properties, off);
    expect(updated.properties.status).toEqual([expect.objectContaining({ mode: "off", enforced: 0 })]);
    expect(await enforcedTables(db)).toBe(0);
    expect(await host.diff(URN.migrations, id, updated.properties, off)).toEqual({
      changes: "none",
      replaces: [],
    });
  });

  it("builds the vector indexes after the seeds, and records them", async () => {
    const declared = inputs.vectorIndexes.vectorIndexes as Record<string, string>;
    expect(Object.keys(declared).sort()).toEqual([
      "idx_chunk_embedding_cosine",
      "idx_message_embedding_cosine",
    ]);
    const created = await host.create(URN.vectorIndexes, inputs.vectorIndexes);
    ids.vectorIndexes = created.id;
    expect(created.properties.vectorIndexes).toEqual(declared);
    // First the tables' count indexes (core/vector-indexes/count-index.ts), then the vector indexes.
    expect((created.properties.lastRun as SeedRun).items.map((i) => [i.name, i.action])).toEqual([
      ["idx_chunk_embedded_rows", "create"],
      ["idx_message_embedded_rows", "create"],
      ["idx_chunk_embedding_cosine", "create"],
      ["idx_message_embedding_cosine", "create"],
    ]);
    expect(created.properties.status).toEqual([
      expect.objectContaining({ name: "idx_chunk_embedding_cosine", state: "valid", method: "ivfflat" }),
      expect.objectContaining({ name: "idx_message_embedding_cosine", state: "valid", method: "ivfflat" }),
    ]);
    expect(await vectorIndexes(db)).toEqual(["idx_chunk_embedding_cosine", "idx_message_embedding_cosine"]);
    expect(await host.diff(URN.vectorIndexes, created.id, created.properties, inputs.vectorIndexes)).toEqual({
      changes: "none",
      replaces: [],
    });
    state.vectorIndexes = created.properties;
  });

  it("shows a changed index definition in diff by name, and update rebuilds only that index", async () => {
    const options = { indexes: { idx_chunk_embedding_cosine: { method: "hnsw" as const } } };
    const news = {
      ...inputs.vectorIndexes,
      steps: { ...(inputs.vectorIndexes.steps as Props), vectorIndexes: options },
      vectorIndexes: manifestMap(
        manifestInCopy(root, { seedSets: [], vectorIndexes: options }).vectorIndexes,
      ),
    };
    const id = ids.vectorIndexes ?? "";
    expect(await host.diff(URN.vectorIndexes, id, state.vectorIndexes ?? {}, news)).toEqual({
      changes: "some",
      replaces: [],
    });
    await host.waitFor(/vector indexes on \S+: vector index idx_chunk_embedding_cosine: update \(definition/);
    expect(host.output()).not.toMatch(/vector index idx_message_embedding_cosine: update/);

    const updated = await host.update(URN.vectorIndexes, id, state.vectorIndexes ?? {}, news);
    const run = (updated.properties.lastRun as SeedRun).items.map((i) => [i.name, i.action]);
    expect(run).toContainEqual(["idx_message_embedding_cosine", "unchanged"]);
    expect(run.find(([name]) => name === "idx_chunk_embedding_cosine")?.[1]).not.toBe("unchanged");
    expect(updated.properties.status).toContainEqual(
      expect.objectContaining({ name: "idx_chunk_embedding_cosine", state: "valid", method: "hnsw" }),
    );
    const read = await host.read(URN.vectorIndexes, id, updated.properties);
    expect(read.properties).toMatchObject({ vectorIndexes: news.vectorIndexes, pending: [] });
    expect(await host.diff(URN.vectorIndexes, id, read.properties, news)).toEqual({
      changes: "none",
      replaces: [],
    });
    await host.delete(URN.vectorIndexes, id, read.properties);
    expect(await vectorIndexes(db)).toEqual(["idx_chunk_embedding_cosine", "idx_message_embedding_cosine"]);
  });

  it("keeps the seeded rows on delete", async () => {
    await host.delete(URN.seedSets, ids.seedSets ?? "", state.seedSets ?? {});
    expect(await brand(db)).toMatchObject({ name: "NeonHub Demo Renamed" });
    expect(host.output()).not.toContain(db.password);
  });
});
