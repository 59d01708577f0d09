// The stack the provider's printed `pulumi ...` commands name (`--stack <name>`): without it, a command copied
// where another stack is selected would act on that stack's database or config. create and update take the
// name from the inputs the program gives (pulumi.getStack()); refresh and destroy from the recorded outputs,
// which hold it too. A state recorded before the schema release kept the name holds none, and Pulumi tells the
// provider nothing else of the stack (its Configure carries the `pulumi-nodejs:` config keys, no stack name):
// such a command names the placeholder `<stack>`, and says which stack it stands for.
import { shellWord } from "../../core";

/** How a printed command names the stack: its name, shell-quoted, or `<stack>` and what it stands for. */
export interface StackNamed {
  /** The `--stack` value as printed: the name quoted for a POSIX shell, or the placeholder `<stack>`. */
  word: string;
  /** Set with the placeholder: which stack it stands for, said after the command. */
  note?: string;
}

/**
 * The stack `stack` (the inputs' or the outputs' `stack`) for a command printed while `run` (`` `pulumi
 * refresh` ``, as PULUMI_RUN words it) runs.
 */
export function stackNamed(stack: string | undefined, run: string): StackNamed {
  if (stack !== undefined) return { word: shellWord(stack) };
  return {
    word: "<stack>",
    note: `<stack> is the stack ${run} runs for: this state was recorded before the schema release kept its stack's name (the next \`pulumi up\` records it)`,
  };
}

/** `text` (a printed command, in backticks), then which stack its `<stack>` stands for, when it has one. */
export function withStackNote(text: string, named: StackNamed): string {
  return named.note === undefined ? text : `${text} (${named.note})`;
}
