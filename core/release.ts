// The schema release: migrations, then row-level security enforcement, seed sets and vector indexes. One plan
// and one apply, used by the CLI, the Pulumi dynamic providers and the tests alike.
import {
  legacyNotUpgradedText,
  upgradeInProgress,
  upgradeInProgressText,
  type UpgradeInProgress,
} from "./adopt/upgrade/in-progress";
import type { Client, ClientBase } from "pg";
import {
  PGVECTOR_AVAILABLE_SQL,
  batchedSteps,
  lockAndProbe,
  readBatched,
  readState,
  stateSql,
  type BatchedState,
} from "./batched-release";
import { bookkeepingExists, ensureBookkeeping } from "./bookkeeping";
import { closeClient, isConnectionLost, openClient } from "./connection";
import { lostConnectionError, type RunAgainWords } from "./lost-connection";
import { commandToRun, type CommandPrinter } from "./command-to-run";
import { ledgerProblemText } from "./display";
import { redactUrl, shownUser, targetOf, type DatabaseTarget } from "./dsn";
import { ReleaseError, asMigratorFix, isReleaseError, joinFixes } from "./errors";
import {
  createExtensionFix,
  extensionRefusedBy,
  extensionsCreatedBy,
  uncreatableExtensions,
  type ExtensionFixFor,
  type ExtensionProblem,
} from "./extensions";
import { isReadOnlyRefusal, readOnlySessionFix } from "./read-only-session";
import { quoteIdentifier as quoteIdent } from "./identifiers";
import { lostLastRows, readSnapshotLast } from "./adopt/lost-last-rows";
import { isLegacyDatabase } from "./adopt/legacy-inspection";
import { preflightProblems, releaseIsTheUpgrades } from "./adopt/preflight";
import { stepPlansAfterUpgrade } from "./adopt/upgrade/after-upgrade";
import { stepPlansWithPendingSeeds, type StepPlans } from "./vector-indexes/seeded-plan";
import {
  ledgerPlanProblems,
  missingPgvectorError,
  planProblems,
  refuseMissingCreatePrivileges,
  refuseUncreatableExtensions,
  refuseSafetyErrors,
  type PlanProblem,
} from "./plan-problems";
import {
  DEFAULT_LOCK_TIMEOUT_MS,
  acquireReleaseLock,
  inProgress,
  releaseLockHolders,
  type ReleaseInProgress,
  type ReleaseLockHolders,
  type ReleaseLockPrepared,
  type ReleaseLockWait,
} from "./lock";
import { needsOperator } from "./vector-indexes/decide";
import {
  lintMigrations,
  logSafetyWarnings,
  type ReleaseEnvironment,
  type SafetyFinding,
  type SafetyReport,
} from "./lint";
import { openMonitorInBackground, type MonitorConnection } from "./lock-safety/monitor-connection";
import { withBoundedLockWaits, type BoundedWaitOptions } from "./lock-safety/bounded-waits";
import { commandSessionSql, endSessionWithClient } from "./lock-safety/session";
import { resolveLockSafety, type LockSafetySettings } from "./lock-safety/settings";
import { lockWaitWordsFor, type LockWaitNames } from "./lock-safety/wait-names";
import { silentLogger, type Logger } from "./logger";
import { migrationsFolder, readMigrationFiles, type MigrationFile } from "./migrations/files";
import {
  compareWithLedger,
  readLedger,
  type LedgerEntry,
  type LedgerProblem,
  type MigrationComparison,
  type MigrationIdentity,
} from "./migrations/ledger";
import { runPendingMigrations } from "./migrations/run";
import { readAsOwnerRole, setOwnerRole } from "./owner-role";
import {
  firstApplyPrivilegeProblem,
  ownerRoleWordsOf,
  readActingOwner,
  refuseActingAsAnotherOwner,
  type CreatePrivilegeProblem,
} from "./acting-owner";
import { readSnapshot, recordSnapshot, SNAPSHOT_FORMAT, takeSnapshot, type SnapshotDiff } from "./snapshot";
import {
  compareWithRecorded,
  snapshotIsComparable,
  checkDriftBeforeRelease,
  driftBeforeRelease,
  type DriftBeforeRelease,
} from "./drift-before-release";
import { readsBeforeFirstWrite, releaseReadWaits } from "./reads-before-first-write";
import { schemaDriftError } from "./schema-drift";
import { readReleaseRecordsNow, releaseRecordsMark, sameReleaseRecords } from "./release-records-mark";
import { releaseRecordsOwnerError } from "./release-records-owner";
import { rolesMissing, rolesOfRepairs } from "./snapshot-roles";
import type { MigrationResult, StepKind, StepPlanMap, StepResult } from "./results";
import {
  anyStepChanged,
  appliedResults,
  byStepKey,
  runSteps,
  stepResult,
  type ItemResultMap,
  type StatusMap,
  type StepItemResults,
  type StepStatuses,
} from "./step-results";
import type { ReleaseStep, RunningStep, StepManifestEntry } from "./steps";

export interface ReleaseOptions {
  /** postgresql:// URL of the role that runs the release (the migrator). */
  databaseUrl: string;
  /** Where the URL came from, for error messages ("--database-url", "DATABASE_URL", a config key). */
  databaseUrlSource?: string;
  /** Folder of the migration files. */
  migrationsDir: string;
  /**
   * The folder as the user named it (`--migrations-dir` relative as given, never resolved to a machine path),
   * for the fixes that name a file in it; default: `migrationsDir`.
   */
  migrationsDirAsGiven?: string;
  /** Row-level security, seed-set and vector-index steps, in the order they run. */
  steps?: readonly ReleaseStep[];
  /** Role to SET ROLE to before any change, so that the objects belong to it (the owner role). */
  ownerRole?: string;
  /**
   * How long apply waits for another release to finish; plan, status and verify, for a lock another session
   * holds on what they read (DEFAULT_LOCK_TIMEOUT_MS when unset).
   */
  lockTimeoutMs?: number;
  /** How migrations wait for table locks (lock_timeout, statement_timeout, retries); defaults when unset. */
  lockSafety?: Partial<LockSafetySettings>;
  /**
   * How a lock timeout's error names those bounds and what to run again (a stack's); the CLI's flags when
   * unset, with the command to run again printed by printCommand or commandAsRun (lockWaitWordsFor).
   */
  lockWaitNames?: LockWaitNames;
  /**
   * revert --confirm: its preview as the operator runs it, which the fixes of a refused, stopped or
   * disconnected revert print to run again (core/revert-preview.ts). The CLI's is its own arguments without
   * --confirm and --expect-last (cli/confirm-command.ts); unset, they name `revert --to <it>` alone.
   */
  revertPreview?: string;
  /**
   * revert --confirm: its own command with `--expect-last <lastMigration>` in place of the one given, which a
   * revert stopped part way prints to run the rest (core/revert-preview.ts, revertRerunAfter). The CLI's is its
   * own arguments (cli/confirm-command.ts, revertConfirmCommand); unset, the fixes say it in words. `flags`
   * (a flag and its value each) replace the run's own value of each flag, as in commandAsRunWith.
   */
  revertConfirm?: (lastMigration: string, flags?: readonly string[]) => string;
  /**
   * How the fixes and notes print a command to run next on this database (core/command-to-run.ts): the CLI's
   * carries the operator's --database-url, --owner-role and --migrations-dir (cli/confirm-command.ts); unset,
   * the command alone.
   */
  printCommand?: CommandPrinter;
  /**
   * Where the owner role the release acts as is set, when the operator does not choose it: the schema-release
   * provider's stack config (`neonhub-db:rolePrefix`, whose `<prefix>_owner` the access layer makes). A
   * refusal that would have the operator name another --owner-role (a first release of a database another
   * role owns, core/acting-owner.ts) then names the hand-over to the stack's role instead. Unset: the CLI's
   * --owner-role.
   */
  ownerRoleSetting?: string;
  /**
   * The command as the operator ran it, printed to run again as it is: what a lost connection's fix names
   * (core/lost-connection.ts), and a lock timeout's in any command but apply (lockWaitWordsFor). The CLI's is its own arguments, the URL shown as printCommand shows it
   * (cli/confirm-command.ts); unset, the fix names the command in words ("run apply again").
   */
  commandAsRun?: string;
  /**
   * commandAsRun with `flags` (a flag and its value each) in place of the run's own value of each flag: what a
   * revert stopped by the statement timeout names to run again, with the timeout to raise
   * (RAISED_STATEMENT_TIMEOUT) instead of the one that stopped it. Unset, the fix names commandAsRun's words.
   */
  commandAsRunWith?: (flags: readonly string[]) => string;
  /**
   * apply: a safety-lint finding the caller has shown in full already, in the same run, for the same file and
   * checksum (the schema-release provider's check, which runs before its update in a `pulumi up` and cannot
   * tell a preview from an up): apply does not log it again. Unset, apply logs every warning it goes on with.
   */
  safetyFindingShown?: (finding: SafetyFinding) => boolean;
  /** Which stack this is: on `production`, blocking safety findings are errors, which apply refuses (core/lint/). */
  environment?: ReleaseEnvironment;
  connectTimeoutMs?: number;
  log?: Logger;
  /** apply: told each migration as it starts, and `undefined` once none runs (what an interruption names). */
  onMigrationRunning?: (migration: string | undefined) => void;
  /** apply: told each step (and the item it names) as it starts, and `undefined` once none runs. */
  onStepRunning?: (step: RunningStep | undefined) => void;
  /** apply: told when it waits for another release's lock, and `undefined` once it holds it. */
  onReleaseLockWait?: (wait: ReleaseLockWait | undefined) => void;
}

