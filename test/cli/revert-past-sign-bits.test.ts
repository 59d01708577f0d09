// A revert past migration 20261203120000, whose Down section drops "Chunk"."embeddingBits" (the prefilter's
// sign bits), on a released database: plan, status and apply failed after it with "The live schema differs from
// the release's: reading what the release created failed: column c.embeddingBits does not exist", and its fix
// (a column renamed or dropped by hand) sent the operator to a backup. The vector-index step's read of the
// listed indexes named the column in the count of a graph's tenant, which PostgreSQL resolves even when there
// is no graph to count; it now leaves the count out where the graphs' list is gone, and the database applies
// again.
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";

const KEPT = "20261203100100_search_count_from_index";

describe("a database reverted past the sign bits' migration", () => {
  const db = useTestDatabase("revbits");
  const cli = (...args: string[]) => runCli(args, { DATABASE_URL: db.current.url });

  beforeAll(async () => {
    await withClient(db.current.url, (c) => c.query("CREATE EXTENSION IF NOT EXISTS vector"));
    const applied = await cli("apply", "--seed", "demo");
    expect(applied.code, applied.stderr).toBe(0);
    const reverted = await cli("revert", "--to", KEPT, "--confirm");
    expect(reverted.code, reverted.stderr).toBe(0);
    await withClient(db.current.url, async (c) => {
      const column = await c.query(
        `SELECT 1 FROM information_schema.columns WHERE table_name = 'Chunk' AND column_name = 'embeddingBits'`,
      );
      expect(column.rowCount).toBe(0);
    });
  }, 180_000);

  it("plans the reverted migrations as pending and status reads it, without a schema-drift error", async () => {
    const plan = await cli("plan");
    expect(plan.code, plan.stderr).toBe(2);
    expect(plan.stdout).toContain("+ 20261203120000_tenant_search_prefilter");
    expect(plan.stderr).not.toContain("live schema differs");
    const status = await cli("status");
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(`pending: 20261203120000_tenant_search_prefilter`);
  });

  it("applies them again, and plans nothing after", async () => {
    const applied = await cli("apply");
    expect(applied.code, applied.stderr).toBe(0);
    const plan = await cli("plan");
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect((await cli("verify")).code).toBe(0);
  }, 180_000);
});
