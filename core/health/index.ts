// `neonhub-db health`: a read-only report on what ingestion leaves behind (vector indexes built on fewer rows
// than the table now has, statistics autovacuum has not caught up with, dead rows) and on the server
// (connections, old transactions, replication), and settings stored on the app's logins that the release
// did not set (role-settings.ts). Each finding that needs action says which. Pulumi-free;
// returns a HealthReport and never prints.
import { commandToRun, type CommandPrinter } from "../command-to-run";
import type { ClientBase } from "pg";
import { BOOKKEEPING_SCHEMA, bookkeepingExists } from "../bookkeeping";
import { closeClient, isConnectionLost, openClient } from "../connection";
import { lostConnectionError } from "../lost-connection";
import { DEFAULT_LOCK_TIMEOUT_MS, inProgress, releaseLockHolders } from "../lock";
import { withBoundedLockWaits, type SeenWaits } from "../lock-safety/bounded-waits";
import { lockWaitWordsFor } from "../lock-safety/wait-names";
import { commandSessionSql } from "../lock-safety/session";
import { silentLogger, type Logger } from "../logger";
import { shownUser, targetOf, redactUrl, type DatabaseTarget } from "../dsn";
import { ReleaseError, asMigratorFix, isReleaseError } from "../errors";
import { refuseLegacyDatabase } from "../adopt/legacy-refusal";
import { releaseRecordsOwnerError } from "../release-records-owner";
import { repairOf } from "../snapshot-repair";
import { shownName } from "../shown-names";
import { readGoneObjects, refuseGoneObjects, schemaDriftError } from "../schema-drift";
import type { ReleaseStep } from "../steps";
import { clusterFindings, readCluster } from "./cluster";
import { readIndexStats, readStatsReset, type IndexStats } from "./index-stats";
import { BULK_LOADED_TABLES, DEFAULT_HEALTH_LIMITS, HOT_PATH_INDEXES, type HealthLimits } from "./limits";
import type { HealthFinding, HealthReport, IndexHealth } from "./report";
import { readRoleSettings, roleSettingFindings } from "./role-settings";
import { readSearchSettings, searchSettingFindings } from "./search-settings";
import { recordedSearchDefault } from "../vector-indexes/search-default";
import { readTables, tableFindings } from "./tables";
import { readRefusedEmbeddings, refusedEmbeddingFindings } from "./refused-embeddings";
import { embeddingsInToastFindings, readEmbeddingsInToast } from "./embeddings-in-toast";
import {
  VECTOR_METHODS,
  readVectorIndexes,
  vectorIndexFindings,
  vectorIndexHealth,
  vectorIndexNames,
  vectorLockFinding,
} from "./vector";

export { DEFAULT_HEALTH_LIMITS, type HealthLimits } from "./limits";
export {
  readRefusedEmbeddings,
  refusedEmbeddingFindings,
  type RefusedEmbeddings,
} from "./refused-embeddings";
export { embeddingsInToastFindings, readEmbeddingsInToast } from "./embeddings-in-toast";
export type * from "./report";
export { describeSession, describeXminHolder, terminateFix } from "./sessions";

export interface HealthOptions {
  /**
   * postgresql:// URL of the migrator (DIRECT_URL): health reads the release's records, which no other login
   * may, and other sessions' details, which the owner role it acts as may through pg_read_all_stats.
   */
  databaseUrl: string;
  /** Where the URL came from, for error messages. */
  databaseUrlSource?: string;
  /** The release's steps, configured as for apply: the vector-index step's plan says which index is stale. */
  steps?: readonly ReleaseStep[];
  connectTimeoutMs?: number;
  /**
   * How long a reading waits for a lock another session holds (an ALTER TABLE, a LOCK TABLE) before the report
   * fails naming that session (DEFAULT_LOCK_TIMEOUT_MS when unset): health must not hang.
   */
  lockTimeoutMs?: number;
  /** Where a wait for a lock is said (stderr in the CLI). */
  log?: Logger;
  /** When a reading needs action; DEFAULT_HEALTH_LIMITS for what is not given. */
  limits?: Partial<HealthLimits>;
  /** How an action prints the command to run on this database (ReleaseOptions.printCommand). */
  printCommand?: CommandPrinter;
  /** health as the operator ran it, which a lost connection's and a lock timeout's fixes name (ReleaseOptions.commandAsRun). */
  commandAsRun?: string;
}

