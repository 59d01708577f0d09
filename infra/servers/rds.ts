// The `prod` stack's server: RDS for PostgreSQL 16 (or an Aurora PostgreSQL cluster with readers) in private
// subnets, KMS-encrypted, Multi-AZ, deletion-protected, backed up, with Performance Insights, TLS required,
// a tuned parameter group and the master password kept by RDS in Secrets Manager.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { DatabaseAlarmsArgs, MonitoredInstance } from "../alarms";
import { RdsServerConfig } from "../config";
import { AUTO_MINOR_VERSION_UPGRADE, parameterGroupFamily, pinnedMinorWarning } from "../engine-version";
import { PostgresSettings, RdsParameter, toRdsParameters, toRdsSettingsMap } from "../tuning";
import { RdsNetwork } from "./network";
import { DatabaseServer, ServerConnection } from "./types";

export interface RdsServerArgs {
  /** Validated `rds`/`aurora` stack config. */
  config: RdsServerConfig;
  /** Tuned settings for the instance class, written to the parameter group. */
  settings: PostgresSettings;
  /** Stack name, part of the identifiers so stacks can share an account. */
  stack: string;
}

const PORT = 5432;
// The current RDS CA; clients that verify certificates (sslmode=verify-full) need its bundle.
const CA_CERTIFICATE = "rds-ca-rsa2048-g1";

const IDENTIFIER_PREFIX = "neonhub-db-";

/**
 * An RDS identifier from a stack name: lower-case letters, digits and single hyphens, starting with a letter.
 * Existing stacks' servers are named by it: a change here would replace their databases.
 */
export function rdsIdentifier(stack: string): string {
  return untruncatedIdentifier(stack).slice(0, 50).replace(/-+$/, "");
}

function untruncatedIdentifier(stack: string): string {
  const slug = stack
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return `${IDENTIFIER_PREFIX}${slug || "stack"}`;
}

/**
 * The warning for a stack name its identifiers do not keep as it is (upper case, punctuation other than single
 * hyphens, too long): other names give the same identifiers ("Prod" and "prod", "my_stack" and "my-stack"),
 * and RDS identifiers, the KMS alias and the SNS topic's name are unique per account and region, so of two
 * such stacks in one account and region the second fails to create them. A warning, not a refusal: an existing
 * stack of such a name is deployed as before, and its identifiers cannot change without replacing its database.
 */
export function stackNameCollisionWarning(stack: string): string | undefined {
  const identifier = rdsIdentifier(stack);
  if (identifier === `${IDENTIFIER_PREFIX}${stack}`) return undefined;
  const sameIdentifier = identifier.slice(IDENTIFIER_PREFIX.length);
  const truncated = untruncatedIdentifier(stack) !== identifier;
  return (
    `stack ${JSON.stringify(stack)} names its AWS resources ${identifier}, as the stack ` +
    `${JSON.stringify(sameIdentifier)} would, and any name that differs from it only in case or punctuation` +
    `${truncated ? " or shares its first characters" : ""}: RDS identifiers, KMS aliases and SNS topic names ` +
    `are unique per account and region, so of two such stacks in one account and region the second fails to ` +
    `create its server. Keep them in separate accounts or regions, and name new stacks in lower case with ` +
    `single hyphens (${JSON.stringify(sameIdentifier)}). This stack's names stay as they are: changing them ` +
    `would replace its database`
  );
}

/**
 * Parameters for the tuned settings, plus TLS enforcement (`rds.force_ssl` is dynamic) and
 * pg_stat_statements, which must be preloaded for per-statement statistics (`shared_preload_libraries` is
 * static: it waits for the next reboot).
 */
export function rdsParameterGroupEntries(
  settings: PostgresSettings,
  engine: "postgres" | "aurora-postgresql",
): RdsParameter[] {
  return [
    ...toRdsParameters(settings, engine),
    { name: "rds.force_ssl", value: "1", applyMethod: "immediate" },
    { name: "shared_preload_libraries", value: "pg_stat_statements", applyMethod: "pending-reboot" },
  ];
}

/** The `{"username","password"}` JSON RDS stores in the master user secret. */
export function parseMasterUserSecret(secretString: string): { username: string; password: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new Error("The RDS master user secret is not JSON (its content is not shown)");
  }
  const { username, password } = (parsed ?? {}) as { username?: unknown; password?: unknown };
  if (typeof username !== "string" || typeof password !== "string") {
    throw new Error("The RDS master user secret has no username/password fields");
  }
  return { username, password };
}

