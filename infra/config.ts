// The stack's configuration: every `neonhub-db:*` key, typed and validated before any resource exists.
// Defaults live in Pulumi.yaml (the CLI passes them in) and in DEFAULTS (for runs without the CLI, such as
// tests); a test keeps the two equal.
import * as pulumi from "@pulumi/pulumi";
import {
  AVAILABLE_SEED_SETS,
  closestName,
  completeVectorIndexOptions,
  SettingError,
  isReleaseError,
  resolveReleaseSettings,
  stackKeyOf,
  stackConfigValue,
  type ReleaseSettings,
  type LegacyUpgradeSetting,
  type RowLevelSecurityMode,
  type VectorIndexOptions,
} from "../core";
import { instanceClassSize } from "./instance-classes";
import {
  RELEASE_SAFETY_DEFAULTS,
  parseReleaseSafety,
  type ReleaseSafetyConfig,
} from "./release-safety-config";
import { MIN_MEMORY_MB, STORAGE_KINDS, StorageKind, WORKLOADS, Workload } from "./tuning";
import * as v from "./validators";
import accessDefinition from "./access-definition";
import { configRmCommand, configSetCommand } from "./dynamic/config-command";
import { legacyUpgradeConfigCommand } from "./dynamic/legacy-upgrade-config";
import { stackWord } from "./dynamic/stack-name";

export { CONFIG_NAMESPACE, ConfigValueError } from "./validators";

export const SERVER_KINDS = ["existing", "docker", "rds", "aurora"] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

/** Default values of the keys Pulumi.yaml declares. */
export const DEFAULTS = {
  server: "existing" as ServerKind,
  database: "neonhub",
  rolePrefix: "neonhub",
  workload: "web" as Workload,
  maxConnections: 200,
  keepData: true,
  adminSuperuser: true,
  dockerImage: "pgvector/pgvector:pg16",
  dockerPort: 55432,
  instanceClass: "db.r6g.large",
  engineVersion: "16",
  allocatedStorageGb: 100,
  maxAllocatedStorageGb: 1000,
  multiAz: true,
  backupRetentionDays: 14,
  deletionProtection: true,
  iamAuth: false,
  performanceInsightsRetentionDays: 7,
  vpcCidr: "10.42.0.0/16",
  availabilityZoneCount: 2,
  auroraReaders: 1,
  masterUsername: "neonhub_admin",
  alarmCpuPercent: 80,
  alarmFreeableMemoryPercent: 10,
  alarmFreeStorageGb: 10,
  alarmReadLatencyMs: 20,
  alarmWriteLatencyMs: 20,
  alarmConnectionsPercent: 80,
  alarmReplicaLagMs: 2000,
  alarmEvaluationMinutes: 5,
  dropSchemaOnDelete: false,
  releaseLockTimeoutSeconds: 60,
  ...RELEASE_SAFETY_DEFAULTS,
};

/** Machine size for the existing and docker servers when `memoryMb`/`cpus` are unset. */
export const DEFAULT_MACHINE = { memoryMb: 4096, cpus: 2 };

/** Keys read only when set (no default); together with DEFAULTS, every key the program knows. */
export const OPTIONAL_KEYS = [
  "adminUrl",
  "memoryMb",
  "cpus",
  "storage",
  "kmsKeyArn",
  "vpcId",
  "subnetIds",
  "allowedCidrs",
  "allowedSecurityGroupIds",
  "adminTunnel",
  "seedSets",
  "vectorIndexes",
  "rowLevelSecurity",
  "legacyUpgrade",
] as const;

export const KNOWN_KEYS: readonly string[] = [...Object.keys(DEFAULTS), ...OPTIONAL_KEYS];

const RDS_OR_AURORA: readonly ServerKind[] = ["rds", "aurora"];

/** The server kinds that read a key; a key not listed here is read by every kind. */
export const SERVER_KEYS: Readonly<Record<string, readonly ServerKind[]>> = {
  adminUrl: ["existing"],
  adminSuperuser: ["existing"],
  dockerImage: ["docker"],
  dockerPort: ["docker"],
  // An Aurora cluster volume grows by itself: no allocated storage.
  allocatedStorageGb: ["rds"],
  maxAllocatedStorageGb: ["rds"],
  auroraReaders: ["aurora"],
  alarmReplicaLagMs: ["aurora"],
  ...Object.fromEntries(
    [
      "instanceClass",
      "engineVersion",
      "multiAz",
      "backupRetentionDays",
      "deletionProtection",
      "iamAuth",
      "performanceInsightsRetentionDays",
      "kmsKeyArn",
      "vpcId",
      "subnetIds",
      "vpcCidr",
      "availabilityZoneCount",
      "allowedCidrs",
      "allowedSecurityGroupIds",
      "adminTunnel",
      "masterUsername",
      "alarmCpuPercent",
      "alarmFreeableMemoryPercent",
      "alarmFreeStorageGb",
      "alarmReadLatencyMs",
      "alarmWriteLatencyMs",
      "alarmConnectionsPercent",
      "alarmEvaluationMinutes",
    ].map((key) => [key, RDS_OR_AURORA]),
  ),
};

