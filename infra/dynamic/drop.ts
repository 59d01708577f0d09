// What deleting the schema migrations resource does when the stack opted in (dropOnDelete): every applied
// migration's Down section, newest first, then the release's own schema. Seeded rows and vector indexes go
// with their tables. Under the release lock, as the owner role, each migration in its own transaction.
//
// The release engine has no reverse path (nothing else in the project needs one), so this adapter drives
// node-pg-migrate's runner in the "down" direction over the engine's own connection, lock and ledger.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA, MIGRATIONS_TABLE, bookkeepingExists } from "../../core";
import { closeClient, openClient } from "../../core";
import { acquireReleaseLock } from "../../core";
import { ReleaseError, parseDatabaseUrl, quoteIdentifier, releaseStatus, type Logger } from "../../core";

export interface DropOptions {
  databaseUrl: string;
  databaseUrlSource: string;
  migrationsDir: string;
  ownerRole: string;
  lockTimeoutMs: number;
  connectTimeoutMs: number;
  log: Logger;
}

/** Reverts every applied migration and drops the bookkeeping schema. Returns the reverted migrations. */
export async function dropRelease(options: DropOptions): Promise<string[]> {
  // The Down sections come from the files: they must be the ones that were applied.
  const status = await releaseStatus(options);
  if (status.problems.length > 0) {
    throw new ReleaseError(
      "ledger-mismatch",
      `Refusing to drop the schema: ${status.problems.map((p) => p.message).join(" ")}`,
      status.problems.map((p) => p.fix).join(" "),
    );
  }
  const target = parseDatabaseUrl(options.databaseUrl, options.databaseUrlSource);
  const client = await openClient(target, {
    applicationName: "neonhub-db:drop",
    connectTimeoutMs: options.connectTimeoutMs,
  });
  try {
    await client.query(`SET ROLE ${quoteIdentifier(options.ownerRole)}`);
    const unlock = await acquireReleaseLock(client, { timeoutMs: options.lockTimeoutMs, log: options.log });
    try {
      if (!(await bookkeepingExists(client))) return [];
      const reverted = await revertAll(client, options);
      await client.query(`DROP SCHEMA ${BOOKKEEPING_SCHEMA} CASCADE`);
      options.log.info(
        `dropped: ${reverted.length} migration(s) reverted and the ${BOOKKEEPING_SCHEMA} schema removed`,
      );
      return reverted;
    } finally {
      await unlock();
    }
  } finally {
    await closeClient(client);
  }
}

async function revertAll(client: ClientBase, options: DropOptions): Promise<string[]> {
  const reverted: string[] = [];
  // ESM-only; Node 20.19+ require()s it, and only this rare path needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runner } = require("node-pg-migrate") as typeof import("node-pg-migrate/dist/bundle/index");
  try {
    await runner({
      dbClient: client,
      dir: options.migrationsDir,
      direction: "down",
      count: Infinity,
      migrationsSchema: BOOKKEEPING_SCHEMA,
      migrationsTable: MIGRATIONS_TABLE,
      checkOrder: true,
      singleTransaction: false,
      noLock: true,
      logger: {
        debug: () => {},
        info: (message: string) => {
          const started = /^### MIGRATION (\S+) \(DOWN\) ###$/.exec(message);
          if (started?.[1]) {
            reverted.push(started[1]);
            options.log.info(`migration ${started[1]}: reverting`);
          }
        },
        warn: (message: string) => options.log.warn(message),
        error: () => {},
      },
    });
    return reverted;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    const failed = reverted.at(-1);
    throw new ReleaseError(
      "migration-failed",
      `Dropping the schema failed${failed ? ` while reverting ${failed}.sql` : ""}: ${(error as Error).message}`,
      "Each Down section runs in its own transaction: the ones before it are reverted, the rest are still applied. Fix the Down section and destroy again, or set neonhub-db:dropSchemaOnDelete to false and run `pulumi up` to keep the schema.",
      { cause: error },
    );
  }
}
