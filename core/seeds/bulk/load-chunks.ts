// The bulk path for real datasets: a chunk file (see chunk-file.ts) streamed into "Chunk" with binary COPY.
//
// All-or-nothing, in one transaction: a dataset is either wholly loaded or untouched, so retrieval never
// sees half a dataset and a failed load leaves nothing to clean up; running the same command again after a
// fix is the whole recovery. Resuming mid-file would need per-batch commits (slower, and a visible partial
// dataset) for a load that takes seconds per 100,000 chunks.
//
// What is checked before a single row is sent: the header (the embedding space exists and has the file's
// dimension), the dataset (exists; has no chunks unless `replace`). What is checked while streaming, each
// fault naming its line: JSON, fields, ids no longer than the b-tree indexes that hold them take
// (key-limits.ts), every embedding's length, finiteness and range (halfvec's, above 2,000 dimensions, where an
// embedding halfvec holds as the zero vector is refused too), that
// each chunk's document is in the file or the dataset, and that no (document, idx) or id repeats. The database checks the rest (foreign keys, the dimension trigger) and a fault there is
// mapped back to the file's line.
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ClientBase } from "pg";
import { closeClient, isConnectionLost, openClient } from "../../connection";
import { DEFAULT_LOCK_TIMEOUT_MS } from "../../lock";
import { withBoundedLockWaits } from "../../lock-safety/bounded-waits";
import { lockWaitWordsFor } from "../../lock-safety/wait-names";
import { commandSessionSql } from "../../lock-safety/session";
import { commandToRun, runAgain, type CommandPrinter } from "../../command-to-run";
import { countText } from "../../count-format";
import { targetOf, type DatabaseTarget } from "../../dsn";
import { ReleaseError, asMigratorFix, isReleaseError } from "../../errors";
import { silentLogger, type Logger } from "../../logger";
import { shellWord } from "../../shell-word";
import { describeRunError } from "../../release";
import {
  ChunkFileError,
  openChunkFile,
  type ChunkFileHeader,
  type ChunkFileRecord,
  type ChunkRecord,
  type DocumentRecord,
  type ReadPosition,
} from "./chunk-file";
import { CopyRowBuffer, copyHeader, copyTrailer, textFieldSize, vectorFieldSize } from "./copy-binary";
import { fileIdLimits, refuseLongId } from "./key-limits";

export interface LoadChunksOptions {
  /** Path of the chunk file. */
  file: string;
  /** The dataset ("Dataset"."id") the chunks and documents belong to. */
  datasetId: string;
  /** Delete the dataset's existing chunks first, in the same transaction. Without it (or `append`), such a
   * dataset is refused. */
  replace?: boolean;
  /** Add the file's documents to a dataset that has chunks: a document the dataset already has is replaced
   * (its chunks deleted first, in the same transaction); the other documents keep theirs. A document line
   * with no chunk lines leaves that document without chunks, and the result names it. */
  append?: boolean;
  log?: Logger;
  /** How often progress is logged (default every 2 s). */
  progressEveryMs?: number;
  /** The longest line the file may have, in bytes, its line break not counted (default MAX_LINE_BYTES, 8 MiB). */
  maxLineBytes?: number;
  /** How a fix prints a command to run on this database (ReleaseOptions.printCommand). */
  printCommand?: CommandPrinter;
  /**
   * The load as the operator ran it (ReleaseOptions.commandAsRun): what a failed load's, a lost connection's and
   * a lock timeout's fixes say to run again. Unset (a library caller), they say what to call again.
   */
  commandAsRun?: string;
}

/** What a library caller, who ran no command, calls again once a failed load's cause is fixed. */
const LOAD_CALL_AGAIN =
  "call the load again (loadChunkFile, or loadChunks on a connection) with the same options";

export interface LoadChunksResult {
  datasetId: string;
  embeddingSpaceId: string;
  dimension: number;
  documents: number;
  chunks: number;
  /** Chunks deleted first (with `replace`: the dataset's; with `append`: those of the file's documents). */
  replaced: number;
  /**
   * The documents this load left without chunks. With `replace`: the dataset's documents no chunk line
   * names; with `append`: the file's documents no chunk line names (their chunks were replaced by none).
   * They are kept, not deleted: a document's versions (`"DocumentVersion"`) go with it, and they are no
   * chunk file's to drop.
   */
  documentsWithoutChunks: string[];
  fileBytes: number;
  /** Bytes of binary COPY data sent. */
  copyBytes: number;
  durationMs: number;
  /** Whole from 100 up, to two significant digits below (chunkRate). */
  chunksPerSecond: number;
  /** File megabytes (10^6 bytes) read per second. */
  fileMegabytesPerSecond: number;
}