/**
 * Databases every server has: the maintenance database the access layer connects to and the templates. A
 * stack that named one would fail to create it, or with keepData false drop it on destroy.
 */
const SERVER_DATABASES = ["postgres", "template0", "template1"];

/** The four roles of the access layer. */
export interface RoleNames {
  /** NOLOGIN role that owns the database and every schema object. */
  owner: string;
  /** Login that runs migrations and acts as the owner. */
  migrator: string;
  /** The application's login: DML only. */
  app: string;
  /** Read-only login for analytics and support. */
  readonly: string;
}

export interface Hardware {
  /** Memory the server may use, in MiB. */
  memoryMb: number;
  cpus: number;
  storage: StorageKind;
}

export interface ExistingServerConfig {
  kind: "existing";
  /** The admin connection parsed from the secret `adminUrl`. Wrap `password` in a secret before use. */
  admin: v.AdminConnection;
  /** Whether the admin login is a superuser (false on managed services). */
  adminSuperuser: boolean;
  hardware: Hardware;
}

export interface DockerServerConfig {
  kind: "docker";
  image: string;
  /** Host port on 127.0.0.1. */
  port: number;
  hardware: Hardware;
}

export type RdsNetworkConfig =
  | { kind: "existing"; vpcId: string; subnetIds: string[] }
  | { kind: "create"; vpcCidr: string; availabilityZoneCount: number };

export interface RdsServerConfig {
  kind: "rds" | "aurora";
  instanceClass: string;
  hardware: Hardware;
  engineVersion: string;
  allocatedStorageGb: number;
  maxAllocatedStorageGb: number;
  multiAz: boolean;
  backupRetentionDays: number;
  deletionProtection: boolean;
  iamAuth: boolean;
  performanceInsightsRetentionDays: number;
  kmsKeyArn?: string;
  network: RdsNetworkConfig;
  allowedCidrs: string[];
  allowedSecurityGroupIds: string[];
  auroraReaders: number;
  masterUsername: string;
  /** Where `pulumi up` reaches the private database, e.g. a tunnel's local end. */
  adminTunnel?: v.HostPort;
  /** CloudWatch alarm thresholds. */
  alarms: AlarmThresholds;
}

/** When the production alarms fire, in the units operators think in; infra/alarms.ts converts them. */
export interface AlarmThresholds {
  /** CPUUtilization above this percentage. */
  cpuPercent: number;
  /** FreeableMemory below this percentage of the machine's memory. */
  freeableMemoryPercent: number;
  /** FreeStorageSpace (RDS) or FreeLocalStorage (Aurora) below this many GiB. */
  freeStorageGb: number;
  /** Average ReadLatency above this many milliseconds. */
  readLatencyMs: number;
  /** Average WriteLatency above this many milliseconds. */
  writeLatencyMs: number;
  /** DatabaseConnections above this percentage of max_connections. */
  connectionsPercent: number;
  /** A reader's AuroraReplicaLag above this many milliseconds. */
  replicaLagMs: number;
  /** How many consecutive one-minute periods must breach before an alarm fires. */
  evaluationMinutes: number;
}

export type ServerConfig = ExistingServerConfig | DockerServerConfig | RdsServerConfig;

export interface StackConfig {
  stack: string;
  database: string;
  roles: RoleNames;
  workload: Workload;
  maxConnections: number;
  /** Keep the database (and the dev volume) when the stack is destroyed. */
  keepData: boolean;
  server: ServerConfig;
  release: ReleaseConfig;
}

/** The schema release (infra/schema-release.ts). */
export interface ReleaseConfig {
  /** Seed sets applied after the migrations, in order (folders of seeds/). */
  seedSets: string[];
  /** Revert every migration when the schema release is destroyed; by default its data is kept. */
  dropSchemaOnDelete: boolean;
  /** How long a release waits for another one holding the release lock. */
  lockTimeoutMs: number;
  /** How the vector indexes are built and calibrated (core/vector-indexes/options.ts); engine defaults if unset. */
  vectorIndexes: Required<VectorIndexOptions>;
  /** Whether the tenant tables' row-level security policies are enforced (docs/security.md). */
  rowLevelSecurity: RowLevelSecurityMode;
  /** The stack's kind for the migration safety lint, and the migrations' lock timeouts and retries. */
  safety: ReleaseSafetyConfig;
  /** Upgrade a Prisma-era database in place before the release (docs/runbook.md); unset: never. */
  legacyUpgrade?: LegacyUpgradeSetting;
}

/** Every invalid value at once, so one `pulumi preview` shows all there is to fix. */
export class InvalidConfigError extends pulumi.RunError {
  constructor(readonly problems: v.ConfigValueError[]) {
    super(
      [
        `Invalid stack configuration (${problems.length} problem${problems.length === 1 ? "" : "s"}); nothing was changed:`,
        ...problems.map((p) => `  - ${p.message}`),
      ].join("\n"),
    );
    this.name = "InvalidConfigError";
  }
}

