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