const CHUNK_COLUMNS = [
  "id",
  "datasetId",
  "embeddingSpaceId",
  "documentId",
  "idx",
  "text",
  "embedding",
  "metadata",
];
const COPY_SQL = `COPY "Chunk" (${CHUNK_COLUMNS.map((c) => `"${c}"`).join(", ")}) FROM STDIN WITH (FORMAT binary)`;
const DOCUMENT_BATCH = 1000;

/** The id of a chunk the file gives none for: the same dataset, document and idx always give the same id. */
export function derivedChunkId(datasetId: string, documentId: string, idx: number): string {
  return `chunk_${createHash("sha256")
    .update(JSON.stringify([datasetId, documentId, idx]))
    .digest("hex")
    .slice(0, 32)}`;
}

interface Target {
  datasetId: string;
  space: { id: string; dimension: number };
  existingDocuments: Set<string>;
}

/** Loads a chunk file on an open connection, in one transaction of its own. */
export async function loadChunks(client: ClientBase, options: LoadChunksOptions): Promise<LoadChunksResult> {
  refuseReplaceWithAppend(options);
  const log = options.log ?? silentLogger;
  const started = Date.now();
  const reader = openChunkFile(options.file, { maxLineBytes: options.maxLineBytes });
  // A file that is not a chunk file is refused before the database is touched.
  const header = await reader.header;
  /** The file's line of each row sent, in order: negative when the loader derived the chunk's id. */
  const tupleLines: number[] = [];
  try {
    await client.query("BEGIN");
    const target = await prepareTarget(client, options, header);
    let replaced = await clearExistingChunks(client, options);
    const records = reader.records;
    const { documents, firstChunk } = await readDocuments(records);
    await writeDocuments(client, options, target, documents);
    if (options.append) replaced = await clearDocumentChunks(client, options, documents);
    for (const d of documents) target.existingDocuments.add(d.id);
    log.info(
      `load-chunks: dataset ${options.datasetId}, space ${target.space.id} (${header.dimension} dimensions), ${countText(documents.length, "document")}; streaming chunks`,
    );
    const counts = { chunks: 0, copyBytes: 0 };
    if (firstChunk) {
      const progress = progressReporter(log, reader.position, started, options.progressEveryMs ?? 2000);
      // Required here: only this command streams COPY, and the rest of the CLI starts without it.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { from: copyFrom } = require("pg-copy-streams") as typeof import("pg-copy-streams");
      const copy = client.query(copyFrom(COPY_SQL));
      await pipeline(
        Readable.from(encodeChunks(options.file, firstChunk, records, target, counts, tupleLines, progress)),
        copy,
      );
    }
    const documentsWithoutChunks = await documentsLeftEmpty(client, options, documents);
    await client.query("COMMIT");
    const durationMs = Math.max(1, Date.now() - started);
    const result: LoadChunksResult = {
      datasetId: options.datasetId,
      embeddingSpaceId: target.space.id,
      dimension: header.dimension,
      documents: documents.length,
      chunks: counts.chunks,
      replaced,
      documentsWithoutChunks,
      fileBytes: reader.position.totalBytes,
      copyBytes: counts.copyBytes,
      durationMs,
      chunksPerSecond: chunkRate(counts.chunks, durationMs),
      fileMegabytesPerSecond: Number((reader.position.totalBytes / 1e3 / durationMs).toFixed(1)),
    };
    log.info(
      `load-chunks: ${countText(result.chunks, "chunk")} and ${countText(result.documents, "document")} loaded in ${(durationMs / 1000).toFixed(1)} s (${result.chunksPerSecond.toLocaleString("en-US")} chunks/s, ${result.fileMegabytesPerSecond} MB/s)`,
    );
    if (documentsWithoutChunks.length > 0) log.warn(documentsLeftEmptyText(documentsWithoutChunks));
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw await describeLoadError(client, error, options, tupleLines);
  } finally {
    await reader.close().catch(() => {});
  }
}

/** Opens a connection, loads, closes: what `neonhub-db load-chunks` runs. */
export async function loadChunkFile(
  options: LoadChunksOptions & {
    databaseUrl: string;
    databaseUrlSource?: string;
    connectTimeoutMs?: number;
    /**
     * How long the load waits for a lock another session holds (its dataset's row, the tables it writes)
     * before it gives up, loading nothing (DEFAULT_LOCK_TIMEOUT_MS when unset).
     */
    lockTimeoutMs?: number;
  },
): Promise<LoadChunksResult> {
  refuseReplaceWithAppend(options);
  const target = targetOf(options);
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const client = await openClient(target, {
    applicationName: "neonhub-db:load-chunks",
    connectTimeoutMs: options.connectTimeoutMs,
    sessionSql: commandSessionSql(lockTimeoutMs),
  });
  try {
    return await withBoundedLockWaits(
      client,
      target,
      {
        command: "load-chunks",
        lockTimeoutMs,
        connectTimeoutMs: options.connectTimeoutMs,
        log: options.log ?? silentLogger,
        outcome: "Nothing was loaded (the load is one transaction, rolled back).",
        rerun: lockWaitWordsFor(options, "load-chunks").rerun,
      },
      () => loadChunks(client, options),
    );
  } catch (error) {
    throw lostConnectionError(error, target, options.commandAsRun);
  } finally {
    await closeClient(client);
  }
}