export interface RawStackConfig {
  stack: string;
  /** Values of the `neonhub-db:*` keys, by key without the namespace. */
  values: Record<string, string | undefined>;
  /** Whether a key (without namespace) was set with `--secret`; undefined when the runtime cannot tell. */
  isSecret?: (key: string) => boolean | undefined;
  /** The AWS provider's region (`aws:region`, else AWS_REGION or AWS_DEFAULT_REGION), when known. */
  awsRegion?: string;
}

/**
 * Collects the ConfigValueErrors of one stack's config and carries on with a fallback so all problems are
 * reported together; their examples name that stack (`stack`). A problem
 * of a key held as a secret is kept without its value, and a message about another key shows that key's value
 * only when it is not a secret.
 */
class Problems {
  readonly list: v.ConfigValueError[] = [];

  /**
   * `isSecret` undefined: no key is a secret (a caller that knows none). A key it cannot tell about (the
   * runtime could not say) is taken for a secret: its value is then not shown.
   */
  constructor(
    /** The stack whose config is checked (pulumi.getStack()), which every example command names. */
    readonly stack: string,
    private readonly isSecret?: RawStackConfig["isSecret"],
  ) {}

  take<T>(parse: () => T, fallback: T): T {
    try {
      return parse();
    } catch (error) {
      if (!(error instanceof v.ConfigValueError)) throw error;
      this.push(error);
      return fallback;
    }
  }

  /** A problem that names no value of `key` (see `refuse` for one that does). */
  add(key: string, problem: string, example: string): void {
    this.push(new v.ConfigValueError(v.fullKey(key), problem, example));
  }

  /** A problem that names `value` of `key`: `problem` is given the value as it may be shown. */
  refuse(key: string, value: unknown, problem: (shown: string) => string, example: string): void {
    this.push(v.refusal(key, value, problem, example));
  }

  /** `value` of `key` as a message about another key may show it: never a secret's. */
  shown(key: string, value: unknown): string {
    return this.holdsSecret(key) ? v.SECRET_VALUE : v.shownConfigValue(value);
  }

  /** Whether `key` (without namespace; a nested key by its top key) is held as a secret. */
  holdsSecret(key: string): boolean {
    return this.isSecret !== undefined && this.isSecret(key.split(".")[0] ?? key) !== false;
  }

  private push(error: v.ConfigValueError): void {
    const key = error.key.slice(v.fullKey("").length);
    this.list.push(this.holdsSecret(key) ? error.withoutValue() : error);
  }
}

/** Validates raw values into a StackConfig; throws InvalidConfigError listing every problem. */
export function parseStackConfig(raw: RawStackConfig): StackConfig {
  const { stack } = raw;
  const problems = new Problems(stack, raw.isSecret);
  const get = (key: string): string | undefined => raw.values[key];
  checkUnknownKeys(Object.keys(raw.values), problems);
  checkPlainTextSecrets(get, raw.isSecret, problems);

  // Unset when invalid: what the server reads then depends on the kind the user meant, so nothing of it is
  // checked against a guess.
  const kind = problems.take(
    () => v.parseChoice(stack, "server", get("server"), SERVER_KINDS, DEFAULTS.server),
    undefined,
  );
  const database = problems.take(() => parseDatabase(stack, get("database")), DEFAULTS.database);
  const prefix = problems.take(() => parseRolePrefix(stack, get("rolePrefix")), DEFAULTS.rolePrefix);
  const roles = roleNames(prefix);
  const workload = problems.take(
    () => v.parseChoice(stack, "workload", get("workload"), WORKLOADS, DEFAULTS.workload),
    DEFAULTS.workload,
  );
  const maxConnections = problems.take(
    () =>
      v.parseIntegerOr(
        stack,
        "maxConnections",
        get("maxConnections"),
        { min: 20, max: 5000, example: 200 },
        DEFAULTS.maxConnections,
      ),
    DEFAULTS.maxConnections,
  );
  const keepData = problems.take(
    () => v.parseBoolean(stack, "keepData", get("keepData"), DEFAULTS.keepData),
    DEFAULTS.keepData,
  );

  let server: ServerConfig | undefined;
  if (kind !== undefined) {
    checkServerKeys(kind, raw.values, problems);
    server = parseServer(kind, get, problems, raw.awsRegion);
    if (server) checkServerAgainstNames(server, database, roles, problems);
  }
  const release = parseRelease(get, problems);
  if (problems.list.length > 0) throw new InvalidConfigError(problems.list);
  return {
    stack: raw.stack,
    database,
    roles,
    workload,
    maxConnections,
    keepData,
    // parseServer returns undefined only when it recorded a problem.
    server: server as ServerConfig,
    release,
  };
}

function parseDatabase(stack: string, raw: string | undefined): string {
  const database = v.parseIdentifier(stack, "database", raw, DEFAULTS.database);
  if (SERVER_DATABASES.includes(database)) {
    throw v.refusal(
      "database",
      database,
      (shown) =>
        `${shown} is the server's own database (${SERVER_DATABASES.join(", ")} are): name the application's own`,
      configSetCommand(stack, "database", DEFAULTS.database),
    );
  }
  return database;
}

