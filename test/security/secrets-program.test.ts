// The Pulumi program under the mock runtime with known passwords (the admin's, in secret config, and every
// generated one): none of them is printed or logged while it runs, given to a resource in plain text, or
// exported unencrypted. The stack tests in test/infra check the same inputs and outputs stack by stack; this
// adds what the program prints.
import { beforeAll, describe, expect, it } from "vitest";
import { expectNoPlainTextPasswordInputs, expectSecretOutputs } from "../infra/contract";
import { installMocks, runProgram, stackConfig, type MockWorld } from "../infra/harness";
import { capturePrinted } from "./printed";

const ADMIN_PASSWORD = "Kn0wnLocalAdminSecret0123";

let world: MockWorld;
let program: Record<string, unknown> = {};
let printed = "";

beforeAll(async () => {
  world = await installMocks({
    stack: "local",
    config: stackConfig("local", {
      "neonhub-db:adminUrl": `postgresql://postgres:${ADMIN_PASSWORD}@127.0.0.1:54329/postgres`,
    }),
    secretKeys: ["neonhub-db:adminUrl"],
  });
  printed = await capturePrinted(async () => {
    program = await runProgram(() => import("../../index"));
  });
});

describe("the local stack's program with known passwords", () => {
  it("prints and logs none of them", () => {
    const secrets = [ADMIN_PASSWORD, ...world.passwords];
    expect(secrets.length).toBeGreaterThan(3);
    for (const secret of secrets) {
      expect(printed).not.toContain(secret);
      expect(printed).not.toContain(encodeURIComponent(secret));
    }
  });

  it("would see them: the capture records what is printed", async () => {
    expect(await capturePrinted(() => console.log("marker line"))).toContain("marker line");
  });

  it("hands them to resources only as secrets, and exports them only encrypted", async () => {
    expectNoPlainTextPasswordInputs(world, [ADMIN_PASSWORD]);
    await expectSecretOutputs(program, world, { host: "127.0.0.1", port: 54329 }, [ADMIN_PASSWORD]);
  });
});
