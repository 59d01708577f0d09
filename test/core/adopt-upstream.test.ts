// `neonhub-db adopt`: a database migrated by the upstream node-pg-migrate CLI with this project's files is
// adopted in one command, after its schema is proven equal; anything else is refused with nothing written.
import { afterAll, describe, expect, it } from "vitest";
import {
  applyRelease,
  DEFAULT_MIGRATIONS_DIR,
  readMigrationFiles,
  verifyRelease,
  type AdoptResult,
} from "../../core";
import { runCli, runUpstreamCli } from "../support/cli";
import {
  adminUrl,
  createTestDatabase,
  dropTestDatabase,
  withClient,
  type TestDatabase,
} from "../support/database";
import { createReleaseDatabase } from "../dynamic/support/release-database";
import { clusteredVectors, copyChunks, createFixtures } from "../vector-indexes/data";

const files = readMigrationFiles(DEFAULT_MIGRATIONS_DIR);

const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const db of databases.splice(0)) await dropTestDatabase(db);
});

/** A database migrated the way the upstream CLI's users do it: `node-pg-migrate up [N]`. */
async function upstreamMigrated(count?: number): Promise<string> {
  const db = await createTestDatabase("up");
  databases.push(db);
  const args = ["up", ...(count ? [String(count)] : []), "--migrations-dir", "migrations", "--no-verbose"];
  const run = await runUpstreamCli(args, db.url);
  expect(run.code, run.stderr).toBe(0);
  return db.url;
}

async function ledgerOf(url: string) {
  return withClient(url, async (c) => {
    const ledger = await c.query<{ name: string; checksum: string }>(
      "SELECT name, checksum FROM neonhub_release.migrations ORDER BY id",
    );
    const tables = await c.query<{ public: boolean; archived: boolean }>(
      `SELECT to_regclass('public.pgmigrations') IS NOT NULL AS public,
              to_regclass('neonhub_release.upstream_pgmigrations') IS NOT NULL AS archived`,
    );
    return { ledger: ledger.rows, ...tables.rows[0]! };
  });
}

async function engineSchemaExists(url: string): Promise<boolean> {
  return withClient(url, async (c) => {
    const r = await c.query("SELECT to_regnamespace('neonhub_release') IS NOT NULL AS e");
    return r.rows[0].e as boolean;
  });
}

