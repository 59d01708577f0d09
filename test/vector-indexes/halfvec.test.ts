// Embedding spaces above 2,000 dimensions (text-embedding-3-large's 3072) are indexed through a halfvec
// expression; the app's query, with the same expression and predicate, uses the index, also under the
// tenant tables' row-level security.
import { beforeAll, describe, expect, it } from "vitest";
import { readIndexRecords } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { clusteredVectors, copyMessages, createFixtures, type EmbeddingFixtures } from "./data";
import { MESSAGE, apply, explainNearest, heldOutRecall, indexFacts } from "./support";

const DIM = 3072;
const source = clusteredVectors({
  dimension: DIM,
  latentDimension: 32,
  clusters: 60,
  spread: 0.8,
  noise: 0.05,
  seed: 5,
});

describe("a 3072-dimension embedding space", () => {
  const db = useTestDatabase("vihalf");
  const url = () => db.current.url;
  let fixtures: EmbeddingFixtures;

  beforeAll(async () => {
    await apply(url());
    fixtures = await withClient(url(), async (c) => {
      const made = await createFixtures(c, [DIM]);
      await copyMessages(c, made, { dimension: DIM, count: 3_000, source });
      return made;
    });
  });

  it("gets an IVFFlat index on a halfvec(3072) expression with the halfvec cosine operator class", async () => {
    const { result } = await apply(url(), { calibrationQueries: 50 });
    expect(result.vectorIndexes.map((r) => [r.name, r.action])).toEqual([
      ["idx_chunk_embedding_cosine", "unchanged"],
      ["idx_message_embedding_cosine", "create"],
    ]);
    await withClient(url(), async (c) => {
      expect(await indexFacts(c, "idx_message_embedding_cosine")).toMatchObject({
        method: "ivfflat",
        operatorClass: "halfvec_cosine_ops",
        options: ["lists=30"],
        expression: "(embedding::halfvec(3072))",
        predicate: "(vector_dims(embedding) = 3072)",
        valid: true,
      });
      const [record] = await readIndexRecords(c);
      expect(record).toMatchObject({
        operatorClass: "halfvec_cosine_ops",
        calibration: { targetReached: true },
      });
    });
  });

  it("serves the app's halfvec query at the calibrated setting, with the target recall", async () => {
    const [record] = await withClient(url(), readIndexRecords);
    const setting = `ivfflat.probes = ${record!.calibration.value}`;
    const queries = Array.from({ length: 50 }, () => source.next());
    await withClient(url(), async (c) => {
      expect(await explainNearest(c, MESSAGE, DIM, setting, queries[0]!)).toContain(
        "Index Scan using idx_message_embedding_cosine",
      );
      expect(await heldOutRecall(c, MESSAGE, DIM, setting, queries)).toBeGreaterThanOrEqual(0.9);
    });
  });

  it("leaves the planner the vector index or the tenant's b-tree when row-level security filters the rows", async () => {
    const [record] = await withClient(url(), readIndexRecords);
    await withClient(url(), async (c) => {
      await c.query("CREATE ROLE vi_app NOLOGIN");
      await c.query('GRANT SELECT ON "Message", "Conversation" TO vi_app');
      const asApp = async () => {
        await c.query("SET LOCAL ROLE vi_app");
        await c.query("SELECT set_config('app.current_organization_id', $1, true)", [
          fixtures.organizationId,
        ]);
      };
      const setting = `ivfflat.probes = ${record!.calibration.value}`;
      const plan = await explainNearest(c, MESSAGE, DIM, setting, source.next(), asApp);
      // The policy compares "Message"."organizationId" directly (migration 20261202030000), so the planner may
      // read the tenant's rows through a b-tree that leads with it (exact search; the count index, keyed by
      // the tenant, is one) instead of post-filtering the vector index; search_messages() makes that choice by
      // measurement (docs/search.md).
      expect(plan).toMatch(
        /Index Scan using idx_message_embedding_cosine|Message_organizationId_|idx_message_embedded_rows/,
      );
      expect(plan).toMatch(
        /"organizationId" = (current_organization_id\(\)|NULLIF\(current_setting\('app\.current_organization_id')|Message_organizationId_/,
      );
    });
  });
});
