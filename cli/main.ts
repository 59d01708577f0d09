// neonhub-db: a thin shell over the release engine. It parses flags, picks the output form, turns results
// into exit codes and makes sure no password reaches the terminal.
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  adoptUpstreamDatabase,
  DEFAULT_MIGRATIONS_DIR,
  MIGRATOR_URL_SOURCES,
  PROJECT_ROOT,
  ReleaseError,
  applyRelease,
  interruption,
  holdSignalsAfterResult,
  reportIfInterrupted,
  reportInterruptions,
  baselineRelease,
  checkHealth,
  defaultReleaseSteps,
  loadChunkFile,
  ADMIN_URL_SOURCE,
  adminFlags,
  describeSchemaDrift,
  isReleaseError,
  parseDatabaseUrl,
  planLegacyUpgrade,
  planLegacyUpgradeIfNeeded,
  planVerdict,
  type PlanVerdict,
  revertPlanBlocked,
  revertPlanProblems,
  planRelease,
  prismaSchemaCommand,
  redactSecrets,
  releaseStatus,
  upgradeLegacyDatabase,
  upgradeLegacyIfNeeded,
  verifyRelease,
  withReleaseSession,
  type Interruption,
  type InterruptibleCommand,
  type LegacyUpgradeOptions,
  type Logger,
  type ReleaseOptions,
  type RunningTrackers,
} from "../core";
import { COMMAND_FLAGS, USAGE, parseArgs, takesFlag, type CliArgs } from "./args";
import { internalErrorDocument, releaseErrorDocument } from "./error-document";
import { refuseMissingPaths } from "./given-paths";
import { urlFromEnvironment } from "./environment-url";
import { outputWriter } from "./output-streams";
import { releaseEnvironment, releaseSettings, settingWords } from "./release-settings";
import { renderHealth } from "./render-health";
import { renderRevert, renderRevertPlan } from "./render-revert";
import {
  commandAsRun,
  commandInFix,
  commandPrinter,
  givenOptionsOf,
  passwordNoteOnce,
  revertConfirmCommand,
  revertPreviewCommand,
} from "./confirm-command";
import { renderAdopt } from "./render-adopt";
import { renderUpgrade, renderUpgradePlan } from "./render-upgrade";
import { renderApply, renderBaseline, renderLoad, renderPlan, renderStatus, renderVerify } from "./render";
import { warningLogger } from "./warnings";

export const EXIT = { ok: 0, error: 1, pending: 2 } as const;

/** plan's exit code for its verdict: what needs the operator is something to act on, as pending work is. */
const PLAN_EXIT: Record<PlanVerdict, number> = {
  blocked: EXIT.error,
  pending: EXIT.pending,
  operator: EXIT.pending,
  nothing: EXIT.ok,
};

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

/** The process's own streams; made on the first run that uses them, not when a test imports main. */
let processIo: CliIo | undefined;
function processStreams(): CliIo {
  processIo ??= {
    stdout: outputWriter(process.stdout),
    stderr: outputWriter(process.stderr),
    env: process.env,
  };
  return processIo;
}

/**
 * The database the command works on: --database-url, else the migrator's DIRECT_URL, else DATABASE_URL. An
 * app's environment (`npm run -s local -- env`, the stacks' outputs) holds both, and DATABASE_URL is the app
 * login, which may not read the release's records: the migrator's comes first, as Prisma's migrate takes it.
 */
function databaseUrlOf(args: CliArgs, env: NodeJS.ProcessEnv): { databaseUrl: string; source: string } {
  if (args.databaseUrl !== undefined) return { databaseUrl: args.databaseUrl, source: "--database-url" };
  const fromEnvironment = urlFromEnvironment(env);
  if (fromEnvironment) return { databaseUrl: fromEnvironment.url, source: fromEnvironment.variable };
  // baseline and adopt need the admin (CREATEDB for the scratch database): the migrator's URL would be refused.
  if (args.command === "baseline" || args.command === "adopt") {
    throw new ReleaseError(
      "invalid-input",
      "No database URL given.",
      `Pass the admin's: ${adminFlags("<prefix>_owner")} (the stack's admin login: ${ADMIN_URL_SOURCE}). ${args.command} needs CREATEDB for its scratch database, which the migrator has not.`,
    );
  }
  throw new ReleaseError(
    "invalid-input",
    "No database URL given.",
    "Pass --database-url postgresql://user:password@host:5432/neonhub, or set DIRECT_URL (the migrator's: " +
      `${MIGRATOR_URL_SOURCES}) or DATABASE_URL.`,
  );
}

