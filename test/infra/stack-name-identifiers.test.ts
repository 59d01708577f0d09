// A production stack named "Prod": its AWS identifiers are the ones it always had (neonhub-db-prod, which a
// stack named "prod" gets too), and the program warns that such names collide in one account and region.
import { beforeAll, describe, expect, it } from "vitest";
import { capturePrinted } from "../security/printed";
import { MockWorld, installMocks, runProgram, stackConfig } from "./harness";

let world: MockWorld;
let printed: string;

beforeAll(async () => {
  world = await installMocks({
    stack: "Prod",
    config: stackConfig("prod", { "neonhub-db:allowedCidrs": JSON.stringify(["10.0.0.0/16"]) }),
  });
  printed = await capturePrinted(() => runProgram(() => import("../../index")));
});

describe('a stack named "Prod"', () => {
  it("keeps the identifiers a stack of that name has always had", () => {
    expect(world.one("aws:rds/instance:Instance").inputs.identifier).toBe("neonhub-db-prod");
    expect(world.one("aws:kms/alias:Alias").inputs.name).toBe("alias/neonhub-db-prod");
    expect(world.one("aws:sns/topic:Topic").inputs.name).toBe("neonhub-db-prod-alarms");
  });

  it("warns that the stack prod would get the same identifiers", () => {
    expect(printed).toContain(
      'stack "Prod" names its AWS resources neonhub-db-prod, as the stack "prod" would',
    );
  });
});
