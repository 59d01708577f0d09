// Names with a newline, a quote, a space or a dot in the report lines: verify's drift and repair lines, plan's
// drift problems and the revert's refusal of a --corrected-down show each name as SQL writes it, on one line
// (core/shown-names.ts), and --json keeps the raw names. On a real database, through the CLI.
import { beforeAll, describe, expect, it } from "vitest";
import { schemaMismatches, shownObjectKey, shownSql, type VerifyReport } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const db = useTestDatabase("shownnames");
const dir = fixtureMigrationsCopy();
const env = () => ({ DATABASE_URL: db.current.url });

const INDEX = "by\nhand";
const FUNCTION = "f'x y";

beforeAll(async () => {
  const apply = await runCli(["apply", "--migrations-dir", dir], env());
  expect(apply.code, apply.stderr).toBe(0);
  await withClient(db.current.url, async (c) => {
    await c.query(`CREATE INDEX "by\nhand" ON "Widget" (id)`);
    await c.query(`CREATE FUNCTION public."f'x y"() RETURNS int LANGUAGE sql AS 'SELECT 1'`);
  });
});

describe("shownObjectKey and shownSql", () => {
  it("leave plain lower-case names as they are and quote the others, on one line", () => {
    expect(shownObjectKey("column public.Chunk.embedding")).toBe('column public."Chunk".embedding');
    expect(shownObjectKey(`index public.${INDEX}`)).toBe('index public.U&"by\\000Ahand"');
    expect(shownObjectKey(`function public.${FUNCTION}(integer)`)).toBe(`function public."f'x y"(integer)`);
    expect(shownObjectKey('constraint public.W x.a"b')).toBe('constraint public."W x"."a""b"');
    expect(shownObjectKey("extension vector")).toBe("extension vector");
    // Keys of format 2 already quote their names: only a control character is escaped, a backslash doubled.
    expect(shownObjectKey('owner TABLE public."a\\\tb"')).toBe('owner TABLE public.U&"a\\\\\\0009b"');
    expect(shownSql(`ALTER TABLE "t" SET (x = 'a"\nb')`)).toBe(`ALTER TABLE "t" SET (x = 'a"\nb')`);
  });

  it("baseline's and adopt's mismatch lines show them the same way, the repair too", () => {
    const index = `index public.${INDEX}`;
    const table = `table public.Old\nBrand`;
    const recorded = { [index]: `CREATE INDEX "${INDEX}" ON public."Widget" USING btree (id) valid=true` };
    const lines = schemaMismatches({ added: [table], removed: [index], changed: [] }, recorded, {
      [table]: "r rls=false force=false",
    });
    expect(lines).toEqual([
      { kind: "extra", line: 'extra: table public.U&"Old\\000ABrand" (the migrations do not build it)' },
      {
        kind: "missing",
        line: 'missing: index public.U&"by\\000Ahand"',
        repair: `CREATE INDEX CONCURRENTLY "${INDEX}" ON public."Widget" USING btree (id)`,
      },
    ]);
  });

  it("shows a name as SQL that names the same object", async () => {
    const shown = shownObjectKey(`index public.${INDEX}`).slice("index ".length);
    const found = await withClient(db.current.url, async (c) => {
      await c.query(`COMMENT ON INDEX ${shown} IS 'found'`);
      return c.query<{ comment: string }>(
        `SELECT obj_description(to_regclass('public."by\nhand"'), 'pg_class') AS comment`,
      );
    });
    expect(found.rows[0]!.comment).toBe("found");
  });
});

describe("verify", () => {
  it("prints each drifted name quoted on its line, its repair too; --json keeps the raw keys", async () => {
    const text = await runCli(["verify", "--migrations-dir", dir], env());
    expect(text.code, text.stderr).toBe(2);
    const lines = text.stdout.trimEnd().split("\n");
    expect(lines).toContain(
      '  drift: index public.U&"by\\000Ahand" exists but was not created by the release',
    );
    expect(lines).toContain('    repair: DROP INDEX CONCURRENTLY "public".U&"by\\000Ahand"');
    expect(lines).toContain(`  drift: function public."f'x y"() exists but was not created by the release`);
    // Every line is the report's own: a drift, a repair, a note or the heading.
    for (const line of lines.slice(1))
      expect(line).toMatch(/^ {2}(drift|note|schema snapshot)|^ {4}repair: /);

    const json = await runCli(["verify", "--json", "--migrations-dir", dir], env());
    const report = JSON.parse(json.stdout) as VerifyReport;
    expect(report.drift.added).toEqual(
      expect.arrayContaining([`index public.${INDEX}`, `function public.${FUNCTION}()`]),
    );
    expect(report.drift.repairs[`index public.${INDEX}`]).toBe(`DROP INDEX CONCURRENTLY "public"."${INDEX}"`);
  });

  it("plan's drift problem names them the same way before a release", async () => {
    writeMigration(dir, "20991231000000_note.sql", 'ALTER TABLE "Widget" ADD COLUMN note text;');
    const plan = await runCli(["plan", "--migrations-dir", dir], env());
    expect(plan.stdout).toContain(
      `  problem: function public."f'x y"() was added by hand since the last release`,
    );
    expect(plan.stdout).not.toContain(`f'x y()`);
  });
});

describe("revert --corrected-down", () => {
  it("a name with a quote and a space is shown in the fix as the shell reads it back", async () => {
    const revert = await runCli(
      ["revert", "--to", "20250101000100_widgets", "--corrected-down", "x'y z", "--migrations-dir", dir],
      env(),
    );
    expect(revert.code).toBe(1);
    expect(revert.stderr).toContain(
      `error: --corrected-down 'x'\\''y z': it is not among the migrations this revert undoes.`,
    );
    expect(revert.stderr).toContain(`fix: Leave --corrected-down 'x'\\''y z' out,`);
  });
});
