// Validators for stack config values. Each takes the stack's name (pulumi.getStack()) and the raw string Pulumi
// hands the program (undefined when the key is unset) and returns a typed value or throws a ConfigValueError
// that names the key, what is wrong and an example command that fixes it, on that stack
// (dynamic/config-command.ts). Pure: tests call them directly.
import { SSL_MODES, STACK_CONFIG_NAMESPACE, closestName, readConnectionUrl, shownValue } from "../core";
import { parseIpv4Cidr } from "./cidr";
import { configSetCommand } from "./dynamic/config-command";
import { POSTGRES_MAJOR, listVersionsCommand, parameterGroupFamily } from "./engine-version";

export const CONFIG_NAMESPACE = STACK_CONFIG_NAMESPACE;

/** What an error says in place of the value of a key Pulumi holds as a secret: not even its length. */
export const SECRET_VALUE = "a secret value";

/** One invalid config value. Never carries the value of a secret key (see `withoutValue`). */
export class ConfigValueError extends Error {
  constructor(
    /** The full key, e.g. `neonhub-db:dockerPort`. */
    readonly key: string,
    /** What is wrong with the value. */
    readonly problem: string,
    /** A command that sets a valid value. */
    readonly example: string,
    /**
     * The problem with the value it names said as SECRET_VALUE, for a key held as a secret; unset when
     * `problem` names no value of the key.
     */
    readonly problemWithoutValue?: string,
  ) {
    super(`${key}: ${problem}. Example: ${example}`);
    this.name = "ConfigValueError";
  }

  /** The same refusal for a key held as a secret: the value is not shown. */
  withoutValue(): ConfigValueError {
    return this.problemWithoutValue === undefined
      ? this
      : new ConfigValueError(this.key, this.problemWithoutValue, this.example);
  }
}

// A password in a URL's user info (any scheme) or libpq's password=: a connection string under the wrong key.
const HOLDS_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^/?#\s@]*:[^\s@]*@|\bpassword\s*=/i;

/**
 * A refused value of a key the stack holds in plain text, as an error shows it: core/shown-value.ts's rule for
 * a value the operator typed (short text in full, longer text by its length; numbers and true/false as they
 * are), except that text holding a password, such as a connection string under the wrong key, is never shown.
 */
export function shownConfigValue(value: unknown): string {
  if (typeof value === "string" && HOLDS_PASSWORD.test(value)) {
    return "a value holding a password, not shown";
  }
  return shownValue(value, "pulumi config");
}

/**
 * The refusal of `value` of `key`: `problem` is given how the value is shown, and is said once with the value
 * (shownConfigValue) and once without it (for a key held as a secret).
 */
export function refusal(
  key: string,
  value: unknown,
  problem: (shown: string) => string,
  example: string,
): ConfigValueError {
  return new ConfigValueError(fullKey(key), problem(shownConfigValue(value)), example, problem(SECRET_VALUE));
}

export function fullKey(key: string): string {
  return `${CONFIG_NAMESPACE}:${key}`;
}

function exampleSet(stack: string, key: string, value: string, secret = false): string {
  return configSetCommand(stack, key, value, { secret });
}

function exampleList(stack: string, key: string, value: string): string {
  return configSetCommand(stack, `${key}[0]`, value, { path: true });
}

function fail(key: string, problem: string, example: string): never {
  throw new ConfigValueError(fullKey(key), problem, example);
}

/** Throws the refusal of `value` (see `refusal`). */
function refuse(key: string, value: unknown, problem: (shown: string) => string, example: string): never {
  throw refusal(key, value, problem, example);
}

function isSet(raw: string | undefined): raw is string {
  return raw !== undefined && raw.trim() !== "";
}

/** A required value: fails when unset. */
export function requireValue(key: string, raw: string | undefined, example: string): string {
  if (!isSet(raw)) fail(key, "is required for this stack but not set", example);
  return raw.trim();
}

export function parseChoice<T extends string>(
  stack: string,
  key: string,
  raw: string | undefined,
  choices: readonly T[],
  fallback: T,
): T {
  if (!isSet(raw)) return fallback;
  const value = raw.trim();
  if (!(choices as readonly string[]).includes(value)) {
    // Case aside: "RDS" is rds mistyped, not a reason to suggest the fallback.
    const near = closestName(value.toLowerCase(), choices);
    refuse(
      key,
      value,
      (shown) =>
        `must be one of ${choices.join(", ")} (got ${shown}${near ? `; did you mean ${near}?` : ""})`,
      exampleSet(stack, key, near ?? fallback),
    );
  }
  return value as T;
}

export interface IntegerRule {
  min: number;
  max: number;
  /** The value to show in the example command. */
  example: number;
}