export interface ReleaseManifest {
  /** With the sha256 of a file's bytes where it is not the checksum (a file with exemption comments). */
  migrations: MigrationIdentity[];
  rowLevelSecurity: StepManifestEntry[];
  seedSets: StepManifestEntry[];
  vectorIndexes: StepManifestEntry[];
}

export interface ReleasePlan {
  database: string;
  /**
   * The Prisma-era database, as status names it (legacyUpgradeState): an upgrade in progress, or one not
   * started. Either way the pending migrations are the upgrade's to build, not plain apply's, which refuses the
   * database (the `legacy-schema` problem); plan leads with this. Absent otherwise.
   */
  legacyUpgrade?: ReleaseStatus["legacyUpgrade"];
  legacyNotUpgraded?: ReleaseStatus["legacyNotUpgraded"];
  migrations: { applied: number; pending: StepManifestEntry[]; problems: LedgerProblem[] };
  rowLevelSecurity: StepPlanMap["rowLevelSecurity"][];
  seedSets: StepPlanMap["seeds"][];
  vectorIndexes: StepPlanMap["vectorIndexes"][];
  /**
   * The Prisma-era database (the lists above are empty: plain apply refuses it): the steps' items as the steps
   * decide them on the tables the upgrade leaves (core/adopt/upgrade/after-upgrade.ts), which the upgrade in
   * place's apply runs after its cutover. What `pulumi up` builds on a stack whose `legacyUpgrade` setting runs
   * the upgrade first (infra/dynamic/pending-index-work.ts). Absent otherwise.
   */
  afterUpgrade?: Pick<ReleasePlan, "rowLevelSecurity" | "seedSets" | "vectorIndexes">;
  /** squawk's findings on the pending migrations, weighed with the tables' data (core/lint/). */
  safety: SafetyReport;
  /**
   * What was changed by hand since the last release, as verify names it, each with what apply does about it
   * (refuse, or warn and record it): read only when apply would change something, else empty
   * (core/drift-before-release.ts).
   */
  drift: DriftBeforeRelease[];
  /** Every reason apply would refuse this plan, each section's included (core/plan-problems.ts). */
  problems: PlanProblem[];
  /** Whether apply would change anything. */
  pending: boolean;
  /**
   * The step items apply skips because the operator must act first (a `skip` of cause `not-owner`: the
   * release's role does not own the table or the database), by name; each item's reason names what to run and
   * as whom. Not "nothing to do": plan exits 2 for them as for pending changes (planVerdict).
   */
  operatorItems: string[];
  /** Another session's release holding the release lock: this plan is of what it has committed so far. */
  releaseInProgress?: ReleaseInProgress;
  /** A prepared transaction holding the release lock: no release, and apply fails on it until it is finished. */
  releaseLockPrepared?: ReleaseLockPrepared;
  /**
   * An apply or a revert interrupted before it recorded the schema snapshot, and what completes it: after a
   * revert, running the revert again, not apply (verify's note).
   */
  interruption?: string;
}

/**
 * Whether apply would refuse what the plan shows: a ledger problem, a database that is not ours, a missing
 * pgvector, a safety lint error or a seed set that cannot fit (each of which apply checks again and refuses),
 * all of them in `problems`. plan's exit code and its closing line both read this, so they cannot disagree.
 */
export function planIsBlocked(plan: ReleasePlan): boolean {
  return plan.problems.length > 0;
}

/**
 * What plan concludes, in one place for its closing line and its exit code: `blocked` (apply would refuse or
 * fail: exit 1), `pending` (apply has something to do: exit 2), `operator` (nothing apply can do, but items
 * only the operator can: exit 2, something to act on), `nothing` (exit 0).
 */
export type PlanVerdict = "blocked" | "pending" | "operator" | "nothing";

export function planVerdict(plan: ReleasePlan): PlanVerdict {
  if (planIsBlocked(plan)) return "blocked";
  if (plan.pending) return "pending";
  return plan.operatorItems.length > 0 ? "operator" : "nothing";
}

export interface ReleaseSummary extends Omit<StepStatuses, "rowLevelSecurity"> {
  appliedMigrations: number;
  lastMigration: string | null;
  /** Optional so that summaries assembled from parts elsewhere (infra/schema-release.ts) may leave it out. */
  rowLevelSecurity?: StepStatuses["rowLevelSecurity"];
}

/** What an apply did: each migration it ran, each step item (ran or skipped, and why), each step's time. */
export interface ReleaseResult extends StepItemResults {
  changed: boolean;
  /** The migrations this apply ran, in order (those applied before are not listed: the summary counts them). */
  migrations: MigrationResult[];
  /** One line per step, in the order they ran. */
  steps: StepResult[];
  durationMs: number;
  summary: ReleaseSummary;
}

