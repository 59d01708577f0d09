// The lock-wait watcher's own connection (core/lock-safety/lock-waits.ts), opened while the release goes
// on: connecting (TCP, authentication, the session setting) costs about as much as a few migrations, and
// nothing before the first migration needs it. The watcher starts polling once it is ready; its first poll
// is due only after its interval anyway. A watcher that cannot connect costs the release its lock-wait
// reports, not the release: the migrations, their lock timeouts and retries do not depend on it.
import type { Client } from "pg";
import { closeClient, openClient } from "../connection";
import type { DatabaseTarget } from "../dsn";
import type { Logger } from "../logger";
import { endSessionWithClient } from "./session";

export interface MonitorConnection {
  /** The connected client, or undefined when it could not connect (the reason was logged as a warning). */
  ready: Promise<Client | undefined>;
  /** Ends the connection (once it is ready); the same promise however often it is called. */
  close(): Promise<void>;
}

export function openMonitorInBackground(
  target: DatabaseTarget,
  options: { connectTimeoutMs?: number; log: Logger; command?: string },
): MonitorConnection {
  const command = options.command ?? "apply";
  const ready = (async () => {
    const monitor = await openClient(target, {
      applicationName: `neonhub-db:${command}-monitor`,
      connectTimeoutMs: options.connectTimeoutMs,
    });
    try {
      await endSessionWithClient(monitor);
    } catch (error) {
      await closeClient(monitor);
      throw error;
    }
    return monitor;
  })().catch((error: unknown) => {
    options.log.warn(
      `the lock-wait watcher could not connect (${(error as Error).message}): lock waits of this ${command} are not reported`,
    );
    return undefined;
  });
  let closed: Promise<void> | undefined;
  return {
    ready,
    close: () => (closed ??= ready.then(closeClient)),
  };
}
