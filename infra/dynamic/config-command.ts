// The `pulumi config` commands the stack program's refusals of its config and the provider's fixes print, in
// the words core's pulumiConfigCommand builds for every printed one. Each names the stack (`--stack <name>`):
// the program runs for one stack, which need not be the selected one (`pulumi up --stack prod` while dev is selected), and a command without it would
// change the selected stack's config. Here, not in infra/, because the provider loads only core/ and
// infra/dynamic/.
import { pulumiConfigCommand, STACK_CONFIG_NAMESPACE } from "../../core";
import { stackWord, type StackNamed } from "./stack-name";

export interface ConfigSetOptions {
  /** Set a nested value (`vectorIndexes.method`, `allowedCidrs[0]`): `--path`, with the key quoted. */
  path?: boolean;
  /** Keep the value encrypted in the stack's file: `--secret`. */
  secret?: boolean;
}

/**
 * The stack a command names: its name (pulumi.getStack(), quoted for a shell as stack-name.ts quotes it), or
 * how the provider names it (stackNamed), which may be the placeholder `<stack>`.
 */
export type CommandStack = string | StackNamed;

function stackFlagWord(stack: CommandStack): string {
  return typeof stack === "string" ? stackWord(stack) : stack.word;
}

/**
 * `pulumi config set --stack <stack> [--secret] [--path '<namespace>:<key>' | <namespace>:<key>] <value>`.
 * `key` is without the namespace; `value` is printed as given (a caller quotes one a shell would split).
 */
export function configSetCommand(
  stack: CommandStack,
  key: string,
  value: string,
  options: ConfigSetOptions = {},
): string {
  return pulumiConfigCommand("set", `${STACK_CONFIG_NAMESPACE}:${key}`, {
    stack: stackFlagWord(stack),
    ...options,
    value,
  });
}

/** `pulumi config rm --stack <stack> <namespace>:<key>`: `key` without the namespace. */
export function configRmCommand(stack: CommandStack, key: string): string {
  return pulumiConfigCommand("rm", `${STACK_CONFIG_NAMESPACE}:${key}`, { stack: stackFlagWord(stack) });
}
