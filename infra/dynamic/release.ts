// One part of the release, run by the engine in core/. The steps the part owns run for real; the others only
// contribute their bookkeeping tables, so the bookkeeping stays the same whichever part runs. Paths resolve
// against the project root where the provider runs, never against the machine that made the plan.
import path from "node:path";
import {
  DEFAULT_MIGRATIONS_DIR,
  PROJECT_ROOT,
  ReleaseError,
  STACK_CONFIG_NAMESPACE,
  STACK_SETTING_FLAGS,
  buildReleaseManifest,
  commandToRun,
  ledgerProblemText,
  rebuildLeftoverText,
  shellWord,
  type CommandPrinter,
  type LockWaitNames,
  type Logger,
  type ReleaseSession,
  type ReleaseOptions,
  type ReleaseResult,
  type ReleaseStep,
  type StepItemResult,
  type StepStatus,
  type VerifyReport,
} from "../../core";
import { defaultReleaseSteps, shownObjectKey } from "../../core";
import { configSetCommand } from "./config-command";
import { legacyUpgradeConfigCommand } from "./legacy-upgrade-config";
import {
  pulumiCommand,
  pulumiRun,
  stackNamed,
  withStackNote,
  type PulumiRun,
  type StackNamed,
} from "./stack-name";
import { targetOf, withoutPassword } from "./connection";
import { givenUrls, writeShown } from "./shown-text";
import {
  PART_STEP_KEYS,
  STEP_KEY,
  manifestKeys,
  type LastRun,
  type LastRunMigration,
  type Manifest,
  type Manifests,
  type PartSettings,
  type PendingItem,
  type ReleasePart,
  type ResolvedOutputs,
} from "./types";

export interface PartContext {
  part: ReleasePart;
  options: ReleaseOptions & { log: Logger };
  /** The steps whose items this part applies. */
  owned: ReleaseStep[];
  target: string;
  /** The stack the printed commands name (its settings' `stack`, or the placeholder for an old state). */
  stack: StackNamed;
}

/** How messages name each part. */
export const LABEL: Record<ReleasePart, string> = {
  migrations: "schema migrations",
  seedSets: "seed sets",
  vectorIndexes: "vector indexes",
};

/**
 * `pulumi stack output` reading `output` of the stack the program runs for, named (`--stack`, stackNamed): with
 * another stack selected where the operator runs it, the bare command would read that stack's database.
 */
export function stackOutputCommand(stack: StackNamed, output: string): string {
  return ["pulumi", "stack", "output", "--stack", stack.word, "--show-secrets", output].join(" ");
}

/**
 * How a printed command that is no pulumi run reaches the stack's database: as the migrator, whose connection
 * string is the stack's `directUrl` output (docs/stacks.md), read where the command runs so that no password
 * is in the fix. Run from the project's folder.
 */
function stackDirectUrl(stack: StackNamed): string {
  return `"$(${stackOutputCommand(stack, "directUrl")})"`;
}

/** The commands that read the migration files and take --migrations-dir (cli/args.ts), baseline and adopt aside. */
const MIGRATION_FILE_READERS = new Set(["plan", "apply", "status", "verify", "revert"]);

/**
 * How the engine's fixes and notes name a command to run (ReleaseOptions.printCommand) on `stack`: an apply is
 * `pulumi up --stack <stack>` and a plan `pulumi preview --stack <stack>`, which run the release with the stack's settings (a
 * fix's "run apply again" is the up run again, whichever method failed), and so are the legacy upgrade's apply
 * and plan on a stack whose `legacyUpgrade` setting runs the upgrade in its up. On a stack without it, the
 * upgrade's apply (an upgrade to start or to continue) is the setting's `pulumi config set` and the up
 * first, the stack's own way, then the CLI's command that does it without the setting, and its plan the preview
 * once the setting is set, then the CLI's. Any other command (verify, status, a revert,
 * an apply with options of its own) has no pulumi counterpart: it is printed to run as the migrator on the
 * stack's database (stackDirectUrl, naming the stack), with the stack's migrations folder. baseline and adopt, which need the
 * admin's login, are named as the engine names them for a caller without a printer. Its up runs the stack's
 * access layer too (runsAccessLayer), which a missing extension's fix names.
 */