/**
 * A connection lost during the load (the server stopped or restarted, the session was terminated, the network
 * dropped) in the release commands' words, with the load's own fix (core/lost-connection.ts): its transaction
 * goes with the session. Any other error as it is.
 */
function lostConnectionError(error: unknown, target: DatabaseTarget, asRun: string | undefined): unknown {
  if (isReleaseError(error) || !isConnectionLost(error)) return error;
  return describeRunError(error, target, "load-chunks", { asRun });
}

/** A dataset whose slug or name is what --dataset gave, where its id was wanted. */
interface DatasetNamed {
  id: string;
  slug: string;
  name: string;
  organizationId: string;
}

/** The most datasets a refusal lists when several have the slug or name given. */
const DATASETS_LISTED = 5;

/**
 * Refuses a --dataset that is no dataset's id but the slug or name of one this login can see (a slug is what
 * the app shows, and unique only within an organization), naming the id it probably meant. Returns when
 * none has it: the dataset does not exist, or is hidden.
 */
/** The load's command line for `datasetId`, with the file and the mode given. */
function loadArgs(options: LoadChunksOptions, datasetId: string): string[] {
  return [
    "load-chunks",
    "--file",
    options.file,
    "--dataset",
    datasetId,
    ...(options.replace ? ["--replace"] : []),
    ...(options.append ? ["--append"] : []),
  ];
}

/**
 * A failed load's "run it again": the load as the operator ran it (commandAsRun), else as `printCommand`
 * prints it; a library caller is told what to call (LOAD_CALL_AGAIN).
 */
function loadAgain(options: LoadChunksOptions): string {
  return runAgain(
    options.printCommand,
    loadArgs(options, options.datasetId),
    LOAD_CALL_AGAIN,
    options.commandAsRun,
  );
}

async function refuseDatasetNamed(client: ClientBase, options: LoadChunksOptions): Promise<void> {
  const given = options.datasetId;
  const { rows } = await client.query<DatasetNamed>(
    `SELECT id, slug, name, "organizationId" FROM "Dataset" WHERE slug = $1 OR name = $1
      ORDER BY slug <> $1, "organizationId", id LIMIT ${DATASETS_LISTED + 1}`,
    [given],
  );
  if (rows.length === 0) return;
  const kind = (d: DatasetNamed) => (d.slug === given ? "slug" : "name");
  const which =
    rows.length === 1
      ? `the ${kind(rows[0]!)} of dataset "${rows[0]!.id}" (organization "${rows[0]!.organizationId}")`
      : `the slug or name of ${rows.length > DATASETS_LISTED ? `more than ${DATASETS_LISTED}` : rows.length} datasets: ` +
        rows
          .slice(0, DATASETS_LISTED)
          .map((d) => `"${d.id}" (${kind(d)}, organization "${d.organizationId}")`)
          .join(", ");
  const args = loadArgs(options, rows[0]!.id);
  const command = commandToRun(options.printCommand, args, `\`neonhub-db ${args.map(shellWord).join(" ")}\``);
  throw new ReleaseError(
    "invalid-input",
    `Dataset "${given}" does not exist in this database: --dataset takes a dataset's id, and "${given}" is ${which}.`,
    `${rows.length === 1 ? "Pass its id:" : "Pass the id of the one meant, e.g."} ${command}. Nothing was loaded.`,
  );
}

