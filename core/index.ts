// The release engine's public API. Pulumi-free: the CLI, the dynamic providers and the tests import this.
export {
  MIGRATOR_URL_SOURCES,
  RELEASE_ERROR_CODES,
  ReleaseError,
  SettingError,
  isReleaseError,
  type ReleaseErrorCode,
} from "./errors";
export {
  parseDatabaseUrl,
  passwordOf,
  readConnectionUrl,
  SSL_MODES,
  driverConfig,
  redactSecrets,
  redactUrl,
  urlWithoutPassword,
  type DatabaseTarget,
} from "./dsn";
export { quoteIdentifier } from "./identifiers";
export { pulumiConfigCommand, type PulumiConfigWords } from "./pulumi-config-command";
export { actAsOwnerRole } from "./owner-role";
export { shownName, shownObjectKey, shownQualifiedName, shownSql } from "./shown-names";
export { QUOTED_KEYWORDS } from "./sql-keywords";
export { flagWithValue, shellWord } from "./shell-word";
export { ownerRoleFlag } from "./owner-role-flag";
export { ADMIN_URL_SOURCE, ADMIN_URL_WORD, adminFlags } from "./adopt/adopting-login";
export { schemaMismatches } from "./schema-mismatches";
export { recordSnapshot } from "./snapshot";
export { closestName } from "./closest-name";
export { jsonSyntaxProblem, shownValue } from "./shown-value";
export { countText, elapsedText, formatCount } from "./count-format";
export { BTREE_MAX_ROW_BYTES, btreeRowBytes, longestKeyText, type KeyColumn } from "./btree-row-size";
export { collectingLogger, silentLogger, type Logger } from "./logger";
export {
  checkMigrationsFolder,
  downSection,
  readMigrationFiles,
  MIGRATION_FILE_PATTERN,
  type MigrationFile,
} from "./migrations/files";
export { withoutExemptionComments } from "./migrations/checksums";
export {
  compareWithLedger,
  type LedgerEntry,
  type LedgerIdentity,
  type LedgerProblem,
  type MigrationIdentity,
} from "./migrations/ledger";
export type { AppliedMigration } from "./migrations/run";
export type { RevertedMigration } from "./migrations/revert";
export { destroyingStatements, dropsOf } from "./migrations/drops";
export type { CorrectedDown } from "./migrations/corrected-down";
export {
  planRevertFrom,
  planRevertWith,
  revertPlanBlocked,
  revertPlanProblems,
  type RevertInputs,
  type RevertItem,
  type RevertPlan,
  type RevertRequest,
  type RevertResult,
} from "./revert";
export { ReleaseSession, withReleaseSession } from "./session";
export {
  applyRelease,
  buildReleaseManifest,
  planIsBlocked,
  planRelease,
  planVerdict,
  releaseStatus,
  verifyRelease,
  verifyWith,
  type ReleaseManifest,
  type ReleaseOptions,
  type PlanVerdict,
  type ReleasePlan,
  type ReleaseResult,
  type ReleaseStatus,
  type ReleaseSummary,
  type VerifyReport,
} from "./release";
export type { PlanProblem } from "./plan-problems";
export {
  driftPlanProblems,
  driftWarningText,
  rebuildLeftoverText,
  type DriftBeforeRelease,
} from "./drift-before-release";
export type {
  ReleaseStep,
  RunningStep,
  StepApplyOptions,
  StepItemPlan,
  StepItemResult,
  StepManifestEntry,
} from "./steps";
export { DISPLAY_CHECKSUM_LENGTH, displayChecksum, displayChecksumPair, ledgerProblemText } from "./display";
export {
  STEP_KINDS,
  type IndexBuildFacts,
  type CountIndexFacts,
  type FailedMigration,
  type IndexCalibrationFacts,
  type MigrationResult,
  type PolicyTableName,
  type RowLevelSecurityItemResult,
  type RowLevelSecurityPlanItem,
  type RowLevelSecurityStatus,
  type SeedSetItemResult,
  type SeedSetStatus,
  type StepKind,
  type StepResult,
  type StepStatus,
  type TenantSearchFacts,
  type VectorIndexItemResult,
  type VectorIndexPlanItem,
  type VectorIndexStatus,
} from "./results";
export type { StepItemResults, StepStatuses } from "./step-results";
export type { IndexDecision, SkipCause } from "./vector-indexes/decide";
export { REBUILT_SINCE_CALIBRATION } from "./vector-indexes/decide";
export { DEFAULT_MIGRATIONS_DIR, DEFAULT_SEEDS_DIR, PROJECT_ROOT } from "./project";
export {
  describeSchemaDrift,
  checkSchemaFile,
  generatePrismaSchema,
  prismaSchemaCommand,
  type PrismaSchemaOptions,
  type PrismaSchemaResult,
} from "./prisma/command";
export { compareSchemas, describeDifference, type SchemaDifference } from "./prisma/compare";
export { PRISMA_SCHEMA_PATH } from "./prisma/render";
export { adoptUpstreamDatabase, type AdoptResult } from "./adopt/upstream";
export {
  EXEMPTABLE_RULES,
  EXEMPTION_SYNTAX,
  UNFLAGGED_RULES,
  columnsProvenNotNull,
  describeFinding,
  findingPlace,
  lintMigrations,
  safetyErrorsFix,
  serverParse,
  parseReleaseEnvironment,
  RELEASE_ENVIRONMENTS,
  type MigrationSection,
  type ReleaseEnvironment,
  type SafetyFinding,
  type SafetyReport,
  type ServerParse,
} from "./lint";
export {
  DEFAULT_LOCK_SAFETY,
  LOCK_SAFETY_MAX,
  STATEMENT_TIMEOUT_ENDS_LOCK_WAITS,
  resolveLockSafety,
  statementTimeoutEndsLockWaits,
  suggestedStatementTimeoutMs,
  type LockSafetySettings,
} from "./lock-safety/settings";
export {
  RELEASE_SETTING_KEYS,
  STACK_SETTING_FLAGS,
  mergeSettings,
  settingValue,
  STACK_CONFIG_NAMESPACE,
  STACK_NAMES,
  stackKeyOf,
  releaseSettingsOfStackFile,
  stackConfigValue,
  resolveReleaseSettings,
  settingFromFlag,
  type ReleaseSettings,
} from "./release-config";
export { flattenSettings, settingChanges } from "./release-settings";
export {
  completeVectorIndexOptions,
  decimalsFromStackConfig,
  type VectorIndexOptions,
} from "./vector-indexes/options";
export {
  ROW_LEVEL_SECURITY_MODES,
  parseRowLevelSecurityMode,
  type RowLevelSecurityMode,
} from "./row-level-security";
export { AVAILABLE_SEED_SETS, defaultReleaseSteps, type DefaultStepOptions } from "./default-steps";
export { baselineRelease, type BaselineResult } from "./baseline";
export {
  interruption,
  reportIfInterrupted,
  reportInterruptions,
  type InterruptibleCommand,
  type Interruption,
  type Running,
  type RunningTrackers,
} from "./interrupted-commands";
export { holdSignalsAfterResult } from "./interrupt";
export { BOOKKEEPING_SCHEMA, MIGRATIONS_TABLE, RELEASE_LOCK_KEY, bookkeepingExists } from "./bookkeeping";
export { expectLastRerun } from "./revert-preview";
export { commandToRun, settingToChange, type CommandPrinter } from "./command-to-run";
export { closeClient, openClient } from "./connection";
export {
  RELEASE_LOCK_TIMEOUT_SECONDS,
  acquireReleaseLock,
  isReleaseLockSeconds,
  type ReleaseInProgress,
  type ReleaseLockHolders,
  type ReleaseLockPrepared,
} from "./lock";
export {
  DEFAULT_HEALTH_LIMITS,
  checkHealth,
  describeSession,
  describeXminHolder,
  embeddingsInToastFindings,
  readRefusedEmbeddings,
  refusedEmbeddingFindings,
  type EmbeddingRowsHealth,
  type HealthFinding,
  type HealthReport,
  type IndexHealth,
  type TableHealth,
} from "./health";
export { snapshotAgeText } from "./health/sessions";
export {
  MAX_LINE_BYTES,
  SeedsStep,
  chunkFileHeaderLine,
  chunkFileStats,
  chunkLine,
  derivedChunkId,
  documentsLeftEmptyText,
  documentLine,
  fileIdLimits,
  INDEXES_OF_FILE_IDS,
  loadChunkFile,
  loadChunks,
  loadSeedSet,
  openChunkFile,
  refuseReplaceWithAppend,
  chunkRate,
  seededRandom,
  seededVector,
  vectorLiteral,
  type ChunkFileHeader,
  type LoadChunksResult,
} from "./seeds";
export { CopyRowBuffer, copyHeader, copyTrailer, toNetworkOrder } from "./seeds/bulk/copy-binary";
export {
  EMBEDDING_TABLES,
  VectorIndexStep,
  nearestQuery,
  readIndexRecords,
  type IndexRecord,
  type VectorIndexStepOptions,
} from "./vector-indexes";
export {
  HALFVEC_ZERO_BOUND,
  HALFVEC_ZERO_WORDS,
  REBUILD_LEFTOVER,
  createIndexSql,
  isCountIndexName,
} from "./vector-indexes/spec";
export { neighboursOf, recallOf, type Neighbour } from "./vector-indexes/recall";
export { buildMemoryNeed } from "./vector-indexes/memory";
export { withCalibrationProgress } from "./vector-indexes/calibration-progress";
export { readInventory, rowsByDimensionSql } from "./vector-indexes/inventory";
export { createCountIndexSql } from "./vector-indexes/count-index";
export { isSearchDefaultItem } from "./vector-indexes/search-default";
export { normalizeOutOfRangeSql, outOfRangeRowsSql } from "./vector-indexes/out-of-range";
export { wrongDimensionRepairSql, wrongDimensionRowsSql } from "./vector-indexes/wrong-dimension";
export { calibrate, HNSW_MIN_EF_SEARCH, percentile, UNFILTERED_SAMPLE } from "./vector-indexes/calibrate";
export { heldOutQueries, type HeldOutSample } from "./vector-indexes/held-out";
export {
  buildTenantIndex,
  buildPrefilterGraph,
  describePrefilterGraph,
  prefilterGraphName,
  PREFILTER_GRAPH_DEPTH_FACTOR,
  readPrefilterGraphs,
  savePrefilterGraphs,
  type PrefilterGraphEntry,
  type PrefilterGraphFacts,
  isPrefilterIndexName,
  missedTargets,
  PREFILTER_MIN_FACTOR,
  PREFILTER_SMALL_MIN_DEPTH,
  describePrefilterSmall,
  prefilterDepthFor,
  prefilterIndexSql,
  readPrefilterEntries,
  savePrefilterEntries,
  type PrefilterEntry,
  type PrefilterFacts,
  type PrefilterSmallFacts,
  readSearchCalibrations,
  calibrateTenantSearch,
  readSearchTuning,
  readTenantIndexes,
  readListedIndexes,
  outgrownListedIndexes,
  rebuiltListedIndexes,
  unusableListedIndexes,
  crossedThreshold,
  sharePercentOf,
  DEFAULT_EXACT_ROWS,
  dropPrefilterGraph,
  dropTenantIndex,
  type ListedIndex,
  saveSearchTuning,
  saveTenantIndexes,
  tenantIndexCandidates,
  tenantIndexName,
  tenantIndexSql,
  type TenantIndexEntry,
  type ClassMeasurement,
  type SearchCalibrationRecord,
  type SearchTuning,
} from "./search";
export { retryDelayMs } from "./lock-safety/settings";
export {
  describeLockWait,
  readLockWait,
  watchLockWaits,
  type LockBlocker,
  type LockWait,
} from "./lock-safety/lock-waits";
export { describePreparedTransaction, type PreparedTransaction } from "./lock-safety/prepared-transactions";
export type { LockWaitNames } from "./lock-safety/wait-names";
export { createdObjects } from "./adopt/created-objects";
export {
  DEFAULT_UPGRADE_BATCH_SIZE,
  legacyUpgradeNeeded,
  upgradeLegacyDatabase,
  upgradeLegacyIfNeeded,
  type LegacyUpgradeOptions,
  type LegacyUpgradeResult,
} from "./adopt/upgrade/run";
export { planLegacyUpgrade, planLegacyUpgradeIfNeeded, type LegacyUpgradePlan } from "./adopt/upgrade/plan";
export type { LegacyUpgradeSetting } from "./adopt/upgrade/setting";
export type { LegacyDependent, UncarriedColumn } from "./adopt/upgrade/uncarried";
export { ADOPTING_SECTION, UPGRADING_SECTION } from "./adopt/runbook-sections";
