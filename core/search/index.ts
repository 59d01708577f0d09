// Vector search under the tenant filter: the settings the search functions read, their calibration per
// tenant-size class, and its records (docs/search.md).
export {
  calibrateTenantSearch,
  SEARCH_FUNCTIONS,
  sharePercentOf,
  type ClassMeasurement,
  type TenantCalibration,
  type TenantIndexFacts,
} from "./calibrate-tenants";
export {
  SEARCH_BOOKKEEPING_DDL,
  SEARCH_CALIBRATIONS_EXIST_SQL,
  SEARCH_CALIBRATIONS_JSON_SQL,
  missedTargets,
  searchCalibrationFromRow,
  type SearchCalibrationRow,
  readSearchCalibrations,
  saveSearchCalibration,
  type SearchCalibrationRecord,
} from "./records";
export {
  DEFAULT_EXACT_ROWS,
  readSearchTuning,
  saveSearchTuning,
  searchTuningSql,
  type SearchTuning,
} from "./tuning";
export { setDatabaseSearchDefault } from "./session-defaults";
export {
  isPrefilterIndexName,
  isPrefilterTable,
  PREFILTER_MIN_FACTOR,
  PREFILTER_SMALL_MIN_DEPTH,
  describePrefilterSmall,
  prefilterDepthFor,
  prefilterIndexSql,
  prefilterIndexStateSql,
  signBitsTriggerStateSql,
  type PrefilterIndexState,
  type SignBitsTriggerState,
  readPrefilterEntries,
  savePrefilterEntries,
  type PrefilterEntry,
  type PrefilterFacts,
  type PrefilterSmallFacts,
} from "./prefilter";
export {
  buildPrefilterGraph,
  dropPrefilterGraph,
  describePrefilterGraph,
  prefilterGraphName,
  PREFILTER_GRAPH_DEPTH_FACTOR,
  readPrefilterGraphs,
  savePrefilterGraphs,
  type PrefilterGraphEntry,
  type PrefilterGraphFacts,
} from "./prefilter-graphs";
export {
  readListedIndexes,
  outgrownListedIndexes,
  rebuiltListedIndexes,
  unusableListedIndexes,
  type ListedIndex,
  type ListedIndexState,
} from "./listed-indexes";
export { crossedThreshold } from "./crossed-threshold";
export {
  buildTenantIndex,
  dropTenantIndex,
  readTenantIndexes,
  saveTenantIndexes,
  tenantIndexCandidates,
  tenantIndexName,
  tenantIndexSql,
  TENANT_INDEX_MIN_SHARE,
  type TenantIndexEntry,
} from "./tenant-indexes";
