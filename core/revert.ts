// Reverting a release: the Down sections of the migrations applied after a given one, newest first, under the
// release lock, as the owner role. Used by `neonhub-db revert --to <name>` and by the stack's
// dropSchemaOnDelete path (which reverts everything and then drops the engine's own schema).
import type { ClientBase } from "pg";
import { lostLastRows } from "./adopt/lost-last-rows";
import { BOOKKEEPING_SCHEMA, bookkeepingExists } from "./bookkeeping";
import { closestName } from "./closest-name";
import { displayChecksumPair, ledgerProblemText } from "./display";
import { redactUrl, targetOf } from "./dsn";
import { ReleaseError, joinFixes } from "./errors";
import {
  acquireReleaseLock,
  releaseLockHolders,
  type ReleaseInProgress,
  type ReleaseLockPrepared,
  type ReleaseLockWait,
} from "./lock";
import { openMonitorInBackground, type MonitorConnection } from "./lock-safety/monitor-connection";
import { endSessionWithClient } from "./lock-safety/session";
import { resolveLockSafety } from "./lock-safety/settings";
import { silentLogger, type Logger } from "./logger";
import { migrationsFolder, readMigrationFiles, type MigrationFile } from "./migrations/files";
import { compareWithLedger, readLedger, type LedgerEntry, type LedgerProblem } from "./migrations/ledger";
import {
  CORRECTED_DOWN_FLAG,
  judgeChangedFile,
  readUpChecksums,
  recordUpChecksums,
  type CorrectedDown,
  type UpChecksums,
} from "./migrations/corrected-down";
import { dropsOf } from "./migrations/drops";
import {
  checkDriftBeforeRelease,
  driftBeforeRelease,
  driftPlanProblems,
  type DriftBeforeRelease,
} from "./drift-before-release";
import { readsBeforeFirstWrite } from "./reads-before-first-write";
import { shellWord } from "./shell-word";
import { revertPreviewText, revertRerun } from "./revert-preview";
import { commandToRun, type CommandPrinter } from "./command-to-run";
import { lintMigrations, logSafetyWarnings, type SafetyReport } from "./lint";
import {
  ledgerPlanProblems,
  releaseLockPreparedProblem,
  refuseSafetyErrors,
  safetyPlanProblems,
  type PlanProblem,
} from "./plan-problems";
import { runRevert } from "./migrations/revert";
import { type ReleaseOptions } from "./release";
import type { MigrationResult } from "./results";
import { readSnapshot, recordSnapshot } from "./snapshot";
import { readAsOwnerRole, setOwnerRole } from "./owner-role";
import { refuseActingAsAnotherOwner } from "./acting-owner";
import { lockWaitWordsFor } from "./lock-safety/wait-names";

export interface RevertRequest {
  /** Keep this migration and those before it; revert every later one. `null`: revert every migration. */
  to: string | null;
  /**
   * Migrations to revert with their Down section as the file has it now, although the file changed since it
   * was applied: accepted only while the Up section is the applied one (core/migrations/corrected-down.ts).
   */
  correctedDown?: readonly string[];
  /**
   * The migration the ledger must end at, as the operator's preview showed it (`--expect-last`): any other
   * last migration under the lock is refused, nothing reverted (refuseMovedLedger). Unset: no such check, as
   * for the stack's dropSchemaOnDelete and scripts that confirm without a preview.
   */
  expectLast?: string;
  /** Also drop the engine's own schema (ledger, records, snapshot) once nothing is applied. */
  dropBookkeeping?: boolean;
  /** Told each migration as its Down section starts, and `undefined` once none runs (what an interruption names). */
  onMigrationRunning?: (migration: string | undefined) => void;
  /** Told when it waits for another release's lock, and `undefined` once it holds it. */
  onReleaseLockWait?: (wait: ReleaseLockWait | undefined) => void;
}

