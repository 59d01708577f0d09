// `diff` without a database: the new inputs' manifest against what the last run or refresh recorded (and what
// check put in the inputs when it reached the database: the ledger's lost rows for the migrations, the plan's
// pending decisions for the vector indexes). This is
// what `pulumi preview` shows: the pending migrations by name, the seed sets and index definitions that
// changed, the settings that changed, and whether the target database changed (the only replacement).
import {
  compareWithLedger,
  completeVectorIndexOptions,
  displayChecksumPair,
  isSearchDefaultItem,
  ledgerProblemText,
  settingChanges,
  type MigrationIdentity,
  type VectorIndexOptions,
} from "../../core";
import { isUnknown } from "./inputs";
import { ledgerToCompare, type LedgerToCompare } from "./ledger-reading";
import { pendingWorkName } from "./pending-index-work";
import { targetOf } from "./connection";
import { pulumiCommand, stackNamed, withStackNote, type StackNamed } from "./stack-name";
import {
  PART_STEP_KEYS,
  type Manifest,
  type ResolvedInputs,
  type ResolvedOutputs,
  type StepKey,
  type StepSettings,
} from "./types";

export interface ReleaseDiff {
  changes: boolean;
  /** Input properties whose change makes this a release on another database. */
  replaces: string[];
  /** What `pulumi up` would do, one line per change, for people. */
  lines: string[];
  /** What the release engine would refuse (a changed applied migration, ...): diff fails with these. */
  refusals: string[];
}

const FULL_CHECKSUM = /^[0-9a-f]{64}$/;
/** What a state written before statuses carried full checksums holds for a seed set: the first 12 hex characters. */
const LEGACY_CHECKSUM = /^[0-9a-f]{12}$/;

/**
 * Whether the checksum the state records is the manifest's. Both are full sha256 hex and are compared whole: a
 * change of any one character is a change. The one exception is a legacy recorded value (12 hex characters,
 * from a state written before statuses carried full checksums): it is compared with the manifest's first 12
 * characters, so upgrading the engine shows no spurious seed-set update, and the next `pulumi up` or
 * `pulumi refresh` of the resource records the full value from the database's own record (which was never cut).
 */
export function sameChecksum(recorded: string | undefined, manifest: string | undefined): boolean {
  if (!recorded || !manifest) return false;
  if (LEGACY_CHECKSUM.test(recorded) && FULL_CHECKSUM.test(manifest)) return manifest.startsWith(recorded);
  return recorded === manifest;
}

// Not `steps`: what its options change about this part shows in the part's own manifests (a seed set
// named, an index definition, a row-level security mode), and an option for another part is not a change.
const SETTINGS = [
  "ownerRole",
  "migrationsDir",
  "lockTimeoutMs",
  "connectTimeoutMs",
  "dropOnDelete",
  "environment",
  "lockSafety",
] as const;

export function diffRelease(recorded: Partial<ResolvedOutputs>, inputs: ResolvedInputs): ReleaseDiff {
  const diff: ReleaseDiff = { changes: false, replaces: [], lines: [], refusals: [] };
  diffTarget(recorded, inputs, diff);
  if (inputs.part === "migrations") {
    // A state written before lostLedgerRows was recorded has none: the files are compared with its ledger.
    const ledger = ledgerToCompare(
      { applied: recorded.migrations ?? {}, lostRows: recorded.lostLedgerRows ?? [] },
      inputs.ledgerReading,
      inputs.migrations ?? {},
    );
    // diff runs where check does, in a preview and at the start of an up.
    diffMigrations(
      ledger,
      inputs.migrations ?? {},
      inputs.migrationBytesChecksums ?? {},
      inputs.migrationsDir,
      stackNamed(inputs.stack, "check"),
      diff,
    );
  }
  for (const key of PART_STEP_KEYS[inputs.part]) diffStepItems(key, recorded, inputs, diff);
  if (inputs.part === "vectorIndexes" && recorded.steps)
    diffVectorIndexSettings(recorded.steps, inputs.steps, diff);
  for (const key of SETTINGS) {
    const before = JSON.stringify(recorded[key]);
    const after = isUnknown(inputs[key]) ? "(known after this update)" : JSON.stringify(inputs[key]);
    if (before !== after) diff.lines.push(`${key}: ${before ?? "(unset)"} → ${after}`);
  }
  diff.changes = diff.replaces.length > 0 || diff.lines.length > 0 || diff.refusals.length > 0;
  return diff;
}

/** "setting vectorIndexes.method: ivfflat -> hnsw": a deliberate change of a setting, named as such. */
function diffVectorIndexSettings(before: StepSettings, after: StepSettings, diff: ReleaseDiff): void {
  const complete = (steps: StepSettings) =>
    completeVectorIndexOptions((steps.vectorIndexes ?? {}) as VectorIndexOptions);
  diff.lines.push(...settingChanges("vectorIndexes", complete(before), complete(after)));
}

