// The chunk file: what the bulk loader reads. NDJSON (one JSON object per line, UTF-8), so that any language
// can write it, a line number names every record, and a file streams through in constant memory:
//
//   line 1       {"format":"neonhub-chunks","version":1,"dimension":3072,
//                 "embeddingSpace":{"provider":"openai","model":"text-embedding-3-large"}}
//                (or "embeddingSpaceId":"<id>" instead of "embeddingSpace")
//   documents    {"type":"document","id":"doc-1","title":"Brand guide","sourceUrl":null,"mimeType":null,"metadata":{}}
//   then chunks  {"type":"chunk","documentId":"doc-1","idx":0,"text":"...","embedding":"<base64>","metadata":{}}
//                ("id" is optional: without it a chunk's id is derived from dataset, document and idx)
//
// "embedding" is the base64 of the vector's float32 values, little-endian (numpy's
// `vec.astype("<f4").tobytes()`, JavaScript's Float32Array bytes): 4/3 of the raw size, decoded natively, and
// exactly the float4 values the database stores. (A JSON array of numbers is accepted too, at several times
// the parse cost.) Documents come first so that they exist before the chunks that name them stream in.
import { isUtf8 } from "node:buffer";
import { createReadStream, statSync, type Stats } from "node:fs";
import os from "node:os";
import { formatCount } from "../../count-format";
import { ReleaseError } from "../../errors";
import { shellWord } from "../../shell-word";
import { jsonSyntaxProblem } from "../../shown-value";
import {
  HALFVEC_MAX_INDEX_DIM,
  HALFVEC_MAX_VALUE,
  HALFVEC_ZERO_BOUND,
  HALFVEC_ZERO_WORDS,
  VECTOR_MAX_INDEX_DIM,
  indexedType,
} from "../../vector-indexes/spec";
import { toNetworkOrder } from "./copy-binary";

export const CHUNK_FILE_FORMAT = "neonhub-chunks";
export const CHUNK_FILE_VERSION = 1;

/**
 * The longest line a chunk file may have, in bytes, its line break not counted: 8 MiB. What a legitimate line
 * needs is far less. The largest embedding (4,000 dimensions, the most a space has) is 21 KB in base64, and
 * about 100 KB as a JSON array (25 characters a number at most, as Python's json writes a float). A chunk's
 * text is what one embedding call read: 8,191 tokens for OpenAI's models, 32,000 for the largest others,
 * some 130 KB of text, and even written wholly as \uXXXX escapes under 800 KB. That leaves 8 MiB room for
 * metadata and for chunkers we have not met, while a line is still read whole with memory to spare: a longer
 * one is a file without its line breaks (or a whole document as one chunk), refused before it is buffered.
 */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;

export interface ChunkFileHeader {
  dimension: number;
  /** The space the embeddings were made in: by id, or by provider and model. */
  embeddingSpace: { id: string } | { provider: string; model: string };
}

export interface DocumentRecord {
  type: "document";
  line: number;
  id: string;
  title: string;
  sourceUrl: string | null;
  mimeType: string | null;
  metadata: unknown;
}

export interface ChunkRecord {
  type: "chunk";
  line: number;
  id: string | undefined;
  documentId: string;
  idx: number;
  text: string;
  /** The embedding as big-endian float4 bytes: pgvector's binary form, without its 4-byte head. */
  embedding: Buffer;
  /** The metadata as JSON text, or null. */
  metadata: string | null;
}

export type ChunkFileRecord = DocumentRecord | ChunkRecord;

/** Where reading stands, for progress reports. */
export interface ReadPosition {
  bytesRead: number;
  totalBytes: number;
}

export class ChunkFileError extends ReleaseError {
  /** `fix`: where the file needs more than fixing in place (a conversion); the format's pointer otherwise. */
  constructor(file: string, line: number, problem: string, fix?: string) {
    super(
      "invalid-input",
      `${file}, line ${line}: ${problem}`,
      fix ?? 'Fix the file (format: docs/seeds.md, "Bulk load"); nothing was loaded.',
    );
  }
}

/** A Unicode encoding other than UTF-8 a chunk file's first line can be told to be written in. */
interface WideEncoding {
  name: "UTF-16LE" | "UTF-16BE" | "UTF-32LE" | "UTF-32BE";
  mark: boolean;
}

