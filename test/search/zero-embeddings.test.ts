// Zero vectors stored as embeddings before the dimension trigger refused them (migration 20261205060100), as an
// existing database has them: their cosine distance to anything is NaN. pgvector leaves them out of a cosine
// index, and the search functions leave them out of their results: no row comes back with distance NaN.
import { beforeAll, describe, expect, it } from "vitest";
import { EMBEDDING_TABLES, nearestQuery } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import {
  clusteredVectors,
  copyChunks,
  copyMessages,
  createFixtures,
  vectorText,
} from "../vector-indexes/data";
import { apply, applyMigrationsBefore } from "../vector-indexes/support";

const DIM = 16;
const ROWS = 20;
const ZERO = `[${Array(DIM).fill(0).join(",")}]`;
/** The rows made zero vectors: ids end in -0, -1, -2. */
const ZEROED = [0, 1, 2];

describe.each(["ivfflat", "hnsw"] as const)(
  "zero-vector embeddings stored before the check (%s)",
  (method) => {
    const db = useTestDatabase("zeroemb");
    const url = () => db.current.url;
    const source = clusteredVectors({ dimension: DIM, clusters: 4, spread: 0.5, seed: 21 });
    let organizationId: string;

    beforeAll(async () => {
      await applyMigrationsBefore(url(), "20261205060100");
      await withClient(url(), async (c) => {
        const fixtures = await createFixtures(c, [DIM]);
        organizationId = fixtures.organizationId;
        await copyMessages(c, fixtures, { dimension: DIM, count: ROWS, source });
        await copyChunks(c, fixtures, { dimension: DIM, count: ROWS, source });
        // The dimension trigger of that release does not refuse the zero vector: these updates are stored.
        for (const i of ZEROED) {
          await c.query(`UPDATE "Message" SET "embedding" = $1::vector WHERE "id" = $2`, [
            ZERO,
            `message-${DIM}-${i}`,
          ]);
          await c.query(`UPDATE "Chunk" SET "embedding" = $1::vector WHERE "id" = $2`, [
            ZERO,
            `chunk-${DIM}-${i}`,
          ]);
        }
      });
      await apply(url(), { method, calibrationQueries: 10 });
    });

    const isZeroed = (id: string) => ZEROED.some((i) => id.endsWith(`-${DIM}-${i}`));

    it("the cosine index leaves them out: a search reading every list or node never returns them", async () => {
      await withClient(url(), async (c) => {
        for (const table of EMBEDDING_TABLES) {
          await c.query("BEGIN");
          await c.query("SET LOCAL enable_seqscan = off");
          await c.query(
            method === "ivfflat" ? "SET LOCAL ivfflat.probes = 1000" : "SET LOCAL hnsw.ef_search = 1000",
          );
          const found = await c.query<{ id: string }>(nearestQuery(table, DIM, 1000), [
            vectorText(source.next()),
          ]);
          await c.query("ROLLBACK");
          expect(found.rows.filter((r) => isZeroed(r.id))).toEqual([]);
          expect(found.rows.length).toBe(ROWS - ZEROED.length);
        }
      });
    });

    it.each([
      ["search_messages", "$1::vector"],
      ["search_messages", "$1"],
      ["search_chunks", "$1::vector"],
      ["search_chunks", "$1"],
    ])(
      "%s(%s, k) returns the other rows, none with distance NaN, also when k exceeds them",
      async (fn, arg) => {
        await withClient(url(), async (c) => {
          for (const k of [10, ROWS, 1000]) {
            await c.query("BEGIN");
            await c.query("SELECT set_config('app.current_organization_id', $1, true)", [organizationId]);
            const found = await c.query<{ id: string; distance: number }>(
              `SELECT id, distance FROM ${fn}(${arg}, ${k})`,
              [vectorText(source.next())],
            );
            await c.query("ROLLBACK");
            expect(found.rows.filter((r) => Number.isNaN(r.distance) || isZeroed(r.id))).toEqual([]);
            expect(found.rows.length).toBe(Math.min(k, ROWS - ZEROED.length));
            const distances = found.rows.map((r) => r.distance);
            expect(distances).toEqual([...distances].sort((a, b) => a - b));
          }
        });
      },
    );
  },
);
