// The release's settings, as one document with one strict resolver: the stack config (infra/config.ts), the
// CLI (--config file and --set flags) and, through the steps they build, the dynamic providers all resolve
// them here. An unknown key or a value of the wrong type is an error naming the key, the value and an
// example: a misspelt setting is never silently ignored.
//
//   { "vectorIndexes": { "method": "hnsw", ... },   recorded by the release (core/release-settings.ts)
//     "rowLevelSecurity": "enforce" | "off",        recorded by its step (core/row-level-security.ts)
//     "lockTimeoutSeconds": 60,                     how long this run waits for another release's lock
//                                                   (not recorded: 60 unless given)
//     "legacyUpgrade": { "organization": "acme" } } upgrade a Prisma-era database in place first
//                                                   (core/adopt/upgrade/; docs/runbook.md)
import path from "node:path";
import { closestName } from "./closest-name";
import { ReleaseError, SettingError, settingDocument, settingExample } from "./errors";
import { kindOfValue } from "./shown-value";
import { RELEASE_LOCK_TIMEOUT_SECONDS, isReleaseLockSeconds } from "./lock";
import { legacyUpgradeSetting, type LegacyUpgradeSetting } from "./adopt/upgrade/setting";
import { ROW_LEVEL_SECURITY_MODES, type RowLevelSecurityMode } from "./row-level-security";
import { pulumiConfigCommand } from "./pulumi-config-command";
import { shellWord } from "./shell-word";
import {
  checkVectorIndexOptions,
  decimalsFromStackConfig,
  resolveOptions,
  type VectorIndexOptions,
} from "./vector-indexes/options";

export interface ReleaseSettings {
  vectorIndexes?: VectorIndexOptions;
  rowLevelSecurity?: RowLevelSecurityMode;
  lockTimeoutSeconds?: number;
  legacyUpgrade?: LegacyUpgradeSetting;
}

const EXAMPLES: Record<keyof ReleaseSettings, unknown> = {
  vectorIndexes: { method: "hnsw" },
  rowLevelSecurity: "enforce",
  lockTimeoutSeconds: 60,
  legacyUpgrade: { organization: "acme" },
};

export const RELEASE_SETTING_KEYS = Object.keys(EXAMPLES) as (keyof ReleaseSettings)[];

/** "--config release.yaml: " before a message; nothing when the caller names the source itself. */
function at(source: string): string {
  return source ? `${source}: ` : "";
}

/** A top-level setting refused, with `example` a valid value of it. */
function refuse(key: string, problem: string, value: unknown, example: unknown, source: string) {
  return new SettingError([key], problem, { value }, { path: [key], value: example }, "", source);
}

/**
 * How a fix writes a setting's example value in the form the settings came in: as the flag for --set flags
 * alone (`--set legacyUpgrade.organization=acme`), else as a document (a --config file, a stack's config).
 */
function exampleIn(source: string): (path: readonly string[], value: unknown) => string {
  return (path, value) => settingExample(path, value, source);
}

/**
 * Validates a settings document (parsed JSON or YAML, or flags turned into one). Returns only the settings
 * it was given: what is left unset is decided by the caller (the stack: the defaults; the CLI: what the
 * database records). `source` names where the document came from in errors ("--config release.yaml"); empty
 * when the caller puts the message under a name of its own (a stack config key).
 */
export function resolveReleaseSettings(input: unknown, source: string): ReleaseSettings {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw new ReleaseError(
      "invalid-input",
      `${source || "the release settings"} holds ${kindOfValue(input)}, not a mapping of settings.`,
      `Give a JSON or YAML mapping of release settings, e.g. ${JSON.stringify(EXAMPLES)}.`,
    );
  }
  const settings: ReleaseSettings = {};
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    if (value === undefined) continue;
    switch (key) {
      case "vectorIndexes":
        try {
          checkVectorIndexOptions(value);
          resolveOptions(value as VectorIndexOptions); // ranges and combinations (efConstruction >= 2 x m)
        } catch (error) {
          if (error instanceof SettingError) throw error.from(source);
          if (error instanceof ReleaseError) {
            throw new ReleaseError(error.code, `${at(source)}${error.message}`, error.fix);
          }
          throw error;
        }
        settings.vectorIndexes = value as VectorIndexOptions;
        break;
      case "rowLevelSecurity":
        if (!(ROW_LEVEL_SECURITY_MODES as readonly unknown[]).includes(value)) {
          throw refuse(key, `must be one of ${ROW_LEVEL_SECURITY_MODES.join(", ")}`, value, "off", source);
        }
        settings.rowLevelSecurity = value as RowLevelSecurityMode;
        break;
      case "lockTimeoutSeconds": {
        const { min, max } = RELEASE_LOCK_TIMEOUT_SECONDS;
        if (!isReleaseLockSeconds(value)) {
          throw refuse(key, `must be a whole number of seconds from ${min} to ${max}`, value, 60, source);
        }
        settings.lockTimeoutSeconds = value;
        break;
      }
      case "legacyUpgrade": {
        const example = exampleIn(source);
        settings.legacyUpgrade = legacyUpgradeSetting(value, `${at(source)}${key}`, (path, v) =>
          example([key, ...path], v),
        );
        break;
      }
      default:
        throw notASetting(key, value, source);
    }
  }
  return settings;
}