// 40 characters leave room for the longest suffix ("_readonly") under PostgreSQL's 63-byte names.
function parseRolePrefix(stack: string, raw: string | undefined): string {
  const prefix = v.parseIdentifier(stack, "rolePrefix", raw, DEFAULTS.rolePrefix, 40);
  const reserved = Object.values(roleNames(prefix)).filter((role) => role.startsWith("pg_"));
  if (reserved.length > 0) {
    const reservedNames = `start with "pg_", which PostgreSQL reserves`;
    throw new v.ConfigValueError(
      v.fullKey("rolePrefix"),
      `${v.shownConfigValue(prefix)} makes role names such as ${reserved[0]} that ${reservedNames}`,
      configSetCommand(stack, "rolePrefix", DEFAULTS.rolePrefix),
      // The role name holds the prefix: a secret prefix is refused without it.
      `${v.SECRET_VALUE} makes role names that ${reservedNames}`,
    );
  }
  return prefix;
}

/**
 * The server's own names must not be the stack's: a master user that is one of the access layer's roles, or an
 * application database that is the one adminUrl connects to (keepData false would drop it on destroy).
 */
function checkServerAgainstNames(
  server: ServerConfig,
  database: string,
  roles: RoleNames,
  problems: Problems,
): void {
  if (server.kind === "rds" || server.kind === "aurora") {
    const role = (Object.keys(roles) as (keyof RoleNames)[]).find(
      (name) => roles[name] === server.masterUsername,
    );
    if (role) {
      problems.refuse(
        "masterUsername",
        server.masterUsername,
        (shown) => `${shown} is the access layer's ${role} role: the master user must be a role of its own`,
        configSetCommand(problems.stack, "masterUsername", DEFAULTS.masterUsername),
      );
    }
  }
  if (server.kind === "existing" && server.admin.database === database) {
    problems.refuse(
      "database",
      database,
      (shown) =>
        `${shown} is the database adminUrl connects to: the stack creates (and may drop) its own, so name another one`,
      configSetCommand(problems.stack, "database", DEFAULTS.database),
    );
  }
}

/**
 * One release setting from the stack's config (`neonhub-db:<stackKey>`), resolved by the engine's resolver
 * under its name in the release settings (`releaseKey`): a value gets the verdict and the words it gets from
 * --config or --set. Only the key (`neonhub-db:` and the stack's name) and the example (a `pulumi config set`
 * command for the setting refused) are the stack's own.
 */
function releaseSetting<K extends keyof ReleaseSettings>(
  stack: string,
  stackKey: string,
  releaseKey: K,
  value: unknown,
): ReleaseSettings[K] {
  try {
    return resolveReleaseSettings({ [releaseKey]: value }, "")[releaseKey];
  } catch (error) {
    if (!(error instanceof SettingError)) throw error;
    const onStack = (path: readonly string[]) => [stackKey, ...path.slice(1)];
    // The hint is written to go before an example ("... Known here: a, b. "): here it ends the problem.
    const hint = error.hint.trim().replace(/\.$/, "");
    // The value as the stack's errors show it (v.shownConfigValue), or not at all for a secret key.
    const problem = (shown: string) => {
      const refused = error.refused ? `${error.rule} (got ${shown})` : error.rule;
      return hint ? `${refused}. ${hint}` : refused;
    };
    throw new v.ConfigValueError(
      v.fullKey(onStack(error.path).join(".")),
      problem(v.shownConfigValue(error.refused?.value)),
      configSetExample(stack, onStack(error.example.path), error.example.value),
      problem(v.SECRET_VALUE),
    );
  }
}

/** `pulumi config set` on `stack` of `value` at `path` (its first leaf, for an object value). */
function configSetExample(stack: string, path: readonly string[], value: unknown): string {
  if (typeof value === "object" && value !== null) {
    const [key, inner] = Object.entries(value)[0]!;
    return configSetExample(stack, [...path, key], inner);
  }
  return configSetCommand(stack, path.join("."), String(value), { path: path.length > 1 });
}

/**
 * A release setting the stack keeps as one plain value (`neonhub-db:rowLevelSecurity off`), read as --set
 * reads a value (settingValue); unset (no such key), `fallback`. An empty value is a value, refused as the
 * CLI refuses it.
 */
function releaseSettingOr<K extends "rowLevelSecurity" | "lockTimeoutSeconds">(
  stack: string,
  stackKey: string,
  releaseKey: K,
  raw: string | undefined,
  fallback: NonNullable<ReleaseSettings[K]>,
): NonNullable<ReleaseSettings[K]> {
  return raw === undefined
    ? fallback
    : releaseSetting(stack, stackKey, releaseKey, stackConfigValue(releaseKey, raw))!;
}

/**
 * A JSON object (structured config), resolved by the engine's release-settings resolver, with every default
 * written out: the resources' inputs then carry the settings the release applies, and a change of one shows
 * in the preview as "setting vectorIndexes.method: ivfflat -> hnsw".
 */
function parseVectorIndexOptions(stack: string, raw: string | undefined): Required<VectorIndexOptions> {
  if (raw === undefined || raw.trim() === "") return completeVectorIndexOptions();
  const example = configSetCommand(stack, "vectorIndexes.method", "hnsw", { path: true });
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new v.ConfigValueError(v.fullKey("vectorIndexes"), "is not a JSON object", example);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new v.ConfigValueError(v.fullKey("vectorIndexes"), "must be an object of index options", example);
  }
  return completeVectorIndexOptions(
    releaseSetting(stack, "vectorIndexes", "vectorIndexes", stackConfigValue("vectorIndexes", value)),
  );
}

