// The schema release: migrations, then row-level security enforcement, seed sets and vector indexes. One plan
// and one apply, used by the CLI, the Pulumi dynamic providers and the tests alike.
import type { Client, ClientBase } from "pg";
import { bookkeepingExists, ensureBookkeeping } from "./bookkeeping";
import { closeClient, isConnectionLost, openClient } from "./connection";
import { parseDatabaseUrl, redactUrl, type DatabaseTarget } from "./dsn";
import { ReleaseError, isReleaseError } from "./errors";
import { acquireReleaseLock } from "./lock";
import { silentLogger, type Logger } from "./logger";
import { readMigrationFiles, type MigrationFile } from "./migrations/files";
import { compareWithLedger, readLedger, type LedgerEntry, type LedgerProblem } from "./migrations/ledger";
import { runPendingMigrations, type AppliedMigration } from "./migrations/run";
import { diffSnapshots, readSnapshot, saveSnapshot, takeSnapshot, type SnapshotDiff } from "./snapshot";
import type { ReleaseStep, StepItemPlan, StepItemResult, StepManifestEntry } from "./steps";
import { quoteIdentifier } from "./identifiers";

export interface ReleaseOptions {
  /** postgresql:// URL of the role that runs the release (the migrator). */
  databaseUrl: string;
  /** Where the URL came from, for error messages ("--database-url", "DATABASE_URL", a config key). */
  databaseUrlSource?: string;
  /** Folder of the migration files. */
  migrationsDir: string;
  /** Row-level security, seed-set and vector-index steps, in the order they run. */
  steps?: readonly ReleaseStep[];
  /** Role to SET ROLE to before any change, so that the objects belong to it (the owner role). */
  ownerRole?: string;
  /** How long apply waits for another release to finish. */
  lockTimeoutMs?: number;
  connectTimeoutMs?: number;
  log?: Logger;
}

export interface ReleaseManifest {
  migrations: StepManifestEntry[];
  rowLevelSecurity: StepManifestEntry[];
  seedSets: StepManifestEntry[];
  vectorIndexes: StepManifestEntry[];
}

export interface ReleasePlan {
  database: string;
  migrations: { applied: number; pending: StepManifestEntry[]; problems: LedgerProblem[] };
  rowLevelSecurity: StepItemPlan[];
  seedSets: StepItemPlan[];
  vectorIndexes: StepItemPlan[];
  /** Blocking problems besides the ledger (e.g. pgvector missing). */
  problems: string[];
  /** Whether apply would change anything. */
  pending: boolean;
}

export interface ReleaseSummary {
  appliedMigrations: number;
  lastMigration: string | null;
  /** Optional so that summaries assembled from parts elsewhere (infra/schema-release.ts) may leave it out. */
  rowLevelSecurity?: Record<string, unknown>[];
  seedSets: Record<string, unknown>[];
  vectorIndexes: Record<string, unknown>[];
}

export interface ReleaseResult {
  changed: boolean;
  migrations: AppliedMigration[];
  rowLevelSecurity: StepItemResult[];
  seedSets: StepItemResult[];
  vectorIndexes: StepItemResult[];
  durationMs: number;
  summary: ReleaseSummary;
}

export interface ReleaseStatus {
  database: string;
  ledger: LedgerEntry[];
  pendingMigrations: string[];
  problems: LedgerProblem[];
  rowLevelSecurity: Record<string, unknown>[];
  seedSets: Record<string, unknown>[];
  vectorIndexes: Record<string, unknown>[];
}

export interface VerifyReport {
  database: string;
  clean: boolean;
  problems: LedgerProblem[];
  drift: SnapshotDiff & { snapshotTakenAt: string | null; note?: string };
}

/** The release's identity without a database: what `pulumi preview` diffs. */
export function buildReleaseManifest(
  options: Pick<ReleaseOptions, "migrationsDir" | "steps">,
): ReleaseManifest {
  const migrations = readMigrationFiles(options.migrationsDir).map((m) => ({
    name: m.name,
    checksum: m.checksum,
  }));
  const manifestOf = (kind: ReleaseStep["kind"]) =>
    (options.steps ?? []).filter((s) => s.kind === kind).flatMap((s) => s.manifest());
  return {
    migrations,
    rowLevelSecurity: manifestOf("rowLevelSecurity"),
    seedSets: manifestOf("seeds"),
    vectorIndexes: manifestOf("vectorIndexes"),
  };
}

function targetOf(options: ReleaseOptions): DatabaseTarget {
  return parseDatabaseUrl(options.databaseUrl, options.databaseUrlSource ?? "the database URL");
}

async function withConnection<T>(
  options: ReleaseOptions,
  command: string,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  const target = targetOf(options);
  const client = await openClient(target, {
    applicationName: `neonhub-db:${command}`,
    connectTimeoutMs: options.connectTimeoutMs,
  });
  try {
    return await fn(client);
  } catch (error) {
    throw describeRunError(error, target);
  } finally {
    await closeClient(client);
  }
}