async function prepareTarget(
  client: ClientBase,
  options: LoadChunksOptions,
  header: ChunkFileHeader,
): Promise<Target> {
  // The row lock makes two loads of one dataset wait for each other; FOR NO KEY UPDATE still lets other
  // sessions insert rows that reference the dataset.
  const dataset = await client.query('SELECT id FROM "Dataset" WHERE id = $1 FOR NO KEY UPDATE', [
    options.datasetId,
  ]);
  if (dataset.rowCount === 0) {
    await refuseDatasetNamed(client, options);
    // Under row-level security (the app login) every dataset but those of the transaction's organization is
    // hidden: the dataset may well exist.
    const rls = await client.query<{ active: boolean }>(`SELECT row_security_active('"Dataset"') AS active`);
    if (rls.rows[0]?.active) {
      throw new ReleaseError(
        "permission",
        `Dataset "${options.datasetId}" is not visible to this login: row-level security applies to it, and shows no organization's datasets outside a transaction that sets one.`,
        asMigratorFix("load-chunks"),
      );
    }
    throw new ReleaseError(
      "invalid-input",
      `Dataset "${options.datasetId}" does not exist in this database.`,
      'Create the dataset first (a "Dataset" row of its organization), or check the id given with --dataset.',
    );
  }
  const space = await resolveSpace(client, options.file, header);
  const docs = await client.query<{ id: string }>('SELECT id FROM "Document" WHERE "datasetId" = $1', [
    options.datasetId,
  ]);
  return {
    datasetId: options.datasetId,
    space,
    existingDocuments: new Set(docs.rows.map((r) => r.id)),
  };
}

async function resolveSpace(
  client: ClientBase,
  file: string,
  header: ChunkFileHeader,
): Promise<{ id: string; dimension: number }> {
  const named = header.embeddingSpace;
  const rows =
    "id" in named
      ? await client.query<{ id: string; provider: string; model: string; dimension: number }>(
          'SELECT id, provider, model, dimension FROM "EmbeddingSpace" WHERE id = $1',
          [named.id],
        )
      : await client.query<{ id: string; provider: string; model: string; dimension: number }>(
          'SELECT id, provider, model, dimension FROM "EmbeddingSpace" WHERE provider = $1 AND model = $2 ORDER BY dimension',
          [named.provider, named.model],
        );
  const label =
    "id" in named ? `embedding space "${named.id}"` : `embedding space ${named.provider}/${named.model}`;
  if (rows.rows.length === 0) {
    throw new ReleaseError(
      "invalid-input",
      `${file}: the header names ${label}, which does not exist in this database.`,
      'Create the embedding space first (an "EmbeddingSpace" row: provider, model, dimension), or fix the header.',
    );
  }
  const match = rows.rows.find((s) => s.dimension === header.dimension);
  if (!match) {
    const found = rows.rows.map((s) => `${s.dimension} (space "${s.id}")`).join(", ");
    throw new ReleaseError(
      "invalid-input",
      `${file}: the embeddings have ${header.dimension} dimensions, but ${label} has ${found}. Nothing was loaded.`,
      `Embed with the model of that space, or load into a space of ${header.dimension} dimensions (a new "EmbeddingSpace" row).`,
    );
  }
  return { id: match.id, dimension: match.dimension };
}

/**
 * `replace` and `append` together are refused: they say two ways of treating the dataset's chunks. Needs no
 * database nor file, so that the CLI refuses it with its other flag checks, before it looks for a URL.
 */
export function refuseReplaceWithAppend(options: { replace?: boolean; append?: boolean }): void {
  if (options.replace && options.append) {
    throw new ReleaseError(
      "invalid-input",
      "load-chunks: --replace and --append together: --replace deletes every chunk of the dataset, --append only those of the file's documents.",
      "Pass one of them: --replace to load the file as the dataset's chunks, --append to add (or replace) the file's documents.",
    );
  }
}

async function clearExistingChunks(client: ClientBase, options: LoadChunksOptions): Promise<number> {
  if (options.append) return 0; // the file's documents' chunks go once the documents are read
  if (options.replace) {
    const deleted = await client.query('DELETE FROM "Chunk" WHERE "datasetId" = $1', [options.datasetId]);
    return deleted.rowCount ?? 0;
  }
  const existing = await client.query<{ n: number }>(
    'SELECT count(*)::integer AS n FROM "Chunk" WHERE "datasetId" = $1',
    [options.datasetId],
  );
  const n = existing.rows[0]?.n ?? 0;
  if (n > 0) {
    throw new ReleaseError(
      "invalid-input",
      `Dataset "${options.datasetId}" already has ${countText(n, "chunk")}; loading would mix two versions of it.`,
      "Pass --replace to delete them and load the file in their place, or --append to add the file's documents (replacing those the dataset already has), in one transaction.",
    );
  }
  return 0;
}

/**
 * The documents this load left without a chunk, which it reports rather than deletes (a document's versions
 * go with it). With `replace`: every document of the dataset without a chunk once the file is loaded; a
 * file's chunks may name a document the dataset has without a document line for it, so what counts is the
 * chunks, not the lines. With `append`: the file's documents without a chunk, as a document line replaces
 * the document's chunks with the file's, none included; the dataset's other documents are untouched.
 */
