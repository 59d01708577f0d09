// A connection lost while a command ran: why it may have gone, what the command left and what to run next.
// What to run depends on the command that was running: a revert told to "run apply" would apply again what it
// had just taken out, and a read command has nothing to continue. One place decides it for every command.
import type { DatabaseTarget } from "./dsn";
import { ReleaseError, isReleaseError } from "./errors";
import { expectLastRerun } from "./revert-preview";

/** The commands that read and write nothing: the loss changed nothing, and the command runs again as it was. */
const READ_COMMANDS: Readonly<Record<string, string>> = {
  plan: "plan",
  status: "status",
  verify: "verify",
  health: "health",
  "prisma-schema": "prisma-schema",
  // The preview of a revert, without --confirm (ReleaseSession.planRevert).
  revert: "the revert preview",
};

/** The SQLSTATE the server sent with the loss, on the error or on the error it wraps (a failed migration's). */
function serverCode(error: unknown): string | undefined {
  for (let e = error; e; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/**
 * Why the connection went, in the words the client can stand behind. 57P01 ("terminating connection due to
 * administrator command") is a fast shutdown's and pg_terminate_backend's alike: while the server still
 * answers, another session ended this one.
 */
function whyLost(error: unknown): string {
  return serverCode(error) === "57P01"
    ? "the server stopped, or another session ended this one with pg_terminate_backend"
    : "the server stopped or the network dropped";
}

/** How a lost connection's fix names what to run again. */
export interface RunAgainWords {
  /** What a stack runs instead of the command (`pulumi up`), when it is not the CLI. */
  rerun?: string;
  /** The preview a revert --confirm's fix names (ReleaseOptions.revertPreview). */
  revertPreview?: string;
  /**
   * The command as the operator ran it, printed to run as it is (ReleaseOptions.commandAsRun); unset, the fix
   * names it in words ("apply", "the same load").
   */
  asRun?: string;
}

/**
 * What a command stopped by a lost connection left, and what to run: `command` as the CLI names it (apply,
 * revert --confirm, plan, ...).
 */
export function afterLostConnection(
  command: string | undefined,
  { rerun, revertPreview, asRun }: RunAgainWords = {},
): string {
  const again = (cli: string) => `Check the server, then run ${rerun ?? asRun ?? cli} again`;
  switch (command) {
    case "apply":
      // The connection may go in any step of apply, not only in a migration: said as the interruption says it.
      return `Each migration and seed set runs in its own transaction, so nothing is half-applied; an index build or calibration that was running is done again by the next apply (a CONCURRENTLY build it stopped leaves an INVALID index, which that apply drops first). ${again("apply")}: it continues where this one stopped.`;
    case "revert --confirm":
      return `Each Down section runs in its own transaction, so nothing is half-reverted: the migrations reverted before it stay reverted. ${again("the same revert --confirm")}: it reverts the rest${rerun ? "" : ` and records the schema snapshot (not apply, which would apply again what this revert took out)${expectLastRerun(revertPreview)}`}.`;
    case "load-chunks":
      return `Nothing was loaded: the load is one transaction, rolled back with its session (unless the connection was lost as the load committed, which the dataset's chunk count then shows). ${again("the same load")}.`;
    case "upgrade-legacy":
      return `Each step of the upgrade is a transaction of its own, so nothing of the one that was running is applied. ${again("the same command")}: it resumes where this one stopped.`;
  }
  const read = command === undefined ? undefined : READ_COMMANDS[command];
  if (read) {
    return `Nothing was changed: ${read} only reads. ${again(command === "revert" ? "the same revert" : read)}.`;
  }
  return `${again("the same command")}.`;
}

/** The `connection` error for a loss while `command` ran, after what was running (a migration's failure). */
export function lostConnectionError(
  error: unknown,
  target: DatabaseTarget,
  command: string | undefined,
  words: RunAgainWords = {},
): ReleaseError {
  const detail = isReleaseError(error) ? `${error.message}\n` : "";
  return new ReleaseError(
    "connection",
    `${detail}Lost the connection to PostgreSQL at ${target.host}:${target.port} (${whyLost(error)}).`,
    afterLostConnection(command, words),
    { cause: error },
  );
}
