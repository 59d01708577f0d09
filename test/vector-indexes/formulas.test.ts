// The step's arithmetic, without a database: lists, build memory (checked against the figures pgvector's own
// error message reports), drift, option validation, the SQL it writes, and the calibration search.
import { describe, expect, expectTypeOf, it } from "vitest";
import { ReleaseError } from "../../core";
import { searchSmallest, settingRange, summarizeRecall } from "../../core/vector-indexes/calibrate";
import { listsDrift, targetLists } from "../../core/vector-indexes/lists";
import {
  buildMemoryNeed,
  chooseMemory,
  ivfflatKmeansBytes,
  memoryProblem,
  parseMemoryMb,
} from "../../core/vector-indexes/memory";
import { resolveOptions } from "../../core/vector-indexes/options";
import {
  EMBEDDING_TABLES,
  createIndexSql,
  nearestQuery,
  type IndexDefinition,
} from "../../core/vector-indexes/spec";
import { VectorIndexStep } from "../../core/vector-indexes";
import {
  decideTable,
  planItemOf,
  type BuildDecision,
  type DecideInput,
  type IndexDecision,
  type SkipDecision,
} from "../../core/vector-indexes/decide";
import type { LiveIndex } from "../../core/vector-indexes/inventory";
import type { IndexRecord } from "../../core/vector-indexes/records";

const chunk = EMBEDDING_TABLES[0]!;
/** What pgvector's "memory required is N MB" says for a build: its arrays in MB, plus one. */
const reportedMb = (bytes: number) => Math.floor(bytes / (1024 * 1024)) + 1;

describe("lists", () => {
  it("follows rows / 100 up to 1,000 lists, the README's rule above (1,000 at 1M rows, sqrt(rows) beyond)", () => {
    expect(targetLists(0)).toBe(1);
    expect(targetLists(3)).toBe(1);
    expect(targetLists(250)).toBe(2);
    expect(targetLists(1_000)).toBe(10);
    expect(targetLists(5_000)).toBe(50);
    expect(targetLists(20_000)).toBe(200);
    expect(targetLists(100_000)).toBe(1000);
    expect(targetLists(400_000)).toBe(1000);
    expect(targetLists(1_000_000)).toBe(1000);
    expect(targetLists(4_000_000)).toBe(2000);
    expect(targetLists(10_000_000_000)).toBe(32768);
  });

  it("asks for a rebuild once the target is 2x away from the built lists, either way", () => {
    expect(listsDrift(200, 20_000, 39_000)).toBeUndefined();
    expect(listsDrift(200, 20_000, 11_000)).toBeUndefined();
    expect(listsDrift(200, 20_000, 40_000)).toBe(
      "table grew from 20,000 to 40,000 rows: lists 200 is below the target 400 by 2x or more",
    );
    expect(listsDrift(200, 20_000, 10_000)).toContain("shrank from 20,000 to 10,000 rows");
    // From 100,000 to 1M rows the target stays 1,000: recalibrated as the rows grow, not rebuilt.
    expect(listsDrift(1000, 100_000, 900_000)).toBeUndefined();
  });

  it("names the former rows / 1000 rule when an index it built is 2x from the measured rule", () => {
    // 100,000 rows: 100 lists by the former rule, 1,000 now; the rows did not change.
    expect(listsDrift(100, 100_000, 100_000)).toBe(
      "lists 100 came from the former rule, rows / 1000, on 100,000 rows; the rule is now rows / 100 " +
        "(up to 1,000 lists, sqrt(rows) above 1M rows), and lists 100 is below the target 1000 by 2x or more " +
        "for 100,000 rows",
    );
    // Where both rules agree, nothing to rebuild.
    expect(listsDrift(1000, 1_000_000, 1_000_000)).toBeUndefined();
    expect(listsDrift(20, 20_000, 20_000)).toContain("the former rule, rows / 1000,");
    expect(listsDrift(7000, 20_000, 20_000)).toContain("came from another rule");
  });
});

