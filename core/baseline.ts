// Adopting a database whose schema exists already (made by Prisma, by hand, by an older tool): record the
// migrations as applied without running them, but only after proving that the live schema is what they
// would have produced. The proof: apply the same migrations to a scratch database on the same server,
// snapshot both catalogs, and compare.
import { commandToRun, type CommandPrinter } from "./command-to-run";
import type { Client } from "pg";
import { ensureBookkeeping, recordAsApplied } from "./bookkeeping";
import { closeClient, openClient } from "./connection";
import { parseDatabaseUrl, redactUrl } from "./dsn";
import { ReleaseError } from "./errors";
import { silentLogger, type Logger } from "./logger";
import { migrationsFolder, readMigrationFiles, type MigrationFile } from "./migrations/files";
import { readLedger } from "./migrations/ledger";
import { checkOwnerRole, setOwnerRole } from "./owner-role";
import { runPendingMigrations } from "./migrations/run";
import {
  diffSnapshots,
  saveSnapshot,
  shapeOf,
  takeSnapshot,
  type SchemaSnapshot,
  type SnapshotDiff,
} from "./snapshot";
import type { ReleaseOptions } from "./release";
import { quoteIdentifier } from "./identifiers";
import { withLockedConnection } from "./locked-connection";
import { closestName } from "./closest-name";
import { SCRATCH_APPLICATION, createScratchDatabase } from "./scratch-database";
import { schemaMismatchError, schemaMismatches, type SchemaMismatch } from "./schema-mismatches";
import { endSessionWithClient } from "./lock-safety/session";
import { handOverOwners, planOwnerHandOvers, type OwnerHandOver } from "./adopt/hand-over";
import { judgeRerun, rerunRefusal } from "./adopt/rerun";
import { requireAdoptingLogin } from "./adopt/adopting-login";
import { refuseLegacyDatabase } from "./adopt/legacy-refusal";
import { FOREIGN_LEDGER_TABLES, findForeignLedgers, type ForeignLedger } from "./adopt/preflight";
import { shownQualifiedName } from "./shown-names";

export interface BaselineOptions extends ReleaseOptions {
  /** Baseline up to and including this migration (default: all of them). */
  to?: string;
}

export interface BaselineResult {
  database: string;
  /** false: the ledger recorded these migrations already (a re-run), and nothing was done. */
  changed: boolean;
  /** Migrations now recorded as applied. */
  baselined: string[];
  /**
   * Objects in the live database that the migrations do not create (kept, and not managed by the release), as
   * this run's proof found them: among them another tool's ledger left in place (`table public._prisma_migrations`).
   */
  extraObjects: string[];
  /** With an owner role: the objects the migrations created that this run handed to it, and their owner before. */
  handedOver: { object: string; from: string }[];
}

/** Objects the comparison leaves out: another tool's migration ledger (its table, columns, keys) is no part of the schema. */
const FOREIGN_LEDGERS = Object.values(FOREIGN_LEDGER_TABLES).map(
  (table) => new RegExp(`^\\w+ \\w+\\.${table}`),
);

