// Drift that was there before a release changes anything. Apply records the live catalog as the release's
// snapshot once it changed something, so a hand's change made since the last release (a grant, an owner, a
// policy) would become "what the release created" and verify would go quiet on it, or even call its undoing
// drift. Before its first write, apply (and plan, for what apply would do) compares the live catalog with the
// recorded snapshot the way verify does (`compareWithRecorded`, also verify's), and refuses with the
// differences and verify's repair statements. A few kinds are settings an operator changes on purpose, or
// what an interrupted build of the release itself left: those are warnings, named, and the new snapshot
// records them (docs/runbook.md, "Drift before a release").
import type { ClientBase } from "pg";
import { commandToRun, type CommandPrinter } from "./command-to-run";
import { ReleaseError } from "./errors";
import type { Logger } from "./logger";
import type { PlanProblem } from "./plan-problems";
import {
  diffSnapshots,
  readSnapshot,
  snapshotOfFormat,
  takeSnapshot,
  type SchemaSnapshot,
  type SnapshotDiff,
} from "./snapshot";
import { repairStatements } from "./snapshot-repair";
import { shownObjectKey, shownSql } from "./shown-names";
import { REBUILD_LEFTOVER, isRebuildLeftover } from "./vector-indexes/spec";

/** The commands that record the live catalog as the snapshot after changing the schema. */
export type RecordingCommand = "apply" | "revert";

/** What verify and the release's check both compare: the live catalog against the recorded snapshot. */
export interface RecordedComparison extends SnapshotDiff {
  /** changed/removed/added object → the statement that restores what the release recorded, where one can. */
  repairs: Record<string, string>;
}

/** The live catalog against a recorded snapshot, on the kinds that snapshot's format recorded. */
export function compareWithRecorded(
  recorded: { format: number; objects: SchemaSnapshot },
  live: SchemaSnapshot,
): RecordedComparison {
  // A snapshot recorded before a kind was recorded says nothing about it: compare what it has.
  const compared = snapshotOfFormat(live, recorded.format);
  const diff = diffSnapshots(recorded.objects, compared);
  return { ...diff, repairs: repairStatements(recorded.objects, compared, diff) };
}

export interface DriftBeforeRelease {
  /** The snapshot key, as verify names it (`grant TABLE public."Agent" TO neonhub_app`). */
  object: string;
  change: "added" | "removed" | "changed";
  /** The statement(s) that restore what the release recorded (verify's); absent when none can. */
  repair?: string;
  /**
   * `refuse`: apply stops before any write; `warn`: apply goes on and the new snapshot records it; `restore`:
   * the release's own row-level security step sets it back (a table's flags), so nothing is adopted.
   */
  handling: "refuse" | "warn" | "restore";
  /**
   * For an owner changed away from the release's: the role that owns the object now (as the snapshot writes
   * it). The migrator may not take an object from a role it is not a member of (a restore as the admin with
   * --no-owner leaves every object the admin's), so that repair is that role's or a superuser's to run.
   */
  ownedBy?: string;
}

/**
 * The kinds apply warns about instead of refusing. Storage settings (autovacuum_enabled off for a bulk load,
 * a fillfactor) and the extensions' versions (a pgvector upgrade on the server) are an operator's on purpose
 * and no migration can own them. Indexes are also the release's steps' to build, rebuild and drop (vector,
 * count and search indexes; an interrupted CREATE INDEX CONCURRENTLY leaves one INVALID), which the same
 * apply builds again: a refusal would stop the release that repairs them. So are the listings the vector-index
 * step writes as functions (CREATE OR REPLACE in core/search/: tuning.ts, prefilter.ts, tenant-indexes.ts,
 * prefilter-graphs.ts), whose bodies are its calibration's data.
 */
const STEP_LISTINGS: ReadonlySet<string> = new Set(
  [
    "search_tuning_entries",
    "search_prefilter_entries",
    "search_tenant_indexes",
    "search_prefilter_graphs",
  ].map((name) => `function public.${name}()`),
);

