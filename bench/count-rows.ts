// What every plan and apply pays to count the embedded rows (core/vector-indexes/inventory.ts), with the
// table's count index (core/vector-indexes/count-index.ts) and without it, on 100,000 chunks × 1536
// dimensions (test/search/corpus.ts), vacuumed as autovacuum leaves an insert-only table, on a throwaway
// cluster with the server's stock settings. In turns, round by round, so that a change in the machine's load
// weighs on both alike:
//   - the count statement alone, on one connection: as it is, and with the index dropped inside a transaction
//     that rolls back (the baseline: what plan and apply read before the index);
//   - a whole `plan` of the vector-index step (its own connection, as the CLI opens it), with the index and
//     after dropping it (rebuilt between rounds; its build time is reported too).
// Figures: p50 per arm, the pages read by each count, the index's size against the table's.
//   npm run bench:count-rows [-- --rows N --rounds N]
import { parseArgs } from "node:util";
import { Client } from "pg";
import {
  DEFAULT_MIGRATIONS_DIR,
  EMBEDDING_TABLES,
  VectorIndexStep,
  applyRelease,
  createCountIndexSql,
  planRelease,
  rowsByDimensionSql,
} from "../core";
import { loadCorpus } from "../test/search/corpus";
import { BENCH_DIMENSION, benchCorpusShape } from "./support/corpus";
import { median, timed, withBenchCluster } from "./support/cluster";
import { wholeNumberOption } from "./support/args";

const CHUNK = EMBEDDING_TABLES[0]!;
const DIM = BENCH_DIMENSION;
const say = (line: string) => process.stderr.write(`${line}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      rows: { type: "string", default: "100000" },
      rounds: { type: "string", default: "7" },
    },
  });
  return {
    rows: wholeNumberOption("rows", values.rows, 1_000),
    rounds: wholeNumberOption("rounds", values.rounds, 1),
  };
}

/** Shared buffers hit or read by one run of the count (EXPLAIN's BUFFERS), and the plan's scan. */
async function pagesRead(client: Client): Promise<{ pages: number; scan: string }> {
  const { rows } = await client.query<{ "QUERY PLAN": unknown }>(
    `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${rowsByDimensionSql(CHUNK)}`,
  );
  const root = (rows[0]!["QUERY PLAN"] as { Plan: Record<string, unknown> }[])[0]!.Plan;
  const scans: string[] = [];
  const walk = (node: Record<string, unknown>) => {
    if (node["Relation Name"] === CHUNK.table)
      scans.push(
        `${String(node["Node Type"])}${node["Index Name"] ? ` using ${String(node["Index Name"])}` : ""}`,
      );
    for (const child of (node.Plans as Record<string, unknown>[] | undefined) ?? []) walk(child);
  };
  walk(root);
  return {
    pages: Number(root["Shared Hit Blocks"]) + Number(root["Shared Read Blocks"]),
    scan: scans.join(", "),
  };
}

async function main() {
  const opts = options();
  await withBenchCluster(async (cluster) => {
    const url = await cluster.createDatabase("count");
    // The first apply, on empty tables: the migrations, and the count indexes (no vector index yet).
    await applyRelease({
      databaseUrl: url,
      migrationsDir: DEFAULT_MIGRATIONS_DIR,
      steps: [new VectorIndexStep()],
    });
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      say(`loading ${opts.rows} chunks × ${DIM} dimensions`);
      await loadCorpus(client, benchCorpusShape(opts.rows));
      await client.query(`VACUUM (ANALYZE) "Chunk"`);
      const sizes = await client.query<{ heap: string; index: string }>(
        `SELECT pg_relation_size('"Chunk"') AS heap, pg_relation_size($1::regclass) AS index`,
        [`"${CHUNK.countIndexName}"`],
      );
      const withIndex = await pagesRead(client);
      await client.query("BEGIN");
      await client.query(`DROP INDEX "${CHUNK.countIndexName}"`);
      const withoutIndex = await pagesRead(client);
      await client.query("ROLLBACK");

      const plan = () =>
        planRelease({
          databaseUrl: url,
          migrationsDir: DEFAULT_MIGRATIONS_DIR,
          steps: [new VectorIndexStep()],
        });
      const arms = {
        countWith: [] as number[],
        countWithout: [] as number[],
        planWith: [] as number[],
        planWithout: [] as number[],
        build: [] as number[],
      };
      say(`${opts.rounds} rounds: the count and a plan, with the count index and without`);
      await plan(); // warm: the page cache and the migration files
      for (let round = 0; round < opts.rounds; round++) {
        arms.countWith.push(await timed(() => client.query(rowsByDimensionSql(CHUNK))));
        await client.query("BEGIN");
        await client.query(`DROP INDEX "${CHUNK.countIndexName}"`);
        arms.countWithout.push(await timed(() => client.query(rowsByDimensionSql(CHUNK))));
        await client.query("ROLLBACK");
        arms.planWith.push(await timed(plan));
        await client.query(`DROP INDEX "${CHUNK.countIndexName}"`);
        arms.planWithout.push(await timed(plan));
        arms.build.push(await timed(() => client.query(createCountIndexSql(CHUNK, false))));
      }
      const p50 = (values: number[]) => Number(median(values).toFixed(1));
      const report = {
        rows: opts.rows,
        rounds: opts.rounds,
        heapMb: Number((Number(sizes.rows[0]!.heap) / 2 ** 20).toFixed(1)),
        countIndexMb: Number((Number(sizes.rows[0]!.index) / 2 ** 20).toFixed(2)),
        count: {
          withIndex: { p50Ms: p50(arms.countWith), pages: withIndex.pages, scan: withIndex.scan },
          fromTheTable: { p50Ms: p50(arms.countWithout), pages: withoutIndex.pages, scan: withoutIndex.scan },
        },
        plan: { withIndexP50Ms: p50(arms.planWith), fromTheTableP50Ms: p50(arms.planWithout) },
        countIndexBuildP50Ms: p50(arms.build),
      };
      console.log(JSON.stringify(report, null, 2));
      console.log(
        `\ncount of embedded rows: ${report.count.withIndex.p50Ms} ms (${report.count.withIndex.pages} pages, ${report.count.withIndex.scan}) ` +
          `vs ${report.count.fromTheTable.p50Ms} ms from the table (${report.count.fromTheTable.pages} pages, ${report.count.fromTheTable.scan}); ` +
          `plan ${report.plan.withIndexP50Ms} vs ${report.plan.fromTheTableP50Ms} ms; ` +
          `the index: ${report.countIndexMb} MB for a ${report.heapMb} MB table, built in ${report.countIndexBuildP50Ms} ms`,
      );
    } finally {
      await client.end();
    }
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
