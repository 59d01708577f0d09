// The statement that puts a drifted object back the way the release left it, derived from the value the
// snapshot recorded (and, to undo what was added, the live one). Only for what one statement can restore
// without guessing: row-level security flags, owners, grants, default privileges, storage settings, extension
// versions, plain indexes dropped or added by hand (CONCURRENTLY: the table stays writable), and constraints
// dropped or changed by hand (added again as recorded, which also builds the index behind a unique one). A
// dropped column or a changed function has none: a restore, or a migration, brings those back; apply does not.
import { quoteIdentifier } from "./identifiers";
import { literal } from "./sql";
import type { SchemaSnapshot, SnapshotDiff } from "./snapshot";

interface GrantSignature {
  /** `ALTER DEFAULT PRIVILEGES FOR ROLE ... [IN SCHEMA ...]` for default privileges; absent for an object's grant. */
  scope?: string;
  on: string;
  to: string;
  privileges: string[];
}

const GRANT_OPTION = " WITH GRANT OPTION";

/** key → repair statement(s), for each changed, removed or added object that has one. */
export function repairStatements(
  recorded: SchemaSnapshot,
  live: SchemaSnapshot,
  diff: SnapshotDiff,
): Record<string, string> {
  const repairs: Record<string, string> = {};
  for (const key of [...diff.changed, ...diff.removed, ...diff.added]) {
    const repair = repairOf(key, recorded[key], live[key]);
    if (repair) repairs[key] = repair;
  }
  return repairs;
}

/** The repair statement of one snapshot key (`index public.idx_agent_run_started`), if it has one. */
export function repairOf(
  key: string,
  recorded: string | undefined,
  live: string | undefined,
): string | undefined {
  const space = key.indexOf(" ");
  const kind = key.slice(0, space);
  const object = key.slice(space + 1);
  switch (kind) {
    case "table":
      return recorded !== undefined && live !== undefined ? tableRepair(object, recorded, live) : undefined;
    case "owner":
      return recorded !== undefined ? `ALTER ${object} OWNER TO ${recorded}` : undefined;
    case "grant":
    case "default-privileges":
      return grantRepair(parseGrant(recorded), parseGrant(live));
    case "storage":
      return storageRepair(object, parseOptions(recorded), parseOptions(live));
    case "index":
      return indexRepair(object, recorded, live);
    case "constraint":
      return recorded !== undefined ? constraintRepair(object, recorded, live) : undefined;
    case "extension-version":
      return recorded !== undefined
        ? live !== undefined
          ? `ALTER EXTENSION ${object} UPDATE TO ${literal(recorded)}`
          : `CREATE EXTENSION ${object} VERSION ${literal(recorded)}`
        : undefined;
    default:
      return undefined;
  }
}

/**
 * An "index" signature is `pg_get_indexdef(...) valid=<bool>`. A plain index the release made and a hand
 * dropped is built again; one a hand added is dropped. A unique index may back a constraint, which its own
 * drift names: left to the operator.
 */
function indexRepair(
  object: string,
  recorded: string | undefined,
  live: string | undefined,
): string | undefined {
  const plain = (signature: string) => signature.startsWith("CREATE INDEX ");
  if (recorded !== undefined && live === undefined && plain(recorded)) {
    return recorded
      .replace(/ valid=(true|false)$/, "")
      .replace(/^CREATE INDEX /, "CREATE INDEX CONCURRENTLY ");
  }
  if (recorded === undefined && live !== undefined && plain(live)) {
    const dot = object.indexOf(".");
    return `DROP INDEX CONCURRENTLY ${quoteIdentifier(object.slice(0, dot))}.${quoteIdentifier(object.slice(dot + 1))}`;
  }
  return undefined;
}

/**
 * A "constraint" signature is `pg_get_constraintdef(...)`, keyed `<schema>.<table>.<name>`: one dropped by
 * hand is added again, one changed is dropped and added as recorded, in one ALTER TABLE. (A constraint added
 * by hand is left to the operator: it may be data's guard the app relies on.)
 */
