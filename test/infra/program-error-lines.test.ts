// A user's mistake found while the stack program runs, as `pulumi preview` prints it: the program run by Pulumi's
// own Node.js runtime (node-runtime.ts), which prints a pulumi.RunError's message alone, once, where any other
// error thrown by the program is printed with its stack trace ("Running program ... failed with an unhandled
// exception"), and exits 32 so that the language host adds nothing. So a stack config mistake
// (InvalidConfigError) and a migration file the release refuses (infra/program-refusal.ts) are RunErrors.
import { cpSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../core";
import { scratchDir } from "../support/scratch";
import { stackConfig } from "./harness";
import { runProgram, type ProgramRun } from "./node-runtime";

/** A stack frame as Node writes it. */
const FRAME = /^\s+at /m;

describe("a stack config mistake under Pulumi's Node.js runtime", () => {
  const problem =
    'neonhub-db:workload: must be one of web, oltp, dw, mixed, desktop (got "analytics"). Example: pulumi config set --stack dev neonhub-db:workload web';
  let run: ProgramRun;

  beforeAll(async () => {
    run = await runProgram("dev", stackConfig("dev", { "neonhub-db:workload": "analytics" }));
  }, 120_000);

  it("is printed once, as the stack's error, with no stack trace", () => {
    expect(run.errors).toEqual([
      `Invalid stack configuration (1 problem); nothing was changed:\n  - ${problem}`,
    ]);
    expect(`${run.errors.join("\n")}${run.output}`).not.toMatch(FRAME);
    expect(run.output).not.toContain(problem);
  });

  it("exits saying it reported the error itself", () => {
    expect(run.exitCode).toBe(32);
  });
});

describe("a migration file the release refuses, on the prod stack (read first to name the pre-release snapshot)", () => {
  let run: ProgramRun;

  beforeAll(async () => {
    // A copy of the project, whose migrations folder holds the misnamed file.
    const root = scratchDir("neonhub-program-");
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    for (const entry of ["index.ts", "infra", "core", "migrations", "seeds", "package.json", "tsconfig.json"])
      cpSync(path.join(PROJECT_ROOT, entry), path.join(root, entry), { recursive: true });
    symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(root, "node_modules"), "dir");
    writeFileSync(
      path.join(root, "migrations", "widgets.sql"),
      "-- Up Migration\nSELECT 1;\n-- Down Migration\nSELECT 1;\n",
    );
    const config = stackConfig("prod", {
      "neonhub-db:allowedCidrs": JSON.stringify(["10.0.0.0/16"]),
      // An existing VPC: the program asks AWS nothing (this engine answers no invoke).
      "neonhub-db:vpcId": "vpc-0123456789abcdef0",
      "neonhub-db:subnetIds": JSON.stringify(["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]),
    });
    run = await runProgram("prod", config, root);
  }, 120_000);

  it("is printed once, naming the file and the fix, with no stack trace", () => {
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(
      /^Schema release: Migration file name "widgets\.sql" is malformed: .*\n {2}fix: Rename it \d{14}_widgets\.sql/,
    );
    expect(`${run.errors.join("\n")}${run.output}`).not.toMatch(FRAME);
    expect(run.exitCode).toBe(32);
  });
});
