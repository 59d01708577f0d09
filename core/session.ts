// A release session: one connection to one database, over which plan, apply, status, verify and revert run.
// The CLI opens one per command and the dynamic providers one per resource operation, instead of one per
// call. (A vector-index build watches its progress over a second connection of its own.)
import type { Client } from "pg";
import { closeClient, openClient } from "./connection";
import { parseDatabaseUrl, type DatabaseTarget } from "./dsn";
import { commandSessionSql } from "./lock-safety/session";
import {
  applyWith,
  describeSessionError,
  planWith,
  statusWith,
  verifyWith,
  type ReleaseOptions,
  type ReleasePlan,
  type ReleaseResult,
  type ReleaseStatus,
  type VerifyReport,
} from "./release";
import { planRevertWith, revertWith, type RevertPlan, type RevertRequest, type RevertResult } from "./revert";

export class ReleaseSession {
  private constructor(
    readonly options: ReleaseOptions,
    readonly target: DatabaseTarget,
    private readonly client: Client,
  ) {}

  /** Connects; `command` names the session in pg_stat_activity (`neonhub-db:<command>`). */
  static async open(options: ReleaseOptions, command: string): Promise<ReleaseSession> {
    const target = parseDatabaseUrl(options.databaseUrl, options.databaseUrlSource ?? "the database URL");
    const client = await openClient(target, {
      applicationName: `neonhub-db:${command}`,
      connectTimeoutMs: options.connectTimeoutMs,
      // Its server session ends with the client (a killed CLI, a cancelled pulumi up).
      sessionSql: commandSessionSql(),
    });
    return new ReleaseSession(options, target, client);
  }

  /** What apply would do; writes nothing and takes no lock. */
  plan(): Promise<ReleasePlan> {
    return this.run("plan", () => planWith(this.client, this.options));
  }

  /** Migrations, then the steps, under the release lock. */
  apply(): Promise<ReleaseResult> {
    return this.run("apply", () => applyWith(this.client, this.options));
  }

  status(): Promise<ReleaseStatus> {
    return this.run("status", () => statusWith(this.client, this.options));
  }

  verify(): Promise<VerifyReport> {
    return this.run("verify", () => verifyWith(this.client, this.options));
  }

  /** What revert would undo, read without the lock: for showing before asking for confirmation. */
  planRevert(to: string | null, correctedDown: readonly string[] = []): Promise<RevertPlan> {
    return this.run("revert", () => planRevertWith(this.client, this.options, to, correctedDown));
  }

  /** The Down sections of the migrations after `request.to`, newest first, under the release lock. */
  revert(request: RevertRequest): Promise<RevertResult> {
    return this.run("revert", () => revertWith(this.client, this.options, request));
  }

  async close(): Promise<void> {
    await closeClient(this.client);
  }

  /** Runs `fn`, the work of `command` (as the CLI names it, for the fix of an error). */
  private async run<T>(command: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw await describeSessionError(this.client, error, this.target, command);
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
