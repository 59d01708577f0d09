// The prefilter of a tenant's search (core/search/prefilter.ts, migration 20261203120000), its query alone at
// several depths against exact search within the tenant: the measurement that chose it (search_chunks's own
// work comes on top of either). Exact search within a tenant reads every visible row's page, since the
// embedding is stored in the row. The prefilter keeps each embedding's sign bits (pgvector's binary_quantize,
// 192 bytes for 1,536 dimensions) in a column filled by a trigger, and a b-tree on the tenant column that
// carries them (INCLUDE), so that the `depth` nearest rows by Hamming distance come from an index-only scan of
// that b-tree, and only those are read and ranked by the exact distance.
//
// 100,000 chunks × 1536 dimensions (test/search/corpus.ts), on a throwaway cluster with the server's stock
// settings, loaded twice: without the trigger (the baseline load) and with it. Held-out queries as an app
// login under row-level security, per tenant (≈ 0.2%, 2%, 5% of the rows and the largest, 19%) and query
// kind (own topics; table-wide), exact search and the prefilter at several depths taking turns query by
// query. Recall@10 against exact search within the tenant; p50 of the query alone (search_chunks's own work,
// docs/search.md "Cost of a call", comes on top of either).
//   npm run bench:prefilter [-- --rows N --queries N]
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { Client } from "pg";
import { DEFAULT_MIGRATIONS_DIR, EMBEDDING_TABLES, applyRelease, prefilterIndexSql } from "../core";
import { neighboursOf, recallOf, type Neighbour } from "../core";
import { loadCorpus, type Corpus, type Tenant } from "../test/search/corpus";
import { vectorText } from "../test/vector-indexes/data";
import { benchCorpusShape } from "./support/corpus";
import { median, percentile, timed, withBenchCluster } from "./support/cluster";
import { wholeNumberOption } from "./support/args";

const K = 10;
const CHUNK = EMBEDDING_TABLES[0]!;
const PREFILTER_INDEX = "idx_chunk_sign_bits";
const DEPTHS = [40, 80, 160, 320];
const say = (line: string) => process.stderr.write(`${line}\n`);

function options() {
  const { values } = parseArgs({
    options: {
      rows: { type: "string", default: "100000" },
      queries: { type: "string", default: "50" },
    },
  });
  return {
    rows: wholeNumberOption("rows", values.rows, 10_000),
    queries: wholeNumberOption("queries", values.queries, 1),
  };
}

// The migration keeps the sign bits by a trigger (so that COPY, INSERT and UPDATE fill them); the baseline load
// runs with it disabled. The b-tree is the one the release builds.
const WITHOUT_TRIGGER = [`ALTER TABLE "Chunk" DISABLE TRIGGER chunk_embedding_bits`];

const EXACT = `SELECT "id" FROM "Chunk" ORDER BY "embedding" <=> $1::vector LIMIT ${K}`;
const prefiltered = (depth: number) =>
  `SELECT c."id" FROM (SELECT "id" FROM "Chunk" WHERE "embeddingBits" IS NOT NULL
     ORDER BY "embeddingBits" <~> binary_quantize($1::vector)::bit varying LIMIT ${depth}) p JOIN "Chunk" c ON c."id" = p."id" ORDER BY c."embedding" <=> $1::vector LIMIT ${K}`;

interface Arm {
  label: string;
  sql: string;
  /** Each query's rows, with their exact distances (a tie at the exact 10th is a hit: core's recallOf). */
  found: Neighbour[][];
  ms: number[];
}

/**
 * Each arm on each query as `organization`, the arms taking turns query by query (a rotating order). The rows'
 * distances are read after the turns: read between them, a row's page read for its distance would be in the
 * cache for the arm that runs next.
 */
async function inTurns(app: Client, organization: string, arms: Arm[], queries: readonly string[]) {
  const ids = new Map<Arm, string[][]>(arms.map((arm) => [arm, []]));
  const once = async (arm: Arm, query: string) => {
    await app.query("BEGIN");
    try {
      await app.query("SELECT set_config('app.current_organization_id', $1, true)", [organization]);
      let rows: string[] = [];
      const ms = await timed(async () => {
        rows = (await app.query<{ id: string }>(arm.sql, [query])).rows.map((r) => r.id);
      });
      return { ms, rows };
    } finally {
      await app.query("ROLLBACK");
    }
  };
  for (const arm of arms) await once(arm, queries[0]!); // warm-up, untimed
  for (const [i, query] of queries.entries()) {
    for (let j = 0; j < arms.length; j++) {
      const arm = arms[(i + j) % arms.length]!;
      const { ms, rows } = await once(arm, query);
      arm.ms.push(ms);
      ids.get(arm)!.push(rows);
    }
  }
  await app.query("BEGIN");
  try {
    await app.query("SELECT set_config('app.current_organization_id', $1, true)", [organization]);
    for (const arm of arms) {
      for (const [i, rows] of ids.get(arm)!.entries()) {
        arm.found.push(await neighboursOf(app, CHUNK, queries[i]!, rows));
      }
    }
  } finally {
    await app.query("ROLLBACK");
  }
}

