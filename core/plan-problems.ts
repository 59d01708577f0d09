// Every reason apply would refuse a plan, in one list: the plan's top-level `problems`. Each section keeps its
// own detail (the ledger's problems under `migrations`, the lint's findings under `safety`, a seed set's
// schema mismatch on its item); this list is what a machine reads to learn whether the plan is blocked and
// why, so that no section's problem can be missed by reading the top level. plan's exit code, its closing
// line and `--json` all read it (planIsBlocked).
import { ledgerProblemText } from "./display";
import { driftPlanProblems, type DriftBeforeRelease } from "./drift-before-release";
import { ReleaseError, isReleaseError } from "./errors";
import type { CreatePrivilegeProblem } from "./acting-owner";
import { PGVECTOR_MISSING, type ExtensionProblem } from "./extensions";
import { describeFinding, refuseUnsafeMigrations, safetyErrorsFix, type SafetyReport } from "./lint";
import type { LedgerProblem } from "./migrations/ledger";
import type { DOWN_LEFT_BEHIND_KIND } from "./migrations/created-objects";
import type { ReleaseLockPrepared } from "./lock";
import { describePreparedTransaction } from "./lock-safety/prepared-transactions";
import type { CommandPrinter } from "./command-to-run";
import type { StepItemPlan } from "./results";

export interface PlanProblem {
  /**
   * Where the plan shows it in detail: `migrations.problems`, `safety.findings`, `seedSets`, `drift` (the schema
   * changed by hand since the last release, core/drift-before-release.ts), `releaseLock` (`releaseLockPrepared`);
   * `server`: none.
   */
  section: "server" | "migrations" | "safety" | "seedSets" | "drift" | "releaseLock";
  /**
   * A ledger problem's kind, or `missing-pgvector`, `missing-create-privilege`, `unsafe-migration`,
   * `seed-set-unfit`, `schema-drift`, `release-lock-prepared`, `down-leaves-behind` (a revert's Down section that
   * left behind what its Up section created, core/migrations/created-objects.ts).
   */
  kind:
    | LedgerProblem["kind"]
    | "missing-pgvector"
    | "missing-create-privilege"
    | "unsafe-migration"
    | "seed-set-unfit"
    | "schema-drift"
    | "release-lock-prepared"
    | typeof DOWN_LEFT_BEHIND_KIND;
  message: string;
  fix: string;
}

export function planProblems(parts: {
  pgvectorMissing: boolean;
  /** Extensions the pending migrations create that the role they run as may not (core/extensions.ts). */
  extensions: readonly ExtensionProblem[];
  /** A first apply's role that may not create in the release's schema or the database (core/acting-owner.ts). */
  createPrivileges?: CreatePrivilegeProblem;
  ledger: readonly LedgerProblem[];
  safety: SafetyReport;
  seedSets: readonly StepItemPlan[];
  /** Drift since the last release, checked when the plan changes something (empty otherwise). */
  drift: readonly DriftBeforeRelease[];
  /** A seed set that needs what the schema lacks fits only if a pending migration brings it. */
  migrationsPending: boolean;
  /** How a fix prints a command to run on this database (ReleaseOptions.printCommand). */
  print?: CommandPrinter;
  /** A prepared transaction holding the release lock, which apply would wait for and fail on. */
  releaseLockPrepared?: ReleaseLockPrepared;
}): PlanProblem[] {
  return [
    ...(parts.pgvectorMissing ? [missingPgvectorProblem()] : []),
    ...extensionPlanProblems(
      parts.extensions.filter((e) => !parts.pgvectorMissing || e.extension !== "vector"),
    ),
    ...createPrivilegePlanProblems(parts.createPrivileges),
    ...(parts.releaseLockPrepared ? [releaseLockPreparedProblem(parts.releaseLockPrepared, "apply")] : []),
    ...ledgerPlanProblems(parts.ledger),
    ...safetyPlanProblems(parts.safety),
    ...(parts.migrationsPending ? [] : seedSetPlanProblems(parts.seedSets)),
    ...driftPlanProblems(parts.drift, parts.print),
  ];
}

// Each section's part of the list, also what apply's refusal of that section carries (`error.problems` in
// `--json`, core/errors.ts): apply refuses on the same problems, listed by the same functions.

