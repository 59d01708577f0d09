// An RDS stack that pins a minor: it deploys as before, and every preview warns that RDS's automatic minor
// upgrades will make a later `pulumi up` ask for a downgrade, with the key, the value and the fix.
import { beforeAll, describe, expect, it } from "vitest";
import { capturePrinted } from "../security/printed";
import { MockWorld, RecordedResource, installMocks, runProgram, stackConfig } from "./harness";

let world: MockWorld;
let instance: RecordedResource;
let printed: string;

beforeAll(async () => {
  world = await installMocks({
    stack: "prod",
    config: stackConfig("prod", {
      "neonhub-db:engineVersion": "16.4",
      "neonhub-db:allowedCidrs": JSON.stringify(["10.0.0.0/16"]),
    }),
  });
  printed = await capturePrinted(() => runProgram(() => import("../../index")));
  instance = world.one("aws:rds/instance:Instance");
});

describe("an RDS stack with engineVersion 16.4", () => {
  it("still creates the instance at that version, with automatic minor upgrades", () => {
    expect(instance.inputs).toMatchObject({
      engine: "postgres",
      engineVersion: "16.4",
      autoMinorVersionUpgrade: true,
    });
    expect(instance.opts.ignoreChanges).toBeUndefined();
  });

  it("warns that a later up would ask for a downgrade, and names the fix", () => {
    expect(printed).toContain('neonhub-db:engineVersion "16.4" pins a minor version');
    expect(printed).toContain("asks for 16.4 again, a downgrade AWS refuses");
    // On the stack the preview ran for, whichever stack is selected.
    expect(printed).toContain("pulumi config set --stack prod neonhub-db:engineVersion 16 ");
  });
});
