// The text of `neonhub-db plan`: a vector index's line says its decision once, with the reason beside it.
import { describe, expect, it } from "vitest";
import type { ReleasePlan, VectorIndexPlanItem } from "../../core";
import { renderPlan } from "../../cli/render";

const plan = (vectorIndexes: VectorIndexPlanItem[]): ReleasePlan => ({
  database: "postgres://migrator@127.0.0.1:5432/neonhub",
  migrations: { applied: 3, pending: [], problems: [] },
  rowLevelSecurity: [],
  seedSets: [],
  vectorIndexes,
  safety: { environment: "development", runs: "up", checked: 0, findings: [], errors: 0 },
  drift: [],
  problems: [],
  pending: vectorIndexes.some((i) => i.action !== "unchanged"),
  operatorItems: [],
});

describe("renderPlan's vector index lines", () => {
  it("says recalibrate once when the reason starts with it", () => {
    const text = renderPlan(
      plan([
        {
          name: "idx_chunk_embedding_cosine",
          action: "update",
          decision: "recalibrate",
          reason: "recalibrate ivfflat.probes: 5,000 rows when calibrated, 12,000 now",
        },
        {
          name: "idx_message_embedding_cosine",
          action: "update",
          decision: "recalibrate",
          reason: "recalibrate: no calibration under the tenant filter yet",
        },
      ]),
    );
    expect(text).toContain(
      "~ idx_chunk_embedding_cosine: recalibrate ivfflat.probes: 5,000 rows when calibrated, 12,000 now\n",
    );
    expect(text).toContain(
      "~ idx_message_embedding_cosine: recalibrate: no calibration under the tenant filter yet\n",
    );
    expect(text).not.toMatch(/recalibrate \(recalibrate/);
  });

  it("keeps the decision word before a reason that does not start with it", () => {
    const text = renderPlan(
      plan([
        {
          name: "idx_chunk_embedding_cosine",
          action: "rebuild",
          decision: "rebuild",
          reason: "lists 100 built on 10,000 rows, 90,000 now",
        },
        {
          name: "idx_message_embedding_cosine",
          action: "unchanged",
          decision: "skip",
          reason: "no rows yet",
        },
      ]),
    );
    expect(text).toContain(
      "~ idx_chunk_embedding_cosine: rebuild (lists 100 built on 10,000 rows, 90,000 now)",
    );
    expect(text).toContain("· idx_message_embedding_cosine: skipped (no rows yet)");
  });
});
