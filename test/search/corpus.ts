// A multi-tenant corpus for the search tests and bench/tenant-search.ts: organizations of Zipf-like sizes
// (the i-th largest holds a share proportional to 1/i), each drawing its chunks from its own handful of
// overlapping topics (Gaussian clusters in a latent space mapped into the embedding dimension, as in
// bench/ann.ts), and held-out queries (new draws, never rows of the table): "own" from a tenant's topics,
// "table-wide" from any topic of the table. Seeded: every run builds the same corpus.
import os from "node:os";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ClientBase } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import type { Neighbour } from "../../core";
import { gaussian, random, vectorText } from "../vector-indexes/data";

export interface CorpusShape {
  rows: number;
  dimension: number;
  organizations: number;
  topics: number;
  /** Topics per organization, at least (large organizations get more, in proportion to their size). */
  topicsPerOrganization: number;
  latentDimension: number;
  spread: number;
  noise: number;
  seed: number;
}

export interface Tenant {
  organizationId: string;
  datasetId: string;
  documentId: string;
  rows: number;
  topics: number[];
}

export interface Corpus {
  shape: CorpusShape;
  spaceId: string;
  /** Largest first. */
  tenants: Tenant[];
  /** A new point of `topic` (not a row of the table). */
  draw(topic: number): Float32Array;
  /** `n` held-out queries for a tenant: "own" from its topics, "table-wide" from any topic. */
  queries(tenant: Tenant, kind: "own" | "table-wide", n: number): Float32Array[];
}

