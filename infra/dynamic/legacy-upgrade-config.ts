// The stack config key that asks `pulumi up` for the Prisma-era database's upgrade in place (docs/stacks.md),
// as the command that sets it: the stack config's own refusal of the setting gives it as its example, and the
// schema release's fixes name it to continue an upgrade on a stack that does not have it set. Here, not in
// infra/, because the provider loads only core/ and infra/dynamic/.
import { STACK_CONFIG_NAMESPACE, shellWord } from "../../core";

/**
 * `pulumi config set [--stack <stack>] --path 'neonhub-db:legacyUpgrade.organization' <organization>`: with the
 * stack the program runs for where it is known, as every command the provider prints names it. `stackWord`:
 * the `--stack` value as printed, already quoted for a shell (stack-name.ts, stackNamed).
 */
export function legacyUpgradeConfigCommand(organization: string, stackWord?: string): string {
  const named = stackWord === undefined ? "" : ` --stack ${stackWord}`;
  return `pulumi config set${named} --path '${STACK_CONFIG_NAMESPACE}:legacyUpgrade.organization' ${shellWord(organization)}`;
}
