// The commands the CLI prints for the operator to run, each acting on the database, folder and options the
// operator gave, runnable as printed, and holding no password. A revert's preview (its own arguments without
// --confirm and --expect-last), which a refused or stopped confirm says to run again; the command that confirms
// a preview (the preview's arguments with `--confirm --expect-last <the ledger's last migration it saw>`), which
// is refused if a release moved the ledger since (core/revert.ts, refuseMovedLedger); the operator's own
// command, which a lost connection's fix says to run again (ReleaseOptions.commandAsRun); and every other
// command core's fixes and notes name to run next (ReleaseOptions.printCommand, core/command-to-run.ts), with
// the operator's --database-url, --owner-role and --migrations-dir (printed alone, it would act on whatever
// $DIRECT_URL holds, which may be another database than the one the operator named) and the release settings
// given (--config, --set, --seed, --row-level-security, --environment; without them, an apply printed after a
// plan would apply other settings than the ones just planned).
import { shellWord, urlWithoutPassword, type CommandPrinter } from "../core";

/** The variables a --database-url is usually given from (`--database-url "$DIRECT_URL"`, docs/runbook.md). */
const URL_VARIABLES = ["DIRECT_URL", "DATABASE_URL"] as const;

/** How to give the password a printed command leaves out: pg reads both for a URL without one, as libpq does. */
const PASSWORD_NOTE =
  'the password of --database-url is left out: give it in PGPASSWORD or ~/.pgpass, which are read for a URL without one, or pass the URL as "$DIRECT_URL"';

/** A command to run, as printed. */
export interface PrintedCommand {
  /** `neonhub-db ...`, each argument quoted for a POSIX shell. */
  command: string;
  /** How to give the password the command leaves out (PASSWORD_NOTE), when it leaves one out. */
  passwordNote?: string;
}

/**
 * A --database-url value as a command shows it: `"$DIRECT_URL"` when it is that variable's value (the password
 * stays out of the line, and the copied command connects as this one did); any other without its password,
 * which a masked one would not replace (every printed line's password is masked, cli/main.ts). What is no
 * postgresql:// URL (refused when the command runs) is shown as a placeholder: its password cannot be found.
 */
function databaseUrlWord(url: string, env: NodeJS.ProcessEnv): { word: string; passwordLeftOut: boolean } {
  const variable = URL_VARIABLES.find((name) => env[name] === url);
  if (variable) return { word: `"$${variable}"`, passwordLeftOut: false };
  const shown = urlWithoutPassword(url);
  if (shown === undefined) return { word: "'<postgresql:// URL>'", passwordLeftOut: false };
  return { word: shellWord(shown), passwordLeftOut: shown !== url };
}

/** The options that say where a command acts: on which database, as which role, with which migration files. */
export interface ConnectionOptions {
  databaseUrl?: string;
  ownerRole?: string;
  migrationsDir?: string;
}

/**
 * The options that say what a release applies (the settings, the seed sets) and which stack's rules it is
 * held to: a printed command that takes them carries them, so that it does what the printing one did or
 * showed. Lock-safety and timeout flags are not carried: they bound how a command waits, not what it does.
 */
export interface ReleaseChoices {
  configFile?: string;
  settings?: readonly string[];
  seeds?: readonly string[];
  rowLevelSecurity?: string;
  environment?: string;
}

/** The options the operator gave that a printed command carries. */
export type GivenOptions = ConnectionOptions & ReleaseChoices;

/** Each carried option's flag, in the order a printed command has them. */
const CARRIED_FLAGS: Record<keyof GivenOptions, string> = {
  databaseUrl: "--database-url",
  ownerRole: "--owner-role",
  migrationsDir: "--migrations-dir",
  configFile: "--config",
  settings: "--set",
  seeds: "--seed",
  rowLevelSecurity: "--row-level-security",
  environment: "--environment",
};

