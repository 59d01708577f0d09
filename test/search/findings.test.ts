// A missed target of the search under the tenant filter, as `health` and `plan` say it.
import { describe, expect, it } from "vitest";
import { renderTenantSearch } from "../../cli/render-search";
import { vectorIndexFindings } from "../../core/health/vector";
import type { IndexHealth } from "../../core/health/report";
import {
  crossedThreshold,
  missedTargets,
  sharePercentOf,
  type ClassMeasurement,
  type ListedIndex,
  type PrefilterFacts,
  type SearchCalibrationRecord,
} from "../../core/search";

const measured = (over: Partial<ClassMeasurement>): ClassMeasurement => ({
  class: "large",
  tenantRows: 19_000,
  sharePercent: 19,
  kind: "table-wide",
  path: "index",
  queries: 25,
  recall: 0.97,
  recallLowerBound: 0.96,
  rowsMean: 10,
  rowsMin: 10,
  latencyP50Ms: 60,
  latencyP95Ms: 80,
  targetReached: true,
  ...over,
});

const record = (classes: ClassMeasurement[]): SearchCalibrationRecord => ({
  indexName: "idx_chunk_embedding_cosine",
  exactRows: 8000,
  setting: "ivfflat.probes",
  value: 40,
  targetRecall: 0.95,
  targetReached: classes.every((c) => c.targetReached),
  classes,
  calibratedAt: "2026-12-02T00:00:00.000Z",
});

const index: IndexHealth = {
  name: "idx_chunk_embedding_cosine",
  table: "Chunk",
  kind: "vector",
  exists: true,
  valid: true,
  sizeBytes: 8192,
  scans: 0,
  tuplesRead: 0,
  method: "ivfflat",
};
const unchanged = new Map([
  [index.name, { name: index.name, action: "unchanged" as const, reason: "built on 100,000 rows" }],
]);

describe("a missed target under the tenant filter", () => {
  it("is named with the class, the query kind and what was measured", () => {
    const missed = record([measured({ recall: 0.93, recallLowerBound: 0.91, targetReached: false })]);
    expect(missedTargets(missed)).toBe(
      "search under the tenant filter misses recall@10 0.95 for large tenants (19000 rows, table-wide queries: recall 0.93, at least 0.91, 10 rows at least)",
    );
    expect(missedTargets(record([measured({})]))).toBeUndefined();
  });

  it("is an action in health, and nothing when every class reached the target", () => {
    const missed = record([measured({ recall: 0.93, recallLowerBound: 0.91, targetReached: false })]);
    expect(
      vectorIndexFindings(index, { records: [], decisions: unchanged, rows: new Map(), searches: [missed] }),
    ).toEqual([
      expect.objectContaining({ severity: "action", subject: index.name, problem: missedTargets(missed) }),
    ]);
    expect(
      vectorIndexFindings(index, {
        records: [],
        decisions: unchanged,
        rows: new Map(),
        searches: [record([measured({})])],
      }),
    ).toEqual([]);
  });
});

describe("status", () => {
  it("says per tenant class how the search went, and a missed target", () => {
    const lines = renderTenantSearch(
      {
        exactRows: 8000,
        searchSetting: "ivfflat.probes = 40",
        targetReached: false,
        missed: "large tenants missed",
        classes: [measured({ recall: 0.93, recallLowerBound: 0.91, targetReached: false })],
      },
      "  ",
    );
    expect(lines).toEqual([
      "  tenant search: exact up to 8,000 visible rows, ivfflat.probes = 40 through the index above; TARGET MISSED: large tenants missed",
      "    large tenant (19,000 rows, 19%), table-wide queries: index, recall@10 0.93 (at least 0.91), rows 10 (least 10), p50 60 ms, p95 80 ms  (missed)",
    ]);
  });
});

