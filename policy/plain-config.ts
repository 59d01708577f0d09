// The stack's plain (unencrypted) config values, read from its `Pulumi.<stack>.yaml`.
//
// Why read the file: the engine hands a policy every input with secrets already decrypted, so a policy cannot
// tell `pulumi config set --secret` from a plain `pulumi config set` by looking at the resource. The stack file
// can: a secret is stored as `{ secure: "v1:..." }`, anything else is readable by whoever reads the repository.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

/** One plain config value: its key (with namespace and path, e.g. `neonhub-db:db.password`) and value. */
export interface PlainConfigValue {
  key: string;
  value: string;
}

/** Returns the plain config values of a stack; an empty list when the stack has no stack file. */
export type PlainConfigSource = (stack: string) => readonly PlainConfigValue[];

/** Reads the stack files of the Pulumi project in `projectDir`, once per stack. */
export function plainConfigFromProject(projectDir: string): PlainConfigSource {
  const cache = new Map<string, readonly PlainConfigValue[]>();
  return (stack) => {
    let values = cache.get(stack);
    if (values === undefined) {
      values = readPlainConfig(projectDir, stack);
      cache.set(stack, values);
    }
    return values;
  };
}

/** The name of the stack file that holds `stack`'s config, relative to the project directory. */
export function stackFileName(projectDir: string, stack: string): string {
  return path.join(stackConfigDir(projectDir), `Pulumi.${stack}.yaml`);
}

function readPlainConfig(projectDir: string, stack: string): readonly PlainConfigValue[] {
  const file = path.join(projectDir, stackFileName(projectDir, stack));
  if (!fs.existsSync(file)) return [];
  const document: unknown = parse(fs.readFileSync(file, "utf8"));
  const config = isRecord(document) ? document.config : undefined;
  if (!isRecord(config)) return [];
  const values: PlainConfigValue[] = [];
  for (const [key, value] of Object.entries(config)) collectPlain(key, value, values);
  return values;
}

/** Pulumi.yaml may move stack files with `stackConfigDir`; by default they sit beside it. */
function stackConfigDir(projectDir: string): string {
  const project = path.join(projectDir, "Pulumi.yaml");
  if (!fs.existsSync(project)) return "";
  const document: unknown = parse(fs.readFileSync(project, "utf8"));
  const dir = isRecord(document) ? document.stackConfigDir : undefined;
  return typeof dir === "string" ? dir : "";
}

/** Walks structured config (maps and lists), keeping every leaf that is not a `secure` value. */
function collectPlain(key: string, value: unknown, into: PlainConfigValue[]): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => collectPlain(`${key}[${index}]`, item, into));
  } else if (isRecord(value)) {
    if ("secure" in value) return;
    for (const [child, item] of Object.entries(value)) collectPlain(`${key}.${child}`, item, into);
  } else {
    into.push({ key, value: String(value) });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
