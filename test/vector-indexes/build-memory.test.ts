// A 1536-dimension table of 20,000 rows on the test cluster's stock settings (maintenance_work_mem 64MB),
// where the build's memory is what matters: it is computed, raised for the build only, refused before any
// build when above the bound; progress is logged; a failed CONCURRENTLY build leaves nothing behind.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ReleaseError, applyRelease, collectingLogger } from "../../core";
import { partContext } from "../../infra/dynamic/release";
import { readIndexRecords } from "../../core/vector-indexes";
import { buildMemoryNeed, ivfflatKmeansBytes } from "../../core/vector-indexes/memory";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { scratchDir } from "../support/scratch";
import { clusteredVectors, copyChunks, createFixtures } from "./data";
import { CHUNK, apply, indexFacts, indexNames, releaseOptions } from "./support";

const DIM = 1536;
const ROWS = 20_000;
/** Calibration is not what this file tests: few queries keep it short on 1536 dimensions. */
const FEW_QUERIES = { calibrationQueries: 20 };

async function maintenanceWorkMem(url: string): Promise<string> {
  return withClient(
    url,
    async (c) =>
      (await c.query<{ v: string }>("SELECT current_setting('maintenance_work_mem') AS v")).rows[0]!.v,
  );
}

async function rejection(promise: Promise<unknown>): Promise<ReleaseError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReleaseError);
  return error as ReleaseError;
}

