// The stack the provider's printed `pulumi ...` commands name (`--stack <name>`): without it, a command copied
// where another stack is selected would act on that stack's database or config. create and update take the
// name from the inputs the program gives (pulumi.getStack()); refresh and destroy from the recorded outputs,
// which hold it too. A state recorded before the schema release kept the name holds none, and Pulumi tells the
// provider nothing else of the stack (its Configure carries the `pulumi-nodejs:` config keys, no stack name):
// such a command names the placeholder `<stack>`, and says which stack it stands for, once in a message
// (oneStackNote), however many of its commands name it.
import { shellWord } from "../../core";

/**
 * The pulumi run each provider method runs under: `check` runs in a preview and at the start of an up alike,
 * create and update in an up, read in a refresh, delete in a destroy.
 */
export type PulumiRun = "check" | "up" | "refresh" | "destroy";

/** The pulumi subcommands the provider's texts name. */
export type PulumiSubcommand = "preview" | "up" | "refresh" | "destroy";

/** The pulumi subcommands of each run, the one a fix names first. */
const PULUMI_SUBCOMMANDS: Record<PulumiRun, readonly [PulumiSubcommand, ...PulumiSubcommand[]]> = {
  check: ["preview", "up"],
  up: ["up"],
  refresh: ["refresh"],
  destroy: ["destroy"],
};

/** How a printed command names the stack: its name, shell-quoted, or `<stack>` and what it stands for. */
export interface StackNamed {
  /** The `--stack` value as printed: the name quoted for a POSIX shell, or the placeholder `<stack>`. */
  word: string;
  /** Set with the placeholder: which stack it stands for, said after the command. */
  note?: string;
}

/**
 * A stack's name as a printed command's `--stack` value, here and in the program's `pulumi config` commands
 * (config-command.ts): quoted for a POSIX shell where it needs it. Pulumi's stack names ([A-Za-z0-9_.-], after
 * an optional `org/project/`) never do; the quoting keeps a command right should that change.
 */
export function stackWord(stack: string): string {
  return shellWord(stack);
}

/**
 * `` `pulumi <subcommand> --stack <word>` ``, or bare without `stack`: the one place these words are built.
 * Bare, they name a run itself (in the `<stack>` note); with the stack, they are a command to copy. No note
 * here: the caller's text says it (withStackNote), once.
 */
export function pulumiCommand(subcommand: PulumiSubcommand, stack?: StackNamed): string {
  return `\`pulumi ${subcommand}${stack === undefined ? "" : ` --stack ${stack.word}`}\``;
}

/** `run` as pulumiCommand words it: `` `pulumi preview --stack 'prod'` (or `pulumi up --stack 'prod'`) ``. */
export function pulumiRun(run: PulumiRun, stack?: StackNamed): string {
  const [first, ...others] = PULUMI_SUBCOMMANDS[run];
  const named = pulumiCommand(first, stack);
  return others.length === 0
    ? named
    : `${named} (or ${others.map((sub) => pulumiCommand(sub, stack)).join(", ")})`;
}

/** The stack `stack` (the inputs' or the outputs' `stack`) for a command printed while `run` runs. */
export function stackNamed(stack: string | undefined, run: PulumiRun): StackNamed {
  if (stack !== undefined) return { word: stackWord(stack) };
  return { word: "<stack>", note: placeholderNote(run) };
}

/** Which stack `<stack>` stands for, printed while `run` runs: the run named bare, as the operator ran it. */
function placeholderNote(run: PulumiRun): string {
  return `<stack> is the stack ${pulumiRun(run)} runs for: this state was recorded before the schema release kept its stack's name (the next ${pulumiRun("up")} records it)`;
}

/** `text` (a printed command, in backticks), then which stack its `<stack>` stands for, when it has one. */
export function withStackNote(text: string, named: StackNamed): string {
  return named.note === undefined ? text : `${text} (${named.note})`;
}

/**
 * `text` (one message: an error with its fix, a check's failure, a line for the host's stderr) with the
 * `<stack>` note said once, after the first command that names the placeholder. The engine assembles a message
 * from several printed commands (a lock timeout's "run `pulumi up --stack <stack>` again", the plan that shows
 * what is left), each with its note, and does not know what a note is: the provider keeps the first and drops
 * the others here, where every text it hands Pulumi passes (shown-text.ts).
 */
export function oneStackNote(text: string): string {
  for (const run of Object.keys(PULUMI_SUBCOMMANDS) as PulumiRun[]) {
    const note = placeholderNote(run);
    const first = text.indexOf(note);
    if (first < 0) continue;
    const head = text.slice(0, first + note.length);
    // After a command `(<note>)`, inside a command's parentheses `(<command>; <note>)`.
    text = head + text.slice(head.length).replaceAll(` (${note})`, "").replaceAll(`; ${note}`, "");
  }
  return text;
}
