// The text of `neonhub-db plan`: a vector index's line says its decision once, with the reason beside it.
import { describe, expect, it } from "vitest";
import { planVerdict, type ReleasePlan, type VectorIndexPlanItem } from "../../core";
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

describe("renderPlan's closing line, and the verdict plan's exit code reads", () => {
  const countIndexSkip: VectorIndexPlanItem = {
    name: "idx_chunk_embedded_rows",
    action: "unchanged",
    decision: "skip",
    skip: "not-owner",
    reason: '"Chunk" is owned by app, not by owner, which runs this release and so cannot build the index',
  };
  const last = (p: ReleasePlan) => renderPlan(p).split("\n").at(-1);

  it("an item only the operator can do is not nothing to do, alone or beside pending changes", () => {
    const operator = { ...plan([countIndexSkip]), operatorItems: [countIndexSkip.name] };
    expect(planVerdict(operator)).toBe("operator");
    expect(last(operator)).toBe(
      "Operator action needed: `neonhub-db apply` has nothing it can do, but the item skipped above (idx_chunk_embedded_rows) waits for the operator (its reason says what to run, and as whom); then `neonhub-db apply` does it.",
    );
    const build: VectorIndexPlanItem = {
      name: "idx_chunk_embedding_cosine",
      action: "create",
      decision: "create",
      reason: "200 rows",
    };
    const both = {
      ...plan([build, countIndexSkip]),
      operatorItems: [countIndexSkip.name, "database default ivfflat.probes"],
    };
    expect(planVerdict(both)).toBe("pending");
    expect(last(both)).toBe(
      "Changes pending: `neonhub-db apply` applies them; the 2 items skipped above (idx_chunk_embedded_rows, database default ivfflat.probes) wait for the operator (each one's reason says what to run, and as whom).",
    );
  });

  it("a skip that settles itself leaves nothing to do", () => {
    const noRows: VectorIndexPlanItem = { ...countIndexSkip, skip: "no-rows", reason: "no rows yet" };
    const nothing = plan([noRows]);
    expect(planVerdict(nothing)).toBe("nothing");
    expect(last(nothing)).toBe("Nothing to do: the database is up to date.");
  });
});