/**
 * What an added snapshot key is when an interrupted rebuild of a vector index left it (`index
 * public.<name>_rebuild`, isRebuildLeftover: health's rule), in health's words; undefined for any other key.
 * No hand added it, and apply drops it rather than records it.
 */
export function rebuildLeftoverText(object: string): string | undefined {
  const [kind, path] = object.split(" ", 2);
  const name = path?.slice(path.indexOf(".") + 1);
  if (kind !== "index" || !name || !isRebuildLeftover(name)) return undefined;
  return `${shownObjectKey(object)} was ${REBUILD_LEFTOVER.problem}`;
}

function handlingOf(
  object: string,
  recorded: string | undefined,
  live: string | undefined,
  command: RecordingCommand,
): DriftBeforeRelease["handling"] {
  const kind = object.slice(0, object.indexOf(" "));
  // apply's vector-index step drops it before it builds anything; a revert runs no step, and records it.
  if (recorded === undefined && rebuildLeftoverText(object)) return command === "apply" ? "restore" : "warn";
  // A table's signature is `<relkind> rls=.. force=..`: with the kind unchanged only the flags differ, which
  // the row-level security step enforces as the release's mode says on every release that changes something.
  // A revert runs no step: it would record them, so they are refused like the rest.
  const relkind = (signature: string | undefined) => signature?.split(" ", 1)[0];
  if (kind === "table" && recorded !== undefined && relkind(recorded) === relkind(live)) {
    return command === "apply" ? "restore" : "refuse";
  }
  if (kind === "storage" || kind === "extension-version" || kind === "index") return "warn";
  if (STEP_LISTINGS.has(object)) return "warn";
  return "refuse";
}

/**
 * Whether a snapshot recorded after `recordedLast` describes the schema of a ledger ending at `ledgerLast`, so
 * that what differs from it is drift. One taken after another migration (an apply or a revert interrupted
 * before it recorded the snapshot) differs from the catalog by what the interruption committed: the release's
 * own objects, not drift, and no repair may undo them. verify names the interruption instead, and the release
 * that completes it records a new snapshot.
 */
export function snapshotIsComparable(recordedLast: string | null, ledgerLast: string | null): boolean {
  return recordedLast === ledgerLast;
}

/**
 * The differences between the live catalog and the snapshot the last release recorded; none when there is no
 * snapshot or it is not comparable (snapshotIsComparable). Three statements: the snapshot's table, the snapshot
 * (some 80 kB) and the live catalog.
 */
export async function driftBeforeRelease(
  client: ClientBase,
  ledgerLast: string | null,
  command: RecordingCommand = "apply",
): Promise<DriftBeforeRelease[]> {
  const recorded = await readSnapshot(client);
  if (!recorded || !snapshotIsComparable(recorded.lastMigration, ledgerLast)) return [];
  const live = await takeSnapshot(client);
  const comparison = compareWithRecorded(recorded, live);
  const of = (change: DriftBeforeRelease["change"]) => (object: string) => ({
    object,
    change,
    ...(comparison.repairs[object] ? { repair: comparison.repairs[object] } : {}),
    handling: handlingOf(object, recorded.objects[object], live[object], command),
    ...(change === "changed" && object.startsWith("owner ") && live[object] ? { ownedBy: live[object] } : {}),
  });
  return [
    ...comparison.changed.map(of("changed")),
    ...comparison.removed.map(of("removed")),
    ...comparison.added.map(of("added")),
  ];
}

const CHANGE_TEXT: Record<DriftBeforeRelease["change"], string> = {
  added: "was added by hand",
  removed: "was removed by hand",
  changed: "was changed by hand",
};

function driftMessage(drift: DriftBeforeRelease): string {
  const leftover = drift.change === "added" ? rebuildLeftoverText(drift.object) : undefined;
  return leftover ?? `${shownObjectKey(drift.object)} ${CHANGE_TEXT[drift.change]} since the last release`;
}

const DELIBERATE =
  "If the change is deliberate, put it back all the same and make it in a new migration, so that every environment gets it and the release records it.";

/** verify, which shows an object as the migrations made it, printed by `print` to run on this database. */
function verifyShows(print: CommandPrinter | undefined): string {
  return commandToRun(print, ["verify"], "neonhub-db verify");
}

