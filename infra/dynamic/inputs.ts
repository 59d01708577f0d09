// Validation of a schema-release resource's inputs, as `check` receives them. Pure: each problem names the
// property, so `pulumi preview` points at it. A value still unknown during preview is accepted where the
// program may compute it (the connection string, the database and role names).
import { isReleaseError, resolveReleaseSettings } from "../../core";
import {
  RELEASE_ENVIRONMENTS,
  resolveLockSafety,
  type LockSafetySettings,
  type ReleaseEnvironment,
} from "../../core";
import { LEDGER_READING, parseLedgerReading } from "./ledger-reading";
import {
  RELEASE_PARTS,
  UNKNOWN,
  manifestKeys,
  type Manifest,
  type ReleasePart,
  type ResolvedInputs,
} from "./types";

export interface InputProblem {
  property: string;
  reason: string;
}

/**
 * The property a failure about the database names (the ledger, the safety lint, an unreached server, a lock
 * wait): none, as no input is malformed. Pulumi prints a named property with its whole value before the
 * reason, "property migrations value {map[<every file and checksum>]} has a problem: ...", kilobytes of
 * checksums before each finding in the preview and in its pull-request comment; with none it prints
 * "resource 'schema-migrations' has a problem: <reason>".
 */
export const RELEASE_PROBLEM = "";

/** The inputs the program passes as secrets. */
const SECRET_INPUTS: ReadonlySet<string> = new Set(["databaseUrl"]);

export interface ParsedInputs {
  inputs: ResolvedInputs;
  failures: InputProblem[];
}

const CHECKSUM = /^[0-9a-f]{64}$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

export function isUnknown(value: unknown): boolean {
  return value === UNKNOWN;
}

/** Validates raw inputs; with `allowUnknown`, preview's unknown values pass for the computed properties. */
export function parseInputs(raw: Record<string, unknown>, options: { allowUnknown: boolean }): ParsedInputs {
  const failures: InputProblem[] = [];
  const fail = (property: string, reason: string) => failures.push({ property, reason });
  const computed = (property: string, check: (value: unknown) => string | undefined): string => {
    const value = raw[property];
    if (options.allowUnknown && isUnknown(value)) return UNKNOWN;
    const problem = check(value);
    // Pulumi prints a named property's value with the failure, a secret's in clear (its password): the
    // connection string is named in the reason instead.
    if (problem && SECRET_INPUTS.has(property)) fail(RELEASE_PROBLEM, `${property} ${problem}`);
    else if (problem) fail(property, problem);
    return typeof value === "string" ? value : "";
  };

  const part = raw.part as ReleasePart;
  if (!RELEASE_PARTS.includes(part)) fail("part", `must be one of ${RELEASE_PARTS.join(", ")}`);
  const databaseUrl = computed("databaseUrl", (v) =>
    typeof v === "string" && /^postgres(ql)?:\/\//.test(v)
      ? undefined
      : "must be a postgresql:// connection string (the migrator's, from the access layer)",
  );
  const database = computed("database", (v) =>
    typeof v === "string" && v.length > 0 ? undefined : "must name the database",
  );
  const ownerRole = computed("ownerRole", (v) =>
    typeof v === "string" && IDENTIFIER.test(v) ? undefined : "must be a role name (letters, digits, _)",
  );
  const migrationsDir = raw.migrationsDir;
  if (typeof migrationsDir !== "string" || migrationsDir.length === 0) {
    fail("migrationsDir", "must be the migrations folder, relative to the project root");
  }
  const steps = raw.steps as ResolvedInputs["steps"] | undefined;
  if (
    typeof steps !== "object" ||
    steps === null ||
    !Array.isArray(steps.seedSets) ||
    !steps.seedSets.every((s) => typeof s === "string")
  ) {
    fail("steps", "must be the release steps' options, with seedSets: a list of seed set names");
  } else {
    // The same strict resolver as the stack config and the CLI: check fails on what the engine would refuse.
    const { seedSets: _seedSets, ...settings } = steps;
    try {
      resolveReleaseSettings(settings, "");
    } catch (error) {
      if (!isReleaseError(error)) throw error;
      fail("steps", [error.message, error.fix].filter(Boolean).join(" "));
    }
  }
  const positive = (property: string): number => {
    const value = raw[property];
    if (typeof value !== "number" || !Number.isInteger(value) || value <= 0) {
      fail(property, "must be a positive whole number of milliseconds");
      return 0;
    }
    return value;
  };
  const lockTimeoutMs = positive("lockTimeoutMs");
  const connectTimeoutMs = positive("connectTimeoutMs");
  if (typeof raw.dropOnDelete !== "boolean") fail("dropOnDelete", "must be true or false");
  const safety = parseSafetyInputs(raw, fail);
  // Absent from the inputs of a program older than the stack's name in them: the printed commands name
  // `--stack <stack>`, and which stack it stands for (stack-name.ts).
  if (raw.stack !== undefined && (typeof raw.stack !== "string" || raw.stack.length === 0)) {
    fail("stack", "must be the stack's name (pulumi.getStack())");
  }
  const work = raw.pendingIndexWork;
  if (work !== undefined && !(Array.isArray(work) && work.every((line) => typeof line === "string"))) {
    fail("pendingIndexWork", "must be a list of the vector-index plan's decisions, set by check: remove it");
  }

  const inputs: ResolvedInputs = {
    part,
    databaseUrl,
    database,
    ownerRole,
    migrationsDir: typeof migrationsDir === "string" ? migrationsDir : "",
    steps: steps ?? { seedSets: [] },
    lockTimeoutMs,
    connectTimeoutMs,
    dropOnDelete: raw.dropOnDelete === true,
    ...safety,
    ...(typeof raw.stack === "string" && raw.stack.length > 0 ? { stack: raw.stack } : {}),
    ...(Array.isArray(work) ? { pendingIndexWork: work as string[] } : {}),
  };
  if (RELEASE_PARTS.includes(part)) {
    for (const key of manifestKeys(part)) {
      const manifest = parseManifest(raw[key]);
      if (typeof manifest === "string") fail(key, manifest);
      else inputs[key] = manifest;
    }
  }
  // Put there by check alone, and only when it reached the database: absent, the diff reads the state.
  if (part === "migrations" && raw[LEDGER_READING] !== undefined) {
    const reading = parseLedgerReading(raw[LEDGER_READING]);
    if (typeof reading === "string") fail(LEDGER_READING, reading);
    else inputs.ledgerReading = reading;
  }
  // Absent from the inputs of a program older than exemption-free checksums: nothing else to accept.
  if (part === "migrations" && raw.migrationBytesChecksums !== undefined) {
    const bytes = parseManifest(raw.migrationBytesChecksums);
    if (typeof bytes === "string") fail("migrationBytesChecksums", bytes);
    else inputs.migrationBytesChecksums = bytes;
  }
  return { inputs, failures };
}

