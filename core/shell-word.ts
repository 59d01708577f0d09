// The one way a printed command, or a part of one (`--corrected-down <name>` in a fix), writes an argument:
// as a POSIX shell reads it back, so that a name with a quote or a space is copied whole.

/** One argument as a POSIX shell reads it back: bare when it holds only safe characters, else single-quoted. */
export function shellWord(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return singleQuoted(arg);
}

/** `'<arg>'` whatever it holds, a `'` in it written `'\''`: for a word printed quoted even when it need not be. */
export function singleQuoted(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * A flag and its value as printed: `--flag <value>`, the value one shell word; `--flag=<value>` when the value
 * starts with "-", which the CLI's parser (node's parseArgs) would otherwise read as a flag where the value
 * should be, and refuse.
 */
export function flagWithValue(flag: string, value: string): string {
  const word = shellWord(value);
  return value.startsWith("-") ? `${flag}=${word}` : `${flag} ${word}`;
}