function parseRelease(get: Get, problems: Problems): ReleaseConfig {
  const { stack } = problems;
  const seedSets = problems.take(() => v.parseList(stack, "seedSets", get("seedSets"), "demo"), []);
  for (const name of seedSets) {
    if (!AVAILABLE_SEED_SETS.includes(name)) {
      problems.refuse(
        "seedSets",
        name,
        (shown) =>
          `names ${shown}, which is not a seed set (available: ${AVAILABLE_SEED_SETS.join(", ") || "none"})`,
        configSetCommand(stack, "seedSets[0]", AVAILABLE_SEED_SETS[0] ?? "demo", { path: true }),
      );
    }
  }
  return {
    seedSets,
    vectorIndexes: problems.take(
      () => parseVectorIndexOptions(stack, get("vectorIndexes")),
      completeVectorIndexOptions(),
    ),
    // "off" leaves the policies created but not enforced, for an app that does not set the organization yet.
    rowLevelSecurity: problems.take(
      () =>
        releaseSettingOr(stack, "rowLevelSecurity", "rowLevelSecurity", get("rowLevelSecurity"), "enforce"),
      "enforce" as RowLevelSecurityMode,
    ),
    dropSchemaOnDelete: problems.take(
      () =>
        v.parseBoolean(stack, "dropSchemaOnDelete", get("dropSchemaOnDelete"), DEFAULTS.dropSchemaOnDelete),
      DEFAULTS.dropSchemaOnDelete,
    ),
    lockTimeoutMs:
      1000 *
      problems.take(
        () =>
          releaseSettingOr(
            stack,
            "releaseLockTimeoutSeconds",
            "lockTimeoutSeconds",
            get("releaseLockTimeoutSeconds"),
            DEFAULTS.releaseLockTimeoutSeconds,
          ),
        DEFAULTS.releaseLockTimeoutSeconds,
      ),
    safety: parseReleaseSafety(
      stack,
      get,
      (parse, fallback) => problems.take(parse, fallback),
      (key, value) => problems.shown(key, value),
    ),
    legacyUpgrade: problems.take(() => parseLegacyUpgrade(stack, get("legacyUpgrade")), undefined),
  };
}

function parseLegacyUpgrade(stack: string, raw: string | undefined): LegacyUpgradeSetting | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const example = legacyUpgradeConfigCommand("acme", stackWord(stack));
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new v.ConfigValueError(v.fullKey("legacyUpgrade"), "is not a JSON object", example);
  }
  try {
    return resolveReleaseSettings({ legacyUpgrade: value }, "").legacyUpgrade;
  } catch (error) {
    if (!isReleaseError(error)) throw error;
    const problem = [error.message, error.fix].filter(Boolean).join(" ").replace(/\.$/, "");
    // The engine's words name the refused value; a secret key's problem says what the setting takes instead.
    throw new v.ConfigValueError(
      v.fullKey("legacyUpgrade"),
      problem,
      example,
      "is not a valid upgrade setting (its problem names the value, which is a secret): it takes organization, an organization slug, and batchSize, a whole number of rows from 1 to 1000000",
    );
  }
}

export function roleNames(prefix: string): RoleNames {
  const { owner, migrator, app, readonly } = accessDefinition.ROLE_SUFFIXES;
  return {
    owner: `${prefix}${owner}`,
    migrator: `${prefix}${migrator}`,
    app: `${prefix}${app}`,
    readonly: `${prefix}${readonly}`,
  };
}

type Get = (key: string) => string | undefined;

function parseServer(
  kind: ServerKind,
  get: Get,
  problems: Problems,
  awsRegion: string | undefined,
): ServerConfig | undefined {
  switch (kind) {
    case "existing":
      return parseExistingServer(get, problems);
    case "docker":
      return parseDockerServer(get, problems);
    case "rds":
    case "aurora":
      return parseRdsServer(kind, get, problems, awsRegion);
  }
}

function parseHardware(get: Get, problems: Problems, fallback: Hardware): Hardware {
  const { stack } = problems;
  return {
    memoryMb: problems.take(
      () =>
        v.parseIntegerOr(
          stack,
          "memoryMb",
          get("memoryMb"),
          { min: MIN_MEMORY_MB, max: 4 * 1024 * 1024, example: 4096 },
          fallback.memoryMb,
        ),
      fallback.memoryMb,
    ),
    cpus: problems.take(
      () => v.parseIntegerOr(stack, "cpus", get("cpus"), { min: 1, max: 256, example: 2 }, fallback.cpus),
      fallback.cpus,
    ),
    storage: problems.take(
      () => v.parseChoice(stack, "storage", get("storage"), STORAGE_KINDS, fallback.storage),
      fallback.storage,
    ),
  };
}