/**
 * The UTF-16 or UTF-32 a file's first line is written in, told by its first four bytes: a byte order mark, or
 * the NULs beside the header's "{" (a JSON line starts with an ASCII character, which UTF-16 writes with one
 * NUL byte and UTF-32 with three). Such a file was read as UTF-8 and refused as "not valid UTF-8" (with a mark)
 * or "not valid JSON" (without), neither of which names the conversion it needs. UTF-32 is told first:
 * UTF-32LE's mark (FF FE 00 00) begins with UTF-16LE's (FF FE), and "{" in UTF-32LE (7B 00 00 00) with "{" in
 * UTF-16LE; in UTF-16 those two NULs would be a NUL character, which no JSON line begins with. Undefined for
 * anything else.
 */
function wideEncodingOf(bytes: Buffer): WideEncoding | undefined {
  const [first, second, third, fourth] = [bytes[0], bytes[1], bytes[2], bytes[3]];
  if (first === undefined || second === undefined) return undefined;
  const ascii = (byte: number | undefined) => byte !== undefined && byte !== 0 && byte < 0x80;
  if (third === 0 && fourth === 0) {
    if (first === 0xff && second === 0xfe) return { name: "UTF-32LE", mark: true };
    if (ascii(first) && second === 0) return { name: "UTF-32LE", mark: false };
  }
  if (first === 0 && second === 0) {
    if (third === 0xfe && fourth === 0xff) return { name: "UTF-32BE", mark: true };
    if (third === 0 && ascii(fourth)) return { name: "UTF-32BE", mark: false };
  }
  if (first === 0xff && second === 0xfe) return { name: "UTF-16LE", mark: true };
  if (first === 0xfe && second === 0xff) return { name: "UTF-16BE", mark: true };
  if (ascii(first) && second === 0) return { name: "UTF-16LE", mark: false };
  if (first === 0 && ascii(second)) return { name: "UTF-16BE", mark: false };
  return undefined;
}

function notUtf8Encoding(file: string, encoding: WideEncoding): ChunkFileError {
  const family = encoding.name.slice(0, -2);
  const endian = encoding.name.endsWith("LE") ? "little-endian" : "big-endian";
  return new ChunkFileError(
    file,
    1,
    `the file is ${encoding.name} (${family}, ${endian}, ${encoding.mark ? "with" : "without"} a byte order mark), not UTF-8: a chunk file is UTF-8.`,
    `Convert it to UTF-8 and load that: iconv -f ${encoding.name} -t UTF-8 ${shellWord(file)} > chunks.utf8.ndjson (or write it as UTF-8: Python's open(path, "w", encoding="utf-8"), PowerShell's Out-File -Encoding utf8). Nothing was loaded.`,
  );
}

interface Line {
  number: number;
  text: string;
}

function lineTooLong(file: string, line: number, maxLineBytes: number): ChunkFileError {
  return new ChunkFileError(
    file,
    line,
    `the line is longer than ${formatCount(maxLineBytes)} bytes, the most a line of a chunk file may hold (a chunk's text and its embedding need far less); it was refused before being read whole. Is the file missing its line breaks, or is a whole document one chunk?`,
  );
}

/**
 * Where the bytes stop being well-formed UTF-8 (Unicode's table 3-7: no overlong forms, no surrogates,
 * nothing above U+10FFFF): the index of the first byte of the first ill-formed sequence, or -1. Only run
 * once a line is known to be invalid, to say where.
 */
function firstInvalidUtf8(bytes: Buffer, from: number): number {
  for (let i = from; i < bytes.length; ) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) length = 2;
    else if (b >= 0xe0 && b <= 0xef) {
      length = 3;
      if (b === 0xe0) low = 0xa0;
      else if (b === 0xed) high = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      length = 4;
      if (b === 0xf0) low = 0x90;
      else if (b === 0xf4) high = 0x8f;
    } else return i;
    for (let k = 1; k < length; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? low : 0x80) || c > (k === 1 ? high : 0xbf)) return i;
    }
    i += length;
  }
  return -1;
}