/**
 * The refusal of a key that is no release setting: a stack's name for one (`neonhub-db:vectorIndexes`,
 * `releaseLockTimeoutSeconds`) says what it is called here; a stack setting the CLI takes as a flag says
 * which; anything else gets the nearest name, if one is near.
 */
function notASetting(key: string, value: unknown, source: string): ReleaseError {
  const prefix = `${STACK_CONFIG_NAMESPACE}:`;
  const name = key.startsWith(prefix) ? key.slice(prefix.length) : key;
  if (Object.hasOwn(STACK_SETTING_FLAGS, name) || Object.hasOwn(STACK_ONLY_FLAGS, name)) {
    const flag = STACK_SETTING_FLAGS[name] ?? STACK_ONLY_FLAGS[name];
    const what = Object.hasOwn(STACK_SETTING_FLAGS, name) ? "a stack setting of each run" : "a stack setting";
    return new ReleaseError(
      "invalid-input",
      `${at(source)}${key} is ${what} (Pulumi config ${prefix}${name}), not a release setting.`,
      `Give it to the CLI as ${flag}.`,
    );
  }
  const called = Object.hasOwn(STACK_NAMES, name)
    ? STACK_NAMES[name]!
    : (RELEASE_SETTING_KEYS as readonly string[]).includes(name)
      ? (name as keyof ReleaseSettings)
      : undefined;
  if (called) {
    const what = name === key ? "the stack's name of" : "a stack's config key for";
    return new SettingError(
      [key],
      `is ${what} the release setting called ${called} here`,
      { value },
      { path: [called], value: takenAs(called, value, source) ? value : EXAMPLES[called] },
      "",
      source,
    );
  }
  const meant = closestName(name, RELEASE_SETTING_KEYS);
  return new SettingError(
    [key],
    `is ${name === key ? "not" : "a stack's config key, not"} a release setting`,
    { value },
    meant
      ? { path: [meant], value: EXAMPLES[meant as keyof ReleaseSettings] }
      : { path: [], value: EXAMPLES },
    `${meant ? `Did you mean ${meant}? ` : ""}Known settings: ${RELEASE_SETTING_KEYS.join(", ")}. `,
    source,
  );
}

/** Whether `value` is one the release setting `key` takes: a stack's name given a right value gets it back. */
function takenAs(key: keyof ReleaseSettings, value: unknown, source: string): boolean {
  try {
    resolveReleaseSettings({ [key]: value }, source);
    return true;
  } catch {
    return false;
  }
}

/** The Pulumi project whose stacks' config holds the release settings, as `neonhub-db:<key>` (Pulumi.yaml). */
export const STACK_CONFIG_NAMESPACE = "neonhub-db";

/**
 * Release settings a stack's config calls by another name: the stack's key, and the release settings' (the
 * CLI's). On a stack, beside the migrations' own lock timeouts, the release lock's says which lock it is.
 */
export const STACK_NAMES: Readonly<Record<string, keyof ReleaseSettings>> = {
  releaseLockTimeoutSeconds: "lockTimeoutSeconds",
};

/** The stack's key of the release setting `name` where the stack calls it otherwise (STACK_NAMES), else undefined. */
export function stackKeyOf(name: string): string | undefined {
  return Object.keys(STACK_NAMES).find((stackKey) => STACK_NAMES[stackKey] === name);
}

/** Stack settings, neither release settings nor per-run safety settings, that the CLI takes as a flag. */
const STACK_ONLY_FLAGS: Readonly<Record<string, string>> = { seedSets: "--seed NAME (repeatable)" };

/**
 * The stack a stack file holds the config of, from its path as given: `<stack>` of `Pulumi.<stack>.yaml` (or
 * `.yml`, beside a `Pulumi.yml` project), the name Pulumi gives it. Undefined for a file named otherwise (a
 * copy, say), whose stack is not for a printed command to guess.
 */
function stackOfStackFile(file: string): string | undefined {
  return /^Pulumi\.(.+)\.ya?ml$/.exec(path.basename(file))?.[1];
}

/**
 * The release settings a Pulumi stack file holds (`Pulumi.<stack>.yaml`: `config:` with `neonhub-db:<key>`
 * entries), under the release settings' names, each value read as the stack program reads it
 * (stackConfigValue); undefined when the document is not a stack file of this project. Its other keys (the
 * server, seed sets, the per-run settings) are not release settings: `perRun` lists the per-run ones it sets,
 * with the CLI flag that gives each, since those the CLI takes only as flags. `file`: the document's path as
 * given, whose name says the stack a fix's `pulumi config` commands name (stackOfStackFile).
 */
