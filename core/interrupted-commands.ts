// What a command stopped by Ctrl-C (SIGINT) or a kill (SIGTERM) leaves, said before the process ends, so that
// the operator knows the state without reading the code. Only what holds whenever the signal comes: the
// process ends at once and closes its connection; the server ends the session once it sees that (within
// seconds: the release's sessions set client_connection_check_interval), which rolls back the transaction
// that was running and releases the session-level release lock. Every migration, batch and step commits whole,
// so what finished before stays.
import { undoOnInterrupt } from "./interrupt";
import type { Logger } from "./logger";

export type InterruptibleCommand = "apply" | "upgrade-legacy" | "revert";

const SESSION_ENDS =
  "The server ends this session once it sees the process gone (within seconds), which rolls back what was running and releases the release lock";

/** The line an interrupted `command` leaves: what it left, and what to run. */
export function interruptedNote(interrupted: InterruptibleCommand): string {
  switch (interrupted) {
    case "apply":
      return (
        `interrupted: apply stopped. ${SESSION_ENDS}: the migration that was running, if any, is rolled back whole with its ledger row, and the ones before it stay applied; ` +
        "an index build it stopped is built again by the next apply. Run the same command again to complete the release (`neonhub-db plan` shows what is left)."
      );
    case "upgrade-legacy":
      return (
        `interrupted: the upgrade stopped. ${SESSION_ENDS}: the transaction that was running (a file, a batch, the cutover) is rolled back, and the phases and batches that finished stay recorded in neonhub_upgrade_work; an index build it stopped is built again. ` +
        "Run the same command again: it resumes where this run stopped (`neonhub-db plan --upgrade-legacy` shows where it stands)."
      );
    case "revert":
      return (
        `interrupted: revert stopped. ${SESSION_ENDS}: the migration whose Down section was running, if any, is rolled back whole and stays applied, and the ones reverted before it stay reverted. ` +
        "Run the same command again to revert the rest."
      );
  }
}

/** Runs `work`; if SIGINT or SIGTERM stops the process meanwhile, logs the command's note first. */
export async function reportIfInterrupted<T>(
  log: Logger,
  interrupted: InterruptibleCommand,
  work: () => Promise<T>,
): Promise<T> {
  const unregister = undoOnInterrupt(() => {
    log.warn(interruptedNote(interrupted));
    return Promise.resolve();
  });
  try {
    return await work();
  } finally {
    unregister();
  }
}