describe("building on a 1536-dimension table of 20,000 rows", () => {
  const db = useTestDatabase("vimem");
  const url = () => db.current.url;

  beforeAll(async () => {
    await apply(url());
    await withClient(url(), async (c) => {
      const fixtures = await createFixtures(c, [DIM]);
      const source = clusteredVectors({
        dimension: DIM,
        latentDimension: 48,
        clusters: 200,
        spread: 0.7,
        noise: 0.05,
        seed: 3,
      });
      await copyChunks(c, fixtures, { dimension: DIM, count: ROWS, source });
    });
  });

  it("starts from PostgreSQL's stock 64MB, on which the plan's lists = 100 cannot build", async () => {
    expect(await maintenanceWorkMem(url())).toBe("64MB");
    const needed = Math.floor(ivfflatKmeansBytes({ rows: ROWS, lists: 100, dimension: DIM }) / 2 ** 20) + 1;
    await withClient(url(), async (c) => {
      await expect(
        c.query(
          `CREATE INDEX plan_recipe ON "Chunk" USING ivfflat ((embedding::vector(1536)) vector_cosine_ops)
             WITH (lists = 100) WHERE vector_dims(embedding) = 1536`,
        ),
      ).rejects.toThrow(`memory required is ${needed} MB, maintenance_work_mem is 64 MB`);
    });
  });

  it("builds with the memory it computed, for the build only, logging progress", async () => {
    const { result, lines } = await apply(url(), { ...FEW_QUERIES, progressIntervalMs: 20 });
    expect(result.vectorIndexes[0]).toMatchObject({ name: "idx_chunk_embedding_cosine", action: "create" });
    expect(lines.some((l) => /^idx_chunk_embedding_cosine: building index: /.test(l))).toBe(true);
    await withClient(url(), async (c) => {
      expect(await indexFacts(c, "idx_chunk_embedding_cosine")).toMatchObject({
        method: "ivfflat",
        operatorClass: "vector_cosine_ops",
        options: ["lists=200"],
        valid: true,
      });
      const [record] = await readIndexRecords(c);
      // 2 parallel workers want 32 MB per participant: 96 MB, above the build's own need.
      expect(record).toMatchObject({
        rowsAtBuild: ROWS,
        buildSettings: { maintenanceWorkMemMb: 96, parallelWorkers: 2 },
      });
      expect(record!.calibration).toMatchObject({ targetReached: true });
      const reloptions = await c.query<{ reloptions: string[] | null }>(
        `SELECT reloptions FROM pg_class WHERE oid = '"Chunk"'::regclass`,
      );
      expect(reloptions.rows[0]!.reloptions?.some((o) => o.startsWith("parallel_workers"))).toBeFalsy();
    });
    expect(await maintenanceWorkMem(url())).toBe("64MB");
  });

  it("refuses, before building anything, a build that needs more memory than the bound allows", async () => {
    const need = buildMemoryNeed(
      { name: CHUNK.indexName, table: CHUNK, dimension: DIM, method: "ivfflat", params: { lists: 200 } },
      ROWS,
    );
    await withClient(url(), async (c) => {
      // A server configured with less than the build needs.
      await c.query(`ALTER DATABASE "${db.current.name}" SET maintenance_work_mem = '16MB'`);
      await c.query("DROP INDEX idx_chunk_embedding_cosine");
    });
    try {
      const error = await rejection(apply(url(), { ...FEW_QUERIES, maxMaintenanceWorkMem: 48 }));
      expect(error.code).toBe("index-failed");
      expect(error.message).toContain(
        `needs ${need.mb} MB of maintenance_work_mem, above the bound of 48 MB`,
      );
      expect(error.fix).toContain(
        `Raise vectorIndexes.maxMaintenanceWorkMem to at least ${need.mb}MB (the server needs`,
      );
      expect(error.fix).toContain("then run apply again.");
      await withClient(url(), async (c) => expect(await indexNames(c, "Chunk", CHUNK.indexName)).toEqual([]));

      // Under the schema-release provider: the stack's config key and its `pulumi up`, no release-config path.
      const stack = partContext(
        {
          part: "vectorIndexes",
          database: db.current.name,
          ownerRole: "neonhub_owner",
          migrationsDir: "migrations",
          steps: { seedSets: [] },
          lockTimeoutMs: 60_000,
          connectTimeoutMs: 10_000,
          dropOnDelete: false,
          stack: "prod",
        },
        url(),
        "DIRECT_URL",
        "up",
      ).options.printCommand;
      const onStack = await rejection(
        applyRelease({
          ...releaseOptions(url(), { ...FEW_QUERIES, maxMaintenanceWorkMem: 48 }),
          printCommand: stack,
          log: collectingLogger(),
        }),
      );
      expect(onStack.fix).toContain(
        "Raise neonhub-db:vectorIndexes.maxMaintenanceWorkMem in the stack's config (`pulumi config set --stack prod " +
          `--path 'neonhub-db:vectorIndexes.maxMaintenanceWorkMem' <value>\`) to at least ${need.mb}MB`,
      );
      expect(onStack.fix).toContain("then run `pulumi up --stack prod` again.");
      expect(onStack.fix).not.toContain("Raise vectorIndexes.");

      // The CLI's: where this run took the setting from, the --config file by its key there (a stack file's
      // neonhub-db: key), unless a --set flag gave it, which wins over the file.
      const dir = scratchDir("release-config-");
      const release = path.join(dir, "release.yaml");
      writeFileSync(release, "vectorIndexes:\n  maxMaintenanceWorkMem: 48MB\n  calibrationQueries: 20\n");
      const stackFile = path.join(dir, "Pulumi.prod.yaml");
      writeFileSync(
        stackFile,
        "config:\n  neonhub-db:vectorIndexes:\n    maxMaintenanceWorkMem: 48MB\n    calibrationQueries: 20\n",
      );
      const cliFix = async (...given: string[]) => {
        const run = await runCli(["apply", ...given, "--json"], { DATABASE_URL: url() });
        expect(run.code, run.stderr).toBe(1);
        const { error } = JSON.parse(run.stdout) as { error: { code: string; fix: string } };
        expect(error.code).toBe("index-failed");
        return error.fix;
      };
      const inFile = await cliFix("--config", release);
      expect(inFile).toContain(
        `Raise vectorIndexes.maxMaintenanceWorkMem in ${release} (the --config file) to at least ${need.mb}MB`,
      );
      expect(inFile).toContain(`then run \`neonhub-db apply --config ${release}\` again.`);
      expect(await cliFix("--config", stackFile)).toContain(
        `Raise neonhub-db:vectorIndexes.maxMaintenanceWorkMem in ${stackFile} (the --config file) to at least ${need.mb}MB`,
      );
      const byFlag = await cliFix("--config", release, "--set", "vectorIndexes.maxMaintenanceWorkMem=48");
      expect(byFlag).toContain(
        `Raise vectorIndexes.maxMaintenanceWorkMem (\`--set vectorIndexes.maxMaintenanceWorkMem=<value>\`) to at least ${need.mb}MB`,
      );
      expect(byFlag).not.toContain("(the --config file)");
      await withClient(url(), async (c) => expect(await indexNames(c, "Chunk", CHUNK.indexName)).toEqual([]));

      const { result } = await apply(url(), { ...FEW_QUERIES, maxMaintenanceWorkMem: "1GB" });
      expect(result.vectorIndexes[0]).toMatchObject({
        action: "create",
        details: { maintenanceWorkMemMb: 96 },
      });
      expect(await maintenanceWorkMem(url())).toBe("16MB");
    } finally {
      await withClient(url(), (c) =>
        c.query(`ALTER DATABASE "${db.current.name}" RESET maintenance_work_mem`),
      );
    }
  });

  it("drops the INVALID index a failed CONCURRENTLY build leaves, then builds on the next apply", async () => {
    await withClient(url(), (c) => c.query("DROP INDEX idx_chunk_embedding_cosine"));
    const applying = apply(url(), { ...FEW_QUERIES, concurrently: true });
    // Cancel the build once PostgreSQL reports it building (an operator, or a statement_timeout).
    await withClient(url(), async (c) => {
      for (let i = 0; i < 2000; i++) {
        const building = await c.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_progress_create_index
            WHERE relid = '"Chunk"'::regclass AND phase LIKE 'building index%'`,
        );
        if (building.rows[0]) {
          await c.query("SELECT pg_cancel_backend($1)", [building.rows[0].pid]);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error("the build never showed in pg_stat_progress_create_index");
    });
    const error = await rejection(applying);
    expect(error.code).toBe("index-failed");
    expect(error.message).toContain("canceling statement due to user request");
    expect(error.message).toContain(
      "The INVALID index idx_chunk_embedding_cosine the build left was dropped",
    );
    await withClient(url(), async (c) => expect(await indexNames(c, "Chunk", CHUNK.indexName)).toEqual([]));

    const { result } = await apply(url(), { ...FEW_QUERIES, concurrently: true });
    expect(result.vectorIndexes[0]).toMatchObject({ action: "create", details: { concurrently: true } });
    await withClient(url(), async (c) => {
      expect(await indexFacts(c, "idx_chunk_embedding_cosine")).toMatchObject({
        valid: true,
        options: ["lists=200"],
      });
    });
  });
});
