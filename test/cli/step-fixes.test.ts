// A release step that fails after the migrations (a seed set, row-level security, a vector index's build or
// calibration) and the legacy upgrade's expand end their fix with the apply to run again, printed as the CLI
// prints the commands it names: with the operator's --database-url (no password), --seed, --row-level-security
// and --migrations-dir, so that it runs on the database that failed. Each test makes the step fail on a real
// database, checks what was left, follows the fix and runs the printed command through a shell as an operator
// pastes it.
import { Client } from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { normalizeOutOfRangeSql } from "../../core";
import { runCli, runPrinted, type CliRun } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { repoMigrationsUpTo, writeMigration } from "../support/fixtures";
import { LEGACY_SCALES, createLegacySchema, generateLegacyData } from "../fixtures/legacy/generate";
import {
  clusteredVectors,
  copyChunks,
  copyMessages,
  createFixtures,
  vectorText,
  writeWrongDimensionChunks,
} from "../vector-indexes/data";
import { MESSAGE, applyMigrationsBefore } from "../vector-indexes/support";

const created: TestDatabase[] = [];
afterAll(async () => {
  for (const db of created.splice(0)) await dropTestDatabase(db);
});

async function database(prefix: string): Promise<TestDatabase> {
  const db = await createTestDatabase(prefix);
  created.push(db);
  return db;
}

/**
 * The command a fix says to run again: the one printed `neonhub-db apply ...` in backticks followed by
 * " again" (a password note may come between), holding no password.
 */
