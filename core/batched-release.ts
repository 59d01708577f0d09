// The release's batched reads: everything plan, status and a no-op apply need, in two statements instead of
// one or more per step. The probe reads the catalog only (valid on any database: which tables exist, whether
// the engine's schema is current, pgvector, who owns the ledger); the state statement then reads the ledger,
// the snapshot's last migration and every step's records and facts, each as a jsonb value, built from the
// probe. So a plan is two round trips and a no-op apply three (lock+probe, state, unlock). When the probe
// shows a database the batch cannot read (no release yet, older bookkeeping) or a step cannot settle its part
// from the state, the callers in release.ts fall back to reading step by step.
import type { ClientBase, QueryResult } from "pg";
import { BOOKKEEPING_SCHEMA, MIGRATIONS_TABLE, RELEASE_LOCK_KEY, bookkeepingVersion } from "./bookkeeping";
import {
  PREPARED_RELEASE_LOCK_SQL,
  RELEASE_IN_PROGRESS_SQL,
  acquireReleaseLock,
  type ReleaseInProgress,
  type ReleaseLockWait,
} from "./lock";
import type { LockWaitWords } from "./lock-safety/wait-names";
import type { PreparedTransaction } from "./lock-safety/prepared-transactions";
import type { Logger } from "./logger";
import type { MigrationFile } from "./migrations/files";
import { compareWithLedger, type LedgerEntry, type MigrationComparison } from "./migrations/ledger";
import {
  END_SESSION_WITH_CLIENT_SQL,
  restoreLockTimeoutSql,
  swapLockTimeoutSql,
} from "./lock-safety/session";
import { missingPgvectorError } from "./plan-problems";
import { checkOwnerRole, ownerRoleError } from "./owner-role";
import {
  actingOwnerSql,
  ownerRoleWordsOf,
  refuseActingAsAnotherOwner,
  type ActingOwner,
  type OwnerRoleWords,
} from "./acting-owner";
import type { CommandPrinter } from "./command-to-run";
import { quoteIdentifier as quoteIdent } from "./identifiers";
import { isoTime, literal } from "./sql";
import type { ReleaseStep, StepBatch } from "./steps";
import { SNAPSHOT_FORMAT_SQL, snapshotFormat } from "./snapshot";
import { GONE_OBJECTS_SQL, refuseGoneObjects } from "./schema-drift";

export const PGVECTOR_AVAILABLE_SQL = "EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')";

export interface Probe {
  /** The bookkeeping schema's version comment (null when there is none). */
  version: string | null;
  pgvector: boolean;
  /** Another session's release holding the release lock (null when none): plan and status name it. */
  release: ReleaseInProgress | null;
  /** A prepared transaction holding the release lock (null when none): plan and status name it too. */
  releasePrepared: PreparedTransaction | null;
  /** Who the release acts as and who owns its ledger (null without one): core/acting-owner.ts decides. */
  actingOwner: ActingOwner | null;
  /** Each step's probe value, in step order. */
  steps: unknown[];
}

export interface BatchedState {
  ledger: LedgerEntry[];
  comparison: MigrationComparison;
  /** The migration the recorded snapshot was taken after; undefined when no snapshot was recorded. */
  snapshotLastMigration: string | null | undefined;
  /** The recorded snapshot's format; undefined when no snapshot was recorded. */
  snapshotFormat: number | undefined;
  /** Each step's state, in step order. */
  steps: unknown[];
}

type Batched = ReleaseStep & { batch: StepBatch };

/** The steps, when every one of them takes part in the batched reads. */
export function batchedSteps(steps: readonly ReleaseStep[]): Batched[] | undefined {
  return steps.every((s) => s.batch !== undefined) ? (steps as Batched[]) : undefined;
}

