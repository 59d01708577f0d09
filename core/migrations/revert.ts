// The down direction: runs the Down sections of the newest applied migrations, newest first, each in its own
// transaction, with node-pg-migrate's runner over a client that already holds the release lock. node-pg-migrate
// deletes each ledger row inside the migration's transaction, so a reverted migration never stays recorded.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA, MIGRATIONS_TABLE } from "../bookkeeping";
import type { Logger } from "../logger";
import type { MigrationFile } from "./files";
import { describeMigrationFailure } from "./failure";
import { withUtf16Positions } from "./positions";
import { withStatementCounts } from "./statement-counts";

export interface RevertedMigration {
  name: string;
  checksum: string;
  durationMs: number;
}

/** Reverts `newestFirst` (the last applied migrations, newest first). */
export async function runRevert(
  client: ClientBase,
  options: {
    dir: string;
    newestFirst: readonly MigrationFile[];
    log: Logger;
    /** Told each migration as its Down section starts, and `undefined` once none runs. */
    onRunning?: (migration: string | undefined) => void;
  },
): Promise<RevertedMigration[]> {
  const { newestFirst, log } = options;
  if (newestFirst.length === 0) return [];
  const reverted: RevertedMigration[] = [];
  let current: { file: MigrationFile; started: number } | undefined;
  const finishCurrent = () => {
    if (!current) return;
    const durationMs = Date.now() - current.started;
    reverted.push({ name: current.file.name, checksum: current.file.checksum, durationMs });
    log.info(`migration ${current.file.name}: reverted in ${durationMs} ms`);
    current = undefined;
  };
  const byName = new Map(newestFirst.map((m) => [m.name, m]));
  const onInfo = (message: string) => {
    const started = /^### MIGRATION (\S+) \(DOWN\) ###$/.exec(message);
    if (!started) return;
    finishCurrent();
    const file = byName.get(started[1]!);
    if (!file) return;
    current = { file, started: Date.now() };
    options.onRunning?.(file.name);
    log.info(`migration ${file.name}: reverting (${reverted.length + 1}/${newestFirst.length})`);
  };
  // ESM-only; Node 20.19+ require()s it, loaded only when a revert runs.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runner } = require("node-pg-migrate") as typeof import("node-pg-migrate/dist/bundle/index");
  try {
    await runner({
      // Positions in UTF-16 units, as apply's: describeMigrationFailure() slices the file with them; an error
      // without a position says how many statements of the Down section completed before it.
      dbClient: withUtf16Positions(withStatementCounts(client)) as ClientBase,
      dir: options.dir,
      direction: "down",
      count: newestFirst.length,
      migrationsSchema: BOOKKEEPING_SCHEMA,
      migrationsTable: MIGRATIONS_TABLE,
      checkOrder: true,
      singleTransaction: false,
      noLock: true,
      logger: { debug: () => {}, info: onInfo, warn: (m: string) => log.warn(m), error: () => {} },
    });
    finishCurrent();
    options.onRunning?.(undefined);
    return reverted;
  } catch (error) {
    // node-pg-migrate leaves the failed migration's transaction open and aborted: end it here.
    await client.query("ROLLBACK").catch(() => {});
    throw describeMigrationFailure(error, {
      file: current?.file,
      direction: "down",
      finished: reverted.length,
    });
  }
}
