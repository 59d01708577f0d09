// The schema release in the `prod` stack's program (RDS), under the mock runtime: no demo data in production.
import { beforeAll, describe, expect, it } from "vitest";
import { MASTER_PASSWORD } from "../infra/harness";
import { runStack, type ProgramRun } from "./support/program";
import { DYNAMIC_TYPES } from "./support/release-inputs";
import {
  expectMigratorAndCleanProvider,
  expectOrderedAfterAccess,
  expectSummaryOutput,
} from "./support/stack-contract";

let run: ProgramRun;

beforeAll(async () => {
  run = await runStack("prod", {
    "neonhub-db:allowedCidrs": JSON.stringify(["10.0.0.0/16"]),
    "neonhub-db:allowedSecurityGroupIds": JSON.stringify(["sg-0123456789abcdef0"]),
  });
});

describe("prod stack: schema release", () => {
  it("runs after the access layer, as the migrator, never with the RDS master password", () => {
    expectOrderedAfterAccess(run);
    expectMigratorAndCleanProvider(run, [MASTER_PASSWORD]);
  });

  it("seeds nothing and keeps the schema on destroy", () => {
    expect(run.world.one(DYNAMIC_TYPES.seedSets).inputs).toMatchObject({
      seedSets: {},
      steps: { seedSets: [] },
    });
    for (const type of Object.values(DYNAMIC_TYPES)) {
      expect(run.world.one(type).inputs.dropOnDelete).toBe(false);
    }
  });

  it("exports the release summary", async () => {
    await expectSummaryOutput(run);
  });
});