function describeRunError(error: unknown, target: DatabaseTarget): unknown {
  if (isReleaseError(error) && !isConnectionLost(error.cause)) return error;
  if (isConnectionLost(error) || (isReleaseError(error) && isConnectionLost(error.cause))) {
    const detail = isReleaseError(error) ? `${error.message}\n` : "";
    return new ReleaseError(
      "connection",
      `${detail}Lost the connection to PostgreSQL at ${target.host}:${target.port} (the server stopped or the network dropped).`,
      "Each migration runs in its own transaction, so nothing is half-applied. Check the server, then run apply again: it continues where this one stopped.",
      { cause: error },
    );
  }
  const code = (error as { code?: string })?.code;
  if (code === "42501") {
    return new ReleaseError(
      "permission",
      `Permission denied for user "${target.user}": ${(error as Error).message}`,
      "Run the release as the migrator role (DIRECT_URL), which acts as the schema owner.",
      { cause: error },
    );
  }
  return error;
}

async function pgvectorProblem(client: ClientBase): Promise<string | undefined> {
  const result = await client.query<{ available: boolean }>(
    "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS available",
  );
  if (result.rows[0]?.available) return undefined;
  return "The pgvector extension is not installed on this server (no 'vector' in pg_available_extensions). Install it: `npm run local` does for the local cluster; on Debian/Ubuntu `apt-get install postgresql-<major>-pgvector`; on RDS use PostgreSQL 15.2+ (or 16); the pgvector/pgvector Docker image has it.";
}

interface MigrationState {
  files: MigrationFile[];
  ledger: LedgerEntry[];
  comparison: ReturnType<typeof compareWithLedger>;
}

async function readMigrationState(client: ClientBase, options: ReleaseOptions): Promise<MigrationState> {
  const files = readMigrationFiles(options.migrationsDir);
  const ledger = await readLedger(client);
  return { files, ledger, comparison: compareWithLedger(files, ledger) };
}

function refuseLedgerProblems(problems: readonly LedgerProblem[]): void {
  if (problems.length === 0) return;
  const message = problems.map((p) => `- ${p.message}`).join("\n");
  const fix = problems.map((p) => p.fix).join(" ");
  throw new ReleaseError(
    "ledger-mismatch",
    `The migration files do not match what this database applied:\n${message}`,
    fix,
  );
}

async function planWith(client: ClientBase, options: ReleaseOptions): Promise<ReleasePlan> {
  const state = await readMigrationState(client, options);
  const released = await bookkeepingExists(client);
  const steps = options.steps ?? [];
  const stepPlans = new Map<ReleaseStep["kind"], StepItemPlan[]>();
  for (const step of steps) {
    stepPlans.set(step.kind, [
      ...(stepPlans.get(step.kind) ?? []),
      ...(await step.plan(released ? client : undefined)),
    ]);
  }
  const problems = [await pgvectorProblem(client)].filter((p): p is string => Boolean(p));
  const rowLevelSecurity = stepPlans.get("rowLevelSecurity") ?? [];
  const seedSets = stepPlans.get("seeds") ?? [];
  const vectorIndexes = stepPlans.get("vectorIndexes") ?? [];
  const pending =
    state.comparison.pending.length > 0 ||
    [...rowLevelSecurity, ...seedSets, ...vectorIndexes].some((item) => item.action !== "unchanged");
  return {
    database: redactUrl(options.databaseUrl),
    migrations: {
      applied: state.ledger.length,
      pending: state.comparison.pending.map((m) => ({ name: m.name, checksum: m.checksum })),
      problems: state.comparison.problems,
    },
    rowLevelSecurity,
    seedSets,
    vectorIndexes,
    problems,
    pending,
  };
}

/** What apply would do. No side effects at all: no lock, no table, nothing written; fine for a read-only role. */
export async function planRelease(options: ReleaseOptions): Promise<ReleasePlan> {
  return withConnection(options, "plan", (client) => planWith(client, options));
}