function constraintRepair(object: string, recorded: string, live: string | undefined): string {
  const [schema, table, ...name] = object.split(".");
  const constraint = quoteIdentifier(name.join("."));
  const drop = live !== undefined ? `DROP CONSTRAINT ${constraint}, ` : "";
  return `ALTER TABLE ${quoteIdentifier(schema!)}.${quoteIdentifier(table!)} ${drop}ADD CONSTRAINT ${constraint} ${recorded}`;
}

/** A "table" signature is `<relkind> rls=<bool> force=<bool>`: the flags are what a statement can restore. */
function tableRepair(object: string, recorded: string, live: string): string | undefined {
  const [recordedKind, ...recordedFlags] = recorded.split(" ");
  const [liveKind, ...liveFlags] = live.split(" ");
  if (recordedKind !== liveKind || !["r", "p"].includes(recordedKind!)) return undefined;
  const flag = (flags: string[], name: string) => flags.includes(`${name}=true`);
  const dot = object.indexOf(".");
  const table = `${quoteIdentifier(object.slice(0, dot))}.${quoteIdentifier(object.slice(dot + 1))}`;
  const statements: string[] = [];
  if (flag(recordedFlags, "rls") !== flag(liveFlags, "rls")) {
    statements.push(
      `ALTER TABLE ${table} ${flag(recordedFlags, "rls") ? "ENABLE" : "DISABLE"} ROW LEVEL SECURITY`,
    );
  }
  if (flag(recordedFlags, "force") !== flag(liveFlags, "force")) {
    statements.push(
      `ALTER TABLE ${table} ${flag(recordedFlags, "force") ? "" : "NO "}FORCE ROW LEVEL SECURITY`,
    );
  }
  return statements.length ? statements.join("; ") : undefined;
}

/** A "grant" or "default-privileges" signature: the JSON of what is granted, on what, to whom. */
export function parseGrant(signature: string | undefined): GrantSignature | undefined {
  return signature === undefined ? undefined : (JSON.parse(signature) as GrantSignature);
}

/** Revoke what is there that should not be, then grant what was recorded. */
function grantRepair(
  recorded: GrantSignature | undefined,
  live: GrantSignature | undefined,
): string | undefined {
  const grant = recorded ?? live;
  if (!grant) return undefined;
  const prefix = grant.scope ? `ALTER DEFAULT PRIVILEGES ${grant.scope} ` : "";
  const statements: string[] = [];
  if (live) statements.push(`${prefix}REVOKE ALL ON ${grant.on} FROM ${grant.to}`);
  if (recorded) {
    const plain = recorded.privileges.filter((p) => !p.endsWith(GRANT_OPTION));
    const grantable = recorded.privileges
      .filter((p) => p.endsWith(GRANT_OPTION))
      .map((p) => p.slice(0, -GRANT_OPTION.length));
    if (plain.length) statements.push(`${prefix}GRANT ${plain.join(", ")} ON ${grant.on} TO ${grant.to}`);
    if (grantable.length) {
      statements.push(`${prefix}GRANT ${grantable.join(", ")} ON ${grant.on} TO ${grant.to}${GRANT_OPTION}`);
    }
  }
  return statements.join("; ");
}

/** A "storage" signature is the JSON array of the table's reloptions, each "name=value". */
function parseOptions(signature: string | undefined): Map<string, string> {
  const options = new Map<string, string>();
  for (const option of signature === undefined ? [] : (JSON.parse(signature) as string[])) {
    const eq = option.indexOf("=");
    options.set(option.slice(0, eq), option.slice(eq + 1));
  }
  return options;
}

function storageRepair(
  object: string,
  recorded: Map<string, string>,
  live: Map<string, string>,
): string | undefined {
  const statements: string[] = [];
  const extra = [...live.keys()].filter((name) => !recorded.has(name));
  if (extra.length) statements.push(`ALTER ${object} RESET (${extra.join(", ")})`);
  const settings = [...recorded].map(([name, value]) => `${name} = ${optionValue(value)}`);
  if (settings.length) statements.push(`ALTER ${object} SET (${settings.join(", ")})`);
  return statements.length ? statements.join("; ") : undefined;
}

/** A number or a plain word as it is; anything else as a string literal, which every option also accepts. */
function optionValue(value: string): string {
  return /^[A-Za-z0-9_.+-]+$/.test(value) ? value : literal(value);
}
