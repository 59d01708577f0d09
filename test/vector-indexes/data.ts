// Generated embeddings for the vector-index tests and the ANN benchmark: overlapping Gaussian clusters
// (well-separated clusters make every index look perfect), optionally drawn in a low-dimensional latent
// space and mapped into the embedding dimension, like real embeddings whose variance lives in few directions.
// Loaded with binary COPY (pgvector's binary form: int16 dimension, int16 0, big-endian float4s).
import os from "node:os";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ClientBase } from "pg";
import { from as copyFrom } from "pg-copy-streams";

/** mulberry32: a small seeded PRNG, so that every run generates the same data. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box-Muller). */
export function gaussian(seed: number): () => number {
  const uniform = random(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const u = Math.max(uniform(), Number.EPSILON);
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

export interface ClusterShape {
  dimension: number;
  clusters: number;
  /** Standard deviation of a point around its cluster's center (centers have 1). */
  spread: number;
  /** Draw clusters in this many dimensions and map them linearly into `dimension`. */
  latentDimension?: number;
  /** Standard deviation of noise added in the full dimension. */
  noise?: number;
  seed: number;
}

/** An endless source of vectors with the given shape; `next()` draws one. */
export function clusteredVectors(shape: ClusterShape): { next(): Float32Array } {
  const normal = gaussian(shape.seed);
  const latent = shape.latentDimension ?? shape.dimension;
  const centers = Array.from({ length: shape.clusters }, () => Float64Array.from({ length: latent }, normal));
  // Latent -> full dimension, entries N(0, 1/latent) so that norms stay comparable.
  const projection =
    shape.latentDimension === undefined
      ? undefined
      : Array.from({ length: latent }, () =>
          Float32Array.from({ length: shape.dimension }, () => normal() / Math.sqrt(latent)),
        );
  const pick = random(shape.seed ^ 0x5bd1e995);
  const point = new Float64Array(latent);
  return {
    next() {
      const center = centers[Math.floor(pick() * shape.clusters)]!;
      for (let i = 0; i < latent; i++) point[i] = center[i]! + shape.spread * normal();
      const out = new Float32Array(shape.dimension);
      if (projection) {
        for (let i = 0; i < latent; i++) {
          const row = projection[i]!;
          const x = point[i]!;
          for (let j = 0; j < shape.dimension; j++) out[j]! += x * row[j]!;
        }
      } else {
        out.set(point);
      }
      if (shape.noise) for (let j = 0; j < shape.dimension; j++) out[j]! += shape.noise * normal();
      return out;
    },
  };
}

export const vectorText = (v: Float32Array): string => `[${Array.from(v).join(",")}]`;

export interface EmbeddingFixtures {
  organizationId: string;
  datasetId: string;
  documentId: string;
  conversationId: string;
  /** Embedding space id per dimension. */
  spaces: Map<number, string>;
}

/** An organization with a dataset, a document and a conversation, and one embedding space per dimension. */
export async function createFixtures(
  client: ClientBase,
  dimensions: readonly number[],
): Promise<EmbeddingFixtures> {
  const one = async (sql: string, params: unknown[]) =>
    (await client.query<{ id: string }>(sql, params)).rows[0]!.id;
  const organizationId = await one(
    `INSERT INTO "Organization" ("slug", "name") VALUES ($1, $1) RETURNING "id"`,
    [`vi-${Date.now()}`],
  );
  const datasetId = await one(
    `INSERT INTO "Dataset" ("organizationId", "name", "slug", "kind") VALUES ($1, 'Docs', 'docs', 'documents') RETURNING "id"`,
    [organizationId],
  );
  const documentId = await one(
    `INSERT INTO "Document" ("datasetId", "title") VALUES ($1, 'Generated') RETURNING "id"`,
    [datasetId],
  );
  const conversationId = await one(
    `INSERT INTO "Conversation" ("organizationId") VALUES ($1) RETURNING "id"`,
    [organizationId],
  );
  const spaces = new Map<number, string>();
  for (const dimension of dimensions) {
    spaces.set(
      dimension,
      await one(
        `INSERT INTO "EmbeddingSpace" ("provider", "model", "dimension") VALUES ('test', $1, $2) RETURNING "id"`,
        [`generated-${dimension}`, dimension],
      ),
    );
  }
  return { organizationId, datasetId, documentId, conversationId, spaces };
}

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");

function field(value: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(value.length);
  return Buffer.concat([length, value]);
}

function vectorField(v: Float32Array): Buffer {
  const header = Buffer.alloc(8);
  header.writeInt32BE(4 + 4 * v.length, 0);
  header.writeInt16BE(v.length, 4);
  header.writeInt16BE(0, 6);
  const floats = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return Buffer.concat([header, os.endianness() === "LE" ? Buffer.from(floats).swap32() : floats]);
}

function row(fields: Buffer[]): Buffer {
  const count = Buffer.alloc(2);
  count.writeInt16BE(fields.length);
  return Buffer.concat([count, ...fields]);
}

const text = (s: string) => field(Buffer.from(s, "utf8"));

async function copyRows(client: ClientBase, sql: string, rows: () => Iterable<Buffer>): Promise<void> {
  function* stream() {
    yield Buffer.concat([SIGNATURE, Buffer.alloc(8)]);
    let batch: Buffer[] = [];
    for (const r of rows()) {
      batch.push(r);
      if (batch.length === 500) {
        yield Buffer.concat(batch);
        batch = [];
      }
    }
    if (batch.length) yield Buffer.concat(batch);
    yield Buffer.from([0xff, 0xff]);
  }
  await pipeline(Readable.from(stream()), client.query(copyFrom(sql)));
}

/** `count` chunks of `dimension` from `source`, numbered from `firstIdx` in the fixtures' document. */
export async function copyChunks(
  client: ClientBase,
  fixtures: EmbeddingFixtures,
  options: { dimension: number; count: number; source: { next(): Float32Array }; firstIdx?: number },
): Promise<void> {
  const space = fixtures.spaces.get(options.dimension)!;
  const first = options.firstIdx ?? 0;
  await copyRows(
    client,
    `COPY "Chunk" ("id", "datasetId", "embeddingSpaceId", "documentId", "idx", "text", "embedding") FROM STDIN (FORMAT binary)`,
    function* () {
      const idx = Buffer.alloc(4);
      for (let i = first; i < first + options.count; i++) {
        idx.writeInt32BE(i);
        yield row([
          text(`chunk-${options.dimension}-${i}`),
          text(fixtures.datasetId),
          text(space),
          text(fixtures.documentId),
          field(idx),
          text(`generated chunk ${i}`),
          vectorField(options.source.next()),
        ]);
      }
    },
  );
}

/** `count` user messages with embeddings of `dimension` in the fixtures' conversation. */
export async function copyMessages(
  client: ClientBase,
  fixtures: EmbeddingFixtures,
  options: { dimension: number; count: number; source: { next(): Float32Array }; firstId?: number },
): Promise<void> {
  const space = fixtures.spaces.get(options.dimension)!;
  const first = options.firstId ?? 0;
  // jsonb's binary form is a version byte (1) and the JSON text.
  const content = field(Buffer.concat([Buffer.from([1]), Buffer.from('{"text":"generated"}')]));
  await copyRows(
    client,
    `COPY "Message" ("id", "conversationId", "role", "contentJson", "embeddingSpaceId", "embedding") FROM STDIN (FORMAT binary)`,
    function* () {
      for (let i = first; i < first + options.count; i++) {
        yield row([
          text(`message-${options.dimension}-${i}`),
          text(fixtures.conversationId),
          text("user"),
          content,
          text(space),
          vectorField(options.source.next()),
        ]);
      }
    },
  );
}

/**
 * Runs `write` with the dimension trigger of `table` disabled (as its owner): how a row the trigger refuses,
 * one of another dimension than its space, is written, as a database with the trigger disabled once has them.
 */
export async function withoutDimensionTrigger<T>(
  client: ClientBase,
  table: string,
  write: () => Promise<T>,
): Promise<T> {
  await client.query(`ALTER TABLE "${table}" DISABLE TRIGGER check_embedding_dimension`);
  try {
    return await write();
  } finally {
    await client.query(`ALTER TABLE "${table}" ENABLE TRIGGER check_embedding_dimension`);
  }
}

/**
 * Chunks `[id, dims]` of `dims` dimensions in the `dimension`-dimension space of `fixtures`, written around the
 * dimension trigger: rows a calibration of that space cannot measure, which stop it after the build.
 */
export async function writeWrongDimensionChunks(
  client: ClientBase,
  fixtures: EmbeddingFixtures,
  dimension: number,
  rows: readonly [string, number][],
): Promise<void> {
  await withoutDimensionTrigger(client, "Chunk", async () => {
    for (const [i, [id, dims]] of rows.entries()) {
      await client.query(
        `INSERT INTO "Chunk" ("id", "datasetId", "embeddingSpaceId", "documentId", "idx", "text", "embedding")
         VALUES ($1, $2, $3, $4, $5, 'bad', $6::vector)`,
        [
          id,
          fixtures.datasetId,
          fixtures.spaces.get(dimension),
          fixtures.documentId,
          100_000 + i,
          `[${Array.from({ length: dims }, (_, k) => k + 1).join(",")}]`,
        ],
      );
    }
  });
}