/**
 * What the command works on and with. The database URL is looked for last: everything the command line alone
 * decides (the flags, parsed and checked together by parseArgs; the release settings of --config and --set;
 * the stack file's environment; the folder and file it names, refuseMissingPaths) is refused first, so that a
 * wrong command line is named as such whether or not a URL was given, and a fixed one does not fail again on
 * the next of its mistakes.
 */
function releaseOptions(
  args: CliArgs,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  log: Logger,
): ReleaseOptions {
  const settings = releaseSettings(args, (line) => log.warn(line));
  // Only plan, apply and revert lint by environment (COMMAND_FLAGS): no other command reads a stack file's.
  const environment = COMMAND_FLAGS.environment?.includes(args.command)
    ? releaseEnvironment(args, (line) => log.info(line))
    : args.environment;
  // What the fixes and notes say to run next acts on this database, folder and owner role, not $DIRECT_URL's,
  // a plan or apply they name with the settings and seed sets this one was given, and each waits, retries and
  // batches as this one was told to.
  // A fix that says which release setting to change names where this run took it from: --set, or --config's file.
  const printCommand = commandPrinter(
    givenOptionsOf(args, settings),
    env,
    takesFlag,
    args.command,
    settingWords(args),
  );
  refuseMissingPaths(args, printCommand);
  const { databaseUrl, source } = databaseUrlOf(args, env);
  parseDatabaseUrl(databaseUrl, source);
  return {
    databaseUrl,
    databaseUrlSource: source,
    migrationsDir: args.migrationsDir ? path.resolve(args.migrationsDir) : DEFAULT_MIGRATIONS_DIR,
    // Fixes name the folder as it was given, never as this machine's absolute path.
    migrationsDirAsGiven: args.migrationsDir ?? "migrations",
    // Settings given neither in --config nor as flags keep what the database recorded at its last release.
    steps: defaultReleaseSteps({
      seedSets: args.seeds,
      rowLevelSecurity: settings.rowLevelSecurity,
      vectorIndexes: settings.vectorIndexes,
      unsetFromRecord: true,
    }),
    ownerRole: args.ownerRole,
    lockTimeoutMs:
      args.lockTimeoutMs ??
      (settings.lockTimeoutSeconds !== undefined ? settings.lockTimeoutSeconds * 1000 : undefined),
    lockSafety: args.lockSafety,
    environment,
    connectTimeoutMs: args.connectTimeoutMs,
    // What a refused, stopped or disconnected revert --confirm says to run again: the operator's own preview.
    ...(args.command === "revert"
      ? {
          revertPreview: commandInFix(revertPreviewCommand(argv, env)),
          // What a revert --confirm stopped part way says to run for the rest: this command, with the
          // --expect-last of the ledger it left.
          revertConfirm: (last: string, flags?: readonly string[]) =>
            commandInFix(revertConfirmCommand(argv, last, env, flags)),
        }
      : {}),
    printCommand,
    // What a lost connection's fix says to run again: this very command.
    commandAsRun: commandInFix(commandAsRun(argv, env)),
    // What a revert stopped by the statement timeout says to run again: this command, with the timeout to raise.
    commandAsRunWith: (flags: readonly string[]) => commandInFix(commandAsRun(argv, env, flags)),
    log,
  };
}

/**
 * What plan/apply are asked to upgrade: --upgrade-legacy (explicit: refused on a database that is not the
 * legacy one), or the `legacyUpgrade` release setting of --config/--set (as a stack carries it: only when the
 * database needs it).
 */
