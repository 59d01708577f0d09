// Every report line shows a name as PostgreSQL's quote_ident writes it (core/shown-names.ts): a mixed-case
// name and a keyword quoted (public."Brand", public."order"), whichever kind of snapshot key names it (the
// tables', columns' and indexes' keys join raw names, the owners' and grants' keys hold quote_ident's), so
// one object reads one way in one report, and a name copied from a line into SQL names that object. --json
// keeps the raw keys. On a real database: the rule against the server's quote_ident, then verify, plan,
// status and health through the CLI and checkHealth.
import { beforeAll, describe, expect, it } from "vitest";
import { checkHealth, QUOTED_KEYWORDS, shownName, shownObjectKey, type VerifyReport } from "../../core";
import { renderHealth } from "../../cli/render-health";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const db = useTestDatabase("quoteident");
const dir = fixtureMigrationsCopy();
const env = () => ({ DATABASE_URL: db.current.url });
const sql = <T extends object>(text: string, values: unknown[] = []) =>
  withClient(db.current.url, async (c) => (await c.query<T & Record<string, unknown>>(text, values)).rows);

/** Tables a migration creates: a keyword, a mixed-case name, a name with a dot, one with a quote. */
const TABLES = ["order", "MixedCase", "dot.ted", 'say"hi'];

beforeAll(async () => {
  writeMigration(
    dir,
    "20250101000400_names.sql",
    `CREATE TABLE "order" (id int PRIMARY KEY, "user" text);
     CREATE TABLE "MixedCase" (id int PRIMARY KEY, "Note" text);
     CREATE TABLE "dot.ted" (id int PRIMARY KEY, "a.b" text);
     CREATE TABLE "say""hi" (id int PRIMARY KEY);`,
    `DROP TABLE "order", "MixedCase", "dot.ted", "say""hi";`,
  );
  const apply = await runCli(["apply", "--migrations-dir", dir], env());
  expect(apply.code, apply.stderr).toBe(0);
});

describe("shownName", () => {
  it("writes every keyword as the server's quote_ident does, and quotes exactly the keywords it quotes", async () => {
    const rows = await sql<{ word: string; quoted: string }>(
      "SELECT word, quote_ident(word) AS quoted FROM pg_get_keywords() ORDER BY word",
    );
    expect(rows.length).toBeGreaterThan(400);
    for (const { word, quoted } of rows) expect(shownName(word), word).toBe(quoted);
    expect([...QUOTED_KEYWORDS].sort()).toEqual(rows.filter((r) => r.quoted !== r.word).map((r) => r.word));
  });

  it("writes other names as quote_ident does", async () => {
    const names = [
      ...TABLES,
      "brand",
      "Brand",
      "_x1",
      "x$",
      "$x",
      "1a",
      "a b",
      "é",
      "",
      "user_id",
      "Order",
      "idx_chunk_embedding_cosine_1536",
    ];
    const rows = await sql<{ quoted: string[] }>(
      "SELECT array_agg(quote_ident(n) ORDER BY i) AS quoted FROM unnest($1::text[]) WITH ORDINALITY u(n, i)",
      [names],
    );
    expect(names.map(shownName)).toEqual(rows[0]!.quoted);
  });

  it("reads the raw keys into schema and names, so they show an object as the quoted keys do", () => {
    expect(shownObjectKey("table public.MixedCase")).toBe('table public."MixedCase"');
    expect(shownObjectKey('owner TABLE public."MixedCase"')).toBe('owner TABLE public."MixedCase"');
    expect(shownObjectKey("column public.order.user")).toBe('column public."order"."user"');
    expect(shownObjectKey('grant TABLE public."order" TO PUBLIC')).toBe(
      'grant TABLE public."order" TO PUBLIC',
    );
    expect(shownObjectKey("index public.order_pkey")).toBe("index public.order_pkey");
    expect(shownObjectKey("table public.dot.ted")).toBe('table public."dot.ted"');
    expect(shownObjectKey("column public.order.a.b")).toBe('column public."order"."a.b"');
    expect(shownObjectKey('table public.say"hi')).toBe('table public."say""hi"');
    expect(shownObjectKey("type public.select")).toBe('type public."select"');
    expect(shownObjectKey("function public.Total(integer)")).toBe('function public."Total"(integer)');
  });
});