/**
 * `neonhub-db <args>`, then the options the operator gave (`given`) that the command `args[0]` takes (`takes`:
 * status takes no --owner-role, health no --migrations-dir or --seed, and would refuse them) and `args` does
 * not name itself. The printing command took every option it was given, so a printed plan or apply carries
 * apply's --set and health's, and a verify that prints apply has none to carry: that apply keeps what the
 * database recorded, as verify compared.
 */
export function commandOnDatabase(
  args: readonly string[],
  given: GivenOptions,
  env: NodeJS.ProcessEnv,
  takes: (command: string, flag: string) => boolean,
): PrintedCommand {
  const words = ["neonhub-db", ...args.map(shellWord)];
  let passwordLeftOut = false;
  for (const key of Object.keys(CARRIED_FLAGS) as (keyof GivenOptions)[]) {
    const value = given[key];
    const flag = CARRIED_FLAGS[key];
    if (value === undefined || !takes(args[0] ?? "", flag) || args.includes(flag)) continue;
    if (key !== "databaseUrl") {
      for (const one of typeof value === "string" ? [value] : value) words.push(flag, shellWord(one));
      continue;
    }
    const shown = databaseUrlWord(value as string, env);
    passwordLeftOut ||= shown.passwordLeftOut;
    words.push(flag, shown.word);
  }
  return { command: words.join(" "), ...(passwordLeftOut ? { passwordNote: PASSWORD_NOTE } : {}) };
}

/** ReleaseOptions.printCommand: each command core names to run, with the options the operator gave. */
export function commandPrinter(
  given: GivenOptions,
  env: NodeJS.ProcessEnv,
  takes: (command: string, flag: string) => boolean,
): CommandPrinter {
  return (args) => commandInFix(commandOnDatabase(args, given, env, takes));
}

/** `neonhub-db <argv> <extra>`, without --confirm and --expect-last when `withoutConfirm`. */
function commandOf(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  extra: readonly string[],
  withoutConfirm = true,
): PrintedCommand {
  const words: string[] = ["neonhub-db"];
  let passwordLeftOut = false;
  const url = (value: string) => {
    const shown = databaseUrlWord(value, env);
    passwordLeftOut ||= shown.passwordLeftOut;
    return shown.word;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (withoutConfirm && (arg === "--confirm" || arg.startsWith("--expect-last="))) continue;
    if (withoutConfirm && arg === "--expect-last") {
      i++;
    } else if (arg === "--database-url" && i + 1 < argv.length) {
      words.push(arg, url(argv[++i]!));
    } else if (arg.startsWith("--database-url=")) {
      words.push(`--database-url=${url(arg.slice("--database-url=".length))}`);
    } else {
      words.push(shellWord(arg));
    }
  }
  return {
    command: [...words, ...extra.map(shellWord)].join(" "),
    ...(passwordLeftOut ? { passwordNote: PASSWORD_NOTE } : {}),
  };
}

/**
 * The operator's own command, every argument as given (--confirm and --expect-last included), the URL shown
 * as the other printed commands show it: what a lost connection's fix says to run again.
 */
export function commandAsRun(argv: readonly string[], env: NodeJS.ProcessEnv): PrintedCommand {
  return commandOf(argv, env, [], false);
}

/** The revert's preview: `argv` (a revert's, with or without --confirm) without --confirm and --expect-last. */
export function revertPreviewCommand(argv: readonly string[], env: NodeJS.ProcessEnv): PrintedCommand {
  return commandOf(argv, env, []);
}

/** `neonhub-db <preview args> --confirm --expect-last <last>`: what confirms the preview run with `previewArgv`. */
export function revertConfirmCommand(
  previewArgv: readonly string[],
  lastMigration: string,
  env: NodeJS.ProcessEnv,
): PrintedCommand {
  return commandOf(previewArgv, env, ["--confirm", "--expect-last", lastMigration]);
}

/** A command as a fix names it: in backticks, then how to give the password it leaves out. */
export function commandInFix({ command, passwordNote }: PrintedCommand): string {
  return `\`${command}\`${passwordNote ? ` (${passwordNote})` : ""}`;
}