/** Reads the database's health in one read-only transaction (one consistent view of the statistics). */
export async function checkHealth(options: HealthOptions): Promise<HealthReport> {
  const target = targetOf(options);
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const client = await openClient(target, {
    applicationName: "neonhub-db:health",
    connectTimeoutMs: options.connectTimeoutMs,
    sessionSql: commandSessionSql(lockTimeoutMs),
  });
  const bound = {
    command: "health",
    lockTimeoutMs,
    connectTimeoutMs: options.connectTimeoutMs,
    log: options.log ?? silentLogger,
    rerun: lockWaitWordsFor(options, "health").rerun,
  };
  try {
    return await withBoundedLockWaits(client, target, bound, async (seen) => {
      await client.query("BEGIN TRANSACTION READ ONLY");
      const report = await readReport(client, options, seen);
      await client.query("ROLLBACK");
      return report;
    });
  } catch (error) {
    // The drift check reads the catalog: out of the aborted read-only transaction first.
    await client.query("ROLLBACK").catch(() => {});
    throw describeHealthError(
      (await schemaDriftError(client, error, options.printCommand)) ?? error,
      target,
      options.commandAsRun,
    );
  } finally {
    await closeClient(client);
  }
}

async function readReport(
  client: ClientBase,
  options: HealthOptions,
  seen: SeenWaits,
): Promise<HealthReport> {
  const limits = { ...DEFAULT_HEALTH_LIMITS, ...options.limits };
  await requireReleaseRecords(client);
  await refuseLegacyDatabase(client, "health");
  refuseGoneObjects(await readGoneObjects(client), options.printCommand);
  const step = options.steps?.find((s) => s.kind === "vectorIndexes");
  const vector = await readVectorIndexes(client, step, await bookkeepingExists(client), seen);
  const vectorTables = vector.records.map((r) => r.table);
  const recorded = vector.records.map((r) => r.name);
  const live = await readIndexStats(client, [...Object.keys(HOT_PATH_INDEXES), ...recorded], VECTOR_METHODS);

  const findings: HealthFinding[] = [];
  const unread = vectorLockFinding(vector, lockWaitWordsFor(options, "health"));
  if (unread) findings.push(unread);
  const { releaseInProgress: release } = await releaseLockHolders(client);
  const indexes: IndexHealth[] = [];
  for (const name of vectorIndexNames(vector, live)) {
    const index = vectorIndexHealth(name, vector, live);
    indexes.push(index);
    findings.push(...vectorIndexFindings(index, vector, options.printCommand, release));
  }
  const searchSettings = await readSearchSettings(
    client,
    recordedSearchDefault(vector.records, vector.searches),
  );
  findings.push(...searchSettingFindings(searchSettings));
  for (const [name, table] of Object.entries(HOT_PATH_INDEXES)) {
    const index = hotPathIndexHealth(name, table, live.get(name));
    indexes.push(index);
    findings.push(
      ...hotPathFindings(
        index,
        index.exists ? undefined : await recordedIndexRepair(client, name),
        options.printCommand,
      ),
    );
  }

  const bulkLoaded = [...new Set([...BULK_LOADED_TABLES, ...vectorTables])];
  const tables = await readTables(client, bulkLoaded, limits.largeTableRows);
  // The cluster before the tables' findings: a snapshot held open is what a dead-rows finding must name.
  const cluster = await readCluster(client, limits);
  for (const table of tables) findings.push(...tableFindings(table, limits, cluster.oldestXmin));

  const lockedTables = vector.locked ? [vector.locked.table] : [];
  const refused = await readRefusedEmbeddings(client, limits.embeddingScanMs, undefined, lockedTables);
  findings.push(
    ...refusedEmbeddingFindings(refused, limits.embeddingScanMs, undefined, options.printCommand),
  );
  const inToast = await readEmbeddingsInToast(client, lockedTables);
  findings.push(...embeddingsInToastFindings(inToast, limits.inToastShare));

  findings.push(...clusterFindings(cluster, limits));

  findings.push(...roleSettingFindings(await readRoleSettings(client)));

  return {
    database: redactUrl(options.databaseUrl),
    checkedAt: new Date().toISOString(),
    statsResetAt: await readStatsReset(client),
    healthy: !findings.some((f) => f.severity === "action"),
    indexes,
    tables: tables.map((t) => t.health),
    cluster,
    searchSettings,
    zeroEmbeddings: refused.zeroEmbeddings,
    wrongDimensionEmbeddings: refused.wrongDimensionEmbeddings,
    belowHalfvecEmbeddings: refused.belowHalfvecEmbeddings,
    embeddingsInToast: inToast,
    ...inProgress(release),
    // Actions first: they are what the reader came for.
    findings: [
      ...findings.filter((f) => f.severity === "action"),
      ...findings.filter((f) => f.severity === "info"),
    ],
  };
}

