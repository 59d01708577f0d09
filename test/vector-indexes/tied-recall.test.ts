// Recall counts rows at the same distance alike: a corpus where every embedding is stored many times over (the
// same boilerplate chunk in many documents) has as many rows at the exact 10th distance as copies of it, and
// which of them the exact top 10 names and which the index returns is the order of a scan. Counted by id, even
// the index read whole (every list probed) missed half of them, and the release recorded the largest setting
// with "target out of reach".
import { beforeAll, describe, expect, it } from "vitest";
import { calibrate, readIndexRecords, recallOf } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { clusteredVectors, copyChunks, createFixtures } from "./data";
import { CHUNK, apply } from "./support";

const DIM = 32;
/** Distinct embeddings, each stored COPIES times: 3,000 rows. */
const DISTINCT = 150;
const COPIES = 20;

describe("recall@10 of rows at the same distance", () => {
  it("counts a row at the exact 10th distance as a hit, whichever copy the exact top 10 named", () => {
    const exact = [
      ...Array.from({ length: 8 }, (_, i) => ({ id: `near-${i}`, distance: 0.1 + i / 100 })),
      { id: "copy-a", distance: 0.3 },
      { id: "copy-b", distance: 0.3 },
    ];
    const others = [...exact.slice(0, 8), { id: "copy-c", distance: 0.3 }, { id: "copy-d", distance: 0.3 }];
    expect(recallOf(exact, others)).toBe(1);
    // A row beyond the 10th distance is a miss, as before.
    expect(recallOf(exact, [...exact.slice(0, 9), { id: "far", distance: 0.300001 }])).toBe(0.9);
    // Each returned row counts once, and never more rows than the exact answer has.
    expect(recallOf(exact, [...exact.slice(0, 9), exact[0]!])).toBe(0.9);
    expect(recallOf(exact.slice(0, 2), exact)).toBe(1);
    // Nothing to find: nothing missed.
    expect(recallOf([], [])).toBe(1);
    // A row at an undefined distance (a zero vector) is a hit only by its id.
    const withNaN = [...exact.slice(0, 9), { id: "zero", distance: NaN }];
    expect(recallOf(withNaN, withNaN)).toBe(1);
    expect(recallOf(withNaN, [...exact.slice(0, 9), { id: "other-zero", distance: NaN }])).toBe(0.9);
  });

  describe("the index calibration, on a corpus of copies", () => {
    const db = useTestDatabase("ties");
    const url = () => db.current.url;

    beforeAll(async () => {
      await apply(url());
      const fixtures = await withClient(url(), (c) => createFixtures(c, [DIM]));
      const clustered = clusteredVectors({ dimension: DIM, clusters: 30, spread: 1.0, seed: 31 });
      const distinct = Array.from({ length: DISTINCT }, () => clustered.next());
      let i = 0;
      const copies = { next: () => distinct[i++ % DISTINCT]! };
      await withClient(url(), (c) =>
        copyChunks(c, fixtures, { dimension: DIM, count: DISTINCT * COPIES, source: copies }),
      );
    });

    it("reaches the target and records recall 1 once every list is probed", async () => {
      const { result } = await apply(url());
      const record = await withClient(url(), async (c) =>
        (await readIndexRecords(c)).find((r) => r.name === CHUNK.indexName),
      );
      expect(result.vectorIndexes.map((i) => i.name)).toContain(CHUNK.indexName);
      expect(record?.calibration).toMatchObject({ setting: "ivfflat.probes", targetReached: true });
      const lists = (record!.params as { lists: number }).lists;
      expect(record!.calibration.value).toBeLessThan(lists);
      // At every list (the index read whole), nothing is missed.
      await withClient(url(), async (c) => {
        const definition = {
          name: record!.name,
          table: CHUNK,
          dimension: record!.dimension,
          method: record!.method,
          params: record!.params,
        };
        const whole = await calibrate(c, definition, record!.calibration.rows, {
          targetRecall: 1,
          queries: 50,
          minValue: lists,
        });
        expect([whole.value, whole.recall, whole.targetReached]).toEqual([lists, 1, true]);
      });
    });
  });
});