describe("status for the largest tenants' own indexes", () => {
  it("names each tenant index with its setting, the calibration's cost, and the class's path", () => {
    const lines = renderTenantSearch(
      {
        exactRows: 14_923,
        searchSetting: "ivfflat.probes = 36",
        targetReached: true,
        classes: [measured({ path: "tenant-index", tenantRows: 19_331 })],
        tenantIndexes: [
          {
            organizationId: "org_big",
            rows: 19_331,
            indexName: "idx_chunk_tenant_1536_9cd53840bdd2",
            efSearch: 288,
            exactRows: 2676,
          },
        ],
        calibrationCost: { statements: 1012, ms: 104_573 },
      },
      "  ",
    );
    expect(lines).toContain("    last calibration: 1,012 statements in 104.6 s");
    expect(lines).toContain(
      "    tenant org_big (19,331 rows): its own index idx_chunk_tenant_1536_9cd53840bdd2, hnsw.ef_search = 288 above 2,676 visible rows",
    );
    expect(
      lines.some((l) => l.includes("large tenant (19,331 rows, 19%), table-wide queries: tenant-index,")),
    ).toBe(true);
  });
});

describe("status for the prefilter", () => {
  const facts = (prefilter: unknown) => ({
    exactRows: 19_415,
    searchSetting: "ivfflat.probes = 24",
    targetReached: true,
    classes: [measured({ path: "prefilter", tenantRows: 1927 })],
    // Written loosely here (a state as a plain string): the record's shape is core's, read back from JSON.
    prefilter: prefilter as PrefilterFacts | undefined,
  });

  it("gives its depth, from how many rows it is used, and the largest tenant's recall and p50", () => {
    const lines = renderTenantSearch(
      facts({ state: "on", indexName: "idx_chunk_sign_bits", depth: 40, recall: 0.968, latencyP50Ms: 6.5 }),
      "  ",
    );
    expect(lines).toContain(
      "    prefilter: above 160 visible rows, the 40 nearest by sign bits (idx_chunk_sign_bits) ranked exactly; largest tenant recall@10 0.968, p50 6.5 ms",
    );
    expect(lines.at(-1)).toContain("table-wide queries: prefilter, recall@10");
  });

  it("names each large tenant's graph over its sign bits, with its setting and both p50s", () => {
    const graph = {
      organizationId: "org-big",
      rows: 19331,
      indexName: "idx_chunk_tenant_bits_1536_0123456789ab",
      depth: 80,
      efSearch: 315,
      recall: 0.976,
      latencyP50Ms: 2.6,
      prefilterP50Ms: 6.8,
      buildMs: 1800,
    };
    const lines = renderTenantSearch(
      facts({
        state: "on",
        indexName: "idx_chunk_sign_bits",
        depth: 40,
        recall: 0.968,
        latencyP50Ms: 6.5,
        graphs: [graph],
      }),
      "  ",
    );
    expect(lines).toContain(
      "    tenant org-big (19,331 rows): graph over its sign bits idx_chunk_tenant_bits_1536_0123456789ab (built in 1.8 s), " +
        "the 80 nearest at hnsw.ef_search = 315 ranked exactly; recall@10 0.976, p50 2.6 ms (through the prefilter's b-tree 6.8 ms)",
    );
  });

  it("gives the smaller depth of small tenants, up to which size and what it was calibrated on, or why there is none", () => {
    const on = { state: "on", indexName: "idx_chunk_sign_bits", depth: 40, recall: 0.968, latencyP50Ms: 6.5 };
    const small = {
      state: "on",
      organizationId: "org-small",
      rows: 192,
      depth: 20,
      recall: 0.99,
      latencyP50Ms: 0.54,
    };
    expect(renderTenantSearch(facts({ ...on, small }), "  ")).toContain(
      "    prefilter for tenants of at most 192 visible rows: depth 20, above 80 rows (calibrated on tenant org-small: recall@10 0.99, p50 0.54 ms)",
    );
    const none = {
      state: "off",
      reason: "the smallest tenant class (1,927 rows) needs the depth of the largest, 40",
    };
    expect(renderTenantSearch(facts({ ...on, small: none }), "  ")).toContain(
      "    prefilter: one depth for every tenant (the smallest tenant class (1,927 rows) needs the depth of the largest, 40)",
    );
  });

  it("says which listed index the planner cannot use, and what apply does about it", () => {
    const unusableIndexes =
      "the own index of tenant org-1 that the search lists, idx_chunk_tenant_1536_0123456789ab, is missing (dropped outside the release)";
    expect(renderTenantSearch({ ...facts(undefined), unusableIndexes }, "  ")).toContain(
      `    NOT USABLE: ${unusableIndexes}; \`neonhub-db apply\` builds it again or takes it off the list`,
    );
    expect(renderTenantSearch(facts(undefined), "  ").join("\n")).not.toContain("NOT USABLE");
    // status prints the apply to run on the database it read, with the options it was given.
    const print = (args: readonly string[]) =>
      `\`neonhub-db ${args.join(" ")} --database-url "$DIRECT_URL"\``;
    expect(renderTenantSearch({ ...facts(undefined), unusableIndexes }, "  ", print)).toContain(
      `    NOT USABLE: ${unusableIndexes}; \`neonhub-db apply --database-url "$DIRECT_URL"\` builds it again or takes it off the list`,
    );
  });

  it("says which listed index's tenant has outgrown its calibration, and what apply does about it", () => {
    const outgrownIndexes =
      "the graph over its sign bits of tenant org-0, idx_chunk_tenant_bits_1536_0123456789ab, was calibrated on 19,331 rows, and the tenant has 40,000 now";
    expect(renderTenantSearch({ ...facts(undefined), outgrownIndexes }, "  ")).toContain(
      `    OUTGROWN: ${outgrownIndexes}; \`neonhub-db apply\` recalibrates the tenant search`,
    );
    expect(renderTenantSearch(facts(undefined), "  ").join("\n")).not.toContain("OUTGROWN");
  });

  it("says which listed index was built again since its calibration, and what apply does about it", () => {
    const rebuiltIndexes =
      "the own index of tenant org-0, idx_chunk_tenant_1536_0123456789ab, was built again since it was calibrated (a table rewrite, a REINDEX or a pg_restore)";
    expect(renderTenantSearch({ ...facts(undefined), rebuiltIndexes }, "  ")).toContain(
      `    BUILT AGAIN: ${rebuiltIndexes}; \`neonhub-db apply\` recalibrates the tenant search`,
    );
    expect(renderTenantSearch(facts(undefined), "  ").join("\n")).not.toContain("BUILT AGAIN");
  });

  it("says why it is off", () => {
    const reason =
      'the trigger chunk_embedding_bits that keeps the sign bits is disabled: ALTER TABLE "Chunk" ENABLE TRIGGER chunk_embedding_bits';
    expect(renderTenantSearch(facts({ state: "off", reason }), "  ")).toContain(
      `    prefilter: off (${reason})`,
    );
  });
});

