// Every write of the upgrade is a short transaction under the release's lock_timeout, retried when it times
// out on a lock or is chosen as a deadlock victim. How long each one held its locks (from its first lock-
// taking statement to its commit: all locks are held until then) is recorded, and the longest is reported.
// While one runs, a second connection watches what it waits for (lock-waits.ts, as apply's migrations do), so
// that a lock timeout names the session that blocked it and how to end it.
import type { ClientBase } from "pg";
import { ReleaseError } from "../../errors";
import type { Logger } from "../../logger";
import { lockTimeoutWords, watchLockWaits, type LockWait } from "../../lock-safety/lock-waits";
import { CLI_LOCK_WAIT_WORDS, type LockWaitWords } from "../../lock-safety/wait-names";
import {
  DEADLOCK_DETECTED,
  LOCK_NOT_AVAILABLE,
  retryDelayMs,
  type LockSafetySettings,
} from "../../lock-safety/settings";

export interface LongestLock {
  step: string;
  ms: number;
}

const RETRIED = new Set([LOCK_NOT_AVAILABLE, DEADLOCK_DETECTED]);

export class LockClock {
  longest: LongestLock = { step: "none", ms: 0 };
  transactions = 0;

  /**
   * `monitor`: the lock-wait watcher's connection (monitor-connection.ts); without it, no blocker is named.
   * `names`: what the fix calls the settings and the command to run again (wait-names.ts: a stack's keys).
   */
  constructor(
    private readonly safety: LockSafetySettings,
    private readonly log: Logger,
    private readonly monitor?: Promise<ClientBase | undefined>,
    private readonly names: LockWaitWords = CLI_LOCK_WAIT_WORDS,
  ) {}

  async transaction<T>(client: ClientBase, step: string, fn: () => Promise<T>): Promise<T> {
    // pg keeps the backend's pid from the connection's start (BackendKeyData): no query needed.
    const pid = (client as unknown as { processID: number }).processID;
    const watch = this.monitor
      ? watchLockWaits(this.monitor, pid, {
          progressIntervalMs: this.safety.progressIntervalMs,
          log: this.log,
          label: () => `upgrade: ${step}`,
        })
      : undefined;
    try {
      return await this.attempts(client, step, fn, () => watch?.lastWait());
    } finally {
      await watch?.stop();
    }
  }

  private async attempts<T>(
    client: ClientBase,
    step: string,
    fn: () => Promise<T>,
    lastWait: () => LockWait | undefined,
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const started = process.hrtime.bigint();
      await client.query("BEGIN");
      try {
        await client.query(`SET LOCAL lock_timeout = ${Math.max(0, Math.floor(this.safety.lockTimeoutMs))}`);
        const result = await fn();
        await client.query("COMMIT");
        this.record(step, started);
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        const code = (error as { code?: string }).code ?? "";
        if (!RETRIED.has(code)) throw error;
        if (attempt > this.safety.lockRetries) {
          const { blocker, terminate, until } = lockTimeoutWords(lastWait());
          throw new ReleaseError(
            "lock-timeout",
            `upgrade: ${step} could not take its locks within the lock timeout (${this.safety.lockTimeoutMs} ms) in ${attempt} attempt(s): ${(error as Error).message}; ${blocker}.`,
            `Nothing of that step is applied; the steps before it are kept. Run ${this.names.rerun ?? "the upgrade"} again ${until}, or raise ${this.names.migrationLockTimeout} / ${this.names.migrationLockRetries}: it resumes here.${terminate}`,
            { cause: error },
          );
        }
        const pause = retryDelayMs(this.safety, attempt);
        this.log.warn(`upgrade: ${step}: ${(error as Error).message}; rolled back, retrying in ${pause} ms`);
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  private record(step: string, started: bigint): void {
    this.transactions += 1;
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (ms > this.longest.ms) this.longest = { step, ms: Math.round(ms * 10) / 10 };
  }
}
