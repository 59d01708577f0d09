// Embeddings written before migration 20261203100000 kept them in the row stay in TOAST until the row is
// rewritten, as on a database upgraded or adopted with its rows in place: health estimates from a sample of
// the table's pages how many are out of their rows and names the rewrite, as an action (exit 2); once the
// table is rewritten (VACUUM FULL), nothing is left to report. Rows written since are in their rows.
import { beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_HEALTH_LIMITS,
  DEFAULT_MIGRATIONS_DIR,
  applyRelease,
  checkHealth,
  embeddingsInToastFindings,
  type HealthReport,
} from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { clusteredVectors, copyChunks, createFixtures } from "../vector-indexes/data";
import { applyMigrationsBefore, releaseOptions } from "../vector-indexes/support";

const DIM = 1536;
const OLD_ROWS = 300;

const toastFinding = (report: HealthReport, table: string) =>
  report.findings.find((f) => f.subject === table && f.problem.includes("stored in TOAST"));

describe("embeddings stored in TOAST before migration 20261203100000 kept them in the row", () => {
  const db = useTestDatabase("intoast");
  const url = () => db.current.url;
  let fixtures: Awaited<ReturnType<typeof createFixtures>>;

  beforeAll(async () => {
    await applyMigrationsBefore(url(), "20261203100000");
    await withClient(url(), async (c) => {
      fixtures = await createFixtures(c, [DIM]);
      const source = clusteredVectors({ dimension: DIM, clusters: 4, spread: 0.5, seed: 11 });
      await copyChunks(c, fixtures, { dimension: DIM, count: OLD_ROWS, source });
    });
    await applyRelease({ ...releaseOptions(url()), migrationsDir: DEFAULT_MIGRATIONS_DIR });
  });

  it("health estimates how many from a sample of the pages and names the rewrite, as an action", async () => {
    const report = await checkHealth({ databaseUrl: url() });
    const chunk = report.embeddingsInToast.find((r) => r.table === "Chunk")!;
    // A table this small is read whole: every page, every embedding counted.
    expect(chunk.sampledPages).toBe(chunk.tablePages);
    expect(chunk.sampledRows).toBe(OLD_ROWS);
    // Dozens of rows share each page: all but one per page are out of their rows.
    expect(chunk.inToast).toBeGreaterThanOrEqual(OLD_ROWS - chunk.tablePages);
    expect(chunk.share).toBeGreaterThan(0.9);
    expect(report.embeddingsInToast.find((r) => r.table === "Message")).toMatchObject({
      sampledRows: 0,
      inToast: 0,
    });
    expect(report.healthy).toBe(false);
    const finding = toastFinding(report, "Chunk");
    expect(finding?.severity).toBe("action");
    expect(finding?.problem).toMatch(
      /^\d+% of the embeddings on its \d+ pages \(\d+ of 300\) are stored in TOAST/,
    );
    expect(finding?.problem).toContain("written before migration 20261203100000 kept embeddings in the row");
    expect(finding?.action).toContain('VACUUM FULL "Chunk"');
    expect(finding?.action).toContain(`pg_repack --table 'public."Chunk"'`);
    expect(toastFinding(report, "Message")).toBeUndefined();
  });

  it("the CLI shows it under what needs action, and --json in embeddingsInToast", async () => {
    const plain = await runCli(["health"], { DATABASE_URL: url() });
    expect(plain.code).toBe(2);
    expect(plain.stdout).toMatch(/ {2}- "Chunk": \d+% of the embeddings on its \d+ pages/);
    const json = await runCli(["health", "--json"], { DATABASE_URL: url() });
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as HealthReport;
    expect(report.embeddingsInToast.map((r) => [r.table, r.sampledRows])).toEqual([
      ["Chunk", OLD_ROWS],
      ["Message", 0],
    ]);
  });

  it("rows written since are in their rows, and the rewrite leaves nothing to report", async () => {
    await withClient(url(), async (c) => {
      await c.query(`VACUUM FULL "Chunk"`);
      // Written after the migration: one chunk and its embedding to a page.
      const source = clusteredVectors({ dimension: DIM, clusters: 4, spread: 0.5, seed: 12 });
      await copyChunks(c, fixtures, { dimension: DIM, count: 50, source, firstIdx: 1000 });
    });
    const report = await checkHealth({ databaseUrl: url() });
    const chunk = report.embeddingsInToast.find((r) => r.table === "Chunk")!;
    expect(chunk.sampledRows).toBe(OLD_ROWS + 50);
    expect(chunk.inToast).toBe(0);
    expect(toastFinding(report, "Chunk")).toBeUndefined();
  });

  it("is an action from the limit's share of the sampled embeddings (HealthLimits.inToastShare), not below it", () => {
    const reading = (inToast: number) => ({
      table: "Chunk",
      tablePages: 5000,
      sampledPages: 1000,
      sampledRows: 1000,
      inToast,
      share: inToast / 1000,
    });
    const limit = DEFAULT_HEALTH_LIMITS.inToastShare;
    const atLimit = Math.round(limit * 1000);
    expect(embeddingsInToastFindings([reading(atLimit - 1)], limit)).toEqual([]);
    const [finding] = embeddingsInToastFindings([reading(atLimit)], limit);
    expect(finding?.severity).toBe("action");
    expect(finding?.problem).toMatch(
      /^10% of the embeddings on a sample of 1,000 of its 5,000 pages \(100 of 1,000\)/,
    );
  });
});