export function releaseSettingsOfStackFile(
  document: unknown,
  source: string,
  file?: string,
):
  | { settings: Record<string, unknown>; perRun: { key: string; value: unknown; flag: string }[] }
  | undefined {
  const config = isPlainObject(document) ? document.config : undefined;
  if (!isPlainObject(config)) return undefined;
  const prefix = `${STACK_CONFIG_NAMESPACE}:`;
  const keys = Object.keys(config).filter((key) => key.startsWith(prefix));
  if (keys.length === 0) return undefined;
  const settings = Object.create(null) as Record<string, unknown>;
  const perRun: { key: string; value: unknown; flag: string }[] = [];
  for (const key of keys) {
    const name = key.slice(prefix.length);
    const stackName = stackKeyOf(name);
    if (stackName) {
      // The stack program refuses it as a key it does not know: so does a run given the stack's file. The fix
      // names the key's new name, never its value, which may be a secret (or a --secret one's ciphertext), and
      // the file's stack, which need not be the one selected where the commands run.
      const stack = file === undefined ? undefined : stackOfStackFile(file);
      const stackFlagWord = stack === undefined ? undefined : shellWord(stack);
      throw new ReleaseError(
        "invalid-input",
        `${at(source)}${key} is not a key of a stack's config: the stack calls that setting ${prefix}${stackName}.`,
        `Rename the key in the stack file to ${prefix}${stackName}, keeping its value; or run ${pulumiConfigCommand("rm", key, { stack: stackFlagWord })}, then ${pulumiConfigCommand("set", `${prefix}${stackName}`, { stack: stackFlagWord })} with its value (and --secret if it was one).`,
      );
    }
    const called = Object.hasOwn(STACK_NAMES, name) ? STACK_NAMES[name]! : name;
    if ((RELEASE_SETTING_KEYS as readonly string[]).includes(called)) {
      settings[called] = stackConfigValue(called, config[key]);
    } else if (Object.hasOwn(STACK_SETTING_FLAGS, name)) {
      perRun.push({ key, value: config[key], flag: STACK_SETTING_FLAGS[name]! });
    }
  }
  return { settings, perRun };
}

/**
 * A release setting's value from a stack's config, as the stack program reads it: text (Pulumi hands the
 * program every value as text, and a stack file may quote one) as --set reads text, and for the vector
 * indexes a decimal Pulumi stored as text made a number (decimalsFromStackConfig).
 */
export function stackConfigValue(key: string, value: unknown): unknown {
  const read = typeof value === "string" ? settingValue(value) : value;
  return key === "vectorIndexes" ? decimalsFromStackConfig(read) : read;
}

/**
 * The stack's per-run settings (infra/release-safety-config.ts) and the CLI flag that gives each: they say how
 * this run waits and what it refuses, and are not recorded with the release, so `--config`/`--set` refuse
 * them by pointing at the flag.
 */
export const STACK_SETTING_FLAGS: Readonly<Record<string, string>> = {
  environment: "--environment",
  migrationLockTimeoutSeconds: "--migration-lock-timeout",
  migrationStatementTimeoutSeconds: "--statement-timeout",
  migrationLockRetries: "--lock-retries",
};

/**
 * One `--set key=value` flag as a settings document: the key is a dotted path
 * (vectorIndexes.indexes.idx_chunk_embedding_cosine.m), the value JSON when it parses as JSON (true, 0.9,
 * 32) and a string otherwise (hnsw). The document is then resolved like any other.
 */
export function settingFromFlag(flag: string): Record<string, unknown> {
  const at = flag.indexOf("=");
  const path = at > 0 ? flag.slice(0, at).split(".") : [];
  if (path.length === 0 || path.some((part) => part === "")) {
    throw new ReleaseError(
      "invalid-input",
      `--set ${JSON.stringify(flag)} is not key=value.`,
      "Use a setting's dotted path, e.g. --set vectorIndexes.method=hnsw or --set vectorIndexes.concurrently=true.",
    );
  }
  const value = settingValue(flag.slice(at + 1));
  return settingDocument(path, value);
}

/**
 * A setting's value written as text (a --set flag's, a stack config value as Pulumi hands it to the program):
 * JSON when it parses as JSON (true, 0.9, 32, an object), else the text itself (hnsw). One reading for both,
 * so that the same text gets the same verdict from either.
 */
export function settingValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Settings documents merged in order, later ones winning per leaf (a --config file, then --set flags). Into
 * objects without a prototype: a key such as `__proto__` (from --set or a file) stays a key, which the
 * resolver then refuses by name, instead of replacing the merged object's prototype and vanishing.
 */
export function mergeSettings(...documents: Record<string, unknown>[]): Record<string, unknown> {
  const merged = Object.create(null) as Record<string, unknown>;
  for (const document of documents) {
    for (const [key, value] of Object.entries(document)) {
      const current = merged[key];
      merged[key] = isPlainObject(current) && isPlainObject(value) ? mergeSettings(current, value) : value;
    }
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
