// A stack whose release settings are wrong fails as the CLI fails on the same values: the same verdict, in
// the same words, each with the stack's key and a `pulumi config set` example for the setting refused.
import { beforeAll, describe, expect, it } from "vitest";
import { ReleaseError, resolveReleaseSettings, settingFromFlag } from "../../core";
import { MockWorld, programOnInvalidConfig } from "./harness";

let world: MockWorld;
let failure: unknown;

beforeAll(async () => {
  ({ world, failure } = await programOnInvalidConfig({
    "neonhub-db:rowLevelSecurity": " off",
    "neonhub-db:releaseLockTimeoutSeconds": "0",
    "neonhub-db:vectorIndexes": '{"method": "hnsw", "concurrently": "no"}',
    // The CLI's name of the release lock's timeout.
    "neonhub-db:lockTimeoutSeconds": "30",
  }));
});

/** What the CLI says of `--set <flag>`. */
function cliMessage(flag: string): string {
  try {
    resolveReleaseSettings(settingFromFlag(flag), "--set");
  } catch (error) {
    return (error as ReleaseError).message;
  }
  throw new Error(`--set ${flag} was accepted`);
}

describe("a stack's invalid release settings", () => {
  it("are refused in the CLI's words, each with an example of the setting refused", () => {
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toMatch(/4 problems/);
    expect(cliMessage("rowLevelSecurity= off")).toBe(
      '--set: rowLevelSecurity must be one of enforce, off (got " off").',
    );
    expect(message).toContain(
      'neonhub-db:rowLevelSecurity: must be one of enforce, off (got " off"). Example: pulumi config set --stack dev neonhub-db:rowLevelSecurity off',
    );
    expect(cliMessage("lockTimeoutSeconds=0")).toBe(
      "--set: lockTimeoutSeconds must be a whole number of seconds from 1 to 3600 (got 0).",
    );
    expect(message).toContain(
      "neonhub-db:releaseLockTimeoutSeconds: must be a whole number of seconds from 1 to 3600 (got 0). Example: pulumi config set --stack dev neonhub-db:releaseLockTimeoutSeconds 60",
    );
    expect(cliMessage("vectorIndexes.concurrently=no")).toBe(
      '--set: vectorIndexes.concurrently must be true or false (got "no").',
    );
    expect(message).toContain(
      `neonhub-db:vectorIndexes.concurrently: must be true or false (got "no"). Example: pulumi config set --stack dev --path 'neonhub-db:vectorIndexes.concurrently' true`,
    );
  });

  it("say what a release setting by the CLI's name is called on a stack", () => {
    expect((failure as Error).message).toMatch(
      /neonhub-db:lockTimeoutSeconds: is not a setting of this program; that release setting is called neonhub-db:releaseLockTimeoutSeconds here/,
    );
  });

  it("register no resource", () => {
    expect(world.resources).toEqual([]);
  });
});
