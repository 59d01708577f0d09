// The benchmarks' numeric options, checked the one way: a whole number of at least `min`, or an error naming
// the option, the value and what it takes.
export function wholeNumberOption(name: string, raw: string, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new Error(`--${name} ${raw}: expected a whole number of at least ${min}`);
  }
  return n;
}
