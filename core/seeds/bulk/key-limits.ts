// The ids of a chunk file that b-tree indexes hold, and the longest each may be: one that is longer failed the
// whole load at PostgreSQL's row-size limit, naming the index but not the line, or the field, it came from.
import { BTREE_MAX_ROW_BYTES, longestKeyText, type KeyColumn } from "../../btree-row-size";
import { formatCount } from "../../count-format";
import { ChunkFileError } from "./chunk-file";

/** A column of an index's key: the file's field, the dataset's id (--dataset), or an int4 (a chunk's idx). */
type KeyPart = "field" | "datasetId" | "int4";

/**
 * The b-tree indexes that hold each id of the file, by their key columns, as migration
 * 20250126000900_datasets_and_documents makes them (a test compares this with the database's catalog): what
 * decides each id's limit.
 */
export const INDEXES_OF_FILE_IDS = {
  'document "id"': { Document_pkey: ["field"], Document_datasetId_id_key: ["datasetId", "field"] },
  'chunk "id"': { Chunk_pkey: ["field"] },
  'chunk "documentId"': {
    Chunk_documentId_idx_key: ["field", "int4"],
    Chunk_datasetId_documentId_idx: ["datasetId", "field"],
  },
} as const satisfies Record<string, Record<string, readonly KeyPart[]>>;

export type FileId = keyof typeof INDEXES_OF_FILE_IDS;

export interface KeyLimit {
  /** The most UTF-8 bytes the id may have. */
  bytes: number;
  /** The index that sets it (the tightest, with the dataset's id beside the field where it is). */
  index: string;
  withDatasetId: boolean;
}

/** Each id's limit in a load into `datasetId`. */
export function fileIdLimits(datasetId: string): Record<FileId, KeyLimit> {
  const datasetBytes = Buffer.byteLength(datasetId, "utf8");
  const limitOf = (indexes: Record<string, readonly KeyPart[]>): KeyLimit => {
    let tightest: KeyLimit | undefined;
    for (const [index, parts] of Object.entries(indexes)) {
      const columns: KeyColumn[] = parts.map((part) =>
        part === "int4" ? "int4" : part === "datasetId" ? datasetBytes : 0,
      );
      const bytes = longestKeyText(columns, parts.indexOf("field"));
      if (!tightest || bytes < tightest.bytes) {
        tightest = { bytes, index, withDatasetId: parts.includes("datasetId") };
      }
    }
    return tightest!;
  };
  return {
    'document "id"': limitOf(INDEXES_OF_FILE_IDS['document "id"']),
    'chunk "id"': limitOf(INDEXES_OF_FILE_IDS['chunk "id"']),
    'chunk "documentId"': limitOf(INDEXES_OF_FILE_IDS['chunk "documentId"']),
  };
}

/**
 * Refuses an id of `bytes` UTF-8 bytes over its limit, naming the file's line, the field, its size, the limit
 * and the index that sets it. The value itself is not shown: it is thousands of bytes long.
 */
export function refuseLongId(
  file: string,
  line: number,
  id: FileId,
  bytes: number,
  limits: Record<FileId, KeyLimit>,
  datasetId: string,
): void {
  const limit = limits[id];
  if (bytes <= limit.bytes) return;
  const beside = limit.withDatasetId ? ` beside the dataset's id ("${datasetId}")` : "";
  throw new ChunkFileError(
    file,
    line,
    `the ${id} is ${formatCount(bytes)} bytes long (UTF-8): at most ${formatCount(limit.bytes)} fit in index "${limit.index}"${beside}, whose rows PostgreSQL's b-tree holds to ${formatCount(BTREE_MAX_ROW_BYTES)} bytes.`,
    `Give it a shorter id (a long name such as a URL can go in a document's "sourceUrl" or "metadata"; a hash of it, such as its sha256 in hex, 64 bytes, is a stable id). Nothing was loaded.`,
  );
}