function notUtf8(
  file: string,
  line: number,
  lineOffset: number,
  bytes: Buffer,
  from: number,
): ChunkFileError {
  const at = Math.max(from, firstInvalidUtf8(bytes, from));
  const shown = [...bytes.subarray(at, at + 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  return new ChunkFileError(
    file,
    line,
    `not valid UTF-8: the bytes at offset ${lineOffset + at} of the file (byte ${at} of the line, both counted from 0) are ${shown}, which UTF-8 has no character for. A chunk file is UTF-8: convert the file (was it written as Latin-1 or Windows-1252?) rather than have the text stored with replacement characters.`,
  );
}

/**
 * The file's non-empty lines with their numbers, read in large blocks. A line that is not UTF-8, or longer
 * than `maxLineBytes`, is refused: the latter as soon as that many bytes have gone by without a line break,
 * so memory holds one block and one line of at most `maxLineBytes` whatever the file.
 */
async function* readLines(file: string, position: ReadPosition, maxLineBytes: number): AsyncGenerator<Line> {
  const stream = createReadStream(file, { highWaterMark: 4 << 20 });
  let carry: Buffer[] = [];
  let carried = 0;
  let number = 0;
  /** The offset in the file of the first byte of the line being read. */
  let lineOffset = 0;
  const emit = (bytes: Buffer): Line | undefined => {
    number++;
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === 0x0d) end--;
    if (end > maxLineBytes) throw lineTooLong(file, number, maxLineBytes);
    let start = 0;
    if (number === 1) {
      const wide = wideEncodingOf(bytes);
      if (wide) throw notUtf8Encoding(file, wide);
      // A UTF-8 byte order mark some editors and Windows tools put first (Notepad, PowerShell 5's
      // Out-File -Encoding utf8) is skipped, not refused: the text is UTF-8 all the same, and at the start of
      // a file those three bytes can mean nothing else.
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
    }
    // Validated natively (simdutf) before decoding: toString would store U+FFFD for every bad byte.
    const content = bytes.subarray(start, end);
    if (!isUtf8(content)) throw notUtf8(file, number, lineOffset, bytes.subarray(0, end), start);
    lineOffset += bytes.length + 1;
    const text = content.toString("utf8");
    return text.trim() === "" ? undefined : { number, text };
  };
  for await (const block of stream as AsyncIterable<Buffer>) {
    position.bytesRead += block.length;
    let from = 0;
    for (let nl = block.indexOf(0x0a, from); nl !== -1; nl = block.indexOf(0x0a, from)) {
      const piece = block.subarray(from, nl);
      const line = emit(carry.length ? Buffer.concat([...carry, piece]) : piece);
      carry = [];
      carried = 0;
      from = nl + 1;
      if (line) yield line;
    }
    if (from < block.length) {
      carried += block.length - from;
      // One byte over the limit may still be the \r of a \r\n, which is not counted.
      if (carried > maxLineBytes + 1) throw lineTooLong(file, number + 1, maxLineBytes);
      carry.push(block.subarray(from));
    }
  }
  if (carry.length) {
    const line = emit(Buffer.concat(carry));
    if (line) yield line;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const optionalString = (value: unknown) => value === undefined || value === null || typeof value === "string";

/**
 * The chunk file's stats, or the refusal of a path that is not there or is no regular file: what the CLI
 * checks with the rest of its command line, before it looks for a database, and every load before it reads.
 */
export function chunkFileStats(file: string): Stats {
  let stats: Stats;
  try {
    stats = statSync(file);
  } catch (error) {
    throw new ReleaseError(
      "invalid-input",
      `Cannot read the chunk file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`,
      "Check the path given with --file.",
    );
  }
  if (!stats.isFile()) {
    throw new ReleaseError(
      "invalid-input",
      `The chunk file ${file} is ${stats.isDirectory() ? "a directory" : "not a regular file"}.`,
      'Give the path of one chunk file with --file (format: docs/seeds.md, "Bulk load").',
    );
  }
  return stats;
}

/**
 * Reads a chunk file: `header` resolves first (before any record is read), then `records` yields documents
 * and chunks in file order, each validated. Any fault throws a ChunkFileError naming the line.
 */
export function openChunkFile(
  file: string,
  options: {
    /** The longest line accepted, in bytes, its line break not counted (MAX_LINE_BYTES by default). */
    maxLineBytes?: number;
  } = {},
): {
  header: Promise<ChunkFileHeader>;
  records: AsyncGenerator<ChunkFileRecord>;
  position: ReadPosition;
  /** Closes the file (reading stops); harmless when it was read to the end. */
  close(): Promise<void>;
} {
  const totalBytes = chunkFileStats(file).size;
  const position: ReadPosition = { bytesRead: 0, totalBytes };
  const lines = readLines(file, position, options.maxLineBytes ?? MAX_LINE_BYTES);
  const close = async () => {
    await lines.return(undefined);
  };
  const header = (async () => {
    const first = await lines.next();
    if (first.done)
      throw new ChunkFileError(file, 1, "the file is empty; it must start with the header line.");
    return parseHeader(file, first.value);
  })();
  // Whoever awaits `header` sees its failure; this only keeps the file from staying open after one.
  header.catch(close);
  async function* records(): AsyncGenerator<ChunkFileRecord> {
    const { dimension } = await header;
    for await (const line of lines) yield parseRecord(file, line, dimension);
  }
  return { header, records: records(), position, close };
}

function parseJson(file: string, line: Line): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line.text);
  } catch (error) {
    throw new ChunkFileError(file, line.number, `not valid JSON (${jsonSyntaxProblem(error)}).`);
  }
  if (!isObject(value)) throw new ChunkFileError(file, line.number, "expected a JSON object.");
  return value;
}

