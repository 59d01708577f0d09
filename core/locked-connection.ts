// A connection of its own holding the release lock, for the commands that write the ledger outside a release
// (baseline, adopt): opened, locked, and released and closed whatever happens.
import type { Client } from "pg";
import { closeClient, openClient } from "./connection";
import { targetOf } from "./dsn";
import { acquireReleaseLock, type ReleaseLockWait } from "./lock";
import { endSessionWithClient } from "./lock-safety/session";
import { lockWaitWordsFor, type RerunSource } from "./lock-safety/wait-names";
import type { Logger } from "./logger";

export interface LockedConnectionOptions extends RerunSource {
  databaseUrl: string;
  databaseUrlSource?: string;
  connectTimeoutMs?: number;
  lockTimeoutMs?: number;
  /** Told when the wait for another release's lock starts, and `undefined` once it is held (ReleaseOptions'). */
  onReleaseLockWait?: (wait: ReleaseLockWait | undefined) => void;
}

export async function withLockedConnection<T>(
  options: LockedConnectionOptions,
  command: string,
  log: Logger,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  const target = targetOf(options);
  const client = await openClient(target, {
    applicationName: `neonhub-db:${command}`,
    connectTimeoutMs: options.connectTimeoutMs,
  });
  try {
    // Stopped by a signal, the command's session ends within seconds (its transaction rolled back, the lock
    // released), not only when the statement it was running is done.
    await endSessionWithClient(client);
    const unlock = await acquireReleaseLock(client, {
      timeoutMs: options.lockTimeoutMs,
      // What to run again is `command` as the operator ran it, where the caller names nothing else.
      lockWaitNames: lockWaitWordsFor(options, command),
      log,
      onWait: options.onReleaseLockWait,
    });
    try {
      return await fn(client);
    } finally {
      await unlock();
    }
  } finally {
    await closeClient(client);
  }
}