export async function baselineRelease(options: BaselineOptions): Promise<BaselineResult> {
  const log = options.log ?? silentLogger;
  const folder = readMigrationFiles(options);
  const files = selectMigrations(folder, options.to);
  return withLockedConnection(options, "baseline", log, async (client) => {
    // The Prisma-era schema has another path (the upgrade), whatever the login: said first, from the catalog.
    await refuseLegacyDatabase(client, "baseline");
    // The login next, before the ledger is read: the app and read-only logins may not read it, and a login
    // that could not have run the first baseline is refused on a re-run too, whatever the database holds.
    if (options.ownerRole) await checkOwnerRole(client, options.ownerRole, { admin: "baseline" });
    await requireAdoptingLogin(client, "baseline", options.ownerRole);
    const ledger = await readLedger(client);
    if (ledger.length > 0) {
      const rerun = judgeRerun("baseline", ledger, files, folder, migrationsFolder(options));
      if (!rerun.done) throw rerunRefusal("baseline", ledger, rerun.reason, undefined, options.printCommand);
      log.info(`nothing to do: the ledger records these ${files.length} migration(s) already`);
      return {
        database: redactUrl(options.databaseUrl),
        changed: false,
        baselined: files.map((f) => f.name),
        extraObjects: [],
        handedOver: [],
      };
    }
    const foreignLedgers = await findForeignLedgers(client);
    refuseUpstreamLedger(foreignLedgers, options.printCommand);
    log.info(`applying ${files.length} migration(s) to a scratch database to learn the schema they produce`);
    const { expected, live, diff, mismatches } = await proveSchema(client, options, files, log);
    const tables = Object.keys(expected).filter((key) => key.startsWith("table "));
    if (tables.length > 0 && tables.every((key) => diff.removed.includes(key))) {
      throw new ReleaseError(
        "invalid-input",
        `None of the ${tables.length} tables the migrations create exists in this database: there is no schema to baseline.`,
        `For a new database, ${commandToRun(options.printCommand, ["apply"])} creates the schema; baseline is for one whose schema was made another way. Nothing was written.`,
      );
    }
    if (mismatches.length > 0) {
      throw schemaMismatchError(
        "The live schema is not what the migrations produce, so they cannot be marked as applied",
        mismatches,
        "Bring the database in line with the migrations by hand (or baseline fewer of them with --to).",
        {
          args: ["baseline", ...(options.to !== undefined ? ["--to", options.to] : [])],
          print: options.printCommand,
          asRun: options.commandAsRun,
        },
      );
    }
    const handOvers = options.ownerRole
      ? await planOwnerHandOvers(client, expected, live, options.ownerRole)
      : [];
    // Only now become the owner: the scratch database needed the login's CREATEDB, the ledger the owner.
    if (options.ownerRole) await setOwnerRole(client, options.ownerRole);
    await recordBaseline(client, options, files, handOvers);
    await saveSnapshot(client, handOvers.length > 0 ? await takeSnapshot(client) : live, files.at(-1)?.name);
    return {
      database: redactUrl(options.databaseUrl),
      changed: true,
      baselined: files.map((f) => f.name),
      // Prisma's ledger stays where Prisma looks for it: kept, and named like any object the release ignores.
      extraObjects: [...diff.added, ...foreignLedgers.map(ledgerKey)].sort(),
      handedOver: handOvers.map(({ object, from }) => ({ object, from })),
    };
  });
}

/**
 * node-pg-migrate's ledger means the upstream CLI migrated this database: `adopt` records what it lists and
 * moves it away. Left in place by baseline, it would be kept by no one: the upstream CLI could go on applying
 * migrations outside the engine's ledger, and `adopt`, the path for it, would then refuse the database.
 */
function refuseUpstreamLedger(foreignLedgers: readonly ForeignLedger[], print?: CommandPrinter): void {
  const upstream = foreignLedgers.filter((f) => f.tool === "node-pg-migrate");
  if (upstream.length === 0) return;
  const tables = upstream.map((u) => shownQualifiedName(u.schema, u.table)).join(", ");
  throw new ReleaseError(
    "invalid-input",
    `This database has ${tables}, the ledger of the node-pg-migrate CLI: it was migrated by that CLI, and baseline would leave its ledger in place.`,
    `Adopt it with ${commandToRun(print, ["adopt"])} instead, with the same --database-url and --owner-role: it proves the schema the same way, records the migrations pgmigrations lists and moves it into neonhub_release (docs/runbook.md, "Adopting an existing database"). Nothing was written.`,
  );
}

/** A foreign ledger's table as the snapshot keys it ("table public._prisma_migrations"). */
export function ledgerKey(ledger: Pick<ForeignLedger, "schema" | "table">): string {
  return `table ${ledger.schema}.${ledger.table}`;
}