function applyToRunAgain(run: CliRun, url: string): string {
  const found = [...run.stderr.matchAll(/`(neonhub-db apply [^`]+)`(?: \([^)]*\))? again/g)].map(
    (m) => m[1]!,
  );
  expect(found, run.stderr).toHaveLength(1);
  expect(found[0]).toContain("--database-url ");
  expect(found[0]).not.toContain(decodeURIComponent(new URL(url).password));
  return found[0]!;
}

/** The printed command run as pasted, the password given in PGPASSWORD as its note says. */
function runAsPrinted(command: string, db: TestDatabase): Promise<CliRun> {
  return runPrinted(command, { PGPASSWORD: decodeURIComponent(new URL(db.url).password) });
}

const cli = (db: TestDatabase, ...args: string[]) => runCli([...args, "--database-url", db.url]);

describe("a release step's fix names the apply to run again on this database", () => {
  /** Every migration of the project, in a folder the expand's test adds a failing one to. */
  const upgradeDir = repoMigrationsUpTo(Number.MAX_SAFE_INTEGER);

  it("a seed set that meets a conflicting row: nothing of it written, and the printed apply --seed applies it", async () => {
    const db = await database("stepfix_seed");
    const released = await cli(db, "apply");
    expect(released.code, released.stderr).toBe(0);
    await withClient(db.url, (c) =>
      c.query(`INSERT INTO "Organization" (id, slug, name) VALUES ('someone-else', 'demo', 'Not the demo')`),
    );
    const failed = await cli(db, "apply", "--seed", "demo");
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('Seed set "demo" failed');
    expect(failed.stderr).toContain(
      'Nothing of seed set "demo" was written (it applies in one transaction). Fix the seed file or the conflicting row in the database, then run `neonhub-db apply --database-url ',
    );
    expect(failed.stderr).not.toContain("then apply again");
    expect(failed.stderr).not.toContain("unexpected error");
    const command = applyToRunAgain(failed, db.url);
    expect(command).toMatch(/ --seed demo$/);
    const sets = () =>
      withClient(db.url, async (c) =>
        (await c.query<{ name: string }>("SELECT name FROM neonhub_release.seed_sets")).rows.map(
          (r) => r.name,
        ),
      );
    expect(await sets()).toEqual([]);

    await withClient(db.url, (c) => c.query(`DELETE FROM "Organization" WHERE id = 'someone-else'`));
    const again = await runAsPrinted(command, db);
    expect(again.code, again.stderr).toBe(0);
    expect(await sets()).toEqual(["demo"]);
  }, 120_000);

  it("row-level security that cannot lock a tenant table: nothing changed, and the printed apply changes it once the table is free", async () => {
    const db = await database("stepfix_rls");
    const released = await cli(db, "apply");
    expect(released.code, released.stderr).toBe(0);
    const enforced = () =>
      withClient(
        db.url,
        async (c) =>
          (
            await c.query<{ on: boolean }>(
              `SELECT relrowsecurity AS on FROM pg_class WHERE oid = '"Chunk"'::regclass`,
            )
          ).rows[0]!.on,
      );
    const before = await enforced();
    const mode = before ? "off" : "enforce";
    // A transaction that read "Chunk" and stays open: ALTER TABLE ... ROW LEVEL SECURITY waits for it.
    const reader = new Client({ connectionString: db.url });
    await reader.connect();
    let failed: CliRun;
    try {
      await reader.query("BEGIN");
      await reader.query(`SELECT count(*) FROM "Chunk"`);
      failed = await cli(db, "apply", "--row-level-security", mode);
    } finally {
      await reader.query("ROLLBACK").catch(() => {});
      await reader.end();
    }
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain("Could not change row-level security: a table stayed locked for 10s");
    expect(failed.stderr).toContain(
      "A long transaction holds one of the tenant tables. Let it finish (pg_stat_activity names it), then run `neonhub-db apply --database-url ",
    );
    expect(failed.stderr).not.toContain("then apply again");
    const command = applyToRunAgain(failed, db.url);
    expect(command).toContain(`--row-level-security ${mode}`);
    expect(await enforced()).toBe(before);

    const again = await runAsPrinted(command, db);
    expect(again.code, again.stderr).toBe(0);
    expect(await enforced()).toBe(!before);
  }, 120_000);

  it("a row whose embedding has another dimension than its space fails the calibration; the printed apply builds once it is deleted", async () => {
    const db = await database("stepfix_dim");
    const released = await cli(db, "apply");
    expect(released.code, released.stderr).toBe(0);
    await withClient(db.url, async (c) => {
      const fixtures = await createFixtures(c, [64]);
      const source = clusteredVectors({ dimension: 64, clusters: 4, spread: 0.5, seed: 5 });
      // Fewer rows than the calibration's 50 queries: each row is picked, the wrong one too.
      await copyChunks(c, fixtures, { dimension: 64, count: 40, source });
      await writeWrongDimensionChunks(c, fixtures, 64, [["bad-3", 3]]);
    });
    const failed = await cli(db, "apply");
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain(
      "Calibrating idx_chunk_embedding_cosine failed: different vector dimensions",
    );
    expect(failed.stderr).toContain(
      "Correct or delete those rows, then run `neonhub-db apply --database-url ",
    );
    expect(failed.stderr).not.toContain("run apply again");
    const command = applyToRunAgain(failed, db.url);

    await withClient(db.url, (c) => c.query(`DELETE FROM "Chunk" WHERE id = 'bad-3'`));
    const again = await runAsPrinted(command, db);
    expect(again.code, again.stderr).toBe(0);
    const recorded = await withClient(db.url, async (c) =>
      (await c.query<{ name: string }>("SELECT name FROM neonhub_release.vector_indexes")).rows.map(
        (r) => r.name,
      ),
    );
    expect(recorded).toContain("idx_chunk_embedding_cosine");
  }, 180_000);

  it("a component beyond halfvec's range fails the index build; the printed apply builds once the rows are scaled", async () => {
    const db = await database("stepfix_range");
    await applyMigrationsBefore(db.url, "20261205060000");
    await withClient(db.url, async (c) => {
      const fixtures = await createFixtures(c, [3072]);
      const source = clusteredVectors({ dimension: 3072, clusters: 3, spread: 0.5, seed: 11 });
      await copyMessages(c, fixtures, { dimension: 3072, count: 60, source });
      // That release's dimension trigger checks the dimension only: the update is stored.
      const v = source.next();
      v[7] = 100000;
      await c.query(`UPDATE "Message" SET "embedding" = $1::vector WHERE "id" = 'message-3072-10'`, [
        vectorText(v),
      ]);
    });
    const failed = await cli(db, "apply");
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('- "Message" "message-3072-10": embedding value 7 is 100000');
    expect(failed.stderr).toContain(
      "Correct or delete those rows, then run `neonhub-db apply --database-url ",
    );
    expect(failed.stderr).not.toContain("run apply again");
    const command = applyToRunAgain(failed, db.url);

    await withClient(db.url, (c) => c.query(normalizeOutOfRangeSql(MESSAGE, 3072)));
    // The build also reads the rows' old versions while a transaction older than the UPDATE is open anywhere
    // on the cluster (the error says so and to run the apply again): VACUUM removes them once none is.
    let again = await runAsPrinted(command, db);
    for (
      let tries = 0;
      again.code !== 0 && again.stderr.includes("old versions of rows") && tries < 60;
      tries++
    ) {
      await withClient(db.url, (c) => c.query(`VACUUM "Message"`));
      await new Promise((resolve) => setTimeout(resolve, 500));
      again = await runAsPrinted(command, db);
    }
    expect(again.code, again.stderr).toBe(0);
  }, 240_000);

  it("a migration the legacy upgrade's expand fails on names the upgrade to run again, which resumes at that file", async () => {
    const db = await database("stepfix_expand");
    await withClient(db.url, async (c) => {
      await createLegacySchema(c);
      await generateLegacyData(c, LEGACY_SCALES.small);
    });
    const dir = upgradeDir;
    const broken = "20991231000000_broken";
    writeMigration(dir, `${broken}.sql`, 'ALTER TABLE "User" DROP COLUMN no_such_column;');
    const failed = await cli(
      db,
      "apply",
      "--upgrade-legacy",
      "--legacy-organization",
      "acme",
      "--migrations-dir",
      dir,
    );
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain(`Migration ${broken}.sql failed at line 2`);
    expect(failed.stderr).toContain(
      "Fix the file and run `neonhub-db apply --upgrade-legacy --legacy-organization acme ",
    );
    expect(failed.stderr).not.toContain("run apply again");
    const command = applyToRunAgain(failed, db.url);
    expect(command).toContain(`--migrations-dir ${dir}`);
    // The legacy tables are still the app's: the expand wrote only in its staging schema.
    const legacyUsers = await withClient(
      db.url,
      async (c) => (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM public."User"`)).rows[0]!.n,
    );
    expect(legacyUsers).toBeGreaterThan(0);

    writeMigration(dir, `${broken}.sql`, "SELECT 1;");
    const again = await runAsPrinted(command, db);
    expect(again.code, again.stderr).toBe(0);
    const ledger = await withClient(
      db.url,
      async (c) =>
        (
          await c.query<{ name: string }>(
            "SELECT name FROM neonhub_release.migrations ORDER BY id DESC LIMIT 1",
          )
        ).rows[0]?.name,
    );
    expect(ledger).toBe(broken);
  }, 300_000);
});