/** `actingAs`: the --owner-role the command acts as, which plan and apply have both set (actingOwnerSql). */
export function probeSql(steps: readonly Batched[], actingAs?: string): string {
  return `SELECT jsonb_build_object(
    'version', (SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace WHERE nspname = ${literal(BOOKKEEPING_SCHEMA)}),
    'pgvector', ${PGVECTOR_AVAILABLE_SQL},
    'release', ${RELEASE_IN_PROGRESS_SQL},
    'releasePrepared', ${PREPARED_RELEASE_LOCK_SQL},
    'actingOwner', ${actingOwnerSql(actingAs)},
    'steps', jsonb_build_array(${steps.map((s) => s.batch.probeSql()).join(", ")})) AS probe`;
}

export async function readProbe(
  client: ClientBase,
  steps: readonly Batched[],
  actingAs?: string,
): Promise<Probe> {
  return (await client.query<{ probe: Probe }>(probeSql(steps, actingAs))).rows[0]!.probe;
}

/**
 * The state statement, or undefined when this database's bookkeeping or a step's probe rules it out.
 * `actingAs`: as for probeSql.
 */
export function stateSql(steps: readonly Batched[], probe: Probe, actingAs?: string): string | undefined {
  if (probe.version !== bookkeepingVersion(steps.map((s) => s.bookkeepingDdl))) return undefined;
  const parts = steps.map((s, i) => s.batch.stateSql(probe.steps[i], actingAs));
  if (parts.some((p) => p === undefined)) return undefined;
  return `SELECT jsonb_build_object(
    'ledger', (SELECT coalesce(jsonb_agg(jsonb_build_object('id', id, 'name', name, 'checksum', checksum, 'upChecksum', up_checksum,
                 'appliedAt', ${isoTime("applied_at")}, 'durationMs', duration_ms, 'appliedBy', applied_by)
                 ORDER BY run_on, id), '[]'::jsonb) FROM ${BOOKKEEPING_SCHEMA}.${MIGRATIONS_TABLE}),
    'snapshot', (SELECT jsonb_build_object('lastMigration', last_migration, 'format', ${SNAPSHOT_FORMAT_SQL})
                   FROM ${BOOKKEEPING_SCHEMA}.schema_snapshot WHERE id = 1),
    'goneObjects', ${GONE_OBJECTS_SQL},
    'steps', jsonb_build_array(${parts.join(", ")})) AS state`;
}

export async function readState(
  client: ClientBase,
  sql: string,
  files: readonly MigrationFile[],
  /** The migrations folder as the user named it, for the fixes (compareWithLedger). */
  folder: string,
  /** ReleaseOptions.printCommand, for the verify a schema-drift error's fix names. */
  print?: CommandPrinter,
): Promise<BatchedState> {
  const raw = (
    await client.query<{
      state: {
        ledger: LedgerEntry[];
        snapshot: { lastMigration: string | null; format: string | null } | null;
        goneObjects: string[];
        steps: unknown[];
      };
    }>(sql)
  ).rows[0]!.state;
  // Nothing is planned, reported or applied over a release table or column renamed or dropped by hand.
  refuseGoneObjects(raw.goneObjects, print);
  return {
    ledger: raw.ledger,
    comparison: compareWithLedger(files, raw.ledger, folder, [], print),
    snapshotLastMigration: raw.snapshot ? raw.snapshot.lastMigration : undefined,
    snapshotFormat: raw.snapshot ? snapshotFormat(raw.snapshot.format) : undefined,
    steps: raw.steps,
  };
}

/** Probe, then state: the two reads of a plan or a status, or undefined when the batch cannot read this database. */
export async function readBatched(
  client: ClientBase,
  steps: readonly ReleaseStep[],
  files: readonly MigrationFile[],
  folder: string,
  print?: CommandPrinter,
  actingAs?: string,
): Promise<{ probe: Probe; state: BatchedState | undefined; steps: Batched[] } | undefined> {
  const batched = batchedSteps(steps);
  if (!batched) return undefined;
  const probe = await readProbe(client, batched, actingAs);
  const sql = stateSql(batched, probe, actingAs);
  return {
    probe,
    steps: batched,
    state: sql ? await readState(client, sql, files, folder, print) : undefined,
  };
}

