// ANN quality and speed on 100,000 vectors of 1536 dimensions whose clusters overlap (1,000 Gaussian clusters
// in a 48-dimension latent space, mapped into 1536 dimensions, plus noise), on a throwaway cluster with the
// server's stock settings. Held-out queries (not rows of the table) against exact search:
//   (a) the usual recipe: ivfflat lists = 100 built on the empty table, rows loaded afterwards; probes 1, 10
//   (b) this project's IVFFlat index (the release step: lists from the rows, calibrated probes)
//   (c) HNSW through the same step, calibrated ef_search
//   (d) exact search (sequential scan)
//   (e) `lists` chosen by measurement: IVFFlat built with each of --lists (default 100, 316, 1000: the
//       README's rows/1000, sqrt(rows), rows/100), probes calibrated by the release's calibration (its own
//       held-out queries), then measured on this run's queries: the lists whose p50 is the smallest share
//       of exact search's at recall >= 0.95
// plus build times, serial and with the step's parallel workers.
//   npm run bench:ann [-- --rows N --queries N --clusters N --no-serial --lists 100,316,1000 --lists-only
//                        --no-sweep]
//   (--no-serial skips the serial builds, ~6 min; --lists-only runs (d) and (e) alone, --no-sweep all but (e))
import { Client } from "pg";
import { DEFAULT_MIGRATIONS_DIR, applyRelease, type Logger } from "../core";
import { VectorIndexStep, readIndexRecords, type IndexRecord, type VectorIndexOptions } from "../core";
import { EMBEDDING_TABLES, buildMemoryNeed, calibrate, createIndexSql, nearestQuery } from "../core";
import { neighboursOf, recallOf, type Neighbour } from "../core";
import { clusteredVectors, copyChunks, createFixtures, vectorText } from "../test/vector-indexes/data";
import { median, percentile, withBenchCluster } from "./support/cluster";

