// The schema release in the `local` stack's program, under the mock runtime: after the access layer, as the
// migrator, with the demo seed set, and a provider that serializes without capturing anything of this run.
import { beforeAll, describe, expect, it } from "vitest";
import { completeVectorIndexOptions } from "../../core";
import { runStack, type ProgramRun } from "./support/program";
import { DYNAMIC_TYPES } from "./support/release-inputs";
import {
  expectMigratorAndCleanProvider,
  expectOrderedAfterAccess,
  expectSummaryOutput,
} from "./support/stack-contract";

const ADMIN_PASSWORD = "LocalAdminSecret0123456789";

let run: ProgramRun;

beforeAll(async () => {
  run = await runStack(
    "local",
    { "neonhub-db:adminUrl": `postgresql://postgres:${ADMIN_PASSWORD}@127.0.0.1:54329/postgres` },
    ["neonhub-db:adminUrl"],
  );
});

describe("local stack: schema release", () => {
  it("runs migrations, seeds and vector indexes in that order, after the whole access layer", () => {
    expectOrderedAfterAccess(run);
  });

  it("connects as the migrator, never the admin, and serializes a provider that holds no secret or path", () => {
    expectMigratorAndCleanProvider(run, [ADMIN_PASSWORD]);
  });

  it("applies the demo seed set and keeps data on destroy by default", () => {
    const seeds = run.world.one(DYNAMIC_TYPES.seedSets);
    expect(Object.keys(seeds.inputs.seedSets as object)).toEqual(["demo"]);
    // The settings resolved once, every default written out: the provider applies and records exactly these.
    expect(seeds.inputs.steps).toEqual({
      seedSets: ["demo"],
      rowLevelSecurity: "enforce",
      vectorIndexes: completeVectorIndexOptions(),
    });
    for (const type of Object.values(DYNAMIC_TYPES)) {
      expect(run.world.one(type).inputs).toMatchObject({ dropOnDelete: false, lockTimeoutMs: 60_000 });
    }
  });

  it("carries every migration file's checksum in the migrations resource's inputs", () => {
    const manifest = run.world.one(DYNAMIC_TYPES.migrations).inputs.migrations as Record<string, string>;
    expect(Object.keys(manifest)[0]).toBe("20250126000100_extensions");
    for (const checksum of Object.values(manifest)) expect(checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it("exports the release summary as a non-secret output", async () => {
    await expectSummaryOutput(run);
  });
});
