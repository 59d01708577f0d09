// Numbers shown to people, with thousands separators ("12,345"). Written out rather than asked of
// toLocaleString: the first Intl call of a process loads ICU's locale data, about 20 ms that a `plan` would
// pay for one number. Integers only take the fast path; anything else keeps Intl's exact rendering.
export function formatCount(value: number): string {
  if (!Number.isSafeInteger(value)) return value.toLocaleString("en-US");
  const digits = String(Math.abs(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return value < 0 || Object.is(value, -0) ? `-${digits}` : digits;
}

/** A count and its noun, singular for 1: (1, "chunk") -> "1 chunk", (20000, "chunk") -> "20,000 chunks". */
export function countText(n: number, noun: string, plural = `${noun}s`): string {
  return `${formatCount(n)} ${n === 1 ? noun : plural}`;
}

/** 1 -> "1 row", 20000 -> "20,000 rows". */
export function rowsText(n: number): string {
  return countText(n, "row");
}

/** A duration to read at a glance: 45 -> "45 s", under 2 min in seconds, then 150 -> "3 min", 7200 -> "120 min". */
export function durationText(seconds: number): string {
  return seconds < 120
    ? `${formatCount(Math.round(seconds))} s`
    : `${formatCount(Math.round(seconds / 60))} min`;
}

/**
 * Time a step took, to read at a glance: under a second in ms (340 -> "340 ms"), under 2 min in seconds to a
 * tenth (145838 would be "2 min"; 18734 -> "18.7 s"), then as durationText.
 */
export function elapsedText(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : durationText(ms / 1000);
}
