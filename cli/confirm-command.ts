// The commands the CLI prints for the operator to run, each acting on the database, folder and options the
// operator gave, runnable as printed, and holding no password. A revert's preview (its own arguments without
// --confirm and --expect-last), which a refused or stopped confirm says to run again; the command that confirms
// a preview (the preview's arguments with `--confirm --expect-last <the ledger's last migration it saw>`), which
// is refused if a release moved the ledger since (core/revert.ts, refuseMovedLedger); the operator's own
// command, which a lost connection's fix says to run again (ReleaseOptions.commandAsRun); and every other
// command core's fixes and notes name to run next (ReleaseOptions.printCommand, core/command-to-run.ts), with
// the operator's --database-url, --owner-role and --migrations-dir (printed alone, it would act on whatever
// $DIRECT_URL holds, which may be another database than the one the operator named), the release settings
// given (--config, --set, --seed, --row-level-security, --environment; without them, an apply printed after a
// plan would apply other settings than the ones just planned) and the flags that bound how it waits, retries
// and batches (without them, the command run again would wait and retry by the defaults the operator raised).
import {
  ADMIN_URL_SOURCE,
  ADMIN_URL_WORD,
  flagWithValue,
  readConnectionUrl,
  shellWord,
  urlWithoutPassword,
  type CommandPrinter,
  type ReleaseSettings,
} from "../core";
import accessDefinition from "../infra/access-definition";
import type { CliArgs } from "./args";
import { urlFromEnvironment } from "./environment-url";

/** Whose URL a --database-url is: one of the stack's logins, or the admin's (`npm run -s local -- env --admin`). */
type UrlRole = "migrator" | "app" | "readonly" | "admin";

/**
 * The variables the project's URLs are given in (README; `npm run -s local -- env`, the stacks' outputs), each
 * with the login whose URL it holds; a --database-url given from one is printed as it (`"$DIRECT_URL"`), in
 * this order where several hold it.
 */
const URL_VARIABLES: readonly { name: string; role: UrlRole }[] = [
  { name: "DIRECT_URL", role: "migrator" },
  { name: "DATABASE_URL", role: "app" },
  { name: "DIRECT_DATABASE_URL", role: "migrator" },
  { name: "READONLY_DATABASE_URL", role: "readonly" },
  { name: "ADMIN_URL", role: "admin" },
];

/** The variable a printed command names for each login's URL. */
const ROLE_VARIABLES: Record<UrlRole, string> = {
  migrator: "DIRECT_URL",
  app: "DATABASE_URL",
  readonly: "READONLY_DATABASE_URL",
  admin: "ADMIN_URL",
};

/** The migrator's URL as a printed command passes it: the variable, quoted for a POSIX shell. */
const MIGRATOR_URL_WORD = `"$${ROLE_VARIABLES.migrator}"`;

/**
 * The stack's login names after its rolePrefix (the access layer's ROLE_SUFFIXES), and the admin's as `npm run
 * local` and RDS name it by default.
 */
const LOGIN_SUFFIXES: readonly [string, Exclude<UrlRole, "admin">][] = (
  ["migrator", "app", "readonly"] as const
).map((role) => [accessDefinition.ROLE_SUFFIXES[role], role]);
const ADMIN_LOGIN = "postgres";

/** The commands that need the admin's login: CREATEDB for the scratch database that proves the schema. */
const ADMIN_COMMANDS = ["baseline", "adopt"];

/** Whose `url` is, as far as it can be told: a variable holding it (with or without its password), else its login's name. */
function urlRoleOf(url: string, env: NodeJS.ProcessEnv): { role: UrlRole; prefix?: string } | undefined {
  const shown = urlWithoutPassword(url);
  const byVariable = URL_VARIABLES.find(
    ({ name }) =>
      !!env[name] && (env[name] === url || (shown !== undefined && urlWithoutPassword(env[name]!) === shown)),
  );
  const reading = readConnectionUrl(url);
  const user = reading.ok && reading.parts.userGiven ? reading.parts.user : undefined;
  const bySuffix = user
    ? LOGIN_SUFFIXES.find(([suffix]) => user.endsWith(suffix) && user !== suffix)
    : undefined;
  const prefix = bySuffix ? user!.slice(0, -bySuffix[0].length) : undefined;
  if (byVariable) return { role: byVariable.role, ...(byVariable.role === bySuffix?.[1] ? { prefix } : {}) };
  if (bySuffix) return { role: bySuffix[1], prefix };
  if (user === ADMIN_LOGIN) return { role: "admin" };
  return undefined;
}

