// The suite shares worker processes between test files (vitest.config.ts), except for the files that run a
// Pulumi program under the mock runtime: that runtime is one per process, and a file that installs it in a
// shared process records no resources (or another file's). This checks, from the import graph, that every
// file reaching `runtime.setMocks` is among those given a process of their own (test/support/isolation.ts).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { needsOwnProcess } from "../support/isolation";

const ROOT = path.resolve(__dirname, "..", "..");
const RELATIVE_IMPORT = /(?:from\s+|import\s*\(\s*|require\s*\(\s*|import\s+)"(\.{1,2}\/[^"]+)"/g;

function testFiles(folder: string): string[] {
  return readdirSync(folder).flatMap((entry) => {
    const full = path.join(folder, entry);
    if (statSync(full).isDirectory()) return testFiles(full);
    return entry.endsWith(".test.ts") ? [full] : [];
  });
}

function resolveImport(from: string, specifier: string): string | undefined {
  const base = path.resolve(path.dirname(from), specifier);
  return [base, `${base}.ts`, `${base}.js`, path.join(base, "index.ts")].find(
    (candidate) => existsSync(candidate) && statSync(candidate).isFile(),
  );
}

/** The first file reachable from `file` by relative imports that installs Pulumi's mocks, if any. */
function reachesMocks(file: string): string | undefined {
  const seen = new Set<string>();
  const pending = [file];
  while (pending.length > 0) {
    const current = pending.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    const source = readFileSync(current, "utf8");
    if (/\bruntime\.setMocks\(/.test(source)) return current;
    for (const match of source.matchAll(RELATIVE_IMPORT)) {
      const target = resolveImport(current, match[1]!);
      if (target && !target.includes(`${path.sep}node_modules${path.sep}`)) pending.push(target);
    }
  }
  return undefined;
}

const relative = (file: string) => path.relative(ROOT, file).split(path.sep).join("/");

describe("test files and their processes", () => {
  const files = testFiles(path.join(ROOT, "test")).map((file) => ({ file, name: relative(file) }));

  it("finds the mock runtime through the import graph (the check below can fail)", () => {
    expect(relative(reachesMocks(path.join(ROOT, "test/dynamic/stack-local.test.ts"))!)).toBe(
      "test/infra/harness.ts",
    );
    expect(reachesMocks(path.join(ROOT, "test/core/migrations.test.ts"))).toBeUndefined();
  });

  it("gives a process of its own to every file that runs a program under the mock runtime", () => {
    const shared = files.filter(({ name }) => !needsOwnProcess(name));
    const misplaced = shared
      .map(({ file, name }) => ({ name, via: reachesMocks(file) }))
      .filter(({ via }) => via !== undefined)
      .map(({ name, via }) => `${name} (through ${relative(via!)})`);
    expect(misplaced, "add these to test/support/isolation.ts").toEqual([]);
    expect(shared.length).toBeGreaterThan(files.length / 2);
  });
});