export class RdsServer extends pulumi.ComponentResource implements DatabaseServer {
  public readonly connection: ServerConnection;
  public readonly settings: pulumi.Output<Record<string, string>>;
  /** The KMS key encrypting storage, snapshots, Performance Insights and the secrets. */
  public readonly kmsKeyArn: pulumi.Output<string>;
  public readonly network: RdsNetwork;
  /** What the production alarms watch (infra/alarms.ts), with the thresholds from config. */
  public readonly monitoring: DatabaseAlarmsArgs;
  /** The instance (RDS) or cluster (Aurora) that pre-release snapshots are taken of. */
  public readonly snapshotSource: { kind: "rds" | "aurora"; identifier: pulumi.Output<string> };

  constructor(name: string, args: RdsServerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("neonhub:db:RdsServer", name, args, opts);
    const { config, settings, stack } = args;
    const identifier = rdsIdentifier(stack);
    const collision = stackNameCollisionWarning(stack);
    if (collision) void pulumi.log.warn(collision, this);
    const tags = { Project: "neonhub-db", Stack: stack };

    this.network = new RdsNetwork(
      `${name}-network`,
      {
        network: config.network,
        allowedCidrs: config.allowedCidrs,
        allowedSecurityGroupIds: config.allowedSecurityGroupIds,
        port: PORT,
        tags,
        stack,
      },
      { parent: this },
    );
    this.kmsKeyArn = config.kmsKeyArn
      ? pulumi.output(config.kmsKeyArn)
      : this.createKey(name, identifier, tags);

    // A fresh suffix per server: RDS refuses a final snapshot whose name is taken, which would block a
    // destroy after an earlier one.
    const snapshotSuffix = new random.RandomId(`${name}-final-snapshot`, { byteLength: 4 }, { parent: this });
    const common: CommonSettings = {
      stack,
      identifier,
      tags,
      finalSnapshotIdentifier: pulumi.interpolate`${identifier}-final-${snapshotSuffix.hex}`,
    };

    const endpoints =
      config.kind === "aurora"
        ? this.createAuroraCluster(name, config, settings, common)
        : this.createInstance(name, config, settings, common);

    this.snapshotSource = { kind: config.kind, identifier: endpoints.snapshotSource };
    const masterPassword = this.readMasterPassword(name, endpoints.masterSecretArn);
    this.connection = {
      kind: config.kind,
      host: endpoints.host,
      port: endpoints.port,
      readerHost: endpoints.readerHost,
      sslmode: "require",
      admin: {
        host: config.adminTunnel
          ? endpoints.host.apply(() => config.adminTunnel?.host ?? "")
          : endpoints.host,
        port: config.adminTunnel
          ? endpoints.port.apply(() => config.adminTunnel?.port ?? PORT)
          : endpoints.port,
        user: pulumi.output(config.masterUsername),
        password: masterPassword,
        database: "postgres",
        sslmode: "require",
        superuser: false,
      },
    };
    // What the parameter group applies: the settings the engine keeps its own value of are not the server's.
    this.settings = pulumi.output(
      toRdsSettingsMap(settings, config.kind === "aurora" ? "aurora-postgresql" : "postgres"),
    );
    this.monitoring = {
      engine: config.kind,
      identifier,
      instances: endpoints.instances,
      memoryMb: config.hardware.memoryMb,
      maxConnections: settings.max_connections,
      thresholds: config.alarms,
      tags,
    };

    this.registerOutputs({
      host: this.connection.host,
      port: this.connection.port,
      readerHost: this.connection.readerHost,
      kmsKeyArn: this.kmsKeyArn,
      settings: this.settings,
    });
  }

