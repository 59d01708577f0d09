// Counts shown to people are written out without Intl (start-up cost); they must read exactly as Intl's.
import { describe, expect, it } from "vitest";
import { elapsedText, formatCount } from "../../core";

describe("formatCount", () => {
  it("groups thousands exactly as toLocaleString('en-US') does", () => {
    const values = [
      0,
      7,
      999,
      1000,
      1001,
      12_345,
      999_999,
      1_000_000,
      1_234_567_890,
      Number.MAX_SAFE_INTEGER,
    ];
    for (const value of [...values, ...values.map((v) => -v)]) {
      expect(formatCount(value)).toBe(value.toLocaleString("en-US"));
    }
  });

  it("leaves what is not a safe integer to Intl", () => {
    for (const value of [1234.5, -0.25, 2 ** 60, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(formatCount(value)).toBe(value.toLocaleString("en-US"));
    }
  });
});

describe("elapsedText", () => {
  it("gives a step's time in ms under a second, in seconds to a tenth under two minutes, then in minutes", () => {
    expect(elapsedText(0)).toBe("0 ms");
    expect(elapsedText(340.4)).toBe("340 ms");
    expect(elapsedText(999)).toBe("999 ms");
    expect(elapsedText(1000)).toBe("1.0 s");
    expect(elapsedText(18_734)).toBe("18.7 s");
    expect(elapsedText(119_949)).toBe("119.9 s");
    expect(elapsedText(145_838)).toBe("2 min");
    expect(elapsedText(7_200_000)).toBe("120 min");
  });
});
