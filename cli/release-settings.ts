// The release settings the CLI was given: a --config file (JSON or YAML, or a Pulumi stack file), then --set
// flags and the --row-level-security flag, resolved by the engine's one strict resolver. What none of them
// sets keeps what the database recorded at its last release (see core/release-settings.ts).
import { readFileSync } from "node:fs";
import {
  ReleaseError,
  mergeSettings,
  parseReleaseEnvironment,
  releaseSettingsOfStackFile,
  resolveReleaseSettings,
  settingFromFlag,
  type ReleaseEnvironment,
  type ReleaseSettings,
} from "../core";
import type { CliArgs } from "./args";

/** A --config file's settings, and what the CLI should say about the file (a stack file's per-run settings). */
interface ConfigFile {
  document: Record<string, unknown>;
  notes: string[];
  /**
   * A stack file's `environment`: the one per-run setting a run takes from it when its flag is not given,
   * since it only ever makes the safety lint stricter than the flag's default (development).
   */
  environment?: ReleaseEnvironment;
}

function readConfigFile(file: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ReleaseError(
      "invalid-input",
      `--config ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      "Give the path of a JSON or YAML file of release settings, e.g. --config release.json.",
    );
  }
  let document: unknown;
  try {
    // YAML 1.2 is a superset of JSON: one parser reads both. Loaded here, as only --config needs it (it
    // costs a plan about 30 ms of start-up).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { parse } = require("yaml") as typeof import("yaml");
    document = parse(text);
  } catch (error) {
    throw new ReleaseError(
      "invalid-input",
      `--config ${file} is neither JSON nor YAML: ${(error as Error).message.split("\n")[0]}`,
      'Write it as JSON ({"vectorIndexes": {"method": "hnsw"}}) or YAML (vectorIndexes: {method: hnsw}).',
    );
  }
  // An empty file (or one of comments alone) is a truncated file or the wrong path, not "no settings".
  if (document === null || document === undefined) {
    throw new ReleaseError(
      "invalid-input",
      `--config ${file} is empty: it holds no release settings.`,
      "Give the path of a JSON or YAML file of release settings (e.g. vectorIndexes: {method: hnsw}), or leave out --config to keep the settings the database records.",
    );
  }
  // A stack's own file (Pulumi.<stack>.yaml) holds the release settings "as the stack has them": read them
  // out of it, as the stack program reads them, under the release settings' names.
  const stack = releaseSettingsOfStackFile(document, `--config ${file}`);
  if (stack) {
    const environment = stack.perRun.find(({ flag }) => flag === "--environment");
    return {
      document: stack.settings,
      notes: stack.perRun
        .filter((setting) => setting !== environment)
        .map(
          ({ key, value, flag }) =>
            `--config ${file}: ${key} (${JSON.stringify(value)}) is a setting of each run, not read from the file: give it as ${flag.split(" ")[0]} ${typeof value === "string" ? value : JSON.stringify(value)} if this run should have it.`,
        ),
      ...(environment
        ? {
            environment: parseReleaseEnvironment(
              String(environment.value),
              `--config ${file}: ${environment.key}`,
            ),
          }
        : {}),
    };
  }
  return { document: document as Record<string, unknown>, notes: [] };
}

/**
 * The run's release environment: --environment, else a --config stack file's (`neonhub-db:environment`, as the
 * stack itself runs with it), else undefined (development). `notes` gets what to tell the operator.
 */
export function releaseEnvironment(
  args: CliArgs,
  notes?: (line: string) => void,
): ReleaseEnvironment | undefined {
  const fromFile = args.configFile ? readConfigFile(args.configFile).environment : undefined;
  if (fromFile === undefined) return args.environment;
  if (args.environment === undefined) {
    notes?.(
      `--config ${args.configFile}: this run is in ${fromFile}, as the stack file says (--environment overrides it).`,
    );
    return fromFile;
  }
  if (args.environment !== fromFile) {
    notes?.(
      `--config ${args.configFile}: the stack file says ${fromFile}; this run is in ${args.environment}, as --environment says.`,
    );
  }
  return args.environment;
}

/** The release settings of --config, --set and --row-level-security; `notes` gets what to tell the operator. */
export function releaseSettings(args: CliArgs, notes?: (line: string) => void): ReleaseSettings {
  const documents: Record<string, unknown>[] = [];
  const sources: string[] = [];
  if (args.configFile) {
    const file = readConfigFile(args.configFile);
    documents.push(file.document);
    sources.push(`--config ${args.configFile}`);
    for (const line of file.notes) notes?.(line);
  }
  for (const flag of args.settings) documents.push(settingFromFlag(flag));
  if (args.settings.length > 0) sources.push("--set");
  if (args.rowLevelSecurity) documents.push({ rowLevelSecurity: args.rowLevelSecurity });
  if (documents.length === 0) return {};
  // A file's document must be an object: check it before merging it with the flags.
  if (args.configFile) resolveReleaseSettings(documents[0], sources[0]!);
  return resolveReleaseSettings(mergeSettings(...documents), sources.join(" and ") || "--row-level-security");
}
