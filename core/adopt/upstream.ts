// Adopting a database migrated by the upstream node-pg-migrate CLI with this project's migration files: its
// `pgmigrations` table says which files ran; the schema is proven to be what exactly those files build (the
// scratch-database comparison of `baseline`); then, in one transaction, the neonhub-db ledger records them
// with their checksums and upstream run times, and `pgmigrations` moves into the engine's schema as
// `upstream_pgmigrations`. Moved, not dropped: its history is kept, and the upstream CLI no longer sees a
// ledger it could keep applying migrations from, outside the engine's checksums and lock.
import { commandToRun, type CommandPrinter } from "../command-to-run";
import { BOOKKEEPING_SCHEMA, ensureBookkeeping, recordAsApplied } from "../bookkeeping";
import { ledgerKey, proveSchema } from "../baseline";
import { checkOwnerRole, setOwnerRole } from "../owner-role";
import { redactUrl } from "../dsn";
import { ReleaseError } from "../errors";
import { silentLogger } from "../logger";
import { migrationsFolder, readMigrationFiles, type MigrationFile } from "../migrations/files";
import { readLedger, type LedgerEntry } from "../migrations/ledger";
import { saveSnapshot, takeSnapshot } from "../snapshot";
import type { ReleaseOptions } from "../release";
import { findForeignLedgers, type ForeignLedger } from "./preflight";
import { handOverOwners, planOwnerHandOvers, type OwnerHandOver } from "./hand-over";
import { judgeRerun, rerunRefusal } from "./rerun";
import { matchUpstreamRows, type UpstreamRow } from "./upstream-rows";
import type { ClientBase } from "pg";
import { quoteIdentifier as quoteIdent } from "../identifiers";
import { withLockedConnection } from "../locked-connection";
import { schemaMismatchError } from "../schema-mismatches";
import { adminCommandFixFor, requireAdoptingLogin } from "./adopting-login";
import { ADOPTING_SECTION } from "./runbook-sections";
import { refuseLegacyDatabase } from "./legacy-refusal";

/** Where the upstream ledger is kept after adoption. */
export const ARCHIVED_UPSTREAM_LEDGER = "upstream_pgmigrations";

export interface AdoptResult {
  database: string;
  /** false: adopted already by an earlier run (a re-run), and nothing was done. */
  changed: boolean;
  /** Migrations now recorded in the neonhub-db ledger. */
  adopted: string[];
  /** Migration files the ledger does not record yet: `neonhub-db apply` runs them. */
  pending: string[];
  /** Where the upstream `pgmigrations` table was (null on a re-run: an earlier run moved it), and where it is now. */
  upstreamLedger: { from: string | null; to: string };
  /** Objects in the live database that the migrations do not create (kept, not managed by the release), as this run's proof found them. */
  extraObjects: string[];
  /** With an owner role: the objects this run handed to it, and their owner before. */
  handedOver: { object: string; from: string }[];
}

const ARCHIVE = `${BOOKKEEPING_SCHEMA}.${ARCHIVED_UPSTREAM_LEDGER}`;