export interface ReleaseStatus extends StepStatuses {
  database: string;
  ledger: LedgerEntry[];
  pendingMigrations: string[];
  problems: LedgerProblem[];
  /**
   * The release settings the database recorded at its last release, by section (today `vectorIndexes`),
   * every default written out: what plan and apply use for a setting given neither by --config nor --set.
   */
  releaseSettings: Partial<Record<StepKind, Record<string, unknown>>>;
  /**
   * An upgrade of the Prisma-era database an earlier run started and did not take to its cutover (the ledger
   * is empty until then): its organization, and the command that continues it. Absent otherwise.
   */
  legacyUpgrade?: UpgradeInProgress & { continueWith: string };
  /**
   * The Prisma-era database whose upgrade has not started: no release yet, and the pending migrations are not
   * its path (plain apply refuses it), the upgrade in place is; `note` says so, with the command that shows
   * the upgrade's steps. Absent otherwise.
   */
  legacyNotUpgraded?: { note: string };
  /** Another session's release holding the release lock: this status is of what it has committed so far. */
  releaseInProgress?: ReleaseInProgress;
  /** A prepared transaction holding the release lock: no release, and apply fails on it until it is finished. */
  releaseLockPrepared?: ReleaseLockPrepared;
  /** An apply or a revert interrupted before it recorded the snapshot, and what completes it (plan's too). */
  interruption?: string;
}

export interface VerifyReport {
  database: string;
  clean: boolean;
  /** Another session's release, running as verify read: the schema was not compared (drift.note says why). */
  releaseInProgress?: ReleaseInProgress;
  /**
   * How many releases ended while verify read, one in each of its reads: the schema was not compared
   * (drift.note says why). Absent otherwise: one that ended during a read only made verify read again.
   */
  releasesEnded?: number;
  problems: LedgerProblem[];
  drift: SnapshotDiff & {
    snapshotTakenAt: string | null;
    note?: string;
    /** changed/removed/added object → the statement that restores what the release recorded, where one can. */
    repairs: Record<string, string>;
    /** The recorded snapshot is of an older format: only what that format records was compared (not a problem). */
    formatNote?: string;
    /**
     * Roles the repairs name (owners, grantees) that the cluster has none of: a restore into a cluster without
     * the stack's roles. Their repairs fail until the roles are made; `rolesNote` says how.
     */
    missingRoles?: string[];
    rolesNote?: string;
  };
}

/** What verify says when the roles its repairs name are missing from the cluster. */
function missingRolesNote(roles: readonly string[]): string {
  const names = roles.map((r) => `"${r}"`).join(", ");
  return (
    `the role(s) ${names}, which the release's owners and grants name, do not exist in this cluster: the database was restored into a cluster without them (pg_dump and pg_restore carry no roles), and the repairs that name them fail until they exist. ` +
    `Make them first, with pg_dumpall --roles-only from the source cluster (their passwords and role settings, such as the migrator's SET ROLE, come with it) or with the stack's access layer (its roles, grants and default privileges, with new passwords), then run verify again and its repairs as the cluster's admin`
  );
}

/** The release's identity without a database: what `pulumi preview` diffs. */
export function buildReleaseManifest(
  options: Pick<ReleaseOptions, "migrationsDir" | "steps">,
): ReleaseManifest {
  const migrations = readMigrationFiles(options).map(
    (m): MigrationIdentity => ({
      name: m.name,
      checksum: m.checksum,
      ...(m.bytesChecksum !== m.checksum ? { bytesChecksum: m.bytesChecksum } : {}),
    }),
  );
  const manifestOf = (kind: ReleaseStep["kind"]) =>
    (options.steps ?? []).filter((s) => s.kind === kind).flatMap((s) => s.manifest());
  return {
    migrations,
    rowLevelSecurity: manifestOf("rowLevelSecurity"),
    seedSets: manifestOf("seeds"),
    vectorIndexes: manifestOf("vectorIndexes"),
  };
}

async function withConnection<T>(
  options: ReleaseOptions,
  command: string,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  // apply waits for the release lock and its migrations for table locks, each its own way; the reads wait
  // for a table lock at most lockTimeoutMs, saying for whom.
  const waits = command === "apply" ? undefined : readCommandWaits(options, command);
  return withCommandConnection(options, command, waits, fn);
}

/** How long a read waits for a lock another session holds (the session's lock_timeout). */
export function readLockTimeoutMs(options: Pick<ReleaseOptions, "lockTimeoutMs">): number {
  return options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
}

/**
 * How a read command (plan, status, verify, and a ReleaseSession's reads) waits for a lock another session
 * holds: at most --lock-timeout (a stack's releaseLockTimeoutSeconds).
 */
export function readCommandWaits(options: ReleaseOptions, command: string): BoundedWaitOptions {
  const names = lockWaitWordsFor(options, command);
  return {
    command,
    lockTimeoutMs: readLockTimeoutMs(options),
    connectTimeoutMs: options.connectTimeoutMs,
    log: options.log ?? silentLogger,
    flag: names.lockTimeout,
    rerun: names.rerun,
  };
}

/**
 * A connection of `command`'s own (application_name `neonhub-db:<applicationName>`), closed after `fn`. Given
 * `waits`, each of its statements waits for a table lock at most `waits.lockTimeoutMs` (set with the session),
 * and a lock timeout is a `lock-timeout` error naming the blocker (core/lock-safety/bounded-waits.ts).
 */
export async function withCommandConnection<T>(
  options: ReleaseOptions,
  command: string,
  waits: BoundedWaitOptions | undefined,
  fn: (client: Client) => Promise<T>,
  applicationName = command,
): Promise<T> {
  const target = targetOf(options);
  const client = await openClient(target, {
    applicationName: `neonhub-db:${applicationName}`,
    connectTimeoutMs: options.connectTimeoutMs,
    sessionSql: commandSessionSql(waits?.lockTimeoutMs),
  });
  try {
    if (!waits) return await fn(client);
    return await withBoundedLockWaits(client, target, waits, () => fn(client));
  } catch (error) {
    throw await describeSessionError(client, error, target, command, {
      rerun: options.lockWaitNames?.rerun,
      asRun: options.commandAsRun,
      print: options.printCommand,
    });
  } finally {
    await closeClient(client);
  }
}

/** How a session error's fix names what to run: describeRunError's words, and the printer. */
export interface SessionErrorWords extends RunAgainWords {
  print?: CommandPrinter;
}

/**
 * describeRunError for an error raised on `client`, which is still open to ask: a missing column or table
 * is drift, and the release's records refused to the owner role are named with their owner.
 */
export async function describeSessionError(
  client: ClientBase,
  error: unknown,
  target: DatabaseTarget,
  command?: string,
  { print, ...again }: SessionErrorWords = {},
): Promise<unknown> {
  const recordsRefused =
    (error as { code?: string } | undefined)?.code === "42501"
      ? await releaseRecordsOwnerError(client, target.user, (error as Error).message, error)
      : undefined;
  return describeRunError(
    recordsRefused ?? (await schemaDriftError(client, error, print)) ?? error,
    target,
    command,
    { print, ...again },
  );
}

/**
 * `command`: the CLI command that ran (plan, apply, revert --confirm, ...), for the fix; "the release" when
 * unnamed. `words`: how a lost connection's fix names what to run again (core/lost-connection.ts), and the
 * printer of a refused extension's fix (createExtensionFix).
 */
export function describeRunError(
  error: unknown,
  target: DatabaseTarget,
  command = "the release",
  { print, ...again }: SessionErrorWords = {},
): unknown {
  if (isReleaseError(error) && !isConnectionLost(error.cause)) return error;
  if (isConnectionLost(error) || (isReleaseError(error) && isConnectionLost(error.cause))) {
    return lostConnectionError(error, target, command, again);
  }
  const code = (error as { code?: string })?.code;
  const extension = extensionRefusedBy((error ?? {}) as Parameters<typeof extensionRefusedBy>[0]);
  if (extension) {
    return new ReleaseError(
      "permission",
      `Permission denied for user ${shownUser(target.user)}: ${(error as Error).message}`,
      createExtensionFix(extension, print),
      { cause: error },
    );
  }
  if (code === "42501") {
    return new ReleaseError(
      "permission",
      `Permission denied for user ${shownUser(target.user)}: ${(error as Error).message}`,
      asMigratorFix(command),
      { cause: error },
    );
  }
  if (isReadOnlyRefusal(error)) {
    return new ReleaseError(
      "permission",
      `The database refused a write of ${command}: ${(error as Error).message}.`,
      readOnlySessionFix({ user: quoteIdent(target.user), database: quoteIdent(target.database) }),
      { cause: error },
    );
  }
  return error;
}

