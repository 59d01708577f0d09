// What a command stopped by Ctrl-C (SIGINT) or a kill (SIGTERM) leaves, said before the process ends, so that
// the operator knows the state without reading the code. Only what holds whenever the signal comes: the
// process ends at once and closes its connection; the server ends the session once it sees that (within
// seconds: the release's sessions set client_connection_check_interval), which rolls back the transaction
// that was running and releases the session-level release lock. Every migration, batch and step commits whole,
// so what finished before stays.
import { commandToRun, type CommandPrinter } from "./command-to-run";
import { undoOnInterrupt } from "./interrupt";
import type { ReleaseLockWait } from "./lock";
import {
  expectLastRerun,
  revertPreviewText,
  revertRerunAfter,
  type RevertRerunWords,
} from "./revert-preview";
import { literal } from "./sql";
import type { RunningStep } from "./steps";

/**
 * The commands that write nothing to the database: stopped, they leave nothing behind. `revert-preview` is
 * `revert` without `--confirm`; `prisma-schema` writes its file (`--out`) at the end, in one synchronous write.
 */
export type ReadCommand = "plan" | "status" | "verify" | "health" | "prisma-schema" | "revert-preview";

export type InterruptibleCommand =
  | "apply"
  | "upgrade-legacy"
  | "revert"
  | "baseline"
  | "adopt"
  | "load-chunks"
  | ReadCommand;

/** What an interrupted command left (`message`) and what to run (`fix`): `--json`'s `interrupted` error. */
export interface Interruption {
  message: string;
  fix: string;
}

const SESSION_ENDS =
  "The server ends this session once it sees the process gone (within seconds), which rolls back what was running and releases the release lock";

// The process cannot know whether the server received a COMMIT it was sending when the signal came: the
// migration it names is rolled back unless it was committing at that moment, which the ledger then shows.
function unlessCommitting(print: CommandPrinter | undefined): string {
  return `unless the signal came as it committed: ${commandToRun(print, ["status"])} shows what the ledger records`;
}

/**
 * What was running when the signal came, when the command tells it: a migration, a step of apply's, or the
 * wait for another release's lock.
 */
export type Running = { migration: string } | { step: RunningStep } | { lockWait: ReleaseLockWait };

/** What the interrupted apply left of the step that was running (every migration was applied before it). */
function stoppedStep({ step, item, action }: RunningStep, print: CommandPrinter | undefined): string {
  const stays = "; every migration stays applied.";
  switch (step) {
    case "vectorIndexes":
      if (item && action === "calibrate")
        return `the vector-index step was calibrating index ${item}: what it had not recorded is not kept, and the next apply calibrates the index again while it is due${stays}`;
      if (item)
        return `the vector-index step was building index ${item} (its build, calibration and record), which the next apply builds again (a CONCURRENTLY build it stopped leaves an INVALID index, which that apply drops first)${stays}`;
      return `the vector-index step was running (no index build), and the next apply runs it again${stays}`;
    case "seeds":
      if (item)
        return `seed set ${item}, which was being written, is rolled back whole (${unlessCommitting(print)}) and written by the next apply${stays}`;
      return `the seed-set step was running (no set being written), and the next apply runs it again${stays}`;
    case "rowLevelSecurity":
      return `the row-level security step, which was running, is rolled back whole (${unlessCommitting(print)}) and runs again with the next apply${stays}`;
  }
}

/** How an interruption's fix names the commands to run, as this run was given them. */
export interface RerunWords {
  /** The preview a revert's fix names (ReleaseOptions.revertPreview). */
  revertPreview?: string;
  /**
   * Prints the reads the fix names (ReleaseOptions.printCommand), and without `asRun` the command to run again
   * where it is one the printer knows whole (rerunOf).
   */
  print?: CommandPrinter;
  /** The command as the operator ran it (ReleaseOptions.commandAsRun); unset, see rerunOf. */
  asRun?: string;
  /** A revert --confirm's --expect-last and how to print its confirm with another (revertRerunAfter). */
  revert?: RevertRerunWords;
}

/**
 * The commands a printer prints whole, to run again as they were: apply and the reads without options of their
 * own to give again (a stack's `pulumi up --stack <stack>` for an apply). The upgrade (its organization),
 * baseline and adopt (the admin's login), load-chunks (its file), prisma-schema (its --out) and a revert (its
 * --expect-last) are named by asRun, else in words.
 */