describe("neonhub-db adopt", () => {
  it("adopts a database the upstream CLI migrated with these files: ledger with checksums, pgmigrations archived, nothing left to apply", async () => {
    const url = await upstreamMigrated();
    const run = await runCli(["adopt", "--json"], { DATABASE_URL: url });
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as AdoptResult;
    expect(result.adopted).toEqual(files.map((f) => f.name));
    expect(result.pending).toEqual([]);
    expect(result.upstreamLedger).toEqual({
      from: "public.pgmigrations",
      to: "neonhub_release.upstream_pgmigrations",
    });
    const state = await ledgerOf(url);
    expect(state.ledger).toEqual(files.map((f) => ({ name: f.name, checksum: f.checksum })));
    expect(state).toMatchObject({ public: false, archived: true });
    // The upstream history is kept, row for row.
    const archived = await withClient(url, (c) =>
      c.query("SELECT count(*)::int AS n FROM neonhub_release.upstream_pgmigrations"),
    );
    expect(archived.rows[0].n).toBe(files.length);

    const options = { databaseUrl: url, migrationsDir: DEFAULT_MIGRATIONS_DIR };
    expect((await applyRelease(options)).migrations).toEqual([]);
    expect((await verifyRelease(options)).clean).toBe(true);
    // Run again (a CI job re-run): nothing to do, exit 0.
    const again = await runCli(["adopt"], { DATABASE_URL: url });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("is adopted already");
  });

  it("adopts a database migrated part of the way; apply then runs the rest", async () => {
    const url = await upstreamMigrated(10);
    const run = await runCli(["adopt"], { DATABASE_URL: url });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("10 migration(s) recorded as applied");
    expect(run.stdout).toContain(`${files.length - 10} migration(s) not applied yet`);
    const apply = await applyRelease({ databaseUrl: url, migrationsDir: DEFAULT_MIGRATIONS_DIR });
    expect(apply.migrations.map((m) => m.name)).toEqual(files.slice(10).map((f) => f.name));
  });

  it("refuses, naming each difference, when the schema is not what the recorded migrations build; writes nothing", async () => {
    const url = await upstreamMigrated(4);
    await withClient(url, (c) => c.query('ALTER TABLE "User" DROP COLUMN "name"'));
    const run = await runCli(["adopt"], { DATABASE_URL: url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('missing: column public."User".name');
    expect(run.stderr).toContain("Nothing was written");
    expect(await engineSchemaExists(url)).toBe(false);
  });

  it("says an extra column named beside a missing index is kept, not a difference to remove, and adopts with it once the index is back", async () => {
    const url = await upstreamMigrated(4);
    await withClient(url, (c) =>
      c.query('ALTER TABLE "User" ADD COLUMN phone text; DROP INDEX "OrganizationMembership_userId_idx"'),
    );
    const run = await runCli(["adopt", "--json"], { DATABASE_URL: url });
    expect(run.code, run.stdout).toBe(1);
    const { error } = JSON.parse(run.stdout) as {
      error: { message: string; fix: string; problems: { message: string }[] };
    };
    expect(error.message).toContain('- extra: column public."User".phone');
    expect(error.message).toContain(
      "The extra objects are not what stops it: they are kept as they are, unmanaged by the release",
    );
    expect(error.problems.map((p) => p.message)).toEqual([
      'missing: index public."OrganizationMembership_userId_idx"',
    ]);
    expect(error.fix).not.toContain("phone");
    expect(await engineSchemaExists(url)).toBe(false);

    // Then the adopt to run again: the command as the operator ran it.
    const repair =
      /Run, as the owner of the objects: (.*)\. Then run `neonhub-db adopt --json` again\. Nothing was written\.$/.exec(
        error.fix,
      )![1]!;
    await withClient(url, (c) => c.query(repair));
    const adopted = await runCli(["adopt", "--json"], { DATABASE_URL: url });
    expect(adopted.code, adopted.stderr).toBe(0);
    expect((JSON.parse(adopted.stdout) as { extraObjects: string[] }).extraObjects).toContain(
      "column public.User.phone",
    );
  });

  it("names a table renamed by hand as the release's table missing and the unexpected one there instead", async () => {
    const url = await upstreamMigrated();
    await withClient(url, (c) => c.query('ALTER TABLE "Brand" RENAME TO "BrandOld"'));
    const run = await runCli(["adopt"], { DATABASE_URL: url });
    expect(run.code).toBe(1);
    const lines = run.stderr.split("\n");
    const missing = lines.findIndex((l) => l.startsWith('- missing: table public."Brand", with 8 columns'));
    const extra = lines.findIndex((l) => l.startsWith('- extra: table public."BrandOld", with 8 columns'));
    expect(missing, run.stderr).toBeGreaterThan(-1);
    // Side by side, before the lines the rename changed elsewhere (the foreign keys that point at it).
    expect(extra, run.stderr).toBe(missing + 1);
    expect(run.stderr).toContain("the migrations do not build it");
    // What the table carries is counted on its line, not listed.
    expect(run.stderr).not.toContain('missing: column public."Brand".');
    expect(await engineSchemaExists(url)).toBe(false);
  });

  it("refuses a pgmigrations that records a file this folder does not have", async () => {
    const url = await upstreamMigrated(2);
    await withClient(url, (c) =>
      c.query("UPDATE pgmigrations SET name = '20250126000150_gone' WHERE name = '20250126000200_enums'"),
    );
    const run = await runCli(["adopt", "--migrations-dir", "migrations"], { DATABASE_URL: url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      "20250126000150_gone is recorded, but the migrations folder has no such file",
    );
    // Another project's (or version's) ledger: the folder to check out, then the adopt to run again as the CLI
    // prints it, with this run's flags, and the runbook's section.
    expect(run.stderr).toContain(
      "give --migrations-dir that version's folder), then adopt again with " +
        '`neonhub-db adopt --database-url "$ADMIN_URL" --migrations-dir migrations` (adopt creates a scratch database,',
    );
    expect(run.stderr).toContain(
      '; see docs/runbook.md, "Adopting an existing database". Nothing was written.',
    );
    expect(await engineSchemaExists(url)).toBe(false);
  });

  it("names the one migration whose pgmigrations row was deleted, not every row after it, and how to put it back", async () => {
    const url = await upstreamMigrated();
    const gone = files[19]!.name;
    await withClient(url, (c) => c.query("DELETE FROM pgmigrations WHERE name = $1", [gone]));
    const run = await runCli(["adopt"], { DATABASE_URL: url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `- ${gone} is not recorded, though migrations after it in the folder are (its row is gone)`,
    );
    expect(run.stderr).not.toContain("is recorded as migration");
    expect(run.stderr).toContain(
      'which proves the schema against every recorded file, with `neonhub-db adopt --database-url "$ADMIN_URL"` (adopt creates',
    );
    expect(run.stderr).toContain('docs/runbook.md, "Adopting an existing database"). Nothing was written.');
    expect(await engineSchemaExists(url)).toBe(false);
    // The fix's statement puts the row back where it ran, and adopt then takes the database.
    const insert = /INSERT INTO [^;]+;/.exec(run.stderr)?.[0];
    expect(insert).toContain(`'${gone}'`);
    await withClient(url, (c) => c.query(insert!));
    const again = await runCli(["adopt"], { DATABASE_URL: url });
    expect(again.code, again.stderr).toBe(0);
    expect((await ledgerOf(url)).ledger.map((r) => r.name)).toEqual(files.map((f) => f.name));
  });

  it("refuses an owner role that does not exist by its name, as a user's error (exit 1, no stack)", async () => {
    const url = await upstreamMigrated(2);
    const run = await runCli(["adopt", "--owner-role", "no_such_owner"], { DATABASE_URL: url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('--owner-role names the role "no_such_owner", which does not exist');
    expect(run.stderr).not.toContain("unexpected");
    expect(await engineSchemaExists(url)).toBe(false);
  });

  it("refuses a database without pgmigrations, pointing at baseline", async () => {
    const db = await createTestDatabase("up");
    databases.push(db);
    const run = await runCli(["adopt", "--json"], { DATABASE_URL: db.url });
    expect(run.code).toBe(1);
    const error = (JSON.parse(run.stdout) as { error: { message: string; fix: string } }).error;
    expect(error.message).toContain("no pgmigrations table");
    expect(error.fix).toContain("neonhub-db baseline");
  });
});

describe("neonhub-db adopt in a stack's roles", () => {
  it("adopts, as the admin, what the migrator login migrated with the upstream CLI; the ledger belongs to the owner role", async () => {
    const db = await createReleaseDatabase({ extensions: true });
    try {
      const run = await runUpstreamCli(
        ["up", "--migrations-dir", "migrations", "--no-verbose"],
        db.migratorUrl,
      );
      expect(run.code, run.stderr).toBe(0);
      // As the migrator it cannot prove the schema: the scratch database needs CREATEDB and pgvector, which
      // only the admin may enable. As in the runbook: the stack's admin, acting as the owner role.
      const refused = await runCli(["adopt", "--owner-role", db.owner], { DATABASE_URL: db.migratorUrl });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("may not create databases (no CREATEDB)");
      expect(refused.stderr).toContain(
        `neonhub-db adopt --database-url "$ADMIN_URL" --owner-role ${db.owner}`,
      );
      expect(refused.stderr).toContain("Nothing was written");
      // The access layer's default privileges: what a table the owner role creates gives the app login.
      const app = `${db.owner}_app`;
      await withClient(db.superuserUrl, async (c) => {
        await c.query(`CREATE ROLE ${app} NOLOGIN`);
        await c.query(`GRANT USAGE ON SCHEMA public TO ${app}`);
        await c.query(
          `ALTER DEFAULT PRIVILEGES FOR ROLE ${db.owner} IN SCHEMA public GRANT SELECT, INSERT ON TABLES TO ${app}`,
        );
      });
      const adopt = await runCli(["adopt", "--owner-role", db.owner], { DATABASE_URL: db.superuserUrl });
      expect(adopt.code, adopt.stderr).toBe(0);
      expect(adopt.stdout).not.toContain(db.password);
      // The tables handed over got them too, as if the release had built them.
      const appGrants = await withClient(db.superuserUrl, (c) =>
        c.query<{ select: boolean; insert: boolean; update: boolean }>(
          `SELECT has_table_privilege('${app}', 'public."Chunk"', 'SELECT') AS select,
                  has_table_privilege('${app}', 'public."Chunk"', 'INSERT') AS insert,
                  has_table_privilege('${app}', 'public."Chunk"', 'UPDATE') AS update`,
        ),
      );
      expect(appGrants.rows[0]).toEqual({ select: true, insert: true, update: false });
      const owners = await withClient(db.superuserUrl, (c) =>
        c.query<{ ledger: string; archived: string }>(
          `SELECT (SELECT relowner::regrole::text FROM pg_class WHERE oid = 'neonhub_release.migrations'::regclass) AS ledger,
                  (SELECT relowner::regrole::text FROM pg_class WHERE oid = 'neonhub_release.upstream_pgmigrations'::regclass) AS archived`,
        ),
      );
      expect(owners.rows[0]).toEqual({ ledger: db.owner, archived: db.migrator });
      // The upstream CLI made the tables as the migrator login; adopt handed them to the owner role, which
      // runs every later release (a migration's ALTER TABLE, an index build need the table's owner).
      expect(adopt.stdout).toContain(`TABLE public."Chunk" (was ${db.migrator})`);
      const migratorOwns = await withClient(db.superuserUrl, (c) =>
        c.query<{ object: string }>(
          `SELECT c.oid::regclass::text AS object FROM pg_class c
            WHERE c.relowner = '${db.migrator}'::regrole AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
           UNION ALL SELECT p.oid::regprocedure::text FROM pg_proc p WHERE p.proowner = '${db.migrator}'::regrole
           UNION ALL SELECT t.oid::regtype::text FROM pg_type t
            WHERE t.typowner = '${db.migrator}'::regrole AND t.typtype IN ('e', 'd')`,
        ),
      );
      // Only the upstream ledger (and its id sequence), moved as the login, is still the login's.
      expect(migratorOwns.rows.map((r) => r.object).sort()).toEqual([
        "neonhub_release.pgmigrations_id_seq",
        "neonhub_release.upstream_pgmigrations",
      ]);
      const apply = await runCli(["apply", "--owner-role", db.owner, "--json"], {
        DATABASE_URL: db.migratorUrl,
      });
      expect(apply.code, apply.stderr).toBe(0);
      const applied = JSON.parse(apply.stdout) as {
        migrations: unknown[];
        vectorIndexes: { name: string; action: string }[];
      };
      expect(applied.migrations).toEqual([]);
      expect(apply.stderr).not.toContain("is owned by");
      expect(applied.vectorIndexes.map((i) => [i.name, i.action])).toEqual(
        expect.arrayContaining([
          ["idx_chunk_embedded_rows", "create"],
          ["idx_message_embedded_rows", "create"],
        ]),
      );
      const verify = await runCli(["verify"], { DATABASE_URL: db.migratorUrl });
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
      // With embedded rows, the owner role sees them (it owns the table) and plans the vector index.
      await withClient(db.superuserUrl, async (c) => {
        const fixtures = await createFixtures(c, [16]);
        const source = clusteredVectors({ dimension: 16, clusters: 4, spread: 1, seed: 5 });
        await copyChunks(c, fixtures, { dimension: 16, count: 200, source });
      });
      const plan = await runCli(["plan", "--owner-role", db.owner, "--json"], {
        DATABASE_URL: db.migratorUrl,
      });
      expect(plan.code, plan.stderr).toBe(2);
      const planned = (JSON.parse(plan.stdout) as { vectorIndexes: { name: string; action: string }[] })
        .vectorIndexes;
      expect(planned.map((i) => [i.name, i.action])).toContainEqual(["idx_chunk_embedding_cosine", "create"]);

      // A table handed back to the login by hand: the owner role cannot index it, so its count index is
      // skipped (core/vector-indexes/count-index.ts), saying how to hand the table over again.
      await withClient(db.superuserUrl, async (c) => {
        await c.query("DROP INDEX idx_chunk_embedded_rows");
        await c.query(`ALTER TABLE "Chunk" OWNER TO ${db.migrator}`);
      });
      const skipped = await runCli(["apply", "--owner-role", db.owner, "--json"], {
        DATABASE_URL: db.migratorUrl,
      });
      expect(skipped.code, skipped.stderr).toBe(0);
      const skip = (
        JSON.parse(skipped.stdout) as { vectorIndexes: { name: string; skipped?: string }[] }
      ).vectorIndexes.find((i) => i.name === "idx_chunk_embedded_rows")?.skipped;
      expect(skip).toContain(
        `"Chunk" is owned by ${db.migrator}, not by ${db.owner}, which runs this release`,
      );
      expect(skip).toContain(`ALTER TABLE "Chunk" OWNER TO "${db.owner}"`);
      // The skip is not work to do: the next apply is answered from its one batched read (no step ran).
      const again = await runCli(["apply", "--owner-role", db.owner, "--json"], {
        DATABASE_URL: db.migratorUrl,
      });
      expect(again.code, again.stderr).toBe(0);
      const ran = JSON.parse(again.stdout) as {
        changed: boolean;
        steps: { step: string; durationMs: number }[];
      };
      expect(ran.changed).toBe(false);
      expect(ran.steps.find((s) => s.step === "vectorIndexes")?.durationMs).toBe(0);
      // ... and still tells the operator, as the step's own apply does.
      for (const run of [skipped, again]) {
        expect(run.stderr).toContain(`idx_chunk_embedded_rows: "Chunk" is owned by ${db.migrator}`);
      }
    } finally {
      await db.drop();
      // The app role made above: its grants went with the database.
      await withClient(adminUrl(), (c) => c.query(`DROP ROLE IF EXISTS ${db.owner}_app`));
    }
  });
});