function parseExistingServer(get: Get, problems: Problems): ExistingServerConfig | undefined {
  const { stack } = problems;
  const admin = problems.take(() => v.parseAdminUrl(stack, "adminUrl", get("adminUrl")), undefined);
  const adminSuperuser = problems.take(
    () => v.parseBoolean(stack, "adminSuperuser", get("adminSuperuser"), DEFAULTS.adminSuperuser),
    DEFAULTS.adminSuperuser,
  );
  const hardware = parseHardware(get, problems, { ...DEFAULT_MACHINE, storage: "ssd" });
  return admin && { kind: "existing", admin, adminSuperuser, hardware };
}

function parseDockerServer(get: Get, problems: Problems): DockerServerConfig {
  const { stack } = problems;
  return {
    kind: "docker",
    image: problems.take(
      () => v.parseImage(stack, "dockerImage", get("dockerImage"), DEFAULTS.dockerImage),
      DEFAULTS.dockerImage,
    ),
    port: problems.take(
      () =>
        v.parseIntegerOr(
          stack,
          "dockerPort",
          get("dockerPort"),
          { min: 1024, max: 65535, example: DEFAULTS.dockerPort },
          DEFAULTS.dockerPort,
        ),
      DEFAULTS.dockerPort,
    ),
    hardware: parseHardware(get, problems, { ...DEFAULT_MACHINE, storage: "ssd" }),
  };
}

/** The instance class and the machine size the parameter group is tuned for. */
function parseRdsSize(get: Get, problems: Problems): { instanceClass: string; hardware: Hardware } {
  const { stack } = problems;
  const instanceClass = problems.take(
    () => v.parseInstanceClass(stack, "instanceClass", get("instanceClass"), DEFAULTS.instanceClass),
    DEFAULTS.instanceClass,
  );
  const known = instanceClassSize(instanceClass);
  if (!known && (get("memoryMb") === undefined || get("cpus") === undefined)) {
    problems.refuse(
      "instanceClass",
      instanceClass,
      (shown) =>
        `${shown} is not in the size table (infra/instance-classes.ts), so the parameter group cannot be tuned; set memoryMb and cpus for it`,
      `${configSetCommand(stack, "memoryMb", "16384")} && ${configSetCommand(stack, "cpus", "2")}`,
    );
  }
  if (known) {
    // The table is the machine: another size would tune the parameter group for memory it has not.
    for (const key of ["memoryMb", "cpus"]) {
      if (get(key) === undefined || get(key)?.trim() === "") continue;
      problems.add(
        key,
        problems.holdsSecret("instanceClass")
          ? "is only for instance classes outside the size table, and instanceClass is in it"
          : `is only for instance classes outside the size table; ${instanceClass} has ${known.memoryMb} MiB and ${known.cpus} vCPUs`,
        configRmCommand(stack, key),
      );
    }
  }
  // EBS and Aurora storage are network block devices: PGTune's "san".
  return {
    instanceClass,
    hardware: parseHardware(get, problems, { ...(known ?? DEFAULT_MACHINE), storage: "san" }),
  };
}

/** Who may connect: at least one CIDR block or security group, or the database is unreachable. */
function parseRdsAccessLists(
  get: Get,
  problems: Problems,
): { allowedCidrs: string[]; allowedSecurityGroupIds: string[] } {
  const { stack } = problems;
  const before = problems.list.length;
  const allowedCidrs = problems.take(() => v.parseCidrList(stack, "allowedCidrs", get("allowedCidrs")), []);
  const allowedSecurityGroupIds = problems.take(
    () => v.parseSecurityGroupIds(stack, "allowedSecurityGroupIds", get("allowedSecurityGroupIds")),
    [],
  );
  const listsValid = problems.list.length === before;
  if (listsValid && allowedCidrs.length === 0 && allowedSecurityGroupIds.length === 0) {
    problems.add(
      "allowedCidrs",
      "is not set and neither is allowedSecurityGroupIds: nothing, not even `pulumi up`, could reach the database",
      configSetCommand(stack, "allowedCidrs[0]", "10.0.0.0/16", { path: true }),
    );
  }
  return { allowedCidrs, allowedSecurityGroupIds };
}