/** The fields each line may have: any other is refused, so that a misspelt one ("metdata") is not dropped. */
const FIELDS = {
  header: ["format", "version", "dimension", "embeddingSpaceId", "embeddingSpace"],
  document: ["type", "id", "title", "sourceUrl", "mimeType", "metadata"],
  chunk: ["type", "id", "documentId", "idx", "text", "embedding", "metadata"],
} as const;

function checkFields(
  file: string,
  line: number,
  kind: keyof typeof FIELDS,
  r: Record<string, unknown>,
): void {
  const known: readonly string[] = FIELDS[kind];
  for (const field of Object.keys(r)) {
    if (!known.includes(field)) {
      throw new ChunkFileError(
        file,
        line,
        `${kind === "header" ? "header: " : ""}unknown field ${JSON.stringify(field)} (a ${kind === "header" ? "header" : `${kind} line`} has ${known.map((f) => `"${f}"`).join(", ")}).`,
      );
    }
  }
}

function parseHeader(file: string, line: Line): ChunkFileHeader {
  const h = parseJson(file, line);
  const fail = (problem: string) => new ChunkFileError(file, line.number, `header: ${problem}`);
  if (h.format !== CHUNK_FILE_FORMAT) {
    throw fail(
      `expected "format": "${CHUNK_FILE_FORMAT}" on the first line (got ${JSON.stringify(h.format)}).`,
    );
  }
  if (h.version !== CHUNK_FILE_VERSION) {
    throw fail(
      `this loader reads version ${CHUNK_FILE_VERSION}, the file says ${JSON.stringify(h.version)}.`,
    );
  }
  const dimension = h.dimension;
  if (
    typeof dimension !== "number" ||
    !Number.isInteger(dimension) ||
    dimension < 1 ||
    dimension > HALFVEC_MAX_INDEX_DIM
  ) {
    // The schema's own bound on "EmbeddingSpace"."dimension" (the most a halfvec index covers): a larger
    // dimension names no space there can be.
    throw fail(
      `"dimension" must be an integer from 1 to ${HALFVEC_MAX_INDEX_DIM}, the most dimensions an embedding space has (got ${JSON.stringify(dimension)}).`,
    );
  }
  checkFields(file, line.number, "header", h);
  if (h.embeddingSpaceId !== undefined && h.embeddingSpace !== undefined) {
    throw fail(
      'names the embedding space twice, by "embeddingSpaceId" and by "embeddingSpace": keep one of them.',
    );
  }
  if (typeof h.embeddingSpaceId === "string" && h.embeddingSpace === undefined) {
    checkText(file, line.number, "embeddingSpaceId", h.embeddingSpaceId);
    return { dimension, embeddingSpace: { id: h.embeddingSpaceId } };
  }
  const space = h.embeddingSpace;
  if (
    h.embeddingSpaceId === undefined &&
    isObject(space) &&
    typeof space.provider === "string" &&
    typeof space.model === "string"
  ) {
    checkText(file, line.number, "embeddingSpace.provider", space.provider);
    checkText(file, line.number, "embeddingSpace.model", space.model);
    return { dimension, embeddingSpace: { provider: space.provider, model: space.model } };
  }
  throw fail(
    'name the embedding space: either "embeddingSpaceId" or "embeddingSpace": {"provider", "model"}.',
  );
}