describe("build memory", () => {
  it("reproduces the sizes pgvector 0.8.0 reports for its k-means", () => {
    // Measured on PostgreSQL 15 + pgvector 0.8.0 with maintenance_work_mem 64MB.
    expect(reportedMb(ivfflatKmeansBytes({ rows: 10_000, lists: 100, dimension: 1536 }))).toBe(65);
    expect(reportedMb(ivfflatKmeansBytes({ rows: 20_000, lists: 150, dimension: 1536 }))).toBe(68);
    expect(reportedMb(ivfflatKmeansBytes({ rows: 20_000, lists: 300, dimension: 1536 }))).toBe(111);
    expect(reportedMb(ivfflatKmeansBytes({ rows: 20_000, lists: 300, dimension: 3072 }))).toBe(113);
    // ...and these built at 64MB.
    expect(ivfflatKmeansBytes({ rows: 20_000, lists: 20, dimension: 1536 })).toBeLessThan(64 * 1024 * 1024);
    expect(ivfflatKmeansBytes({ rows: 12_000, lists: 12, dimension: 3072 })).toBeLessThan(64 * 1024 * 1024);
  });

  it("needs no k-means memory when there are no more rows than lists", () => {
    expect(ivfflatKmeansBytes({ rows: 5, lists: 10, dimension: 1536 })).toBe(0);
  });

  it("raises the session's setting to the need and to 32 MB per parallel participant, within the bound", () => {
    const definition: IndexDefinition = {
      name: chunk.indexName,
      table: chunk,
      dimension: 1536,
      method: "ivfflat",
      params: { lists: 100 },
    };
    const need = buildMemoryNeed(definition, 100_000);
    expect(need).toMatchObject({ hard: true });
    expect(need.mb).toBeGreaterThan(64);
    expect(chooseMemory({ need, serverMb: 64, boundMb: 1024, workers: 0 })).toEqual({
      setMb: need.mb,
      workers: 0,
    });
    expect(chooseMemory({ need, serverMb: 64, boundMb: 1024, workers: 2 })).toEqual({
      setMb: 96,
      workers: 2,
    });
    // A bound too low for 32 MB per participant means fewer workers.
    expect(chooseMemory({ need, serverMb: 16, boundMb: need.mb, workers: 2 })).toEqual({
      setMb: need.mb,
      workers: 1,
    });
    // A server setting above the need is kept as it is.
    expect(chooseMemory({ need, serverMb: 2048, boundMb: 1024, workers: 2 })).toEqual({
      setMb: undefined,
      workers: 2,
    });
    expect(memoryProblem(need, 64, 1024)).toBeUndefined();
    expect(memoryProblem(need, 16, 48)).toMatch(
      /needs \d+ MB of maintenance_work_mem, above the bound of 48 MB/,
    );
  });

  it("lets an HNSW build go on below its need, with a warning", () => {
    const definition: IndexDefinition = {
      name: chunk.indexName,
      table: chunk,
      dimension: 1536,
      method: "hnsw",
      params: { m: 16, efConstruction: 64 },
    };
    const need = buildMemoryNeed(definition, 1_000_000);
    expect(need.hard).toBe(false);
    expect(memoryProblem(need, 64, 1024)).toBeUndefined();
    const choice = chooseMemory({ need, serverMb: 64, boundMb: 1024, workers: 2 });
    expect(choice.setMb).toBe(1024);
    expect(choice.shortfall).toContain("goes on disk");
  });

  it("reads memory settings the way PostgreSQL writes them", () => {
    expect(parseMemoryMb("1GB")).toBe(1024);
    expect(parseMemoryMb("512MB")).toBe(512);
    expect(parseMemoryMb("65536kB")).toBe(64);
    expect(parseMemoryMb(300)).toBe(300);
    expect(parseMemoryMb("lots")).toBeUndefined();
  });
});

describe("SQL", () => {
  it("indexes up to 2,000 dimensions as vector and above as halfvec, with the dimension's predicate", () => {
    const base = { name: chunk.indexName, table: chunk, method: "ivfflat" as const, params: { lists: 20 } };
    expect(createIndexSql({ ...base, dimension: 1536 }, { name: base.name, concurrently: false })).toBe(
      'CREATE INDEX "idx_chunk_embedding_cosine" ON "Chunk" USING ivfflat (("embedding"::vector(1536)) vector_cosine_ops) WITH (lists = 20) WHERE vector_dims("embedding") = 1536',
    );
    expect(
      createIndexSql(
        { ...base, dimension: 3072, method: "hnsw", params: { m: 16, efConstruction: 64 } },
        { name: "x", concurrently: true },
      ),
    ).toBe(
      'CREATE INDEX CONCURRENTLY "x" ON "Chunk" USING hnsw (("embedding"::halfvec(3072)) halfvec_cosine_ops) WITH (m = 16, ef_construction = 64) WHERE vector_dims("embedding") = 3072',
    );
    expect(nearestQuery(chunk, 3072)).toBe(
      'SELECT "id" FROM "Chunk" WHERE vector_dims("embedding") = 3072 ORDER BY ("embedding"::halfvec(3072)) <=> $1::halfvec(3072) LIMIT 10',
    );
  });
});