function tenantNear(corpus: Corpus, share: number): Tenant {
  const total = corpus.shape.rows;
  return [...corpus.tenants].sort(
    (a, b) => Math.abs(a.rows / total - share) - Math.abs(b.rows / total - share),
  )[0]!;
}

async function loadedDatabase(
  createDatabase: () => Promise<string>,
  rows: number,
  ddl: readonly string[],
): Promise<{ url: string; corpus: Corpus; loadMs: number }> {
  const url = await createDatabase();
  await applyRelease({ databaseUrl: url, migrationsDir: DEFAULT_MIGRATIONS_DIR });
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    for (const statement of ddl) await client.query(statement);
    let corpus: Corpus | undefined;
    const loadMs = await timed(async () => {
      corpus = await loadCorpus(client, benchCorpusShape(rows));
    });
    return { url, corpus: corpus!, loadMs };
  } finally {
    await client.end();
  }
}

async function main() {
  const opts = options();
  await withBenchCluster(async (cluster) => {
    say(
      `loading ${opts.rows} chunks × 1536 dimensions without the trigger (the baseline load), then with it`,
    );
    const plain = await loadedDatabase(() => cluster.createDatabase("plain"), opts.rows, WITHOUT_TRIGGER);
    const { url, corpus, loadMs } = await loadedDatabase(
      () => cluster.createDatabase("prefilter"),
      opts.rows,
      [],
    );
    const owner = new Client({ connectionString: url });
    await owner.connect();
    // As autovacuum leaves an insert-only table: the visibility map set, which an index-only scan needs.
    const indexMs = await timed(() => owner.query(prefilterIndexSql("Chunk")));
    await owner.query(`VACUUM (ANALYZE) "Chunk"`);
    const sizes = (
      await owner.query<{ index: string; table: string }>(
        `SELECT pg_size_pretty(pg_relation_size('${PREFILTER_INDEX}')) AS index,
                pg_size_pretty(pg_table_size('"Chunk"')) AS table`,
      )
    ).rows[0]!;
    const appRole = `bench_app_${randomBytes(3).toString("hex")}`;
    const password = randomBytes(12).toString("hex");
    await owner.query(`CREATE ROLE ${appRole} LOGIN PASSWORD '${password}'`);
    await owner.query(`GRANT USAGE ON SCHEMA public TO ${appRole}`);
    await owner.query(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${appRole}`);
    const appUrl = new URL(url);
    appUrl.username = appRole;
    appUrl.password = password;
    const app = new Client({ connectionString: appUrl.toString() });
    await app.connect();
    const lines: string[] = [];
    try {
      const tenants: [string, Tenant][] = [
        ["small", tenantNear(corpus, 0.0019)],
        ["medium", tenantNear(corpus, 0.019)],
        ["5%", tenantNear(corpus, 0.05)],
        ["largest", corpus.tenants[0]!],
      ];
      for (const [label, tenant] of tenants) {
        for (const kind of ["own", "table-wide"] as const) {
          say(`${label} tenant (${tenant.rows} rows), ${kind} queries`);
          const queries = corpus.queries(tenant, kind, opts.queries).map(vectorText);
          const arms: Arm[] = [
            { label: "exact", sql: EXACT, found: [], ms: [] },
            ...DEPTHS.map((d) => ({ label: `depth ${d}`, sql: prefiltered(d), found: [], ms: [] })),
          ];
          await inTurns(app, tenant.organizationId, arms, queries);
          const truth = arms[0]!.found;
          const cells = arms.map((arm) => {
            const recalls = arm.found.map((found, i) => recallOf(truth[i]!, found));
            const recall = recalls.reduce((a, b) => a + b, 0) / recalls.length;
            const rows = Math.min(...arm.found.map((found) => found.length));
            return `${recall.toFixed(3)} (min ${Math.min(...recalls)}, rows ${rows}), ${median(arm.ms).toFixed(2)} / ${percentile(arm.ms, 95).toFixed(2)}`;
          });
          lines.push(`| ${label} (${tenant.rows}) | ${kind} | ${cells.join(" | ")} |`);
        }
      }
    } finally {
      await app.end();
      await owner.end();
    }
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `load of ${opts.rows} rows: ${seconds(plain.loadMs)} without the trigger, ${seconds(loadMs)} with it; ` +
        `the prefilter index built in ${seconds(indexMs)}, ${sizes.index} beside a table of ${sizes.table}`,
    );
    console.log(
      `\nrecall@10 (min, rows returned min), p50 / p95 ms, ${opts.queries} queries per row\n` +
        `| tenant (rows) | queries | exact within the tenant | ${DEPTHS.map((d) => `prefilter, depth ${d}`).join(" | ")} |\n` +
        `|---|---|---|${DEPTHS.map(() => "---").join("|")}|`,
    );
    for (const line of lines) console.log(line);
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