function parseRdsServer(
  kind: "rds" | "aurora",
  get: Get,
  problems: Problems,
  awsRegion: string | undefined,
): RdsServerConfig {
  const { stack } = problems;
  const int = (key: keyof typeof DEFAULTS, rule: v.IntegerRule): number => {
    const fallback = DEFAULTS[key] as number;
    return problems.take(() => v.parseIntegerOr(stack, key, get(key), rule, fallback), fallback);
  };
  const bool = (key: keyof typeof DEFAULTS): boolean => {
    const fallback = DEFAULTS[key] as boolean;
    return problems.take(() => v.parseBoolean(stack, key, get(key), fallback), fallback);
  };

  const allocatedStorageGb = int("allocatedStorageGb", { min: 20, max: 65536, example: 100 });
  const maxAllocatedStorageGb = int("maxAllocatedStorageGb", { min: 20, max: 65536, example: 1000 });
  if (maxAllocatedStorageGb < allocatedStorageGb) {
    problems.refuse(
      "maxAllocatedStorageGb",
      maxAllocatedStorageGb,
      (shown) =>
        `must be at least allocatedStorageGb (${problems.shown("allocatedStorageGb", allocatedStorageGb)}), or storage autoscaling could never grow (got ${shown})`,
      configSetCommand(
        stack,
        "maxAllocatedStorageGb",
        String(
          problems.holdsSecret("allocatedStorageGb")
            ? DEFAULTS.maxAllocatedStorageGb
            : allocatedStorageGb * 10,
        ),
      ),
    );
  }
  const multiAz = bool("multiAz");
  const auroraReaders = int("auroraReaders", { min: 0, max: 15, example: 1 });
  if (kind === "aurora" && multiAz && auroraReaders < 1) {
    problems.add(
      "auroraReaders",
      "must be at least 1 when multiAz is true: an Aurora cluster fails over to a reader in another zone",
      configSetCommand(stack, "auroraReaders", "1"),
    );
  }

  return {
    kind,
    ...parseRdsSize(get, problems),
    engineVersion: problems.take(
      () => v.parseEngineVersion(stack, "engineVersion", get("engineVersion"), kind, DEFAULTS.engineVersion),
      DEFAULTS.engineVersion,
    ),
    allocatedStorageGb,
    maxAllocatedStorageGb,
    multiAz,
    backupRetentionDays: int("backupRetentionDays", { min: 7, max: 35, example: 14 }),
    deletionProtection: bool("deletionProtection"),
    iamAuth: bool("iamAuth"),
    performanceInsightsRetentionDays: problems.take(
      () =>
        v.parsePerformanceInsightsRetention(
          stack,
          "performanceInsightsRetentionDays",
          get("performanceInsightsRetentionDays"),
          DEFAULTS.performanceInsightsRetentionDays,
        ),
      DEFAULTS.performanceInsightsRetentionDays,
    ),
    kmsKeyArn: problems.take(
      () => v.parseKmsKeyArn(stack, "kmsKeyArn", get("kmsKeyArn"), awsRegion),
      undefined,
    ),
    network: parseRdsNetwork(get, problems),
    ...parseRdsAccessLists(get, problems),
    auroraReaders,
    masterUsername: problems.take(
      () => v.parseMasterUsername(stack, "masterUsername", get("masterUsername"), DEFAULTS.masterUsername),
      DEFAULTS.masterUsername,
    ),
    adminTunnel: problems.take(() => v.parseHostPort(stack, "adminTunnel", get("adminTunnel")), undefined),
    alarms: parseAlarmThresholds(kind, allocatedStorageGb, int, problems),
  };
}

/**
 * Alarm thresholds. Ranges refuse values that would page all the time (0% free memory) or never (a
 * latency of minutes); CloudWatch keeps one-minute RDS data points, so evaluations are whole minutes.
 */
function parseAlarmThresholds(
  kind: "rds" | "aurora",
  allocatedStorageGb: number,
  int: (key: keyof typeof DEFAULTS, rule: v.IntegerRule) => number,
  problems: Problems,
): AlarmThresholds {
  const freeStorageGb = int("alarmFreeStorageGb", { min: 1, max: 65536, example: 10 });
  // RDS storage starts at allocatedStorageGb: a threshold at or above it would fire on a brand-new server.
  if (kind === "rds" && freeStorageGb >= allocatedStorageGb) {
    problems.refuse(
      "alarmFreeStorageGb",
      freeStorageGb,
      (shown) =>
        `must be below allocatedStorageGb (${problems.shown("allocatedStorageGb", allocatedStorageGb)}), or the alarm fires on an empty database (got ${shown})`,
      configSetCommand(
        problems.stack,
        "alarmFreeStorageGb",
        String(
          problems.holdsSecret("allocatedStorageGb") ? 1 : Math.max(1, Math.floor(allocatedStorageGb / 10)),
        ),
      ),
    );
  }
  return {
    cpuPercent: int("alarmCpuPercent", { min: 10, max: 100, example: 80 }),
    freeableMemoryPercent: int("alarmFreeableMemoryPercent", { min: 1, max: 50, example: 10 }),
    freeStorageGb,
    readLatencyMs: int("alarmReadLatencyMs", { min: 1, max: 10_000, example: 20 }),
    writeLatencyMs: int("alarmWriteLatencyMs", { min: 1, max: 10_000, example: 20 }),
    connectionsPercent: int("alarmConnectionsPercent", { min: 10, max: 100, example: 80 }),
    replicaLagMs: int("alarmReplicaLagMs", { min: 10, max: 3_600_000, example: 2000 }),
    evaluationMinutes: int("alarmEvaluationMinutes", { min: 1, max: 60, example: 5 }),
  };
}

