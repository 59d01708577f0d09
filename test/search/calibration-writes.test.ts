// The calibration under the tenant filter while the app writes: rows another session commits between the
// exact answers and the searches measured against them are no misses. A search reads one snapshot, and so
// must the exact answers it is compared with; otherwise exact search itself measured recall@10 0.82 here. And
// the search below the threshold is measured there however many rows the app adds to the tenant meanwhile.
import type { Client, ClientBase } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { calibrateTenantSearch, heldOutQueries, readIndexRecords } from "../../core";
import { applyAsMigrator, useReleasedDatabase } from "../security/released-database";
import { CHUNK } from "../vector-indexes/support";
import { vectorText } from "../vector-indexes/data";
import { addTenant, loadCorpus, type Corpus, type CorpusShape, type Tenant } from "./corpus";

const SHAPE: CorpusShape = {
  rows: 3000,
  dimension: 32,
  organizations: 3,
  topics: 40,
  topicsPerOrganization: 3,
  latentDimension: 12,
  spread: 1,
  noise: 0.1,
  seed: 41,
};
const QUERIES = 10;
/** The fewest rows a class is measured on: a tenant of that many is searched exactly whatever the calibration. */
const SMALLEST = 20;

describe("calibration under the tenant filter while the app writes", () => {
  const target = useReleasedDatabase("cal_writes");
  let owner: Client;
  let corpus: Corpus;
  const small: Tenant[] = [];

  beforeAll(async () => {
    owner = await target.current.roles.connect("migrator");
    corpus = await loadCorpus(owner, SHAPE);
    // Five tenants of the fewest rows: the small and medium classes, searched exactly.
    for (let i = 0; i < 5; i++)
      small.push(await addTenant(owner, corpus, { slug: `cw-small-${i}`, rows: SMALLEST, topics: [i] }));
    await applyAsMigrator(target.current);
  });
  afterAll(async () => {
    await owner?.end();
  });

  const indexOf = async () => {
    const record = (await readIndexRecords(owner)).find((r) => r.dimension === SHAPE.dimension)!;
    const definition = {
      name: record.name,
      table: CHUNK,
      dimension: record.dimension,
      method: record.method,
      params: record.params,
    };
    return { record, definition, lists: (record.params as { lists: number }).lists };
  };

  /** `client`, which runs `write` once, before the first statement that names the tenant of a search. */
  const writingOnce = (client: Client, write: () => Promise<void>) => {
    const state = { written: false };
    const proxy = new Proxy(client, {
      get(target, key, receiver) {
        if (key !== "query") return Reflect.get(target, key, receiver) as unknown;
        return async (...args: unknown[]) => {
          if (!state.written && String(args[0]).includes("app.current_organization_id")) {
            state.written = true;
            await write();
          }
          return (target.query as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as ClientBase;
    return { client: proxy, state };
  };

  it("compares each search with the exact answer of the rows it could see", async () => {
    const { record, definition, lists } = await indexOf();
    // The app's writes as the first search is measured: a small tenant's rows, one for each of its own
    // queries, moved onto that query (the nearest row from then on); its rows stay as many.
    const writes: string[][] = [];
    for (const tenant of small)
      writes.push(
        await heldOutQueries(owner, definition, Math.ceil(QUERIES / 2), {
          organizationId: tenant.organizationId,
          salt: "own",
        }),
      );
    const app = await target.current.roles.connect("migrator");
    const calibrating = writingOnce(owner, async () => {
      for (const [t, tenant] of small.entries())
        for (const [i, vector] of writes[t]!.entries())
          await app.query(
            `UPDATE "Chunk" SET "embedding" = $3::vector
              WHERE "id" = (SELECT "id" FROM "Chunk" WHERE "organizationId" = $1 ORDER BY "id" OFFSET $2 LIMIT 1)`,
            [tenant.organizationId, i, vector],
          );
    });
    try {
      const calibration = await calibrateTenantSearch(
        calibrating.client,
        definition,
        { setting: "ivfflat.probes", value: record.calibration!.value, max: lists },
        { targetRecall: 0.95, queries: QUERIES },
      );
      expect(calibrating.state.written).toBe(true);
      const exact = calibration!.classes.filter((m) => m.path === "exact");
      // The small class at least is one of the tenants written to, searched exactly.
      expect(exact.map((m) => m.tenantRows)).toContain(SMALLEST);
      for (const m of exact) expect([m.class, m.kind, m.recall]).toEqual([m.class, m.kind, 1]);
    } finally {
      await app.end();
    }
  });

  it("measures the largest tenant below the threshold however many rows the app adds meanwhile", async () => {
    const { definition, lists } = await indexOf();
    const largest = corpus.tenants[0]!;
    const app = await target.current.roles.connect("migrator");
    // Rows of the largest tenant, added as the first search is measured: past its rows when it started.
    const calibrating = writingOnce(owner, async () => {
      for (let i = 0; i < 100; i++)
        await app.query(
          `INSERT INTO "Chunk" ("id", "datasetId", "documentId", "embeddingSpaceId", "idx", "text", "embedding")
           VALUES ($1, $2, $3, $4, $5, 'added while calibrating', $6::vector)`,
          [
            `${largest.organizationId}-added-${i}`,
            largest.datasetId,
            largest.documentId,
            corpus.spaceId,
            100_000 + i,
            vectorText(corpus.draw(largest.topics[i % largest.topics.length]!)),
          ],
        );
    });
    try {
      // One probe: through the dimension's index, the largest tenant misses the target by far.
      const calibration = await calibrateTenantSearch(
        calibrating.client,
        definition,
        { setting: "ivfflat.probes", value: 1, max: lists },
        { targetRecall: 0.95, queries: QUERIES },
      );
      expect(calibrating.state.written).toBe(true);
      // Below the threshold it reaches the target at the largest depth at the latest (4 times it is more than
      // the tenant's rows: exact search).
      expect(calibration!.prefilter).toMatchObject({ state: "on" });
    } finally {
      await app.end();
    }
  });
});