function stackCommandPrinter(
  settings: Pick<PartSettings, "migrationsDir" | "steps">,
  stack: StackNamed,
): CommandPrinter {
  const upgrades = settings.steps.legacyUpgrade !== undefined;
  const upAlone = pulumiCommand("up", stack);
  const preview = pulumiCommand("preview", stack);
  const print = (args: readonly string[]): string => {
    const [command = "", ...flags] = args;
    // An apply's flags that are the stack's settings of each run (a statement timeout to raise) are its
    // config keys, set before the up; the CLI's command beside it keeps them as flags.
    const { rest, configSets } =
      command === "apply" ? stackSettingFlags(flags, stack) : { rest: flags, configSets: [] };
    const up = [...configSets.map((set) => `\`${set}\``), upAlone].join(" and ");
    const legacyUpgrade = rest[0] === "--upgrade-legacy";
    const upgrade = upgrades && legacyUpgrade;
    if (command === "apply" && (rest.length === 0 || upgrade)) return withStackNote(up, stack);
    if (command === "plan" && (rest.length === 0 || upgrade)) return withStackNote(preview, stack);
    if (command === "baseline" || command === "adopt") return commandToRun(undefined, args);
    const folder =
      MIGRATION_FILE_READERS.has(command) &&
      path.resolve(PROJECT_ROOT, settings.migrationsDir) !== DEFAULT_MIGRATIONS_DIR
        ? ["--migrations-dir", shellWord(settings.migrationsDir)]
        : [];
    // The engine's arguments as words a shell reads as given (a placeholder such as <slug> quoted, as the
    // CLI's printer quotes it); the URL's and the folder's are words already.
    const cli = commandToRun(undefined, [
      ...args.map(shellWord),
      "--database-url",
      stackDirectUrl(stack),
      ...folder,
    ]);
    if (!legacyUpgrade) return withStackNote(cli, stack);
    // The upgrade's plan on a stack without the setting: the preview shows its steps once the setting is set
    // (the apply beside it names the `pulumi config set`), or the CLI's.
    if (command === "plan")
      return withStackNote(
        `${preview} once the stack's legacyUpgrade setting is set, or with the CLI, ${cli}`,
        stack,
      );
    if (command !== "apply") return withStackNote(cli, stack);
    const given = rest.indexOf("--legacy-organization");
    const organization = (given < 0 ? undefined : rest[given + 1]) ?? "<slug>";
    return withStackNote(
      `\`${legacyUpgradeConfigCommand(organization, stack.word)}\` (the stack's legacyUpgrade setting) and ${up}, or with the CLI, ${cli}`,
      stack,
    );
  };
  return Object.assign(print, { setting: stackSettingWords(stack), runsAccessLayer: true as const });
}

/**
 * `args` without the flags of the stack's settings of each run (STACK_SETTING_FLAGS: `--statement-timeout
 * <seconds>`), and the `pulumi config set` of each one's key to the flag's value: the stack's way to give it.
 */
function stackSettingFlags(
  args: readonly string[],
  stack: StackNamed,
): { rest: string[]; configSets: string[] } {
  const rest: string[] = [];
  const configSets: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const key = Object.keys(STACK_SETTING_FLAGS).find((k) => STACK_SETTING_FLAGS[k] === args[i]);
    if (key === undefined || i + 1 >= args.length) rest.push(args[i]!);
    else configSets.push(configSetCommand(stack, key, shellWord(args[++i]!)));
  }
  return { rest, configSets };
}

/**
 * How a fix names a release setting on a stack (CommandPrinter.setting): the stack's config key, which holds
 * the setting's path under the project's namespace (infra/config.ts reads `neonhub-db:vectorIndexes` into the
 * release's `vectorIndexes`, and so on), with the `pulumi config set` for the stack the program runs for.
 */
function stackSettingWords(stack: StackNamed): (settingPath: string) => string {
  return (settingPath) => {
    const key = `${STACK_CONFIG_NAMESPACE}:${settingPath}`;
    const set = `\`${configSetCommand(stack, settingPath, "<value>", { path: true })}\``;
    return `${key} in the stack's config (${stack.note === undefined ? set : `${set}; ${stack.note}`})`;
  };
}

/**
 * A lock timeout's words on a stack: the config keys that bound the wait (infra/config.ts's release lock
 * timeout, which lockTimeoutMs carries, and infra/release-safety-config.ts's migrations' timeout and
 * retries, which lockSafety carries), and the run that failed, to run again on the stack.
 */
function stackLockWaitNames(run: PulumiRun, stack: StackNamed): LockWaitNames {
  return {
    lockTimeout: `${STACK_CONFIG_NAMESPACE}:releaseLockTimeoutSeconds`,
    migrationLockTimeout: `${STACK_CONFIG_NAMESPACE}:migrationLockTimeoutSeconds`,
    migrationLockRetries: `${STACK_CONFIG_NAMESPACE}:migrationLockRetries`,
    rerun: withStackNote(pulumiRun(run, stack), stack),
  };
}

