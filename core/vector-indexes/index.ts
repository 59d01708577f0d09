// The vector-index step of the release and what callers may want from it (formulas, specs, records).
export { VectorIndexStep, type VectorIndexStepOptions } from "./step";
export { DEFAULTS, PARALLEL_MIN_ROWS, type PerIndexOptions, type VectorIndexOptions } from "./options";
export { LISTS_DRIFT_FACTOR, ROWS_PER_LIST, targetLists } from "./lists";
export { ivfflatKmeansBytes, hnswGraphBytes } from "./memory";
export {
  EMBEDDING_TABLES,
  indexExpression,
  indexPredicate,
  nearestQuery,
  type EmbeddingTable,
  type IndexMethod,
} from "./spec";
export { readIndexRecords, type Calibration, type IndexRecord } from "./records";
