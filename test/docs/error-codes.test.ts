// The README's table of error codes is the list CI reads `error.code` against: it must name exactly the codes
// the CLI's --json error document can carry (CLI_ERROR_CODES), each once, with its exit code.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../core";
import { CLI_ERROR_CODES, internalErrorDocument } from "../../cli/error-document";

const README = readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");

/** The rows of the table headed `| code | exit | ...`: code → exit column. */
function documentedCodes(): [string, string][] {
  const lines = README.split("\n");
  const header = lines.findIndex((line) => /^\|\s*code\s*\|\s*exit\s*\|/.test(line));
  expect(header, "README has the error codes table").toBeGreaterThan(-1);
  const rows: [string, string][] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    const [code, exit] = line
      .split("|")
      .slice(1, 3)
      .map((cell) => cell.trim());
    rows.push([code!.replace(/^`|`$/g, ""), exit!]);
  }
  return rows;
}

describe("the README's error codes", () => {
  it("are exactly the codes of the --json error document, each once", () => {
    const codes = documentedCodes().map(([code]) => code);
    expect(codes).toEqual([...new Set(codes)]);
    expect([...codes].sort()).toEqual([...CLI_ERROR_CODES].sort());
  });

  it("exit 1, but an interruption, which ends by its signal", () => {
    for (const [code, exit] of documentedCodes())
      expect(exit, code).toBe(code === "interrupted" ? "130, 143" : "1");
  });

  it("include the document of a bug, which has a fix like every other", () => {
    expect(internalErrorDocument(new TypeError("x is undefined"), []).error).toEqual({
      code: "internal",
      message: "TypeError: x is undefined",
      fix: expect.stringContaining("report it") as string,
    });
  });

  it("are linked from the CLI's --json description", () => {
    expect(README).toContain("### Exit codes and error codes");
    expect(README).toContain("(#exit-codes-and-error-codes)");
  });
});
