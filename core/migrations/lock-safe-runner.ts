// node-pg-migrate's runner, in either direction, under the release's lock safety (core/lock-safety/): each
// migration in its own transaction with the migrations' lock_timeout and statement_timeout, one that gave up
// waiting for a table lock rolled back and retried whole after a pause, while a second connection watches what
// it waits for, says so every few seconds and names the blocker in the final error. Apply's Up sections
// (run.ts) and revert's Down sections (revert.ts) both run here, so that neither queues behind an app's open
// transaction without end, with every app query on the table queued behind it.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA, MIGRATIONS_TABLE } from "../bookkeeping";
import type { CommandPrinter } from "../command-to-run";
import { elapsedText } from "../count-format";
import { ReleaseError } from "../errors";
import type { Logger } from "../logger";
import { describeLockWait, lockTimeoutWords, watchLockWaits, type LockWait } from "../lock-safety/lock-waits";
import { setMigrationTimeouts } from "../lock-safety/session";
import {
  DEFAULT_LOCK_SAFETY,
  LOCK_NOT_AVAILABLE,
  retryDelayMs,
  type LockSafetySettings,
} from "../lock-safety/settings";
import { lockWaitNamesOf, type LockWaitWords } from "../lock-safety/wait-names";
import { rerunReason, type RevertRerun } from "../revert-preview";
import {
  CREATED_OBJECTS_STATEMENTS_AFTER_BEGIN,
  leftBehindError,
  leftObjectsOf,
  withCreatedObjects,
} from "./created-objects";
import { describeEndedTransaction, describeMigrationFailure } from "./failure";
import type { MigrationFile } from "./files";
import { withUtf16Positions } from "./positions";
import { withStatementCounts } from "./statement-counts";
import {
  GUARD_START,
  GUARD_STATEMENTS_AFTER_BEGIN,
  endedTransaction,
  withTransactionGuard,
} from "./transaction-guard";
import { withOneMessagePerTransaction } from "./transaction-messages";
import { TIME_ZONE_STATEMENTS_AFTER_BEGIN, withMigrationTimeZone } from "./time-zone";

export type MigrationDirection = "up" | "down";

/** A migration the runner finished (applied, or reverted), with its file's checksum. */
export interface RanMigration {
  name: string;
  checksum: string;
  durationMs: number;
}

/** What the lock safety needs from a caller, in either direction. */
export interface LockSafeRunOptions {
  dir: string;
  log: Logger;
  /** Lock and statement timeouts, and how a migration that timed out on a lock is retried. */
  lockSafety?: LockSafetySettings;
  /**
   * A second connection to watch lock waits from (what a waiting migration waits for, who blocks it); it may
   * still be connecting when the migrations start.
   */
  monitor?: ClientBase | Promise<ClientBase | undefined>;
  /** Told each migration as it starts, and `undefined` once none runs (what an interruption names). */
  onRunning?: (migration: string | undefined) => void;
  /**
   * How the final lock timeout names the timeout, the retries and what to run again (lockWaitWordsFor); the
   * CLI's words when unset.
   */
  lockWaitNames?: LockWaitWords;
  /** How a failed migration's fix prints the commands it names (ReleaseOptions.printCommand). */
  print?: CommandPrinter;
  /**
   * down: the revert to run again once the Down section of `stillApplied` failed or could not start (it stays
   * applied, the ledger's last): the one as run, or, when that would be refused, the confirm with the ledger's
   * last (core/revert-preview.ts, revertRerun); undefined, the words and lockWaitNames' rerun as they are.
   */
  rerunAfter?: (stillApplied: string) => RevertRerun | undefined;
}

/** The words of each direction: its progress lines and its section. */
const DIRECTION = {
  up: { running: "running", done: "applied", section: "UP" },
  down: { running: "reverting", done: "reverted", section: "DOWN" },
} as const;

/**
 * Runs `files` (up: the pending ones, oldest first; down: the last applied, newest first) in `direction`.
 * `sessionSettings` (a select list with its parameters) travels with the read of the session's pid.
 */