function parseRecord(file: string, line: Line, dimension: number): ChunkFileRecord {
  const r = parseJson(file, line);
  if (r.type === "chunk") return parseChunk(file, line.number, r, dimension);
  if (r.type === "document") return parseDocument(file, line.number, r);
  throw new ChunkFileError(
    file,
    line.number,
    `"type" must be "document" or "chunk" (got ${JSON.stringify(r.type)}).`,
  );
}

/** PostgreSQL text cannot hold NUL characters. */
function checkText(file: string, line: number, field: string, value: string): void {
  if (value.includes("\u0000"))
    throw new ChunkFileError(file, line, `"${field}" contains a NUL character (\\u0000).`);
}

function metadataJson(file: string, line: number, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw new ChunkFileError(file, line, '"metadata" must be an object or null.');
  const json = JSON.stringify(value);
  // jsonb refuses \u0000 in strings.
  if (json.includes("\\u0000"))
    throw new ChunkFileError(file, line, '"metadata" contains a NUL character (\\u0000).');
  return json;
}

function parseDocument(file: string, line: number, r: Record<string, unknown>): DocumentRecord {
  checkFields(file, line, "document", r);
  if (typeof r.id !== "string" || r.id === "")
    throw new ChunkFileError(file, line, 'a document needs a string "id".');
  if (typeof r.title !== "string") throw new ChunkFileError(file, line, 'a document needs a string "title".');
  if (!optionalString(r.sourceUrl) || !optionalString(r.mimeType)) {
    throw new ChunkFileError(file, line, '"sourceUrl" and "mimeType" must be strings or null.');
  }
  for (const field of ["id", "title", "sourceUrl", "mimeType"]) {
    const value = r[field];
    if (typeof value === "string") checkText(file, line, field, value);
  }
  return {
    type: "document",
    line,
    id: r.id,
    title: r.title,
    sourceUrl: (r.sourceUrl as string | null | undefined) ?? null,
    mimeType: (r.mimeType as string | null | undefined) ?? null,
    metadata: metadataJson(file, line, r.metadata) === null ? null : r.metadata,
  };
}

const INT4_MAX = 2147483647;

function parseChunk(file: string, line: number, r: Record<string, unknown>, dimension: number): ChunkRecord {
  checkFields(file, line, "chunk", r);
  if (typeof r.documentId !== "string" || r.documentId === "") {
    throw new ChunkFileError(file, line, 'a chunk needs a string "documentId".');
  }
  if (typeof r.idx !== "number" || !Number.isInteger(r.idx) || r.idx < 0 || r.idx > INT4_MAX) {
    throw new ChunkFileError(
      file,
      line,
      `"idx" must be an integer from 0 to ${INT4_MAX} (got ${JSON.stringify(r.idx)}).`,
    );
  }
  if (typeof r.text !== "string") throw new ChunkFileError(file, line, 'a chunk needs a string "text".');
  if (r.id !== undefined && (typeof r.id !== "string" || r.id === "")) {
    throw new ChunkFileError(file, line, '"id", when given, must be a non-empty string.');
  }
  checkText(file, line, "text", r.text);
  checkText(file, line, "documentId", r.documentId);
  if (r.id !== undefined) checkText(file, line, "id", r.id as string);
  return {
    type: "chunk",
    line,
    id: r.id as string | undefined,
    documentId: r.documentId,
    idx: r.idx,
    text: r.text,
    embedding: embeddingBytes(file, line, r.embedding, dimension, {
      documentId: r.documentId,
      idx: r.idx,
      id: r.id as string | undefined,
    }),
    metadata: metadataJson(file, line, r.metadata),
  };
}

/** The chunk a line holds, as its embedding's refusals name it. */
interface ChunkNamed {
  documentId: string;
  idx: number;
  id: string | undefined;
}

