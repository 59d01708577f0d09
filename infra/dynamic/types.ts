// What the schema-release resources carry, as their provider sees them. Inputs arrive as plain values (the
// dynamic-provider host answers Configure with acceptSecrets=false, so the secret connection string comes
// unwrapped); outputs are what the database recorded, and never hold a password.
import type {
  LedgerProblem,
  LockSafetySettings,
  ReleaseEnvironment,
  ReleaseStep,
  StepItemResult,
  StepStatus,
} from "../../core";
import type { LedgerReading } from "./ledger-reading";

/** The three resources of a release, in the order they run. Each applies its own part of the release. */
export const RELEASE_PARTS = ["migrations", "seedSets", "vectorIndexes"] as const;
export type ReleasePart = (typeof RELEASE_PARTS)[number];

/** name → sha256 of what the part brings (a migration file, a seed set, an index definition). */
export type Manifest = Record<string, string>;

/** The keys of core's release manifest (and plan, status and result) for each step kind. */
export const STEP_KEY = {
  rowLevelSecurity: "rowLevelSecurity",
  seeds: "seedSets",
  vectorIndexes: "vectorIndexes",
} as const satisfies Record<ReleaseStep["kind"], string>;
export type StepKey = (typeof STEP_KEY)[keyof typeof STEP_KEY];
export type ManifestKey = "migrations" | StepKey;

/**
 * The steps each part applies. Row-level security belongs with the migrations: it is about the schema, and
 * must follow every migration that creates a table before any data goes in.
 */
export const PART_STEP_KEYS: Record<ReleasePart, readonly StepKey[]> = {
  migrations: ["rowLevelSecurity"],
  seedSets: ["seedSets"],
  vectorIndexes: ["vectorIndexes"],
};

/** The manifests a part carries in its inputs, each under its own key (`migrations`, `seedSets`, ...). */
export function manifestKeys(part: ReleasePart): ManifestKey[] {
  return part === "migrations" ? ["migrations", ...PART_STEP_KEYS.migrations] : [...PART_STEP_KEYS[part]];
}

/** Options of the project's release steps (core/default-steps.ts), as plain JSON: seed set names, ... */
export interface StepSettings {
  seedSets: string[];
  [option: string]: unknown;
}

/** The part's manifests, by key; each part has only its own. */
export type Manifests = Partial<Record<ManifestKey, Manifest>>;

/**
 * Migrations: name → sha256 of the bytes of each file that holds exemption comments, whose checksum in
 * `migrations` leaves them out (core/migrations/checksums.ts). A ledger row recorded by an earlier release
 * holds the bytes' checksum, which the diff accepts as the engine does.
 */
export interface MigrationBytesChecksums {
  migrationBytesChecksums?: Manifest;
}

/** What inputs and outputs share: how and where the part runs. */
export interface PartSettings {
  part: ReleasePart;
  /** Name of the database (with host and port from the URL: the target). */
  database: string;
  /** Role the release acts as (SET ROLE), so that it owns what it creates. */
  ownerRole: string;
  /** The migrations folder, relative to the project root (resolved where the provider runs). */
  migrationsDir: string;
  steps: StepSettings;
  lockTimeoutMs: number;
  connectTimeoutMs: number;
  /** Whether deleting the resource drops what it created (opt-in; by default delete forgets). */
  dropOnDelete: boolean;
  /** The stack's kind for the migration safety lint; development when unset. */
  environment?: ReleaseEnvironment;
  /** The migrations' lock_timeout, statement_timeout and retries; engine defaults when unset. */
  lockSafety?: Partial<LockSafetySettings>;
  /**
   * The stack the program runs for (pulumi.getStack()): the commands the fixes print name it. Absent from a
   * state recorded before the inputs carried it, whose commands name `<stack>` instead (stack-name.ts).
   */
  stack?: string;
}

/** The resource's inputs, with each manifest under its own key (`migrations`, `seedSets`, ...). */
export type ResolvedInputs = PartSettings &
  Manifests &
  MigrationBytesChecksums & {
    /** The migrator's connection string. Secret in the program and in the state's inputs. */
    databaseUrl: string;
    /**
     * Vector indexes: what the core's plan would do now ("name: action (reason)"), set by `check` when the
     * database answered (pending-index-work.ts); absent when it could not be asked.
     */
    pendingIndexWork?: string[];
    /**
     * Migrations: the ledger's lost rows and pending migrations as `check` read them when the database answered
     * (ledger-reading.ts); absent when it could not be asked.
     */
    ledgerReading?: LedgerReading;
  };

/** One thing the database still needs for this part, as a read found it. */
export interface PendingItem {
  step: StepKey;
  name: string;
  action: string;
  reason: string;
}

/** A migration the last run applied, with its file's full sha256. */
export interface LastRunMigration {
  name: string;
  action: "apply";
  checksum: string;
  durationMs: number;
}

/** What the last create or update did. */
export interface LastRun {
  at: string;
  changed: boolean;
  durationMs: number;
  /** The part's migrations (migrations part) or its step items, as the core's apply reported them. */
  items: (LastRunMigration | StepItemResult)[];
  /** Set when the run failed; the rest of the outputs then say what the database holds. */
  error?: string;
}

/** The recorded state: the manifests as the database records them, under the same keys as the inputs. */
export type ResolvedOutputs = PartSettings &
  Manifests & {
    /** host:port/database: the resource's id, and what forces a replacement when it changes. */
    target: string;
    /** The connection string without its password (read and delete find the password at run time). */
    connection: string;
    /** Migrations: how many the ledger records, and the last one. */
    appliedMigrations?: number;
    lastMigration?: string | null;
    /** Migrations: ledger problems and catalog drift found against the release's snapshot. */
    drift?: string[];
    /**
     * Migrations: the engine's `missing-from-ledger` problems (rows deleted by hand), whole. `migrations` holds
     * the ledger as it is, without ids or the snapshot that tell such a row from a new migration, so the diff
     * takes the engine's reading from here rather than calling the file pending or out of order.
     */
    lostLedgerRows?: LedgerProblem[];
    /** What the database records for the part's steps (the release summary's entries). */
    status?: StepStatus[];
    /** What a read found still to do for the part's steps (rows changed by hand, a table that grew). */
    pending?: PendingItem[];
    lastRun?: LastRun | null;
  };

/** Pulumi's marker for a value not known during preview (sdk/nodejs/runtime/rpc.ts `unknownValue`). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
