// A vector index that a table rewrite or a REINDEX built again since its calibration. Under the same name and
// definition it is another index (IVFFlat's lists have new centres, HNSW a new graph), and the setting the
// release calibrated was measured on the one it replaced: plan, status and health say so, apply recalibrates
// it (it is valid and built as recorded: not built again), and VACUUM or ANALYZE alone change nothing. A record
// made before the release recorded the index's storage decides nothing until the bookkeeping's upgrade fills it;
// one recorded on another cluster (a pg_dump restored there) is another index whatever its number.
import { copyFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  applyRelease,
  checkHealth,
  collectingLogger,
  planRelease,
  releaseStatus,
} from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { scratchDir } from "../support/scratch";
import { clusteredVectors, copyChunks, createFixtures, type EmbeddingFixtures } from "./data";
import { apply, indexFacts, planIndexes, releaseOptions } from "./support";

const DIM = 32;
const NAME = "idx_chunk_embedding_cosine";
const STEP = { calibrationQueries: 20 };
const REBUILT = "built again since it was calibrated (a table rewrite, a REINDEX or a pg_restore)";
/** A migration that rewrites nothing, and one whose volatile default writes every row again, indexes included. */
const COMMENTED = {
  name: "29991231000000_chunk_commented",
  up: `COMMENT ON TABLE "Chunk" IS 'chunks of a dataset'`,
  down: `COMMENT ON TABLE "Chunk" IS NULL`,
};
const REWRITE = {
  name: "29991231000100_chunk_touched_at",
  up: `ALTER TABLE "Chunk" ADD COLUMN "touchedAt" timestamptz NOT NULL DEFAULT clock_timestamp()`,
  down: `ALTER TABLE "Chunk" DROP COLUMN "touchedAt"`,
};

/** The repository's migrations and `extra` after them, in a folder of their own. */
function migrationsWith(extra: readonly { name: string; up: string; down: string }[]): string {
  const dir = scratchDir("rewrite-migrations-");
  for (const file of readdirSync(DEFAULT_MIGRATIONS_DIR)) {
    copyFileSync(path.join(DEFAULT_MIGRATIONS_DIR, file), path.join(dir, file));
  }
  for (const m of extra) {
    writeFileSync(
      path.join(dir, `${m.name}.sql`),
      `-- Up Migration\n${m.up};\n\n-- Down Migration\n${m.down};\n`,
    );
  }
  return dir;
}

const reasonFor = (probes: number) =>
  `recalibrate ivfflat.probes: ${REBUILT}, so ivfflat.probes = ${probes} was measured on the index it ` +
  `replaced; the index is kept, not built again`;

