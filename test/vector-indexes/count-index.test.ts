// Each embedded table's count index (core/vector-indexes/count-index.ts): built by the first apply, keyed by
// the tenant and the space, the release's count of embedded rows answered from it without reading the table,
// rows still waiting for their embedding left out, and an index that was dropped, left INVALID, or built by
// an earlier release (keyed by the space alone) planned and built again.
import type { ClientBase } from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { ReleaseError, planRelease, readInventory, recordSnapshot, rowsByDimensionSql } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { holdTableLock } from "../support/kill-points";
import { clusteredVectors, copyChunks, createFixtures } from "./data";
import { CHUNK, MESSAGE, apply, indexFacts, isCountIndex, planIndexes, releaseOptions } from "./support";

const DIM = 16;
const FEW_QUERIES = { calibrationQueries: 20 };

/** The count-index items of a plan, as [name, action, reason]. */
async function plannedCountIndexes(url: string, step = {}) {
  const plan = await planRelease(releaseOptions(url, { ...FEW_QUERIES, ...step }));
  return plan.vectorIndexes.filter(isCountIndex).map((i) => [i.name, i.action, i.reason]);
}

/**
 * VACUUMs the table until every page is all-visible (what an index-only scan needs). A page is marked only
 * once its rows' commits have their hint bits, and on the test cluster, which commits asynchronously, a hint
 * bit waits for the WAL of any transaction whose xid shares the commit's commit-log group: another test's
 * commit not yet flushed (a CREATE DATABASE beside this one, once) held every page back. The WAL writer
 * flushes it within a fraction of a second.
 */
