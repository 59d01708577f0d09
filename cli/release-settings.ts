// The release settings the CLI was given: a --config file (JSON or YAML, or a Pulumi stack file), then --set
// flags and the --row-level-security flag, resolved by the engine's one strict resolver. What none of them
// sets keeps what the database recorded at its last release (see core/release-settings.ts).
import { readFileSync, statSync } from "node:fs";
import {
  ReleaseError,
  STACK_CONFIG_NAMESPACE,
  stackKeyOf,
  mergeSettings,
  parseReleaseEnvironment,
  releaseSettingsOfStackFile,
  resolveReleaseSettings,
  settingFromFlag,
  shellWord,
  type ReleaseEnvironment,
  type ReleaseSettings,
} from "../core";
import { COMMAND_SETTINGS, otherCommandsError, type CliArgs, type Command } from "./args";

/** A --config file's settings, and what the CLI should say about the file (a stack file's per-run settings). */
interface ConfigFile {
  document: Record<string, unknown>;
  notes: string[];
  /**
   * A stack file's `environment`: the one per-run setting a run takes from it when its flag is not given,
   * since it only ever makes the safety lint stricter than the flag's default (development).
   */
  environment?: ReleaseEnvironment;
  /** Whether it is a stack's own file (Pulumi.<stack>.yaml), which holds the settings of every command. */
  stack: boolean;
}

/**
 * The largest --config file read: 1 MiB. Release settings are a few hundred bytes, a stack's own file with its
 * encrypted secrets a few kilobytes; a larger one is the wrong file, and one without an end (/dev/zero) would
 * be read until memory runs out.
 */
const MAX_CONFIG_BYTES = 1024 * 1024;

