// The schema release in the `dev` stack's program (Docker server), under the mock runtime.
import { beforeAll, describe, expect, it } from "vitest";
import { buildReleaseManifest, DEFAULT_MIGRATIONS_DIR } from "../../core";
import { defaultReleaseSteps } from "../../core";
import { manifestMap } from "../../infra/dynamic/part-args";
import { runStack, type ProgramRun } from "./support/program";
import { DYNAMIC_TYPES } from "./support/release-inputs";
import {
  expectMigratorAndCleanProvider,
  expectOrderedAfterAccess,
  expectSummaryOutput,
} from "./support/stack-contract";

let run: ProgramRun;

beforeAll(async () => {
  run = await runStack("dev", {
    "neonhub-db:dropSchemaOnDelete": "true",
    "neonhub-db:releaseLockTimeoutSeconds": "5",
    "neonhub-db:vectorIndexes": JSON.stringify({ method: "hnsw" }),
  });
});

describe("dev stack: schema release", () => {
  it("runs after the access layer, as the migrator", () => {
    expectOrderedAfterAccess(run);
    expectMigratorAndCleanProvider(run);
  });

  it("passes the stack's seed sets, drop opt-in and lock timeout to every part", () => {
    expect(Object.keys(run.world.one(DYNAMIC_TYPES.seedSets).inputs.seedSets as object)).toEqual(["demo"]);
    for (const type of Object.values(DYNAMIC_TYPES)) {
      expect(run.world.one(type).inputs).toMatchObject({
        dropOnDelete: true,
        lockTimeoutMs: 5_000,
        steps: { seedSets: ["demo"], vectorIndexes: { method: "hnsw" } },
      });
    }
  });

  it("carries the vector index definitions the options give, by name", () => {
    const manifest = run.world.one(DYNAMIC_TYPES.vectorIndexes).inputs.vectorIndexes as Record<
      string,
      string
    >;
    const steps = defaultReleaseSteps({ seedSets: [] });
    const defaults = manifestMap(
      buildReleaseManifest({ migrationsDir: DEFAULT_MIGRATIONS_DIR, steps }).vectorIndexes,
    );
    expect(Object.keys(defaults).length).toBeGreaterThan(0);
    expect(Object.keys(manifest)).toEqual(Object.keys(defaults));
    for (const name of Object.keys(defaults)) expect(manifest[name], name).not.toBe(defaults[name]);
  });

  it("exports the release summary", async () => {
    await expectSummaryOutput(run);
  });
});
