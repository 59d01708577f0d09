// Validators for stack config values. Each takes the raw string Pulumi hands the program (undefined when the
// key is unset) and returns a typed value or throws a ConfigValueError that names the key, what is wrong and
// an example command that fixes it. Pure: tests call them directly.
import { SSL_MODES, STACK_CONFIG_NAMESPACE, closestName, readConnectionUrl } from "../core";
import { parseIpv4Cidr } from "./cidr";

export const CONFIG_NAMESPACE = STACK_CONFIG_NAMESPACE;

/** One invalid config value. Never carries the value of a secret key. */
export class ConfigValueError extends Error {
  constructor(
    /** The full key, e.g. `neonhub-db:dockerPort`. */
    readonly key: string,
    /** What is wrong with the value. */
    readonly problem: string,
    /** A command that sets a valid value. */
    readonly example: string,
  ) {
    super(`${key}: ${problem}. Example: ${example}`);
    this.name = "ConfigValueError";
  }
}

export function fullKey(key: string): string {
  return `${CONFIG_NAMESPACE}:${key}`;
}

function exampleSet(key: string, value: string, secret = false): string {
  return `pulumi config set ${secret ? "--secret " : ""}${fullKey(key)} ${value}`;
}

function exampleList(key: string, value: string): string {
  return `pulumi config set --path '${fullKey(key)}[0]' ${value}`;
}

function fail(key: string, problem: string, example: string): never {
  throw new ConfigValueError(fullKey(key), problem, example);
}

function quoted(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw);
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
    fail(
      key,
      `must be one of ${choices.join(", ")} (got ${quoted(value)}${near ? `; did you mean ${near}?` : ""})`,
      exampleSet(key, near ?? fallback),
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

export function parseInteger(key: string, raw: string | undefined, rule: IntegerRule): number | undefined {
  if (!isSet(raw)) return undefined;
  const value = raw.trim();
  const parsed = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed) || parsed < rule.min || parsed > rule.max) {
    fail(
      key,
      `must be a whole number from ${rule.min} to ${rule.max} (got ${quoted(value)})`,
      exampleSet(key, String(rule.example)),
    );
  }
  return parsed;
}

export function parseIntegerOr(
  key: string,
  raw: string | undefined,
  rule: IntegerRule,
  fallback: number,
): number {
  return parseInteger(key, raw, rule) ?? fallback;
}

