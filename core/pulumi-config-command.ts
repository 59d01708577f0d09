// The words of a `pulumi config` command a fix prints, in one place: the CLI's (core/release-config.ts, for a
// stack file it read) and the stack program's and provider's (infra/dynamic/config-command.ts, which names the
// stack it runs for). Here, in core, because the provider loads only core/ and infra/dynamic/.

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

/** `pulumi config <rm|set> [--stack <stack>] [--secret] [--path '<key>' | <key>] [<value>]`; `key` in full. */
export function pulumiConfigCommand(
  subcommand: "rm" | "set",
  key: string,
  words: PulumiConfigWords = {},
): string {
  return [
    `pulumi config ${subcommand}`,
    ...(words.stack === undefined ? [] : [`--stack ${words.stack}`]),
    ...(words.secret ? ["--secret"] : []),
    words.path ? `--path '${key}'` : key,
    ...(words.value === undefined ? [] : [words.value]),
  ].join(" ");
}
