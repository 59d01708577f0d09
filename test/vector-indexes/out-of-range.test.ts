// Rows of a 3072-dimension space stored before the dimension trigger refused components beyond halfvec's range
// (migration 20261205060000), as an existing database has them: the index build, over a halfvec expression,
// fails, and the release names the rows, their components and the fix, leaving what a failed build leaves.
import { beforeAll, describe, expect, it } from "vitest";
import {
  isReleaseError,
  normalizeOutOfRangeSql,
  outOfRangeRowsSql,
  readIndexRecords,
  type ReleaseError,
} from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { clusteredVectors, copyMessages, createFixtures, vectorText } from "./data";
import { MESSAGE, apply, applyMigrationsBefore, indexFacts, indexNames, type IndexFacts } from "./support";

const DIM = 3072;
const NAME = "idx_message_embedding_cosine";
/** id -> [component, value]: seven rows, more than the error lists; 65519.5 is one pgvector would round. */
const BAD: Record<string, [number, number]> = {
  "message-3072-10": [7, 100000],
  "message-3072-11": [0, -70000],
  "message-3072-12": [3071, 65519.5],
  "message-3072-13": [100, 1e9],
  "message-3072-14": [5, 65505],
  "message-3072-15": [6, -1e6],
  "message-3072-16": [8, 80000],
};

async function failedApply(url: string, concurrently: boolean): Promise<ReleaseError> {
  const error: unknown = await apply(url, { concurrently, calibrationQueries: 20 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isReleaseError(error)) throw new Error(`expected a ReleaseError, got ${String(error)}`);
  return error;
}

describe("rows stored before the halfvec range check", () => {
  const db = useTestDatabase("vioor");
  const url = () => db.current.url;

  beforeAll(async () => {
    await applyMigrationsBefore(url(), "20261205060000");
    await withClient(url(), async (c) => {
      const fixtures = await createFixtures(c, [DIM]);
      const source = clusteredVectors({ dimension: DIM, clusters: 5, spread: 0.5, seed: 11 });
      await copyMessages(c, fixtures, { dimension: DIM, count: 300, source });
      // The dimension trigger of that release checks the dimension only: these updates are stored.
      for (const [id, [component, value]] of Object.entries(BAD)) {
        const v = source.next();
        v[component] = value;
        await c.query(`UPDATE "Message" SET "embedding" = $1::vector WHERE "id" = $2`, [vectorText(v), id]);
      }
    });
  });

  it.each([false, true])(
    "apply fails naming the table, the rows, their components and the fix (concurrently: %s)",
    async (concurrently) => {
      const error = await failedApply(url(), concurrently);
      expect(error.code).toBe("index-failed");
      const lines = error.message.split("\n");
      expect(lines[0]).toMatch(
        new RegExp(
          `^Building ${NAME} \\(ivfflat lists=3, 300 rows\\) failed: "[^"]+" is out of range for type halfvec$`,
        ),
      );
      expect(lines.slice(1, -1)).toEqual([
        `"Message" has 7 rows of 3072 dimensions with a component beyond ±65504, the largest a halfvec holds ` +
          `(above 2,000 dimensions the index is over "embedding"::halfvec(3072), and rows stored before ` +
          `migration 20261205060000 were not checked by the trigger that now refuses them):`,
        `- "Message" "message-3072-10": embedding value 7 is 100000`,
        `- "Message" "message-3072-11": embedding value 0 is -70000`,
        `- "Message" "message-3072-12": embedding value 3071 is 65519.5`,
        `- "Message" "message-3072-13": embedding value 100 is 1000000000`,
        `- "Message" "message-3072-14": embedding value 5 is 65505`,
        `- and 2 more`,
      ]);
      expect(lines.at(-1)).toBe(
        concurrently
          ? `The INVALID index ${NAME} the build left was dropped.`
          : "Nothing changed for this index (the build rolled back).",
      );
      expect(error.fix).toContain(`Find them all with: ${outOfRangeRowsSql(MESSAGE, DIM)};`);
      expect(error.fix).toContain(normalizeOutOfRangeSql(MESSAGE, DIM));

      // What a failed build leaves: the migrations applied, no index under either name, no record of it.
      await withClient(url(), async (c) => {
        const ledger = await c.query<{ name: string }>(
          "SELECT name FROM neonhub_release.migrations ORDER BY name DESC LIMIT 1",
        );
        expect(ledger.rows[0]!.name >= "20261205060100").toBe(true);
        expect(await indexNames(c, "Message", NAME)).toEqual([]);
        expect(await readIndexRecords(c)).toEqual([]);
        expect((await indexFacts(c, MESSAGE.countIndexName)) as IndexFacts).toMatchObject({ valid: true });
      });
    },
  );

  it("finds every row with the fix's query; after the fix's UPDATE the next apply builds the index once no transaction older than it is open", async () => {
    // A transaction open since before the correction: the build still reads the rows' old versions for it.
    await withClient(url(), async (older) => {
      await older.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
      await older.query(`SELECT count(*) FROM "Message"`);
      await withClient(url(), async (c) => {
        const found = await c.query<{ id: string; component: number; value: number }>(
          outOfRangeRowsSql(MESSAGE, DIM),
        );
        expect(found.rows.map((r) => [r.id, [r.component, r.value]])).toEqual(Object.entries(BAD));
        const updated = await c.query(normalizeOutOfRangeSql(MESSAGE, DIM));
        expect(updated.rowCount).toBe(7);
      });
      const error = await failedApply(url(), false);
      expect(error.code).toBe("index-failed");
      expect(error.message).toContain(
        `No row of "Message" of 3072 dimensions now has a component beyond ±65504, the largest a halfvec holds: ` +
          `the build also read old versions of rows changed since a transaction still open began`,
      );
      expect(error.fix).toContain(
        "Run apply again once the transactions open since before the rows were corrected have ended, in any database of the server",
      );
      await older.query("COMMIT");
    });
    // The error's fix, followed: apply again once no transaction older than the correction is open, VACUUM
    // removing the old versions meanwhile. A snapshot keeps every version changed since the oldest transaction
    // running anywhere on the server began, so the suite's other files (other databases of the same cluster)
    // may hold them for a while, the build's own snapshot too: the test follows the fix as an operator would,
    // for as long as the error is this one.
    const deadline = Date.now() + 120_000;
    let applied: Awaited<ReturnType<typeof apply>> | undefined;
    while (!applied) {
      applied = await apply(url(), { calibrationQueries: 20 }).catch(async (error: unknown) => {
        const oldVersions =
          isReleaseError(error) && error.message.includes("the build also read old versions");
        if (!oldVersions || Date.now() > deadline) throw error;
        await withClient(url(), (c) => c.query(`VACUUM "Message"`));
        await new Promise((resolve) => setTimeout(resolve, 200));
        return undefined;
      });
    }
    expect(applied.result.vectorIndexes.map((r) => [r.name, r.action])).toEqual([
      ["idx_chunk_embedding_cosine", "unchanged"],
      [NAME, "create"],
    ]);
  }, 180_000);
});