  private createKey(name: string, identifier: string, tags: Record<string, string>): pulumi.Output<string> {
    const key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `Encrypts the ${identifier} database, its snapshots, Performance Insights and secrets`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        tags,
      },
      { parent: this },
    );
    new aws.kms.Alias(
      `${name}-key-alias`,
      { name: `alias/${identifier}`, targetKeyId: key.keyId },
      { parent: this },
    );
    return key.arn;
  }

  private createInstance(
    name: string,
    config: RdsServerConfig,
    settings: PostgresSettings,
    common: CommonSettings,
  ): Endpoints {
    const pinnedMinor = pinnedMinorWarning(config.engineVersion, common.stack);
    if (pinnedMinor) void pulumi.log.warn(pinnedMinor, this);
    const parameterGroup = new aws.rds.ParameterGroup(
      `${name}-params`,
      {
        family: parameterGroupFamily("postgres"),
        description: "NeonHub PostgreSQL 16: PGTune + pgvector settings, TLS required",
        parameters: rdsParameterGroupEntries(settings, "postgres"),
        tags: common.tags,
      },
      { parent: this },
    );
    const instance = new aws.rds.Instance(
      `${name}-instance`,
      {
        identifier: common.identifier,
        engine: "postgres",
        // "16" lets RDS pick the 16.x and upgrade it in the maintenance window; the provider keeps "16" in the
        // state while the instance runs any 16.x (its engineVersionActual), so an upgrade is no difference.
        engineVersion: config.engineVersion,
        autoMinorVersionUpgrade: AUTO_MINOR_VERSION_UPGRADE,
        allowMajorVersionUpgrade: false,
        instanceClass: config.instanceClass,
        allocatedStorage: config.allocatedStorageGb,
        maxAllocatedStorage: config.maxAllocatedStorageGb,
        storageType: "gp3",
        storageEncrypted: true,
        kmsKeyId: this.kmsKeyArn,
        username: config.masterUsername,
        manageMasterUserPassword: true,
        masterUserSecretKmsKeyId: this.kmsKeyArn,
        iamDatabaseAuthenticationEnabled: config.iamAuth,
        dbSubnetGroupName: this.network.subnetGroupName,
        vpcSecurityGroupIds: [this.network.securityGroupId],
        publiclyAccessible: false,
        port: PORT,
        multiAz: config.multiAz,
        parameterGroupName: parameterGroup.name,
        caCertIdentifier: CA_CERTIFICATE,
        backupRetentionPeriod: config.backupRetentionDays,
        backupWindow: "03:00-04:00",
        maintenanceWindow: "sun:04:30-sun:05:30",
        copyTagsToSnapshot: true,
        deleteAutomatedBackups: false,
        deletionProtection: config.deletionProtection,
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: common.finalSnapshotIdentifier,
        performanceInsightsEnabled: true,
        performanceInsightsKmsKeyId: this.kmsKeyArn,
        performanceInsightsRetentionPeriod: config.performanceInsightsRetentionDays,
        enabledCloudwatchLogsExports: ["postgresql", "upgrade"],
        // Changes wait for the maintenance window instead of restarting production mid-day.
        applyImmediately: false,
        tags: common.tags,
      },
      { parent: this },
    );
    return {
      host: instance.address,
      port: instance.port,
      readerHost: instance.address,
      masterSecretArn: instance.masterUserSecrets.apply((secrets) => secrets[0]?.secretArn),
      instances: [{ label: "instance", identifier: instance.identifier, reader: false }],
      snapshotSource: instance.identifier,
    };
  }

  private createAuroraCluster(
    name: string,
    config: RdsServerConfig,
    settings: PostgresSettings,
    common: CommonSettings,
  ): Endpoints {
    const parameterGroup = new aws.rds.ClusterParameterGroup(
      `${name}-cluster-params`,
      {
        family: parameterGroupFamily("aurora-postgresql"),
        description: "NeonHub Aurora PostgreSQL 16: PGTune + pgvector settings, TLS required",
        parameters: rdsParameterGroupEntries(settings, "aurora-postgresql"),
        tags: common.tags,
      },
      { parent: this },
    );
    const cluster = new aws.rds.Cluster(
      `${name}-cluster`,
      {
        clusterIdentifier: common.identifier,
        engine: "aurora-postgresql",
        engineVersion: config.engineVersion,
        allowMajorVersionUpgrade: false,
        storageEncrypted: true,
        kmsKeyId: this.kmsKeyArn,
        masterUsername: config.masterUsername,
        manageMasterUserPassword: true,
        masterUserSecretKmsKeyId: this.kmsKeyArn,
        iamDatabaseAuthenticationEnabled: config.iamAuth,
        dbSubnetGroupName: this.network.subnetGroupName,
        vpcSecurityGroupIds: [this.network.securityGroupId],
        port: PORT,
        dbClusterParameterGroupName: parameterGroup.name,
        backupRetentionPeriod: config.backupRetentionDays,
        preferredBackupWindow: "03:00-04:00",
        preferredMaintenanceWindow: "sun:04:30-sun:05:30",
        copyTagsToSnapshot: true,
        deleteAutomatedBackups: false,
        deletionProtection: config.deletionProtection,
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: common.finalSnapshotIdentifier,
        enabledCloudwatchLogsExports: ["postgresql"],
        applyImmediately: false,
        tags: common.tags,
      },
      // Aurora needs major.minor, and upgrades the minor itself (the instances' autoMinorVersionUpgrade): the
      // provider then records the upgraded version, and the configured one would be a downgrade, which AWS
      // refuses. engineVersion is the version the cluster is created at; AWS moves it on from there.
      { parent: this, ignoreChanges: ["engineVersion"] },
    );
    // The first instance becomes the writer; readers take over on failover (promotion tier 1) and serve the
    // reader endpoint. Aurora spreads them over the subnet group's zones.
    const roles = Array.from({ length: 1 + config.auroraReaders }, (_, index) =>
      index === 0 ? "writer" : `reader-${index}`,
    );
    const instances = roles.map((role, index) => {
      return new aws.rds.ClusterInstance(
        `${name}-${role}`,
        {
          identifier: `${common.identifier}-${role}`,
          clusterIdentifier: cluster.id,
          engine: "aurora-postgresql",
          engineVersion: cluster.engineVersion,
          instanceClass: config.instanceClass,
          dbSubnetGroupName: this.network.subnetGroupName,
          publiclyAccessible: false,
          promotionTier: index === 0 ? 0 : 1,
          caCertIdentifier: CA_CERTIFICATE,
          autoMinorVersionUpgrade: AUTO_MINOR_VERSION_UPGRADE,
          performanceInsightsEnabled: true,
          performanceInsightsKmsKeyId: this.kmsKeyArn,
          performanceInsightsRetentionPeriod: config.performanceInsightsRetentionDays,
          copyTagsToSnapshot: true,
          applyImmediately: false,
          tags: common.tags,
        },
        // An instance runs its cluster's version: a change of it here upgrades nothing (the cluster's does),
        // and would stay a difference in every preview.
        { parent: this, ignoreChanges: ["engineVersion"] },
      );
    });
    // Endpoints exist before any instance does: wait for the instances so connections succeed.
    const writerReady = instances[0]?.id ?? cluster.id;
    const readersReady = pulumi.all(instances.map((instance) => instance.id));
    return {
      host: pulumi.all([cluster.endpoint, writerReady]).apply(([endpoint]) => endpoint),
      port: cluster.port,
      readerHost: pulumi.all([cluster.readerEndpoint, readersReady]).apply(([endpoint]) => endpoint),
      masterSecretArn: cluster.masterUserSecrets.apply((secrets) => secrets[0]?.secretArn),
      snapshotSource: cluster.clusterIdentifier,
      instances: instances.map((instance, index) => ({
        label: roles[index] ?? `instance-${index}`,
        identifier: instance.identifier,
        reader: index > 0,
      })),
    };
  }

  /**
   * RDS generates the master password and keeps it in Secrets Manager (encrypted with our key, rotatable);
   * `pulumi up` reads the current version so the PostgreSQL provider can log in, and keeps it secret.
   */
  private readMasterPassword(
    name: string,
    secretArn: pulumi.Output<string | undefined>,
  ): pulumi.Output<string> {
    const secretId = secretArn.apply((arn) => {
      if (!arn)
        throw new Error(
          `${name}: RDS reported no master user secret although manageMasterUserPassword is on`,
        );
      return arn;
    });
    const version = aws.secretsmanager.getSecretVersionOutput({ secretId }, { parent: this });
    return pulumi.secret(version.secretString.apply((text) => parseMasterUserSecret(text).password));
  }
}

interface CommonSettings {
  /** The stack the program runs for: the commands its warnings print name it. */
  stack: string;
  identifier: string;
  tags: Record<string, string>;
  finalSnapshotIdentifier: pulumi.Output<string>;
}

interface Endpoints {
  host: pulumi.Output<string>;
  port: pulumi.Output<number>;
  readerHost: pulumi.Output<string>;
  masterSecretArn: pulumi.Output<string | undefined>;
  instances: MonitoredInstance[];
  /** What a pre-release snapshot is taken of: the instance (RDS) or the cluster (Aurora). */
  snapshotSource: pulumi.Output<string>;
}