/** Decodes and checks an embedding; returns big-endian float4 bytes. */
function embeddingBytes(
  file: string,
  line: number,
  value: unknown,
  dimension: number,
  chunk: ChunkNamed,
): Buffer {
  const expected = dimension * 4;
  let bytes: Buffer;
  if (typeof value === "string") {
    const declared = Buffer.byteLength(value, "base64");
    if (declared !== expected) {
      // Only here, off the loader's hot path: a length that is wrong because the text is not base64 at all.
      const stray = /[^A-Za-z0-9+/=_\s-]/.exec(value);
      if (stray) {
        throw new ChunkFileError(
          file,
          line,
          `"embedding" is not valid base64 (${JSON.stringify(stray[0])} at character ${stray.index + 1}).`,
        );
      }
      // A float32 is 4 bytes: another length is a string cut short or padded, not a shorter vector.
      throw new ChunkFileError(
        file,
        line,
        declared % 4 === 0
          ? `"embedding" holds ${declared / 4} float32 values (${declared} bytes), but the header says ${dimension} dimensions.`
          : `"embedding" decodes to ${declared} bytes, not a multiple of 4 (the bytes of one float32), so it is not a whole vector: the header says ${dimension} dimensions, ${dimension * 4} bytes.`,
      );
    }
    bytes = Buffer.allocUnsafe(expected);
    // Node skips characters that are not base64: fewer bytes than the length promised means a corrupt string.
    if (bytes.write(value, "base64") !== expected) {
      throw new ChunkFileError(file, line, '"embedding" is not valid base64.');
    }
  } else if (Array.isArray(value)) {
    if (value.length !== dimension) {
      throw new ChunkFileError(
        file,
        line,
        `"embedding" has ${value.length} values, but the header says ${dimension} dimensions.`,
      );
    }
    const notNumber = value.findIndex((v) => typeof v !== "number");
    if (notNumber !== -1) {
      throw new ChunkFileError(
        file,
        line,
        `"embedding" value ${notNumber} is ${JSON.stringify(value[notNumber])}; as an array it must hold only numbers (JSON has no NaN or Infinity).`,
      );
    }
    const floats = Float32Array.from(value as number[]);
    const limit = largestComponent(dimension);
    const bad = floats.findIndex((v) => !(Math.abs(v) <= limit));
    if (bad !== -1) throw badComponent(file, line, dimension, bad, floats[bad]!);
    const largest = floats.reduce((most, v) => Math.max(most, Math.abs(v)), 0);
    checkNotZeroAsIndexed(file, line, dimension, chunk, largest);
    bytes = Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength);
    return toNetworkOrder(bytes);
  } else {
    throw new ChunkFileError(
      file,
      line,
      '"embedding" must be a base64 string of little-endian float32 values.',
    );
  }
  // pgvector refuses NaN and infinite components, and halfvec larger ones: say which one, before the load
  // starts. A float32's magnitude orders as its bits without the sign (NaN and ±Infinity above every finite
  // value), so one integer comparison per value finds both, and another keeps the largest magnitude, which
  // tells the embeddings the index would hold as the zero vector. The bytes are read as little-endian
  // whatever the machine: that is the file's byte order.
  const limitBits = float32Bits(largestComponent(dimension));
  let largestBits = 0;
  for (let at = 0; at < bytes.length; at += 4) {
    const magnitude = bytes.readUInt32LE(at) & 0x7fffffff;
    if (magnitude > limitBits) throw badComponent(file, line, dimension, at / 4, bytes.readFloatLE(at));
    if (magnitude > largestBits) largestBits = magnitude;
  }
  checkNotZeroAsIndexed(file, line, dimension, chunk, float32OfBits(largestBits));
  // Little-endian file bytes to the wire's big-endian, on any machine.
  return bytes.swap32();
}

const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * The largest magnitude a component may have in a space of `dimension`: any finite float32, or halfvec's
 * largest value where the space's vector index stores halfvec (the database's dimension trigger agrees).
 */
function largestComponent(dimension: number): number {
  return indexedType(dimension) === "halfvec" ? HALFVEC_MAX_VALUE : FLOAT32_MAX;
}

function float32Bits(value: number): number {
  const word = Buffer.allocUnsafe(4);
  word.writeFloatLE(value);
  return word.readUInt32LE();
}

