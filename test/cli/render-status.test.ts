// The text of `neonhub-db status`: each record's facts on its line, and a value with spaces on a line of its
// own, where it reads whole (the status query is meant to be copied).
import { describe, expect, it } from "vitest";
import type { ReleaseStatus, VectorIndexStatus } from "../../core";
import { renderStatus } from "../../cli/render";

const index: VectorIndexStatus = {
  name: "idx_chunk_embedding_cosine",
  state: "valid",
  table: "Chunk",
  dimension: 3072,
  method: "ivfflat",
  lists: 1,
  operatorClass: "halfvec_cosine_ops",
  rowsAtBuild: 6,
  builtAt: "2026-12-04T23:30:13.083Z",
  buildMs: 73,
  maintenanceWorkMemMb: 65,
  parallelWorkers: 0,
  searchSetting: "ivfflat.probes = 1",
  recall: 1,
  recallLowerBound: 1,
  targetRecall: 0.95,
  targetReached: true,
  latencyP50Ms: 0.797,
  latencyP95Ms: 0.851,
  calibrationQueries: 3,
  calibratedOn: "held-out queries",
  query:
    'SELECT "id" FROM "Chunk" WHERE vector_dims("embedding") = 3072 ORDER BY ("embedding"::halfvec(3072)) <=> $1::halfvec(3072) LIMIT 10',
  predicate: 'vector_dims("embedding") = 3072',
};

const status = (vectorIndexes: VectorIndexStatus[]): ReleaseStatus => ({
  database: "neonhub",
  ledger: [],
  pendingMigrations: [],
  problems: [],
  rowLevelSecurity: [],
  seedSets: [],
  vectorIndexes,
  releaseSettings: {},
});

describe("neonhub-db status as text", () => {
  it("gives a value with spaces a line of its own, whole, and keeps the others on the record's line", () => {
    const lines = renderStatus(status([index])).split("\n");
    const at = lines.findIndex((l) => l.startsWith("    idx_chunk_embedding_cosine  "));
    expect(lines[at]).toBe(
      "    idx_chunk_embedding_cosine  state=valid table=Chunk dimension=3072 method=ivfflat lists=1 " +
        "operatorClass=halfvec_cosine_ops rowsAtBuild=6 builtAt=2026-12-04T23:30:13.083Z buildMs=73 " +
        "maintenanceWorkMemMb=65 parallelWorkers=0 recall=1 recallLowerBound=1 targetRecall=0.95 " +
        "targetReached=true latencyP50Ms=0.797 latencyP95Ms=0.851 calibrationQueries=3",
    );
    expect(lines.slice(at + 1)).toEqual([
      "      searchSetting: ivfflat.probes = 1",
      "      calibratedOn: held-out queries",
      `      query: ${index.query}`,
      `      predicate: ${index.predicate}`,
    ]);
  });
});