/**
 * How to give the password a printed command leaves out: pg reads both PGPASSWORD and ~/.pgpass for a URL
 * without one, as libpq does; or the variable that holds this login's URL, where the URL tells whose it is.
 */
function passwordNote(url: string, env: NodeJS.ProcessEnv): string {
  const role = urlRoleOf(url, env)?.role;
  const variable = role ? `"$${ROLE_VARIABLES[role]}"` : '"$<the variable that holds this URL>"';
  return `${PASSWORD_NOTE_START} give it in PGPASSWORD or ~/.pgpass, which are read for a URL without one, or pass the URL as ${variable}`;
}

const PASSWORD_NOTE_START = "the password of --database-url is left out:";

/**
 * A password note as commandInFix writes it after a command, ` (the password ... "$DIRECT_URL")`, in a text line
 * or in a JSON document's text (its quotes escaped): no parenthesis inside.
 */
const PASSWORD_NOTE_AFTER_COMMAND = new RegExp(` \\(${PASSWORD_NOTE_START}[^()]*\\)`, "g");

/**
 * One message (a line of text, a string of a JSON document) with each password note once: a fix or note that
 * names two commands on the same database (baseline or apply, plan and apply) printed the same note after
 * each, which says nothing the first did not. The note stays after the first command that needs it; a later
 * command on another URL keeps its own.
 */
export function passwordNoteOnce(message: string): string {
  const said = new Set<string>();
  return message.replace(PASSWORD_NOTE_AFTER_COMMAND, (note) => {
    if (said.has(note)) return "";
    said.add(note);
    return note;
  });
}

/**
 * What a baseline or adopt printed by a command run as one of the stack's logins says of the admin's URL it
 * needs instead: what ADMIN_URL is and where it comes from (as the refusal of another login says it,
 * core/adopt/adopting-login.ts).
 */
function adminUrlNote(command: string, ownerRoleKnown: boolean): string {
  return (
    `${command} creates a scratch database, which needs the stack's admin login (CREATEDB, which its migrator, app and read-only logins have not): ` +
    `ADMIN_URL is the admin's URL of this database (${ADMIN_URL_SOURCE})` +
    (ownerRoleKnown ? "" : "; add --owner-role with the stack's owner role")
  );
}

/**
 * What an apply, verify or status printed by the admin's baseline or adopt says of the migrator's URL it names
 * instead of the admin's: the release's own commands are the migrator's (docs/runbook.md, "Adopting an
 * existing database"), which acts as the owner role the ledger and the adopted objects were given.
 */
function migratorUrlNote(command: string, migrator: string): string {
  return `${command} runs as the stack's migrator, ${migrator}, not as the admin, whose login is for baseline and adopt: ${ROLE_VARIABLES.migrator} is the migrator's URL of this database, the stack's directUrl output; locally, \`npm run -s local -- env\` prints it`;
}

/**
 * The stack's migrator of an owner role named `<prefix>_owner` (the access layer's names), which a baseline or
 * adopt in the stack's roles hands the ledger to; undefined for any other owner role (the admin's own, say).
 */
function migratorOf(ownerRole: string | undefined): string | undefined {
  const { owner, migrator } = accessDefinition.ROLE_SUFFIXES;
  if (ownerRole === undefined || !ownerRole.endsWith(owner) || ownerRole === owner) return undefined;
  return `${ownerRole.slice(0, -owner.length)}${migrator}`;
}

/** A command to run, as printed. */
export interface PrintedCommand {
  /** `neonhub-db ...`, each argument quoted for a POSIX shell. */
  command: string;
  /** How to give the password the command leaves out (passwordNote), when it leaves one out. */
  passwordNote?: string;
  /** What a variable the command names in place of the URL given holds (adminUrlNote). */
  urlNote?: string;
}

/**
 * A --database-url value as a command shows it: `"$DIRECT_URL"` when it is that variable's value (the password
 * stays out of the line, and the copied command connects as this one did); any other without its password,
 * which a masked one would not replace (every printed line's password is masked, cli/main.ts). What is no
 * postgresql:// URL (refused when the command runs) is shown as a placeholder: its password cannot be found.
 */
