// The CLI's migration-safety flags: each bad value is a clear input error naming the flag and an example.
import { describe, expect, it } from "vitest";
import { parseArgs } from "../../cli/args";
import { ReleaseError } from "../../core";

function refusal(argv: string[]): ReleaseError {
  try {
    parseArgs(argv);
  } catch (error) {
    expect(error).toBeInstanceOf(ReleaseError);
    return error as ReleaseError;
  }
  throw new Error(`expected ${argv.join(" ")} to be refused`);
}

describe("migration safety flags", () => {
  it("take seconds (0 = no limit), a retry count and an environment", () => {
    const args = parseArgs([
      "apply",
      "--migration-lock-timeout",
      "0",
      "--statement-timeout=2.5",
      "--lock-retries",
      "3",
      "--environment",
      "production",
    ]);
    expect(args.lockSafety).toEqual({ lockTimeoutMs: 0, statementTimeoutMs: 2_500, lockRetries: 3 });
    expect(args.environment).toBe("production");
    expect(parseArgs(["plan"]).lockSafety).toEqual({});
  });

  it.each([
    [
      ["--migration-lock-timeout", "soon"],
      '--migration-lock-timeout takes a number of seconds from 0 (no limit) to 86400, got "soon"',
    ],
    [["--statement-timeout=-1"], "--statement-timeout takes a number of seconds from 0"],
    [["--lock-retries", "1.5"], '--lock-retries takes a whole number from 0 to 100, got "1.5"'],
    [["--lock-retries", "500"], "--lock-retries takes a whole number from 0 to 100"],
    [["--environment", "prod"], '--environment must be one of production, staging, development, got "prod"'],
  ])("refuses %j", (flags, message) => {
    const error = refusal(["plan", ...flags]);
    expect(error.code).toBe("invalid-input");
    expect(error.message).toContain(message);
    expect(error.fix).toMatch(/Example: --|production/);
  });
});
