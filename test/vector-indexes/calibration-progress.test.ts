// A calibration takes longer than the build it follows (on 20,000 chunks of 3,072 dimensions, 40 s for the
// index and 98-172 s for the tenant search after a 19 s build), and apply said nothing while it ran. It now
// says, every progressIntervalMs, how long it has run and how many statements it has sent, and stops saying it
// once the calibration ends, however it ends.
import { beforeAll, describe, expect, it } from "vitest";
import { collectingLogger, withCalibrationProgress } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { clusteredVectors, copyChunks, createFixtures } from "./data";
import { apply } from "./support";

const DIM = 64;
const NAME = "idx_chunk_embedding_cosine";
const LINE = /^(.+): (\d+) s so far, ([\d,]+) statements sent$/;

/** The statement counts of `label`'s progress lines, in order. */
const countsOf = (lines: readonly string[], label: string) =>
  lines
    .map((l) => LINE.exec(l))
    .filter((m): m is RegExpExecArray => m !== null && m[1] === label)
    .map((m) => Number(m[3]!.replace(/,/g, "")));

describe("progress of a calibration", () => {
  const db = useTestDatabase("calprogress");
  const url = () => db.current.url;

  beforeAll(async () => {
    await apply(url());
    await withClient(url(), async (c) => {
      const fixtures = await createFixtures(c, [DIM]);
      const source = clusteredVectors({ dimension: DIM, clusters: 8, spread: 0.5, seed: 4 });
      await copyChunks(c, fixtures, { dimension: DIM, count: 300, source });
    });
  });

  it("says the statements sent while a calibration waits on the server, and nothing once it ended", async () => {
    const log = collectingLogger();
    await withClient(url(), async (client) => {
      const slept = await withCalibrationProgress(
        client,
        { label: "idx_test: calibrating", intervalMs: 10, log },
        async (counted) => {
          for (let i = 0; i < 3; i++) await counted.query("SELECT pg_sleep(0.1)");
          return "done";
        },
      );
      expect(slept).toBe("done");
      const counts = countsOf(log.lines, "idx_test: calibrating");
      expect(counts.length).toBeGreaterThan(0);
      expect(log.lines.length).toBe(counts.length);
      // Each count is of statements sent by then: never more than the three, never going back.
      expect(counts.every((n, i) => n >= 1 && n <= 3 && (i === 0 || n >= counts[i - 1]!))).toBe(true);

      const failing = withCalibrationProgress(
        client,
        { label: "idx_test: failing", intervalMs: 10, log },
        async (counted) => {
          await counted.query("SELECT pg_sleep(0.05)");
          await counted.query("SELECT 1/0");
        },
      );
      await expect(failing).rejects.toThrow("division by zero");
      const ended = log.lines.length;
      // Another statement's wait on the server: no line comes from a calibration that has ended.
      await client.query("SELECT pg_sleep(0.1)");
      expect(log.lines.length).toBe(ended);
    });
  });

  it("apply says it between the build and the calibration's result", async () => {
    const { lines } = await apply(url(), { progressIntervalMs: 10 });
    const built = lines.findIndex((l) => l.startsWith(`${NAME} (ivfflat`) && l.includes("built in"));
    const result = lines.findIndex((l) => l.startsWith(`${NAME}: ivfflat.probes = `));
    expect(built, lines.join("\n")).toBeGreaterThan(-1);
    expect(result).toBeGreaterThan(built);
    const label = `${NAME}: calibrating ivfflat.probes`;
    const progress = lines.map((l, i) => (LINE.exec(l)?.[1] === label ? i : -1)).filter((i) => i >= 0);
    expect(progress.length, lines.join("\n")).toBeGreaterThan(0);
    expect(progress.every((i) => i > built && i < result)).toBe(true);
    expect(countsOf(lines, label).every((n) => n > 0)).toBe(true);
  });
});