function databaseUrlWord(url: string, env: NodeJS.ProcessEnv): { word: string; passwordNote?: string } {
  const variable = URL_VARIABLES.find(({ name }) => env[name] === url);
  if (variable) return { word: `"$${variable.name}"` };
  const shown = urlWithoutPassword(url);
  if (shown === undefined) return { word: "'<postgresql:// URL>'" };
  return { word: shellWord(shown), ...(shown !== url ? { passwordNote: passwordNote(url, env) } : {}) };
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
 * showed.
 */
export interface ReleaseChoices {
  configFile?: string;
  settings?: readonly string[];
  seeds?: readonly string[];
  rowLevelSecurity?: string;
  environment?: string;
}

/**
 * The flags that bound how a command waits, retries and batches, as parsed (cli/args.ts): the operator chose
 * them for this database (a migration lock timeout raised for a busy table, fewer rows per batch for a small
 * server), and the command a fix says to run again, printed without them, would wait, retry and batch by the
 * defaults instead, and fail the same way.
 */
export interface RunBounds {
  /** --lock-timeout, in milliseconds. */
  lockTimeoutMs?: number;
  /** --migration-lock-timeout (lockSafety.lockTimeoutMs), in milliseconds. */
  migrationLockTimeoutMs?: number;
  /** --statement-timeout, in milliseconds. */
  statementTimeoutMs?: number;
  lockRetries?: number;
  /** --connect-timeout, in milliseconds. */
  connectTimeoutMs?: number;
  /** The legacy upgrade's --legacy-organization, --batch-size and --max-batches. */
  legacyOrganization?: string;
  batchSize?: number;
  maxBatches?: number;
}

/** The options the operator gave that a printed command carries. */
export type GivenOptions = ConnectionOptions &
  ReleaseChoices &
  RunBounds & {
    /**
     * Whether the release settings given (--config, --set) ask for the legacy upgrade (`legacyUpgrade`): a plan
     * or apply printed with them is an upgrade too, and takes its --batch-size and --max-batches.
     */
    upgradeBySetting?: boolean;
  };

/** An option a printed command carries: its flag, and how its value is written. */
interface CarriedFlag {
  flag: string;
  /** The value as the flag takes it (a timeout's milliseconds as its seconds); unset: as given. */
  word?: (value: number) => string;
  /**
   * Carried only into a printed upgrade: `flag`, into a command that names --upgrade-legacy itself (the CLI
   * refuses --legacy-organization without it); `flag or setting`, also into a plan or apply given the
   * legacyUpgrade setting (--batch-size and --max-batches go with either, cli/main.ts upgradeRequest).
   */
  upgrade?: "flag" | "flag or setting";
}

/** A timeout's milliseconds as its flag's seconds (3 decimals at most, as the flag takes them). */
const seconds = (ms: number) => String(ms / 1000);

/**
 * Each carried option's flag, in the order a printed command has them: the one place that decides which of the
 * operator's options a printed command carries. Not carried: --json (how this run prints), the command's own
 * (--to, --confirm, --file, ...) and --upgrade-legacy, which a printed command names itself when it is one.
 */
const CARRIED_FLAGS: Record<Exclude<keyof GivenOptions, "upgradeBySetting">, CarriedFlag> = {
  databaseUrl: { flag: "--database-url" },
  ownerRole: { flag: "--owner-role" },
  migrationsDir: { flag: "--migrations-dir" },
  configFile: { flag: "--config" },
  settings: { flag: "--set" },
  seeds: { flag: "--seed" },
  rowLevelSecurity: { flag: "--row-level-security" },
  environment: { flag: "--environment" },
  legacyOrganization: { flag: "--legacy-organization", upgrade: "flag" },
  lockTimeoutMs: { flag: "--lock-timeout", word: seconds },
  migrationLockTimeoutMs: { flag: "--migration-lock-timeout", word: seconds },
  statementTimeoutMs: { flag: "--statement-timeout", word: seconds },
  lockRetries: { flag: "--lock-retries" },
  connectTimeoutMs: { flag: "--connect-timeout", word: seconds },
  batchSize: { flag: "--batch-size", upgrade: "flag or setting" },
  maxBatches: { flag: "--max-batches", upgrade: "flag or setting" },
};

/**
 * What the operator gave on the command line that a printed command carries (CARRIED_FLAGS), from the parsed
 * arguments; `settings`: the release settings resolved from them (--config, --set).
 */
export function givenOptionsOf(args: CliArgs, settings: ReleaseSettings): GivenOptions {
  return {
    databaseUrl: args.databaseUrl,
    ownerRole: args.ownerRole,
    migrationsDir: args.migrationsDir,
    configFile: args.configFile,
    settings: args.settings,
    seeds: args.seeds,
    rowLevelSecurity: args.rowLevelSecurity,
    environment: args.environment,
    legacyOrganization: args.legacyOrganization,
    lockTimeoutMs: args.lockTimeoutMs,
    migrationLockTimeoutMs: args.lockSafety.lockTimeoutMs,
    statementTimeoutMs: args.lockSafety.statementTimeoutMs,
    lockRetries: args.lockSafety.lockRetries,
    connectTimeoutMs: args.connectTimeoutMs,
    batchSize: args.batchSize,
    maxBatches: args.maxBatches,
    upgradeBySetting: settings.legacyUpgrade !== undefined,
  };
}

/** Whether the printed command `args` is an upgrade, as `carried.upgrade` needs it to be. */
function upgradeCarries(carried: CarriedFlag, args: readonly string[], given: GivenOptions): boolean {
  if (carried.upgrade === undefined || args.includes("--upgrade-legacy")) return true;
  return carried.upgrade === "flag or setting" && given.upgradeBySetting === true;
}

/**
 * `neonhub-db <args>`, then the options the operator gave (`given`) that the command `args[0]` takes (`takes`:
 * status takes no --owner-role, health no --migrations-dir or --seed, and would refuse them) and `args` does
 * not name itself. The printing command took every option it was given, so a printed plan or apply carries
 * apply's --set and health's, and a verify that prints apply has none to carry: that apply keeps what the
 * database recorded, as verify compared. `running`: the command that prints it (baseline and adopt print the
 * migrator's commands for the migrator).
 */
export function commandOnDatabase(
  args: readonly string[],
  given: GivenOptions,
  env: NodeJS.ProcessEnv,
  takes: (command: string, flag: string) => boolean,
  running?: string,
): PrintedCommand {
  const words = ["neonhub-db", ...args.map(shellWord)];
  const command = args[0] ?? "";
  // What the admin's baseline or adopt in the stack's roles (--owner-role <prefix>_owner) names next (the
  // apply of the migrations left, verify, status) is the migrator's, as the runbook runs it: printed with
  // "$DIRECT_URL" and without --owner-role (the migrator acts as the owner role from its login on), so that
  // the admin's URL is not carried into the releases that follow.
  const migrator =
    running !== undefined && ADMIN_COMMANDS.includes(running) && !ADMIN_COMMANDS.includes(command)
      ? migratorOf(given.ownerRole)
      : undefined;
  // A baseline or adopt named by a command the stack's migrator (or app, or read-only login) ran would be
  // refused as that login: it is printed with the admin's URL, and the owner role the migrator acts as.
  // The URL the command ran with: without --database-url, the variable the CLI took it from (cli/main.ts).
  const ranWith = given.databaseUrl ?? urlFromEnvironment(env)?.url;
  const role = ranWith === undefined ? undefined : urlRoleOf(ranWith, env);
  const asAdmin = ADMIN_COMMANDS.includes(command) && role !== undefined && role.role !== "admin";
  const ownerRole =
    migrator !== undefined
      ? undefined
      : (given.ownerRole ?? (asAdmin && role.prefix !== undefined ? `${role.prefix}_owner` : undefined));
  let note: Pick<PrintedCommand, "passwordNote" | "urlNote"> = {};
  for (const key of Object.keys(CARRIED_FLAGS) as (keyof typeof CARRIED_FLAGS)[]) {
    const value =
      key === "ownerRole"
        ? ownerRole
        : key === "databaseUrl" && asAdmin
          ? ADMIN_URL_WORD
          : key === "databaseUrl" && migrator !== undefined
            ? MIGRATOR_URL_WORD
            : given[key];
    const carried = CARRIED_FLAGS[key];
    const { flag } = carried;
    if (value === undefined || !takes(command, flag) || args.includes(flag)) continue;
    if (!upgradeCarries(carried, args, given)) continue;
    if (typeof value === "number") {
      words.push(flag, (carried.word ?? String)(value));
      continue;
    }
    if (key !== "databaseUrl") {
      for (const one of typeof value === "string" ? [value] : value) words.push(flagWithValue(flag, one));
      continue;
    }
    if (migrator !== undefined) {
      words.push(flag, MIGRATOR_URL_WORD);
      note = { urlNote: migratorUrlNote(command, migrator) };
      continue;
    }
    if (asAdmin) {
      words.push(flag, ADMIN_URL_WORD);
      note = { urlNote: adminUrlNote(command, ownerRole !== undefined) };
      continue;
    }
    const shown = databaseUrlWord(value as string, env);
    if (shown.passwordNote) note = { passwordNote: shown.passwordNote };
    words.push(flag, shown.word);
  }
  return { command: words.join(" "), ...note };
}

/**
 * ReleaseOptions.printCommand: each command core names to run, with the options the operator gave; `setting`:
 * how a fix names a release setting to change (CommandPrinter.setting, cli/release-settings.ts settingWords).
 */
export function commandPrinter(
  given: GivenOptions,
  env: NodeJS.ProcessEnv,
  takes: (command: string, flag: string) => boolean,
  running?: string,
  setting?: (path: string) => string,
): CommandPrinter {
  const print = (args: readonly string[]) =>
    commandInFix(commandOnDatabase(args, given, env, takes, running));
  return setting ? Object.assign(print, { setting }) : print;
}

/**
 * `neonhub-db <argv> <flags> <extra>`, without --confirm and --expect-last when `withoutConfirm`; `flags` (a
 * flag and its value each) in place of argv's own value of each flag, given as `--flag value` or `--flag=value`.
 */
function commandOf(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  extra: readonly string[],
  withoutConfirm = true,
  flags: readonly string[] = [],
): PrintedCommand {
  const replaced = new Set(flags.filter((_, i) => i % 2 === 0));
  const words: string[] = ["neonhub-db"];
  let note: string | undefined;
  const url = (value: string) => {
    const shown = databaseUrlWord(value, env);
    note ??= shown.passwordNote;
    return shown.word;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (withoutConfirm && (arg === "--confirm" || arg.startsWith("--expect-last="))) continue;
    if (replaced.has(arg.split("=")[0]!)) {
      if (!arg.includes("=")) i++;
    } else if (withoutConfirm && arg === "--expect-last") {
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
    command: [...words, ...flags.map(shellWord), ...extra.map(shellWord)].join(" "),
    ...(note ? { passwordNote: note } : {}),
  };
}

/**
 * The operator's own command, every argument as given (--confirm and --expect-last included), the URL shown
 * as the other printed commands show it: what a lost connection's fix says to run again. `flags` (a flag and
 * its value each) in place of the operator's value of each flag (ReleaseOptions.commandAsRunWith).
 */
export function commandAsRun(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  flags: readonly string[] = [],
): PrintedCommand {
  return commandOf(argv, env, [], false, flags);
}

/** The revert's preview: `argv` (a revert's, with or without --confirm) without --confirm and --expect-last. */
export function revertPreviewCommand(argv: readonly string[], env: NodeJS.ProcessEnv): PrintedCommand {
  return commandOf(argv, env, []);
}

/**
 * `neonhub-db <preview args> --confirm --expect-last <last>`: what confirms the preview run with `argv` (a
 * revert's, with or without --confirm: a confirm stopped part way prints its own with the ledger's new last).
 * `flags` as commandAsRun's.
 */
export function revertConfirmCommand(
  argv: readonly string[],
  lastMigration: string,
  env: NodeJS.ProcessEnv,
  flags: readonly string[] = [],
): PrintedCommand {
  return commandOf(argv, env, ["--confirm", "--expect-last", lastMigration], true, flags);
}

/** A command as a fix names it: in backticks, then how to give the password it leaves out, or the URL it names. */
export function commandInFix({ command, passwordNote, urlNote }: PrintedCommand): string {
  const note = passwordNote ?? urlNote;
  return `\`${command}\`${note ? ` (${note})` : ""}`;
}
