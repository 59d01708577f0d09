// PostgreSQL's binary COPY format (https://www.postgresql.org/docs/current/sql-copy.html, "Binary Format"):
// an 11-byte signature, flags and header-extension length, then per row an int16 field count and per field an
// int32 byte length (-1 for NULL) and the bytes of the type's binary "receive" form, then an int16 -1.
//
// Binary rather than text COPY because formatting floats as text costs as much as the load itself: a
// vector's binary form is pgvector's vector_recv input, int16 dimension, int16 unused (0), then each
// component as a big-endian float4, so a float32 embedding only needs its bytes swapped.
import os from "node:os";

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");

/** Signature, flags (0: no OIDs) and header extension length (0). */
export function copyHeader(): Buffer {
  const header = Buffer.alloc(SIGNATURE.length + 8);
  SIGNATURE.copy(header, 0);
  return header;
}

export function copyTrailer(): Buffer {
  return Buffer.from([0xff, 0xff]);
}

/**
 * Turns float32 bytes in this machine's byte order into the big-endian order of the wire, in place.
 * Every machine Node runs on today is little-endian; the check keeps a big-endian one correct.
 */
export function toNetworkOrder(float32Bytes: Buffer): Buffer {
  return os.endianness() === "LE" ? float32Bytes.swap32() : float32Bytes;
}

/** Size of a text field: length prefix plus UTF-8 bytes. */
export const textFieldSize = (byteLength: number) => 4 + byteLength;
/** Size of a vector field: length prefix, int16 dim, int16 unused, dim float4. */
export const vectorFieldSize = (dimension: number) => 4 + 4 + 4 * dimension;

/**
 * Rows encoded into buffers of about `batchBytes`, handed out whole: COPY data is sent in a few large
 * messages instead of one per row, and a buffer is never written again once handed out.
 */
export class CopyRowBuffer {
  private buffer: Buffer;
  private offset = 0;

  constructor(private readonly batchBytes = 1 << 20) {
    this.buffer = Buffer.allocUnsafe(batchBytes);
  }

  /** Makes room for a row of `bytes`; returns a full batch to send when the current one had no room. */
  reserve(bytes: number): Buffer | undefined {
    if (this.offset + bytes <= this.buffer.length) return undefined;
    const full = this.take();
    if (bytes > this.buffer.length) this.buffer = Buffer.allocUnsafe(Math.max(bytes, this.batchBytes));
    return full;
  }

  /** The rows encoded so far (possibly none), as a buffer of their own. */
  take(): Buffer | undefined {
    if (this.offset === 0) return undefined;
    const full = this.buffer.subarray(0, this.offset);
    this.buffer = Buffer.allocUnsafe(this.batchBytes);
    this.offset = 0;
    return full;
  }

  get pending(): number {
    return this.offset;
  }

  fieldCount(count: number): void {
    this.offset = this.buffer.writeInt16BE(count, this.offset);
  }

  null(): void {
    this.offset = this.buffer.writeInt32BE(-1, this.offset);
  }

  /** A text (or varchar) field; `byteLength` is Buffer.byteLength(value). */
  text(value: string, byteLength: number): void {
    this.offset = this.buffer.writeInt32BE(byteLength, this.offset);
    this.offset += this.buffer.write(value, this.offset, byteLength, "utf8");
  }

  /** A field whose binary form is already at hand (e.g. a text encoded once for every row). */
  bytes(value: Buffer): void {
    this.offset = this.buffer.writeInt32BE(value.length, this.offset);
    this.offset += value.copy(this.buffer, this.offset);
  }

  int4(value: number): void {
    this.offset = this.buffer.writeInt32BE(4, this.offset);
    this.offset = this.buffer.writeInt32BE(value, this.offset);
  }

  /** jsonb's binary form: a version byte (1), then the JSON text. */
  jsonb(json: string, byteLength: number): void {
    this.offset = this.buffer.writeInt32BE(byteLength + 1, this.offset);
    this.buffer[this.offset++] = 1;
    this.offset += this.buffer.write(json, this.offset, byteLength, "utf8");
  }

  /** A pgvector `vector` from big-endian float4 bytes (see toNetworkOrder). */
  vector(bigEndianFloats: Buffer): void {
    const dimension = bigEndianFloats.length / 4;
    this.offset = this.buffer.writeInt32BE(4 + bigEndianFloats.length, this.offset);
    this.offset = this.buffer.writeInt16BE(dimension, this.offset);
    this.offset = this.buffer.writeInt16BE(0, this.offset);
    this.offset += bigEndianFloats.copy(this.buffer, this.offset);
  }
}