async function vacuumUntilAllVisible(c: ClientBase, table: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await c.query(`VACUUM (ANALYZE) ${table}`);
    const { rows } = await c.query<{ done: boolean }>(
      `SELECT relallvisible >= relpages AS done FROM pg_class WHERE oid = $1::regclass`,
      [table],
    );
    if (rows[0]!.done) return;
    if (attempt === 50) throw new Error(`${table}: pages still not all-visible after ${attempt} VACUUMs`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The key columns of an index, in order. */
async function keysOf(c: ClientBase, index: string): Promise<string[]> {
  const { rows } = await c.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, n)
       JOIN pg_attribute a ON a.attnum = k.attnum
      WHERE i.indexrelid = $1::regclass AND a.attrelid = i.indrelid AND k.n <= i.indnkeyatts ORDER BY k.n`,
    [`"${index}"`],
  );
  return rows.map((r) => r.name);
}

/** Whether the search functions count a tenant's embedded rows from the index (migration 20261205030000). */
async function searchCountsFrom(c: ClientBase, index: string): Promise<boolean> {
  const { rows } = await c.query<{ valid: boolean }>(`SELECT search_count_index_valid($1) AS valid`, [index]);
  return rows[0]!.valid;
}

/** Records the live schema as the release's snapshot, after the same migration it was recorded after. */
async function recordSnapshotAsIs(c: ClientBase): Promise<void> {
  const { rows } = await c.query<{ last: string | null }>(
    "SELECT last_migration AS last FROM neonhub_release.schema_snapshot WHERE id = 1",
  );
  await recordSnapshot(c, rows[0]?.last ?? undefined);
}

describe("the count index of each embedded table", () => {
  const db = useTestDatabase("ci");
  const url = () => db.current.url;

  beforeAll(async () => {
    expect(await plannedCountIndexes(url())).toEqual([
      [CHUNK.countIndexName, "create", expect.stringContaining("no release yet")],
      [MESSAGE.countIndexName, "create", expect.stringContaining("no release yet")],
    ]);
  });

  it("is built by the first apply, on the tenant and space columns over the embedded rows, and only once", async () => {
    const { countIndexes } = await apply(url(), FEW_QUERIES);
    expect(countIndexes.map((r) => [r.name, r.action, r.details])).toEqual([
      [CHUNK.countIndexName, "create", expect.objectContaining({ table: "Chunk", counts: "embedded rows" })],
      [
        MESSAGE.countIndexName,
        "create",
        expect.objectContaining({ table: "Message", counts: "embedded rows" }),
      ],
    ]);
    await withClient(url(), async (c) => {
      for (const table of [CHUNK, MESSAGE]) {
        expect(await indexFacts(c, table.countIndexName)).toMatchObject({
          method: "btree",
          predicate: "(embedding IS NOT NULL)",
          valid: true,
        });
        expect(await keysOf(c, table.countIndexName)).toEqual(["organizationId", "embeddingSpaceId"]);
        expect(await searchCountsFrom(c, table.countIndexName)).toBe(true);
      }
    });
    expect(await plannedCountIndexes(url())).toEqual([]);
    expect((await apply(url(), FEW_QUERIES)).countIndexes).toEqual([]);
  });

  it("answers the release's count without reading the table, leaving out rows not yet embedded", async () => {
    await withClient(url(), async (c) => {
      // The test cluster commits asynchronously, and VACUUM marks a page all-visible (what an index-only scan
      // needs) only once its rows' commits are on disk (and their neighbours' in the commit log, below).
      await c.query("SET synchronous_commit = on");
      const fixtures = await createFixtures(c, [DIM]);
      const source = clusteredVectors({ dimension: DIM, clusters: 10, spread: 1, seed: 3 });
      await copyChunks(c, fixtures, { dimension: DIM, count: 2_000, source });
      // 300 rows whose embedding is still to come (an ingestion that writes the text first).
      await c.query(`INSERT INTO "Chunk" ("id", "datasetId", "embeddingSpaceId", "documentId", "idx", "text")
                     SELECT 'pending-' || i, "datasetId", "embeddingSpaceId", "documentId", 100000 + i, 'pending'
                       FROM "Chunk", generate_series(1, 300) i WHERE "id" = 'chunk-${DIM}-0'`);
      await vacuumUntilAllVisible(c, '"Chunk"');

      expect((await readInventory(c, CHUNK)).rowsByDimension).toEqual(new Map([[DIM, 2_000]]));
      // On 2,300 small rows a sequential scan is the cheaper plan; what is asked here is that the index can
      // answer the count alone (its predicate matches the query's), which is what the planner takes once the
      // rows are pages of 1,536 dimensions (docs/vector-indexes.md, "Counting the rows").
      await c.query("BEGIN");
      try {
        await c.query("SET LOCAL enable_seqscan = off");
        const explained = await c.query<{ "QUERY PLAN": string }>(
          `EXPLAIN (ANALYZE, COSTS off, TIMING off, SUMMARY off) ${rowsByDimensionSql(CHUNK)}`,
        );
        const plan = explained.rows.map((r) => r["QUERY PLAN"]).join("\n");
        expect(plan).toContain(`Index Only Scan using ${CHUNK.countIndexName}`);
        expect(plan).toContain("Heap Fetches: 0");
        expect(plan).not.toMatch(/(Seq|Bitmap Heap|Index) Scan (using \S+ )?on "Chunk"/);
      } finally {
        await c.query("ROLLBACK");
      }
    });
    const plan = await planIndexes(url(), FEW_QUERIES);
    expect(plan[0]!.reason).toContain("on 2,000 rows of 16 dimensions");
  });

  it("is planned and built again once dropped, or left INVALID by an interrupted concurrent build", async () => {
    await withClient(url(), (c) => c.query(`DROP INDEX "${CHUNK.countIndexName}"`));
    expect(await plannedCountIndexes(url())).toEqual([
      [CHUNK.countIndexName, "create", expect.stringContaining('count the embedded rows of "Chunk"')],
    ]);
    const rebuilt = await apply(url(), FEW_QUERIES);
    expect(rebuilt.countIndexes.map((r) => [r.name, r.action])).toEqual([[CHUNK.countIndexName, "create"]]);

    // What CREATE INDEX CONCURRENTLY leaves when it is killed: the index, marked not valid.
    await withClient(url(), (c) =>
      c.query(
        `UPDATE pg_index SET indisvalid = false WHERE indexrelid = '"${MESSAGE.countIndexName}"'::regclass`,
      ),
    );
    expect(await plannedCountIndexes(url())).toEqual([
      [MESSAGE.countIndexName, "rebuild", expect.stringContaining("INVALID")],
    ]);
    const again = await apply(url(), { ...FEW_QUERIES, concurrently: true });
    expect(again.countIndexes.map((r) => [r.name, r.action, r.details])).toEqual([
      [MESSAGE.countIndexName, "rebuild", expect.objectContaining({ concurrently: true })],
    ]);
    await withClient(url(), async (c) =>
      expect(await indexFacts(c, MESSAGE.countIndexName)).toMatchObject({ valid: true }),
    );
    expect(await plannedCountIndexes(url())).toEqual([]);
  });

  it("is built again, keyed by the tenant, when it is an earlier release's keyed by the space alone", async () => {
    // What the releases before migration 20261205030000 built, under the same name.
    await withClient(url(), async (c) => {
      await c.query(`DROP INDEX "${CHUNK.countIndexName}"`);
      await c.query(
        `CREATE INDEX "${CHUNK.countIndexName}" ON "Chunk" ("embeddingSpaceId") WHERE embedding IS NOT NULL`,
      );
      expect(await searchCountsFrom(c, CHUNK.countIndexName)).toBe(false);
    });
    expect(await plannedCountIndexes(url())).toEqual([
      [
        CHUNK.countIndexName,
        "rebuild",
        expect.stringContaining(`not keyed by "organizationId", "embeddingSpaceId": built again beside it`),
      ],
    ]);
    const { countIndexes } = await apply(url(), { ...FEW_QUERIES, concurrently: true });
    expect(countIndexes.map((r) => [r.name, r.action])).toEqual([[CHUNK.countIndexName, "rebuild"]]);
    await withClient(url(), async (c) => {
      expect(await keysOf(c, CHUNK.countIndexName)).toEqual(["organizationId", "embeddingSpaceId"]);
      expect(await searchCountsFrom(c, CHUNK.countIndexName)).toBe(true);
    });
    expect(await plannedCountIndexes(url())).toEqual([]);
  });

  it.each([
    ["in one transaction", false],
    ["concurrently", true],
  ])(
    "keeps the earlier index when a rebuild's build fails (%s): the new one is built beside it",
    async (_, concurrently) => {
      await withClient(url(), async (c) => {
        await c.query(`DROP INDEX "${CHUNK.countIndexName}"`);
        await c.query(
          `CREATE INDEX "${CHUNK.countIndexName}" ON "Chunk" ("embeddingSpaceId") WHERE embedding IS NOT NULL`,
        );
        // Every CREATE INDEX fails from here on.
        await c.query(`CREATE SCHEMA count_index_test`);
        await c.query(
          `CREATE FUNCTION count_index_test.refuse() RETURNS event_trigger LANGUAGE plpgsql
             AS $$ BEGIN RAISE EXCEPTION 'CREATE INDEX refused by the test'; END $$`,
        );
        await c.query(
          `CREATE EVENT TRIGGER count_index_test_refuse ON ddl_command_start WHEN TAG IN ('CREATE INDEX')
             EXECUTE FUNCTION count_index_test.refuse()`,
        );
        // The old index and the test's schema as if a release had left them: not drift before the release.
        await recordSnapshotAsIs(c);
      });
      try {
        const error = (await apply(url(), { ...FEW_QUERIES, concurrently }).then(
          () => undefined,
          (e: unknown) => e,
        )) as ReleaseError;
        expect(error).toBeInstanceOf(ReleaseError);
        expect(error.code).toBe("index-failed");
        expect(error.message).toContain(`Building ${CHUNK.countIndexName} on "Chunk" failed`);
        expect(error.message).toContain("CREATE INDEX refused by the test");
        expect(error.message).toContain(`The earlier ${CHUNK.countIndexName} is as it was.`);
        await withClient(url(), async (c) => {
          expect(await keysOf(c, CHUNK.countIndexName)).toEqual(["embeddingSpaceId"]);
          expect(await indexFacts(c, `${CHUNK.countIndexName}_rebuild`)).toBeUndefined();
        });
      } finally {
        await withClient(url(), async (c) => {
          await c.query(`DROP EVENT TRIGGER IF EXISTS count_index_test_refuse`);
          await c.query(`DROP SCHEMA IF EXISTS count_index_test CASCADE`);
          await recordSnapshotAsIs(c);
        });
      }
      expect(await plannedCountIndexes(url())).toEqual([
        [CHUNK.countIndexName, "rebuild", expect.any(String)],
      ]);
      expect((await apply(url(), FEW_QUERIES)).countIndexes.map((r) => r.action)).toEqual(["rebuild"]);
      await withClient(url(), async (c) => {
        expect(await keysOf(c, CHUNK.countIndexName)).toEqual(["organizationId", "embeddingSpaceId"]);
      });
    },
  );

  it("drops what an interrupted rebuild left under the temporary name, as it does a vector index's", async () => {
    // A rebuild stopped between its build and its swap: the new index under its temporary name, beside the
    // old one (here the current one, as after a swap that an operator finished by hand).
    const leftover = `${CHUNK.countIndexName}_rebuild`;
    await withClient(url(), async (c) => {
      await c.query(
        `CREATE INDEX "${leftover}" ON "Chunk" ("organizationId", "embeddingSpaceId") WHERE embedding IS NOT NULL`,
      );
    });
    const { lines } = await apply(url(), FEW_QUERIES);
    expect(lines).toContain(`${leftover}: dropping what an interrupted rebuild left`);
    expect(lines).toContainEqual(
      expect.stringContaining(`index public.${leftover} was left behind by an interrupted rebuild`),
    );
    await withClient(url(), async (c) => {
      expect(await indexFacts(c, leftover)).toBeUndefined();
      expect(await searchCountsFrom(c, CHUNK.countIndexName)).toBe(true);
    });
    expect((await apply(url(), FEW_QUERIES)).lines.join("\n")).not.toContain(leftover);
  });

  it("names the index and the cause when its build fails, and leaves the table as it was", async () => {
    await withClient(url(), async (c) => {
      await c.query(`DROP INDEX "${CHUNK.countIndexName}"`);
      // A relation of that name that is not an index: the build cannot create it. Recorded in the snapshot, as
      // if a release had made it: made by hand, apply would refuse it first, as drift before the release.
      await c.query(`CREATE TABLE "${CHUNK.countIndexName}" ()`);
      await recordSnapshotAsIs(c);
    });
    try {
      const error = (await apply(url(), { ...FEW_QUERIES, concurrently: true }).then(
        () => undefined,
        (e: unknown) => e,
      )) as ReleaseError;
      expect(error).toBeInstanceOf(ReleaseError);
      expect(error.code).toBe("index-failed");
      expect(error.message).toContain(`Building ${CHUNK.countIndexName} on "Chunk" failed`);
      expect(error.message).toContain("already exists");
      await withClient(url(), async (c) => {
        expect(await indexFacts(c, CHUNK.countIndexName)).toBeUndefined();
        const indexes = await c.query(`SELECT 1 FROM pg_index WHERE NOT indisvalid`);
        expect(indexes.rowCount).toBe(0);
      });
    } finally {
      await withClient(url(), async (c) => {
        await c.query(`DROP TABLE IF EXISTS "${CHUNK.countIndexName}"`);
        await recordSnapshotAsIs(c);
      });
    }
    expect((await apply(url(), FEW_QUERIES)).countIndexes.map((r) => r.action)).toEqual(["create"]);
  });

  it("drops the INVALID index a cancelled concurrent build leaves, and builds it on the next apply", async () => {
    await withClient(url(), (c) => c.query(`DROP INDEX "${CHUNK.countIndexName}"`));
    // A writer's open transaction holds the build in its wait for writers, after it has made the index INVALID.
    const writer = await holdTableLock(url(), '"Chunk"', "ROW EXCLUSIVE");
    const applying = apply(url(), { ...FEW_QUERIES, concurrently: true }).then(
      () => undefined,
      (e: unknown) => e as ReleaseError,
    );
    try {
      await withClient(url(), async (c) => {
        for (let i = 0; i < 2000; i++) {
          const waiting = await c.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_progress_create_index
              WHERE relid = '"Chunk"'::regclass AND phase = 'waiting for writers before build'`,
          );
          if (waiting.rows[0]) {
            await c.query("SELECT pg_cancel_backend($1)", [waiting.rows[0].pid]);
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        throw new Error("the build never waited for writers in pg_stat_progress_create_index");
      });
    } finally {
      await writer.release();
    }
    const error = await applying;
    expect(error).toBeInstanceOf(ReleaseError);
    expect(error!.message).toContain(`Building ${CHUNK.countIndexName} on "Chunk" failed`);
    expect(error!.message).toContain(`The INVALID index ${CHUNK.countIndexName} the build left was dropped`);
    await withClient(url(), async (c) => expect(await indexFacts(c, CHUNK.countIndexName)).toBeUndefined());

    const { countIndexes } = await apply(url(), { ...FEW_QUERIES, concurrently: true });
    expect(countIndexes.map((r) => [r.name, r.action])).toEqual([[CHUNK.countIndexName, "create"]]);
    await withClient(url(), async (c) =>
      expect(await indexFacts(c, CHUNK.countIndexName)).toMatchObject({ valid: true }),
    );
  });
});