async function pgvectorAvailable(client: ClientBase): Promise<boolean> {
  const result = await client.query<{ available: boolean }>(`SELECT ${PGVECTOR_AVAILABLE_SQL} AS available`);
  return result.rows[0]?.available === true;
}

interface MigrationState {
  files: MigrationFile[];
  ledger: LedgerEntry[];
  comparison: MigrationComparison;
}

async function readMigrationState(client: ClientBase, options: ReleaseOptions): Promise<MigrationState> {
  const files = readMigrationFiles(options);
  const ledger = await readLedger(client);
  return {
    files,
    ledger,
    comparison: compareWithLedger(files, ledger, migrationsFolder(options), [], options.printCommand),
  };
}

function refuseLedgerProblems(
  problems: readonly LedgerProblem[],
  title = "The migration files do not match what this database applied",
): void {
  if (problems.length === 0) return;
  const message = problems.map((p) => `- ${ledgerProblemText(p)}`).join("\n");
  const fix = joinFixes(problems.map((p) => p.fix));
  throw new ReleaseError("ledger-mismatch", `${title}:\n${message}`, fix, {
    problems: ledgerPlanProblems(problems),
  });
}

export async function planWith(client: ClientBase, options: ReleaseOptions): Promise<ReleasePlan> {
  const files = readMigrationFiles(options);
  // apply acts as the owner role (SET ROLE), and so does plan: it refuses a role apply could not act as, and
  // reads what apply reads as it. The login alone may read otherwise: a member of the role without INHERIT may
  // not read the release's records, and row-level security hides from the login the rows the role owns.
  return readAsOwnerRole(client, options.ownerRole, () =>
    planActing(client, options, files).catch(async (error: unknown) => {
      // A role that is not the release's owner fails the state's reads as itself: named as the wrong role, as
      // apply names it (core/batched-release.ts lockAndProbe).
      if (options.ownerRole)
        await refuseActingAsAnotherOwner(client, "apply", {
          ...ownerRoleWordsOf(options),
          actingAs: options.ownerRole,
        });
      throw error;
    }),
  );
}

/** planWith, in a session acting as the role apply acts as (options.ownerRole set, or current_user). */
async function planActing(
  client: ClientBase,
  options: ReleaseOptions,
  files: MigrationFile[],
): Promise<ReleasePlan> {
  const batched = await readBatched(
    client,
    options.steps ?? [],
    files,
    migrationsFolder(options),
    options.printCommand,
    options.ownerRole,
  );
  // ... and one that would create objects as another role than the release's owner (core/acting-owner.ts).
  const actingOwner = batched ? batched.probe.actingOwner : await readActingOwner(client, options.ownerRole);
  await refuseActingAsAnotherOwner(client, "apply", {
    ...ownerRoleWordsOf(options),
    probed: actingOwner,
  });
  // A first apply's role that may not create in the schema or the database: apply's refusal, plan's problem.
  const createPrivileges = firstApplyPrivilegeProblem(actingOwner, options.printCommand);
  if (batched?.state) {
    // Two round trips: the probe and the state; a step whose plan the state does not settle reads on its own.
    const { probe, state, steps } = batched;
    const stepPlans = new Map<ReleaseStep, StepPlanMap[ReleaseStep["kind"]][]>();
    for (const [i, step] of steps.entries()) {
      stepPlans.set(
        step,
        step.batch.planFromState(state.steps[i]) ?? (await step.plan(client, options.ownerRole)),
      );
    }
    const checks = await pendingMigrationChecks(
      client,
      { ...state, snapshotLastMigration: state.snapshotLastMigration ?? null },
      options,
      "plan",
    );
    const seededPlans = await stepPlansWithPendingSeeds(client, stepPlans, options.ownerRole);
    const drift = probe.release ? [] : await planDrift(client, state.ledger, seededPlans, checks);
    const holders = inProgress(probe.release, probe.releasePrepared);
    return assemblePlan(
      options,
      state,
      seededPlans,
      await plansAfterUpgrade(client, stepPlans, checks),
      !probe.pgvector,
      { ...checks, drift, createPrivileges },
      holders,
      await legacyUpgradeState(client, state.ledger, options.printCommand),
    );
  }
  const state = await readMigrationState(client, options);
  const checks = await pendingMigrationChecks(client, state, options, "plan");
  const released = await bookkeepingExists(client);
  const steps = options.steps ?? [];
  const unseededPlans = new Map<ReleaseStep, StepPlanMap[ReleaseStep["kind"]][]>();
  for (const step of steps) {
    unseededPlans.set(step, await step.plan(released ? client : undefined, options.ownerRole));
  }
  // Before the first release the steps plan without the database ("no release yet"): no rows to add to.
  const stepPlans = released
    ? await stepPlansWithPendingSeeds(client, unseededPlans, options.ownerRole)
    : unseededPlans;
  const holders = await releaseLockHolders(client);
  const drift =
    released && !holders.releaseInProgress ? await planDrift(client, state.ledger, stepPlans, checks) : [];
  const pgvectorMissing = !(await pgvectorAvailable(client));
  return assemblePlan(
    options,
    state,
    stepPlans,
    await plansAfterUpgrade(client, stepPlans, checks),
    pgvectorMissing,
    { ...checks, drift, createPrivileges },
    holders,
    await legacyUpgradeState(client, state.ledger, options.printCommand),
  );
}

/** Whether the plan changes something: a pending migration or a step item that is not unchanged. */
function planChanges(
  stepPlans: Map<ReleaseStep, StepPlanMap[ReleaseStep["kind"]][]>,
  checks: Pick<PendingMigrationChecks, "pending">,
): boolean {
  return (
    checks.pending.length > 0 || [...stepPlans.values()].flat().some((item) => item.action !== "unchanged")
  );
}

/**
 * The drift apply would check before its first write; none read when nothing is to do (two round trips), nor
 * while another release runs (its callers' choice): what that release has done and not yet recorded differs
 * from the snapshot, and is no hand's change. The apply checks it under the lock.
 */
async function planDrift(
  client: ClientBase,
  ledger: readonly LedgerEntry[],
  stepPlans: Map<ReleaseStep, StepPlanMap[ReleaseStep["kind"]][]>,
  checks: Pick<PendingMigrationChecks, "pending">,
): Promise<DriftBeforeRelease[]> {
  if (!planChanges(stepPlans, checks)) return [];
  return driftBeforeRelease(client, ledger.at(-1)?.name ?? null);
}

interface PendingMigrationChecks {
  /** The pending migrations, without those whose last row was deleted (core/adopt/lost-last-rows.ts). */
  pending: MigrationFile[];
  /** A database that is not ours (core/adopt/preflight.ts). */
  preflight: LedgerProblem[];
  /** The safety lint of the pending migrations, weighed with the live tables (core/lint/). */
  safety: SafetyReport;
  /** Extensions the migrations would create that the role they run as may not (core/extensions.ts). */
  extensions: ExtensionProblem[];
  /** An apply or revert interrupted before it recorded the snapshot, and what completes it (verify's note). */
  interruption?: string;
}

