// The vector indexes a stack's seed sets make due, in `pulumi preview`: the seeds resource loads its sets before
// the vector-index resource's turn in the same up, so check (what preview runs) plans the vector-index step
// with the stack's seeds step and lists the indexes the up then builds on the seeded rows, on a database whose
// release ran its migrations only (before, preview listed the count indexes alone and the up built more).
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectCopy } from "./support/project-copy";
import { startProviderHost, type ProviderHost, type Props } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { releaseInputs, urnOf } from "./support/release-inputs";
import type { ReleasePart } from "../../infra/dynamic/types";

const URN = {
  migrations: urnOf("migrations", "seeded-migrations"),
  seedSets: urnOf("seedSets", "seeded-seeds"),
  vectorIndexes: urnOf("vectorIndexes", "seeded-vector-indexes"),
};

interface Run {
  items: { name: string; action: string }[];
}

describe("vector indexes a stack's seed sets make due, through the dynamic-provider host", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let inputs: Record<ReleasePart, Props>;

  beforeAll(async () => {
    const root = projectCopy();
    db = await createReleaseDatabase({ extensions: true });
    inputs = await releaseInputs("seeded", {
      directUrl: db.migratorUrl,
      ownerRole: db.owner,
      database: db.name,
      seedSets: ["demo"],
      migrationsDir: path.join(root, "migrations"),
    });
    host = await startProviderHost({ cwd: root, env: { DIRECT_URL: db.migratorUrl } });
    await host.configure();
    await host.create(URN.migrations, inputs.migrations);
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("preview lists the cosine indexes on the rows the seeds resource loads first; up builds exactly those", async () => {
    const checked = await host.check(URN.vectorIndexes, {}, inputs.vectorIndexes);
    expect(checked.failures).toEqual([]);
    const pending = checked.inputs.pendingIndexWork as string[];
    // "name: action (reason)": the name and the action.
    const named = pending.map((line) => line.slice(0, line.indexOf(" (")));
    expect(named.sort()).toEqual([
      "idx_chunk_embedded_rows: create",
      "idx_chunk_embedding_cosine: create",
      "idx_message_embedded_rows: create",
      "idx_message_embedding_cosine: create",
    ]);
    expect(pending.find((line) => line.startsWith("idx_chunk_embedding_cosine:"))).toMatch(
      /^idx_chunk_embedding_cosine: create \(new index: ivfflat .* on \d+ rows? of \d+ dimensions/,
    );

    await host.create(URN.seedSets, inputs.seedSets);
    const created = await host.create(URN.vectorIndexes, checked.inputs);
    const built = (created.properties.lastRun as Run).items
      .filter((i) => i.action === "create")
      .map((i) => `${i.name}: create`);
    expect(built.sort()).toEqual(named.sort());

    const again = await host.check(URN.vectorIndexes, checked.inputs, inputs.vectorIndexes);
    expect(again.inputs.pendingIndexWork).toEqual([]);
  });
});