describe("a vector index rebuilt outside a release since its calibration", () => {
  const db = useTestDatabase("virewrite");
  const url = () => db.current.url;
  let fixtures: EmbeddingFixtures;
  const source = clusteredVectors({ dimension: DIM, clusters: 4, spread: 0.5, seed: 21 });
  const facts = () => withClient(url(), async (c) => (await indexFacts(c, NAME))!);
  const storage = () =>
    withClient(
      url(),
      async (c) =>
        (
          await c.query<{ relfilenode: string }>(
            `SELECT c.relfilenode::bigint AS relfilenode FROM pg_class c WHERE c.relname = $1`,
            [NAME],
          )
        ).rows[0]!.relfilenode,
    );
  const recordedStorage = () =>
    withClient(
      url(),
      async (c) =>
        (
          await c.query<{ index_relfilenode: string | null }>(
            `SELECT index_relfilenode FROM neonhub_release.vector_indexes WHERE name = $1`,
            [NAME],
          )
        ).rows[0]!.index_relfilenode,
    );
  const probes = () =>
    withClient(
      url(),
      async (c) =>
        (
          await c.query<{ search_value: number }>(
            `SELECT search_value FROM neonhub_release.vector_indexes WHERE name = $1`,
            [NAME],
          )
        ).rows[0]!.search_value,
    );
  const planned = async () => (await planIndexes(url(), STEP)).find((p) => p.name === NAME);
  /** Plan and status say the index calibrated at `value` was built again since, and apply recalibrates it. */
  const expectRecalibrationShown = async (value: number) => {
    expect(await planned()).toEqual({
      name: NAME,
      action: "update",
      decision: "recalibrate",
      reason: reasonFor(value),
    });
    const status = await releaseStatus(releaseOptions(url(), STEP));
    expect(status.vectorIndexes.find((s) => s.name === NAME)?.calibratedOn).toBe(
      `the index it replaced: ${REBUILT}; apply recalibrates it`,
    );
  };

  beforeAll(async () => {
    await apply(url(), STEP);
    await withClient(url(), async (c) => {
      fixtures = await createFixtures(c, [DIM]);
      await copyChunks(c, fixtures, { dimension: DIM, count: 200, source });
    });
    await apply(url(), STEP);
  }, 120_000);

  it("records the index's storage at its build, and VACUUM and ANALYZE leave it unchanged", async () => {
    expect(await recordedStorage()).toBe(await storage());
    const before = await storage();
    await withClient(url(), async (c) => {
      await c.query(`VACUUM "Chunk"`);
      await c.query(`ANALYZE "Chunk"`);
      await c.query(`VACUUM (ANALYZE) "Chunk"`);
    });
    expect(await storage()).toBe(before);
    expect(await planned()).toMatchObject({ decision: "keep", action: "unchanged" });
  });

  it("VACUUM FULL: plan, status and health say why; apply recalibrates the same index; then unchanged", async () => {
    const { oid } = await facts();
    const before = await storage();
    const value = await probes();
    await withClient(url(), (c) => c.query(`VACUUM FULL "Chunk"`));
    expect(await storage()).not.toBe(before);

    await expectRecalibrationShown(value);
    const health = await checkHealth({ databaseUrl: url(), steps: releaseOptions(url(), STEP).steps });
    expect(health.findings.find((f) => f.subject === NAME)).toMatchObject({
      severity: "action",
      problem: reasonFor(value),
    });

    const applied = await apply(url(), STEP);
    expect(applied.result.vectorIndexes.find((r) => r.name === NAME)?.action).toBe("update");
    expect(applied.lines.join("\n")).toContain(`${NAME}: ${reasonFor(value)}`);
    // Calibrated, not built again: the same index, whose storage is now the one recorded.
    expect((await facts()).oid).toBe(oid);
    expect(await recordedStorage()).toBe(await storage());
    expect(await planned()).toMatchObject({ decision: "keep", action: "unchanged" });
    const after = await releaseStatus(releaseOptions(url(), STEP));
    expect(after.vectorIndexes.find((s) => s.name === NAME)?.calibratedOn).toBe("held-out queries");
  }, 120_000);

  it("REINDEX, REINDEX CONCURRENTLY and ALTER INDEX ... SET TABLESPACE: plan recalibrates", async () => {
    // A tablespace in the server's own directory (a developer option): a test cluster's folder is not the
    // server's to chmod. Moving the index copies it to new storage, which the release cannot tell from
    // REINDEX (TABLESPACE ...): it is recalibrated too.
    await withClient(url(), async (c) => {
      await c.query(`SET allow_in_place_tablespaces = on`);
      await c.query(`CREATE TABLESPACE virewrite_moved LOCATION ''`);
    });
    for (const statement of [
      `REINDEX INDEX ${NAME}`,
      `REINDEX INDEX CONCURRENTLY ${NAME}`,
      `ALTER INDEX ${NAME} SET TABLESPACE virewrite_moved`,
      `ALTER INDEX ${NAME} SET TABLESPACE pg_default`,
    ]) {
      await withClient(url(), (c) => c.query(statement));
      expect((await planned())?.reason, statement).toBe(reasonFor(await probes()));
      await apply(url(), STEP);
      expect(await planned(), statement).toMatchObject({ decision: "keep" });
    }
    await withClient(url(), (c) => c.query(`DROP TABLESPACE virewrite_moved`));
  }, 180_000);

  it("a record restored from another cluster: plan and status say so; apply recalibrates and records this one", async () => {
    // A pg_dump restored into another cluster builds the index again under that cluster's storage numbers,
    // which can be the recorded one by chance: here the same number, recorded on a cluster of another id.
    const cluster = () =>
      withClient(
        url(),
        async (c) =>
          (
            await c.query<{ recorded: string | null; live: string }>(
              `SELECT v.index_cluster AS recorded, (SELECT system_identifier::text FROM pg_control_system()) AS live
                 FROM neonhub_release.vector_indexes v WHERE v.name = $1`,
              [NAME],
            )
          ).rows[0]!,
      );
    const stamped = await cluster();
    expect(stamped.recorded).toBe(stamped.live);
    const { oid } = await facts();
    const value = await probes();
    await withClient(url(), (c) =>
      c.query(`UPDATE neonhub_release.vector_indexes SET index_cluster = '1' WHERE name = $1`, [NAME]),
    );
    expect(await recordedStorage()).toBe(await storage());

    await expectRecalibrationShown(value);
    await apply(url(), STEP);
    expect((await facts()).oid).toBe(oid);
    expect((await cluster()).recorded).toBe(stamped.live);
    expect(await planned()).toMatchObject({ decision: "keep", action: "unchanged" });
  }, 120_000);

  it("a record made before the storage was recorded: unchanged; the bookkeeping's upgrade records it", async () => {
    await withClient(url(), async (c) => {
      await c.query(`ALTER TABLE neonhub_release.vector_indexes DROP COLUMN index_relfilenode`);
      // As an earlier release left its bookkeeping: the next apply that changes something runs its DDL.
      await c.query(`COMMENT ON SCHEMA neonhub_release IS 'neonhub-db bookkeeping 3 of an earlier release'`);
      await c.query(`REINDEX INDEX ${NAME}`);
    });
    expect(await planned()).toMatchObject({ decision: "keep", action: "unchanged" });
    const status = await releaseStatus(releaseOptions(url(), STEP));
    expect(status.vectorIndexes.find((s) => s.name === NAME)?.calibratedOn).toBe("held-out queries");

    const options = { ...releaseOptions(url(), STEP), migrationsDir: migrationsWith([COMMENTED]) };
    const result = await applyRelease({ ...options, log: collectingLogger() });
    expect(result.migrations.map((m) => m.name)).toEqual([COMMENTED.name]);
    expect(result.vectorIndexes.find((r) => r.name === NAME)?.action).toBe("unchanged");
    expect(await recordedStorage()).toBe(await storage());
    expect((await planRelease(options)).vectorIndexes.find((p) => p.name === NAME)).toMatchObject({
      decision: "keep",
    });
  }, 120_000);

  it("a migration that rewrites the table: the apply that runs it recalibrates the index after it", async () => {
    const options = { ...releaseOptions(url(), STEP), migrationsDir: migrationsWith([COMMENTED, REWRITE]) };
    const before = await storage();
    const value = await probes();
    const log = collectingLogger();
    const result = await applyRelease({ ...options, log });
    expect(result.migrations.map((m) => m.name)).toEqual([REWRITE.name]);
    expect(await storage()).not.toBe(before);
    expect(result.vectorIndexes.find((r) => r.name === NAME)?.action).toBe("update");
    expect(log.lines.join("\n")).toContain(`${NAME}: ${reasonFor(value)}`);
    expect(await recordedStorage()).toBe(await storage());
    const next = await planRelease(options);
    expect(next.vectorIndexes.find((p) => p.name === NAME)).toMatchObject({ action: "unchanged" });
  }, 120_000);
});