/**
 * What plan says of the pending migrations, and what apply refuses on; both read nothing when none is pending
 * (a no-op plan stays at two round trips). `command`: which of them asks, for the fixes that say what to run
 * next.
 */
async function pendingMigrationChecks(
  client: ClientBase,
  state: Pick<MigrationState, "ledger" | "comparison"> & { snapshotLastMigration?: string | null },
  options: ReleaseOptions,
  command: "plan" | "apply",
): Promise<PendingMigrationChecks> {
  const { ledger, comparison } = state;
  // A pending migration whose last row was deleted by hand is the problem, not pending work: it would run twice.
  const lost = await lostLastRows(client, ledger, comparison.pending, {
    snapshotLast: state.snapshotLastMigration,
    print: options.printCommand,
  });
  const pending = comparison.pending.filter((f) => !lost.some((p) => p.migration === f.name));
  return {
    ...(await interruptionOf(
      client,
      options.printCommand,
      ledger,
      pending,
      lost,
      state.snapshotLastMigration,
    )),
    pending,
    preflight: [
      ...lost,
      ...(await preflightProblems(client, { ledger, pending, print: options.printCommand })),
    ],
    safety: await lintMigrations(client, pending, { environment: options.environment }),
    // The first migration creates pgvector, which only a superuser may: a migrator (acting as the owner role)
    // on a database the access layer did not prepare would fail there, after the bookkeeping was written.
    extensions: await extensionsTheRoleMayNotCreate(client, pending, options, command),
  };
}

/**
 * Of the extensions the pending migrations create, those the role they run as (`ownerRole`) may not (none read
 * if none), their fixes printed by `printCommand`.
 */
async function extensionsTheRoleMayNotCreate(
  client: ClientBase,
  pending: readonly MigrationFile[],
  {
    ownerRole,
    printCommand,
    commandAsRun,
  }: Pick<ReleaseOptions, "ownerRole" | "printCommand" | "commandAsRun">,
  command: "plan" | "apply",
): Promise<ExtensionProblem[]> {
  const created = extensionsCreatedBy(pending.map((f) => f.sql));
  if (created.size === 0) return [];
  // Plan's fix names the plan to run again, as the operator ran it, then the apply; apply's the apply.
  const running: ExtensionFixFor = command === "plan" ? { command, asRun: commandAsRun } : { command };
  return (await uncreatableExtensions(client, ownerRole, printCommand, running)).filter((e) =>
    created.has(e.extension),
  );
}

/**
 * On the Prisma-era database, whose release is the upgrade's to run (releaseIsTheUpgrades), the steps' items
 * after its cutover (stepPlansAfterUpgrade, which reads the build memory on `client`); undefined otherwise,
 * with nothing read.
 */
async function plansAfterUpgrade(
  client: ClientBase,
  stepPlans: Map<ReleaseStep, StepPlanMap[ReleaseStep["kind"]][]>,
  checks: Pick<PendingMigrationChecks, "preflight">,
): Promise<StepPlans | undefined> {
  return releaseIsTheUpgrades(checks.preflight) ? stepPlansAfterUpgrade(client, stepPlans) : undefined;
}

/** `upgradedPlans`: plansAfterUpgrade's, present on the Prisma-era database alone. */
function assemblePlan(
  options: ReleaseOptions,
  state: Pick<MigrationState, "ledger" | "comparison">,
  stepPlans: Map<ReleaseStep, StepPlanMap[ReleaseStep["kind"]][]>,
  upgradedPlans: StepPlans | undefined,
  pgvectorMissing: boolean,
  checks: PendingMigrationChecks & {
    drift: DriftBeforeRelease[];
    createPrivileges?: CreatePrivilegeProblem;
  },
  holders: ReleaseLockHolders,
  legacy: Pick<ReleasePlan, "legacyUpgrade" | "legacyNotUpgraded">,
): ReleasePlan {
  // The Prisma-era database: apply stops at its pre-flight, so none of the steps' items is its to do (the
  // upgrade in place runs them after its cutover), and plan lists none, as it lists no migration as apply's.
  const upgradeFirst = upgradedPlans !== undefined;
  const shownPlans: typeof stepPlans = upgradeFirst ? new Map() : stepPlans;
  const { rowLevelSecurity, seedSets, vectorIndexes } = byStepKey<StepPlanMap>(
    [...stepPlans.keys()],
    (step) => shownPlans.get(step) ?? [],
  );
  const pending = !upgradeFirst && planChanges(stepPlans, checks);
  const ledgerProblems = [...state.comparison.problems, ...checks.preflight];
  const afterUpgrade = upgradedPlans
    ? byStepKey<StepPlanMap>([...stepPlans.keys()], (step) => upgradedPlans.get(step) ?? [])
    : undefined;
  return {
    database: redactUrl(options.databaseUrl),
    ...legacy,
    migrations: {
      applied: state.ledger.length,
      pending: checks.pending.map((m) => ({ name: m.name, checksum: m.checksum })),
      problems: ledgerProblems,
    },
    rowLevelSecurity,
    seedSets,
    vectorIndexes,
    ...(afterUpgrade ? { afterUpgrade } : {}),
    safety: checks.safety,
    drift: checks.drift,
    ...(checks.interruption ? { interruption: checks.interruption } : {}),
    // With none pending, apply would refuse a seed set that does not fit, so the plan says so now.
    problems: planProblems({
      pgvectorMissing,
      extensions: checks.extensions,
      createPrivileges: checks.createPrivileges,
      ledger: ledgerProblems,
      safety: checks.safety,
      seedSets,
      drift: checks.drift,
      migrationsPending: checks.pending.length > 0,
      print: options.printCommand,
      releaseLockPrepared: holders.releaseLockPrepared,
    }),
    pending,
    operatorItems: [...shownPlans.values()]
      .flat()
      .filter(needsOperator)
      .map((item) => item.name),
    ...holders,
  };
}

/**
 * What apply would do. No side effects at all: no lock, no table, nothing written; fine for a read-only role
 * (with --owner-role, only a login that may act as that role: apply's check, core/owner-role.ts).
 */
export async function planRelease(options: ReleaseOptions): Promise<ReleasePlan> {
  return withConnection(options, "plan", (client) => planWith(client, options));
}

/**
 * Applies pending migrations, then the steps (row-level security, seed sets, vector indexes), under the release
 * lock.
 */
export async function applyRelease(options: ReleaseOptions): Promise<ReleaseResult> {
  // Files are validated before we even connect: a malformed name or a non-UTF-8 file changes nothing.
  readMigrationFiles(options);
  return withConnection(options, "apply", (client) => applyWith(client, options));
}