function diffTarget(recorded: Partial<ResolvedOutputs>, inputs: ResolvedInputs, diff: ReleaseDiff): void {
  const renamed =
    !isUnknown(inputs.database) && recorded.database !== undefined && recorded.database !== inputs.database;
  if (renamed) {
    diff.replaces.push("database");
    diff.lines.push(`database: ${recorded.database} → ${inputs.database} (a release on another database)`);
  }
  if (isUnknown(inputs.databaseUrl)) {
    // A new password or host upstream: only `up` knows whether the target moved.
    diff.lines.push("databaseUrl: known after the access layer's update; the target is checked then");
    return;
  }
  const target = targetOf(inputs.databaseUrl, "databaseUrl");
  if (!renamed && recorded.target !== undefined && target !== recorded.target) {
    diff.replaces.push("databaseUrl");
    diff.lines.push(`target: ${recorded.target} → ${target} (a release on another server)`);
  }
}

/**
 * Said after a lost row's refusal when check did not read the ledger: it is the state's reading, which a refresh
 * of the stack (`stack`: the inputs', stackNamed) records anew.
 */
function recordedReading(stack: StackNamed): string {
  const refresh = withStackNote(pulumiCommand("refresh", stack), stack);
  return `(As the last \`pulumi up\` or \`pulumi refresh\` read the ledger; this preview did not read it. Once the row is back, a preview that reaches the database sees it, and ${refresh} records it.)`;
}

/**
 * The core's own ledger check (core/migrations/ledger.ts), on the recorded ledger and the files' manifest, with
 * the sha256 of the bytes of the files whose checksum leaves exemption comments out (a ledger row recorded by
 * an earlier release holds that). The recorded manifest has no row ids and the diff no database, so a row
 * deleted by hand is the engine's reading, check's or else the one the last up or refresh recorded, not a new
 * migration.
 */
function diffMigrations(
  ledger: LedgerToCompare,
  manifest: Manifest,
  bytes: Manifest,
  folder: string,
  stack: StackNamed,
  diff: ReleaseDiff,
): void {
  const entries = (m: Manifest): MigrationIdentity[] =>
    Object.entries(m)
      .map(([name, checksum]) => ({ name, checksum }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  const files = entries(manifest).map((file) =>
    bytes[file.name] ? { ...file, bytesChecksum: bytes[file.name] } : file,
  );
  const { pending, problems } = compareWithLedger(files, entries(ledger.applied), folder, ledger.lostRows);
  diff.refusals.push(
    ...problems.map((p) => {
      const refusal = `${ledgerProblemText(p)} ${p.fix}`;
      return ledger.recordedReading && ledger.lostRows.includes(p)
        ? `${refusal} ${recordedReading(stack)}`
        : refusal;
    }),
  );
  if (pending.length > 0) {
    diff.lines.push(
      `${pending.length} migration${pending.length === 1 ? "" : "s"} to apply: ${pending.map((m) => m.name).join(", ")}`,
    );
  }
}

const ITEM_LABEL: Record<StepKey, (name: string) => string> = {
  // Its manifest item is the mode ("row-level security"); its plan items are the tables it would change.
  rowLevelSecurity: (name) => (name === "row-level security" ? name : `row-level security of ${name}`),
  seedSets: (name) => `seed set ${name}`,
  // The database's search default is no index: its name says what it is ("database default ivfflat.probes").
  vectorIndexes: (name) => (isSearchDefaultItem(name) ? name : `vector index ${name}`),
};

function diffStepItems(
  key: StepKey,
  recorded: Partial<ResolvedOutputs>,
  inputs: ResolvedInputs,
  diff: ReleaseDiff,
): void {
  const manifest = inputs[key] ?? {};
  const before = recorded[key] ?? {};
  const label = ITEM_LABEL[key];
  const changed = new Set<string>();
  for (const [name, checksum] of Object.entries(manifest)) {
    if (!(name in before)) diff.lines.push(`${label(name)}: create`);
    else if (!sameChecksum(before[name], checksum)) {
      const [was, now] = displayChecksumPair(before[name], checksum);
      diff.lines.push(`${label(name)}: update (definition changed: ${was} → ${now})`);
    } else continue;
    changed.add(name);
  }
  // What check found in the database just now (a table that outgrew its index): up runs the step. When check
  // could not ask, what the last refresh found stands.
  if (key === "vectorIndexes" && inputs.pendingIndexWork) {
    for (const line of inputs.pendingIndexWork) {
      const name = pendingWorkName(line);
      if (changed.has(name)) continue;
      diff.lines.push(`${label(name)}${line.slice(name.length)}`);
      changed.add(name);
    }
    return;
  }
  // What a refresh found in the database (rows edited by hand, a table that outgrew its index): up repairs it.
  for (const item of recorded.pending ?? []) {
    if (item.step === key && !changed.has(item.name)) {
      diff.lines.push(`${label(item.name)}: ${item.action} (${item.reason})`);
    }
  }
}
