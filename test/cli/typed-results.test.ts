// The typed results through the CLI's --json and text: each migration's result with its full checksum, a line
// per step (what ran, what was skipped and why), full checksums in status and in a changed migration's
// problem, and the 12-character form only in the text a person reads.
import { createHash } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, expectTypeOf, it } from "vitest";
import type {
  MigrationResult,
  ReleaseResult,
  ReleaseStatus,
  ReleaseStep,
  SeedSetItemResult,
  SeedSetStatus,
  StepResult,
  StepStatus,
  VectorIndexStatus,
} from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase } from "../support/database";
import { fixtureMigrationsCopy } from "../support/fixtures";

const FULL_SHA256 = /^[0-9a-f]{64}$/;
const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

describe("typed results in --json and text", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--migrations-dir", dir], { DATABASE_URL: db.current.url });
  const file = (name: string) => path.join(dir, `${name}.sql`);
  const names = ["20250101000100_widgets", "20250101000200_widget_color", "20250101000300_gadgets"];

  it("apply --json has each migration's result with the file's full sha256, and a line per step", async () => {
    const run = await cli("apply", "--json");
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as ReleaseResult;
    expect(result.migrations.map((m) => m.name)).toEqual(names);
    for (const m of result.migrations) {
      expect(m).toEqual({
        name: m.name,
        checksum: sha256(file(m.name)),
        outcome: "applied",
        durationMs: expect.any(Number) as number,
      });
      expect(m.checksum).toMatch(FULL_SHA256);
    }
    expect(result.steps.map((s) => s.step)).toEqual(["rowLevelSecurity", "seeds", "vectorIndexes"]);
    // The fixture has no embedding tables: each index is skipped, and says why.
    expect(result.vectorIndexes.length).toBeGreaterThan(0);
    for (const item of result.vectorIndexes) {
      expect(item).toMatchObject({ action: "unchanged", durationMs: 0 });
      expect(item.skipped).toMatch(/does not exist yet \(its migration is pending\)/);
    }
    const indexes = result.steps.find((s) => s.step === "vectorIndexes");
    expect(indexes).toMatchObject({ ran: 0, skipped: result.vectorIndexes.length });
  });

  it("apply's text names each migration with its checksum shortened, and each step", async () => {
    appendFileSync(
      path.join(dir, "20250101000400_sprockets.sql"),
      "-- Up Migration\nCREATE TABLE sprockets (id int);\n\n-- Down Migration\nDROP TABLE sprockets;\n",
    );
    const run = await cli("apply");
    expect(run.code).toBe(0);
    const sum = sha256(file("20250101000400_sprockets"));
    expect(run.stdout).toContain(`migration 20250101000400_sprockets: `);
    expect(run.stdout).toContain(`(sha256 ${sum.slice(0, 12)})`);
    expect(run.stdout).not.toContain(sum);
    expect(run.stdout).toMatch(/vector indexes: 0 ran, \d+ skipped/);
  });

  it("a no-op apply reports every step with nothing run", async () => {
    const run = await cli("apply", "--json");
    const result = JSON.parse(run.stdout) as ReleaseResult;
    expect(result).toMatchObject({ changed: false, migrations: [] });
    expect(result.steps.every((s) => s.ran === 0)).toBe(true);
    // plan names each index's decision: skipped, and why.
    const plan = await cli("plan");
    expect(plan.stdout).toContain(
      '· idx_chunk_embedding_cosine: skipped (table "Chunk" does not exist yet (its migration is pending))',
    );
  });

  it("status --json holds full checksums, its text the first 12 characters", async () => {
    const json = JSON.parse((await cli("status", "--json")).stdout) as ReleaseStatus;
    for (const entry of json.ledger) expect(entry.checksum).toBe(sha256(file(entry.name)));
    expect(json.rowLevelSecurity).toEqual([expect.objectContaining({ name: "row-level security" })]);
    const text = (await cli("status")).stdout;
    const first = json.ledger[0]!.checksum;
    expect(text).toContain(`sha256 ${first.slice(0, 12)}`);
    expect(text).not.toContain(first);
  });

  it("a migration changed after it was applied: full checksums in --json, shortened in the text", async () => {
    const name = names[0]!;
    const applied = sha256(file(name));
    appendFileSync(file(name), "-- x\n");
    const changed = sha256(file(name));
    const plan = await cli("plan", "--json");
    expect(plan.code).toBe(1);
    const problems = (JSON.parse(plan.stdout) as { migrations: { problems: unknown[] } }).migrations.problems;
    expect(problems).toEqual([
      expect.objectContaining({
        kind: "changed",
        migration: name,
        // Appended to its Down section: its Up section is the applied one.
        message: expect.stringContaining(
          `Migration ${name}.sql does not match the checksum its ledger row records.`,
        ),
        checksums: { applied, file: changed },
      }),
    ]);
    const text = (await cli("plan")).stdout;
    expect(text).toContain(`Checksum applied ${applied.slice(0, 12)}, file now ${changed.slice(0, 12)}.`);
    const refused = await cli("apply");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Checksum applied ${applied.slice(0, 12)}`);
  });

  it("types each result: a migration's outcome and checksum, a step's kind", () => {
    expectTypeOf<ReleaseResult["migrations"][number]>().toEqualTypeOf<MigrationResult>();
    expectTypeOf<MigrationResult["outcome"]>().toEqualTypeOf<"applied" | "reverted">();
    expectTypeOf<StepResult["step"]>().toEqualTypeOf<"rowLevelSecurity" | "seeds" | "vectorIndexes">();
    expectTypeOf<ReleaseResult["seedSets"][number]["details"]["checksum"]>().toEqualTypeOf<string>();
    expectTypeOf<ReleaseStatus["seedSets"][number]>().toHaveProperty("checksum");
    expectTypeOf<ReleaseStatus["rowLevelSecurity"][number]["mode"]>().toEqualTypeOf<"enforce" | "off">();
    // A step of kind K answers with K's own types; the status union is keyed by the step's kind.
    expectTypeOf<Awaited<ReturnType<ReleaseStep<"seeds">["status"]>>>().toEqualTypeOf<SeedSetStatus[]>();
    expectTypeOf<Awaited<ReturnType<ReleaseStep<"seeds">["apply"]>>>().toEqualTypeOf<SeedSetItemResult[]>();
    expectTypeOf<StepStatus<"vectorIndexes">>().toEqualTypeOf<VectorIndexStatus>();
    expectTypeOf<ReleaseStatus["vectorIndexes"][number]["state"]>().toEqualTypeOf<
      "valid" | "INVALID" | "missing"
    >();
  });
});
