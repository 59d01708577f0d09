// Applies pending migrations with node-pg-migrate's programmatic runner, each in its own transaction, on a
// client that already holds the release lock. Failures come back naming the file, line and statement.
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA, CHECKSUMS_SETTING, MIGRATIONS_TABLE } from "../bookkeeping";
import { ReleaseError } from "../errors";
import type { Logger } from "../logger";
import { downSectionOffset, upSectionOffset, type MigrationFile } from "./files";

export interface AppliedMigration {
  name: string;
  checksum: string;
  durationMs: number;
}

interface ServerError {
  message?: string;
  position?: string;
  detail?: string;
  hint?: string;
  where?: string;
}

export async function runPendingMigrations(
  client: ClientBase,
  options: { dir: string; pending: readonly MigrationFile[]; log: Logger },
): Promise<AppliedMigration[]> {
  const { pending, log } = options;
  if (pending.length === 0) return [];
  const checksums = Object.fromEntries(pending.map((m) => [m.name, m.checksum]));
  await client.query("SELECT set_config($1, $2, false)", [CHECKSUMS_SETTING, JSON.stringify(checksums)]);

  const applied: AppliedMigration[] = [];
  let current: { file: MigrationFile; started: number } | undefined;
  const finishCurrent = () => {
    if (current) {
      const durationMs = Date.now() - current.started;
      applied.push({ name: current.file.name, checksum: current.file.checksum, durationMs });
      log.info(`migration ${current.file.name}: applied in ${durationMs} ms`);
    }
  };
  const byName = new Map(pending.map((m) => [m.name, m]));
  const onInfo = (message: string) => {
    const started = /^### MIGRATION (\S+) \(UP\) ###$/.exec(message);
    if (!started) return;
    finishCurrent();
    const file = byName.get(started[1]!);
    if (!file) return;
    current = { file, started: Date.now() };
    log.info(`migration ${file.name}: running (${applied.length + 1}/${pending.length})`);
  };

  // node-pg-migrate is ESM-only; Node 20.19+ require()s it. Loaded here so that importing the engine stays
  // cheap for commands that never migrate. (The type comes by file path: node10 resolution ignores "exports".)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runner } = require("node-pg-migrate") as typeof import("node-pg-migrate/dist/bundle/index");
  try {
    await runner({
      dbClient: client,
      dir: options.dir,
      direction: "up",
      migrationsSchema: BOOKKEEPING_SCHEMA,
      migrationsTable: MIGRATIONS_TABLE,
      checkOrder: true,
      // Exactly the pending list: with `baseline --to`, later files in the folder must not run.
      count: pending.length,
      singleTransaction: false,
      // The engine holds its own lock for the whole release (migrations, seeds and indexes).
      noLock: true,
      logger: { debug: () => {}, info: onInfo, warn: (m: string) => log.warn(m), error: () => {} },
    });
    finishCurrent();
    return applied;
  } catch (error) {
    // node-pg-migrate leaves the failed migration's transaction open and aborted: end it here.
    await client.query("ROLLBACK").catch(() => {});
    throw describeMigrationFailure(error, current?.file, applied.length);
  }
}

export function describeMigrationFailure(
  error: unknown,
  file: MigrationFile | undefined,
  appliedBefore: number,
  direction: "up" | "down" = "up",
): ReleaseError {
  const serverError = (error ?? {}) as ServerError;
  const reason = serverError.message ?? String(error);
  if (!file) {
    return new ReleaseError(
      "migration-failed",
      `node-pg-migrate failed before running a migration: ${reason}`,
      undefined,
      {
        cause: error,
      },
    );
  }
  const lines: string[] = [];
  const position = Number(serverError.position);
  let at = "";
  if (Number.isInteger(position) && position > 0) {
    const section = direction === "up" ? upSectionOffset(file.sql) : downSectionOffset(file.sql);
    const offset = section + position - 1;
    const before = file.sql.slice(0, offset);
    const lineNumber = before.split("\n").length;
    const lineStart = before.lastIndexOf("\n") + 1;
    const lineEnd = file.sql.indexOf("\n", offset);
    const statement = file.sql.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
    at = ` at line ${lineNumber}`;
    const gutter = `${lineNumber} | `;
    lines.push(`  ${gutter}${statement}`, `  ${" ".repeat(gutter.length + offset - lineStart)}^`);
  }
  if (serverError.detail) lines.push(`  detail: ${serverError.detail}`);
  if (serverError.where) lines.push(`  where: ${serverError.where.split("\n")[0]}`);
  if (serverError.hint) lines.push(`  hint: ${serverError.hint}`);
  if (direction === "down") {
    return new ReleaseError(
      "migration-failed",
      [`Reverting migration ${file.name}.sql failed${at} (its Down section): ${reason}`, ...lines].join("\n"),
      `Its transaction was rolled back (it is still applied${appliedBefore > 0 ? `; the ${appliedBefore} migration(s) after it are reverted` : ""}). Fix its Down section and run the revert again.`,
      { cause: error },
    );
  }
  const message = [`Migration ${file.name}.sql failed${at}: ${reason}`, ...lines].join("\n");
  return new ReleaseError(
    "migration-failed",
    message,
    `Its transaction was rolled back (nothing of it is applied${appliedBefore > 0 ? `; the ${appliedBefore} migration(s) before it are` : ""}). Fix the file and run apply again.`,
    { cause: error },
  );
}