/** Rows per organization, Zipf-like (share of the i-th ∝ 1/i), summing to `rows`. */
export function zipfSizes(rows: number, organizations: number): number[] {
  const weights = Array.from({ length: organizations }, (_, i) => 1 / (i + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.max(1, Math.floor((rows * w) / total)));
  sizes[0]! += rows - sizes.reduce((a, b) => a + b, 0);
  return sizes;
}

function generator(shape: CorpusShape) {
  const normal = gaussian(shape.seed);
  const latent = shape.latentDimension;
  const centers = Array.from({ length: shape.topics }, () => Float64Array.from({ length: latent }, normal));
  const projection = Array.from({ length: latent }, () =>
    Float32Array.from({ length: shape.dimension }, () => normal() / Math.sqrt(latent)),
  );
  const point = new Float64Array(latent);
  return (topic: number): Float32Array => {
    const center = centers[topic]!;
    for (let i = 0; i < latent; i++) point[i] = center[i]! + shape.spread * normal();
    const out = new Float32Array(shape.dimension);
    for (let i = 0; i < latent; i++) {
      const row = projection[i]!;
      const x = point[i]!;
      for (let j = 0; j < shape.dimension; j++) out[j]! += x * row[j]!;
    }
    for (let j = 0; j < shape.dimension; j++) out[j]! += shape.noise * normal();
    return out;
  };
}

/**
 * Creates the organizations (each with a dataset and a document) and an embedding space, then loads the
 * chunks with binary COPY as the table's owner, leaving "organizationId" to the database's trigger.
 */
export async function loadCorpus(client: ClientBase, shape: CorpusShape): Promise<Corpus> {
  const draw = generator(shape);
  const pick = random(shape.seed ^ 0x2545f491);
  const tag = `t${shape.seed}`;
  const spaceId = (
    await client.query<{ id: string }>(
      `INSERT INTO "EmbeddingSpace" ("provider", "model", "dimension") VALUES ('test', $1, $2) RETURNING "id"`,
      [`corpus-${tag}-${shape.dimension}`, shape.dimension],
    )
  ).rows[0]!.id;
  const sizes = zipfSizes(shape.rows, shape.organizations);
  const tenants: Tenant[] = [];
  for (const [i, rows] of sizes.entries()) {
    const slug = `${tag}-org-${i}`;
    const organizationId = `${slug}-id`;
    await client.query(`INSERT INTO "Organization" ("id", "slug", "name") VALUES ($1, $2, $2)`, [
      organizationId,
      slug,
    ]);
    const datasetId = `${slug}-dataset`;
    await client.query(
      `INSERT INTO "Dataset" ("id", "organizationId", "name", "slug", "kind") VALUES ($1, $2, 'Docs', 'docs', 'documents')`,
      [datasetId, organizationId],
    );
    const documentId = `${slug}-document`;
    await client.query(`INSERT INTO "Document" ("id", "datasetId", "title") VALUES ($1, $2, 'Generated')`, [
      documentId,
      datasetId,
    ]);
    const count = Math.max(
      shape.topicsPerOrganization,
      Math.round((shape.topicsPerOrganization * rows * shape.organizations) / shape.rows),
    );
    const topics = Array.from({ length: Math.min(count, shape.topics) }, () =>
      Math.floor(pick() * shape.topics),
    );
    tenants.push({ organizationId, datasetId, documentId, rows, topics });
  }
  await copyChunks(client, spaceId, tenants, (tenant) =>
    draw(tenant.topics[Math.floor(pick() * tenant.topics.length)]!),
  );
  await client.query(`ANALYZE "Chunk"`);
  const queryPick = random(shape.seed ^ 0x68e31da4);
  return {
    shape,
    spaceId,
    tenants,
    draw,
    queries(tenant, kind, n) {
      return Array.from({ length: n }, () =>
        draw(
          kind === "own"
            ? tenant.topics[Math.floor(queryPick() * tenant.topics.length)]!
            : Math.floor(queryPick() * shape.topics),
        ),
      );
    },
  };
}

/**
 * Adds a tenant to a loaded corpus after the fact (an organization with a dataset and a document) and its
 * `rows` chunks, drawn from `topics`, as the table's owner; the tenant as the corpus's own are described.
 */
export async function addTenant(
  client: ClientBase,
  corpus: Corpus,
  { slug, rows, topics }: { slug: string; rows: number; topics: readonly number[] },
): Promise<Tenant> {
  const tenant = await addTenantOrganization(client, { slug, rows, topics });
  let i = 0;
  await copyChunks(client, corpus.spaceId, [tenant], () => corpus.draw(topics[i++ % topics.length]!));
  return tenant;
}

/**
 * The organization, dataset and document of a tenant added after the fact, without its chunks: for a test
 * that loads them itself (in steps). `rows`: how many it will have.
 */
export async function addTenantOrganization(
  client: ClientBase,
  { slug, rows, topics }: { slug: string; rows: number; topics: readonly number[] },
): Promise<Tenant> {
  const tenant: Tenant = {
    organizationId: `${slug}-id`,
    datasetId: `${slug}-dataset`,
    documentId: `${slug}-document`,
    rows,
    topics: [...topics],
  };
  await client.query(`INSERT INTO "Organization" ("id", "slug", "name") VALUES ($1, $2, $2)`, [
    tenant.organizationId,
    slug,
  ]);
  await client.query(
    `INSERT INTO "Dataset" ("id", "organizationId", "name", "slug", "kind") VALUES ($1, $2, 'Docs', 'docs', 'documents')`,
    [tenant.datasetId, tenant.organizationId],
  );
  await client.query(`INSERT INTO "Document" ("id", "datasetId", "title") VALUES ($1, $2, 'Generated')`, [
    tenant.documentId,
    tenant.datasetId,
  ]);
  return tenant;
}

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1");

function field(value: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(value.length);
  return Buffer.concat([length, value]);
}

const text = (s: string) => field(Buffer.from(s, "utf8"));

function vectorField(v: Float32Array): Buffer {
  const header = Buffer.alloc(8);
  header.writeInt32BE(4 + 4 * v.length, 0);
  header.writeInt16BE(v.length, 4);
  header.writeInt16BE(0, 6);
  const floats = Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return Buffer.concat([header, os.endianness() === "LE" ? Buffer.from(floats).swap32() : floats]);
}

async function copyChunks(
  client: ClientBase,
  spaceId: string,
  tenants: readonly Tenant[],
  next: (tenant: Tenant) => Float32Array,
): Promise<void> {
  function* rows() {
    yield Buffer.concat([SIGNATURE, Buffer.alloc(8)]);
    const idx = Buffer.alloc(4);
    let batch: Buffer[] = [];
    for (const tenant of tenants) {
      for (let i = 0; i < tenant.rows; i++) {
        idx.writeInt32BE(i);
        const count = Buffer.alloc(2);
        count.writeInt16BE(7);
        batch.push(
          Buffer.concat([
            count,
            text(`${tenant.documentId}-${i}`),
            text(tenant.datasetId),
            text(spaceId),
            text(tenant.documentId),
            field(Buffer.from(idx)),
            text(`chunk ${i}`),
            vectorField(next(tenant)),
          ]),
        );
        if (batch.length === 500) {
          yield Buffer.concat(batch);
          batch = [];
        }
      }
    }
    if (batch.length) yield Buffer.concat(batch);
    yield Buffer.from([0xff, 0xff]);
  }
  await pipeline(
    Readable.from(rows()),
    client.query(
      copyFrom(
        `COPY "Chunk" ("id", "datasetId", "embeddingSpaceId", "documentId", "idx", "text", "embedding") FROM STDIN (FORMAT binary)`,
      ),
    ),
  );
}

/**
 * The exact top k over a tenant's rows (what the search must find), as the owner, at full precision, with
 * their distances: what core's recallOf counts a search's rows against (a tie at the k-th distance is a hit).
 */
export async function exactNeighbours(
  client: ClientBase,
  organizationId: string,
  query: Float32Array,
  k: number,
): Promise<Neighbour[]> {
  const result = await client.query<Neighbour>(
    `SELECT "id", ("embedding" <=> $1::vector)::float8 AS distance FROM "Chunk" WHERE "organizationId" = $2
      ORDER BY "embedding" <=> $1::vector, "id" LIMIT $3`,
    [vectorText(query), organizationId, k],
  );
  return result.rows;
}

/** The ids of exactNeighbours, in order. */
export async function exactTopK(
  client: ClientBase,
  organizationId: string,
  query: Float32Array,
  k: number,
): Promise<string[]> {
  return (await exactNeighbours(client, organizationId, query, k)).map((r) => r.id);
}