const PRINTED_RERUN: Partial<Record<InterruptibleCommand, readonly string[]>> = {
  apply: ["apply"],
  plan: ["plan"],
  status: ["status"],
  verify: ["verify"],
  health: ["health"],
};

/** The command to run again: as the operator ran it, else as `print` prints it (PRINTED_RERUN), else in words. */
function rerunOf(command: InterruptibleCommand, { print, asRun }: RerunWords): string {
  if (asRun !== undefined) return asRun;
  const printed = PRINTED_RERUN[command];
  return print && printed ? print(printed) : "the same command";
}

/**
 * What an interrupted `command` left, naming what was running (the migration, or apply's step and the index or
 * seed set it was on) when it is known, and what to run (RerunWords).
 */
export function interruption(
  command: InterruptibleCommand,
  running?: Running,
  { revertPreview, print, asRun, revert }: RerunWords = {},
): Interruption {
  // The command to run again, as the operator ran it where it is known (a revert's is not: its --expect-last
  // must name the ledger's new last migration, revertRerunAfter).
  const rerun = rerunOf(command, { print, asRun });
  // Stopped before it held the release lock, the command had run nothing: there is nothing to roll back. The
  // read it points to is the one its own fix names once it ran (baseline and adopt write only the ledger).
  if (running && "lockWait" in running) {
    const { holderPid, holderPrepared } = running.lockWait;
    const holder =
      holderPid !== undefined
        ? ` (held by pid ${holderPid})`
        : holderPrepared !== undefined
          ? ` (held by prepared transaction ${literal(holderPrepared)}, not a release)`
          : "";
    // A prepared transaction is finished by hand (COMMIT or ROLLBACK PREPARED), not by waiting.
    const until =
      holderPrepared === undefined
        ? "that release has finished"
        : "that prepared transaction is committed or rolled back";
    const shows =
      command === "upgrade-legacy"
        ? `${commandToRun(print, ["plan", "--upgrade-legacy"])} shows where it stands`
        : command === "baseline" || command === "adopt"
          ? `${commandToRun(print, ["status"])} shows what the ledger records`
          : `${commandToRun(print, ["plan"])} shows what is left`;
    return {
      message: `${command === "upgrade-legacy" ? "the upgrade" : command} stopped while waiting for the release lock${holder}: nothing was done${holderPrepared === undefined ? ", and the other release goes on" : ""}.`,
      // A revert run again after another release finished could take out what that release applied, which
      // nobody previewed: it is previewed again instead.
      fix:
        command === "revert"
          ? `Once ${until}, run ${revertPreviewText(revertPreview)} again and the command it prints: what it would revert may have changed.`
          : `Run ${rerun} again once ${until} (${shows}).`,
    };
  }
  const migration = running && "migration" in running ? running.migration : undefined;
  switch (command) {
    case "apply":
      return {
        message:
          `apply stopped. ${SESSION_ENDS}: ` +
          (running && "step" in running
            ? stoppedStep(running.step, print)
            : (migration
                ? `migration ${migration}, which was running, is rolled back whole with its ledger row (${unlessCommitting(print)})`
                : "the migration that was running, if any, is rolled back whole with its ledger row") +
              "; the ones before it stay applied, and an index build it stopped is built again by the next apply."),
        fix: `Run ${rerun} again to complete the release (${commandToRun(print, ["plan"])} shows what is left).`,
      };
    case "upgrade-legacy":
      return {
        message: `the upgrade stopped. ${SESSION_ENDS}: the transaction that was running (a file, a batch, the cutover) is rolled back, and the phases and batches that finished stay recorded in neonhub_upgrade_work (past the final drop, the upgrade is in the ledger and only the release's steps are left); an index build it stopped is built again.`,
        fix: `Run ${rerun} again: it resumes where this run stopped (${commandToRun(print, ["plan", "--upgrade-legacy"])} shows where it stands).`,
      };
    case "revert": {
      // The migration whose Down section was stopped stays applied, the ledger's last, unless the signal came
      // as it committed: the confirm printed then is refused, safely, and says to preview again.
      const confirm = migration === undefined ? undefined : revertRerunAfter(revert ?? {}, migration);
      return {
        message:
          `revert stopped. ${SESSION_ENDS}: ` +
          (migration
            ? `migration ${migration}, whose Down section was running, is rolled back whole and stays applied (${unlessCommitting(print)})`
            : "the migration whose Down section was running, if any, is rolled back whole and stays applied") +
          "; the ones reverted before it stay reverted.",
        fix: confirm
          ? `Run ${confirm} again to revert the rest: its --expect-last is ${migration}, where the ledger ends now (if the signal came as that section committed, it refuses: run ${revertPreviewText(revertPreview)} again and the command it prints).`
          : `Run the same command again to revert the rest${expectLastRerun(revertPreview)}.`,
      };
    }
    case "baseline":
    case "adopt":
      // Both write in one transaction at the end (the ledger rows, adopt's move of pgmigrations, the owners
      // handed over): before it nothing is recorded, and the scratch database goes before the process ends.
      return {
        message: `${command} stopped. ${SESSION_ENDS}: ${command} records nothing until its last transaction commits (${command === "adopt" ? "the ledger rows and the move of pgmigrations" : "the ledger rows"}, with an owner role the hand-over), which is rolled back if it was running; its scratch database is dropped before the process exits.`,
        fix: `Run ${rerun} again: it proves the schema again, or finds it ${command === "adopt" ? "adopted" : "baselined"} already and has nothing to do (${commandToRun(print, ["status"])} shows what the ledger records).`,
      };
    case "load-chunks":
      // The load is one transaction (core/seeds/bulk/load-chunks.ts) and takes no release lock.
      return {
        message: `load-chunks stopped: nothing was loaded. The load is one transaction, which the server rolls back once it sees the process gone (within seconds): the dataset keeps the chunks and documents it had (unless the signal came as the load committed, which the dataset's chunk count then shows).`,
        fix: `Run ${asRun ?? "the same load"} again.`,
      };
    case "plan":
    case "status":
    case "verify":
    case "health":
    case "prisma-schema":
    case "revert-preview": {
      const name = command === "revert-preview" ? "revert's preview (without --confirm)" : command;
      const file =
        command === "prisma-schema" ? " (and --out's file is written whole at the end, or not at all)" : "";
      return {
        message: `${name} stopped. It only reads: nothing was written to the database${file}, and the server ends its session once it sees the process gone (within seconds).`,
        fix: `Run ${rerun} again.`,
      };
    }
  }
}

