// Seed sets (a release step) and the bulk chunk loader.
export { SeedsStep, type SeedsStepOptions } from "./step";
export {
  canonicalJson,
  listSeedSets,
  loadSeedSet,
  type SeedRow,
  type SeedSet,
  type SeedTable,
} from "./seed-set";
export { seededRandom, seededVector, vectorLiteral, type SeededVectorSpec } from "./vectors";
export {
  CHUNK_FILE_FORMAT,
  CHUNK_FILE_VERSION,
  MAX_LINE_BYTES,
  ChunkFileError,
  chunkFileHeaderLine,
  chunkFileStats,
  chunkLine,
  documentLine,
  openChunkFile,
  type ChunkFileHeader,
  type ChunkLineInput,
  type DocumentLineInput,
} from "./bulk/chunk-file";
export { INDEXES_OF_FILE_IDS, fileIdLimits, type FileId, type KeyLimit } from "./bulk/key-limits";
export {
  derivedChunkId,
  documentsLeftEmptyText,
  loadChunkFile,
  loadChunks,
  refuseReplaceWithAppend,
  chunkRate,
  type LoadChunksOptions,
  type LoadChunksResult,
} from "./bulk/load-chunks";