const argument = (flag: string, fallback: number) => {
  const at = process.argv.indexOf(flag);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const ROWS = argument("--rows", 100_000);
const QUERIES = argument("--queries", 100);
const SERIAL = !process.argv.includes("--no-serial");
const LISTS_ONLY = process.argv.includes("--lists-only");
const SWEEP = !process.argv.includes("--no-sweep");
const LISTS = (() => {
  const at = process.argv.indexOf("--lists");
  const raw = at >= 0 ? (process.argv[at + 1] ?? "") : "100,316,1000";
  const values = raw.split(",").map(Number);
  if (values.some((n) => !Number.isInteger(n) || n < 1 || n > 32768)) {
    throw new Error(`--lists ${raw}: expected whole numbers from 1 to 32768, separated by commas`);
  }
  return values;
})();
const DIM = 1536;
const K = 10;
const SHAPE = {
  dimension: DIM,
  latentDimension: 48,
  // 1,000 clusters in 100,000 rows; --clusters checks that the lists chosen do not just match this number.
  clusters: argument("--clusters", 1000),
  spread: 1.0,
  noise: 0.1,
  seed: 20250126,
};
const CHUNK = EMBEDDING_TABLES[0]!;
// The HNSW graph of 100,000 x 1536 needs about 1 GB: let the step raise maintenance_work_mem that far.
const STEP: VectorIndexOptions = { maxMaintenanceWorkMem: "2GB" };

const log: Logger = {
  info: (m) => process.stderr.write(`  ${m}\n`),
  warn: (m) => process.stderr.write(`  warning: ${m}\n`),
};
const say = (m: string) => process.stderr.write(`${m}\n`);

interface Run {
  /** Each query's rows, with their exact distances (a tie at the exact 10th is a hit: core's recallOf). */
  found: Neighbour[][];
  latenciesMs: number[];
  plan: string;
}

interface Row {
  config: string;
  setting: string;
  recall: number;
  p50Ms: number;
  p95Ms: number;
  usesIndex: boolean;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = process.hrtime.bigint();
  const value = await fn();
  return { value, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

/** Runs `sql` for every query in one transaction after `setup` (SET LOCAL ...), timing each round trip. */
async function run(
  client: Client,
  sql: string,
  setup: readonly string[],
  queries: readonly string[],
): Promise<Run> {
  await client.query("BEGIN");
  try {
    for (const statement of setup) await client.query(statement);
    const explained = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${sql}`, [queries[0]]);
    const ids: string[][] = [];
    const latenciesMs: number[] = [];
    for (const q of queries) {
      const { value, ms } = await timed(() => client.query<{ id: string }>(sql, [q]));
      latenciesMs.push(ms);
      ids.push(value.rows.map((r) => r.id));
    }
    // The rows' distances after the timed queries, so that no timed query finds their pages read for it.
    const found: Neighbour[][] = [];
    for (const [i, rows] of ids.entries()) found.push(await neighboursOf(client, CHUNK, queries[i]!, rows));
    return { found, latenciesMs, plan: explained.rows.map((r) => r["QUERY PLAN"]).join("\n") };
  } finally {
    await client.query("ROLLBACK");
  }
}

/** Mean recall@10 of `results` against exact search's `truth`, query by query. */
function recall(results: readonly Neighbour[][], truth: readonly Neighbour[][]): number {
  return results.reduce((sum, found, i) => sum + recallOf(truth[i]!, found), 0) / truth.length;
}

function row(config: string, setting: string, measured: Run, truth: readonly Neighbour[][]): Row {
  return {
    config,
    setting,
    recall: Number(recall(measured.found, truth).toFixed(3)),
    p50Ms: Number(median(measured.latenciesMs).toFixed(1)),
    p95Ms: Number(percentile(measured.latenciesMs, 95).toFixed(1)),
    usesIndex: /Index Scan using/.test(measured.plan),
  };
}

async function applyStep(url: string, options: VectorIndexOptions): Promise<IndexRecord> {
  await applyRelease({
    databaseUrl: url,
    migrationsDir: DEFAULT_MIGRATIONS_DIR,
    steps: [new VectorIndexStep(options)],
    log,
  });
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await readIndexRecords(client)).find((r) => r.name === CHUNK.indexName)!;
  } finally {
    await client.end();
  }
}

/** A build with no parallel worker, rolled back: the serial time to compare the step's parallel one with. */
async function serialBuildMs(client: Client, record: IndexRecord): Promise<number> {
  await client.query("BEGIN");
  try {
    await client.query(`SET LOCAL maintenance_work_mem = '${record.buildSettings.maintenanceWorkMemMb}MB'`);
    await client.query("SET LOCAL max_parallel_maintenance_workers = 0");
    const definition = { ...record, name: "bench_serial", table: CHUNK };
    const { ms } = await timed(() =>
      client.query(createIndexSql(definition, { name: "bench_serial", concurrently: false })),
    );
    return ms;
  } finally {
    await client.query("ROLLBACK");
  }
}

async function main() {
  await withBenchCluster(async (cluster) => {
    const url = await cluster.createDatabase("ann");
    await applyRelease({ databaseUrl: url, migrationsDir: DEFAULT_MIGRATIONS_DIR });
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      const fixtures = await createFixtures(client, [DIM]);
      const source = clusteredVectors(SHAPE);
      const queries = Array.from({ length: QUERIES }, () => vectorText(source.next()));
      const ann = nearestQuery(CHUNK, DIM, K);
      const rows: Row[] = [];

      say(`(a) the usual recipe: ivfflat lists = 100 on the empty table, then ${ROWS} rows`);
      const recipeBuild = await timed(() =>
        client.query(
          `CREATE INDEX plan_recipe ON "Chunk" USING ivfflat ((embedding::vector(${DIM})) vector_cosine_ops)
             WITH (lists = 100) WHERE vector_dims(embedding) = ${DIM}`,
        ),
      );
      const load = await timed(() => copyChunks(client, fixtures, { dimension: DIM, count: ROWS, source }));
      await client.query('ANALYZE "Chunk"');
      say(`  loaded in ${(load.ms / 1000).toFixed(1)} s (vectors generated on the fly, index in place)`);

      say("(d) exact search");
      const exactSql =
        `SELECT "id" FROM "Chunk" WHERE vector_dims("embedding") = ${DIM} ` +
        `ORDER BY "embedding" <=> $1::vector LIMIT ${K}`;
      const exact = await run(
        client,
        exactSql,
        ["SET LOCAL enable_indexscan = off", "SET LOCAL enable_bitmapscan = off"],
        queries,
      );
      const truth = exact.found;

      for (const probes of [1, 10]) {
        const measured = await run(client, ann, [`SET LOCAL ivfflat.probes = ${probes}`], queries);
        rows.push(
          row(
            "(a) usual recipe: ivfflat lists=100 built empty",
            `ivfflat.probes = ${probes}`,
            measured,
            truth,
          ),
        );
      }
      await client.query("DROP INDEX plan_recipe");

      say("(e) lists chosen by measurement");
      const sweep: {
        lists: number;
        probes: number;
        buildMs: number;
        /** Recall on the calibration's own held-out queries (mean, and its lower bound), at `probes`. */
        calibrationRecall: number;
        calibrationLowerBound: number;
        recall: number;
        p50Ms: number;
        shareOfExact: number;
      }[] = [];
      const exactP50 = median(exact.latenciesMs);
      for (const lists of SWEEP ? LISTS : []) {
        const definition = {
          name: `bench_lists_${lists}`,
          table: CHUNK,
          dimension: DIM,
          method: "ivfflat" as const,
          params: { lists },
        };
        // What the release would give the build (k-means' need), and no less than 1 GB as before.
        const memoryMb = Math.max(1024, buildMemoryNeed(definition, ROWS).mb);
        await client.query(`SET maintenance_work_mem = '${memoryMb}MB'`);
        const built = await timed(() =>
          client.query(createIndexSql(definition, { name: definition.name, concurrently: false })),
        );
        await client.query("RESET maintenance_work_mem");
        const calibration = await calibrate(client, definition, ROWS, { targetRecall: 0.95, queries: 50 });
        const measured = await run(client, ann, [`SET LOCAL ivfflat.probes = ${calibration.value}`], queries);
        const r = row(
          `(e) ivfflat lists=${lists}, calibrated`,
          `ivfflat.probes = ${calibration.value}`,
          measured,
          truth,
        );
        rows.push(r);
        sweep.push({
          lists,
          probes: calibration.value,
          buildMs: Math.round(built.ms),
          calibrationRecall: calibration.recall,
          calibrationLowerBound: calibration.recallLowerBound,
          recall: r.recall,
          p50Ms: r.p50Ms,
          shareOfExact: Number((median(measured.latenciesMs) / exactP50).toFixed(4)),
        });
        say(
          `  lists ${lists}: probes ${calibration.value} (calibration's recall ${calibration.recall}), ` +
            `recall ${r.recall}, p50 ${r.p50Ms} ms`,
        );
        await client.query(`DROP INDEX ${definition.name}`);
      }
      const best = sweep.filter((e) => e.recall >= 0.95).sort((a, b) => a.shareOfExact - b.shareOfExact)[0];
      if (LISTS_ONLY) {
        rows.push(row("(d) exact search (sequential scan)", "-", exact, truth));
        console.log(
          JSON.stringify({ rows: ROWS, queries: QUERIES, shape: SHAPE, results: rows, sweep, best }, null, 2),
        );
        console.log(
          "\n| lists | calibrated probes | calibration's recall | build s | recall@10 | p50 ms | share of exact p50 |\n|---|---|---|---|---|---|---|",
        );
        for (const e of sweep) {
          console.log(
            `| ${e.lists} | ${e.probes} | ${e.calibrationRecall} | ${(e.buildMs / 1000).toFixed(1)} | ${e.recall} | ${e.p50Ms} | ${(100 * e.shareOfExact).toFixed(1)}% |`,
          );
        }
        console.log(`| exact | - | - | - | 1 | ${median(exact.latenciesMs).toFixed(1)} | 100% |`);
        return;
      }

      say("(b) this project's IVFFlat index, through the release step");
      const ivfflat = await applyStep(url, STEP);
      const lists = "lists" in ivfflat.params ? ivfflat.params.lists : 0;
      const calibratedIvf = await run(
        client,
        ann,
        [`SET LOCAL ivfflat.probes = ${ivfflat.calibration.value}`],
        queries,
      );
      const readmeProbes = Math.round(Math.sqrt(lists));
      const readmeIvf = await run(client, ann, [`SET LOCAL ivfflat.probes = ${readmeProbes}`], queries);
      rows.push(
        row(
          `(b) ivfflat lists=${lists}, README's sqrt(lists)`,
          `ivfflat.probes = ${readmeProbes}`,
          readmeIvf,
          truth,
        ),
        row(
          `(b) ivfflat lists=${lists}, calibrated`,
          `ivfflat.probes = ${ivfflat.calibration.value}`,
          calibratedIvf,
          truth,
        ),
      );
      const ivfSerialMs = SERIAL ? await serialBuildMs(client, ivfflat) : undefined;

      say("(c) HNSW through the release step");
      const hnsw = await applyStep(url, { ...STEP, indexes: { [CHUNK.indexName]: { method: "hnsw" } } });
      const calibratedHnsw = await run(
        client,
        ann,
        [`SET LOCAL hnsw.ef_search = ${hnsw.calibration.value}`],
        queries,
      );
      const defaultHnsw = await run(client, ann, ["SET LOCAL hnsw.ef_search = 40"], queries);
      rows.push(
        row("(c) hnsw m=16 ef_construction=64, default", "hnsw.ef_search = 40", defaultHnsw, truth),
        row(
          "(c) hnsw m=16 ef_construction=64, calibrated",
          `hnsw.ef_search = ${hnsw.calibration.value}`,
          calibratedHnsw,
          truth,
        ),
      );
      // The ef_search floor (calibrate.ts): where would the calibration land without it?
      const unfloored = await calibrate(
        client,
        { name: CHUNK.indexName, table: CHUNK, dimension: DIM, method: "hnsw", params: hnsw.params },
        ROWS,
        { targetRecall: 0.95, queries: 50, minValue: 1 },
      );
      rows.push(
        row(
          "(c) hnsw, calibrated from ef_search 1 (no floor)",
          `hnsw.ef_search = ${unfloored.value}`,
          await run(client, ann, [`SET LOCAL hnsw.ef_search = ${unfloored.value}`], queries),
          truth,
        ),
      );
      const hnswSerialMs = SERIAL ? await serialBuildMs(client, hnsw) : undefined;
      rows.push(row("(d) exact search (sequential scan)", "-", exact, truth));

      const builds = {
        planRecipeOnEmptyTableMs: Math.round(recipeBuild.ms),
        loadWithRecipeIndexMs: Math.round(load.ms),
        ivfflat: {
          lists,
          parallelMs: ivfflat.buildMs,
          workers: ivfflat.buildSettings.parallelWorkersLaunched ?? ivfflat.buildSettings.parallelWorkers,
          serialMs: ivfSerialMs && Math.round(ivfSerialMs),
          maintenanceWorkMemMb: ivfflat.buildSettings.maintenanceWorkMemMb,
        },
        hnsw: {
          parallelMs: hnsw.buildMs,
          workers: hnsw.buildSettings.parallelWorkersLaunched ?? hnsw.buildSettings.parallelWorkers,
          serialMs: hnswSerialMs && Math.round(hnswSerialMs),
          maintenanceWorkMemMb: hnsw.buildSettings.maintenanceWorkMemMb,
        },
      };
      const calibrations = { ivfflat: ivfflat.calibration, hnsw: hnsw.calibration, hnswNoFloor: unfloored };
      console.log(
        JSON.stringify(
          { rows: ROWS, queries: QUERIES, shape: SHAPE, results: rows, builds, calibrations, sweep, best },
          null,
          2,
        ),
      );
      console.log(
        "\n| configuration | setting | recall@10 | p50 ms | p95 ms | index used |\n|---|---|---|---|---|---|",
      );
      for (const r of rows) {
        console.log(
          `| ${r.config} | ${r.setting} | ${r.recall} | ${r.p50Ms} | ${r.p95Ms} | ${r.usesIndex ? "yes" : "no"} |`,
        );
      }
    } finally {
      await client.end();
    }
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