/** applyRelease on a connection the caller opened (a ReleaseSession's). */
export async function applyWith(client: ClientBase, options: ReleaseOptions): Promise<ReleaseResult> {
  const log = options.log ?? silentLogger;
  const started = Date.now();
  const files = readMigrationFiles(options);
  const batched = batchedSteps(options.steps ?? []);
  let unlock: () => Promise<void>;
  // The bookkeeping schema's version as the probe read it under the lock; undefined: not read yet.
  let recordedBookkeeping: string | null | undefined;
  if (batched) {
    // Round trip 1: SET ROLE, the read's lock_timeout, the lock and the catalog probe; 2: the state; 3: the
    // unlock (with the lock_timeout set back), when nothing is to do. The state read locks the step's tables
    // (a count, a column default): behind a session holding one, it waits at most --migration-lock-timeout.
    const waits = releaseReadWaits({ ...options, log }, "apply");
    const locked = await lockAndProbe(client, batched, {
      ...options,
      lockWaitNames: lockWaitWordsFor(options, "apply"),
      log,
      readLockTimeoutMs: waits.lockTimeoutMs,
    });
    unlock = locked.unlock;
    recordedBookkeeping = locked.probe.version;
    try {
      // Objects created as another role than the release's owner are refused before anything is written.
      await refuseActingAsAnotherOwner(client, "apply", {
        ...ownerRoleWordsOf(options),
        probed: locked.probe.actingOwner,
      });
      // ... and a first apply whose role may not create in the schema or the database (the same probe).
      refuseMissingCreatePrivileges(
        firstApplyPrivilegeProblem(locked.probe.actingOwner, options.printCommand),
      );
      const sql = stateSql(batched, locked.probe);
      const state = sql
        ? await withBoundedLockWaits(client, targetOf(options), waits, () =>
            readState(client, sql, files, migrationsFolder(options), options.printCommand),
          )
        : undefined;
      const noop = state && noopResult(state, batched, started, log);
      if (noop) {
        await unlock();
        return noop;
      }
      await locked.restoreLockTimeout();
    } catch (error) {
      await unlock();
      throw error;
    }
  } else {
    if (!(await pgvectorAvailable(client))) throw missingPgvectorError();
    await endSessionWithClient(client);
    if (options.ownerRole) await setOwnerRole(client, options.ownerRole);
    const actingOwner = await readActingOwner(client);
    await refuseActingAsAnotherOwner(client, "apply", {
      ...ownerRoleWordsOf(options),
      probed: actingOwner,
    });
    refuseMissingCreatePrivileges(firstApplyPrivilegeProblem(actingOwner, options.printCommand));
    unlock = await acquireReleaseLock(client, {
      timeoutMs: options.lockTimeoutMs,
      lockWaitNames: lockWaitWordsFor(options, "apply"),
      log,
      onWait: options.onReleaseLockWait,
    });
  }
  let monitor: MonitorConnection | undefined;
  try {
    // Everything read before the first write waits for a table lock at most --migration-lock-timeout
    // (core/reads-before-first-write.ts).
    const state = await readsBeforeFirstWrite(client, { ...options, log }, "apply", async () => {
      // Read the state only once we hold the lock: a release that ran meanwhile is then seen as applied.
      const state = await readMigrationState(client, options);
      refuseLedgerProblems(state.comparison.problems);
      // A recorded setting this version refuses stops the release here, not after the migrations ran.
      for (const step of options.steps ?? []) await step.checkSettings?.(client);
      // Before anything is written (not even the ledger), the checks plan makes of the pending migrations: a
      // database that is not ours stops here, and so do the safety lint's errors (production's blocking
      // statements on tables with data, exemptions without a reason).
      const checks = await pendingMigrationChecks(client, state, options, "apply");
      refuseLedgerProblems(checks.preflight, "This database is not one neonhub-db can apply to as it is");
      refuseUncreatableExtensions(checks.extensions);
      refuseSafetyErrors(checks.safety);
      // What it goes on with: the lint's warnings, as plan showed them (apply's --json keeps them too).
      logSafetyWarnings(checks.safety, log, options.safetyFindingShown);
      // A change made by hand since the last release would be recorded as the release's below: refused here,
      // with verify's repairs (core/drift-before-release.ts). A no-op apply returned above.
      checkDriftBeforeRelease(
        await driftBeforeRelease(client, state.ledger.at(-1)?.name ?? null, "apply"),
        log,
        "apply",
        options.printCommand,
      );
      return state;
    });
    const steps = options.steps ?? [];
    await ensureBookkeeping(
      client,
      steps.map((s) => s.bookkeepingDdl),
      recordedBookkeeping,
    );
    // A second connection watches what the migrations wait for; it connects while they start.
    monitor =
      state.comparison.pending.length > 0
        ? openMonitorInBackground(targetOf(options), { connectTimeoutMs: options.connectTimeoutMs, log })
        : undefined;
    const migrations = await runPendingMigrations(client, {
      dir: options.migrationsDir,
      pending: state.comparison.pending,
      log,
      lockSafety: resolveLockSafety(options.lockSafety),
      monitor: monitor?.ready,
      onRunning: options.onMigrationRunning,
      lockWaitNames: lockWaitWordsFor(options, "apply"),
      print: options.printCommand,
    }).catch(async (error: unknown) => {
      await snapshotAfterFailedMigration(client, options, state.ledger.length, log);
      throw error;
    });
    // Its session ends while the release reads and records what it did (awaited before returning).
    void monitor?.close();
    const stepRun = await runSteps(client, steps, log, {
      onRunning: options.onStepRunning,
      printCommand: options.printCommand,
    });
    const changed = migrations.length > 0 || anyStepChanged(stepRun);
    // The ledger now: what it held under the lock, then what this apply recorded (no other release ran since).
    const ledger = [...state.ledger, ...migrations];
    // A change is always recorded: the recorded snapshot (a large document) is read only when nothing changed.
    const snapshot = changed ? undefined : await readSnapshot(client);
    const lastMigration = ledger.at(-1)?.name ?? null;
    if (
      changed ||
      !snapshot ||
      snapshot.lastMigration !== lastMigration ||
      snapshot.format < SNAPSHOT_FORMAT
    ) {
      await recordSnapshot(client, lastMigration ?? undefined);
    }
    return {
      changed,
      migrations: appliedResults(migrations),
      ...stepRun,
      durationMs: Date.now() - started,
      summary: await summaryWith(client, ledger, steps),
    };
  } finally {
    await monitor?.close();
    await unlock();
  }
}

/** An apply with nothing to do, answered from the batched state; undefined when something is to do. */
function noopResult(
  state: BatchedState,
  steps: readonly ReleaseStep[],
  started: number,
  log: Logger,
): ReleaseResult | undefined {
  const { comparison, ledger } = state;
  if (comparison.problems.length > 0 || comparison.pending.length > 0) return undefined;
  const lastMigration = ledger.at(-1)?.name ?? null;
  if (state.snapshotLastMigration !== lastMigration) return undefined;
  if (state.snapshotFormat !== undefined && state.snapshotFormat < SNAPSHOT_FORMAT) return undefined;
  if (!steps.every((step, i) => step.batch?.noopFromState(state.steps[i]))) return undefined;
  const batchOf = (step: ReleaseStep) => step.batch!;
  const items = steps.map((step, i) => batchOf(step).noopResults(state.steps[i], log));
  const itemsOf = (_step: ReleaseStep, i: number) => items[i]!;
  return {
    changed: false,
    migrations: [],
    ...byStepKey<ItemResultMap>(steps, itemsOf),
    steps: steps.map((step, i) => stepResult(step.kind, 0, itemsOf(step, i))),
    durationMs: Date.now() - started,
    summary: {
      appliedMigrations: ledger.length,
      lastMigration,
      ...byStepKey<StatusMap>(steps, (step, i) => batchOf(step).statusFromState(state.steps[i])),
    },
  };
}

async function summaryWith(
  client: ClientBase,
  ledger: readonly Pick<LedgerEntry, "name">[],
  steps: readonly ReleaseStep[],
): Promise<ReleaseSummary> {
  const statuses = new Map<ReleaseStep, StatusMap[ReleaseStep["kind"]][]>();
  for (const step of steps) statuses.set(step, await step.status(client));
  return {
    appliedMigrations: ledger.length,
    lastMigration: ledger.at(-1)?.name ?? null,
    ...byStepKey<StatusMap>(steps, (step) => statuses.get(step) ?? []),
  };
}

