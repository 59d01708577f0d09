// The corpus the search benchmarks load (test/search/corpus.ts): chunks of 1,536 dimensions from 1,000
// overlapping topics, 100 organizations of Zipf-like sizes, the same seed, so that their figures describe
// the same data.
import type { CorpusShape } from "../../test/search/corpus";

export const BENCH_DIMENSION = 1536;

export function benchCorpusShape(rows: number): CorpusShape {
  return {
    rows,
    dimension: BENCH_DIMENSION,
    organizations: 100,
    topics: 1000,
    topicsPerOrganization: 5,
    latentDimension: 48,
    spread: 1,
    noise: 0.1,
    seed: 20261202,
  };
}