export interface RevertItem {
  name: string;
  appliedAt: string;
  /**
   * What reverting it removes: its Down section's DROP, TRUNCATE and DELETE statements and the columns it
   * drops (`ALTER TABLE "Chunk" DROP COLUMN "embeddingBits"`), as written (core/migrations/drops.ts).
   */
  drops: string[];
  /** Set when it is reverted with its corrected Down section: the file's checksum as applied and now. */
  correctedDown?: CorrectedDown;
}

export interface RevertPlan {
  database: string;
  to: string | null;
  /** Newest first: the order they are reverted in. */
  migrations: RevertItem[];
  /** Applied migrations to revert whose file changed or is gone: the Down section would not be the applied one. */
  problems: LedgerProblem[];
  /** The ledger's last migration as the preview read it: what `revert --confirm --expect-last` checks. */
  lastMigration: string | null;
  /** The migration the ledger ends at once the revert is done. */
  lastMigrationAfter: string | null;
  /**
   * What was changed by hand since the last release, which revert --confirm checks before its first write
   * (core/drift-before-release.ts): those it refuses make the plan blocked (revertPlanBlocked). Read only
   * when there is something to revert, else empty.
   */
  drift: DriftBeforeRelease[];
  /** The safety lint of the Down sections to revert, as revert --confirm lints them before its first write. */
  safety: SafetyReport;
  /**
   * Another session's release holding the release lock, as plan and status name it: the preview shows what it
   * has committed so far, and the confirm waits for it (and refuses what it applied: --expect-last).
   */
  releaseInProgress?: ReleaseInProgress;
  /** A prepared transaction holding the release lock, which the confirm would wait for and fail on. */
  releaseLockPrepared?: ReleaseLockPrepared;
}

/**
 * Every reason revert --confirm would refuse what the plan shows, in the shape of plan's top-level `problems`
 * (core/plan-problems.ts): a prepared transaction holding the release lock, a ledger problem, an error of the
 * safety lint, drift it does not take over. The
 * preview's `--json` holds them as its own top-level `problems`, so that CI reads why it exits 1 in one list,
 * as it reads a plan's, and not from three sections.
 */
export function revertPlanProblems(plan: RevertPlan): PlanProblem[] {
  return [
    ...(plan.releaseLockPrepared
      ? [releaseLockPreparedProblem(plan.releaseLockPrepared, "revert --confirm")]
      : []),
    ...ledgerPlanProblems(plan.problems),
    ...safetyPlanProblems(plan.safety),
    ...driftPlanProblems(plan.drift),
  ];
}

/** Whether revert --confirm would refuse what the plan shows (revertPlanProblems). */
export function revertPlanBlocked(plan: RevertPlan): boolean {
  return revertPlanProblems(plan).length > 0;
}

/**
 * The safety lint of the Down sections a revert runs, newest first, as apply lints its Up sections: the same
 * rules, environment and exemptions (core/lint/). Read-only.
 */
function lintDownSections(
  client: ClientBase,
  newestFirst: readonly MigrationFile[],
  options: ReleaseOptions,
): Promise<SafetyReport> {
  return lintMigrations(client, newestFirst, { environment: options.environment, runs: "down" });
}

export interface RevertResult {
  database: string;
  to: string | null;
  /**
   * Newest first, each with its file's full sha256 and time (`outcome: "reverted"`), and `correctedDown` when
   * its Down section was the corrected one.
   */
  reverted: (MigrationResult & { correctedDown?: CorrectedDown })[];
  droppedBookkeeping: boolean;
  lastMigration: string | null;
  durationMs: number;
}

/** What planRevertFrom needs: the files, the ledger with its Up-section checksums, and the request. */
export interface RevertInputs {
  files: readonly MigrationFile[];
  /** The migrations folder as the user named it, for the fixes that name a file in it. */
  folder: string;
  ledger: readonly LedgerEntry[];
  upChecksums: UpChecksums;
  to: string | null;
  correctedDown?: readonly string[];
  /** How a fix prints a command to run on this database (ReleaseOptions.printCommand). */
  print?: CommandPrinter;
}

