// docs/reliability.md counts the bad-input matrix by area and in all, in three places; each release that adds a
// refusal adds a bad input, and the page's counts drifted apart. These keep them the matrix's own.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../core";
import { BAD_CONFIGS } from "../reliability/support/bad-config";
import { BAD_INPUTS, type BadInput } from "../reliability/support/bad-inputs";

const PAGE = readFileSync(path.join(PROJECT_ROOT, "docs", "reliability.md"), "utf8");

/** The page's area rows, by their first cell, and how many of the matrix each stands for. */
const AREA_ROWS: Record<string, number> = {
  "connection strings": inArea("DSN"),
  "CLI flags": inArea("CLI flags"),
  "migration files": inArea("migration files"),
  "seed files": inArea("seed files"),
  "chunk files": inArea("bulk-load files"),
  "stack config": BAD_CONFIGS.length,
};

function inArea(area: BadInput["area"]): number {
  return BAD_INPUTS.filter((input) => input.area === area).length;
}

/** The number the page gives where `pattern`'s group is. */
function documented(pattern: RegExp): number {
  const found = pattern.exec(PAGE);
  expect(found, `docs/reliability.md has ${pattern}`).not.toBeNull();
  return Number(found![1]);
}

describe("docs/reliability.md's bad-input counts", () => {
  it("are the matrix's, by area", () => {
    for (const [row, count] of Object.entries(AREA_ROWS)) {
      expect(documented(new RegExp(`^\\| ${row} +\\| (\\d+)[:,]`, "m")), row).toBe(count);
    }
    expect(Object.values(AREA_ROWS).reduce((a, b) => a + b)).toBe(BAD_INPUTS.length + BAD_CONFIGS.length);
  });

  it("are the matrix's in the scenario table, the heading and the total", () => {
    expect(documented(/(\d+) bad inputs \+ \d+ bad config values/)).toBe(BAD_INPUTS.length);
    expect(documented(/\d+ bad inputs \+ (\d+) bad config values/)).toBe(BAD_CONFIGS.length);
    const all = BAD_INPUTS.length + BAD_CONFIGS.length;
    expect(documented(/^## Bad input: (\d+)$/m)).toBe(all);
    expect(documented(/^In all: .*?(\d+) bad inputs/m)).toBe(all);
  });
});