describe("verify and plan", () => {
  it("name an object one way whichever key names it, as SQL that finds it; --json keeps the raw keys", async () => {
    await sql(`CREATE INDEX "user" ON "order" ("user")`);
    await sql(`GRANT SELECT ON "MixedCase" TO PUBLIC`);
    await sql(`ALTER TABLE "MixedCase" ENABLE ROW LEVEL SECURITY`);
    await sql(`ALTER TABLE "order" ADD COLUMN "x.y" int`);
    await sql(`ALTER TABLE "dot.ted" ENABLE ROW LEVEL SECURITY`);
    await sql(`GRANT SELECT ON "say""hi" TO PUBLIC`);

    const text = await runCli(["verify", "--migrations-dir", dir], env());
    expect(text.code, text.stderr).toBe(2);
    const lines = text.stdout.split("\n");
    expect(lines).toContain('  drift: index public."user" exists but was not created by the release');
    expect(lines).toContain('    repair: DROP INDEX CONCURRENTLY "public"."user"');
    // The table's own key (raw names) and its grant's (quote_ident's) show the table alike.
    expect(lines).toContain('  drift: table public."MixedCase" differs from what the release created');
    expect(lines).toContain(
      '  drift: grant TABLE public."MixedCase" TO PUBLIC exists but was not created by the release',
    );
    expect(lines).toContain('  drift: column public."order"."x.y" exists but was not created by the release');
    expect(lines).toContain('  drift: table public."dot.ted" differs from what the release created');
    expect(lines).toContain(
      '  drift: grant TABLE public."say""hi" TO PUBLIC exists but was not created by the release',
    );
    expect(text.stdout).not.toMatch(/public\.(MixedCase|order|user)\b/);

    const json = await runCli(["verify", "--json", "--migrations-dir", dir], env());
    const report = JSON.parse(json.stdout) as VerifyReport;
    expect(report.drift.added).toEqual(
      expect.arrayContaining([
        "index public.user",
        'grant TABLE public."MixedCase" TO PUBLIC',
        "column public.order.x.y",
        'grant TABLE public."say""hi" TO PUBLIC',
      ]),
    );
    expect(report.drift.changed).toEqual(
      expect.arrayContaining(["table public.MixedCase", "table public.dot.ted"]),
    );

    writeMigration(dir, "20991231000000_note.sql", 'ALTER TABLE "Widget" ADD COLUMN note text;');
    const plan = await runCli(["plan", "--migrations-dir", dir], env());
    expect(plan.stdout).toContain('table public."MixedCase" was changed by hand since the last release');
    expect(plan.stdout).not.toMatch(/public\.(MixedCase|order|user)\b/);

    // A table's or an index's name copied from its line finds that relation.
    const copied = lines.flatMap((l) => /^ {2}drift: (?:table|index) (\S+) /.exec(l)?.[1] ?? []);
    expect(copied.sort()).toEqual(['public."MixedCase"', 'public."dot.ted"', 'public."user"']);
    const found = await sql<{ name: string }>(
      "SELECT to_regclass(n)::text AS name FROM unnest($1::text[]) n",
      [copied],
    );
    expect(found.map((r) => r.name)).toEqual(['"MixedCase"', '"dot.ted"', '"user"']);

    await sql(`DROP INDEX "user"`);
    await sql(`REVOKE SELECT ON "MixedCase" FROM PUBLIC`);
    await sql(`ALTER TABLE "MixedCase" DISABLE ROW LEVEL SECURITY`);
    await sql(`ALTER TABLE "order" DROP COLUMN "x.y"`);
    await sql(`ALTER TABLE "dot.ted" DISABLE ROW LEVEL SECURITY`);
    await sql(`REVOKE SELECT ON "say""hi" FROM PUBLIC`);
    const clean = await runCli(["verify", "--migrations-dir", dir], env());
    expect(clean.code, clean.stdout).toBe(0);
  });
});

describe("plan, status and health on a table gone by hand", () => {
  it("name the keyword table quoted in the schema-drift error", async () => {
    await sql(`ALTER TABLE "order" RENAME TO order_old`);
    try {
      for (const command of ["plan", "status", "health"]) {
        const run = await runCli(
          [command, ...(command === "health" ? [] : ["--migrations-dir", dir])],
          env(),
        );
        expect(run.code, `${command}: ${run.stdout}${run.stderr}`).toBe(1);
        expect(run.stderr).toContain(
          'The release created table public."order", which the database no longer has.',
        );
      }
    } finally {
      await sql(`ALTER TABLE order_old RENAME TO "order"`);
    }
  });
});

describe("health", () => {
  it("shows a table's name quoted in its lines, and its fix is SQL that runs", async () => {
    await sql(`INSERT INTO "order" (id) SELECT generate_series(1, 20)`);
    await sql(`ALTER TABLE "order" SET (autovacuum_enabled = false)`);
    await sql(`VACUUM (ANALYZE) "order"`);
    const report = await checkHealth({ databaseUrl: db.current.url, limits: { largeTableRows: 1 } });
    expect(report.tables.map((t) => t.name)).toContain("order");
    const finding = report.findings.find(
      (f) => f.subject === "order" && /autovacuum does not run/.test(f.problem),
    );
    expect(finding).toMatchObject({ subject: "order", subjectKind: "table" });

    const lines = renderHealth(report).split("\n");
    expect(lines).toContainEqual(
      expect.stringMatching(/^ {2}"order": 20 live, 0 dead rows, .*AUTOVACUUM OFF$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}- "order": autovacuum does not run/));
    expect(finding!.action).toContain('ALTER TABLE "order" RESET (autovacuum_enabled)');

    const statement = /ALTER TABLE .* RESET \(autovacuum_enabled\)/.exec(finding!.action)![0];
    await sql(statement);
    const after = await sql<{ reloptions: string[] | null }>(
      `SELECT reloptions FROM pg_class WHERE oid = 'public."order"'::regclass`,
    );
    expect(after[0]!.reloptions).toBeNull();
  });
});