/** The ledger, seed sets and vector indexes as the database records them. Read-only. */
export async function releaseStatus(options: ReleaseOptions): Promise<ReleaseStatus> {
  return withConnection(options, "status", (client) => statusWith(client, options));
}

export async function statusWith(client: ClientBase, options: ReleaseOptions): Promise<ReleaseStatus> {
  const files = readMigrationFiles(options);
  const batched = await readBatched(
    client,
    options.steps ?? [],
    files,
    migrationsFolder(options),
    options.printCommand,
  );
  if (batched?.state) {
    const { probe, state, steps } = batched;
    const lost = await lostLastRows(client, state.ledger, state.comparison.pending, {
      snapshotLast: state.snapshotLastMigration ?? null,
      print: options.printCommand,
    });
    return {
      database: redactUrl(options.databaseUrl),
      ledger: state.ledger,
      ...migrationsOfStatus(state.comparison, lost),
      ...byStepKey<StatusMap>(steps, (step, i) => step.batch!.statusFromState(state.steps[i])),
      releaseSettings: settingsOf(steps, (step, i) =>
        step.batch!.recordedSettingsFromState?.(state.steps[i]),
      ),
      ...(await legacyUpgradeState(client, state.ledger, options.printCommand)),
      ...inProgress(probe.release, probe.releasePrepared),
      ...(await interruptionOf(
        client,
        options.printCommand,
        state.ledger,
        state.comparison.pending,
        lost,
        state.snapshotLastMigration ?? null,
      )),
    };
  }
  const state = await readMigrationState(client, options);
  const released = await bookkeepingExists(client);
  const summary = released
    ? await summaryWith(client, state.ledger, options.steps ?? [])
    : { rowLevelSecurity: [], seedSets: [], vectorIndexes: [] };
  const lost = released
    ? await lostLastRows(client, state.ledger, state.comparison.pending, { print: options.printCommand })
    : [];
  const recorded = new Map<ReleaseStep, Record<string, unknown> | undefined>();
  if (released)
    for (const step of options.steps ?? []) recorded.set(step, await step.recordedSettings?.(client));
  return {
    database: redactUrl(options.databaseUrl),
    ledger: state.ledger,
    ...migrationsOfStatus(state.comparison, lost),
    rowLevelSecurity: summary.rowLevelSecurity ?? [],
    seedSets: summary.seedSets,
    vectorIndexes: summary.vectorIndexes,
    releaseSettings: settingsOf(options.steps ?? [], (step) => recorded.get(step)),
    ...(await legacyUpgradeState(client, state.ledger, options.printCommand)),
    ...(await releaseLockHolders(client)),
    ...(released
      ? await interruptionOf(client, options.printCommand, state.ledger, state.comparison.pending, lost)
      : {}),
  };
}

/**
 * An upgrade in progress before its cutover, or the Prisma-era database before its upgrade, for status and
 * plan: read only while the ledger is empty (the cutover records every migration), so a released database's
 * status and plan cost no extra round trip.
 */
async function legacyUpgradeState(
  client: ClientBase,
  ledger: readonly LedgerEntry[],
  print: CommandPrinter | undefined,
): Promise<Pick<ReleaseStatus, "legacyUpgrade" | "legacyNotUpgraded">> {
  if (ledger.length > 0) return {};
  const upgrade = await upgradeInProgress(client);
  if (upgrade) return { legacyUpgrade: { ...upgrade, continueWith: upgradeInProgressText(upgrade, print) } };
  return (await isLegacyDatabase(client))
    ? { legacyNotUpgraded: { note: legacyNotUpgradedText(print) } }
    : {};
}

/** The recorded release settings of the steps that record some, by the step's kind. */
function settingsOf(
  steps: readonly ReleaseStep[],
  read: (step: ReleaseStep, index: number) => Record<string, unknown> | undefined,
): ReleaseStatus["releaseSettings"] {
  const settings: ReleaseStatus["releaseSettings"] = {};
  steps.forEach((step, i) => {
    const value = read(step, i);
    if (value) settings[step.kind] = value;
  });
  return settings;
}

/** Pending and problems as status shows them: a migration whose last row was deleted is a problem, not pending. */
function migrationsOfStatus(
  comparison: MigrationComparison,
  lost: readonly LedgerProblem[],
): Pick<ReleaseStatus, "pendingMigrations" | "problems"> {
  const lostNames = new Set(lost.map((p) => p.migration));
  return {
    pendingMigrations: comparison.pending.map((m) => m.name).filter((name) => !lostNames.has(name)),
    problems: [...comparison.problems, ...lost],
  };
}

/**
 * After a migration failed (and rolled back), the snapshot of what the migrations before it committed: verify
 * then compares the live schema with the ledger as it is, instead of reporting their objects as drift. A
 * failure to record it is logged, not raised: the migration's error is the one to report. Its warning is
 * conditional: the ledger it could not read is what would tell whether any migration of this run committed.
 */
async function snapshotAfterFailedMigration(
  client: ClientBase,
  options: ReleaseOptions,
  ledgerBefore: number,
  log: Logger,
): Promise<void> {
  try {
    const { ledger } = await readMigrationState(client, options);
    if (ledger.length > ledgerBefore) await recordSnapshot(client, ledger.at(-1)!.name);
  } catch (error) {
    log.warn(
      `could not record the schema snapshot after the failed migration (${(error as Error).message}); if a migration of this run committed before it, verify will say an apply was interrupted until the next apply`,
    );
  }
}

/**
 * For plan and status: an apply or a revert stopped before it recorded the snapshot (recorded after another
 * migration than the ledger's last), in verify's words. After a revert, "apply applies them" would apply again
 * what the operator took out. Read only when a migration is pending and no last row was lost (then that is the
 * problem named); a database with no snapshot yet has nothing to say. `snapshotLast`: when the caller read it.
 */
async function interruptionOf(
  client: ClientBase,
  print: CommandPrinter | undefined,
  ledger: readonly { name: string }[],
  pending: readonly unknown[],
  lost: readonly LedgerProblem[],
  snapshotLast?: string | null,
): Promise<{ interruption?: string }> {
  if (lost.length > 0 || pending.length === 0) return {};
  const recordedAfter = snapshotLast !== undefined ? snapshotLast : await readSnapshotLast(client);
  const interruption = recordedAfter === null ? undefined : snapshotLedgerNote(recordedAfter, ledger, print);
  return interruption ? { interruption } : {};
}

/**
 * Why the snapshot and the ledger end at different migrations, and what completes the release; undefined when
 * they agree. A snapshot after a migration the ledger no longer lists was taken before a revert that stopped
 * before retaking it: running apply would apply again what the operator reverted.
 */
function snapshotLedgerNote(
  snapshotLast: string | null,
  ledger: readonly { name: string }[],
  print: CommandPrinter | undefined,
): string | undefined {
  const last = ledger.at(-1)?.name ?? null;
  if (snapshotLast === last) return undefined;
  const taken = `the snapshot was taken after ${snapshotLast ?? "no migration"} but the ledger ends at ${last ?? "no migration"}`;
  if (snapshotLast !== null && !ledger.some((e) => e.name === snapshotLast)) {
    // Its objects are not there (lost-last-rows.ts would have named the rows missing): reverted, or data only.
    const interrupted = `${taken}: a revert was interrupted before it recorded the snapshot (or, for a migration that creates nothing, its ledger row was deleted by hand: then put it back instead, as docs/runbook.md, "A row missing from the ledger" says)`;
    return last === null
      ? `${interrupted} (nothing is applied now)`
      : `${interrupted}; run the revert again (${commandToRun(print, ["revert", "--to", last, "--confirm", "--expect-last", last])} records it, refusing if a migration was applied since; a deeper --to completes the revert, through its preview)`;
  }
  return `${taken}: an apply was interrupted; run ${commandToRun(print, ["apply"], "apply")} to complete it`;
}

