// The lock-safety settings on their own: defaults, validation, and the retry pauses' backoff and jitter.
import { describe, expect, it } from "vitest";
import { DEFAULT_LOCK_SAFETY, ReleaseError, resolveLockSafety, retryDelayMs } from "../../core";

describe("lock safety settings", () => {
  it("default to a 5 s lock timeout, no statement timeout and 5 retries", () => {
    expect(resolveLockSafety(undefined)).toEqual(DEFAULT_LOCK_SAFETY);
    expect(DEFAULT_LOCK_SAFETY).toMatchObject({
      lockTimeoutMs: 5_000,
      statementTimeoutMs: 0,
      lockRetries: 5,
    });
    expect(resolveLockSafety({ lockRetries: 0 }).lockRetries).toBe(0);
  });

  it("refuse a negative, fractional or huge value, naming where it came from", () => {
    for (const bad of [{ lockTimeoutMs: -1 }, { lockRetries: 1.5 }, { lockRetries: 101 }]) {
      expect(() => resolveLockSafety(bad, (field) => `lockSafety.${field}`)).toThrow(ReleaseError);
    }
    expect(() => resolveLockSafety({ lockRetries: 101 }, (f) => `neonhub-db:${f}`)).toThrow(
      /neonhub-db:lockRetries must be a whole number from 0 to 100, got 101/,
    );
  });

  it("back off exponentially up to the cap, half of each pause random", () => {
    const settings = { ...DEFAULT_LOCK_SAFETY, retryBaseDelayMs: 1_000, retryMaxDelayMs: 5_000 };
    expect([1, 2, 3, 4].map((n) => retryDelayMs(settings, n, () => 0))).toEqual([500, 1_000, 2_000, 2_500]);
    expect([1, 2, 3, 4].map((n) => retryDelayMs(settings, n, () => 1))).toEqual([1_000, 2_000, 4_000, 5_000]);
  });
});