function upgradeRequest(args: CliArgs): (LegacyUpgradeOptions & { explicit: boolean }) | undefined {
  if (args.upgradeLegacy) {
    return {
      explicit: true,
      organization: args.legacyOrganization,
      organizationSource: "--legacy-organization",
      batchSize: args.batchSize,
      maxBatches: args.maxBatches,
    };
  }
  const setting = releaseSettings(args).legacyUpgrade;
  if (!setting) {
    const flag =
      args.batchSize !== undefined
        ? "--batch-size"
        : args.maxBatches !== undefined
          ? "--max-batches"
          : undefined;
    if (flag) {
      throw new ReleaseError(
        "invalid-input",
        `${flag} goes with an upgrade of a Prisma-era database: --upgrade-legacy, or the legacyUpgrade release setting; neither was given.`,
        `Example: neonhub-db ${args.command} --upgrade-legacy --legacy-organization acme ${flag} ${flag === "--batch-size" ? 500 : 10}`,
      );
    }
    return undefined;
  }
  return {
    explicit: false,
    organization: setting.organization,
    organizationSource: "legacyUpgrade.organization",
    batchSize: args.batchSize ?? setting.batchSize,
    maxBatches: args.maxBatches,
  };
}

function version(): string {
  const pkg = JSON.parse(readFileSync(path.join(PROJECT_ROOT, "package.json"), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/**
 * What the operator gave that an error may echo: each argument, the value of each `--flag=value`, and the
 * environment's values (DATABASE_URL and the like).
 */
function givenTexts(argv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const values = argv.flatMap((arg) =>
    /^--[^=]+=/.test(arg) ? [arg, arg.slice(arg.indexOf("=") + 1)] : [arg],
  );
  return [...values, ...Object.values(env).filter((value): value is string => value !== undefined)];
}

/** Runs one command; returns the exit code. Never throws, never calls process.exit. */
export async function main(argv: readonly string[], io: CliIo = processStreams()): Promise<number> {
  // Every connection string's password field is masked in every line we print, whatever path it took, and so
  // is each argument or environment value holding one, wherever it is echoed; a line naming two commands on
  // one URL says how to give its password once.
  const given = givenTexts(argv, io.env);
  const clean = (text: string) => redactSecrets(text, given).split("\n").map(passwordNoteOnce).join("\n");
  const out = (text: string) => io.stdout(`${clean(text)}\n`);
  const err = (text: string) => io.stderr(`${clean(text)}\n`);
  const log = warningLogger(err);
  // Pretty-printed, as every --json document of a command is; each of its strings is a message of its own.
  const outDocument = (document: object) =>
    out(
      JSON.stringify(
        document,
        // Each string is masked as itself too: an echoed argument is found as it was given, not JSON-escaped.
        (_, value: unknown) =>
          typeof value === "string" ? passwordNoteOnce(redactSecrets(value, given)) : value,
        2,
      ),
    );
  // --json=true is refused by the parser (--json takes no value), in a JSON document: it asked for one.
  let json = argv.some((arg) => arg === "--json" || arg.startsWith("--json="));
  let stopReporting: (() => void) | undefined;
  let endHold: (() => void) | undefined;
  try {
    const args = parseArgs(argv, io.env);
    json = args.json;
    // --json promises one JSON document on stdout, --help and --version included.
    if (args.command === "help") return (out(json ? JSON.stringify({ usage: USAGE }) : USAGE), EXIT.ok);
    if (args.command === "version")
      return (out(json ? JSON.stringify({ version: version() }) : version()), EXIT.ok);
    // plan's and apply's upgrade request is checked with the rest of the command line, before the database URL.
    const request = args.command === "plan" || args.command === "apply" ? upgradeRequest(args) : undefined;
    const options = releaseOptions(args, argv, io.env, log);
    // With --json, the result and every warning the command wrote on stderr (CI may read stdout alone). Once
    // it is printed, a signal (while the connection closes) prints no second document, "interrupted", nor
    // changes the exit code: it is said on stderr, and the command ends as its result says.
    const emit = (value: object, text: string) => {
      if (json) outDocument({ ...value, warnings: log.warnings });
      else out(text);
      stopReporting?.();
      stopReporting = undefined;
      endHold?.();
      endHold = holdSignalsAfterResult((signal) =>
        err(
          `neonhub-db: ${signal} after the result was printed: the result stands as printed; closing the connection (a second ${signal} ends the process at once)`,
        ),
      );
    };
    // Said before the process ends by the signal, as an error (not a warning: --json's warnings are the
    // command's, and the interruption is the error itself); with --json, the one document stdout gets.
    const reportInterruption = (interruption: Interruption) => {
      const error = new ReleaseError("interrupted", interruption.message, interruption.fix);
      err(`neonhub-db: error: interrupted: ${error.describe()}`);
      if (json) outDocument(releaseErrorDocument(error, log.warnings));
    };
    // Every command says it was stopped, in its own words; apply (and its legacy upgrade), revert --confirm, baseline and
    // adopt say more (what was running, or the release lock they waited for) from inside, while they run.
    const command = args.command === "revert" && !args.confirm ? "revert-preview" : args.command;
    const rerunWords = {
      revertPreview: options.revertPreview,
      print: options.printCommand,
      asRun: options.commandAsRun,
      revert: { expectLast: args.expectLast, confirmWith: options.revertConfirm },
    };
    stopReporting = reportInterruptions(reportInterruption, () =>
      interruption(command, undefined, rerunWords),
    );
    // What a command stopped inside says to run names the preview and the reads as this run was given.
    const interruptible = <T>(stopped: InterruptibleCommand, work: (track: RunningTrackers) => Promise<T>) =>
      reportIfInterrupted(reportInterruption, stopped, work, rerunWords);
    switch (args.command) {
      case "plan": {
        const upgradePlan = request?.explicit
          ? await planLegacyUpgrade(options, request)
          : request && (await planLegacyUpgradeIfNeeded(options, request));
        if (upgradePlan) {
          emit(upgradePlan, renderUpgradePlan(upgradePlan, options.printCommand));
          // Nothing of the upgrade is left once an earlier run dropped the legacy tables: plain plan says the rest.
          if (upgradePlan.finished) return EXIT.ok;
          return upgradePlan.ready ? EXIT.pending : EXIT.error;
        }
        const plan = await planRelease(options);
        emit(plan, renderPlan(plan, options.printCommand));
        return PLAN_EXIT[planVerdict(plan)];
      }
      case "apply": {
        // Ctrl-C or a kill: say what the stopped command left and what to run, before the process ends.
        const upgraded =
          request &&
          (await interruptible("upgrade-legacy", ({ onReleaseLockWait }) =>
            request.explicit
              ? upgradeLegacyDatabase({ ...options, onReleaseLockWait }, request)
              : upgradeLegacyIfNeeded({ ...options, onReleaseLockWait }, request),
          ));
        if (upgraded) {
          emit(upgraded, renderUpgrade(upgraded));
          return upgraded.complete ? EXIT.ok : EXIT.pending;
        }
        const result = await interruptible("apply", (track) => applyRelease({ ...options, ...track }));
        emit(result, renderApply(result));
        return EXIT.ok;
      }
      case "status": {
        const status = await releaseStatus(options);
        emit(status, renderStatus(status, options.printCommand));
        // A ledger problem (the ones apply refuses on) is something to act on, as verify's are: exit 2, so
        // that CI can tell it from a database it could not read (1). So is a prepared transaction holding the
        // release lock, on which every apply fails until an operator finishes it (a release in progress ends
        // by itself). Pending migrations are plan's to signal.
        return status.problems.length > 0 || status.releaseLockPrepared ? EXIT.pending : EXIT.ok;
      }
      case "verify": {
        const report = await verifyRelease(options);
        emit(report, renderVerify(report));
        return report.clean ? EXIT.ok : EXIT.pending;
      }
      case "baseline": {
        const result = await interruptible("baseline", ({ onReleaseLockWait }) =>
          baselineRelease({ ...options, to: args.to, onReleaseLockWait }),
        );
        emit(result, renderBaseline(result));
        return EXIT.ok;
      }
      case "adopt": {
        const result = await interruptible("adopt", ({ onReleaseLockWait }) =>
          adoptUpstreamDatabase({ ...options, onReleaseLockWait }),
        );
        emit(result, renderAdopt(result, options.printCommand));
        return EXIT.ok;
      }
      case "load-chunks": {
        const { databaseUrl, databaseUrlSource, connectTimeoutMs, lockTimeoutMs, printCommand } = options;
        const result = await loadChunkFile({
          databaseUrl,
          databaseUrlSource,
          connectTimeoutMs,
          lockTimeoutMs,
          printCommand,
          commandAsRun: options.commandAsRun,
          file: args.file!,
          datasetId: args.dataset!,
          replace: args.replace,
          append: args.append,
          log,
        });
        emit(result, renderLoad(result));
        return EXIT.ok;
      }
      case "revert": {
        // Without --confirm nothing is written: the operator sees exactly what would go first.
        return await withReleaseSession(options, "revert", async (session) => {
          const to = args.to!;
          if (!args.confirm) {
            const plan = await session.planRevert(to, args.correctedDown);
            // Only a revert that would go ahead gets a command to confirm it.
            const confirm =
              plan.migrations.length > 0 && !revertPlanBlocked(plan) && plan.lastMigration !== null
                ? revertConfirmCommand(argv, plan.lastMigration, io.env)
                : null;
            emit(
              {
                confirmed: false,
                plan,
                problems: revertPlanProblems(plan),
                confirmCommand: confirm?.command ?? null,
                ...(confirm?.passwordNote ? { confirmCommandNote: confirm.passwordNote } : {}),
              },
              renderRevertPlan(plan, confirm, options.printCommand),
            );
            if (revertPlanBlocked(plan)) return EXIT.error;
            return plan.migrations.length > 0 ? EXIT.pending : EXIT.ok;
          }
          const result = await interruptible("revert", (track) =>
            session.revert({
              to,
              correctedDown: args.correctedDown,
              expectLast: args.expectLast,
              ...track,
            }),
          );
          emit({ confirmed: true, result }, renderRevert(result));
          return EXIT.ok;
        });
      }
      case "prisma-schema": {
        const {
          databaseUrl,
          databaseUrlSource,
          connectTimeoutMs,
          lockTimeoutMs,
          migrationsDir,
          printCommand,
        } = options;
        const result = await prismaSchemaCommand({
          databaseUrl,
          databaseUrlSource,
          connectTimeoutMs,
          lockTimeoutMs,
          migrationsDir,
          printCommand,
          commandAsRun: options.commandAsRun,
          log,
          out: args.out,
          check: args.check,
        });
        const drift = (result.differences ?? []).length > 0;
        if (result.schema !== undefined && !json) io.stdout(result.schema);
        else if (drift && !json) err(`neonhub-db: ${describeSchemaDrift(result, args.out, printCommand)}`);
        else
          emit(
            result,
            args.check
              ? `${result.file} matches the database (${result.models} models, ${result.enums} enums).`
              : `${result.written ? "Wrote" : "Unchanged:"} ${result.file} (${result.models} models, ${result.enums} enums).`,
          );
        return drift ? EXIT.pending : EXIT.ok;
      }
      case "health": {
        const report = await checkHealth(options);
        emit(report, renderHealth(report));
        return report.healthy ? EXIT.ok : EXIT.pending;
      }
    }
    // Every command returns above (TypeScript does not see an exhaustive switch's end as unreachable in a
    // try that has a finally).
    const unhandled: never = args.command;
    return unhandled;
  } catch (error) {
    if (isReleaseError(error)) {
      err(`neonhub-db: error: ${error.describe()}`);
      if (json) outDocument(releaseErrorDocument(error, log.warnings));
      return EXIT.error;
    }
    err(
      `neonhub-db: unexpected error (a bug; please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    if (json) outDocument(internalErrorDocument(error, log.warnings));
    return EXIT.error;
  } finally {
    stopReporting?.();
    endHold?.();
  }
}