/** How many ledger rows a revert to `to` keeps (every row before `to`'s, and its own); undefined: not applied. */
function keptBy(ledger: readonly LedgerEntry[], to: string | null): number | undefined {
  const wanted = to?.replace(/\.sql$/, "") ?? null;
  if (wanted === null) return 0;
  const index = ledger.findIndex((e) => e.name === wanted);
  return index < 0 ? undefined : index + 1;
}

/** Which applied migrations a revert to `to` undoes, newest first, and what stops it. Pure. */
export function planRevertFrom(inputs: RevertInputs): {
  items: RevertItem[];
  problems: LedgerProblem[];
  newestFirst: MigrationFile[];
} {
  const { files, ledger, to } = inputs;
  const wanted = to?.replace(/\.sql$/, "") ?? null;
  const keep = keptBy(ledger, to);
  if (keep === undefined) {
    const applied = ledger.map((e) => e.name);
    // Only a named migration can be missing from the ledger: `wanted` is set.
    const near = closestName(wanted!, applied);
    throw new ReleaseError(
      "invalid-input",
      `--to "${to}" is not a migration this database applied.`,
      applied.length === 0
        ? "Nothing is applied on this database: there is nothing to revert."
        : near
          ? `Did you mean ${near}? ${commandToRun(inputs.print, ["status"])} lists the applied migrations.`
          : `Name an applied migration (without .sql); the last applied are: ${applied.slice(-5).join(", ")}. ${commandToRun(inputs.print, ["status"])} lists them all.`,
    );
  }
  const toRevert = ledger.slice(keep).reverse();
  const names = new Set(toRevert.map((e) => e.name));
  const byName = new Map(files.map((f) => [f.name, f]));
  const named = new Set((inputs.correctedDown ?? []).map((n) => n.replace(/\.sql$/, "")));
  const problems: LedgerProblem[] = [];
  const accepted = new Map<string, CorrectedDown>();
  for (const problem of compareWithLedger(files, ledger, inputs.folder, [], inputs.print).problems) {
    // A migration whose row was deleted among those to revert would keep its changes while the ledger says
    // the revert went past it: its row goes back first.
    const lostAmongReverted =
      problem.kind === "missing-from-ledger" && (wanted === null || problem.migration > wanted);
    if (lostAmongReverted) {
      problems.push(problem);
      continue;
    }
    if (problem.kind === "out-of-order" || !names.has(problem.migration)) continue;
    const file = byName.get(problem.migration);
    if (problem.kind !== "changed" || !file) {
      problems.push(problem);
      continue;
    }
    const judged = judgeChangedFile(problem, file, inputs.upChecksums, named.has(file.name), inputs.folder);
    if ("accepted" in judged) accepted.set(file.name, judged.accepted);
    else problems.push(judged.problem);
  }
  refuseNeedlessCorrections(named, names, accepted, problems);
  const newestFirst = toRevert.flatMap((e) => byName.get(e.name) ?? []);
  const items = toRevert.map((e) => {
    const file = byName.get(e.name);
    const correctedDown = accepted.get(e.name);
    return {
      name: e.name,
      appliedAt: e.appliedAt,
      drops: file ? dropsOf(file) : [],
      ...(correctedDown ? { correctedDown } : {}),
    };
  });
  return { items, problems, newestFirst };
}

/**
 * A --corrected-down that names no migration this revert undoes, or one whose file is the applied one, is a
 * mistake (a typo, the wrong --to): refused rather than ignored.
 */
function refuseNeedlessCorrections(
  named: ReadonlySet<string>,
  toRevert: ReadonlySet<string>,
  accepted: ReadonlyMap<string, CorrectedDown>,
  problems: readonly LedgerProblem[],
): void {
  for (const name of named) {
    if (accepted.has(name) || problems.some((p) => p.migration === name)) continue;
    // As the operator gave it (a path, a name with a quote or a space), quoted as every printed command is.
    const given = `${CORRECTED_DOWN_FLAG} ${shellWord(name)}`;
    throw new ReleaseError(
      "invalid-input",
      toRevert.has(name)
        ? `${given}: its file is the applied one, so there is no corrected Down section to accept.`
        : `${given}: it is not among the migrations this revert undoes.`,
      `Leave ${given} out, or name a migration to revert whose Down section was corrected since it was applied.`,
    );
  }
}

