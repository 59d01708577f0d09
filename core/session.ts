// A release session: one connection to one database, over which plan, apply, status, verify and revert run.
// The CLI opens one per command and the dynamic providers one per resource operation, instead of one per
// call. (A vector-index build watches its progress over a second connection of its own.)
// Its reads (plan, status, verify) wait for a lock another session holds at most the lock timeout, as the
// CLI's read commands do: a `pulumi preview` or `refresh` behind a VACUUM FULL or a migration run by hand
// fails naming that session instead of waiting as long as it holds the table. Apply and revert bound their
// own waits (the release lock, the migrations' lock timeout): the session's bound is lifted before they run.
import type { Client } from "pg";
import { closeClient, openClient } from "./connection";
import { targetOf, type DatabaseTarget } from "./dsn";
import { withBoundedLockWaits } from "./lock-safety/bounded-waits";
import { commandSessionSql, lockTimeoutSql } from "./lock-safety/session";
import {
  applyWith,
  describeSessionError,
  planWith,
  readCommandWaits,
  readLockTimeoutMs,
  statusWith,
  verifyWith,
  type ReleaseOptions,
  type ReleasePlan,
  type ReleaseResult,
  type ReleaseStatus,
  type VerifyReport,
} from "./release";
import { UNBOUNDED_LOCK_WAITS_SQL } from "./session-settings";
import { planRevertWith, revertWith, type RevertPlan, type RevertRequest, type RevertResult } from "./revert";

export class ReleaseSession {
  /** Whether the session's lock_timeout is the reads' bound (set when it opens), or none (0). */
  private readsBounded = true;

  private constructor(
    readonly options: ReleaseOptions,
    readonly target: DatabaseTarget,
    private readonly client: Client,
  ) {}

  /** Connects; `command` names the session in pg_stat_activity (`neonhub-db:<command>`). */
  static async open(options: ReleaseOptions, command: string): Promise<ReleaseSession> {
    const target = targetOf(options);
    const client = await openClient(target, {
      applicationName: `neonhub-db:${command}`,
      connectTimeoutMs: options.connectTimeoutMs,
      // Its server session ends with the client (a killed CLI, a cancelled pulumi up), and its reads wait
      // for a lock at most the lock timeout: set in the message of its first query, at no round trip.
      sessionSql: commandSessionSql(readLockTimeoutMs(options)),
    });
    return new ReleaseSession(options, target, client);
  }

  /** What apply would do; writes nothing and takes no lock. */
  plan(): Promise<ReleasePlan> {
    return this.read("plan", () => planWith(this.client, this.options));
  }

  /** Migrations, then the steps, under the release lock. */
  apply(): Promise<ReleaseResult> {
    return this.write("apply", () => applyWith(this.client, this.options));
  }

  status(): Promise<ReleaseStatus> {
    return this.read("status", () => statusWith(this.client, this.options));
  }

  verify(): Promise<VerifyReport> {
    return this.read("verify", () => verifyWith(this.client, this.options));
  }

  /**
   * What revert would undo, read without the lock: for showing before asking for confirmation. Bounded as
   * revert's own reads are, by the migrations' lock timeout (core/reads-before-first-write.ts).
   */
  planRevert(to: string | null, correctedDown: readonly string[] = []): Promise<RevertPlan> {
    return this.run("revert", () => planRevertWith(this.client, this.options, to, correctedDown));
  }

  /** The Down sections of the migrations after `request.to`, newest first, under the release lock. */
  revert(request: RevertRequest): Promise<RevertResult> {
    return this.write("revert --confirm", () => revertWith(this.client, this.options, request));
  }

  async close(): Promise<void> {
    await closeClient(this.client);
  }

  /** A read of `command`, under the lock timeout; a lock timeout is a `lock-timeout` error naming the blocker. */
  private async read<T>(command: string, fn: () => Promise<T>): Promise<T> {
    const waits = readCommandWaits(this.options, command);
    return this.run(command, async () => {
      if (!this.readsBounded) {
        // After an apply or a revert on this session (the provider's create/update records what it left).
        await this.client.query(lockTimeoutSql(waits.lockTimeoutMs));
        this.readsBounded = true;
      }
      return withBoundedLockWaits(this.client, this.target, waits, fn);
    });
  }

  /** Apply or revert, which bound their waits themselves: with no lock_timeout of the session's (0). */
  private async write<T>(command: string, fn: () => Promise<T>): Promise<T> {
    return this.run(command, async () => {
      if (this.readsBounded) {
        await this.client.query(UNBOUNDED_LOCK_WAITS_SQL);
        this.readsBounded = false;
      }
      return fn();
    });
  }

  /** Runs `fn`, the work of `command` (as the CLI names it, for the fix of an error). */
  private async run<T>(command: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw await describeSessionError(this.client, error, this.target, command, {
        rerun: this.options.lockWaitNames?.rerun,
        revertPreview: this.options.revertPreview,
        asRun: this.options.commandAsRun,
        print: this.options.printCommand,
      });
    }
  }
}

/** Opens a session, runs `fn` with it and closes it, whatever happens. */
export async function withReleaseSession<T>(
  options: ReleaseOptions,
  command: string,
  fn: (session: ReleaseSession) => Promise<T>,
): Promise<T> {
  const session = await ReleaseSession.open(options, command);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}