/** The functions through which a command tells what it runs (ReleaseOptions' of the same names). */
export interface RunningTrackers {
  onMigrationRunning: (migration: string | undefined) => void;
  onStepRunning: (step: RunningStep | undefined) => void;
  onReleaseLockWait: (wait: ReleaseLockWait | undefined) => void;
}

/** The reporters registered now, innermost last: only the innermost speaks on a signal. */
const reporters: symbol[] = [];

/**
 * Until the function returned is called, a SIGINT or SIGTERM hands `report` what `describe` says the command
 * left, before the process ends. The CLI registers one for the whole command; a reportIfInterrupted inside it,
 * which knows what was running, speaks instead while it runs: one report per signal.
 */
export function reportInterruptions(
  report: (interruption: Interruption) => void,
  describe: () => Interruption,
): () => void {
  const self = Symbol("reporter");
  reporters.push(self);
  const unregister = undoOnInterrupt(() => {
    if (reporters.at(-1) === self) report(describe());
    return Promise.resolve();
  });
  return () => {
    unregister();
    reporters.splice(reporters.indexOf(self), 1);
  };
}

/**
 * Runs `work`; if SIGINT or SIGTERM stops the process meanwhile, hands `report` what the command left before
 * the process ends. `work` tells the migration or step that starts, or the wait for the release lock (and
 * `undefined` once none runs), to the functions it is given, so that the report names it. `words`:
 * interruption's.
 */
export async function reportIfInterrupted<T>(
  report: (interruption: Interruption) => void,
  command: InterruptibleCommand,
  work: (track: RunningTrackers) => Promise<T>,
  words: RerunWords = {},
): Promise<T> {
  let running: Running | undefined;
  const unregister = reportInterruptions(report, () => interruption(command, running, words));
  try {
    return await work({
      onMigrationRunning: (migration) => {
        running = migration === undefined ? undefined : { migration };
      },
      onStepRunning: (step) => {
        running = step === undefined ? undefined : { step };
      },
      onReleaseLockWait: (lockWait) => {
        running = lockWait === undefined ? undefined : { lockWait };
      },
    });
  } finally {
    unregister();
  }
}
