// Rows whose embedding has another dimension than their embedding space: corruption the dimension trigger
// refuses, written here as the owner with the trigger disabled (before migration 20261206020000 the app could
// write them through a temporary table named "EmbeddingSpace"). The calibrations compare a dimension's rows
// with each other: apply stopped with pgvector's bare "different vector dimensions", which the CLI reported as
// a bug. It now fails with a release error naming the table, the rows and the fix, at a first build and at a
// recalibration alike, and applies once the rows are corrected.
import type { ClientBase } from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { isReleaseError, wrongDimensionRowsSql, type ReleaseError } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import {
  clusteredVectors,
  copyChunks,
  createFixtures,
  writeWrongDimensionChunks,
  type EmbeddingFixtures,
} from "./data";
import { CHUNK, apply, planIndexes } from "./support";

const DIM = 64;
const NAME = "idx_chunk_embedding_cosine";
/**
 * Each held-out query is the sum of two rows picked in a pseudo-random order: with as many queries as there are
 * rows every row is picked, so a wrong one always meets the calibration (with fewer, only when it is picked).
 */
const STEP = { calibrationQueries: 300 };

async function failedApply(url: string): Promise<ReleaseError> {
  const error: unknown = await apply(url, STEP).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isReleaseError(error)) throw new Error(`expected a ReleaseError, got ${String(error)}`);
  return error;
}

/** Chunks of `dims` dimensions in the DIM-dimension space, written around the dimension trigger. */
const writeWrongDimension = (c: ClientBase, fixtures: EmbeddingFixtures, rows: [string, number][]) =>
  writeWrongDimensionChunks(c, fixtures, DIM, rows);

describe("rows whose embedding has another dimension than their space", () => {
  const db = useTestDatabase("viwd");
  const url = () => db.current.url;
  let fixtures: EmbeddingFixtures;
  const source = clusteredVectors({ dimension: DIM, clusters: 4, spread: 0.5, seed: 5 });

  beforeAll(async () => {
    await apply(url(), STEP);
    await withClient(url(), async (c) => {
      fixtures = await createFixtures(c, [DIM]);
      await copyChunks(c, fixtures, { dimension: DIM, count: 40, source });
      await writeWrongDimension(c, fixtures, [["bad-3", 3]]);
    });
  });

  it("fail the first build's calibration with the table, the row and the fix, not a bug report", async () => {
    const error = await failedApply(url());
    expect(error.code).toBe("index-failed");
    const lines = error.message.split("\n");
    expect(lines[0]).toMatch(
      new RegExp(`^Calibrating ${NAME} failed: different vector dimensions (?:${DIM} and 3|3 and ${DIM})$`),
    );
    expect(lines.slice(1)).toEqual([
      `"Chunk" has 1 row in embedding spaces of ${DIM} dimensions whose "embedding" has another number of ` +
        `dimensions (the trigger check_embedding_dimension refuses such rows: they were written with it ` +
        `disabled, or before migration 20261206020000 by a session whose temporary table named ` +
        `"EmbeddingSpace" gave it another dimension):`,
      `- "Chunk" "bad-3": 3 dimensions, in embedding space "${fixtures.spaces.get(DIM)}"`,
      "The index stays; the release stopped before recording this calibration in full.",
    ]);
    expect(error.fix).toContain(`Find them all with: ${wrongDimensionRowsSql(CHUNK, DIM)};`);
    expect(error.fix).toContain(`ALTER TABLE "Chunk" ENABLE TRIGGER check_embedding_dimension`);
  }, 120_000);

  it("fail a recalibration alike, listing a few rows and how many more; apply goes through once they are deleted", async () => {
    await withClient(url(), async (c) => {
      await c.query(`DELETE FROM "Chunk" WHERE id = 'bad-3'`);
    });
    const built = await apply(url(), STEP);
    expect(built.result.vectorIndexes.map((r) => r.name)).toContain(NAME);
    await withClient(url(), async (c) => {
      // Over twice the rows the index was calibrated on, still one IVFFlat list: the next apply recalibrates.
      await copyChunks(c, fixtures, { dimension: DIM, count: 50, source, firstIdx: 40 });
      await writeWrongDimension(
        c,
        fixtures,
        Array.from({ length: 7 }, (_, i): [string, number] => [`bad-${i}`, 2 + i]),
      );
    });
    const planned = await planIndexes(url(), STEP);
    expect(planned.find((p) => p.name === NAME)?.decision).toBe("recalibrate");
    const error = await failedApply(url());
    expect(error.code).toBe("index-failed");
    const lines = error.message.split("\n");
    expect(lines[0]).toMatch(new RegExp(`^Calibrating ${NAME} failed: `));
    expect(lines[1]).toMatch(/^"Chunk" has 7 rows in embedding spaces of 64 dimensions whose "embedding"/);
    expect(lines.slice(2)).toEqual([
      `- "Chunk" "bad-0": 2 dimensions, in embedding space "${fixtures.spaces.get(DIM)}"`,
      `- "Chunk" "bad-1": 3 dimensions, in embedding space "${fixtures.spaces.get(DIM)}"`,
      `- "Chunk" "bad-2": 4 dimensions, in embedding space "${fixtures.spaces.get(DIM)}"`,
      `- "Chunk" "bad-3": 5 dimensions, in embedding space "${fixtures.spaces.get(DIM)}"`,
      `- "Chunk" "bad-4": 6 dimensions, in embedding space "${fixtures.spaces.get(DIM)}"`,
      `- and 2 more`,
      "The index stays; the release stopped before recording this calibration in full.",
    ]);
    // The fix's query finds them all; deleted, apply recalibrates.
    await withClient(url(), async (c) => {
      const found = await c.query<{ id: string }>(wrongDimensionRowsSql(CHUNK, DIM));
      expect(found.rows.map((r) => r.id)).toEqual(Array.from({ length: 7 }, (_, i) => `bad-${i}`));
      await c.query(`DELETE FROM "Chunk" WHERE id LIKE 'bad-%'`);
    });
    const applied = await apply(url(), STEP);
    expect(applied.result.vectorIndexes.find((r) => r.name === NAME)?.action).toBe("update");
    expect(applied.lines.join("\n")).toContain(`${NAME}: recalibrate`);
  }, 180_000);
});
