// The stack's plain (unencrypted) config values, read from its `Pulumi.<stack>.yaml`.
//
// Why read the file: the engine hands a policy every input with secrets already decrypted, so a policy cannot
// tell `pulumi config set --secret` from a plain `pulumi config set` by looking at the resource. The stack file
// can: a secret is stored as `{ secure: "v1:..." }`, anything else is readable by whoever reads the repository.
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

/** One plain config value, named as `pulumi config set` names it. */
export interface PlainConfigValue {
  /**
   * A top-level key as the file writes it (`neonhub-db:masterPassword`); a value inside a map or list, its
   * namespace and the property path `pulumi config set --path` reads (`neonhub-db:db.password`,
   * `neonhub-db:replica.credentials[0].password`, `neonhub-db:db["host.name"]`).
   */
  key: string;
  /**
   * Whether `key` is a path into a map or list (set with `--path`), decided here by where the value sits, not
   * by the key's text: a top-level key may itself hold a `.` (one set without `--path`), and `--path` would
   * then set a nested value beside it and leave it plain.
   */
  nested: boolean;
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
  for (const [key, value] of Object.entries(config)) {
    if (value === null || value === undefined || isSecure(value)) continue;
    if (isStructured(value)) collectPlain(rootOfPath(key), value, values);
    else values.push({ key, nested: false, value: String(value) });
  }
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

/**
 * Walks a structured value (maps and lists), keeping every leaf that is not a `secure` value, each under the
 * property path Pulumi reads (its ParsePropertyPath): `[<index>]` for a list item, `.<name>` for a map's key,
 * `["<name>"]` for one that a `.`, a `[` or emptiness would misread.
 */
function collectPlain(at: string, value: unknown, into: PlainConfigValue[]): void {
  if (value === null || value === undefined || isSecure(value)) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => collectPlain(`${at}[${index}]`, item, into));
  } else if (isRecord(value)) {
    for (const [child, item] of Object.entries(value))
      collectPlain(`${at}${propertyStep(child, "after")}`, item, into);
  } else {
    into.push({ key: at, nested: true, value: String(value) });
  }
}

/** A structured top-level key's path root: `<namespace>:<name>`, its name written as a path's first step. */
function rootOfPath(key: string): string {
  const colon = key.indexOf(":");
  return `${key.slice(0, colon + 1)}${propertyStep(key.slice(colon + 1), "first")}`;
}

/** A map key as one step of a property path: bare (after a `.` unless first), else quoted in brackets. */
function propertyStep(name: string, position: "first" | "after"): string {
  if (name !== "" && !/[.[]/.test(name)) return position === "first" ? name : `.${name}`;
  return `["${name.replace(/"/g, '\\"')}"]`;
}

/** A value set with `--secret`: `{ secure: "v1:..." }`, encrypted in the file. */
function isSecure(value: unknown): boolean {
  return isRecord(value) && "secure" in value;
}

function isStructured(value: unknown): boolean {
  return Array.isArray(value) || isRecord(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
