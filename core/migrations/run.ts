// Applies pending migrations with node-pg-migrate's programmatic runner, each in its own transaction, on a
// client that already holds the release lock. Failures come back naming the file, line and statement
// (failure.ts).
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA, MIGRATIONS_TABLE, checksumSettings } from "../bookkeeping";
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
import { lockWaitNamesOf, type LockWaitNames, type LockWaitWords } from "../lock-safety/wait-names";
import { describeMigrationFailure } from "./failure";
import type { MigrationFile } from "./files";
import { withUtf16Positions } from "./positions";
import { withStatementCounts } from "./statement-counts";
import { withOneMessagePerTransaction } from "./transaction-messages";

export interface AppliedMigration {
  name: string;
  checksum: string;
  durationMs: number;
}

export interface MigrationRunOptions {
  dir: string;
  pending: readonly MigrationFile[];
  log: Logger;
  /** Lock and statement timeouts, and how a migration that timed out on a lock is retried. */
  lockSafety?: LockSafetySettings;
  /**
   * A second connection to watch lock waits from (what a waiting migration waits for, who blocks it); it may
   * still be connecting when the migrations start.
   */
  monitor?: ClientBase | Promise<ClientBase | undefined>;
  /** Told each migration as it starts, and `undefined` once none runs (what an interrupted apply names). */
  onRunning?: (migration: string | undefined) => void;
  /** How the final lock timeout names the timeout, the retries and what to run again; the CLI's when unset. */
  lockWaitNames?: LockWaitNames;
}

export async function runPendingMigrations(
  client: ClientBase,
  options: MigrationRunOptions,
): Promise<AppliedMigration[]> {
  const { pending, log } = options;
  if (pending.length === 0) return [];
  const safety = options.lockSafety ?? DEFAULT_LOCK_SAFETY;
  const settings = checksumSettings(pending, false);
  const { pid } = (
    await client.query<{ pid: number }>(`SELECT ${settings.sql}, pg_backend_pid() AS pid`, settings.params)
  ).rows[0]!;

  const applied: AppliedMigration[] = [];
  let current: { file: MigrationFile; started: number; attempt: number } | undefined;
  // The migration being retried after a lock timeout, and its attempt number.
  let retrying: { name: string; attempt: number } | undefined;
  const finishCurrent = () => {
    if (current) {
      const durationMs = Date.now() - current.started;
      applied.push({ name: current.file.name, checksum: current.file.checksum, durationMs });
      log.info(`migration ${current.file.name}: applied in ${durationMs} ms`);
      current = undefined;
    }
  };
  const byName = new Map(pending.map((m) => [m.name, m]));
  const onInfo = (message: string) => {
    const started = /^### MIGRATION (\S+) \(UP\) ###$/.exec(message);
    if (!started) return;
    finishCurrent();
    const file = byName.get(started[1]!);
    if (!file) return;
    const attempt = retrying?.name === file.name ? retrying.attempt : 1;
    current = { file, started: Date.now(), attempt };
    options.onRunning?.(file.name);
    const retry = attempt > 1 ? `, attempt ${attempt} of ${safety.lockRetries + 1}` : "";
    log.info(`migration ${file.name}: running (${applied.length + 1}/${pending.length}${retry})`);
  };

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
          // One message per migration (BEGIN, its SQL, its ledger row, COMMIT); positions in UTF-16 units;
          // an error without a position says how many statements completed before it.
          dbClient: withOneMessagePerTransaction(
            withUtf16Positions(withStatementCounts(client)),
          ) as ClientBase,
          dir: options.dir,
          direction: "up",
          migrationsSchema: BOOKKEEPING_SCHEMA,
          migrationsTable: MIGRATIONS_TABLE,
          checkOrder: true,
          // Exactly the pending list: with `baseline --to`, later files in the folder must not run.
          count: pending.length - applied.length,
          singleTransaction: false,
          // The engine holds its own lock for the whole release (migrations, seeds and indexes).
          noLock: true,
          logger: { debug: () => {}, info: onInfo, warn: (m: string) => log.warn(m), error: () => {} },
        });
        finishCurrent();
        options.onRunning?.(undefined);
        return applied;
      } catch (error) {
        // node-pg-migrate leaves the failed migration's transaction open and aborted: end it here.
        await client.query("ROLLBACK").catch(() => {});
        const failed = current;
        current = undefined;
        options.onRunning?.(undefined);
        if (!failed || (error as { code?: string })?.code !== LOCK_NOT_AVAILABLE) {
          throw describeMigrationFailure(error, {
            file: failed?.file,
            direction: "up",
            finished: applied.length,
            statementTimeoutMs: safety.statementTimeoutMs,
          });
        }
        const wait = watch?.lastWait();
        if (failed.attempt > safety.lockRetries) {
          throw describeLockTimeout(error, failed.file, {
            attempts: failed.attempt,
            safety,
            wait,
            appliedBefore: applied.length,
            names: lockWaitNamesOf(options),
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
  attempts: number;
  safety: LockSafetySettings;
  wait: LockWait | undefined;
  appliedBefore: number;
  names: LockWaitWords;
}

function describeLockTimeout(error: unknown, file: MigrationFile, given: LockTimeoutAttempts): ReleaseError {
  const { attempts, safety, wait, appliedBefore, names } = given;
  const { blocker, terminate: end } = lockTimeoutWords(wait);
  // Migrations run only in an apply: the CLI's words name that command.
  const rerun = names.rerun ?? "apply";
  return new ReleaseError(
    "lock-timeout",
    `Migration ${file.name}.sql could not take its lock within the lock timeout (${safety.lockTimeoutMs} ms) in ${attempts} attempt(s): ${blocker}.`,
    `Nothing of it is applied (each attempt was rolled back${appliedBefore > 0 ? `; the ${appliedBefore} migration(s) before it are applied` : ""}). Run ${rerun} again when that session has finished, or raise ${names.migrationLockTimeout} / ${names.migrationLockRetries}.${end}`,
    {
      cause: error,
      // Which statement waited is not tracked across retries: the blocker, not the file, is the cause.
      failedMigration: {
        name: file.name,
        checksum: file.checksum,
        direction: "up",
        sqlstate: LOCK_NOT_AVAILABLE,
        line: null,
        statement: null,
        finished: appliedBefore,
      },
    },
  );
}