function readConfigFile(file: string): ConfigFile {
  let text: string;
  try {
    // A FIFO or a device is refused before it is opened: reading one would wait for a writer, or never end.
    const stats = statSync(file);
    if (!stats.isFile()) {
      throw new ReleaseError(
        "invalid-input",
        `--config ${file} is ${stats.isDirectory() ? "a directory" : "not a regular file"}.`,
        "Give the path of a JSON or YAML file of release settings, e.g. --config release.json.",
      );
    }
    if (stats.size > MAX_CONFIG_BYTES) {
      throw new ReleaseError(
        "invalid-input",
        `--config ${file} holds ${stats.size.toLocaleString("en-US")} bytes, more than the ${MAX_CONFIG_BYTES.toLocaleString("en-US")} a file of release settings may: it is not one.`,
        "Give the path of a JSON or YAML file of release settings (a few hundred bytes), e.g. --config release.json, or a stack's Pulumi.<stack>.yaml.",
      );
    }
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (error instanceof ReleaseError) throw error;
    throw new ReleaseError(
      "invalid-input",
      `--config ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`,
      "Give the path of a JSON or YAML file of release settings, e.g. --config release.json.",
    );
  }
  let document: unknown;
  // YAML 1.2 is a superset of JSON: one parser reads both. Loaded here, as only --config needs it (it
  // costs a plan about 30 ms of start-up).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseDocument } = require("yaml") as typeof import("yaml");
  // The parser's first line of a fault, without the colon that introduces the excerpt it quotes after it.
  const faultOf = (error: Error) => error.message.split("\n")[0]!.replace(/:$/, "");
  try {
    const parsed = parseDocument(text);
    if (parsed.errors.length > 0) throw parsed.errors[0]!;
    // A warning (a tag such as !!js/function that YAML does not know) is refused as an error: the value
    // under it would be read as plain text, and the parser would print it on stderr past the CLI.
    const warning = parsed.warnings[0];
    if (warning) {
      throw new ReleaseError(
        "invalid-input",
        `--config ${file} holds YAML this tool does not read: ${faultOf(warning)}.`,
        "Write the settings as plain values (strings, numbers, true/false, mappings), with no tag (!!...).",
      );
    }
    document = parsed.toJS();
  } catch (error) {
    if (error instanceof ReleaseError) throw error;
    throw new ReleaseError(
      "invalid-input",
      `--config ${file} is neither JSON nor YAML: ${faultOf(error as Error)}.`,
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
  const stack = releaseSettingsOfStackFile(document, `--config ${file}`, file);
  if (stack) {
    const environment = stack.perRun.find(({ flag }) => flag === "--environment");
    return {
      stack: true,
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
  return { stack: false, document: document as Record<string, unknown>, notes: [] };
}

/** Whether a --config file's document is a mapping (the resolver refuses anything else, naming its kind). */
function isMapping(document: unknown): document is Record<string, unknown> {
  return typeof document === "object" && document !== null && !Array.isArray(document);
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

/** The release settings of `document` that `command` reads none of (COMMAND_SETTINGS), in the document's order. */
function unreadSettings(document: Record<string, unknown>, command: Command): (keyof ReleaseSettings)[] {
  return Object.keys(document).filter(
    (key): key is keyof ReleaseSettings =>
      Object.hasOwn(COMMAND_SETTINGS, key) &&
      !COMMAND_SETTINGS[key as keyof ReleaseSettings].includes(command),
  );
}

/**
 * A --config file's or a --set flag's release setting that the command reads none of is refused, naming the
 * commands that read it, as its flag is (`health --set rowLevelSecurity=off` as `health --row-level-security
 * off`): it would change nothing, and the operator would believe it did. A stack file is the exception: it
 * holds the stack's settings for every command, so those this command does not read are left out, and said so.
 */
function refuseUnreadSettings(
  document: Record<string, unknown>,
  source: { config: ConfigFile & { file: string } } | { flag: string },
  command: Command,
  notes?: (line: string) => void,
): Record<string, unknown> {
  const unread = unreadSettings(document, command);
  if (unread.length === 0) return document;
  if ("flag" in source) {
    throw otherCommandsError(
      `--set ${unread[0]}`,
      COMMAND_SETTINGS[unread[0]!],
      command,
      `--set ${source.flag}`,
    );
  }
  const { config } = source;
  if (!config.stack) {
    throw otherCommandsError(
      `--config ${config.file}: ${unread[0]}`,
      COMMAND_SETTINGS[unread[0]!],
      command,
      `--config ${config.file}`,
      "Leave it out of the file",
    );
  }
  const kept = { ...document };
  for (const key of unread) {
    delete kept[key];
    notes?.(
      `--config ${config.file}: ${key} is not read by ${command} (it goes with ${COMMAND_SETTINGS[key].join(" and ")}); this run leaves it out.`,
    );
  }
  return kept;
}

/** The release settings of --config, --set and --row-level-security; `notes` gets what to tell the operator. */
export function releaseSettings(args: CliArgs, notes?: (line: string) => void): ReleaseSettings {
  const documents: Record<string, unknown>[] = [];
  const sources: string[] = [];
  // help and version read no settings; every other command is checked for the ones it reads.
  const command = args.command === "help" || args.command === "version" ? undefined : args.command;
  if (args.configFile) {
    const file = readConfigFile(args.configFile);
    const document =
      command && isMapping(file.document)
        ? refuseUnreadSettings(file.document, { config: { ...file, file: args.configFile } }, command, notes)
        : file.document;
    documents.push(document);
    sources.push(`--config ${args.configFile}`);
    for (const line of file.notes) notes?.(line);
  }
  for (const flag of args.settings) {
    const document = settingFromFlag(flag);
    documents.push(command ? refuseUnreadSettings(document, { flag }, command) : document);
  }
  if (args.settings.length > 0) sources.push("--set");
  if (args.rowLevelSecurity) documents.push({ rowLevelSecurity: args.rowLevelSecurity });
  if (documents.length === 0) return {};
  // A file's document must be an object: check it before merging it with the flags.
  if (args.configFile) resolveReleaseSettings(documents[0], sources[0]!);
  return resolveReleaseSettings(mergeSettings(...documents), sources.join(" and ") || "--row-level-security");
}

/** Whether `document` gives the setting at `settingPath` (`vectorIndexes.maxMaintenanceWorkMem`), or a value over it. */
function holds(document: unknown, settingPath: readonly string[]): boolean {
  let value = document;
  for (const key of settingPath) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return false;
    value = (value as Record<string, unknown>)[key];
  }
  return true;
}

/**
 * The CLI's CommandPrinter.setting: how a fix names a release setting to change (its path,
 * `vectorIndexes.maxMaintenanceWorkMem`), where this run took it from. The --config file that gives it, by its
 * key there (a stack file's `neonhub-db:` key, as the file writes it), unless a --set flag gave it too, which
 * wins over the file; else the --set flag that gives it, which the printed commands carry with the file's.
 * No value is shown: a file's content never is (core/shown-value.ts).
 */
export function settingWords(args: CliArgs): (settingPath: string) => string {
  const file = args.configFile ? { name: args.configFile, ...readConfigFile(args.configFile) } : undefined;
  const flags = args.settings.map(settingFromFlag);
  return (settingPath) => {
    const keys = settingPath.split(".");
    const flag = `\`--set ${shellWord(`${settingPath}=`)}<value>\``;
    if (flags.some((document) => holds(document, keys)) || !file || !holds(file.document, keys)) {
      return `${settingPath} (${flag})`;
    }
    const [first = "", ...rest] = keys;
    const stackName = stackKeyOf(first) ?? first;
    const key = file.stack ? [`${STACK_CONFIG_NAMESPACE}:${stackName}`, ...rest].join(".") : settingPath;
    return `${key} in ${file.name} (the --config file)`;
  };
}