export function parseInteger(
  stack: string,
  key: string,
  raw: string | undefined,
  rule: IntegerRule,
): number | undefined {
  if (!isSet(raw)) return undefined;
  const value = raw.trim();
  const parsed = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < rule.min || parsed > rule.max) {
    refuse(
      key,
      value,
      (shown) => `must be a whole number from ${rule.min} to ${rule.max} (got ${shown})`,
      exampleSet(stack, key, String(rule.example)),
    );
  }
  return parsed;
}

export function parseIntegerOr(
  stack: string,
  key: string,
  raw: string | undefined,
  rule: IntegerRule,
  fallback: number,
): number {
  return parseInteger(stack, key, raw, rule) ?? fallback;
}

export function parseBoolean(
  stack: string,
  key: string,
  raw: string | undefined,
  fallback: boolean,
): boolean {
  if (!isSet(raw)) return fallback;
  const value = raw.trim().toLowerCase();
  if (value === "true") return true;
  if (value === "false") return false;
  return refuse(
    key,
    raw.trim(),
    (shown) => `must be true or false (got ${shown})`,
    exampleSet(stack, key, String(fallback)),
  );
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * A PostgreSQL name we create (database, role prefix): lower case, so it never needs quoting, and short enough
 * that suffixes still fit the 63-byte limit.
 */
export function parseIdentifier(
  stack: string,
  key: string,
  raw: string | undefined,
  fallback: string,
  maxLength = 63,
): string {
  if (!isSet(raw)) return fallback;
  const value = raw.trim();
  if (!IDENTIFIER.test(value) || value.length > maxLength) {
    refuse(
      key,
      value,
      (shown) =>
        `must be a lower-case PostgreSQL name (letters, digits, underscores; not starting with a digit; at most ${maxLength} characters) (got ${shown})`,
      exampleSet(stack, key, fallback),
    );
  }
  if (value.startsWith("pg_"))
    fail(key, `must not start with "pg_", which PostgreSQL reserves`, exampleSet(stack, key, fallback));
  return value;
}

/** A list: a JSON array of strings (what `pulumi config set --path 'key[0]'` stores) or comma-separated text. */
export function parseList(stack: string, key: string, raw: string | undefined, example: string): string[] {
  if (!isSet(raw)) return [];
  const value = raw.trim();
  if (value.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return fail(key, "is not a valid JSON list", exampleList(stack, key, example));
    }
    if (!Array.isArray(parsed) || parsed.some((item) => typeof item !== "string")) {
      fail(key, "must be a list of strings", exampleList(stack, key, example));
    }
    return (parsed as string[]).map((item) => item.trim()).filter((item) => item !== "");
  }
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

export interface AdminConnection {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The maintenance database the admin connects to (usually `postgres`). */
  database: string;
  /** `sslmode` from the URL's query, `disable` for loopback hosts and `prefer` otherwise. */
  sslmode: string;
}

/** The example of an admin URL, set as a secret on `stack`. */
export function adminUrlExample(stack: string): string {
  return exampleSet(stack, "adminUrl", "'postgresql://postgres:<password>@127.0.0.1:54329/postgres'", true);
}
// The provider's driver (Go's lib/pq) knows libpq's values, not node-postgres's own no-verify.
const PROVIDER_SSL_MODES = SSL_MODES.filter((mode) => mode !== "no-verify");

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The existing server's admin connection string. It holds a password, so no error message repeats it.
 */
export function parseAdminUrl(stack: string, key: string, raw: string | undefined): AdminConnection {
  const example = adminUrlExample(stack);
  const value = requireValue(key, raw, example);
  const reading = readConnectionUrl(value, { defaultDatabase: "postgres", sslModes: PROVIDER_SSL_MODES });
  if (!reading.ok) {
    return fail(
      key,
      // fail() adds ". Example: ...": the fix's own full stop would double it.
      `${reading.problem} (value not shown: it holds a password). ${reading.fix.replace(/\.$/, "")}`,
      example,
    );
  }
  const { host, port, user, userGiven, password, database } = reading.parts;
  if (!userGiven) fail(key, "has no user name", example);
  if (!password) fail(key, "has no password", example);
  const sslmode = reading.parts.sslmode ?? (isLoopback(host) ? "disable" : "prefer");
  return { host, port, user, password, database, sslmode };
}

// [registry[:port]/]path[:tag][@sha256:digest]; the registry's port is not a tag.
const IMAGE =
  /^(?:[a-zA-Z0-9.-]+(?::\d{1,5})?\/)?[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?<digest>@sha256:[0-9a-f]{64})?$/;

/** A container image reference; it must pin a tag or digest so every `pulumi up` runs the same server. */
export function parseImage(stack: string, key: string, raw: string | undefined, fallback: string): string {
  if (!isSet(raw)) return fallback;
  const value = raw.trim();
  const match = IMAGE.exec(value);
  if (!match)
    refuse(
      key,
      value,
      (shown) => `is not a container image reference (got ${shown})`,
      exampleSet(stack, key, fallback),
    );
  const { tag, digest } = match.groups ?? {};
  // No tag is "latest": both move whenever the image is pushed again.
  if (!digest && (tag === undefined || tag === "latest")) {
    refuse(
      key,
      value,
      (shown) => `must name a tag or digest, not the moving "latest" (got ${shown})`,
      exampleSet(stack, key, fallback),
    );
  }
  return value;
}

export function parseInstanceClass(
  stack: string,
  key: string,
  raw: string | undefined,
  fallback: string,
): string {
  if (!isSet(raw)) return fallback;
  const value = raw.trim();
  if (!/^db\.[a-z0-9]+\.[a-z0-9]+$/.test(value)) {
    refuse(
      key,
      value,
      (shown) => `must be an RDS instance class like db.r6g.large (got ${shown})`,
      exampleSet(stack, key, fallback),
    );
  }
  return value;
}

/**
 * The engine version: the major this program's parameter groups are for, alone or as major.minor. RDS accepts
 * the major alone and picks the newest minor (with automatic minor upgrades); Aurora needs major.minor. Only
 * the form and the major are checked: which minors exist is AWS's to say (it refuses one it does not offer
 * when it creates the server), and a list written here would be wrong by the next release.
 */
export function parseEngineVersion(
  stack: string,
  key: string,
  raw: string | undefined,
  engine: "rds" | "aurora",
  fallback: string,
): string {
  const value = isSet(raw) ? raw.trim() : fallback;
  const rdsEngine = engine === "aurora" ? "aurora-postgresql" : "postgres";
  const example = exampleSet(stack, key, engine === "aurora" ? `${POSTGRES_MAJOR}.6` : POSTGRES_MAJOR);
  const minorsNotChecked = `; the minor is not checked here (AWS refuses one it does not offer when it creates the server): list them with ${listVersionsCommand(rdsEngine)}`;
  // Digits without leading zeros, as AWS writes its versions: "16", "16.6".
  const match = /^(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?$/.exec(value);
  if (!match) {
    refuse(
      key,
      value,
      (shown) =>
        `is not a PostgreSQL version (got ${shown}): give the major, "${POSTGRES_MAJOR}", or major.minor, "${POSTGRES_MAJOR}.<minor>"${minorsNotChecked}`,
      example,
    );
  }
  if (match[1] !== POSTGRES_MAJOR) {
    refuse(
      key,
      value,
      (shown) =>
        `must be PostgreSQL ${POSTGRES_MAJOR}, the major of the ${parameterGroupFamily(rdsEngine)} parameter group this program creates (got ${shown})`,
      example,
    );
  }
  if (engine === "aurora" && match[2] === undefined) {
    refuse(
      key,
      value,
      (shown) =>
        `Aurora PostgreSQL needs major.minor, such as ${POSTGRES_MAJOR}.6 (got ${shown})${minorsNotChecked}`,
      example,
    );
  }
  return value;
}

/** Refuses a list that names an item twice: `why` says what the repeat would do. */
function refuseRepeats(key: string, items: readonly string[], why: string, example: string): void {
  const repeated = items.find((item, index) => items.indexOf(item) !== index);
  if (repeated !== undefined) {
    refuse(key, repeated, (shown) => `lists ${shown} twice: ${why}; name each once`, example);
  }
}

/** CIDR blocks allowed to reach the database. The whole internet is refused: use a VPN or a bastion. */
export function parseCidrList(stack: string, key: string, raw: string | undefined): string[] {
  const items = parseList(stack, key, raw, "10.0.0.0/16");
  for (const item of items) {
    const cidr = parseIpv4Cidr(item);
    if (!cidr)
      refuse(
        key,
        item,
        (shown) => `has ${shown}, which is not an IPv4 CIDR block`,
        exampleList(stack, key, "10.0.0.0/16"),
      );
    if (cidr.prefix < 8) {
      refuse(
        key,
        item,
        (shown) => `has ${shown}, which opens the database to the internet; list the networks that need it`,
        exampleList(stack, key, "10.0.0.0/16"),
      );
    }
  }
  refuseRepeats(
    key,
    items,
    "the security group's rule would list the block twice",
    exampleList(stack, key, "10.0.0.0/16"),
  );
  return items;
}

function parseAwsIds(
  stack: string,
  key: string,
  raw: string | undefined,
  prefix: string,
  example: string,
  repeatedBecause: string,
): string[] {
  const items = parseList(stack, key, raw, example);
  const pattern = new RegExp(`^${prefix}-[0-9a-f]{8,17}$`);
  for (const item of items) {
    if (!pattern.test(item))
      refuse(
        key,
        item,
        (shown) => `has ${shown}, which is not a ${prefix}-... id`,
        exampleList(stack, key, example),
      );
  }
  refuseRepeats(key, items, repeatedBecause, exampleList(stack, key, example));
  return items;
}

export function parseSecurityGroupIds(stack: string, key: string, raw: string | undefined): string[] {
  return parseAwsIds(
    stack,
    key,
    raw,
    "sg",
    "sg-0123456789abcdef0",
    "the security group's rule would list the group twice",
  );
}

export function parseSubnetIds(stack: string, key: string, raw: string | undefined): string[] {
  return parseAwsIds(
    stack,
    key,
    raw,
    "subnet",
    "subnet-0123456789abcdef0",
    "an RDS subnet group needs at least two different subnets, in different availability zones",
  );
}

export function parseVpcId(stack: string, key: string, raw: string | undefined): string | undefined {
  if (!isSet(raw)) return undefined;
  const value = raw.trim();
  if (!/^vpc-[0-9a-f]{8,17}$/.test(value)) {
    refuse(
      key,
      value,
      (shown) => `must be a vpc-... id (got ${shown})`,
      exampleSet(stack, key, "vpc-0123456789abcdef0"),
    );
  }
  return value;
}

/** A VPC block to create: /16 to /24, so that /4-smaller private subnets still hold RDS's addresses. */
export function parseVpcCidr(stack: string, key: string, raw: string | undefined, fallback: string): string {
  const value = isSet(raw) ? raw.trim() : fallback;
  const cidr = parseIpv4Cidr(value);
  if (!cidr || cidr.prefix < 16 || cidr.prefix > 24) {
    refuse(
      key,
      value,
      (shown) => `must be an IPv4 CIDR block from /16 to /24 (got ${shown})`,
      exampleSet(stack, key, fallback),
    );
  }
  return value;
}

/**
 * A KMS key ARN. RDS encrypts with a key of its own region only, and refuses another region's when it creates
 * the server: with the stack's region known (`aws:region`), the key's must be it.
 */
export function parseKmsKeyArn(
  stack: string,
  key: string,
  raw: string | undefined,
  region?: string,
): string | undefined {
  if (!isSet(raw)) return undefined;
  const value = raw.trim();
  const example = (inRegion: string) =>
    exampleSet(stack, key, `arn:aws:kms:${inRegion}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab`);
  const match = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key\/[A-Za-z0-9-]+$/.exec(value);
  if (!match) {
    refuse(key, value, (shown) => `must be a KMS key ARN (got ${shown})`, example(region ?? "us-east-1"));
  }
  const keyRegion = match[1];
  if (region !== undefined && keyRegion !== region) {
    const problem = (where: string) =>
      `is a key ${where}, but the stack deploys to ${region}: RDS encrypts only with a key of its own region. Give a key in ${region} (a multi-Region key's replica there), or remove kmsKeyArn and the stack creates one`;
    throw new ConfigValueError(
      fullKey(key),
      problem(`in ${keyRegion}`),
      example(region),
      problem("of another region"),
    );
  }
  return value;
}

/** Performance Insights keeps 7 days free of charge, or whole months (31 days) up to 731 days. */
export function parsePerformanceInsightsRetention(
  stack: string,
  key: string,
  raw: string | undefined,
  fallback: number,
): number {
  const value = parseIntegerOr(stack, key, raw, { min: 7, max: 731, example: 7 }, fallback);
  if (value !== 7 && value !== 731 && value % 31 !== 0) {
    fail(key, `must be 7, a multiple of 31 or 731 days (got ${value})`, exampleSet(stack, key, "7"));
  }
  return value;
}

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port`, e.g. the local end of a tunnel to a private database. */
export function parseHostPort(stack: string, key: string, raw: string | undefined): HostPort | undefined {
  if (!isSet(raw)) return undefined;
  const value = raw.trim();
  const match = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port < 1 || port > 65535) {
    refuse(
      key,
      value,
      (shown) => `must be host:port (got ${shown})`,
      exampleSet(stack, key, "127.0.0.1:15432"),
    );
  }
  return { host: match[1] ?? "", port };
}

/** RDS master user names: a PostgreSQL name RDS does not reserve. */
export function parseMasterUsername(
  stack: string,
  key: string,
  raw: string | undefined,
  fallback: string,
): string {
  const value = parseIdentifier(stack, key, raw, fallback, 63);
  if (["rdsadmin", "rdsrepladmin", "public"].includes(value)) {
    refuse(key, value, (shown) => `${shown} is reserved on RDS`, exampleSet(stack, key, fallback));
  }
  return value;
}
