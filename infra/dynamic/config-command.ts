// The `pulumi config` commands a fix prints, in one place: the stack program's refusals of its config and the
// provider's fixes alike. Each names the stack (`--stack <name>`): the program runs for one stack, which need
// not be the selected one (`pulumi up --stack prod` while dev is selected), and a command without it would
// change the selected stack's config. Here, not in infra/, because the provider loads only core/ and
// infra/dynamic/.
import { STACK_CONFIG_NAMESPACE } from "../../core";
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

function stackFlag(stack: CommandStack): string {
  return `--stack ${typeof stack === "string" ? stackWord(stack) : stack.word}`;
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
  const fullKey = `${STACK_CONFIG_NAMESPACE}:${key}`;
  return [
    "pulumi config set",
    stackFlag(stack),
    ...(options.secret ? ["--secret"] : []),
    options.path ? `--path '${fullKey}'` : fullKey,
    value,
  ].join(" ");
}

/** `pulumi config rm --stack <stack> <namespace>:<key>`: `key` without the namespace. */
export function configRmCommand(stack: CommandStack, key: string): string {
  return `pulumi config rm ${stackFlag(stack)} ${STACK_CONFIG_NAMESPACE}:${key}`;
}