function float32OfBits(bits: number): number {
  const word = Buffer.allocUnsafe(4);
  word.writeUInt32LE(bits);
  return word.readFloatLE();
}

/**
 * Refuses an embedding the vector index would hold as the zero vector, from its `largest` component's
 * magnitude: every component 0, or, where the index stores halfvec, every one within ±HALFVEC_ZERO_BOUND,
 * which halfvec rounds to 0. The database's dimension trigger refuses both, in words that name neither the
 * file nor the line (migration 20261206160000).
 */
function checkNotZeroAsIndexed(
  file: string,
  line: number,
  dimension: number,
  chunk: ChunkNamed,
  largest: number,
): void {
  if (largest === 0) throw zeroVector(file, line);
  if (indexedType(dimension) !== "halfvec" || largest > HALFVEC_ZERO_BOUND) return;
  const named =
    `the chunk of "documentId" ${JSON.stringify(chunk.documentId)}, "idx" ${chunk.idx}` +
    (chunk.id === undefined ? "" : ` ("id" ${JSON.stringify(chunk.id)})`);
  throw new ChunkFileError(
    file,
    line,
    `${named}: every ${HALFVEC_ZERO_WORDS} (the largest is ${Number(largest.toPrecision(3))}), which a halfvec holds as 0: above ${formatCount(VECTOR_MAX_INDEX_DIM)} dimensions (here ${dimension}) the vector index stores halfvec, where this embedding is the zero vector and no search through the index would find the chunk. The database refuses it.`,
    "Store the embedding the model returned, or normalize it to unit length (divide it by its length: numpy's v / np.linalg.norm(v), SQL's l2_normalize): its cosine distances stay the same. Nothing was loaded.",
  );
}

/** The error for component `index`, which is not finite or beyond `largestComponent(dimension)`. */
function badComponent(
  file: string,
  line: number,
  dimension: number,
  index: number,
  value: number,
): ChunkFileError {
  if (!Number.isFinite(value)) {
    return new ChunkFileError(
      file,
      line,
      `"embedding" value ${index} is ${value} as a float32; embeddings must be finite numbers.`,
    );
  }
  return new ChunkFileError(
    file,
    line,
    `"embedding" value ${index} is ${value}, beyond ±${HALFVEC_MAX_VALUE}, the largest a halfvec holds: above ${formatCount(VECTOR_MAX_INDEX_DIM)} dimensions (here ${dimension}) the vector index stores halfvec.`,
  );
}

/** The database refuses it too (the dimension trigger): it has no cosine distance to anything. */
function zeroVector(file: string, line: number): ChunkFileError {
  return new ChunkFileError(
    file,
    line,
    '"embedding" is the zero vector (every value 0), whose cosine distance to anything is undefined; give the embedding the model returned.',
  );
}

/** One header line of a chunk file. */
export function chunkFileHeaderLine(header: ChunkFileHeader): string {
  const space =
    "id" in header.embeddingSpace
      ? { embeddingSpaceId: header.embeddingSpace.id }
      : { embeddingSpace: header.embeddingSpace };
  return `${JSON.stringify({ format: CHUNK_FILE_FORMAT, version: CHUNK_FILE_VERSION, dimension: header.dimension, ...space })}\n`;
}

export interface DocumentLineInput {
  id: string;
  title: string;
  sourceUrl?: string | null;
  mimeType?: string | null;
  metadata?: Record<string, unknown> | null;
}

export function documentLine(doc: DocumentLineInput): string {
  return `${JSON.stringify({ type: "document", ...doc })}\n`;
}

export interface ChunkLineInput {
  id?: string;
  documentId: string;
  idx: number;
  text: string;
  embedding: Float32Array;
  metadata?: Record<string, unknown> | null;
}

/** One chunk line, the embedding as base64 of little-endian float32. */
export function chunkLine(chunk: ChunkLineInput): string {
  let bytes = Buffer.from(chunk.embedding.buffer, chunk.embedding.byteOffset, chunk.embedding.byteLength);
  if (os.endianness() !== "LE") bytes = Buffer.from(bytes).swap32();
  return `${JSON.stringify({ type: "chunk", ...chunk, embedding: bytes.toString("base64") })}\n`;
}