function selectMigrations(files: MigrationFile[], to: string | undefined): MigrationFile[] {
  if (to === undefined) return files;
  const at = files.findIndex((f) => f.name === to || `${f.name}.sql` === to);
  if (at < 0) {
    const near = closestName(
      to.replace(/\.sql$/, ""),
      files.map((f) => f.name),
    );
    throw new ReleaseError(
      "invalid-input",
      `--to names no migration: "${to}".`,
      near
        ? `Did you mean ${near}? --to takes a file name from the migrations folder, without .sql.`
        : `Use a file name from the migrations folder, e.g. ${files.at(-1)?.name ?? "20250126000100_extensions"}.`,
    );
  }
  return files.slice(0, at + 1);
}

export function withoutForeignLedgers(snapshot: SchemaSnapshot): SchemaSnapshot {
  return Object.fromEntries(
    Object.entries(snapshot).filter(([key]) => !FOREIGN_LEDGERS.some((re) => re.test(key))),
  );
}

/**
 * The live schema against what `files` build on a scratch database: the live snapshot, the diff, and the
 * mismatches (none when the schema is what the files build).
 */
export async function proveSchema(
  client: Client,
  options: ReleaseOptions,
  files: MigrationFile[],
  log: Logger,
): Promise<{
  expected: SchemaSnapshot;
  live: SchemaSnapshot;
  diff: SnapshotDiff;
  mismatches: SchemaMismatch[];
}> {
  const expected = await snapshotOfFreshRelease(client, options, files, log);
  const live = await takeSnapshot(client);
  // The shape only: owners and grants are the stack's, not the migrations' (a scratch database has its own).
  const diff = diffSnapshots(shapeOf(expected), shapeOf(withoutForeignLedgers(live)));
  return { expected, live, diff, mismatches: schemaMismatches(diff, expected, live) };
}

/** Applies the migrations to a new database on the same server and returns its catalog snapshot. */
export async function snapshotOfFreshRelease(
  client: Client,
  options: BaselineOptions,
  files: MigrationFile[],
  log: Logger,
): Promise<SchemaSnapshot> {
  // Owned by the owner role when there is one, so that it may create in the scratch database's schema.
  const scratch = await createScratchDatabase(client, { owner: options.ownerRole, log });
  const url = new URL(options.databaseUrl);
  url.pathname = `/${scratch.name}`;
  let scratchClient: Client | undefined;
  try {
    scratchClient = await openClient(parseDatabaseUrl(url.toString(), "the scratch database URL"), {
      applicationName: SCRATCH_APPLICATION,
      connectTimeoutMs: options.connectTimeoutMs,
    });
    // A killed CLI's session in it ends within seconds, so the next proof finds the leftover unused.
    await endSessionWithClient(scratchClient);
    // As the access layer does in every stack: the login (the admin) creates the live database's extensions
    // before the owner role runs the migrations, since pgvector is not a trusted extension.
    const extensions = await client.query<{ name: string; schema: string }>(
      `SELECT e.extname AS name, n.nspname AS schema FROM pg_extension e
         JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' ORDER BY e.extname`,
    );
    for (const { name, schema } of extensions.rows) {
      await scratchClient
        .query(
          `CREATE EXTENSION IF NOT EXISTS ${quoteIdentifier(name)} WITH SCHEMA ${quoteIdentifier(schema)}`,
        )
        .catch(() => {}); // Not allowed here: the migration that needs it says what to do.
    }
    if (options.ownerRole) await setOwnerRole(scratchClient, options.ownerRole);
    await ensureBookkeeping(scratchClient, []);
    await runPendingMigrations(scratchClient, {
      dir: options.migrationsDir,
      pending: files,
      log: silentLogger,
    });
    return await takeSnapshot(scratchClient);
  } finally {
    await closeClient(scratchClient);
    await scratch.drop();
  }
}

async function recordBaseline(
  client: Client,
  options: BaselineOptions,
  files: MigrationFile[],
  handOvers: readonly OwnerHandOver[],
): Promise<void> {
  await ensureBookkeeping(
    client,
    (options.steps ?? []).map((s) => s.bookkeepingDdl),
  );
  await client.query("BEGIN");
  try {
    await recordAsApplied(client, files);
    if (options.ownerRole && handOvers.length > 0) await handOverOwners(client, handOvers, options.ownerRole);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  }
}
