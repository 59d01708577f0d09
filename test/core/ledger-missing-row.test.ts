// A row deleted from the release's own ledger reads as the one migration missing from it, with the statements
// that put it back; a new migration ordered before an applied one still reads as new and out of order. The
// ledger's ids tell them apart: rows are numbered as they are recorded, and only a deleted row leaves a hole
// between two applied migrations.
import { describe, expect, it } from "vitest";
import { compareWithLedger } from "../../core";

const sum = (c: string) => c.repeat(64);
const FILES = ["20250101000100_a", "20250101000200_b", "20250101000300_c", "20250101000400_d"].map(
  (name, i) => ({ name, checksum: sum("abcd"[i]!) }),
);
const row = (i: number, id: number) => ({ ...FILES[i]!, id });

describe("compareWithLedger on a ledger with a hole", () => {
  it("names a file whose row was deleted between two applied rows as missing, not pending, with the INSERT that restores it", () => {
    const { pending, problems } = compareWithLedger(FILES, [row(0, 1), row(2, 3), row(3, 4)], "migrations");
    expect(pending).toEqual([]);
    expect(problems).toHaveLength(1);
    const [problem] = problems;
    expect(problem).toMatchObject({ kind: "missing-from-ledger", migration: "20250101000200_b" });
    expect(problem!.message).toContain(
      "the migrations before and after it (20250101000100_a, 20250101000300_c) are applied",
    );
    expect(problem!.message).not.toContain("is new");
    expect(problem!.fix).toContain(
      `set_config('neonhub_release.checksums', '{"20250101000200_b":"${sum("b")}"}'`,
    );
    expect(problem!.fix).toContain(
      "INSERT INTO neonhub_release.migrations (id, name, run_on) SELECT 2, '20250101000200_b', run_on FROM neonhub_release.migrations WHERE name = '20250101000100_a';",
    );
    expect(problem!.fix).toContain("only if its changes are in the database");
    expect(problem!.fix).toContain("neonhub-db verify");
    // When it is a new migration after all, the fix says what it says of one.
    expect(problem!.fix).toContain("rename it with a timestamp later than 20250101000400");
  });

  it("names the first row's deletion too, restored a second before the row after it", () => {
    const { pending, problems } = compareWithLedger(FILES, [row(1, 2), row(2, 3), row(3, 4)], "migrations");
    expect(pending).toEqual([]);
    expect(problems.map((p) => [p.kind, p.migration])).toEqual([["missing-from-ledger", "20250101000100_a"]]);
    expect(problems[0]!.fix).toContain(
      "SELECT 1, '20250101000100_a', run_on - interval '1 second' FROM neonhub_release.migrations WHERE name = '20250101000200_b';",
    );
  });

  it("keeps a new migration ordered before an applied one out of order when the ids around its place are consecutive", () => {
    const { pending, problems } = compareWithLedger(FILES, [row(0, 1), row(2, 2), row(3, 3)], "migrations");
    expect(pending.map((f) => f.name)).toEqual(["20250101000200_b"]);
    expect(problems.map((p) => p.kind)).toEqual(["out-of-order"]);
    expect(problems[0]!.message).toContain(
      "is new but ordered before the applied migration 20250101000400_d.sql",
    );
  });

  it("keeps them out of order when more files sit in the hole than rows are missing from it", () => {
    const files = [...FILES, { name: "20250101000250_new", checksum: sum("e") }].sort((a, b) =>
      a.name < b.name ? -1 : 1,
    );
    const { problems } = compareWithLedger(files, [row(0, 1), row(2, 3), row(3, 4)], "migrations");
    expect(problems.map((p) => [p.kind, p.migration])).toEqual([
      ["out-of-order", "20250101000200_b"],
      ["out-of-order", "20250101000250_new"],
    ]);
  });

  it("cannot tell without ids (a recorded manifest), and says out of order", () => {
    const { problems } = compareWithLedger(FILES, [FILES[0]!, FILES[2]!, FILES[3]!], "migrations");
    expect(problems.map((p) => p.kind)).toEqual(["out-of-order"]);
  });

  it("takes a reading made with the database at hand for a ledger without ids, and leaves the rest to the files", () => {
    const withIds = compareWithLedger(FILES, [row(0, 1), row(2, 3), row(3, 4)], "migrations");
    const manifest = [FILES[0]!, FILES[2]!, FILES[3]!];
    const late = { name: "20250101000250_late", checksum: sum("e") };
    const files = [...FILES, late].sort((a, b) => (a.name < b.name ? -1 : 1));
    const { pending, problems } = compareWithLedger(files, manifest, "migrations", withIds.problems);
    // The new file out of order stays pending too, as it does with ids: the problem refuses the release.
    expect(pending).toEqual([late]);
    expect(problems).toEqual([
      withIds.problems[0],
      expect.objectContaining({ kind: "out-of-order", migration: "20250101000250_late" }),
    ]);
    // A deleted last row, as core/adopt/lost-last-rows.ts reads it, is no longer pending either.
    const lastLost = { ...withIds.problems[0]!, migration: "20250101000400_d" };
    const last = compareWithLedger(FILES, FILES.slice(0, 3), "migrations", [lastLost]);
    expect(last).toMatchObject({ pending: [], problems: [lastLost] });
  });
});
