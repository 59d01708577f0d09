// The stack's per-run settings given to --config/--set: refused with the CLI flag that takes each, and the
// list of them kept in step with the settings the stack program reads.
import { describe, expect, it } from "vitest";
import { ReleaseError, STACK_SETTING_FLAGS, resolveReleaseSettings, settingFromFlag } from "../../core";
import { RELEASE_SAFETY_DEFAULTS } from "../../infra/release-safety-config";

describe("a stack setting of each run given as a release setting", () => {
  it("is refused with the flag that gives it to the CLI", () => {
    const cases: [string, string][] = [
      ["migrationLockTimeoutSeconds=10", "--migration-lock-timeout"],
      ["migrationStatementTimeoutSeconds=600", "--statement-timeout"],
      ["migrationLockRetries=3", "--lock-retries"],
      ["environment=production", "--environment"],
    ];
    for (const [flag, cliFlag] of cases) {
      const key = flag.split("=")[0]!;
      let error: unknown;
      try {
        resolveReleaseSettings(settingFromFlag(flag), "--set");
      } catch (e) {
        error = e;
      }
      expect(error, flag).toBeInstanceOf(ReleaseError);
      expect((error as ReleaseError).message).toContain(`${key} is a stack setting of each run`);
      expect((error as ReleaseError).fix).toBe(`Give it to the CLI as ${cliFlag}.`);
    }
  });

  it("names every setting the stack program reads for a run, and only those", () => {
    expect(Object.keys(STACK_SETTING_FLAGS).sort()).toEqual(Object.keys(RELEASE_SAFETY_DEFAULTS).sort());
  });
});