function hotPathIndexHealth(name: string, table: string, stats: IndexStats | undefined): IndexHealth {
  return {
    name,
    table,
    kind: "hot-path",
    exists: stats !== undefined,
    valid: stats?.valid ?? null,
    sizeBytes: stats?.sizeBytes ?? null,
    scans: stats?.scans ?? null,
    tuplesRead: stats?.tuplesRead ?? null,
  };
}

function hotPathFindings(
  index: IndexHealth,
  repair: string | undefined,
  print: CommandPrinter | undefined,
): HealthFinding[] {
  if (!index.exists) {
    // Recorded by the release's snapshot: the migration is applied and the index dropped since; apply would
    // not build it again, the statement verify gives does.
    return [
      repair
        ? {
            severity: "action",
            subject: index.name,
            subjectKind: "index",
            problem: `missing on ${shownName(index.table)}: the release built it, and it was dropped since`,
            action: `build it again (the table stays writable): ${repair}`,
          }
        : {
            severity: "action",
            subject: index.name,
            subjectKind: "index",
            problem: `missing on ${shownName(index.table)}: its migration is not applied, or the index was dropped`,
            action: `apply the migrations with ${commandToRun(print, ["apply"])}; if they are applied, ${commandToRun(print, ["verify"])} shows the drift`,
          },
    ];
  }
  if (index.valid === false) {
    return [
      {
        severity: "action",
        subject: index.name,
        subjectKind: "index",
        problem:
          "INVALID (an interrupted CREATE INDEX CONCURRENTLY or REINDEX): maintained on every write, never used",
        action: `REINDEX INDEX CONCURRENTLY ${shownName(index.name)}`,
      },
    ];
  }
  return [];
}

/** verify's repair of an index of `public` the release's snapshot recorded and that is gone now, if any. */
async function recordedIndexRepair(client: ClientBase, name: string): Promise<string | undefined> {
  const key = `index public.${name}`;
  const table = `${BOOKKEEPING_SCHEMA}.schema_snapshot`;
  const exists = await client.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [table]);
  if (!exists.rows[0]?.ok) return undefined;
  const { rows } = await client.query<{ signature: string | null }>(
    `SELECT objects ->> $1 AS signature FROM ${table} WHERE id = 1`,
    [key],
  );
  const signature = rows[0]?.signature;
  return signature ? repairOf(key, signature, undefined) : undefined;
}

const AS_MIGRATOR = asMigratorFix("health");

/**
 * The release's records (schema neonhub_release) are the owner's alone: the app and read-only logins have no
 * use for them, so they get no access, and health, which needs them to tell a stale vector index, runs as the
 * migrator. Checked first, so that another login is told so instead of a bare "permission denied for schema".
 */
async function requireReleaseRecords(client: ClientBase): Promise<void> {
  const { rows } = await client.query<{ user: string; readable: boolean | null }>(
    `SELECT current_user AS user,
            CASE WHEN to_regnamespace($1) IS NULL THEN NULL ELSE has_schema_privilege($1, 'USAGE') END AS readable`,
    [BOOKKEEPING_SCHEMA],
  );
  const row = rows[0]!;
  if (row.readable === false) {
    const problem = `permission denied for schema ${BOOKKEEPING_SCHEMA}`;
    const login = (await client.query<{ login: string }>("SELECT session_user AS login")).rows[0]!.login;
    throw (
      (await releaseRecordsOwnerError(client, login, problem)) ??
      new ReleaseError(
        "permission",
        `health needs the migrator: role "${row.user}" may not read the release's records (schema ${BOOKKEEPING_SCHEMA}), which say what each vector index was built on.`,
        AS_MIGRATOR,
      )
    );
  }
}

function describeHealthError(error: unknown, target: DatabaseTarget, asRun: string | undefined): unknown {
  if (isReleaseError(error)) return error;
  if (isConnectionLost(error)) return lostConnectionError(error, target, "health", { asRun });
  const code = (error as { code?: string } | undefined)?.code;
  if (code === "42501") {
    return new ReleaseError(
      "permission",
      `Permission denied for user ${shownUser(target.user)} while reading the health report: ${(error as Error).message}`,
      AS_MIGRATOR,
      { cause: error },
    );
  }
  return error;
}