async function documentsLeftEmpty(
  client: ClientBase,
  options: LoadChunksOptions,
  documents: readonly DocumentRecord[],
): Promise<string[]> {
  if (!options.replace && !options.append) return [];
  const left = await client.query<{ id: string }>(
    `SELECT d."id" FROM "Document" d
      WHERE d."datasetId" = $1
        AND ($2::text[] IS NULL OR d."id" = ANY($2::text[]))
        AND NOT EXISTS (SELECT 1 FROM "Chunk" c WHERE c."datasetId" = d."datasetId" AND c."documentId" = d."id")
      ORDER BY d."id"`,
    [options.datasetId, options.append ? documents.map((d) => d.id) : null],
  );
  return left.rows.map((r) => r.id);
}

/** What the load says of the documents `--replace` or `--append` left without chunks. */
export function documentsLeftEmptyText(ids: readonly string[]): string {
  const one = ids.length === 1;
  const shown = ids.slice(0, 5).join(", ") + (ids.length > 5 ? `, and ${ids.length - 5} more` : "");
  return (
    `load-chunks: ${one ? "1 document" : `${ids.length} documents`} of the dataset now ${one ? "has" : "have"} ` +
    `no chunks, as no chunk line of the file names ${one ? "it" : "them"} (a load deletes no document, nor its versions): ${shown}`
  );
}

/** With `append`: the chunks of the documents the file names, which it replaces. */
async function clearDocumentChunks(
  client: ClientBase,
  options: LoadChunksOptions,
  documents: readonly DocumentRecord[],
): Promise<number> {
  const deleted = await client.query(
    'DELETE FROM "Chunk" WHERE "datasetId" = $1 AND "documentId" = ANY($2::text[])',
    [options.datasetId, documents.map((d) => d.id)],
  );
  return deleted.rowCount ?? 0;
}

/** The document records at the head of the file, and the first chunk after them. */
async function readDocuments(
  records: AsyncGenerator<ChunkFileRecord>,
): Promise<{ documents: DocumentRecord[]; firstChunk: ChunkRecord | undefined }> {
  const documents: DocumentRecord[] = [];
  for (;;) {
    const next = await records.next();
    if (next.done) return { documents, firstChunk: undefined };
    if (next.value.type === "chunk") return { documents, firstChunk: next.value };
    documents.push(next.value);
  }
}

async function writeDocuments(
  client: ClientBase,
  options: LoadChunksOptions,
  target: Target,
  documents: readonly DocumentRecord[],
): Promise<void> {
  const seen = new Map<string, number>();
  const limits = fileIdLimits(target.datasetId);
  for (const d of documents) {
    refuseLongId(
      options.file,
      d.line,
      'document "id"',
      Buffer.byteLength(d.id, "utf8"),
      limits,
      target.datasetId,
    );
    const first = seen.get(d.id);
    if (first !== undefined)
      throw new ChunkFileError(options.file, d.line, `document "${d.id}" is already on line ${first}.`);
    seen.set(d.id, d.line);
  }
  // The first such document in file order (the ids are in it, `seen` keeping insertion order).
  const elsewhere = await client.query<{ id: string; datasetId: string }>(
    `SELECT d.id, d."datasetId"
       FROM unnest($1::text[]) WITH ORDINALITY AS f(id, position)
       JOIN "Document" d ON d.id = f.id
      WHERE d."datasetId" <> $2
      ORDER BY f.position
      LIMIT 1`,
    [[...seen.keys()], target.datasetId],
  );
  const clash = elsewhere.rows[0];
  if (clash) {
    throw new ChunkFileError(
      options.file,
      seen.get(clash.id)!,
      `document "${clash.id}" already exists in another dataset ("${clash.datasetId}"); document ids are global.`,
    );
  }
  for (let i = 0; i < documents.length; i += DOCUMENT_BATCH) {
    const batch = documents
      .slice(i, i + DOCUMENT_BATCH)
      .map(({ id, title, sourceUrl, mimeType, metadata }) => ({
        id,
        title,
        sourceUrl,
        mimeType,
        metadata,
      }));
    await client.query(
      `INSERT INTO "Document" AS d (id, "datasetId", title, "sourceUrl", "mimeType", metadata)
       SELECT r.id, $2, r.title, r."sourceUrl", r."mimeType", r.metadata
         FROM jsonb_to_recordset($1::jsonb) AS r(id text, title text, "sourceUrl" text, "mimeType" text, metadata jsonb)
       ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, "sourceUrl" = EXCLUDED."sourceUrl",
         "mimeType" = EXCLUDED."mimeType", metadata = EXCLUDED.metadata
         WHERE (d.title, d."sourceUrl", d."mimeType", d.metadata)
           IS DISTINCT FROM (EXCLUDED.title, EXCLUDED."sourceUrl", EXCLUDED."mimeType", EXCLUDED.metadata)`,
      [JSON.stringify(batch), target.datasetId],
    );
  }
}

