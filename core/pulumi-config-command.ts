// The words of a `pulumi config` command a fix prints, in one place: the CLI's (core/release-config.ts, for a
// stack file it read), the stack program's and provider's (infra/dynamic/config-command.ts, which names the
// stack it runs for) and the policy pack's (policy/rules/no-plaintext-password.ts, for a key read from a stack
// file). Here, in core, because the provider loads only core/ and infra/dynamic/. Dependency-free but for
// shell-word.ts (itself dependency-free): the policy pack loads this file directly, not the engine.
import { shellWord, singleQuoted } from "./shell-word";

export interface PulumiConfigWords {
  /** The stack flag's word, already quoted for a shell; undefined for the selected stack (no `--stack`). */
  stack?: string;
  /** Keep the value encrypted in the stack's file: `--secret`. */
  secret?: boolean;
  /** A nested key (`vectorIndexes.method`): `--path`, with the key quoted. */
  path?: boolean;
  /** set's value, printed as given (a caller quotes one a shell would split); absent, none is printed. */
  value?: string;
}

/**
 * `pulumi config <rm|set> [--stack <stack>] [--secret] [--path '<key>' | <key>] [<value>]`; `key` in full. The
 * key is one shell word whatever it holds (a key read from a stack file may hold a space or a quote): a path
 * always single-quoted (its `[` and `"` are the shell's too), a top-level key bare when nothing in it is special.
 */
export function pulumiConfigCommand(
  subcommand: "rm" | "set",
  key: string,
  words: PulumiConfigWords = {},
): string {
  return [
    `pulumi config ${subcommand}`,
    ...(words.stack === undefined ? [] : [`--stack ${words.stack}`]),
    ...(words.secret ? ["--secret"] : []),
    words.path ? `--path ${singleQuoted(key)}` : shellWord(key),
    ...(words.value === undefined ? [] : [words.value]),
  ].join(" ");
}
