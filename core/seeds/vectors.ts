// Deterministic embeddings for seed data and test files: real vectors of a space's dimension, the same on
// every machine and every Node version, made without a network or a model.
//
// Only integer and IEEE arithmetic is used (no Math.log/Math.cos, whose last bit may differ between engines),
// so a seed set's checksum never changes by itself. Components are sums of four uniforms (Irwin-Hall: close
// enough to Gaussian that directions are spread evenly), then the vector is scaled to unit length, which is
// what embedding models return and what cosine distance expects.
import { createHash } from "node:crypto";

/** sfc32, a small fast PRNG with a 128-bit state, seeded from sha256 of a text. */
export function seededRandom(seed: string): () => number {
  const digest = createHash("sha256").update(seed).digest();
  let a = digest.readUInt32LE(0);
  let b = digest.readUInt32LE(4);
  let c = digest.readUInt32LE(8);
  let d = digest.readUInt32LE(12);
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // The first outputs of sfc32 still carry the seed's structure: discard them, as its author advises.
  for (let i = 0; i < 12; i++) next();
  return next;
}

function fillNormalish(out: Float64Array, random: () => number, weight: number): void {
  for (let i = 0; i < out.length; i++) {
    out[i]! += weight * (random() + random() + random() + random() - 2);
  }
}

function toUnitFloat32(values: Float64Array): Float32Array {
  let sum = 0;
  for (const v of values) sum += v * v;
  const norm = Math.sqrt(sum) || 1;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! / norm;
  return out;
}

export interface SeededVectorSpec {
  /** Makes this vector's own direction. */
  seed: string;
  /**
   * Vectors that share a topic lie close together (cosine similarity around 0.8), so that a similarity
   * search over seed data finds related rows, as it would over real embeddings.
   */
  topic?: string;
}

/** How far a vector strays from its topic: 0.5 gives a cosine similarity of about 0.8 to the topic. */
const TOPIC_NOISE = 0.5;

/** A unit vector of `dimension` float32 components, determined by `spec` alone. */
export function seededVector(spec: SeededVectorSpec, dimension: number): Float32Array {
  const values = new Float64Array(dimension);
  if (spec.topic === undefined) {
    fillNormalish(values, seededRandom(`vector:${spec.seed}`), 1);
  } else {
    fillNormalish(values, seededRandom(`topic:${spec.topic}`), 1);
    fillNormalish(values, seededRandom(`vector:${spec.seed}`), TOPIC_NOISE);
  }
  return toUnitFloat32(values);
}

/**
 * pgvector's text form, `[0.1,-0.2,...]`. Nine significant digits identify a float32 exactly, so the server
 * stores precisely the values of `vector` and the text is the same on every machine.
 */
export function vectorLiteral(vector: Float32Array): string {
  const parts = new Array<string>(vector.length);
  for (let i = 0; i < vector.length; i++) parts[i] = String(Number(vector[i]!.toPrecision(9)));
  return `[${parts.join(",")}]`;
}