export function parseBoolean(key: string, raw: string | undefined, fallback: boolean): boolean {
  if (!isSet(raw)) return fallback;
  const value = raw.trim().toLowerCase();
  if (value === "true") return true;
  if (value === "false") return false;
  return fail(key, `must be true or false (got ${quoted(raw.trim())})`, exampleSet(key, String(fallback)));
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * A PostgreSQL name we create (database, role prefix): lower case, so it never needs quoting, and short enough
 * that suffixes still fit the 63-byte limit.
 */
export function parseIdentifier(
  key: string,
  raw: string | undefined,
  fallback: string,
  maxLength = 63,
): string {
  if (!isSet(raw)) return fallback;
  const value = raw.trim();
  if (!IDENTIFIER.test(value) || value.length > maxLength) {
    fail(
      key,
      `must be a lower-case PostgreSQL name (letters, digits, underscores; not starting with a digit; at most ${maxLength} characters) (got ${quoted(value)})`,
      exampleSet(key, fallback),
    );
  }
  if (value.startsWith("pg_"))
    fail(key, `must not start with "pg_", which PostgreSQL reserves`, exampleSet(key, fallback));
  return value;
}

/** A list: a JSON array of strings (what `pulumi config set --path 'key[0]'` stores) or comma-separated text. */
export function parseList(key: string, raw: string | undefined, example: string): string[] {
  if (!isSet(raw)) return [];
  const value = raw.trim();
  if (value.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      return fail(key, "is not a valid JSON list", exampleList(key, example));
    }
    if (!Array.isArray(parsed) || parsed.some((item) => typeof item !== "string")) {
      fail(key, "must be a list of strings", exampleList(key, example));
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

const ADMIN_URL_EXAMPLE = exampleSet(
  "adminUrl",
  "'postgresql://postgres:<password>@127.0.0.1:54329/postgres'",
  true,
);
// The provider's driver (Go's lib/pq) knows libpq's values, not node-postgres's own no-verify.
const PROVIDER_SSL_MODES = SSL_MODES.filter((mode) => mode !== "no-verify");

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The existing server's admin connection string. It holds a password, so no error message repeats it.
 */
export function parseAdminUrl(key: string, raw: string | undefined): AdminConnection {
  const value = requireValue(key, raw, ADMIN_URL_EXAMPLE);
  const reading = readConnectionUrl(value, { defaultDatabase: "postgres", sslModes: PROVIDER_SSL_MODES });
  if (!reading.ok) {
    return fail(
      key,
      // fail() adds ". Example: ...": the fix's own full stop would double it.
      `${reading.problem} (value not shown: it holds a password). ${reading.fix.replace(/\.$/, "")}`,
      ADMIN_URL_EXAMPLE,
    );
  }
  const { host, port, user, userGiven, password, database } = reading.parts;
  if (!userGiven) fail(key, "has no user name", ADMIN_URL_EXAMPLE);
  if (!password) fail(key, "has no password", ADMIN_URL_EXAMPLE);
  const sslmode = reading.parts.sslmode ?? (isLoopback(host) ? "disable" : "prefer");
  return { host, port, user, password, database, sslmode };
}

// [registry[:port]/]path[:tag][@sha256:digest]; the registry's port is not a tag.
const IMAGE =
  /^(?:[a-zA-Z0-9.-]+(?::\d{1,5})?\/)?[a-z0-9]+(?:[._/-][a-z0-9]+)*(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?<digest>@sha256:[0-9a-f]{64})?$/;

/** A container image reference; it must pin a tag or digest so every `pulumi up` runs the same server. */
export function parseImage(key: string, raw: string | undefined, fallback: string): string {
  if (!isSet(raw)) return fallback;
  const value = raw.trim();
  const match = IMAGE.exec(value);
  if (!match)
    fail(key, `is not a container image reference (got ${quoted(value)})`, exampleSet(key, fallback));
  const { tag, digest } = match.groups ?? {};
  // No tag is "latest": both move whenever the image is pushed again.
  if (!digest && (tag === undefined || tag === "latest")) {
    fail(
      key,
      `must name a tag or digest, not the moving "latest" (got ${quoted(value)})`,
      exampleSet(key, fallback),
    );
  }
  return value;
}

export function parseInstanceClass(key: string, raw: string | undefined, fallback: string): string {
  if (!isSet(raw)) return fallback;
  const value = raw.trim();
  if (!/^db\.[a-z0-9]+\.[a-z0-9]+$/.test(value)) {
    fail(
      key,
      `must be an RDS instance class like db.r6g.large (got ${quoted(value)})`,
      exampleSet(key, fallback),
    );
  }
  return value;
}

/**
 * PostgreSQL 16. RDS accepts the major version alone and picks the newest minor (with automatic minor
 * upgrades); Aurora needs major.minor.
 */
export function parseEngineVersion(
  key: string,
  raw: string | undefined,
  engine: "rds" | "aurora",
  fallback: string,
): string {
  const value = isSet(raw) ? raw.trim() : fallback;
  if (!/^16(\.\d+)?$/.test(value)) {
    fail(
      key,
      `must be PostgreSQL 16, as "16" or "16.<minor>" (got ${quoted(value)})`,
      exampleSet(key, "16.6"),
    );
  }
  if (engine === "aurora" && !value.includes(".")) {
    fail(
      key,
      `Aurora PostgreSQL needs a full version such as 16.6 (got ${quoted(value)})`,
      exampleSet(key, "16.6"),
    );
  }
  return value;
}

/** CIDR blocks allowed to reach the database. The whole internet is refused: use a VPN or a bastion. */
export function parseCidrList(key: string, raw: string | undefined): string[] {
  const items = parseList(key, raw, "10.0.0.0/16");
  for (const item of items) {
    const cidr = parseIpv4Cidr(item);
    if (!cidr)
      fail(key, `has ${quoted(item)}, which is not an IPv4 CIDR block`, exampleList(key, "10.0.0.0/16"));
    if (cidr.prefix < 8) {
      fail(
        key,
        `has ${quoted(item)}, which opens the database to the internet; list the networks that need it`,
        exampleList(key, "10.0.0.0/16"),
      );
    }
  }
  return items;
}

function parseAwsIds(key: string, raw: string | undefined, prefix: string, example: string): string[] {
  const items = parseList(key, raw, example);
  const pattern = new RegExp(`^${prefix}-[0-9a-f]{8,17}$`);
  for (const item of items) {
    if (!pattern.test(item))
      fail(key, `has ${quoted(item)}, which is not a ${prefix}-... id`, exampleList(key, example));
  }
  return items;
}

export function parseSecurityGroupIds(key: string, raw: string | undefined): string[] {
  return parseAwsIds(key, raw, "sg", "sg-0123456789abcdef0");
}

export function parseSubnetIds(key: string, raw: string | undefined): string[] {
  return parseAwsIds(key, raw, "subnet", "subnet-0123456789abcdef0");
}

export function parseVpcId(key: string, raw: string | undefined): string | undefined {
  if (!isSet(raw)) return undefined;
  const value = raw.trim();
  if (!/^vpc-[0-9a-f]{8,17}$/.test(value)) {
    fail(key, `must be a vpc-... id (got ${quoted(value)})`, exampleSet(key, "vpc-0123456789abcdef0"));
  }
  return value;
}

/** A VPC block to create: /16 to /24, so that /4-smaller private subnets still hold RDS's addresses. */
export function parseVpcCidr(key: string, raw: string | undefined, fallback: string): string {
  const value = isSet(raw) ? raw.trim() : fallback;
  const cidr = parseIpv4Cidr(value);
  if (!cidr || cidr.prefix < 16 || cidr.prefix > 24) {
    fail(key, `must be an IPv4 CIDR block from /16 to /24 (got ${quoted(value)})`, exampleSet(key, fallback));
  }
  return value;
}

export function parseKmsKeyArn(key: string, raw: string | undefined): string | undefined {
  if (!isSet(raw)) return undefined;
  const value = raw.trim();
  if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/.test(value)) {
    fail(
      key,
      `must be a KMS key ARN (got ${quoted(value)})`,
      exampleSet(key, "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    );
  }
  return value;
}

/** Performance Insights keeps 7 days free of charge, or whole months (31 days) up to 731 days. */
export function parsePerformanceInsightsRetention(
  key: string,
  raw: string | undefined,
  fallback: number,
): number {
  const value = parseIntegerOr(key, raw, { min: 7, max: 731, example: 7 }, fallback);
  if (value !== 7 && value !== 731 && value % 31 !== 0) {
    fail(key, `must be 7, a multiple of 31 or 731 days (got ${value})`, exampleSet(key, "7"));
  }
  return value;
}

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port`, e.g. the local end of a tunnel to a private database. */
export function parseHostPort(key: string, raw: string | undefined): HostPort | undefined {
  if (!isSet(raw)) return undefined;
  const value = raw.trim();
  const match = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[2]) : Number.NaN;
  if (!match || port < 1 || port > 65535) {
    fail(key, `must be host:port (got ${quoted(value)})`, exampleSet(key, "127.0.0.1:15432"));
  }
  return { host: match[1] ?? "", port };
}

/** RDS master user names: a PostgreSQL name RDS does not reserve. */
export function parseMasterUsername(key: string, raw: string | undefined, fallback: string): string {
  const value = parseIdentifier(key, raw, fallback, 63);
  if (["rdsadmin", "rdsrepladmin", "public"].includes(value)) {
    fail(key, `${quoted(value)} is reserved on RDS`, exampleSet(key, fallback));
  }
  return value;
}