describe("options", () => {
  const rejects = (options: Parameters<typeof resolveOptions>[0], ...fragments: string[]) => {
    let caught: unknown;
    try {
      resolveOptions(options);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ReleaseError);
    expect((caught as ReleaseError).code).toBe("invalid-input");
    for (const f of fragments) expect((caught as ReleaseError).describe()).toContain(f);
  };

  it("refuses wrong settings, naming the property", () => {
    rejects({ targetRecall: 1.5 }, "vectorIndexes.targetRecall");
    rejects({ maxMaintenanceWorkMem: "lots" }, "vectorIndexes.maxMaintenanceWorkMem", "2GB");
    rejects({ indexes: { idx_nope: {} } }, "vectorIndexes.indexes.idx_nope", "idx_chunk_embedding_cosine");
    rejects(
      { indexes: { idx_chunk_embedding_cosine: { method: "hnsw", m: 32, efConstruction: 40 } } },
      "efConstruction",
    );
    rejects({ method: "flat" as never }, "vectorIndexes.method");
  });

  it("shows a changed method or target recall in the manifest, and nothing else", () => {
    const base = new VectorIndexStep().manifest();
    expect(base.map((e) => e.name)).toEqual(["idx_chunk_embedding_cosine", "idx_message_embedding_cosine"]);
    expect(new VectorIndexStep({ concurrently: true, parallelWorkers: 4 }).manifest()).toEqual(base);
    const hnsw = new VectorIndexStep({
      indexes: { idx_chunk_embedding_cosine: { method: "hnsw" } },
    }).manifest();
    expect(hnsw[0]!.checksum).not.toBe(base[0]!.checksum);
    expect(hnsw[1]).toEqual(base[1]);
    expect(new VectorIndexStep({ targetRecall: 0.9 }).manifest()[1]!.checksum).not.toBe(base[1]!.checksum);
  });
});

describe("calibration search", () => {
  const definition: IndexDefinition = {
    name: chunk.indexName,
    table: chunk,
    dimension: 32,
    method: "ivfflat",
    params: { lists: 100 },
  };
  const recallAt = (value: number) => Math.min(1, value / 40);

  it("finds the smallest setting that reaches the target, measuring few values", async () => {
    const tried: number[] = [];
    const found = await searchSmallest(settingRange(definition), 0.95, async (value) => {
      tried.push(value);
      return { value, recall: recallAt(value), recallLowerBound: recallAt(value), latenciesMs: [] };
    });
    expect(found).toMatchObject({ value: 38, targetReached: true });
    expect(tried.length).toBeLessThan(15);
  });

  it("asks the lower bound of the recall's 95% confidence interval to reach the target, not the mean", () => {
    const perQuery = [...Array<number>(40).fill(1), ...Array<number>(10).fill(0.8)];
    const { recall, recallLowerBound } = summarizeRecall(perQuery);
    expect(recall).toBeCloseTo(0.96, 5);
    expect(recallLowerBound).toBeLessThan(0.95);
    expect(recallLowerBound).toBeGreaterThan(0.93);
    expect(summarizeRecall(Array<number>(50).fill(1))).toEqual({ recall: 1, recallLowerBound: 1 });
  });

  it("never recommends an hnsw.ef_search below pgvector's default of 40", () => {
    expect(settingRange({ ...definition, method: "hnsw", params: { m: 16, efConstruction: 64 } })).toEqual({
      min: 40,
      max: 1000,
    });
  });

  it("returns the largest setting when the target is out of reach", async () => {
    const found = await searchSmallest({ min: 40, max: 1000 }, 0.99, async (value) => ({
      value,
      recall: 0.5,
      recallLowerBound: 0.5,
      latenciesMs: [],
    }));
    expect(found).toMatchObject({ value: 1000, targetReached: false });
  });

  it("stops at a setting that falls short once it is not worth having, and measures no larger one", async () => {
    const tried: number[] = [];
    // Recall reaches the target at 300; latency is the value in ms, worth having below 100.
    const evaluate = async (value: number) => {
      tried.push(value);
      const recall = value >= 300 ? 0.99 : 0.5;
      return { value, recall, recallLowerBound: recall, latenciesMs: [value] };
    };
    const abandon = (m: { latenciesMs: number[] }) => m.latenciesMs[0]! >= 100;
    expect(await searchSmallest({ min: 40, max: 1000 }, 0.95, evaluate, { abandon })).toMatchObject({
      value: 160,
      targetReached: false,
      abandoned: true,
    });
    expect(tried).toEqual([40, 80, 160]);
    // A value that reaches the target is returned whatever its cost: the caller weighs it.
    tried.length = 0;
    expect(
      await searchSmallest({ min: 40, max: 1000 }, 0.95, evaluate, {
        abandon: (m) => m.latenciesMs[0]! >= 500,
      }),
    ).toMatchObject({ value: 300, targetReached: true });
    expect(Math.max(...tried)).toBe(320);
  });
});