describe("a tenant grown past the exact threshold since the calibration", () => {
  const chunk = { table: "Chunk", dimension: 1536 };
  const calibrated = {
    ...record([measured({ path: "prefilter", tenantRows: 5000 })]),
    indexPathTenants: ["org-big"],
  };
  const tenants = [
    { organizationId: "org-big", rows: 30_000 },
    { organizationId: "org-own", rows: 20_000 },
    { organizationId: "org-grown", rows: 9_000 },
    { organizationId: "org-below", rows: 7_999 },
  ];
  const ownIndex: ListedIndex = {
    ...chunk,
    organizationId: "org-own",
    indexName: "idx_chunk_tenant_1536_0123456789ab",
    kind: "own index",
    state: "valid",
    rowsNow: 20_000,
  };

  it("is named when it searches the dimension's index now and did not then", () => {
    expect(crossedThreshold(calibrated, tenants, [ownIndex], chunk)).toBe(
      "tenant org-grown (9,000 rows) has grown past the exact threshold (8,000 visible rows) since the search " +
        "was calibrated, into the dimension's index, which was not measured for it",
    );
  });

  it("is not one with an index of its own, one that searched the index then, or one below the threshold", () => {
    const grownIsListed = { ...calibrated, indexPathTenants: ["org-big", "org-grown"] };
    expect(crossedThreshold(grownIsListed, tenants, [ownIndex], chunk)).toBeUndefined();
    // Without its own index listed, org-own searches the dimension's index too: named, the smaller first.
    expect(crossedThreshold(calibrated, tenants, [], chunk)).toContain(
      "tenants org-grown (9,000 rows), org-own (20,000 rows) have grown past",
    );
    // A record made before the list that measured tenant classes says nothing.
    expect(crossedThreshold(record([measured({})]), tenants, [], chunk)).toBeUndefined();
  });

  it("is named after a calibration that measured no tenant filter, unless it holds nearly all the rows", () => {
    // One tenant with nearly all the rows then, past the threshold: listed, and the second one grown since named.
    const alone = { ...record([]), exactRows: 10_000, indexPathTenants: ["org-big"] };
    const two = [
      { organizationId: "org-big", rows: 12_006 },
      { organizationId: "org-2", rows: 11_500 },
    ];
    expect(crossedThreshold(alone, two, [], chunk, 23_506)).toBe(
      "tenant org-2 (11,500 rows) has grown past the exact threshold (10,000 visible rows) since the search " +
        "was calibrated, into the dimension's index, which was not measured for it",
    );
    // The one that held them, below the threshold then (not listed), past it now.
    const small = { ...alone, indexPathTenants: [] };
    expect(crossedThreshold(small, two, [], chunk, 23_506)).toContain(
      "tenants org-2 (11,500 rows), org-big (12,006 rows) have grown past",
    );
    // Still with nearly all the rows, it is searched as the table is, which the unfiltered calibration covers.
    const stillAlone = [{ organizationId: "org-big", rows: 12_006 }];
    expect(crossedThreshold(small, stillAlone, [], chunk, 12_010)).toBeUndefined();
    expect(crossedThreshold(small, stillAlone, [], chunk, 14_000)).toContain("tenant org-big (12,006 rows)");
    // A record of the release before the list, with no classes: an empty list, without the claim of "since".
    const { indexPathTenants: _, ...before } = alone;
    expect(crossedThreshold(before, stillAlone, [], chunk, 12_010)).toBeUndefined();
    expect(crossedThreshold(before, two, [], chunk, 23_506)).toBe(
      "tenants org-2 (11,500 rows), org-big (12,006 rows) search the dimension's index, past the exact " +
        "threshold (10,000 visible rows), which was not measured for them: the search was calibrated with no " +
        "tenant filter to measure, by a release that did not record which tenants searched the index then",
    );
  });

  it("is named after a calibration that measured no tenant filter once the tenant listed then holds less than 90%", () => {
    // Listed while it held nearly all the rows, measured only as the table is; none crossed since.
    const alone = { ...record([]), exactRows: 10_000, indexPathTenants: ["org-big"] };
    const others = Array.from({ length: 11 }, (_, i) => ({ organizationId: `org-${i}`, rows: 1_080 }));
    const fallen = [{ organizationId: "org-big", rows: 12_000 }, ...others];
    expect(crossedThreshold(alone, fallen, [], chunk, 23_880)).toBe(
      "tenant org-big (12,000 rows) holds less than 90% of the dimension's 23,880 rows now, past the exact " +
        "threshold (10,000 visible rows), and its search under the tenant filter was not measured: the search " +
        "was calibrated while it held nearly all the rows, measured only as the table is",
    );
    // Still with nearly all the rows; with an index of its own listed; or its share not known: nothing to do.
    const stillMost = [
      { organizationId: "org-big", rows: 12_000 },
      { organizationId: "org-0", rows: 1_000 },
    ];
    expect(crossedThreshold(alone, stillMost, [], chunk, 13_000)).toBeUndefined();
    const itsOwn: ListedIndex = {
      ...chunk,
      organizationId: "org-big",
      indexName: "idx_chunk_tenant_1536_0123456789ab",
      kind: "own index",
      state: "valid",
      rowsNow: 12_000,
    };
    expect(crossedThreshold(alone, fallen, [itsOwn], chunk, 23_880)).toBeUndefined();
    expect(crossedThreshold(alone, fallen, [], chunk)).toBeUndefined();
  });

  it("is named after a calibration that measured tenant classes once the tenant a class measured at 90% or more holds less", () => {
    // A second tenant of 30 rows made a class; org-big's filter kept 99.75% of the rows: measured as the table is.
    const others = Array.from({ length: 11 }, (_, i) => ({ organizationId: `org-${i}`, rows: 1_080 }));
    const fallen = [
      { organizationId: "org-big", rows: 12_000 },
      { organizationId: "org-small", rows: 30 },
      ...others,
    ];
    const atShare = (sharePercent: number, organizationId?: string) => ({
      ...record([
        measured({
          class: "small",
          path: "exact",
          tenantRows: 30,
          sharePercent: 0.25,
          organizationId: "org-small",
        }),
        measured({
          class: "large",
          tenantRows: 12_000,
          sharePercent,
          ...(organizationId ? { organizationId } : {}),
        }),
      ]),
      exactRows: 10_000,
      indexPathTenants: ["org-big"],
    });
    expect(crossedThreshold(atShare(99.75, "org-big"), fallen, [], chunk, 23_910)).toBe(
      "tenant org-big (12,000 rows) holds less than 90% of the dimension's 23,910 rows now, past the exact " +
        "threshold (10,000 visible rows), and its search under the tenant filter was not measured: the search " +
        "was calibrated while it held nearly all the rows, measured only as the table is",
    );
    expect(crossedThreshold(atShare(90, "org-big"), fallen, [], chunk, 23_910)).toContain("tenant org-big");
    // Measured under a filter that kept less than 90% of the rows: drift the growth rule allows.
    expect(crossedThreshold(atShare(89.99, "org-big"), fallen, [], chunk, 23_910)).toBeUndefined();
    // Recorded rounded down, so that a share just under 90% is never read back as 90%.
    expect(sharePercentOf(89_996, 100_000)).toBe(89.99);
    expect(sharePercentOf(9, 10)).toBe(90);
    expect(sharePercentOf(12_000, 12_030)).toBe(99.75);
    // Still with nearly all the rows now.
    const stillMost = [
      { organizationId: "org-big", rows: 12_000 },
      { organizationId: "org-small", rows: 30 },
    ];
    expect(crossedThreshold(atShare(99.75, "org-big"), stillMost, [], chunk, 12_030)).toBeUndefined();
    // A record made before classes named their tenant: which tenant held the rows is not known.
    expect(crossedThreshold(atShare(99.75), fallen, [], chunk, 23_910)).toBeUndefined();
    // A class's tenant the record does not list as searching the index is not read as one.
    expect(
      crossedThreshold({ ...atShare(99.75, "org-big"), indexPathTenants: [] }, fallen, [], chunk, 23_910),
    ).toContain("has grown past");
  });

  it("is said by status, with what apply does", () => {
    const lines = renderTenantSearch(
      {
        exactRows: 8000,
        searchSetting: "ivfflat.probes = 24",
        targetReached: true,
        classes: [measured({ class: "next", path: "index", tenantRows: 7_999 })],
        crossedThreshold: crossedThreshold(calibrated, tenants, [ownIndex], chunk),
      },
      "  ",
    );
    expect(lines).toContain(
      "    GROWN PAST THE THRESHOLD: tenant org-grown (9,000 rows) has grown past the exact threshold (8,000 visible " +
        "rows) since the search was calibrated, into the dimension's index, which was not measured for it; " +
        "`neonhub-db apply` recalibrates the tenant search",
    );
    expect(lines.at(-1)).toMatch(
      /^ {4}next tenant to cross the threshold \(7,999 rows, 19%\), table-wide queries: index,/,
    );
    expect(lines.join("\n")).not.toContain("no tenant searches it");
  });

  it("says when no tenant searches the index, unless no tenant filter was measured at all", () => {
    const base = { exactRows: 8000, searchSetting: "ivfflat.probes = 24", targetReached: true };
    const belowOnly = renderTenantSearch({ ...base, classes: [measured({ path: "prefilter" })] }, "  ");
    expect(belowOnly).toContain(
      "    the index above: no tenant searches it, and none was measured through it",
    );
    const oneTenant = renderTenantSearch({ ...base, classes: [] }, "  ");
    expect(oneTenant.join("\n")).not.toContain("no tenant searches it");
  });
});

describe("health for the prefilter", () => {
  it("asks for the trigger when a disabled one turned the prefilter off, and says nothing otherwise", () => {
    const reason = "the trigger chunk_embedding_bits that keeps the sign bits is disabled: ALTER TABLE ...";
    const readingWith = (prefilter: SearchCalibrationRecord["prefilter"]) => ({
      records: [],
      decisions: new Map([[index.name, { name: index.name, action: "unchanged" as const, reason: "kept" }]]),
      rows: new Map(),
      searches: [{ ...record([measured({})]), prefilter }],
    });
    expect(
      vectorIndexFindings(index, readingWith({ state: "off", reason, cause: "trigger-disabled" })),
    ).toEqual([
      expect.objectContaining({
        severity: "action",
        problem: `tenant search runs without its prefilter: ${reason}`,
      }),
    ]);
    expect(
      vectorIndexFindings(
        index,
        readingWith({
          state: "off",
          reason: "no tenant filter to measure it on: no tenant has 20 rows to measure yet",
          cause: "no-tenant-filter",
        }),
      ),
    ).toEqual([]);
  });
});