/** Binary COPY data for the chunks, in batches, checking each record against the ones before it. */
async function* encodeChunks(
  file: string,
  firstChunk: ChunkRecord,
  records: AsyncGenerator<ChunkFileRecord>,
  target: Target,
  counts: { chunks: number; copyBytes: number },
  tupleLines: number[],
  progress: (chunks: number) => void,
): AsyncGenerator<Buffer> {
  const out = new CopyRowBuffer();
  const datasetId = Buffer.from(target.datasetId, "utf8");
  const spaceId = Buffer.from(target.space.id, "utf8");
  const positions = new Map<string, number>();
  const ids = new Map<string, number>();
  const limits = fileIdLimits(target.datasetId);
  const send = (batch: Buffer | undefined) => {
    if (batch) counts.copyBytes += batch.length;
    return batch;
  };
  yield send(copyHeader())!;
  let record: ChunkFileRecord | undefined = firstChunk;
  for (;;) {
    if (record.type === "document") {
      throw new ChunkFileError(
        file,
        record.line,
        "document records must all come before the first chunk record.",
      );
    }
    const chunk: ChunkRecord = record;
    const docBytes = Buffer.byteLength(chunk.documentId, "utf8");
    // Before the document is looked for: one too long for the indexes is in neither the file nor the dataset.
    refuseLongId(file, chunk.line, 'chunk "documentId"', docBytes, limits, target.datasetId);
    if (chunk.id !== undefined) {
      const given = Buffer.byteLength(chunk.id, "utf8");
      refuseLongId(file, chunk.line, 'chunk "id"', given, limits, target.datasetId);
    }
    if (!target.existingDocuments.has(chunk.documentId)) {
      throw new ChunkFileError(
        file,
        chunk.line,
        `document "${chunk.documentId}" is neither in the file (before the chunks) nor in dataset "${target.datasetId}".`,
      );
    }
    const position = `${chunk.documentId}\u0000${chunk.idx}`;
    const earlier = positions.get(position);
    if (earlier !== undefined) {
      throw new ChunkFileError(
        file,
        chunk.line,
        `chunk ${chunk.idx} of document "${chunk.documentId}" is already on line ${earlier}.`,
      );
    }
    positions.set(position, chunk.line);
    const id = chunk.id ?? derivedChunkId(target.datasetId, chunk.documentId, chunk.idx);
    const sameId = ids.get(id);
    if (sameId !== undefined)
      throw new ChunkFileError(file, chunk.line, `chunk id "${id}" is already on line ${sameId}.`);
    ids.set(id, chunk.line);

    const idBytes = Buffer.byteLength(id, "utf8");
    const textBytes = Buffer.byteLength(chunk.text, "utf8");
    const metaBytes = chunk.metadata === null ? -1 : Buffer.byteLength(chunk.metadata, "utf8");
    const size =
      2 +
      textFieldSize(idBytes) +
      textFieldSize(datasetId.length) +
      textFieldSize(spaceId.length) +
      textFieldSize(docBytes) +
      8 +
      textFieldSize(textBytes) +
      vectorFieldSize(chunk.embedding.length / 4) +
      (metaBytes < 0 ? 4 : 5 + metaBytes);
    const full = send(out.reserve(size));
    if (full) yield full;
    out.fieldCount(CHUNK_COLUMNS.length);
    out.text(id, idBytes);
    out.bytes(datasetId);
    out.bytes(spaceId);
    out.text(chunk.documentId, docBytes);
    out.int4(chunk.idx);
    out.text(chunk.text, textBytes);
    out.vector(chunk.embedding);
    if (chunk.metadata === null) out.null();
    else out.jsonb(chunk.metadata, metaBytes);
    // Negative for a chunk whose id the loader derived, so that an error can say whose id it was.
    tupleLines.push(chunk.id === undefined ? -chunk.line : chunk.line);
    counts.chunks++;
    if ((counts.chunks & 255) === 0) progress(counts.chunks);

    const next = await records.next();
    if (next.done) break;
    record = next.value;
  }
  const rest = send(out.take());
  if (rest) yield rest;
  yield send(copyTrailer())!;
}

/**
 * Chunks a second (`chunksPerSecond`): whole from 100 up, below it to two significant digits, so that a slow
 * load of a few large chunks is not "0 chunks/s" (1 chunk in 14.2 s is 0.07).
 */
export function chunkRate(chunks: number, durationMs: number): number {
  const rate = (chunks * 1000) / durationMs;
  return rate >= 100 || rate === 0 ? Math.round(rate) : Number(rate.toPrecision(2));
}

