// An apply stopped in the calibration that follows a vector-index build (here by a row the calibration cannot
// measure; a signal or a lost connection stop it at the same point). The build is committed by then: the next
// plan calibrates the index it finds, and does not build it again as an index "changed outside a release" (a
// rebuild) or one "no release recorded" (a first build), which on an upgraded database with data cost a
// second build of the same index.
import { beforeAll, describe, expect, it } from "vitest";
import { isReleaseError } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import {
  clusteredVectors,
  copyChunks,
  createFixtures,
  writeWrongDimensionChunks,
  type EmbeddingFixtures,
} from "./data";
import { apply, indexFacts, planIndexes } from "./support";

const DIM = 64;
const NAME = "idx_chunk_embedding_cosine";
/** As many held-out queries as rows or more: each row is picked, the wrong one always meets the calibration. */
const STEP = { calibrationQueries: 500 };
const STOPPED =
  "the apply that built the index has not calibrated it (it stopped first, or is calibrating it now); the index is kept, not built again";

async function stoppedApply(url: string): Promise<void> {
  const error: unknown = await apply(url, STEP).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isReleaseError(error)) throw new Error(`expected a ReleaseError, got ${String(error)}`);
  expect(error.code).toBe("index-failed");
}

describe("an apply stopped in the calibration after a vector-index build", () => {
  const db = useTestDatabase("vistop");
  const url = () => db.current.url;
  let fixtures: EmbeddingFixtures;
  const source = clusteredVectors({ dimension: DIM, clusters: 4, spread: 0.5, seed: 9 });
  const oidOf = async () => withClient(url(), async (c) => (await indexFacts(c, NAME))?.oid);

  beforeAll(async () => {
    await apply(url(), STEP);
    await withClient(url(), async (c) => {
      fixtures = await createFixtures(c, [DIM]);
      await copyChunks(c, fixtures, { dimension: DIM, count: 40, source });
      await writeWrongDimensionChunks(c, fixtures, DIM, [["bad-first", 3]]);
    });
  });

  it("a first build: the next plan calibrates the index it left, and apply does only that", async () => {
    await stoppedApply(url());
    const built = await oidOf();
    expect(built).toBeDefined();
    const planned = (await planIndexes(url(), STEP)).find((p) => p.name === NAME);
    expect(planned).toMatchObject({ decision: "recalibrate", action: "update" });
    expect(planned?.reason).toBe(`calibrate ivfflat.probes: ${STOPPED}`);

    await withClient(url(), (c) => c.query(`DELETE FROM "Chunk" WHERE id = 'bad-first'`));
    const applied = await apply(url(), STEP);
    expect(applied.result.vectorIndexes.find((r) => r.name === NAME)?.action).toBe("update");
    expect(await oidOf()).toBe(built);
    expect((await planIndexes(url(), STEP)).find((p) => p.name === NAME)?.decision).toBe("keep");
  }, 120_000);

  it("a rebuild: the next plan calibrates the rebuilt index, not 'changed outside a release'", async () => {
    await withClient(url(), async (c) => {
      // Eleven times the rows of its one list: the plan rebuilds it with 4.
      await copyChunks(c, fixtures, { dimension: DIM, count: 400, source, firstIdx: 40 });
      await writeWrongDimensionChunks(c, fixtures, DIM, [["bad-rebuild", 5]]);
    });
    const before = await oidOf();
    expect((await planIndexes(url(), STEP)).find((p) => p.name === NAME)?.decision).toBe("rebuild");
    await stoppedApply(url());
    const rebuilt = await oidOf();
    expect(rebuilt).not.toBe(before);
    await withClient(url(), async (c) => {
      expect((await indexFacts(c, NAME))?.options).toEqual(["lists=4"]);
    });
    const planned = (await planIndexes(url(), STEP)).find((p) => p.name === NAME);
    expect(planned).toMatchObject({ decision: "recalibrate", action: "update" });
    expect(planned?.reason).toBe(`calibrate ivfflat.probes: ${STOPPED}`);

    await withClient(url(), (c) => c.query(`DELETE FROM "Chunk" WHERE id = 'bad-rebuild'`));
    const applied = await apply(url(), STEP);
    expect(applied.result.vectorIndexes.find((r) => r.name === NAME)?.action).toBe("update");
    expect(applied.lines.join("\n")).toContain(`${NAME}: calibrate ivfflat.probes: ${STOPPED}`);
    expect(await oidOf()).toBe(rebuilt);
    expect((await planIndexes(url(), STEP)).find((p) => p.name === NAME)?.decision).toBe("keep");
  }, 180_000);
});