/**
 * What `revert` would do. Read-only: no lock, nothing written. It reads what revert --confirm reads before its
 * first write, as the role the confirm acts as (--owner-role, put back afterwards), and waits for a table lock
 * as long (core/reads-before-first-write.ts).
 */
export async function planRevertWith(
  client: ClientBase,
  options: ReleaseOptions,
  to: string | null,
  correctedDown: readonly string[] = [],
): Promise<RevertPlan> {
  const files = readMigrationFiles(options);
  // revert --confirm acts as the owner role (SET ROLE), and so does its preview: it refuses a role the confirm
  // could not act as, and reads what the confirm reads as it. The login alone may read otherwise: a member of
  // the role without INHERIT may not read the release's records.
  return readAsOwnerRole(client, options.ownerRole, () =>
    planRevertActing(client, options, files, to, correctedDown),
  );
}

/** planRevertWith, in a session acting as the role revert --confirm acts as (options.ownerRole, or current_user). */
async function planRevertActing(
  client: ClientBase,
  options: ReleaseOptions,
  files: MigrationFile[],
  to: string | null,
  correctedDown: readonly string[],
): Promise<RevertPlan> {
  // Down sections that would create objects as another role than the release's owner: refused as the confirm
  // refuses them.
  await refuseActingAsAnotherOwner(client, "revert --confirm", { ownerRole: options.ownerRole });
  return readsBeforeFirstWrite(client, options, "revert", async () => {
    // Before the ledger, as plan's probe reads it: what follows is what that release had committed.
    const holders = await releaseLockHolders(client);
    const ledger = await readLedger(client);
    const upChecksums = ledger.length > 0 ? await readUpChecksums(client) : new Map();
    const { items, problems, newestFirst } = planRevertFrom({
      files,
      folder: migrationsFolder(options),
      ledger,
      upChecksums,
      to,
      correctedDown,
      print: options.printCommand,
    });
    problems.push(
      ...(await lostLastRowsOf(client, files, ledger, migrationsFolder(options), options.printCommand)),
    );
    const drift =
      items.length > 0 ? await driftBeforeRelease(client, ledger.at(-1)?.name ?? null, "revert") : [];
    return {
      database: redactUrl(options.databaseUrl),
      to,
      migrations: items,
      problems,
      lastMigration: ledger.at(-1)?.name ?? null,
      lastMigrationAfter: ledger.at(-1 - items.length)?.name ?? null,
      drift,
      safety: await lintDownSections(client, newestFirst, options),
      ...holders,
    };
  });
}

/**
 * Migrations after the ledger's last row whose rows were deleted by hand (core/adopt/lost-last-rows.ts): their
 * changes are in place, so a revert, which goes back from the ledger's last row, would leave them while its
 * snapshot recorded them as the state the ledger ends at. Refused like a row lost between two applied ones.
 */
async function lostLastRowsOf(
  client: ClientBase,
  files: readonly MigrationFile[],
  ledger: readonly LedgerEntry[],
  folder: string,
  print: CommandPrinter | undefined,
): Promise<LedgerProblem[]> {
  if (ledger.length === 0) return [];
  return lostLastRows(client, ledger, compareWithLedger(files, ledger, folder).pending, { print });
}

/** The migrations a revert to `to` undoes in `ledger`, by name; none when `to` is not in it. Pure. */
function namesToRevert(ledger: readonly LedgerEntry[], to: string | null): Set<string> {
  const keep = keptBy(ledger, to);
  return new Set(keep === undefined ? [] : ledger.slice(keep).map((e) => e.name));
}

