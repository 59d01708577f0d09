// The tenant calibration on tenants whose embeddings are stored many times over (the same boilerplate chunk
// in many documents): rows at the exact 10th distance are as good as the ones the exact top 10 names, so the
// exact path and the prefilter measure recall 1, and the search under the tenant filter reaches the target
// below every list, where counted by id the copies the index returned were misses until it read every list.
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readIndexRecords, readSearchCalibrations } from "../../core";
import { applyAsMigrator, useReleasedDatabase } from "../security/released-database";
import { addTenant, loadCorpus, type CorpusShape } from "./corpus";

const SHAPE: CorpusShape = {
  rows: 3000,
  dimension: 32,
  organizations: 3,
  topics: 40,
  topicsPerOrganization: 3,
  latentDimension: 12,
  spread: 1,
  noise: 0.1,
  seed: 43,
};
/** How many rows share each embedding. */
const COPIES = 20;
/**
 * A tenant of one embedding's copies: a class (20 rows), and below any threshold the calibration can choose
 * (never under 20 rows) and the prefilter's (more than 4 × 20), so always searched exactly. The corpus's
 * smallest tenant (545 rows) went through the index in about one run of three, the crossover being timed.
 */
const TINY_ROWS = COPIES;

describe("the tenant calibration on embeddings stored many times over", () => {
  const target = useReleasedDatabase("cal_ties");
  let owner: Client;

  beforeAll(async () => {
    owner = await target.current.roles.connect("migrator");
    const corpus = await loadCorpus(owner, SHAPE);
    await addTenant(owner, corpus, { slug: "tiny-org", rows: TINY_ROWS, topics: [0] });
    // Each tenant's rows in groups of COPIES, every row of a group given its first row's embedding.
    await owner.query(
      `UPDATE "Chunk" c SET "embedding" = g.first
         FROM (SELECT "id", first_value("embedding") OVER (PARTITION BY "organizationId", n / ${COPIES} ORDER BY n) AS first
                 FROM (SELECT "id", "embedding", "organizationId",
                              row_number() OVER (PARTITION BY "organizationId" ORDER BY "id") - 1 AS n
                         FROM "Chunk") r) g
        WHERE g."id" = c."id"`,
    );
    await applyAsMigrator(target.current);
  });
  afterAll(async () => {
    await owner?.end();
  });

  it("reaches the target below every list, and measures the exact path and the prefilter at recall 1", async () => {
    const distinct = await owner.query<{ n: string }>(
      `SELECT count(DISTINCT "embedding"::text) AS n FROM "Chunk"`,
    );
    expect(Number(distinct.rows[0]!.n)).toBeLessThanOrEqual(SHAPE.rows / COPIES + SHAPE.organizations + 1);
    const [record] = await readIndexRecords(owner);
    const lists = (record!.params as { lists: number }).lists;
    // Counted by id, the copies the index returned in place of the exact top 10's were misses: the search
    // under the tenant filter took every list (probes = lists) to reach the target.
    expect(record!.calibration).toMatchObject({ targetReached: true, recall: 1 });
    expect(record!.calibration.value).toBeLessThan(lists);
    const [calibration] = await readSearchCalibrations(owner);
    expect(calibration).toMatchObject({ setting: "ivfflat.probes", targetReached: true });
    expect(calibration!.value).toBeLessThan(lists);
    expect(calibration?.prefilter).toMatchObject({ state: "on", recall: 1 });
    const exact = calibration!.classes.filter((m) => m.path === "exact");
    expect(exact.map((m) => [m.tenantRows, m.kind])).toContainEqual([TINY_ROWS, "own"]);
    for (const m of exact) expect([m.class, m.kind, m.recall]).toEqual([m.class, m.kind, 1]);
  });
});