export function missingPgvectorProblem(): PlanProblem {
  return {
    section: "server",
    kind: "missing-pgvector",
    message: PGVECTOR_MISSING,
    fix: "Install pgvector on the server as the message says, then run the release again.",
  };
}

/** The refusal of a server without pgvector, before the release takes its lock. */
export function missingPgvectorError(): ReleaseError {
  const problem = missingPgvectorProblem();
  return new ReleaseError("missing-pgvector", problem.message, problem.fix, { problems: [problem] });
}

/**
 * An extension the first migration would create, which the role the migrations run as may not create (pgvector
 * is not trusted: a superuser's, or rds_superuser's on RDS). Apply refuses it before anything is written,
 * where the migration would fail only after the release's bookkeeping was created.
 */
export function extensionPlanProblems(extensions: readonly ExtensionProblem[]): PlanProblem[] {
  return extensions.map(
    ({ message, fix }): PlanProblem => ({ section: "server", kind: "missing-pgvector", message, fix }),
  );
}

/** apply's refusal of extensionPlanProblems, before its first write. */
export function refuseUncreatableExtensions(extensions: readonly ExtensionProblem[]): void {
  const problems = extensionPlanProblems(extensions);
  if (problems.length === 0) return;
  throw new ReleaseError(
    "missing-pgvector",
    problems.map((p) => p.message).join(" "),
    problems.map((p) => p.fix).join(" "),
    { problems },
  );
}

/** A first apply's role that may not create what the release creates (firstApplyPrivilegeProblem). */
export function createPrivilegePlanProblems(problem: CreatePrivilegeProblem | undefined): PlanProblem[] {
  return problem ? [{ section: "server", kind: "missing-create-privilege", ...problem }] : [];
}

/** apply's refusal of createPrivilegePlanProblems, before its first write. */
export function refuseMissingCreatePrivileges(problem: CreatePrivilegeProblem | undefined): void {
  if (!problem) return;
  throw new ReleaseError("permission", problem.message, problem.fix, {
    problems: createPrivilegePlanProblems(problem),
  });
}

/**
 * A prepared transaction holding the release lock, as plan and the revert preview count it: unlike another
 * session's release, which ends and lets the command through, it never finishes by itself, so `command` would
 * wait its lock timeout for it and fail (core/lock.ts). An operator must finish it first: the plan is blocked.
 */
export function releaseLockPreparedProblem(prepared: ReleaseLockPrepared, command: string): PlanProblem {
  return {
    section: "releaseLock",
    kind: "release-lock-prepared",
    message: `the release lock is held by ${describePreparedTransaction(prepared)}, not by a release: ${command} would wait for it and fail, as long as it is not finished.`,
    fix: prepared.fix,
  };
}

export function ledgerPlanProblems(ledger: readonly LedgerProblem[]): PlanProblem[] {
  return ledger.map(
    (p): PlanProblem => ({ section: "migrations", kind: p.kind, message: ledgerProblemText(p), fix: p.fix }),
  );
}

export function safetyPlanProblems(safety: SafetyReport): PlanProblem[] {
  return safety.findings
    .filter((f) => f.level === "error")
    .map(
      (f): PlanProblem => ({
        section: "safety",
        kind: "unsafe-migration",
        message: describeFinding(f),
        fix: safetyErrorsFix([f]),
      }),
    );
}

/** The safety lint's refusal (core/lint/) of apply's Up sections or revert's Down sections, carrying its errors
 *  as plan (or revert's preview) lists them. */
export function refuseSafetyErrors(safety: SafetyReport): void {
  try {
    refuseUnsafeMigrations(safety);
  } catch (error) {
    throw isReleaseError(error) ? error.withProblems(safetyPlanProblems(safety)) : error;
  }
}

function seedSetPlanProblems(seedSets: readonly StepItemPlan[]): PlanProblem[] {
  return seedSets
    .filter((item) => item.schemaMismatch?.length)
    .map(
      (item): PlanProblem => ({
        section: "seedSets",
        kind: "seed-set-unfit",
        message: `seed set "${item.name}" does not fit the schema: ${item.schemaMismatch!.join("; ")}, and no migration is pending.`,
        fix: "Fix the table or column names in its files to match the migrations.",
      }),
    );
}
