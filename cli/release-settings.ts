// The release settings the CLI was given: a --config file (JSON or YAML), then --set flags and the
// --row-level-security flag, resolved by the engine's one strict resolver. What none of them sets keeps what
// the database recorded at its last release (see core/release-settings.ts).
import { readFileSync } from "node:fs";
import {
  ReleaseError,
  mergeSettings,
  resolveReleaseSettings,
  settingFromFlag,
  type ReleaseSettings,
} from "../core";
import type { CliArgs } from "./args";

function readConfigFile(file: string): Record<string, unknown> {
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
  return (document ?? {}) as Record<string, unknown>;
}

export function releaseSettings(args: CliArgs): ReleaseSettings {
  const documents: Record<string, unknown>[] = [];
  const sources: string[] = [];
  if (args.configFile) {
    documents.push(readConfigFile(args.configFile));
    sources.push(`--config ${args.configFile}`);
  }
  for (const flag of args.settings) documents.push(settingFromFlag(flag));
  if (args.settings.length > 0) sources.push("--set");
  if (args.rowLevelSecurity) documents.push({ rowLevelSecurity: args.rowLevelSecurity });
  if (documents.length === 0) return {};
  // A file's document must be an object: check it before merging it with the flags.
  if (args.configFile) resolveReleaseSettings(documents[0], sources[0]!);
  return resolveReleaseSettings(mergeSettings(...documents), sources.join(" and ") || "--row-level-security");
}
