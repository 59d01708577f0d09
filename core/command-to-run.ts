// The commands core's fixes and notes tell the operator to run next on the database a command worked on. Copied
// as printed, `neonhub-db apply` alone runs against whatever $DIRECT_URL or $DATABASE_URL holds, which may be
// another database than the one the operator named (staging, production): a caller that knows how it was named
// (the CLI: --database-url, --owner-role, --migrations-dir) prints each with those options instead
// (ReleaseOptions.printCommand). A library caller that gives no printer gets the command alone.

/**
 * `neonhub-db <args>` as a fix or note names it: in backticks, runnable as printed on the database the running
 * command works on, and holding no password (with how to give the one it leaves out, after it).
 */
export type CommandPrinter = (args: readonly string[]) => string;

/**
 * `neonhub-db <args>` to run on this database: `print`'s, or without one the words the message had before
 * (`asBefore`: prose such as "apply"), else the command alone in backticks.
 */
export function commandToRun(
  print: CommandPrinter | undefined,
  args: readonly string[],
  asBefore = `\`neonhub-db ${args.join(" ")}\``,
): string {
  return print ? print(args) : asBefore;
}

/**
 * A fix's "run apply again", with the apply as `print` prints it (`pulumi up` under the schema-release
 * provider); without a printer, `asBefore`: the words the fix had before.
 */
export function applyAgain(print: CommandPrinter | undefined, asBefore = "run apply again"): string {
  return print ? `run ${print(["apply"])} again` : asBefore;
}