/** Keeps a step's bookkeeping DDL and nothing else: its items belong to another part. */
function bookkeepingOnly(step: ReleaseStep): ReleaseStep {
  return {
    kind: step.kind,
    bookkeepingDdl: step.bookkeepingDdl,
    manifest: () => [],
    plan: async () => [],
    apply: async () => [],
    status: async () => [],
    // Nothing of its own to read: the release's batched reads stay one statement.
    batch: {
      probeSql: () => "'null'::jsonb",
      stateSql: () => "'null'::jsonb",
      planFromState: () => [],
      noopFromState: () => true,
      noopResults: () => [],
      statusFromState: () => [],
    },
  };
}

/**
 * The engine's options for one part, connecting with `databaseUrl` (named `source` in messages), for a
 * provider method run by `run`.
 */
export function partContext(
  settings: PartSettings,
  databaseUrl: string,
  source: string,
  run: PulumiRun,
): PartContext {
  const stack = stackNamed(settings.stack, run);
  const owns = (step: ReleaseStep) => PART_STEP_KEYS[settings.part].includes(STEP_KEY[step.kind]);
  const all = defaultReleaseSteps(settings.steps);
  const target = targetOf(databaseUrl, source);
  const prefix = `${LABEL[settings.part]} on ${target}: `;
  // The host's stderr reaches the Pulumi CLI's output; the engine's lines name files and items, not secrets,
  // and masking makes sure of it, the connection string masked whole wherever a line echoes it.
  const given = [databaseUrl, ...givenUrls({})];
  const write = (line: string) => writeShown(prefix + line, given);
  return {
    part: settings.part,
    owned: all.filter(owns),
    target,
    stack,
    options: {
      databaseUrl,
      databaseUrlSource: source,
      migrationsDir: path.resolve(PROJECT_ROOT, settings.migrationsDir),
      // Fixes name the folder as the stack's setting does (relative to the project root), not the machine's path.
      migrationsDirAsGiven: settings.migrationsDir,
      steps: all.map((step) => (owns(step) ? step : bookkeepingOnly(step))),
      ownerRole: settings.ownerRole,
      // The stack's owner role is its access layer's, `<rolePrefix>_owner`: no --owner-role to name instead.
      ownerRoleSetting: `${STACK_CONFIG_NAMESPACE}:rolePrefix`,
      // Also the bound of every read's wait for a table lock another session holds (ReleaseSession).
      lockTimeoutMs: settings.lockTimeoutMs,
      lockWaitNames: stackLockWaitNames(run, stack),
      printCommand: stackCommandPrinter(settings, stack),
      environment: settings.environment,
      lockSafety: settings.lockSafety,
      connectTimeoutMs: settings.connectTimeoutMs,
      log: { info: write, warn: (message) => write(`warning: ${message}`) },
    },
  };
}

/** The part's manifests computed from the files where the provider runs. */
export function manifestsOnDisk(context: PartContext): Manifests {
  const manifest = buildReleaseManifest({
    migrationsDir: context.options.migrationsDir,
    steps: context.owned,
  });
  return Object.fromEntries(
    manifestKeys(context.part).map((key) => [
      key,
      Object.fromEntries(manifest[key].map((entry) => [entry.name, entry.checksum])),
    ]),
  );
}

/** `up` applies what preview showed: refuses when the files changed since the inputs were computed. */
export function refuseChangedFiles(settings: PartSettings & Manifests, context: PartContext): void {
  const onDisk = manifestsOnDisk(context);
  const differ = manifestKeys(context.part).flatMap((key) => {
    const planned = settings[key] ?? {};
    const now = onDisk[key] ?? {};
    const names = [...new Set([...Object.keys(planned), ...Object.keys(now)])].sort();
    return names.filter((name) => planned[name] !== now[name]);
  });
  if (differ.length === 0) return;
  throw new ReleaseError(
    context.part === "migrations" ? "migration-files" : "invalid-input",
    `The ${LABEL[context.part]} changed since this update was planned: ${differ.join(", ")}.`,
    `Run ${withStackNote(pulumiCommand("up", context.stack), context.stack)} again, so that the preview and the update see the same files.`,
  );
}

/** Seed sets and vector indexes run after the migrations: refuse to apply migrations on their behalf. */
export async function refusePendingMigrations(context: PartContext, session: ReleaseSession): Promise<void> {
  if (context.part === "migrations") return;
  const status = await session.status();
  if (status.pendingMigrations.length === 0) return;
  throw new ReleaseError(
    "ledger-mismatch",
    `${status.pendingMigrations.length} migration(s) are not applied yet (${status.pendingMigrations.join(", ")}); the ${LABEL[context.part]} run after them.`,
    `Run ${withStackNote(pulumiCommand("up", context.stack), context.stack)} without --target, so that the schema migrations resource applies them first.`,
  );
}

