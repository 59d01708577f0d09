// A stack config mistake as `pulumi preview` prints it: the program run by Pulumi's own Node.js runtime
// (node-runtime.ts), which prints a pulumi.RunError's message alone, once, where any other error thrown by the
// program is printed with its stack trace ("Running program ... failed with an unhandled exception"), and exits
// 32 so that the language host adds nothing. InvalidConfigError is a RunError for that reason.
import { beforeAll, describe, expect, it } from "vitest";
import { stackConfig } from "./harness";
import { runProgram, type ProgramRun } from "./node-runtime";

const PROBLEM =
  'neonhub-db:workload: must be one of web, oltp, dw, mixed, desktop (got "analytics"). Example: pulumi config set neonhub-db:workload web';

describe("a stack config mistake under Pulumi's Node.js runtime", () => {
  let run: ProgramRun;

  beforeAll(async () => {
    run = await runProgram("dev", stackConfig("dev", { "neonhub-db:workload": "analytics" }));
  }, 120_000);

  it("is printed once, as the stack's error, with no stack trace", () => {
    expect(run.errors).toEqual([
      `Invalid stack configuration (1 problem); nothing was changed:\n  - ${PROBLEM}`,
    ]);
    expect(`${run.errors.join("\n")}${run.output}`).not.toMatch(/^\s+at /m);
    expect(run.output).not.toContain(PROBLEM);
  });

  it("exits saying it reported the error itself", () => {
    expect(run.exitCode).toBe(32);
  });
});
