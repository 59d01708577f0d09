// The calibration under the tenant filter while the app writes: rows another session commits between the
// exact answers and the searches measured against them are no misses. A search reads one snapshot, and so
// must the exact answers it is compared with; otherwise exact search itself measured recall@10 0.9 here (and
// an app writing to the largest tenant during a release gave 0.66, and the release gave up the prefilter).
import type { Client, ClientBase } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { calibrateTenantSearch, heldOutQueries, readIndexRecords } from "../../core";
import { applyAsMigrator, useReleasedDatabase } from "../security/released-database";
import { CHUNK } from "../vector-indexes/support";
import { addTenant, loadCorpus, type CorpusShape, type Tenant } from "./corpus";

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
  const small: Tenant[] = [];

  beforeAll(async () => {
    owner = await target.current.roles.connect("migrator");
    const corpus = await loadCorpus(owner, SHAPE);
    // Five tenants of the fewest rows: the small and medium classes, searched exactly.
    for (let i = 0; i < 5; i++)
      small.push(await addTenant(owner, corpus, { slug: `cw-small-${i}`, rows: SMALLEST, topics: [i] }));
    await applyAsMigrator(target.current);
  });
  afterAll(async () => {
    await owner?.end();
  });

  it("compares each search with the exact answer of the rows it could see", async () => {
    const record = (await readIndexRecords(owner)).find((r) => r.dimension === SHAPE.dimension)!;
    const definition = {
      name: record.name,
      table: CHUNK,
      dimension: record.dimension,
      method: record.method,
      params: record.params,
    };
    const lists = (record.params as { lists: number }).lists;
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
    let written = false;
    const writeOnce = async () => {
      written = true;
      for (const [t, tenant] of small.entries())
        for (const [i, vector] of writes[t]!.entries())
          await app.query(
            `UPDATE "Chunk" SET "embedding" = $3::vector
              WHERE "id" = (SELECT "id" FROM "Chunk" WHERE "organizationId" = $1 ORDER BY "id" OFFSET $2 LIMIT 1)`,
            [tenant.organizationId, i, vector],
          );
    };
    const calibrating = new Proxy(owner, {
      get(client, key, receiver) {
        if (key !== "query") return Reflect.get(client, key, receiver) as unknown;
        return async (...args: unknown[]) => {
          if (!written && String(args[0]).includes("app.current_organization_id")) await writeOnce();
          return (client.query as (...a: unknown[]) => unknown).apply(client, args);
        };
      },
    }) as ClientBase;
    try {
      const calibration = await calibrateTenantSearch(
        calibrating,
        definition,
        { setting: "ivfflat.probes", value: record.calibration!.value, max: lists },
        { targetRecall: 0.95, queries: QUERIES },
      );
      expect(written).toBe(true);
      const exact = calibration!.classes.filter((m) => m.path === "exact");
      // The small class at least is one of the tenants written to, searched exactly.
      expect(exact.map((m) => m.tenantRows)).toContain(SMALLEST);
      for (const m of exact) expect([m.class, m.kind, m.recall]).toEqual([m.class, m.kind, 1]);
    } finally {
      await app.end();
    }
  });
});