describe("index decisions (a union on kind)", () => {
  const settings = resolveOptions({}).tables[0]!.settings;
  const definition = 'CREATE INDEX idx_chunk_embedding_cosine ON public."Chunk" USING ivfflat (...)';
  const live: LiveIndex = { name: chunk.indexName, valid: true, definition, relfilenode: 16_400 };
  const record: IndexRecord = {
    name: chunk.indexName,
    table: chunk.table,
    dimension: 1536,
    method: "ivfflat",
    operatorClass: "halfvec_cosine_ops",
    params: { lists: 50 },
    definition,
    rowsAtBuild: 5_000,
    builtAt: "2026-01-01T00:00:00.000Z",
    buildMs: 100,
    buildSettings: { maintenanceWorkMemMb: 64, parallelWorkers: 0, concurrently: true },
    calibration: {
      setting: "ivfflat.probes",
      value: 4,
      targetRecall: 0.95,
      recall: 0.97,
      recallLowerBound: 0.96,
      targetReached: true,
      latencyP50Ms: 1,
      latencyP95Ms: 2,
      exactP50Ms: 5,
      queries: 50,
      querySource: "held-out",
      rows: 5_000,
    },
    builtBy: "migrator",
  };
  const input = (over: Partial<DecideInput["inventory"]>, more: Partial<DecideInput> = {}): DecideInput => ({
    inventory: {
      table: chunk,
      exists: true,
      rowsHidden: false,
      rowsByDimension: new Map([[1536, 5_000]]),
      largestTenants: new Map(),
      indexes: new Map([[chunk.indexName, live]]),
      ...over,
    },
    records: [record],
    settings,
    targetRecall: 0.95,
    serverMemoryMb: 64,
    maxMemoryMb: 1024,
    ...more,
  });

  it("says why nothing can be built yet: table missing, rows hidden, no rows", () => {
    const cause = (d: IndexDecision) => (d.kind === "skip" ? d.skip : d.kind);
    expect(decideTable(input({ exists: false })).map(cause)).toEqual(["table-missing"]);
    expect(decideTable(input({ rowsHidden: true })).map(cause)).toEqual(["rows-hidden"]);
    const empty = input({ rowsByDimension: new Map(), indexes: new Map() }, { records: [] });
    expect(decideTable(empty).map(cause)).toEqual(["no-rows"]);
    expect(decideTable(input({ exists: false })).map((d) => d.action)).toEqual(["unchanged"]);
  });

  it("builds with a definition and the memory it needs when the index is missing", () => {
    const [decision] = decideTable(input({ indexes: new Map() }));
    expect(decision?.kind).toBe("create");
    if (decision?.kind !== "create") throw new Error("expected a create");
    expect(decision.definition).toMatchObject({
      name: chunk.indexName,
      dimension: 1536,
      params: { lists: 50 },
    });
    expect(decision.memory.mb).toBeGreaterThan(0);
    expect(decision.record).toEqual(record);
    expect(planItemOf(decision)).toEqual({
      name: chunk.indexName,
      action: "create",
      reason: decision.reason,
      decision: "create",
    });
  });

  it("keeps an index as recorded, recalibrates for a new target, rebuilds an INVALID one", () => {
    expect(decideTable(input({})).map((d) => d.kind)).toEqual(["keep"]);
    const [recalibrate] = decideTable(input({}, { targetRecall: 0.99 }));
    expect(recalibrate).toMatchObject({ kind: "recalibrate", action: "update", record, live });
    const invalid = new Map([[chunk.indexName, { ...live, valid: false }]]);
    expect(decideTable(input({ indexes: invalid })).map((d) => [d.kind, d.action])).toEqual([
      ["rebuild", "rebuild"],
    ]);
  });

  it("recalibrates a record whose recall was measured on rows of the table, and names why", () => {
    const older = { ...record, calibration: { ...record.calibration, querySource: "rows" as const } };
    const [decision] = decideTable(input({}, { records: [older] }));
    expect(decision).toMatchObject({ kind: "recalibrate", action: "update" });
    expect(decision?.reason).toContain("measured on rows of the table");
    expect(decision?.reason).toContain("held-out queries");
    // Measured on held-out queries, the same record is kept, and the plan says what it was measured on.
    const [kept] = decideTable(input({}));
    expect(kept?.reason).toContain("on 50 held-out queries");
  });

  it("recalibrates an index whose storage is not the one recorded at its calibration, and names why", () => {
    const calibrated = { ...record, relfilenode: 16_400 };
    expect(decideTable(input({}, { records: [calibrated] })).map((d) => d.kind)).toEqual(["keep"]);
    const rewritten = new Map([[chunk.indexName, { ...live, relfilenode: 16_500 }]]);
    const [decision] = decideTable(input({ indexes: rewritten }, { records: [calibrated] }));
    expect(decision).toMatchObject({ kind: "recalibrate", action: "update" });
    expect(decision?.reason).toBe(
      "recalibrate ivfflat.probes: built again since it was calibrated (a table rewrite, a REINDEX or a pg_restore), so " +
        "ivfflat.probes = 4 was measured on the index it replaced; the index is kept, not built again",
    );
    // A record made before the storage was recorded has no word on it: kept, whatever the storage now.
    expect(decideTable(input({ indexes: rewritten })).map((d) => d.kind)).toEqual(["keep"]);
  });

  it("recalibrates an HNSW index at a quarter more or fewer rows, an IVFFlat one at twice", () => {
    // IVFFlat (calibrated on 5,000 rows): its recall holds as rows come, so only twice recalibrates. Lists 70
    // stays within 2x of the rule's 50 and 100 lists, where lists 50 would be rebuilt at 10,000 rows.
    const ivfflat: IndexRecord = { ...record, params: { lists: 70 } };
    const ivfflatKinds = (rows: number) =>
      decideTable(input({ rowsByDimension: new Map([[1536, rows]]) }, { records: [ivfflat] })).map(
        (d) => d.kind,
      );
    expect(ivfflatKinds(6_250)).toEqual(["keep"]);
    expect(ivfflatKinds(9_999)).toEqual(["keep"]);
    expect(ivfflatKinds(10_000)).toEqual(["recalibrate"]);
    // And at half the rows: lists 35 stays within 2x of the rule's 25 lists at 2,500 rows.
    const fewerRows = (rows: number) =>
      decideTable(
        input(
          { rowsByDimension: new Map([[1536, rows]]) },
          { records: [{ ...record, params: { lists: 35 } }] },
        ),
      ).map((d) => d.kind);
    expect([2_501, 2_500].map((rows) => fewerRows(rows)[0])).toEqual(["keep", "recalibrate"]);
    const hnswDefinition = 'CREATE INDEX idx_chunk_embedding_cosine ON public."Chunk" USING hnsw (...)';
    const hnsw: IndexRecord = {
      ...record,
      method: "hnsw",
      params: { m: 16, efConstruction: 64 },
      definition: hnswDefinition,
      calibration: { ...record.calibration, setting: "hnsw.ef_search", value: 60 },
    };
    const hnswDecision = (rows: number) =>
      decideTable(
        input(
          {
            rowsByDimension: new Map([[1536, rows]]),
            indexes: new Map([[chunk.indexName, { ...live, definition: hnswDefinition }]]),
          },
          { records: [hnsw], settings: resolveOptions({ method: "hnsw" }).tables[0]!.settings },
        ),
      )[0]!;
    expect([6_249, 6_250, 4_001, 4_000].map((rows) => hnswDecision(rows).kind)).toEqual([
      "keep",
      "recalibrate",
      "keep",
      "recalibrate",
    ]);
    expect(hnswDecision(6_250).reason).toBe(
      "recalibrate hnsw.ef_search: 5,000 rows when calibrated, 6,250 now",
    );
  });

  it("gives each kind exactly the fields it needs (no optional definition to force)", () => {
    expectTypeOf<BuildDecision["definition"]>().toEqualTypeOf<IndexDefinition>();
    expectTypeOf<Extract<IndexDecision, { kind: "recalibrate" }>["record"]>().toEqualTypeOf<IndexRecord>();
    expectTypeOf<Extract<IndexDecision, { kind: "keep" }>["live"]>().toEqualTypeOf<LiveIndex>();
    expectTypeOf<SkipDecision>().not.toHaveProperty("definition");
    expectTypeOf<SkipDecision>().not.toHaveProperty("memory");
    expectTypeOf<Extract<IndexDecision, { kind: "skip" }>["action"]>().toEqualTypeOf<"unchanged">();
    const narrow = (d: IndexDecision) => {
      if (d.kind === "create" || d.kind === "rebuild") expectTypeOf(d).toEqualTypeOf<BuildDecision>();
      if (d.kind === "skip") expectTypeOf(d.skip).toEqualTypeOf<SkipDecision["skip"]>();
    };
    decideTable(input({ indexes: new Map() })).forEach(narrow);
  });
});