function parseRdsNetwork(get: Get, problems: Problems): RdsNetworkConfig {
  const { stack } = problems;
  const vpcId = problems.take(() => v.parseVpcId(stack, "vpcId", get("vpcId")), undefined);
  const before = problems.list.length;
  const subnetIds = problems.take(() => v.parseSubnetIds(stack, "subnetIds", get("subnetIds")), []);
  // Refused subnets (a bad id, one listed twice) are that problem alone, not also too few.
  const subnetsValid = problems.list.length === before;
  if (vpcId !== undefined || subnetIds.length > 0 || !subnetsValid) {
    // A vpcId that was given but refused is that problem already.
    if (vpcId === undefined && (get("vpcId") ?? "").trim() === "") {
      problems.add(
        "vpcId",
        "is required with subnetIds: the security group belongs to that VPC",
        configSetCommand(stack, "vpcId", "vpc-0123456789abcdef0"),
      );
    }
    if (subnetsValid && subnetIds.length < 2) {
      problems.add(
        "subnetIds",
        `needs at least two private subnets in different availability zones for an RDS subnet group (got ${subnetIds.length})`,
        configSetCommand(stack, "subnetIds[1]", "subnet-0123456789abcdef1", { path: true }),
      );
    }
    return { kind: "existing", vpcId: vpcId ?? "", subnetIds };
  }
  return {
    kind: "create",
    vpcCidr: problems.take(
      () => v.parseVpcCidr(stack, "vpcCidr", get("vpcCidr"), DEFAULTS.vpcCidr),
      DEFAULTS.vpcCidr,
    ),
    availabilityZoneCount: problems.take(
      () =>
        v.parseIntegerOr(
          stack,
          "availabilityZoneCount",
          get("availabilityZoneCount"),
          { min: 2, max: 6, example: 2 },
          DEFAULTS.availabilityZoneCount,
        ),
      DEFAULTS.availabilityZoneCount,
    ),
  };
}

/** adminUrl holds a password: in plain text, the stack file shows it, whichever server reads it (or none). */
function checkPlainTextSecrets(get: Get, isSecret: RawStackConfig["isSecret"], problems: Problems): void {
  const raw = get("adminUrl");
  if (raw === undefined || raw.trim() === "" || isSecret?.("adminUrl") !== false) return;
  problems.add(
    "adminUrl",
    "holds a password but is stored in plain text; set it with --secret so the stack file keeps it encrypted",
    v.adminUrlExample(problems.stack),
  );
}

/**
 * Whether the stack itself gives a key. Pulumi.yaml's defaults reach the program like the stack file's values,
 * on every stack: a value equal to its default cannot be told from the default, and means the same.
 */
function isGivenByStack(key: string, raw: string | undefined): boolean {
  if (raw === undefined || raw.trim() === "") return false;
  const fallback = (DEFAULTS as Record<string, unknown>)[key];
  return fallback === undefined || raw.trim() !== String(fallback);
}

/** A key only other server kinds read would be ignored: the user believes it does something. */
function checkServerKeys(
  kind: ServerKind,
  values: Record<string, string | undefined>,
  problems: Problems,
): void {
  for (const [key, raw] of Object.entries(values)) {
    const readers = SERVER_KEYS[key];
    if (!readers || readers.includes(kind) || !isGivenByStack(key, raw)) continue;
    problems.add(
      key,
      `is not used by server ${kind} (it is read by ${readers.join(", ")})`,
      configRmCommand(problems.stack, key),
    );
  }
}

/** The known key nearest `key`, case aside (a stack's keys are camelCase, typed in any case), if near enough. */
function nearestKnownKey(key: string): string | undefined {
  const lower = KNOWN_KEYS.map((known) => known.toLowerCase());
  const near = closestName(key.toLowerCase(), lower);
  return near === undefined ? undefined : KNOWN_KEYS[lower.indexOf(near)];
}

function checkUnknownKeys(keys: string[], problems: Problems): void {
  for (const key of keys) {
    if (KNOWN_KEYS.includes(key)) continue;
    // A release setting by the CLI's name (--config, --set): the stack calls it otherwise.
    const stackName = stackKeyOf(key);
    const suggestion = stackName ?? nearestKnownKey(key);
    const hint = stackName
      ? `; that release setting is called ${v.fullKey(stackName)} here`
      : suggestion
        ? `; did you mean ${v.fullKey(suggestion)}?`
        : "";
    problems.add(
      key,
      `is not a setting of this program${hint} (known: ${KNOWN_KEYS.join(", ")})`,
      configRmCommand(problems.stack, key),
    );
  }
}

// `isConfigSecret` is internal to @pulumi/pulumi (it reads PULUMI_CONFIG_SECRET_KEYS, which the CLI sets).
// When a future SDK drops it, the plain-text check is skipped rather than failing every run.
const runtimeSecrets = pulumi.runtime as unknown as { isConfigSecret?: (fullKey: string) => boolean };

/** Reads the `neonhub-db:*` keys of the running stack and validates them. */
export function loadConfig(): StackConfig {
  const prefix = `${v.CONFIG_NAMESPACE}:`;
  const all = pulumi.runtime.allConfig();
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(all)) {
    if (key.startsWith(prefix)) values[key.slice(prefix.length)] = value;
  }
  return parseStackConfig({
    stack: pulumi.getStack(),
    values,
    isSecret: (key) => runtimeSecrets.isConfigSecret?.(v.fullKey(key)),
    // Where the AWS provider looks for its region, in its order (a profile's region aside: not known here).
    awsRegion:
      nonEmpty(all["aws:region"]) ??
      nonEmpty(process.env.AWS_REGION) ??
      nonEmpty(process.env.AWS_DEFAULT_REGION),
  });
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
