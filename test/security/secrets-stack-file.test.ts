// A stack file given to --config that holds a release setting under the CLI's name (the stack calls it
// otherwise): the refusal names the key's new name and how to rename it, never the value, which may be a secret
// (or a --secret one's ciphertext), in text and --json alike.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { scratchDir } from "../support/scratch";

const VALUE = "Rename-Value-N0t-Shown";

/** A stack file (`name`) whose lockTimeoutSeconds key has `value` after its colon. */
function stackFile(value: string, name = "Pulumi.dev.yaml"): string {
  const file = path.join(scratchDir("stack-file-rename"), name);
  writeFileSync(file, `config:\n  neonhub-db:server: existing\n  neonhub-db:lockTimeoutSeconds:${value}\n`);
  return file;
}

describe("a stack file's key under the CLI's name of a release setting", () => {
  const url = "postgresql://app:unused@127.0.0.1:1/neonhub";

  it.each([
    ["a plain value", ` ${VALUE}`],
    ["a --secret value", `\n    secure: v1:${VALUE}`],
  ])("names its new name without its value: %s", async (_name, value) => {
    const file = stackFile(value);
    for (const json of [false, true]) {
      const run = await runCli(["plan", ...(json ? ["--json"] : []), "--config", file], {
        DATABASE_URL: url,
      });
      expect(run.code).toBe(1);
      const output = run.stdout + run.stderr;
      expect(output).toContain("the stack calls that setting neonhub-db:releaseLockTimeoutSeconds");
      expect(output).toContain("Rename the key in the stack file to neonhub-db:releaseLockTimeoutSeconds");
      // The commands name the file's stack: the one selected where they run may be another.
      expect(output).toContain(
        "or run pulumi config rm --stack dev neonhub-db:lockTimeoutSeconds, then pulumi config set --stack dev neonhub-db:releaseLockTimeoutSeconds with its value",
      );
      expect(output).not.toContain(VALUE);
    }
  });

  it("names the stack as a shell reads it back, and none for a file not named Pulumi.<stack>.yaml", async () => {
    const fixOf = async (name: string) => {
      const run = await runCli(["plan", "--config", stackFile(` ${VALUE}`, name)], { DATABASE_URL: url });
      expect(run.code).toBe(1);
      expect(run.stderr).not.toContain(VALUE);
      return run.stderr;
    };
    expect(await fixOf("Pulumi.staging eu.yaml")).toContain(
      "or run pulumi config rm --stack 'staging eu' neonhub-db:lockTimeoutSeconds, then pulumi config set --stack 'staging eu' neonhub-db:releaseLockTimeoutSeconds with its value",
    );
    // A copy under another name: which stack it was is not for the fix to guess.
    expect(await fixOf("release.yaml")).toContain(
      "or run pulumi config rm neonhub-db:lockTimeoutSeconds, then pulumi config set neonhub-db:releaseLockTimeoutSeconds with its value",
    );
  });
});