function parseManifest(value: unknown): Manifest | string {
  const shape = "must map each name to the sha256 of its content (the release manifest)";
  if (typeof value !== "object" || value === null || Array.isArray(value)) return shape;
  for (const [name, checksum] of Object.entries(value)) {
    if (typeof checksum !== "string" || !CHECKSUM.test(checksum)) return `${shape}; "${name}" has none`;
  }
  return value as Manifest;
}

/** The optional safety settings: the stack's kind and the migrations' lock timeouts and retries. */
function parseSafetyInputs(
  raw: Record<string, unknown>,
  fail: (property: string, reason: string) => void,
): Pick<ResolvedInputs, "environment" | "lockSafety"> {
  const out: Pick<ResolvedInputs, "environment" | "lockSafety"> = {};
  if (raw.environment !== undefined) {
    if (
      typeof raw.environment === "string" &&
      (RELEASE_ENVIRONMENTS as readonly string[]).includes(raw.environment)
    ) {
      out.environment = raw.environment as ReleaseEnvironment;
    } else fail("environment", `must be one of ${RELEASE_ENVIRONMENTS.join(", ")}`);
  }
  if (raw.lockSafety !== undefined) {
    if (typeof raw.lockSafety !== "object" || raw.lockSafety === null || Array.isArray(raw.lockSafety)) {
      fail("lockSafety", "must map lockTimeoutMs, statementTimeoutMs, lockRetries, ... to numbers");
      return out;
    }
    try {
      resolveLockSafety(raw.lockSafety as Partial<LockSafetySettings>, (field) => `lockSafety.${field}`);
      out.lockSafety = raw.lockSafety as Partial<LockSafetySettings>;
    } catch (error) {
      fail("lockSafety", (error as Error).message);
    }
  }
  return out;
}