export async function applyPart(session: ReleaseSession): Promise<ReleaseResult> {
  return session.apply();
}

export function lastRunOf(part: ReleasePart, result: ReleaseResult): LastRun {
  const migrations =
    part === "migrations"
      ? result.migrations.map(
          ({ name, checksum, durationMs }): LastRunMigration => ({
            name,
            action: "apply",
            checksum,
            durationMs,
          }),
        )
      : [];
  const steps = PART_STEP_KEYS[part].flatMap((key): StepItemResult[] =>
    result[key].map((item) => ({ ...item })),
  );
  return {
    at: new Date().toISOString(),
    changed: result.changed,
    durationMs: result.durationMs,
    items: [...migrations, ...steps],
  };
}

function driftLines(report: VerifyReport): string[] {
  if (report.drift.snapshotTakenAt === null) return report.problems.map(ledgerProblemText);
  return [
    ...report.problems.map(ledgerProblemText),
    // An interrupted rebuild's index is no hand's: said as verify and health say it.
    ...report.drift.added.map(
      (object) => rebuildLeftoverText(object) ?? `added by hand: ${shownObjectKey(object)}`,
    ),
    ...report.drift.removed.map((object) => `removed by hand: ${shownObjectKey(object)}`),
    ...report.drift.changed.map((object) => `changed by hand: ${shownObjectKey(object)}`),
    ...(report.drift.note ? [report.drift.note] : []),
  ];
}

/**
 * The part as the database records it now: the outputs of create, update and read. With `plan`, also what
 * an apply would still do (rows edited by hand, a table that outgrew its index). `applied` says the part's
 * steps just ran to completion with the definitions on disk.
 */
export async function recordedState(
  settings: PartSettings,
  context: PartContext,
  extra: { plan: boolean; applied: boolean; lastRun: LastRun | null },
  session: ReleaseSession,
): Promise<ResolvedOutputs> {
  const status = await session.status();
  const plan = extra.plan ? await session.plan() : undefined;
  const outputs: ResolvedOutputs = {
    ...pickSettings(settings),
    target: context.target,
    connection: withoutPassword(context.options.databaseUrl),
    lastRun: extra.lastRun,
    status: PART_STEP_KEYS[settings.part].flatMap((key): StepStatus[] => status[key]),
    pending: PART_STEP_KEYS[settings.part].flatMap((step) =>
      (plan?.[step] ?? [])
        .filter((item) => item.action !== "unchanged")
        .map(({ name, action, reason }): PendingItem => ({ step, name, action, reason })),
    ),
  };
  if (settings.part === "migrations") {
    const verify = await session.verify();
    outputs.migrations = Object.fromEntries(status.ledger.map((entry) => [entry.name, entry.checksum]));
    outputs.appliedMigrations = status.ledger.length;
    outputs.lastMigration = status.ledger.at(-1)?.name ?? null;
    outputs.drift = driftLines(verify);
    outputs.lostLedgerRows = status.problems.filter((problem) => problem.kind === "missing-from-ledger");
  }
  const onDisk = manifestsOnDisk(context);
  for (const key of PART_STEP_KEYS[settings.part]) {
    const recorded: Manifest = {};
    for (const [name, checksum] of Object.entries(onDisk[key] ?? {})) {
      const entry = status[key].find((e) => e.name === name);
      const upToDate = plan?.[key].some((item) => item.name === name && item.action === "unchanged");
      // A status with a checksum is the truth (seed sets). Otherwise the item is in force with the
      // definition it was built from when the database has it, when the step just ran, or when nothing is
      // left to do for it (an index waiting for its first rows).
      if (entry && "checksum" in entry) recorded[name] = entry.checksum;
      else if (entry || extra.applied || upToDate) recorded[name] = checksum;
    }
    outputs[key] = recorded;
  }
  return outputs;
}

function pickSettings(settings: PartSettings): PartSettings {
  const { part, database, ownerRole, migrationsDir, steps, lockTimeoutMs, connectTimeoutMs, dropOnDelete } =
    settings;
  const safety = {
    ...(settings.environment ? { environment: settings.environment } : {}),
    ...(settings.lockSafety ? { lockSafety: settings.lockSafety } : {}),
    // Recorded, so that refresh and destroy, which see only the recorded state, name the stack too.
    ...(settings.stack !== undefined ? { stack: settings.stack } : {}),
  };
  return {
    part,
    database,
    ownerRole,
    migrationsDir,
    steps,
    lockTimeoutMs,
    connectTimeoutMs,
    dropOnDelete,
    ...safety,
  };
}