function driftFix(drift: DriftBeforeRelease, print: CommandPrinter | undefined): string {
  const restore = drift.repair
    ? `Run as ${drift.ownedBy ? ownerRunner([drift.ownedBy]) : "the migrator"}: ${shownSql(drift.repair)}`
    : `No one statement restores it: bring it back as the migrations made it (${verifyShows(print)} shows it), or restore the database`;
  return `${restore}. ${DELIBERATE}`;
}

/** Who may give objects owned by `owners` back to the owner role: they, or a superuser, not the migrator. */
function ownerRunner(owners: readonly string[]): string {
  const roles = [...new Set(owners)].join(", ");
  return `${roles} (the owner now, from which the migrator may not take it) or the cluster's admin`;
}

/**
 * The drift apply refuses, as plan's top-level problems list it (and apply's error carries); `print` prints
 * the verify a fix names (ReleaseOptions.printCommand).
 */
export function driftPlanProblems(
  drift: readonly DriftBeforeRelease[],
  print?: CommandPrinter,
): PlanProblem[] {
  return drift
    .filter((d) => d.handling === "refuse")
    .map(
      (d): PlanProblem => ({
        section: "drift",
        kind: "schema-drift",
        message: driftMessage(d),
        fix: driftFix(d, print),
      }),
    );
}

/**
 * Refuses the release (or revert) when the schema drifted in a way it does not take over; nothing is
 * written yet.
 */
export function refuseDriftBeforeRelease(
  drift: readonly DriftBeforeRelease[],
  command: RecordingCommand = "apply",
  print?: CommandPrinter,
): void {
  const problems = driftPlanProblems(drift, print);
  if (problems.length === 0) return;
  const message = problems.map((p) => `- ${p.message}`).join("\n");
  const refused = drift.filter((d) => d.handling === "refuse" && d.repair);
  const owners = refused.filter((d) => d.ownedBy);
  const repairs = refused.filter((d) => !d.ownedBy).map((d) => shownSql(d.repair!));
  // Owners first: a grant on an object the admin owns is the owner role's to make once it is back.
  const steps: string[] = [];
  if (owners.length > 0) {
    const statements = owners.map((d) => shownSql(d.repair!)).join("; ");
    steps.push(`Run as ${ownerRunner(owners.map((d) => d.ownedBy!))}: ${statements}.`);
  }
  if (repairs.length > 0) {
    steps.push(
      `${owners.length ? "Then run" : "Run"} the repair statements as the migrator: ${repairs.join("; ")}.`,
    );
  }
  const restore = steps.length
    ? steps.join(" ")
    : `Restore each object as the migrations made it (${verifyShows(print)} shows them).`;
  throw new ReleaseError(
    "schema-drift",
    `The schema was changed by hand since the last release; ${command} would record the change as the release's:\n${message}`,
    `${restore} Then run ${command} again. ${DELIBERATE}`,
    { problems },
  );
}

/** The line apply logs (and plan shows) for drift it goes on with: recorded with a warning, or set back. */
export function driftWarningText(drift: DriftBeforeRelease): string {
  if (drift.handling === "restore") {
    const setBack = rebuildLeftoverText(drift.object)
      ? REBUILD_LEFTOVER.action
      : "the row-level security step sets it back as the release's mode says";
    return `${driftMessage(drift)}; ${setBack}`;
  }
  const repair = drift.repair ? ` (to undo it: ${shownSql(drift.repair)})` : "";
  return `${driftMessage(drift)}; this release records it as the schema's${repair}`;
}

/** Refuses what `command` does not take over, and logs what it goes on with (recorded, or set back). */
export function checkDriftBeforeRelease(
  drift: readonly DriftBeforeRelease[],
  log: Logger,
  command: RecordingCommand,
  print?: CommandPrinter,
): void {
  refuseDriftBeforeRelease(drift, command, print);
  for (const d of drift) {
    if (d.handling === "warn") log.warn(driftWarningText(d));
    if (d.handling === "restore") log.info(driftWarningText(d));
  }
}