export async function adoptUpstreamDatabase(options: ReleaseOptions): Promise<AdoptResult> {
  const log = options.log ?? silentLogger;
  const files = readMigrationFiles(options);
  return withLockedConnection(options, "adopt", log, async (client) => {
    // The Prisma-era schema first, then the login, before the ledger is read (as baseline: core/baseline.ts).
    await refuseLegacyDatabase(client, "adopt");
    if (options.ownerRole) await checkOwnerRole(client, options.ownerRole, { admin: "adopt" });
    await requireAdoptingLogin(client, "adopt", options.ownerRole);
    const ledger = await readLedger(client);
    if (ledger.length > 0) {
      const result = await adoptedAlready(
        client,
        ledger,
        files,
        migrationsFolder(options),
        options.printCommand,
      );
      log.info(`nothing to do: adopted already (${result.adopted.length} migration(s) from ${ARCHIVE})`);
      return { ...result, database: redactUrl(options.databaseUrl) };
    }
    const { schema, rows, kept } = await readUpstreamLedger(client, options.printCommand);
    const applied = matchUpstreamRows(rows, files, schema, options.printCommand);
    log.info(
      `${schema}.pgmigrations records ${applied.length} migration(s); applying them to a scratch database to prove the schema`,
    );
    const { expected, live, diff, mismatches } = await proveSchema(client, options, applied, log);
    if (mismatches.length > 0) {
      throw schemaMismatchError(
        `${schema}.pgmigrations records ${applied.length} migration(s), but the live schema is not what they build`,
        mismatches,
        "Bring the schema in line with those migrations by hand (or restore it from a snapshot).",
        { args: ["adopt"], print: options.printCommand, asRun: options.commandAsRun },
      );
    }
    const handOvers = options.ownerRole
      ? await planOwnerHandOvers(client, expected, live, options.ownerRole)
      : [];
    if (options.ownerRole) await setOwnerRole(client, options.ownerRole);
    await ensureBookkeeping(
      client,
      (options.steps ?? []).map((s) => s.bookkeepingDdl),
    );
    await recordAndArchive(client, schema, applied, rows, options.ownerRole, handOvers);
    await saveSnapshot(client, await takeSnapshot(client), applied.at(-1)?.name);
    return {
      database: redactUrl(options.databaseUrl),
      changed: true,
      adopted: applied.map((f) => f.name),
      pending: files.slice(applied.length).map((f) => f.name),
      upstreamLedger: { from: `${schema}.pgmigrations`, to: ARCHIVE },
      // pgmigrations moved; another tool's ledger (Prisma's) stays, named like any object the release ignores.
      extraObjects: [...diff.added, ...kept.map(ledgerKey)].sort(),
      handedOver: handOvers.map(({ object, from }) => ({ object, from })),
    };
  });
}

/**
 * A database with a neonhub-db ledger: adopted already when an earlier adopt left it so (the upstream ledger
 * archived, its migrations first in ours, none of it changed since, and no pgmigrations back in its place);
 * anything else is refused, naming what differs.
 */
async function adoptedAlready(
  client: ClientBase,
  ledger: readonly LedgerEntry[],
  files: readonly MigrationFile[],
  folderName: string,
  print: CommandPrinter | undefined,
): Promise<Omit<AdoptResult, "database">> {
  const refuse = (reason: string, fix?: string) => rerunRefusal("adopt", ledger, reason, fix, print);
  const archived = await client.query<{ present: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS present`, [
    ARCHIVE,
  ]);
  if (!archived.rows[0]!.present) {
    throw refuse(
      `there is no ${ARCHIVE}, so it was not adopted from pgmigrations: apply or baseline wrote its ledger.`,
    );
  }
  const upstream = (await findForeignLedgers(client)).filter((f) => f.tool === "node-pg-migrate");
  if (upstream.length > 0) {
    throw refuse(
      `besides ${ARCHIVE}, ${upstream.map((u) => `${u.schema}.pgmigrations`).join(", ")} is there again: the node-pg-migrate CLI ran against it after it was adopted.`,
      `See what that table records beyond the neonhub-db ledger; once the schema is what the ledger records, drop it and use ${commandToRun(print, ["apply"])} (never the upstream CLI; ${ADOPTING_SECTION}).`,
    );
  }
  const rows = await client.query<UpstreamRow>(
    `SELECT name::text AS name, run_on FROM ${ARCHIVE} ORDER BY run_on, id`,
  );
  const recorded = matchUpstreamRows(rows.rows, files, ARCHIVE, print);
  const rerun = judgeRerun("adopt", ledger, recorded, files, folderName);
  if (!rerun.done) throw refuse(rerun.reason);
  return {
    changed: false,
    adopted: recorded.map((f) => f.name),
    pending: rerun.pending,
    upstreamLedger: { from: null, to: ARCHIVE },
    extraObjects: [],
    handedOver: [],
  };
}

/** The one pgmigrations, its rows, and the other tools' ledgers, which adopt leaves in place. */
async function readUpstreamLedger(
  client: ClientBase,
  print: CommandPrinter | undefined,
): Promise<{ schema: string; rows: UpstreamRow[]; kept: ForeignLedger[] }> {
  const foreign = await findForeignLedgers(client);
  const upstream = foreign.filter((f) => f.tool === "node-pg-migrate");
  const kept = foreign.filter((f) => f.tool !== "node-pg-migrate");
  if (upstream.length === 0) {
    throw new ReleaseError(
      "invalid-input",
      "This database has no pgmigrations table: it was not migrated by the node-pg-migrate CLI.",
      `For a schema built another way (Prisma, by hand) use ${commandToRun(print, ["baseline"])}; for an empty database, ${commandToRun(print, ["apply"])}.`,
    );
  }
  if (upstream.length > 1) {
    throw new ReleaseError(
      "invalid-input",
      `This database has ${upstream.length} pgmigrations tables (${upstream.map((u) => `${u.schema}.pgmigrations`).join(", ")}), so which ledger describes the schema is ambiguous.`,
      `Keep the one the node-pg-migrate CLI used (its --migrations-schema), drop or rename the others, then adopt again with ${commandToRun(print, ["adopt"])}; see ${ADOPTING_SECTION}. Nothing was written.`,
    );
  }
  const schema = upstream[0]!.schema;
  try {
    const rows = await client.query<UpstreamRow>(
      `SELECT name::text AS name, run_on FROM ${quoteIdent(schema)}.pgmigrations ORDER BY run_on, id`,
    );
    return { schema, rows: rows.rows, kept };
  } catch (error) {
    if ((error as { code?: string }).code === "42501")
      throw await unreadableLedgerError(client, schema, error);
    throw new ReleaseError(
      "invalid-input",
      `${schema}.pgmigrations cannot be read as node-pg-migrate's ledger (id, name, run_on): ${(error as Error).message}`,
      `Adopt only a ledger the node-pg-migrate CLI wrote, with its id, name and run_on columns (${ADOPTING_SECTION}). Nothing was written.`,
      { cause: error },
    );
  }
}

