// A migration that adds a constraint the database's rows already break fails on PostgreSQL with SQLSTATE class
// 23. The rows are at fault, not the file (which may be applied elsewhere, its checksum in every ledger): apply's
// fix names the table and constraint and gives a query that finds the rows, and apply succeeds once they are fixed.
import { describe, expect, it } from "vitest";
import { applyRelease, ReleaseError } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { writeMigration } from "../support/fixtures";
import { scratchDir } from "../support/scratch";

const TABLES = `
CREATE TABLE "Org" (id int PRIMARY KEY);
CREATE TABLE "ApiKey" (id int PRIMARY KEY, "orgId" int, "tokenHash" text, label text);`;

/** Each constraint, the rows that break it (ids 2 and 3 are the offenders) and the repair that lets it in. */
const CASES = [
  {
    name: "a CHECK",
    sqlstate: "23514",
    rows: `INSERT INTO "ApiKey" (id, "tokenHash") VALUES (1, repeat('a', 64)), (2, 'short'), (3, 'x'), (4, NULL);`,
    migration: 'ALTER TABLE "ApiKey" ADD CHECK (length("tokenHash") = 64);',
    says: 'Existing rows of "public"."ApiKey" violate check constraint "ApiKey_tokenHash_check"',
    query: 'SELECT * FROM "public"."ApiKey" WHERE NOT (length("tokenHash") = 64);',
    repair: `UPDATE "ApiKey" SET "tokenHash" = repeat('b', 64) WHERE id IN (2, 3)`,
  },
  {
    name: "a named CHECK among others",
    sqlstate: "23514",
    rows: `INSERT INTO "ApiKey" (id, label) VALUES (1, 'ok'), (2, ''), (3, '');`,
    migration:
      'ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_id_check" CHECK (id > 0), ADD CONSTRAINT "ApiKey_label_check" CHECK (label <> \'\');',
    says: 'check constraint "ApiKey_label_check"',
    query: 'SELECT * FROM "public"."ApiKey" WHERE NOT (label <> \'\');',
    repair: `UPDATE "ApiKey" SET label = 'named' WHERE id IN (2, 3)`,
  },
  {
    name: "SET NOT NULL",
    sqlstate: "23502",
    rows: `INSERT INTO "ApiKey" (id, label) VALUES (1, 'ok'), (2, NULL), (3, NULL);`,
    migration: 'ALTER TABLE "ApiKey" ALTER COLUMN label SET NOT NULL;',
    says: 'Existing rows of "public"."ApiKey" hold NULL in "label"',
    query: 'SELECT * FROM "public"."ApiKey" WHERE "label" IS NULL;',
    repair: `UPDATE "ApiKey" SET label = 'named' WHERE id IN (2, 3)`,
  },
  {
    name: "a unique index",
    sqlstate: "23505",
    rows: `INSERT INTO "ApiKey" (id, label) VALUES (1, 'ok'), (2, 'twice'), (3, 'twice');`,
    migration: 'CREATE UNIQUE INDEX "ApiKey_label_key" ON "ApiKey" (label);',
    says: 'unique index "ApiKey_label_key"',
    query: 'SELECT label, count(*) FROM "public"."ApiKey" GROUP BY label HAVING count(*) > 1;',
    repair: `UPDATE "ApiKey" SET label = 'once ' || id WHERE id IN (2, 3)`,
  },
  {
    name: "a foreign key",
    sqlstate: "23503",
    rows: `INSERT INTO "Org" VALUES (10); INSERT INTO "ApiKey" (id, "orgId") VALUES (1, 10), (2, 20), (3, 30), (4, NULL);`,
    migration:
      'ALTER TABLE "ApiKey" ADD CONSTRAINT "ApiKey_orgId_fkey" FOREIGN KEY ("orgId") REFERENCES "Org" (id);',
    says: 'foreign key "ApiKey_orgId_fkey"',
    query:
      'SELECT c.* FROM "public"."ApiKey" c WHERE c."orgId" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "Org" p WHERE p.id = c."orgId");',
    repair: `INSERT INTO "Org" VALUES (20), (30)`,
  },
];

describe("a migration that existing rows fail", () => {
  const db = useTestDatabase("existingrows");

  const failedApply = async (dir: string): Promise<ReleaseError> => {
    const error = await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReleaseError);
    return error as ReleaseError;
  };

  it.each(CASES)(
    "$name: names the rows, gives the query that finds them, and says not to edit the file",
    async ({ sqlstate, rows, migration, says, query, repair }) => {
      await withClient(db.current.url, (c) =>
        c.query(`DROP SCHEMA IF EXISTS neonhub_release CASCADE; DROP TABLE IF EXISTS "ApiKey", "Org";`),
      );
      const dir = scratchDir("neonhub-migrations-");
      writeMigration(dir, "20250101000100_keys.sql", TABLES, 'DROP TABLE "ApiKey", "Org";');
      await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
      await withClient(db.current.url, (c) => c.query(rows));
      writeMigration(dir, "20250101000200_key_rule.sql", migration);

      const error = await failedApply(dir);
      expect(error.code).toBe("migration-failed");
      expect(error.failedMigration).toMatchObject({ name: "20250101000200_key_rule", sqlstate });
      expect(error.fix).toContain(says);
      expect(error.fix).toContain(`Find them with: ${query}`);
      expect(error.fix).toContain("Do not edit 20250101000200_key_rule.sql");
      expect(error.fix).not.toContain("Fix the file");
      // The query finds exactly the offending rows.
      const found = await withClient(db.current.url, (c) => c.query(query));
      if (sqlstate === "23505") expect(found.rows).toEqual([{ label: "twice", count: "2" }]);
      else expect(found.rows.map((r: { id: number }) => r.id).sort()).toEqual([2, 3]);
      // Fix the rows, not the file: apply goes through.
      await withClient(db.current.url, (c) => c.query(repair));
      const applied = await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
      expect(applied.migrations.map((m) => m.name)).toEqual(["20250101000200_key_rule"]);
    },
  );

  it("a row the migration writes itself breaks a constraint: the file is at fault, as before", async () => {
    await withClient(db.current.url, (c) =>
      c.query(`DROP SCHEMA IF EXISTS neonhub_release CASCADE; DROP TABLE IF EXISTS "ApiKey", "Org";`),
    );
    const dir = scratchDir("neonhub-migrations-");
    writeMigration(
      dir,
      "20250101000100_keys.sql",
      `${TABLES}\nALTER TABLE "ApiKey" ADD CHECK (length("tokenHash") = 64);\nINSERT INTO "ApiKey" (id, "tokenHash") VALUES (1, 'short');`,
    );
    const error = await failedApply(dir);
    expect(error.failedMigration?.sqlstate).toBe("23514");
    expect(error.fix).toContain("Fix the file and run apply again.");
    expect(error.fix).not.toContain("Existing rows");
  });
});
