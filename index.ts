// `pulumi up` for the NeonHub database: config ──► server ──► access ──► schema release ──► outputs.
// Stacks: local (an existing server), dev (Docker), prod (RDS or Aurora). See docs/stacks.md.
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_MIGRATIONS_DIR, readMigrationFiles } from "./core";
import { DatabaseAlarms } from "./infra/alarms";
import { AppConnectionSecret } from "./infra/app-secret";
import { DatabaseAccess } from "./infra/access";
import { loadConfig } from "./infra/config";
import { PreReleaseSnapshot } from "./infra/pre-release-snapshot";
import { refusedAtProgramTime } from "./infra/program-refusal";
import { SchemaRelease } from "./infra/schema-release";
import { RdsServer, createServer } from "./infra/servers";

// Throws before any resource is registered when a value is missing or invalid.
const config = loadConfig();

const server = createServer("neonhub", config);
const access = new DatabaseAccess("neonhub", {
  server: server.connection,
  database: config.database,
  roles: config.roles,
  keepData: config.keepData,
});

// Production: a snapshot named after the release, taken before its migrations run (docs/runbook.md).
const preReleaseSnapshot =
  server instanceof RdsServer
    ? new PreReleaseSnapshot(
        "neonhub",
        {
          ...server.snapshotSource,
          // A file the release would refuse stops the program here first: refused as the release refuses it.
          migrations: refusedAtProgramTime("Schema release", () =>
            readMigrationFiles(DEFAULT_MIGRATIONS_DIR),
          ),
          tags: { Project: "neonhub-db", Stack: config.stack },
        },
        { dependsOn: access },
      )
    : undefined;

// Schema release (migrations ─► seeds ─► vector indexes), after access, as the migrator (never the admin).
// See docs/schema-release.md.
const release = new SchemaRelease(
  "schema",
  {
    directUrl: access.migratorUrl,
    ownerRole: access.ownerRole,
    database: access.databaseName,
    seedSets: config.release.seedSets,
    stepOptions: {
      vectorIndexes: config.release.vectorIndexes,
      rowLevelSecurity: config.release.rowLevelSecurity,
      legacyUpgrade: config.release.legacyUpgrade,
    },
    dropOnDelete: config.release.dropSchemaOnDelete,
    lockTimeoutMs: config.release.lockTimeoutMs,
    environment: config.release.safety.environment,
    lockSafety: config.release.safety.lockSafety,
  },
  { dependsOn: preReleaseSnapshot ? [access, preReleaseSnapshot] : [access] },
);
export const schemaRelease = release.summary;

// Production apps read DATABASE_URL from Secrets Manager.
const appSecret =
  server instanceof RdsServer
    ? new AppConnectionSecret("neonhub-app", {
        databaseUrl: access.appUrl,
        kmsKeyArn: server.kmsKeyArn,
        stack: config.stack,
      })
    : undefined;

// Production watches itself: CloudWatch alarms notify an SNS topic that on-call subscribes to.
const alarms = server instanceof RdsServer ? new DatabaseAlarms("neonhub", server.monitoring) : undefined;

// The contract apps rely on. Connection strings carry passwords and are secret:
//   pulumi stack output --show-secrets databaseUrl
export const databaseUrl = access.appUrl;
export const directUrl = access.migratorUrl;
export const readonlyUrl = access.readonlyUrl;
export const host = server.connection.host;
export const port = server.connection.port;
export const readerHost = server.connection.readerHost;
export const database = access.databaseName;
export const roles = access.roleNames;
export const extensions = access.extensions;
export const serverKind = pulumi.output(config.server.kind);
/** The PostgreSQL settings the server runs with (recommended ones for an existing server). */
export const serverSettings = server.settings;
export const databaseUrlSecretArn = appSecret?.arn;
/** Production: the snapshot taken before the last release's migrations, to restore from (docs/runbook.md). */
export const preReleaseSnapshotId = preReleaseSnapshot?.snapshotIdentifier;
/** SNS topic of the production alarms: `aws sns subscribe --topic-arn <it> --protocol email ...`. */
export const alarmTopicArn = alarms?.topicArn;