/**
 * The first round trip of an apply: SET ROLE, try the release lock and read the probe, in one message (the
 * probe runs as its own statement after the lock is taken, so it sees what a release that just ended wrote).
 * When another release holds the lock, waits for it as acquireReleaseLock does and probes again.
 */
export async function lockAndProbe(
  client: ClientBase,
  steps: readonly Batched[],
  options: OwnerRoleWords & {
    ownerRole?: string;
    lockTimeoutMs?: number;
    lockWaitNames?: LockWaitWords;
    log: Logger;
    readLockTimeoutMs?: number;
    onReleaseLockWait?: (wait: ReleaseLockWait | undefined) => void;
  },
): Promise<{ probe: Probe; unlock: () => Promise<void>; restoreLockTimeout: () => Promise<void> }> {
  // The state read waits for the tables' locks at most readLockTimeoutMs: set in this message, and set back
  // with the unlock (a no-op apply's third round trip) or by restoreLockTimeout, before anything is written.
  const bound = options.readLockTimeoutMs;
  const statements = [
    END_SESSION_WITH_CLIENT_SQL,
    ...(options.ownerRole ? [`SET ROLE ${quoteIdent(options.ownerRole)}`] : []),
    ...(bound === undefined ? [] : [swapLockTimeoutSql(bound)]),
    `SELECT pg_try_advisory_lock(${RELEASE_LOCK_KEY.toString()}::bigint) AS locked`,
    probeSql(steps),
  ];
  const results = (await client.query(statements.join(";\n")).catch(async (error: unknown) => {
    // The lock may have been taken before a later statement failed: a session lock outlives the error.
    await client.query(`SELECT pg_advisory_unlock(${RELEASE_LOCK_KEY.toString()}::bigint)`).catch(() => {});
    if (!options.ownerRole) throw error;
    // A role the login may not act as is named so (checkOwnerRole); one it may act as that is not the release's
    // owner fails the probe's reads as itself, and is named as the wrong role. The message's SET ROLE went with
    // its failure: both read as the login.
    await checkOwnerRole(client, options.ownerRole);
    await refuseActingAsAnotherOwner(client, "apply", {
      ...ownerRoleWordsOf(options),
      actingAs: options.ownerRole,
    });
    throw await ownerRoleError(client, options.ownerRole, error);
  })) as unknown as QueryResult[];
  const locked = (results.at(-2)!.rows[0] as { locked: boolean }).locked;
  let probe = (results.at(-1)!.rows[0] as { probe: Probe }).probe;
  let restore =
    bound === undefined ? "" : restoreLockTimeoutSql((results.at(-3)!.rows[0] as { was: string }).was);
  const restoreLockTimeout = async () => {
    if (!restore) return;
    await client.query(restore);
    restore = "";
  };
  const unlockSql = `SELECT pg_advisory_unlock(${RELEASE_LOCK_KEY.toString()}::bigint)`;
  const release = async () => {
    const sql = restore ? `${restore};\n${unlockSql}` : unlockSql;
    restore = "";
    await client.query(sql).catch(() => {});
  };
  if (!probe.pgvector) {
    if (locked) await release();
    else await restoreLockTimeout();
    throw missingPgvectorError();
  }
  if (locked) return { probe, unlock: release, restoreLockTimeout };
  const waited = await acquireReleaseLock(client, {
    timeoutMs: options.lockTimeoutMs,
    lockWaitNames: options.lockWaitNames,
    log: options.log,
    onWait: options.onReleaseLockWait,
  }).catch(async (error: unknown) => {
    await restoreLockTimeout().catch(() => {});
    throw error;
  });
  probe = await readProbe(client, steps);
  const unlock = async () => {
    await restoreLockTimeout().catch(() => {});
    await waited();
  };
  return { probe, unlock, restoreLockTimeout };
}