/** Applies pending migrations, then seed sets, then vector indexes, under the release lock. */
export async function applyRelease(options: ReleaseOptions): Promise<ReleaseResult> {
  const log = options.log ?? silentLogger;
  const started = Date.now();
  // Files are validated before we even connect: a malformed name or a non-UTF-8 file changes nothing.
  readMigrationFiles(options.migrationsDir);
  return withConnection(options, "apply", async (client) => {
    const vectorMissing = await pgvectorProblem(client);
    if (vectorMissing) throw new ReleaseError("missing-pgvector", vectorMissing);
    if (options.ownerRole) await client.query(`SET ROLE ${quoteIdentifier(options.ownerRole)}`);
    const unlock = await acquireReleaseLock(client, { timeoutMs: options.lockTimeoutMs, log });
    try {
      // Read the state only once we hold the lock: a release that ran meanwhile is then seen as applied.
      const state = await readMigrationState(client, options);
      refuseLedgerProblems(state.comparison.problems);
      const steps = options.steps ?? [];
      await ensureBookkeeping(
        client,
        steps.map((s) => s.bookkeepingDdl),
      );
      const migrations = await runPendingMigrations(client, {
        dir: options.migrationsDir,
        pending: state.comparison.pending,
        log,
      });
      const results = new Map<ReleaseStep["kind"], StepItemResult[]>();
      for (const step of steps) {
        results.set(step.kind, [...(results.get(step.kind) ?? []), ...(await step.apply(client, log))]);
      }
      const rowLevelSecurity = results.get("rowLevelSecurity") ?? [];
      const seedSets = results.get("seeds") ?? [];
      const vectorIndexes = results.get("vectorIndexes") ?? [];
      const changed =
        migrations.length > 0 ||
        [...rowLevelSecurity, ...seedSets, ...vectorIndexes].some((item) => item.action !== "unchanged");
      const ledger = await readLedger(client);
      const snapshot = await readSnapshot(client);
      const lastMigration = ledger.at(-1)?.name ?? null;
      if (changed || !snapshot || snapshot.lastMigration !== lastMigration) {
        await saveSnapshot(client, await takeSnapshot(client), lastMigration ?? undefined);
      }
      return {
        changed,
        migrations,
        rowLevelSecurity,
        seedSets,
        vectorIndexes,
        durationMs: Date.now() - started,
        summary: await summaryWith(client, ledger, steps),
      };
    } finally {
      await unlock();
    }
  });
}

async function summaryWith(
  client: ClientBase,
  ledger: readonly LedgerEntry[],
  steps: readonly ReleaseStep[],
): Promise<ReleaseSummary> {
  const statusOf = async (kind: ReleaseStep["kind"]) => {
    const out: Record<string, unknown>[] = [];
    for (const step of steps.filter((s) => s.kind === kind)) out.push(...(await step.status(client)));
    return out;
  };
  return {
    appliedMigrations: ledger.length,
    lastMigration: ledger.at(-1)?.name ?? null,
    rowLevelSecurity: await statusOf("rowLevelSecurity"),
    seedSets: await statusOf("seeds"),
    vectorIndexes: await statusOf("vectorIndexes"),
  };
}

/** The ledger, seed sets and vector indexes as the database records them. Read-only. */
export async function releaseStatus(options: ReleaseOptions): Promise<ReleaseStatus> {
  return withConnection(options, "status", async (client) => {
    const state = await readMigrationState(client, options);
    const released = await bookkeepingExists(client);
    const summary = released
      ? await summaryWith(client, state.ledger, options.steps ?? [])
      : { rowLevelSecurity: [], seedSets: [], vectorIndexes: [] };
    return {
      database: redactUrl(options.databaseUrl),
      ledger: state.ledger,
      pendingMigrations: state.comparison.pending.map((m) => m.name),
      problems: state.comparison.problems,
      rowLevelSecurity: summary.rowLevelSecurity ?? [],
      seedSets: summary.seedSets,
      vectorIndexes: summary.vectorIndexes,
    };
  });
}

/** Applied migrations against their files, and the live catalog against the snapshot apply recorded. Read-only. */
export async function verifyRelease(options: ReleaseOptions): Promise<VerifyReport> {
  return withConnection(options, "verify", async (client) => {
    const state = await readMigrationState(client, options);
    const snapshot = await readSnapshot(client);
    const live = await takeSnapshot(client);
    let drift: VerifyReport["drift"];
    if (!snapshot) {
      // Migrations commit one by one and the snapshot comes last: a first apply that stopped half-way leaves
      // a ledger without a snapshot, which is not "nothing applied".
      const last = state.ledger.at(-1)?.name;
      const note = last
        ? `${state.ledger.length} migration(s) applied, up to ${last}, but no apply has finished yet: an apply was interrupted; run apply to complete it`
        : "no release applied yet";
      drift = { added: [], removed: [], changed: [], snapshotTakenAt: null, note };
    } else {
      const last = state.ledger.at(-1)?.name ?? null;
      const note =
        snapshot.lastMigration === last
          ? undefined
          : `the snapshot was taken after ${snapshot.lastMigration ?? "no migration"} but the ledger ends at ${last}: an apply was interrupted; run apply to complete it`;
      drift = { ...diffSnapshots(snapshot.objects, live), snapshotTakenAt: snapshot.takenAt, note };
    }
    const driftCount = drift.added.length + drift.removed.length + drift.changed.length;
    return {
      database: redactUrl(options.databaseUrl),
      clean: state.comparison.problems.length === 0 && driftCount === 0 && drift.note === undefined,
      problems: state.comparison.problems,
      drift,
    };
  });
}