function progressReporter(log: Logger, position: ReadPosition, started: number, everyMs: number) {
  let last = Date.now();
  return (chunks: number) => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    const seconds = (now - started) / 1000;
    const percent = position.totalBytes ? Math.floor((100 * position.bytesRead) / position.totalBytes) : 100;
    log.info(
      `load-chunks: ${chunks.toLocaleString("en-US")} chunks, ${percent}% of the file read, ${Math.round(chunks / seconds).toLocaleString("en-US")} chunks/s, ${(position.bytesRead / 1e6 / seconds).toFixed(1)} MB/s`,
    );
  };
}

interface PgError {
  code?: string;
  message?: string;
  detail?: string;
  where?: string;
  hint?: string;
  constraint?: string;
}

/** Called after the rollback, on the same connection (which may ask the database whose a clashing id is). */
async function describeLoadError(
  client: ClientBase,
  error: unknown,
  options: LoadChunksOptions,
  tupleLines: readonly number[],
): Promise<unknown> {
  if (isReleaseError(error) || isConnectionLost(error)) return error;
  const pg = error as PgError;
  // "COPY Chunk, line 1234[, column ...]": the 1234th row sent, which we map back to its line in the file.
  const tuple = /COPY \S+, line (\d+)/.exec(pg.where ?? "")?.[1];
  const entry = tuple ? tupleLines[Number(tuple) - 1] : undefined;
  const line = entry === undefined ? undefined : Math.abs(entry);
  const at = line ? ` at ${options.file} line ${line}` : "";
  const takenId =
    pg.code === "23505" && pg.constraint === "Chunk_pkey"
      ? /^Key \(id\)=\((.*)\) already exists\.$/s.exec(pg.detail ?? "")?.[1]
      : undefined;
  if (takenId !== undefined && line !== undefined) {
    return await chunkIdTaken(client, error, options, { line, id: takenId, derived: entry! < 0 });
  }
  // The idx is the key's last value, an integer: the document id before it may hold ", " itself.
  const takenPosition =
    pg.code === "23505" && pg.constraint === "Chunk_documentId_idx_key"
      ? /^Key \("documentId", idx\)=\((.*), (-?\d+)\) already exists\.$/s.exec(pg.detail ?? "")
      : null;
  if (takenPosition && line !== undefined) {
    const [, documentId, idx] = takenPosition;
    return await chunkPositionTaken(client, error, options, {
      line,
      documentId: documentId!,
      idx: Number(idx),
    });
  }
  const detail = [pg.detail, pg.hint].filter(Boolean).join(" ");
  if (pg.code === "42501") {
    const elsewhere = await tablesOwnedElsewhere(client).catch(() => undefined);
    if (elsewhere) {
      // The migrator, on a database whose tables a restore left to the admin: "use the migrator" is no fix.
      const { acting, owners } = elsewhere;
      const by = owners.map((o) => `"${o}"`).join(", ");
      return new ReleaseError(
        "permission",
        `Loading chunks into dataset "${options.datasetId}" failed: ${pg.message ?? String(error)}: the tables it writes belong to ${by}, not to "${acting}", the role this login acts as (a restore as ${by} with pg_restore --no-owner, or into a cluster without the roles, leaves them so).`,
        `Nothing was loaded. Run ${commandToRun(options.printCommand, ["verify"], "neonhub-db verify")} as this login: its repairs, run as ${by} or the cluster's admin, give the release's objects back to "${acting}" (docs/runbook.md, "Restoring or copying a released database"). Then ${loadAgain(options)}.`,
        { cause: error },
      );
    }
    // The read-only login (or any login without INSERT on the tables) reaches here: the file is not at fault.
    return new ReleaseError(
      "permission",
      `Loading chunks into dataset "${options.datasetId}" failed: ${pg.message ?? String(error)}: this login may not write chunks.`,
      `Nothing was loaded. ${asMigratorFix("load-chunks")}`,
      { cause: error },
    );
  }
  return new ReleaseError(
    "seed-failed",
    `Loading chunks into dataset "${options.datasetId}" failed${at}: ${pg.message ?? String(error)}${detail ? ` (${detail})` : ""}`,
    `Nothing was loaded (the load is one transaction). Fix the file or the database, then ${loadAgain(options)}.`,
    { cause: error },
  );
}

const NOTHING_LOADED = "Nothing was loaded (the load is one transaction).";

/**
 * The roles other than the one this login acts as that own the tables a load writes, when the login acts as
 * another role than itself (the migrator, as the owner role): undefined for a login that acts as itself (the
 * app's, the read-only one), or when the acting role may use every table's owner.
 */
