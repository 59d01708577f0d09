// A vector index the data has outgrown, through the dynamic-provider host: `check` asks the core's plan what
// the vector-index step would do and carries it in the inputs, so that `diff` (what `pulumi preview` shows)
// reports the rebuild without a `pulumi refresh`, and `update` (what `pulumi up` runs) rebuilds the index.
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifestMap } from "../../infra/dynamic/part-args";
import type { ReleasePart } from "../../infra/dynamic/types";
import { withClient } from "../support/database";
import { clusteredVectors, copyChunks, createFixtures, type EmbeddingFixtures } from "../vector-indexes/data";
import { manifestInCopy, projectCopy } from "./support/project-copy";
import { startProviderHost, type ProviderHost, type Props } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { releaseInputs, urnOf } from "./support/release-inputs";

const URN = {
  migrations: urnOf("migrations", "growth-migrations"),
  vectorIndexes: urnOf("vectorIndexes", "growth-vector-indexes"),
};
const CHUNK_INDEX = "idx_chunk_embedding_cosine";
const DIMENSION = 16;

interface Run {
  items: { name: string; action: string; details?: { params?: { lists?: number } } }[];
}

describe("a vector index the data outgrew, through the dynamic-provider host", () => {
  let root: string;
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let inputs: Record<ReleasePart, Props>;
  let fixtures: EmbeddingFixtures;
  let id = "";
  let state: Props = {};
  const source = clusteredVectors({ dimension: DIMENSION, clusters: 20, spread: 0.5, seed: 20 });

  const load = (count: number, firstIdx: number) =>
    withClient(db.superuserUrl, async (client) => {
      await copyChunks(client, fixtures, { dimension: DIMENSION, count, source, firstIdx });
      await client.query(`ANALYZE "Chunk"`);
    });

  /** The lists the live index was built with (from its definition). */
  const liveLists = () =>
    withClient(db.superuserUrl, async (client) => {
      const { rows } = await client.query<{ def: string }>(
        `SELECT indexdef AS def FROM pg_indexes WHERE indexname = $1`,
        [CHUNK_INDEX],
      );
      return Number(/lists='?(\d+)/.exec(rows[0]?.def ?? "")?.[1]);
    });

  beforeAll(async () => {
    root = projectCopy();
    db = await createReleaseDatabase({ extensions: true });
    inputs = await releaseInputs("growth", {
      directUrl: db.migratorUrl,
      ownerRole: db.owner,
      database: db.name,
      seedSets: [],
      migrationsDir: path.join(root, "migrations"),
    });
    inputs.vectorIndexes = {
      ...inputs.vectorIndexes,
      vectorIndexes: manifestMap(manifestInCopy(root, { seedSets: [] }).vectorIndexes),
    };
    host = await startProviderHost({ cwd: root, env: { DIRECT_URL: db.migratorUrl } });
    await host.configure();
    await host.create(URN.migrations, inputs.migrations);
    fixtures = await withClient(db.superuserUrl, (client) => createFixtures(client, [DIMENSION]));
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("builds the index on the first rows, then finds nothing pending", async () => {
    await load(5, 0);
    const checked = await host.check(URN.vectorIndexes, {}, inputs.vectorIndexes);
    expect(checked.failures).toEqual([]);
    // The tables' count indexes (core/vector-indexes/count-index.ts) come first: this database's release
    // ran its migrations only.
    expect(checked.inputs.pendingIndexWork).toEqual([
      expect.stringMatching(/^idx_chunk_embedded_rows: create \(new index/),
      expect.stringMatching(/^idx_message_embedded_rows: create \(new index/),
      expect.stringMatching(`^${CHUNK_INDEX}: create \\(new index`),
    ]);
    const created = await host.create(URN.vectorIndexes, checked.inputs);
    id = created.id;
    state = created.properties;
    expect((state.lastRun as Run).items.map((i) => [i.name, i.action])).toContainEqual([
      CHUNK_INDEX,
      "create",
    ]);
    expect(await liveLists()).toBe(1);

    const again = await host.check(URN.vectorIndexes, checked.inputs, inputs.vectorIndexes);
    expect(again.inputs.pendingIndexWork).toEqual([]);
    expect(await host.diff(URN.vectorIndexes, id, state, again.inputs)).toEqual({
      changes: "none",
      replaces: [],
    });
  });

  it("shows the rebuild in diff once the rows outgrew the index, without a refresh; update rebuilds it", async () => {
    await load(20_000, 5);
    const checked = await host.check(URN.vectorIndexes, inputs.vectorIndexes, inputs.vectorIndexes);
    expect(checked.failures).toEqual([]);
    expect(checked.inputs.pendingIndexWork).toEqual([
      expect.stringMatching(new RegExp(`^${CHUNK_INDEX}: rebuild \\(.*20,005 rows`)),
    ]);
    // The state is the one the last `up` recorded: nothing there says the table grew.
    expect(state.pending).toEqual([]);
    expect(await host.diff(URN.vectorIndexes, id, state, checked.inputs)).toEqual({
      changes: "some",
      replaces: [],
    });
    await host.waitFor(new RegExp(`vector indexes on \\S+: vector index ${CHUNK_INDEX}: rebuild \\(`));

    const updated = await host.update(URN.vectorIndexes, id, state, checked.inputs);
    expect((updated.properties.lastRun as Run).items.map((i) => [i.name, i.action])).toContainEqual([
      CHUNK_INDEX,
      "rebuild",
    ]);
    expect(await liveLists()).toBeGreaterThan(1);
    state = updated.properties;

    // The next preview: nothing left to do.
    const after = await host.check(URN.vectorIndexes, checked.inputs, inputs.vectorIndexes);
    expect(after.inputs.pendingIndexWork).toEqual([]);
    expect(await host.diff(URN.vectorIndexes, id, state, after.inputs)).toEqual({
      changes: "none",
      replaces: [],
    });
  });

  it("changes nothing, with a warning, when the database cannot be asked during preview", async () => {
    await load(40_000, 20_005);
    const url = new URL(String(inputs.vectorIndexes.databaseUrl));
    url.password = "not-the-password";
    const news = { ...inputs.vectorIndexes, databaseUrl: url.toString() };
    const checked = await host.check(URN.vectorIndexes, inputs.vectorIndexes, news);
    expect(checked.failures).toEqual([]);
    expect(checked.inputs).not.toHaveProperty("pendingIndexWork");
    await host.waitFor(
      /vector indexes on \S+: warning: database not reachable: the vector indexes' data was not checked/,
    );
    expect(await host.diff(URN.vectorIndexes, id, state, checked.inputs)).toEqual({
      changes: "none",
      replaces: [],
    });
    expect(host.output()).not.toContain(db.password);
    expect(host.output()).not.toContain("not-the-password");
  });
});
