// Chunk files for the bulk loader's tests, written the way a producer would: header, documents, chunks.
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import { afterAll } from "vitest";
import { chunkFileHeaderLine, chunkLine, documentLine, type ChunkFileHeader } from "../../core";
import { seededRandom } from "../../core";
import { scratchDir } from "../support/scratch";

/** A temporary folder for the file's chunk files, removed after its tests. */
export function chunkFileDir(): string {
  const dir = scratchDir("neonhub-chunks-");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface GeneratedChunkFile {
  file: string;
  documentIds: string[];
  chunks: number;
  /** The embedding of the first chunk, as written. */
  firstEmbedding: Float32Array;
}

export interface ChunkFileSpec {
  dimension: number;
  documents: number;
  chunksPerDocument: number;
  header?: Partial<ChunkFileHeader>;
  /** Prefix of document ids (ids are global, so each file of a test gets its own). */
  prefix: string;
  /** Lines appended as they are, after the chunks (to make a file corrupt): bytes for what is not UTF-8. */
  tail?: (string | Buffer)[];
  /** Gives chunk `n` (0-based) an explicit id. */
  idOf?: (n: number) => string | undefined;
}

export function writeChunkFile(dir: string, name: string, spec: ChunkFileSpec): GeneratedChunkFile {
  const file = path.join(dir, name);
  const fd = openSync(file, "w");
  const random = seededRandom(`chunk-file:${name}`);
  const documentIds = Array.from({ length: spec.documents }, (_, d) => `${spec.prefix}-doc-${d}`);
  let firstEmbedding: Float32Array | undefined;
  let n = 0;
  try {
    writeSync(
      fd,
      chunkFileHeaderLine({
        dimension: spec.dimension,
        embeddingSpace: { provider: "openai", model: "text-embedding-3-large" },
        ...spec.header,
      }),
    );
    for (const id of documentIds) {
      writeSync(
        fd,
        documentLine({ id, title: `Document ${id}`, mimeType: "text/plain", metadata: { source: "test" } }),
      );
    }
    for (const documentId of documentIds) {
      const lines: string[] = [];
      for (let idx = 0; idx < spec.chunksPerDocument; idx++, n++) {
        const embedding = new Float32Array(spec.dimension);
        for (let i = 0; i < spec.dimension; i++) embedding[i] = random() * 2 - 1;
        firstEmbedding ??= embedding;
        lines.push(
          chunkLine({
            id: spec.idOf?.(n),
            documentId,
            idx,
            text: `Chunk ${idx} of ${documentId}: ünïcödé text, "quotes" and a\ttab.`,
            embedding,
            metadata: idx % 2 === 0 ? { n, even: true } : null,
          }),
        );
      }
      writeSync(fd, lines.join(""));
    }
    for (const line of spec.tail ?? []) writeSync(fd, typeof line === "string" ? Buffer.from(line) : line);
  } finally {
    closeSync(fd);
  }
  return { file, documentIds, chunks: n, firstEmbedding: firstEmbedding ?? new Float32Array() };
}
