// Exemption comments on real PostgreSQL: one that cannot do what it says is reported, never skipped. No rule
// named, a misspelt rule or no reason is an error in every environment; one before the wrong statement is a
// warning, and the finding it meant to accept stays what it was. The rules an exemption may name are the
// pinned squawk's own and the lint's own (on statements squawk does not report).
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { EXEMPTABLE_RULES, UNFLAGGED_RULES, type SafetyReport } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const INDEX = 'CREATE INDEX widget_name ON "Widget" (name);';
const NEW_COLUMN = 'ALTER TABLE "Widget" ADD COLUMN note text;';

function findings(report: SafetyReport): [string, number, string][] {
  return report.findings.map((f) => [f.level, f.line, f.rule]);
}

describe("an exemption comment", () => {
  const db = useTestDatabase("lintexempt");
  const dir = fixtureMigrationsCopy();
  const plan = async (environment: "production" | "development") => {
    const run = await runCli(["plan", "--json", "--migrations-dir", dir, "--environment", environment], {
      DATABASE_URL: db.current.url,
    });
    return { code: run.code, safety: (JSON.parse(run.stdout) as { safety: SafetyReport }).safety };
  };
  const problemAt = (report: SafetyReport, line: number) =>
    report.findings.find((f) => f.line === line && f.rule === "neonhub-db:allow");

  it("that names no rule says so", async () => {
    const apply = await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(apply.code).toBe(0);
    await withClient(db.current.url, (c) =>
      c.query(`INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'w' || g FROM generate_series(1, 50) g`),
    );
    writeMigration(
      dir,
      "20250101000400_widget_name.sql",
      ["-- neonhub-db:allow because x", INDEX].join("\n"),
    );
    const { code, safety } = await plan("development");
    expect(code).toBe(1);
    expect(findings(safety)).toEqual([
      ["error", 2, "neonhub-db:allow"],
      ["warning", 3, "require-concurrent-index-creation"],
    ]);
    expect(problemAt(safety, 2)).toMatchObject({
      problem: "The exemption names no rule.",
      saferForm: expect.stringContaining("-- neonhub-db:allow <rule> because <reason>") as unknown,
      exemptable: false,
    });
  });

  it("that names a misspelt rule is an error naming the likeliest rule and listing the known ones", async () => {
    writeMigration(
      dir,
      "20250101000400_widget_name.sql",
      ["-- neonhub-db:allow require-concurent-index-creation because 50 rows index at once", INDEX].join(
        "\n",
      ),
    );
    const { code, safety } = await plan("production");
    expect(code).toBe(1);
    // The finding it meant to accept is not accepted.
    expect(findings(safety)).toEqual([
      ["error", 2, "neonhub-db:allow"],
      ["error", 3, "require-concurrent-index-creation"],
    ]);
    const problem = problemAt(safety, 2)!;
    expect(problem.problem).toBe(
      'The exemption names "require-concurent-index-creation", which is not a rule the safety lint reports.',
    );
    expect(problem.saferForm).toMatch(
      /^name require-concurrent-index-creation, which it most likely means; the rules an exemption may name: adding-field-with-default, /,
    );
    for (const rule of EXEMPTABLE_RULES) expect(problem.saferForm).toContain(rule);
  });

  it("before the wrong statement is a warning, and the finding stays an error", async () => {
    writeMigration(
      dir,
      "20250101000400_widget_name.sql",
      [
        "-- neonhub-db:allow require-concurrent-index-creation because 50 rows index at once",
        NEW_COLUMN,
        INDEX,
      ].join("\n"),
    );
    const { code, safety } = await plan("production");
    expect(code).toBe(1);
    expect(findings(safety)).toEqual([
      ["warning", 2, "neonhub-db:allow"],
      ["error", 4, "require-concurrent-index-creation"],
    ]);
    expect(problemAt(safety, 2)!.problem).toBe(
      "The exemption for require-concurrent-index-creation matches no finding: squawk reports no require-concurrent-index-creation on the statement after it.",
    );
  });

  it("without a reason blocks a development release, and says it is the development release", async () => {
    writeMigration(
      dir,
      "20250101000400_widget_name.sql",
      ["-- neonhub-db:allow require-concurrent-index-creation", INDEX].join("\n"),
    );
    const run = await runCli(["plan", "--migrations-dir", dir], { DATABASE_URL: db.current.url });
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      "error: 20250101000400_widget_name.sql:2 neonhub-db:allow: The exemption for require-concurrent-index-creation gives no reason.",
    );
    expect(run.stdout).toContain(
      "An error blocks this development release. Correct the statements and comments that no exemption accepts",
    );
    expect(run.stdout).not.toContain("production");
  });

  it("that is right accepts its finding, also in a block comment, and says nothing of itself", async () => {
    writeMigration(
      dir,
      "20250101000400_widget_name.sql",
      ["/* neonhub-db:allow require-concurrent-index-creation because 50 rows index at once */", INDEX].join(
        "\n",
      ),
    );
    const { code, safety } = await plan("production");
    expect(code).toBe(2);
    expect(findings(safety)).toEqual([["exempted", 3, "require-concurrent-index-creation"]]);
    expect(safety.findings[0]!.exemption).toBe("50 rows index at once");
  });
});

describe("the rules an exemption may name", () => {
  // squawk refuses an --exclude naming a rule it does not have (exit 2): its own check of the list.
  const squawk = (excluded: readonly string[]) => {
    const cli = createRequire(__filename)("squawk-cli/js/index.js") as { getBinaryPath: () => string };
    const binary = cli.getBinaryPath();
    try {
      execFileSync(binary, [`--exclude=${excluded.join(",")}`, "--stdin-filepath", "x.sql"], {
        input: "SELECT 1;",
        stdio: ["pipe", "pipe", "pipe"],
      });
      return 0;
    } catch (error) {
      return (error as { status: number }).status;
    }
  };

  it("are rules of the pinned squawk, or the lint's own, which squawk does not have", () => {
    expect(EXEMPTABLE_RULES.length).toBeGreaterThan(20);
    expect(squawk(["require-concurent-index-creation"])).toBe(2);
    const own: readonly string[] = UNFLAGGED_RULES;
    expect(squawk(EXEMPTABLE_RULES.filter((rule) => !own.includes(rule)))).toBe(0);
    for (const rule of own) {
      expect(EXEMPTABLE_RULES).toContain(rule);
      expect(squawk([rule])).toBe(2);
    }
  });
});