/** Applied migrations against their files, and the live catalog against the snapshot apply recorded. Read-only. */
export async function verifyRelease(options: ReleaseOptions): Promise<VerifyReport> {
  return withConnection(options, "verify", (client) => verifyWith(client, options));
}

/**
 * How many times verify reads when a release ends while it reads (core/release-records-mark.ts): each read
 * takes a fraction of a second, so more than one release ending in each of them is a deploy loop.
 */
const VERIFY_READS = 3;

export async function verifyWith(client: ClientBase, options: ReleaseOptions): Promise<VerifyReport> {
  for (let read = 1; ; read++) {
    const report = await verifyOnce(client, options, read === VERIFY_READS);
    if (report) return report;
  }
}

/**
 * One read of verify; undefined when a release ended while it read (what it compared mixed the schema before
 * that release with the schema after), unless `last`: then the report says the schema was not compared.
 */
async function verifyOnce(
  client: ClientBase,
  options: ReleaseOptions,
  last: boolean,
): Promise<VerifyReport | undefined> {
  const release = await runningRelease(client);
  const state = await readMigrationState(client, options);
  const snapshot = await readSnapshot(client);
  const ledgerLast = state.ledger.at(-1)?.name ?? null;
  let drift: VerifyReport["drift"];
  let lost: LedgerProblem[] = [];
  const nothingCompared = { added: [], removed: [], changed: [], repairs: {} };
  if (release) {
    drift = {
      ...nothingCompared,
      snapshotTakenAt: snapshot?.takenAt ?? null,
      note: releaseRunningNote(release, options.printCommand),
    };
  } else if (!snapshot) {
    // Migrations commit one by one and the snapshot comes last: a first apply that stopped half-way leaves
    // a ledger without a snapshot, which is not "nothing applied".
    // The Prisma-era database has no release either, and is named with its path, which plain apply refuses.
    const note = ledgerLast
      ? `${state.ledger.length} migration(s) applied, up to ${ledgerLast}, but no apply has finished yet: an apply was interrupted; run ${commandToRun(options.printCommand, ["apply"], "apply")} to complete it`
      : (await isLegacyDatabase(client))
        ? legacyNotUpgradedText(options.printCommand)
        : "no release applied yet";
    drift = { ...nothingCompared, snapshotTakenAt: null, note };
  } else {
    // A last row deleted by hand reads as an interrupted revert, unless the lost rows' objects are there: then
    // the schema is as the snapshot recorded it, and it is compared.
    lost = await lostLastRows(client, state.ledger, state.comparison.pending, {
      snapshotLast: snapshot.lastMigration,
      print: options.printCommand,
    });
    const note =
      lost.length > 0
        ? undefined
        : snapshotLedgerNote(snapshot.lastMigration, state.ledger, options.printCommand);
    const readFirst = releaseRecordsMark(state.ledger, snapshot.takenAt);
    // What verify read is one state of the release's records when no release runs now and none ended since:
    // read only when something differs (a clean verify costs no extra round trip).
    const releaseMeanwhile = async (): Promise<VerifyReport | "read again" | undefined> => {
      const now = await readReleaseRecordsNow(client);
      if (now.release) {
        const note = releaseRunningNote(now.release, options.printCommand);
        return verifyReport(
          options,
          state,
          lost,
          { ...nothingCompared, snapshotTakenAt: snapshot.takenAt, note },
          now.release,
        );
      }
      if (sameReleaseRecords(readFirst, now.mark)) return undefined;
      if (!last) return "read again";
      const note = `releases ended while verify read, ${VERIFY_READS} times: the schema was not compared with the recorded snapshot, which each of them replaced (what one of them did would read as drift); run ${commandToRun(options.printCommand, ["verify"])} again once no release runs`;
      return {
        ...verifyReport(
          options,
          state,
          lost,
          { ...nothingCompared, snapshotTakenAt: now.mark.snapshotTakenAt, note },
          undefined,
        ),
        releasesEnded: VERIFY_READS,
      };
    };
    if (note !== undefined && !snapshotIsComparable(snapshot.lastMigration, ledgerLast)) {
      const meanwhile = await releaseMeanwhile();
      if (meanwhile === "read again") return undefined;
      if (meanwhile) return meanwhile;
      drift = {
        ...nothingCompared,
        snapshotTakenAt: snapshot.takenAt,
        note: `${note}. The schema was not compared with that snapshot: it differs by what the interruption committed or reverted, which is the release's doing, not drift (no repair may undo it); verify compares again once the release is completed`,
      };
    } else {
      const { repairs, ...diff } = compareWithRecorded(snapshot, await takeSnapshot(client));
      // A release that started after the first look, running or ended: its work, not drift.
      if (diff.added.length + diff.removed.length + diff.changed.length > 0) {
        const meanwhile = await releaseMeanwhile();
        if (meanwhile === "read again") return undefined;
        if (meanwhile) return meanwhile;
      }
      const formatNote =
        snapshot.format < SNAPSHOT_FORMAT
          ? "the recorded snapshot predates owners, grants, default privileges, storage settings and extension versions: only the schema's shape was compared; the next apply records the fuller snapshot"
          : undefined;
      // Read only when there is drift: a clean verify costs no extra round trip.
      const missingRoles =
        diff.removed.length + diff.changed.length > 0
          ? await rolesMissing(client, rolesOfRepairs(snapshot.objects, diff))
          : [];
      drift = {
        ...diff,
        snapshotTakenAt: snapshot.takenAt,
        note,
        repairs,
        ...(formatNote ? { formatNote } : {}),
        ...(missingRoles.length > 0 ? { missingRoles, rolesNote: missingRolesNote(missingRoles) } : {}),
      };
    }
  }
  return verifyReport(options, state, lost, drift, release);
}

function verifyReport(
  options: ReleaseOptions,
  state: MigrationState,
  lost: readonly LedgerProblem[],
  drift: VerifyReport["drift"],
  release: ReleaseInProgress | undefined,
): VerifyReport {
  const driftCount = drift.added.length + drift.removed.length + drift.changed.length;
  return {
    database: redactUrl(options.databaseUrl),
    clean:
      state.comparison.problems.length === 0 &&
      lost.length === 0 &&
      driftCount === 0 &&
      drift.note === undefined,
    problems: [...state.comparison.problems, ...lost],
    drift,
    ...inProgress(release),
  };
}

/** Another session's release holding the release lock, read without waiting; undefined when none runs. */
async function runningRelease(client: ClientBase): Promise<ReleaseInProgress | undefined> {
  return (await releaseLockHolders(client)).releaseInProgress;
}

/**
 * Why verify did not compare the schema while another session's release runs: the release changes it before
 * it records the snapshot, last, and a repair would undo its work (an index it built, say, named as drift with
 * its DROP INDEX).
 */
function releaseRunningNote(release: ReleaseInProgress, print: CommandPrinter | undefined): string {
  return (
    `a release is in progress (pid ${release.pid}, application "${release.applicationName}"): the schema was not compared with the recorded snapshot, ` +
    `from which it differs by what that release has done so far and records when it ends, which is its doing, not drift (no repair may undo it); ` +
    `run ${commandToRun(print, ["verify"])} again once it has finished`
  );
}