/**
 * The login may not read pgmigrations: adopt reads it and moves it, which its owner (the login the upstream
 * CLI ran as) may, and so may the stack's admin when it is a member of that owner, as the runbook has it.
 */
async function unreadableLedgerError(
  client: ClientBase,
  schema: string,
  error: unknown,
): Promise<ReleaseError> {
  const { rows } = await client.query<{ owner: string | null; acting: string }>(
    `SELECT (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = to_regclass($1)) AS owner,
            current_user AS acting`,
    [`${quoteIdent(schema)}.pgmigrations`],
  );
  const { owner, acting } = rows[0]!;
  const ownedBy = owner ? `, which belongs to "${owner}"` : "";
  const fix = await adminCommandFixFor(client, "adopt");
  return new ReleaseError(
    "permission",
    `Role "${acting}" may not read ${schema}.pgmigrations${ownedBy}: ${(error as Error).message}. ` +
      `adopt reads and moves it, which takes its owner${owner ? ` ("${owner}")` : ""} or a member of it: the stack's admin.`,
    fix,
    { cause: error },
  );
}

async function recordAndArchive(
  client: ClientBase,
  schema: string,
  files: readonly MigrationFile[],
  rows: readonly UpstreamRow[],
  ownerRole: string | undefined,
  handOvers: readonly OwnerHandOver[],
): Promise<void> {
  await client.query("BEGIN");
  try {
    await recordAsApplied(
      client,
      files,
      rows.map((row) => row.run_on),
    );
    // The upstream CLI ran as a login, which owns pgmigrations: move it as that login (the owner role may
    // not), into the schema the owner role owns and the login, its member, may create in.
    if (ownerRole) await client.query("RESET ROLE");
    await client.query(`ALTER TABLE ${quoteIdent(schema)}.pgmigrations SET SCHEMA ${BOOKKEEPING_SCHEMA}`);
    await client.query(
      `ALTER TABLE ${BOOKKEEPING_SCHEMA}.pgmigrations RENAME TO ${ARCHIVED_UPSTREAM_LEDGER}`,
    );
    if (ownerRole) await handOverOwners(client, handOvers, ownerRole);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    if ((error as { code?: string }).code === "42501") {
      throw new ReleaseError(
        "permission",
        `Could not move ${schema}.pgmigrations into ${BOOKKEEPING_SCHEMA}: ${(error as Error).message}`,
        "Run adopt as the login that owns pgmigrations (the one the node-pg-migrate CLI ran as), or a member of its owner. Nothing was written.",
        { cause: error },
      );
    }
    throw error;
  }
}