async function tablesOwnedElsewhere(
  client: ClientBase,
): Promise<{ acting: string; owners: string[] } | undefined> {
  const { rows } = await client.query<{ acting: string; login: string; owners: string[] | null }>(
    `SELECT current_user AS acting, session_user AS login,
            array_agg(DISTINCT pg_get_userbyid(c.relowner) ORDER BY pg_get_userbyid(c.relowner))
              FILTER (WHERE NOT pg_has_role(current_user, c.relowner, 'USAGE'))::text[] AS owners
       FROM pg_class c
      WHERE c.oid IN (to_regclass('"Dataset"'), to_regclass('"Document"'), to_regclass('"Chunk"'))`,
  );
  const row = rows[0];
  if (!row || row.acting === row.login || !row.owners?.length) return undefined;
  return { acting: row.acting, owners: row.owners };
}

/**
 * A chunk id of the file that another chunk, one this load does not replace, already has. Only the dataset's
 * own chunks are named: of a chunk elsewhere (maybe another organization's) nothing is said but that it exists,
 * which the id the file gave already tells.
 */
async function chunkIdTaken(
  client: ClientBase,
  cause: unknown,
  options: LoadChunksOptions,
  clash: { line: number; id: string; derived: boolean },
): Promise<ReleaseError> {
  const { line, id, derived } = clash;
  // After the rollback: the chunk that holds the id is the one that held it before the load.
  const own = await client
    .query<{ documentId: string; idx: number }>(
      'SELECT "documentId", idx FROM "Chunk" WHERE id = $1 AND "datasetId" = $2',
      [id, options.datasetId],
    )
    .then((r) => r.rows[0])
    .catch(() => undefined);
  if (own) {
    // Only --append keeps chunks of the dataset: those of documents the file has no document line for. The id
    // derived for the line is that chunk's own: the line's document and idx are taken.
    if (derived) return positionTakenError(cause, options, { line, ...own });
    return new ReleaseError(
      "invalid-input",
      `${options.file}, line ${line}: chunk id "${id}" is taken by chunk ${own.idx} of document "${own.documentId}" of dataset "${options.datasetId}", which this load keeps (--append replaces the chunks of the documents the file has a document line for).`,
      `Omit "id" on that line to let the loader derive one from dataset, document and idx, or give an id no other chunk has. ${NOTHING_LOADED}`,
      { cause },
    );
  }
  return new ReleaseError(
    "invalid-input",
    derived
      ? `${options.file}, line ${line}: the chunk id the loader derives for that line, "${id}", is taken by a chunk outside dataset "${options.datasetId}", which was given that id explicitly (chunk ids are global).`
      : `${options.file}, line ${line}: chunk id "${id}" is taken by a chunk outside dataset "${options.datasetId}" (chunk ids are global).`,
    derived
      ? `Give that line an "id" of its own, one no other chunk has. ${NOTHING_LOADED}`
      : `Omit "id" on that line to let the loader derive one from dataset, document and idx (docs/seeds.md, "File format"), or give an id no other chunk has. ${NOTHING_LOADED}`,
    { cause },
  );
}

/**
 * A line whose chunk id is new, at a document and idx a chunk of the dataset already has ("Chunk" is unique per
 * ("documentId", idx)). The line's document is the file's or the dataset's (checked while streaming), and a
 * document's chunks are all in its dataset (the composite foreign key): only --append keeps such a chunk, one of
 * a document the file has no document line for.
 */
async function chunkPositionTaken(
  client: ClientBase,
  cause: unknown,
  options: LoadChunksOptions,
  clash: { line: number; documentId: string; idx: number },
): Promise<ReleaseError> {
  // After the rollback: the chunk at that document and idx is the one stored before the load.
  const stored = await client
    .query<{ id: string }>(
      'SELECT id FROM "Chunk" WHERE "documentId" = $1 AND idx = $2 AND "datasetId" = $3',
      [clash.documentId, clash.idx, options.datasetId],
    )
    .then((r) => r.rows[0]?.id)
    .catch(() => undefined);
  return positionTakenError(cause, options, { ...clash, storedId: stored });
}

/** The file's line names a document and idx that a chunk this load keeps already has. */
function positionTakenError(
  cause: unknown,
  options: LoadChunksOptions,
  clash: { line: number; documentId: string; idx: number; storedId?: string },
): ReleaseError {
  const { line, documentId, idx, storedId } = clash;
  const stored = storedId === undefined ? "" : ` (chunk id "${storedId}")`;
  return new ReleaseError(
    "invalid-input",
    `${options.file}, line ${line}: chunk ${idx} of document "${documentId}" is already in dataset "${options.datasetId}"${stored}: --append replaces the chunks of the documents the file has a document line for, and this one has none.`,
    `Add a document line for "${documentId}" (its chunks are then replaced by the file's), give that line an idx document "${documentId}" has no chunk at, or drop it. ${NOTHING_LOADED}`,
    { cause },
  );
}