/**
 * Refuses a revert that would undo a migration it did not see to revert when it started: applied meanwhile by a
 * release it waited behind for the lock. The operator confirmed what the preview showed; a migration committed
 * since is someone's deploy, and its Down section would run unseen. Fewer than at the start (another revert
 * took some out meanwhile) goes on: each is one the operator confirmed.
 */
function refuseUnseen(items: readonly RevertItem[], atStart: ReadonlySet<string>, preview: string): void {
  const unseen = items.filter((item) => !atStart.has(item.name)).map((item) => item.name);
  if (unseen.length === 0) return;
  throw new ReleaseError(
    "ledger-mismatch",
    `Refusing to revert: ${unseen.length === 1 ? "migration" : "migrations"} ${unseen.join(", ")} ${unseen.length === 1 ? "was" : "were"} applied after this revert started (by a release it waited for), so ${unseen.length === 1 ? "it was" : "they were"} not in what it set out to revert.`,
    `Nothing was reverted. Run ${preview} again to see what a revert undoes now, then confirm that.`,
  );
}

/**
 * An --expect-last that names no migration file is a typo or a name from another project: refused before
 * anything is read from the database, with the closest file's name.
 */
function checkExpectLastNamesAFile(
  expectLast: string,
  files: readonly MigrationFile[],
  preview: string,
): void {
  const wanted = expectLast.replace(/\.sql$/, "");
  if (files.some((f) => f.name === wanted)) return;
  const near = closestName(
    wanted,
    files.map((f) => f.name),
  );
  throw new ReleaseError(
    "invalid-input",
    `--expect-last "${expectLast}" is not a migration file in the migrations folder.`,
    `${near ? `Did you mean ${near}? ` : ""}Give the ledger's last migration as the revert's preview prints it: run ${preview}, which prints the command to run.`,
  );
}

/**
 * Refuses a confirm whose ledger no longer ends where the operator's preview saw it end (--expect-last): a
 * deploy or another revert since the preview changed what this revert would undo, or what it would leave.
 * Checked under the lock, on the ledger the revert acts on, so nothing moves between the check and the Down
 * sections. The message says what the ledger holds, true also of an --expect-last typed by hand, which names
 * a migration no preview showed.
 */
function refuseMovedLedger(
  ledger: readonly LedgerEntry[],
  expectLast: string | undefined,
  preview: string,
): void {
  if (expectLast === undefined) return;
  const expected = expectLast.replace(/\.sql$/, "");
  const last = ledger.at(-1)?.name ?? null;
  if (last === expected) return;
  const index = ledger.findIndex((e) => e.name === expected);
  const since = index < 0 ? [] : ledger.slice(index + 1).map((e) => e.name);
  const what =
    index < 0
      ? `${expected} is not applied (reverted since the preview, by another revert or by this one before it was stopped; or never applied here)`
      : `${since.length === 1 ? "migration" : "migrations"} ${since.join(", ")} ${since.length === 1 ? "was" : "were"} applied after ${expected}`;
  throw new ReleaseError(
    "ledger-mismatch",
    `Refusing to revert: the ledger ends at ${last ?? "no migration"}, not at ${expected} (--expect-last): ${what}.`,
    `Nothing was reverted. Run ${preview} to see what a revert undoes now, then run the confirm command it prints.`,
  );
}

/**
 * Reverts under the release lock; the ledger is read once the lock is held, and must end at
 * `request.expectLast` when given (refuseMovedLedger), and the migrations to revert must be among those the
 * ledger listed to revert as the command started (refuseUnseen).
 */
