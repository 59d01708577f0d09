// The stack config key that asks `pulumi up` for the Prisma-era database's upgrade in place (docs/stacks.md),
// as the command that sets it: the stack config's own refusal of the setting gives it as its example, and the
// schema release's fixes name it to continue an upgrade on a stack that does not have it set. Here, not in
// infra/, because the provider loads only core/ and infra/dynamic/.
import { shellWord } from "../../core";
import { configSetCommand } from "./config-command";

/**
 * `pulumi config set --stack <stack> --path 'neonhub-db:legacyUpgrade.organization' <organization>`, naming the
 * stack the program runs for, as every printed `pulumi config` command does. `stackWord`: the `--stack` value
 * as printed, already quoted for a shell (stack-name.ts: stackWord, or stackNamed's word, which may be the
 * placeholder `<stack>`).
 */
export function legacyUpgradeConfigCommand(organization: string, stackWord: string): string {
  return configSetCommand({ word: stackWord }, "legacyUpgrade.organization", shellWord(organization), {
    path: true,
  });
}
