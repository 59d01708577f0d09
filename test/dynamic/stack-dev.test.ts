// The schema release in the `dev` stack's program (Docker server), under the mock runtime.
import { beforeAll, describe, expect, it } from "vitest";
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
        steps: { seedSets: ["demo"] },
      });
    }
  });

  it("exports the release summary", async () => {
    await expectSummaryOutput(run);
  });
});
