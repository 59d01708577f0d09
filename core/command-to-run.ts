// The commands core's fixes and notes tell the operator to run next on the database a command worked on. Copied
// as printed, `neonhub-db apply` alone runs against whatever $DIRECT_URL or $DATABASE_URL holds, which may be
// another database than the one the operator named (staging, production): a caller that knows how it was named
// (the CLI: --database-url, --owner-role, --migrations-dir) prints each with those options instead
// (ReleaseOptions.printCommand). A library caller that gives no printer gets the command alone.

/**
 * `neonhub-db <args>` as a fix or note names it: in backticks, runnable as printed on the database the running
 * command works on, and holding no password (with how to give the one it leaves out, after it).
 */
export interface CommandPrinter {
  (args: readonly string[]): string;
  /**
   * How a fix names a release setting to change (its path: `vectorIndexes.maxMaintenanceWorkMem`) where the
   * printed commands run: the schema-release provider's, the stack's config key and the `pulumi config set`
   * that sets it (the apply that takes it being `pulumi up`); the CLI's, where the run took it from: its key in
   * the --config file that gives it, else the --set flag. Unset (a library caller): the setting's path. Read
   * through settingToChange.
   */
  readonly setting?: (path: string) => string;
  /**
   * Set by a stack's printer (the schema-release provider's), whose apply is the stack's `pulumi up`: the run
   * that also holds the stack's access layer (its roles, extensions and grants). A fix whose cure is the access
   * layer's names that run to go on; the CLI's apply runs the release alone, and such a fix keeps its words.
   */
  readonly runsAccessLayer?: true;
}

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
 * A fix's "run <command> again", so that none says "the same command" where the command is known: `asRun`, the
 * command as the operator ran it (ReleaseOptions.commandAsRun), where given; else `args` as `print` prints it,
 * with the operator's options; without either (a library caller, who ran no command), `asBefore`: words for
 * that caller.
 */
export function runAgain(
  print: CommandPrinter | undefined,
  args: readonly string[],
  asBefore: string,
  asRun?: string,
): string {
  const command = asRun ?? print?.(args);
  return command !== undefined ? `run ${command} again` : asBefore;
}

/**
 * A fix's "run apply again", with the apply as `print` prints it (`pulumi up` under the schema-release
 * provider); without a printer, `asBefore`: the words the fix had before.
 */
export function applyAgain(print: CommandPrinter | undefined, asBefore = "run apply again"): string {
  return runAgain(print, ["apply"], asBefore);
}

/**
 * A release setting a fix tells the operator to change (`vectorIndexes.maxMaintenanceWorkMem`), in the words of
 * the path that runs the release (CommandPrinter.setting): a stack's config key on a stack, else its path.
 */
export function settingToChange(print: CommandPrinter | undefined, path: string): string {
  return print?.setting ? print.setting(path) : path;
}
