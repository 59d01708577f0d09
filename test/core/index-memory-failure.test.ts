// A migration that rewrites a table with an IVFFlat index builds that index again, and pgvector refuses to start
// its k-means with less maintenance_work_mem than it needs: "memory required is N MB, maintenance_work_mem is
// M MB". A table that grew since the index was built fails so, with the file not at fault. The fix says so and
// gives the run the memory it names (PGOPTIONS), which lets apply, and a revert whose Down section rewrites the
// table, go through; each fix names the command to run again as it ran (a revert past a migration it reverted
// first: the confirm with --expect-last where the ledger ends now, saying why). The CLI on a real database, the
// server's setting lowered to 1 MB to meet it on a few rows.
import { describe, expect, it } from "vitest";
import { shellWord } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const ITEMS = "20250101000400_items";
const SEEN = "20250101000500_item_seen";
const LAST = "20250101000600_item_last";

interface ErrorDocument {
  error: { code: string; message: string; fix: string; failedMigration: { name: string; line: number } };
}

const SHORTFALL = /memory required is (\d+) MB, maintenance_work_mem is 1 MB/;

const expectedFix = (mb: string, command: string, rolledBack: string) =>
  `${rolledBack} The statement builds an IVFFlat index, or rewrites a table that has one (a rewrite builds every ` +
  `index of the table again, the vector index's k-means included), which needs ${mb} MB of maintenance_work_mem ` +
  `where the migration's session has 1 MB (the server's setting). The file is not at fault: do not edit it. ` +
  `Run ${command} again with PGOPTIONS='-c maintenance_work_mem=${mb}MB' in its environment (this run's sessions ` +
  `alone), or, as the admin, ALTER ROLE <the migrator's login> SET maintenance_work_mem = '${mb}MB' (every ` +
  `session of that login), with that much memory free on the server.`;

describe("a migration whose table rewrite rebuilds an IVFFlat index without the memory for it", () => {
  const db = useTestDatabase("indexmemory");
  const dir = fixtureMigrationsCopy();
  const cli = (env: NodeJS.ProcessEnv, ...args: string[]) =>
    runCli([...args, "--migrations-dir", dir, "--json"], { DATABASE_URL: db.current.url, ...env });
  const facts = () =>
    withClient(db.current.url, async (c) => ({
      ledger: (
        await c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id")
      ).rows
        .map((r) => r.name)
        .at(-1),
      seen: (
        await c.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = '\"Item\"'::regclass AND attname = 'seen' AND NOT attisdropped",
        )
      ).rows[0]!.n,
    }));

  it("names the memory and the setting to run with, and apply and revert pass with it", async () => {
    // 200 rows of 64 dimensions in 2 lists: k-means samples up to 10,000 rows, 2.6 MB of arrays.
    writeMigration(
      dir,
      `${ITEMS}.sql`,
      [
        "CREATE EXTENSION IF NOT EXISTS vector;",
        'CREATE TABLE "Item" (id int PRIMARY KEY, v vector(64));',
        `INSERT INTO "Item" SELECT i, (SELECT array_agg(sin(i * 7 + d))::vector(64) FROM generate_series(1, 64) d) FROM generate_series(1, 200) i;`,
        'CREATE INDEX item_v_idx ON "Item" USING ivfflat (v vector_cosine_ops) WITH (lists = 2);',
      ].join("\n"),
      'DROP TABLE "Item";',
    );
    expect((await cli({}, "apply")).code).toBe(0);
    await withClient(db.current.url, (c) =>
      c.query(`ALTER DATABASE "${db.current.name}" SET maintenance_work_mem = '1MB'`),
    );
    writeMigration(
      dir,
      `${SEEN}.sql`,
      'ALTER TABLE "Item" ADD COLUMN seen timestamptz DEFAULT clock_timestamp();',
      // A type change rewrites the table too: the Down section meets the same refusal.
      'ALTER TABLE "Item" ALTER COLUMN seen TYPE text;\nALTER TABLE "Item" DROP COLUMN seen;',
    );

    const refused = await cli({}, "apply");
    expect(refused.code).toBe(1);
    const { error } = JSON.parse(refused.stdout) as ErrorDocument;
    expect(error.code).toBe("migration-failed");
    expect(error.failedMigration).toMatchObject({ name: SEEN, line: 2 });
    const mb = SHORTFALL.exec(error.message)?.[1];
    expect(mb, error.message).toBeDefined();
    expect(error.message).toContain(`Migration ${SEEN}.sql failed at line 2`);
    expect(error.fix).toBe(
      expectedFix(
        mb!,
        `\`neonhub-db apply --migrations-dir ${shellWord(dir)}\``,
        "Its transaction was rolled back (nothing of it is applied).",
      ),
    );
    expect(await facts()).toEqual({ ledger: ITEMS, seen: 0 });

    // The fix followed: the same apply, with the memory it names for its sessions.
    const withMemory = { PGOPTIONS: `-c maintenance_work_mem=${mb}MB` };
    const applied = await cli(withMemory, "apply");
    expect(applied.code, applied.stdout).toBe(0);
    expect(await facts()).toEqual({ ledger: SEEN, seen: 1 });

    const revert = ["revert", "--to", ITEMS, "--confirm", "--expect-last", SEEN];
    const stopped = await cli({}, ...revert);
    expect(stopped.code).toBe(1);
    const down = (JSON.parse(stopped.stdout) as ErrorDocument).error;
    expect(down.message).toMatch(SHORTFALL);
    // The revert to run again, printed as it was run, as the apply's is above.
    expect(down.fix).toBe(
      expectedFix(
        SHORTFALL.exec(down.message)![1]!,
        `\`neonhub-db ${[...revert, "--migrations-dir", shellWord(dir), "--json"].join(" ")}\``,
        "Its transaction was rolled back (it is still applied).",
      ),
    );
    expect(await facts()).toEqual({ ledger: SEEN, seen: 1 });

    // A revert that reverted a migration before it: its --expect-last no longer holds, and the fix names the
    // confirm that does, saying why, which passes with the memory.
    writeMigration(dir, `${LAST}.sql`, "SELECT 1;", "SELECT 1;");
    expect((await cli({}, "apply")).code).toBe(0);
    const past = await cli({}, "revert", "--to", ITEMS, "--confirm", "--expect-last", LAST);
    expect(past.code).toBe(1);
    const moved = (JSON.parse(past.stdout) as ErrorDocument).error;
    expect(moved.failedMigration).toMatchObject({ name: SEEN });
    const rerun = `neonhub-db revert --to ${ITEMS} --migrations-dir ${shellWord(dir)} --json --confirm --expect-last ${SEEN}`;
    expect(moved.fix).toBe(
      expectedFix(
        SHORTFALL.exec(moved.message)![1]!,
        `\`${rerun}\` (its --expect-last names the migration the ledger ends at now)`,
        "Its transaction was rolled back (it is still applied; the 1 migration(s) after it are reverted).",
      ),
    );
    expect(await facts()).toEqual({ ledger: SEEN, seen: 1 });

    const reverted = await runCli(rerun.split(" ").slice(1), { DATABASE_URL: db.current.url, ...withMemory });
    expect(reverted.code, reverted.stdout).toBe(0);
    expect(await facts()).toEqual({ ledger: ITEMS, seen: 0 });
  });
});