export async function runWithLockSafety(
  client: ClientBase,
  direction: MigrationDirection,
  files: readonly MigrationFile[],
  options: LockSafeRunOptions & { sessionSettings?: { sql: string; params: unknown[] } },
): Promise<RanMigration[]> {
  const { log } = options;
  if (files.length === 0) return [];
  const words = DIRECTION[direction];
  const safety = options.lockSafety ?? DEFAULT_LOCK_SAFETY;
  const settings = options.sessionSettings;
  const { pid } = (
    await client.query<{ pid: number }>(
      `SELECT ${settings ? `${settings.sql}, ` : ""}${GUARD_START}, pg_backend_pid() AS pid`,
      settings?.params ?? [],
    )
  ).rows[0]!;

  const done: RanMigration[] = [];
  let current: { file: MigrationFile; started: number; attempt: number } | undefined;
  // The migration being retried after a lock timeout, and its attempt number.
  let retrying: { name: string; attempt: number } | undefined;
  const finishCurrent = () => {
    if (!current) return;
    const durationMs = Date.now() - current.started;
    done.push({ name: current.file.name, checksum: current.file.checksum, durationMs });
    log.info(`migration ${current.file.name}: ${words.done} in ${elapsedText(durationMs)}`);
    current = undefined;
  };
  const byName = new Map(files.map((m) => [m.name, m]));
  const startedPattern = new RegExp(`^### MIGRATION (\\S+) \\(${words.section}\\) ###$`);
  const onInfo = (message: string) => {
    const started = startedPattern.exec(message);
    if (!started) return;
    finishCurrent();
    const file = byName.get(started[1]!);
    if (!file) return;
    const attempt = retrying?.name === file.name ? retrying.attempt : 1;
    current = { file, started: Date.now(), attempt };
    options.onRunning?.(file.name);
    const retry = attempt > 1 ? `, attempt ${attempt} of ${safety.lockRetries + 1}` : "";
    log.info(`migration ${file.name}: ${words.running} (${done.length + 1}/${files.length}${retry})`);
  };

  // Positions in UTF-16 units (describeMigrationFailure() slices the file with them); an error without a
  // position says how many statements completed before it. Up: one message per migration (BEGIN, its SQL,
  // its ledger row, COMMIT), which holds the ledger row's INSERT. Down: one message for the BEGIN and the
  // statements the clients below send after it; the section's SQL, the checks and the DELETE go one by one.
  // Each section checked, before its ledger row, to have left its transaction open (transaction-guard.ts).
  // Each section runs with TimeZone UTC (time-zone.ts), set after its BEGIN.
  // An Up section's transaction records what it created, a Down section's checks it left none of that
  // (created-objects.ts), after the guard's check and before the ledger row; both from a mark of the catalogs
  // taken right after the BEGIN.
  const counted = withUtf16Positions(withStatementCounts(client));
  const afterBegin =
    GUARD_STATEMENTS_AFTER_BEGIN + TIME_ZONE_STATEMENTS_AFTER_BEGIN + CREATED_OBJECTS_STATEMENTS_AFTER_BEGIN;
  const dbClient = withTransactionGuard(
    withMigrationTimeZone(
      withCreatedObjects(
        withOneMessagePerTransaction(counted, afterBegin, direction === "up" ? "transaction" : "begin"),
        direction,
      ),
    ),
  ) as ClientBase;
  // node-pg-migrate is ESM-only; Node 20.19+ require()s it. Loaded here so that importing the engine stays
  // cheap for commands that never migrate. (The type comes by file path: node10 resolution ignores "exports".)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runner } = require("node-pg-migrate") as typeof import("node-pg-migrate/dist/bundle/index");
  const restoreTimeouts = await setMigrationTimeouts(client, safety);
  const watch = options.monitor
    ? watchLockWaits(options.monitor, pid, {
        progressIntervalMs: safety.progressIntervalMs,
        log,
        label: () => (current ? `migration ${current.file.name}` : "migrations"),
      })
    : undefined;
  try {
    for (;;) {
      try {
        await runner({
          dbClient,
          dir: options.dir,
          direction,
          migrationsSchema: BOOKKEEPING_SCHEMA,
          migrationsTable: MIGRATIONS_TABLE,
          checkOrder: true,
          // Exactly the given list: with `baseline --to`, later files in the folder must not run; a revert
          // goes back no further than it was asked to. Each run resumes after the migrations done.
          count: files.length - done.length,
          singleTransaction: false,
          // The engine holds its own lock for the whole release (migrations, seeds and indexes).
          noLock: true,
          logger: { debug: () => {}, info: onInfo, warn: (m: string) => log.warn(m), error: () => {} },
        });
        finishCurrent();
        options.onRunning?.(undefined);
        return done;
      } catch (error) {
        // node-pg-migrate leaves the failed migration's transaction open and aborted: end it here.
        await client.query("ROLLBACK").catch(() => {});
        const failed = current;
        current = undefined;
        options.onRunning?.(undefined);
        // Down: the ledger ends at the first migration not reverted, whether its Down section failed or
        // node-pg-migrate failed before starting it.
        const stillApplied = failed?.file ?? files[done.length];
        const rerun = stillApplied ? options.rerunAfter?.(stillApplied.name) : undefined;
        // A section that ended its transaction is not retried: what it committed would run twice.
        const ended = await endedTransaction(client, error);
        if (failed && ended) {
          throw describeEndedTransaction(error, failed.file, {
            direction,
            finished: done.length,
            committed: ended.committed,
            statementTimeoutMs: safety.statementTimeoutMs,
            print: options.print,
            rerun,
          });
        }
        const left = leftObjectsOf(error);
        if (failed && left) throw leftBehindError(error, failed.file, left, done.length, rerun);
        const lockedOut = (error as { code?: string })?.code === LOCK_NOT_AVAILABLE;
        if (!failed && lockedOut) {
          // node-pg-migrate's own query (its read of the ledger) waited out the lock timeout, before the next
          // migration: a session outside the release holds a lock on the ledger. Not retried: nothing says it
          // lets go soon, and the release's own lock keeps no other release waiting meanwhile.
          throw describeLockTimeout(error, undefined, {
            direction,
            attempts: 1,
            safety,
            wait: watch?.lastWait(),
            finished: done.length,
            names: rerun ? { ...lockWaitNamesOf(options), rerun: rerun.command } : lockWaitNamesOf(options),
            rerun,
          });
        }
        if (!failed || !lockedOut) {
          throw describeMigrationFailure(error, {
            file: failed?.file,
            direction,
            finished: done.length,
            statementTimeoutMs: safety.statementTimeoutMs,
            print: options.print,
            rerun,
          });
        }
        const wait = watch?.lastWait();
        if (failed.attempt > safety.lockRetries) {
          throw describeLockTimeout(error, failed.file, {
            direction,
            attempts: failed.attempt,
            safety,
            wait,
            finished: done.length,
            names: rerun ? { ...lockWaitNamesOf(options), rerun: rerun.command } : lockWaitNamesOf(options),
            rerun,
          });
        }
        const pause = retryDelayMs(safety, failed.attempt);
        log.warn(
          `migration ${failed.file.name}: gave up waiting for a lock after ${safety.lockTimeoutMs} ms (${wait ? describeLockWait(wait) : "the blocker was not seen"}); rolled back, retrying in ${(pause / 1000).toFixed(1)} s`,
        );
        watch?.reset();
        retrying = { name: failed.file.name, attempt: failed.attempt + 1 };
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  } finally {
    await watch?.stop();
    await restoreTimeouts().catch(() => {});
  }
}

/** How a migration's last attempt met the lock timeout, for its error. */
interface LockTimeoutAttempts {
  direction: MigrationDirection;
  attempts: number;
  safety: LockSafetySettings;
  wait: LockWait | undefined;
  /** Migrations this run finished before it: applied before it (up), reverted after it (down). */
  finished: number;
  names: LockWaitWords;
  /** down: the revert names.rerun prints, to say why its --expect-last is not the one typed (rerunReason). */
  rerun?: RevertRerun;
}

/**
 * A lock the release could not take within the lock timeout: `file`'s (its last attempt's), or, without a file,
 * one node-pg-migrate's own query needed before the next migration (its read of the ledger), which is not
 * retried.
 */
function describeLockTimeout(
  error: unknown,
  file: MigrationFile | undefined,
  given: LockTimeoutAttempts,
): ReleaseError {
  const { direction, attempts, safety, wait, finished, names } = given;
  const { blocker, terminate: end, until } = lockTimeoutWords(wait);
  // Up sections run only in an apply, Down sections only in a revert: without a command to print, the words
  // name that command.
  const rerun = names.rerun ?? (direction === "up" ? "apply" : "revert");
  const what = !file
    ? `node-pg-migrate's own query (its read of the ledger, ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}) could not take its lock before the next migration`
    : direction === "up"
      ? `Migration ${file.name}.sql could not take its lock`
      : `Reverting migration ${file.name}.sql could not take its lock`;
  const state = !file
    ? direction === "up"
      ? finished > 0
        ? `The ${finished} migration(s) this run applied stay applied; no other was started.`
        : "No migration was started: nothing was applied."
      : finished > 0
        ? `The ${finished} migration(s) this run reverted stay reverted; no other Down section was started.`
        : "No Down section was started: nothing was reverted."
    : direction === "up"
      ? `Nothing of it is applied (each attempt was rolled back${finished > 0 ? `; the ${finished} migration(s) before it are applied` : ""}).`
      : `Nothing of it is reverted: each attempt was rolled back, so it is still applied and its ledger row stays${finished > 0 ? ` (the ${finished} migration(s) after it are reverted)` : ""}.`;
  const raise = file
    ? `${names.migrationLockTimeout} / ${names.migrationLockRetries}`
    : names.migrationLockTimeout;
  return new ReleaseError(
    "lock-timeout",
    `${what} within the lock timeout (${safety.lockTimeoutMs} ms)${file ? ` in ${attempts} attempt(s)` : ""}: ${blocker}.`,
    `${state} Run ${rerun} again ${until}${rerunReason(given.rerun)}, or raise ${raise}.${end}`,
    {
      cause: error,
      // Which statement waited is not tracked across retries: the blocker, not the file, is the cause.
      ...(file
        ? {
            failedMigration: {
              name: file.name,
              checksum: file.checksum,
              direction,
              sqlstate: LOCK_NOT_AVAILABLE,
              line: null,
              statement: null,
              finished,
            },
          }
        : {}),
    },
  );
}
