// The release engine's public API. Pulumi-free: the CLI, the dynamic providers and the tests import this.
export { ReleaseError, isReleaseError, type ReleaseErrorCode } from "./errors";
export { parseDatabaseUrl, redactSecrets, redactUrl, type DatabaseTarget } from "./dsn";
export { collectingLogger, silentLogger, type Logger } from "./logger";
export { readMigrationFiles, MIGRATION_FILE_PATTERN, type MigrationFile } from "./migrations/files";
export {
  compareWithLedger,
  type LedgerEntry,
  type LedgerIdentity,
  type LedgerProblem,
  type MigrationIdentity,
} from "./migrations/ledger";
export type { AppliedMigration } from "./migrations/run";
export type { RevertedMigration } from "./migrations/revert";
export {
  planRevertFrom,
  type RevertItem,
  type RevertPlan,
  type RevertRequest,
  type RevertResult,
} from "./revert";
export { ReleaseSession, withReleaseSession } from "./session";
export {
  applyRelease,
  buildReleaseManifest,
  planRelease,
  releaseStatus,
  verifyRelease,
  type ReleaseManifest,
  type ReleaseOptions,
  type ReleasePlan,
  type ReleaseResult,
  type ReleaseStatus,
  type ReleaseSummary,
  type VerifyReport,
} from "./release";
export type { ReleaseStep, StepItemPlan, StepItemResult, StepManifestEntry } from "./steps";
export { DEFAULT_MIGRATIONS_DIR, DEFAULT_SEEDS_DIR, PROJECT_ROOT } from "./project";
export {
  describeSchemaDrift,
  generatePrismaSchema,
  prismaSchemaCommand,
  type PrismaSchemaOptions,
  type PrismaSchemaResult,
} from "./prisma/command";
export { compareSchemas, describeDifference, type SchemaDifference } from "./prisma/compare";
export { PRISMA_SCHEMA_PATH } from "./prisma/render";
export { adoptUpstreamDatabase, type AdoptResult } from "./adopt/upstream";
export {
  EXEMPTION_SYNTAX,
  describeFinding,
  lintMigrations,
  parseReleaseEnvironment,
  RELEASE_ENVIRONMENTS,
  type ReleaseEnvironment,
  type SafetyFinding,
  type SafetyReport,
} from "./lint";
export { DEFAULT_LOCK_SAFETY, resolveLockSafety, type LockSafetySettings } from "./lock-safety/settings";
