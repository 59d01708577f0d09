// An exemption comment added to a migration dev already applied is no change: prod's safety lint may need one
// on a migration dev (warnings only) applied, and dev must then take the edited file. Any other edit stays a
// change, and ledger rows of an earlier release (the sha256 of the bytes) stay valid.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  ReleaseError,
  applyRelease,
  planRelease,
  withReleaseSession,
  withoutExemptionComments,
  type ReleaseOptions,
} from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const COLOR = "20250101000200_widget_color";
const EXEMPTION = "-- neonhub-db:allow adding-field-with-default because the table holds a few rows\n";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

async function ledger(url: string): Promise<Record<string, string>> {
  return withClient(url, async (c) => {
    const rows = await c.query<{ name: string; checksum: string }>(
      "SELECT name, checksum FROM neonhub_release.migrations ORDER BY id",
    );
    return Object.fromEntries(rows.rows.map((r) => [r.name, r.checksum]));
  });
}

/** What plan, apply, status, verify and a revert's plan say about the release: each must see no change. */
async function everyView(options: ReleaseOptions) {
  const plan = await planRelease(options);
  const applied = await applyRelease(options);
  return withReleaseSession(options, "test", async (session) => ({
    plan,
    applied,
    status: await session.status(),
    verify: await session.verify(),
    revert: await session.planRevert(null),
  }));
}

describe("an exemption comment added to an applied migration", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();
  const file = path.join(dir, `${COLOR}.sql`);
  const original = readFileSync(file, "utf8");
  const options = () => ({ databaseUrl: db.current.url, migrationsDir: dir });

  it("is seen as unchanged by plan, apply, status, verify and revert", async () => {
    await applyRelease(options());
    const before = await ledger(db.current.url);
    writeFileSync(file, original.replace("ALTER TABLE", `${EXEMPTION}ALTER TABLE`));

    const views = await everyView(options());
    expect(views.plan.migrations.problems).toEqual([]);
    expect(views.plan.migrations.pending).toEqual([]);
    expect(views.plan.problems).toEqual([]);
    expect(views.applied.changed).toBe(false);
    expect(views.applied.migrations).toEqual([]);
    expect(views.status.problems).toEqual([]);
    expect(views.status.pendingMigrations).toEqual([]);
    expect(views.verify.problems).toEqual([]);
    expect(views.verify.clean).toBe(true);
    expect(views.revert.problems).toEqual([]);
    expect(await ledger(db.current.url)).toEqual(before);
  });

  it("may be reworded, placed after the statement or removed again", async () => {
    for (const edited of [
      original.replace("ALTER TABLE", `${EXEMPTION.replace("a few rows", "no rows yet")}ALTER TABLE`),
      original.replace("'blue';", `'blue'; ${EXEMPTION.trim()}`),
      original,
    ]) {
      writeFileSync(file, edited);
      const plan = await planRelease(options());
      expect(plan.migrations.problems).toEqual([]);
    }
  });

  it("does not hide any other edit: a plain comment, or a change next to the exemption", async () => {
    for (const [edited, said] of [
      [
        original.replace("ALTER TABLE", "-- the default is the brand colour\nALTER TABLE"),
        `${COLOR}.sql was changed after it was applied`,
      ],
      [
        original.replace("ALTER TABLE", `${EXEMPTION}ALTER TABLE`).replace("'blue'", "'red'"),
        `${COLOR}.sql was changed after it was applied`,
      ],
      // The blank line before the Down marker is outside the Up section, which is the applied one.
      [
        original
          .replace("ALTER TABLE", `/* neonhub-db:allow x because y */ALTER TABLE`)
          .replace("\n\n", "\n"),
        `${COLOR}.sql does not match the checksum its ledger row records. Its Up section is the applied one`,
      ],
    ] as const) {
      writeFileSync(file, edited);
      const plan = await planRelease(options());
      expect(plan.migrations.problems.map((p) => [p.kind, p.migration])).toEqual([["changed", COLOR]]);
      const refused = await applyRelease(options()).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ReleaseError);
      expect((refused as ReleaseError).describe()).toContain(said);
    }
    writeFileSync(file, original);
  });

  it("is left out of the checksum a new apply records, which its result reports", async () => {
    const name = "20250101000400_widget_size";
    const sql = 'ALTER TABLE "Widget" ADD COLUMN size int NOT NULL DEFAULT 1;';
    writeMigration(dir, `${name}.sql`, `${EXEMPTION}${sql}`);
    const result = await applyRelease(options());
    const without = `-- Up Migration\n${sql}\n\n-- Down Migration\nSELECT 1;\n`;
    expect(result.migrations.map((m) => [m.name, m.checksum])).toEqual([[name, sha256(without)]]);
    expect((await ledger(db.current.url))[name]).toBe(sha256(without));
    writeMigration(dir, `${name}.sql`, sql);
    expect((await planRelease(options())).migrations.problems).toEqual([]);
  });

  it("keeps a ledger row an earlier release recorded (the sha256 of the file's bytes) valid", async () => {
    const name = "20250101000400_widget_size";
    const withExemption = writeMigration(
      dir,
      `${name}.sql`,
      `${EXEMPTION}ALTER TABLE "Widget" ADD COLUMN size int NOT NULL DEFAULT 1;`,
    );
    const bytes = sha256(readFileSync(withExemption, "utf8"));
    await withClient(db.current.url, (c) =>
      c.query("UPDATE neonhub_release.migrations SET checksum = $1 WHERE name = $2", [bytes, name]),
    );
    const views = await everyView(options());
    expect(views.plan.problems).toEqual([]);
    expect(views.status.problems).toEqual([]);
    expect(views.verify.clean).toBe(true);
    expect(views.revert.problems).toEqual([]);
  });
});

describe("withoutExemptionComments", () => {
  it("takes out exemption comments only, as PostgreSQL's lexer finds comments", () => {
    const body =
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\n-- neonhub-db:allow a because b\nSELECT 1 $$;";
    const literal = "SELECT '-- neonhub-db:allow a because b';";
    expect(withoutExemptionComments(body)).toBe(body);
    expect(withoutExemptionComments(literal)).toBe(literal);
    expect(withoutExemptionComments("-- a note\nSELECT 1;")).toBe("-- a note\nSELECT 1;");
    // A malformed exemption is an exemption comment too (the lint reports it as an error).
    expect(withoutExemptionComments("SELECT 1;\n-- neonhub-db:allow\nSELECT 2;")).toBe(
      "SELECT 1;\nSELECT 2;",
    );
  });

  it("keeps the tokens a comment separated apart, and a CRLF file's line breaks", () => {
    expect(withoutExemptionComments("SELECT/* neonhub-db:allow a because b */1;")).toBe("SELECT 1;");
    expect(withoutExemptionComments("SELECT 1; -- neonhub-db:allow a because b\r\nSELECT 2;")).toBe(
      "SELECT 1;\r\nSELECT 2;",
    );
    expect(withoutExemptionComments("SELECT 1;\r\n-- neonhub-db:allow a because b\r\nSELECT 2;")).toBe(
      "SELECT 1;\r\nSELECT 2;",
    );
  });

  it("keeps a comment that is also a section marker, by which node-pg-migrate splits the file", () => {
    const marker = "-- Down Migration neonhub-db:allow a because b\nSELECT 1;";
    expect(withoutExemptionComments(marker)).toBe(marker);
  });
});