export async function revertWith(
  client: ClientBase,
  options: ReleaseOptions,
  request: RevertRequest,
): Promise<RevertResult> {
  const log = options.log ?? silentLogger;
  const started = Date.now();
  const files = readMigrationFiles(options);
  const preview = revertPreviewText(options.revertPreview, request.to);
  if (request.expectLast !== undefined) checkExpectLastNamesAFile(request.expectLast, files, preview);
  if (options.ownerRole) await setOwnerRole(client, options.ownerRole);
  // Down sections that would create objects as another role than the release's owner: refused before any write.
  await refuseActingAsAnotherOwner(client, "revert --confirm", { ownerRole: options.ownerRole });
  // A Ctrl-C'd revert's session ends within seconds, rolling back the Down section it was running and
  // releasing the lock, rather than when that section is done.
  await endSessionWithClient(client);
  // What it sets out to revert, read before it may wait for another release's lock.
  const atStart = namesToRevert(
    await readsBeforeFirstWrite(client, { ...options, log }, "revert", () => readLedger(client)),
    request.to,
  );
  const unlock = await acquireReleaseLock(client, {
    timeoutMs: options.lockTimeoutMs,
    lockWaitNames: lockWaitWordsFor(options, "revert"),
    log,
    onWait: request.onReleaseLockWait,
  });
  let monitor: MonitorConnection | undefined;
  try {
    // Everything read before the first write waits for a table lock at most --migration-lock-timeout
    // (core/reads-before-first-write.ts).
    const { released, ledger, upChecksums, items, newestFirst } = await readsBeforeFirstWrite(
      client,
      { ...options, log },
      "revert",
      async () => {
        const released = await bookkeepingExists(client);
        const ledger = released ? await readLedger(client) : [];
        // Before --to is looked up: a revert since the preview may have taken --to out of the ledger.
        refuseMovedLedger(ledger, request.expectLast, preview);
        const upChecksums: UpChecksums = ledger.length > 0 ? await readUpChecksums(client) : new Map();
        const { items, problems, newestFirst } = planRevertFrom({
          files,
          folder: migrationsFolder(options),
          ledger,
          upChecksums,
          to: request.to,
          correctedDown: request.correctedDown,
          print: options.printCommand,
        });
        refuseUnseen(items, atStart, preview);
        problems.push(
          ...(await lostLastRowsOf(client, files, ledger, migrationsFolder(options), options.printCommand)),
        );
        if (problems.length > 0) {
          throw new ReleaseError(
            "ledger-mismatch",
            `Refusing to revert: the Down sections must be the applied ones (or corrected, with the Up section as applied), and the ledger must record every migration the revert goes past.\n${problems.map((p) => `- ${ledgerProblemText(p)}`).join("\n")}`,
            joinFixes(problems.map((p) => p.fix)),
            { problems: ledgerPlanProblems(problems) },
          );
        }
        // The Down sections it runs, linted as apply lints its Up sections: their errors are refused before the
        // first write (not even the Up sections' checksums), their warnings said as apply says its own.
        const safety = await lintDownSections(client, newestFirst, options);
        refuseSafetyErrors(safety);
        logSafetyWarnings(safety, log);
        // The snapshot recorded after the Down sections is the live catalog's: a change made by hand since
        // the last release would become what the release created. Refused before the first write, as apply
        // does (core/drift-before-release.ts). Dropping the bookkeeping records no snapshot.
        if (items.length > 0 && !request.dropBookkeeping) {
          const drift = await driftBeforeRelease(client, ledger.at(-1)?.name ?? null, "revert");
          checkDriftBeforeRelease(drift, log, "revert", options.printCommand);
        }
        return { released, ledger, upChecksums, items, newestFirst };
      },
    );
    // Before any Down section runs: one that fails can then be corrected and named with --corrected-down.
    await recordUpChecksums(client, newestFirst, ledger, upChecksums);
    const corrected = new Map(items.flatMap((i) => (i.correctedDown ? [[i.name, i.correctedDown]] : [])));
    for (const [name, sums] of corrected) {
      const [applied, file] = displayChecksumPair(sums.applied, sums.file);
      log.warn(
        `migration ${name}: reverting with its Down section corrected since it was applied (${CORRECTED_DOWN_FLAG}; file sha256 ${file}, applied ${applied}; its Up section is the applied one)`,
      );
    }
    // Each Down section waits for a table lock as apply's Up sections do (lock_timeout, retries), watched
    // from a second connection that names the session it waits for; it connects while they start.
    monitor =
      newestFirst.length > 0
        ? openMonitorInBackground(targetOf(options), {
            connectTimeoutMs: options.connectTimeoutMs,
            log,
            command: "revert",
          })
        : undefined;
    const reverted = await runRevert(client, {
      dir: options.migrationsDir,
      newestFirst,
      log,
      lockSafety: resolveLockSafety(options.lockSafety),
      monitor: monitor?.ready,
      onRunning: request.onMigrationRunning,
      lockWaitNames: lockWaitWordsFor(options, "revert"),
      print: options.printCommand,
      // A failed Down section's fixes name the revert to run again as the CLI ran it (commandAsRun), as its lock
      // timeout does; a stack's run (`pulumi destroy`) takes no --corrected-down, and its fixes keep the words.
      // One that fails after others committed leaves the ledger ending at its migration: then the rerun
      // confirms that, not the --expect-last this run was given.
      rerunAfter: (stillApplied) =>
        revertRerun(
          {
            expectLast: request.expectLast,
            confirmWith: options.revertConfirm,
            asRunWith: options.commandAsRunWith,
          },
          stillApplied,
          options.commandAsRun,
        ),
    }).catch(async (error: unknown) => {
      await snapshotAfterFailedRevert(client, ledger.length, log);
      throw error;
    });
    // Its session ends while the revert records what it did (awaited before returning).
    void monitor?.close();
    const lastMigration = ledger.at(-1 - reverted.length)?.name ?? null;
    let droppedBookkeeping = false;
    if (request.dropBookkeeping && released) {
      await client.query(`DROP SCHEMA ${BOOKKEEPING_SCHEMA} CASCADE`);
      droppedBookkeeping = true;
      log.info(`dropped the ${BOOKKEEPING_SCHEMA} schema`);
    } else if (reverted.length > 0 || (released && (await snapshotOfRevertedMigration(client, ledger)))) {
      // verify compares the live schema with the last recorded snapshot: it must describe what is left.
      await recordSnapshot(client, lastMigration ?? undefined);
    }
    return {
      database: redactUrl(options.databaseUrl),
      to: request.to,
      reverted: reverted.map(({ name, checksum, durationMs }) => ({
        name,
        checksum,
        outcome: "reverted" as const,
        durationMs,
        ...(corrected.has(name) ? { correctedDown: corrected.get(name) } : {}),
      })),
      droppedBookkeeping,
      lastMigration,
      durationMs: Date.now() - started,
    };
  } finally {
    await monitor?.close();
    await unlock();
  }
}

/**
 * After a Down section failed (and rolled back), the snapshot of what the Down sections before it committed:
 * verify then compares the live schema with the ledger as it is, instead of reporting the reverted objects as
 * drift and the ledger as an interrupted apply. A failure to record it is logged, not raised: the Down
 * section's error is the one to report.
 */
async function snapshotAfterFailedRevert(
  client: ClientBase,
  ledgerBefore: number,
  log: Logger,
): Promise<void> {
  try {
    const ledger = await readLedger(client);
    if (ledger.length < ledgerBefore) await recordSnapshot(client, ledger.at(-1)?.name);
  } catch (error) {
    log.warn(
      `could not record the schema snapshot after the failed revert (${(error as Error).message}); run the revert again to record it`,
    );
  }
}

/**
 * Whether the recorded snapshot was taken after a migration the ledger no longer lists: a revert stopped
 * between a Down section's commit and its snapshot (killed, or a lost connection). Running the revert again
 * records it, even with nothing left to revert.
 */
async function snapshotOfRevertedMigration(
  client: ClientBase,
  ledger: readonly LedgerEntry[],
): Promise<boolean> {
  const last = (await readSnapshot(client))?.lastMigration;
  return last != null && !ledger.some((e) => e.name === last);
}
