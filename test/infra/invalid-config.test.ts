// A stack with invalid config fails before the program registers a single resource.
import { beforeAll, describe, expect, it } from "vitest";
import { MockWorld, programOnInvalidConfig } from "./harness";

let world: MockWorld;
let failure: unknown;

beforeAll(async () => {
  ({ world, failure } = await programOnInvalidConfig({
    "neonhub-db:dockerPort": "80",
    "neonhub-db:workload": "analytics",
    "neonhub-db:dockerport": "55432",
  }));
});

describe("invalid stack config", () => {
  it("fails with one message naming every bad key, its problem and an example", () => {
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toMatch(/3 problems/);
    expect(message).toMatch(
      /neonhub-db:dockerPort: must be a whole number from 1024 to 65535 \(got "80"\)\. Example: pulumi config set --stack dev neonhub-db:dockerPort 55432/,
    );
    expect(message).toMatch(
      /neonhub-db:workload: must be one of web, oltp, dw, mixed, desktop \(got "analytics"\)/,
    );
    expect(message).toMatch(
      /neonhub-db:dockerport: is not a setting .*did you mean neonhub-db:dockerPort\?.*Example: pulumi config rm --stack dev neonhub-db:dockerport$/m,
    );
  });

  it("registers no resource", () => {
    expect(world.resources).toEqual([]);
  });
});
