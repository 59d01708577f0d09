// `baseline` and `adopt` run again on a database they already took over (a CI job re-run): exit 0, "nothing to
// do" (`changed: false` in --json), nothing written; a database whose ledger is not what the command leaves is
// still refused, naming why, with nothing written.
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readMigrationFiles, type AdoptResult, type BaselineResult } from "../../core";
import { runCli, runUpstreamCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { buildSchemaByHand, fixtureMigrationsCopy } from "../support/fixtures";
import { dumpSchema } from "../support/migrations";

const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const db of databases.splice(0)) await dropTestDatabase(db);
});

const dir = fixtureMigrationsCopy();
const names = () => readMigrationFiles(dir).map((f) => f.name);

async function newDatabase(): Promise<string> {
  const db = await createTestDatabase("rerun");
  databases.push(db);
  return db.url;
}

/** The schema made without the engine: the first `upTo` migrations' Up sections run by hand. */
async function handMade(upTo: number): Promise<string> {
  const url = await newDatabase();
  await withClient(url, (c) => buildSchemaByHand(c, dir, upTo));
  return url;
}

/** What a re-run must leave as it was: the schema (the engine's own tables included) and the ledger's rows. */
async function state(url: string): Promise<{ schema: string; ledger: unknown[] }> {
  const ledger = await withClient(url, (c) =>
    c.query("SELECT * FROM neonhub_release.migrations ORDER BY id"),
  );
  return { schema: await dumpSchema(url), ledger: ledger.rows };
}

const cli = (url: string, ...args: string[]) =>
  runCli([...args, "--migrations-dir", dir], { DATABASE_URL: url });

describe("baseline run again", () => {
  it("on the database it baselined: exit 0, nothing to do, nothing written", async () => {
    const url = await handMade(3);
    const first = await cli(url, "baseline", "--json");
    expect(first.code, first.stderr).toBe(0);
    expect((JSON.parse(first.stdout) as BaselineResult).changed).toBe(true);
    const before = await state(url);

    const again = await cli(url, "baseline", "--json");
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      database: expect.any(String) as string,
      changed: false,
      baselined: names(),
      extraObjects: [],
      handedOver: [],
      warnings: [],
    });
    const text = await cli(url, "baseline");
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("Nothing to do:");
    expect(text.stdout).toContain("records these 3 migration(s) already, up to 20250101000300_gadgets");
    expect(await state(url)).toEqual(before);
  });

  it("after apply ran the migrations that followed --to: still nothing to do", async () => {
    const url = await handMade(2);
    expect((await cli(url, "baseline", "--to", "20250101000200_widget_color")).code).toBe(0);
    expect((await cli(url, "apply")).code).toBe(0);
    const before = await state(url);
    const again = await cli(url, "baseline", "--to", "20250101000200_widget_color", "--json");
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as BaselineResult).changed).toBe(false);
    expect(await state(url)).toEqual(before);
  });

  it("on a ledger that is not what it would record: refused, naming the difference, nothing written", async () => {
    const url = await handMade(2);
    expect((await cli(url, "baseline", "--to", "20250101000200_widget_color")).code).toBe(0);
    const before = await state(url);
    // All three: the ledger records two.
    const more = await cli(url, "baseline", "--json");
    expect(more.code).toBe(1);
    const { error } = JSON.parse(more.stdout) as { error: { code: string; message: string; fix: string } };
    expect(error.code).toBe("invalid-input");
    expect(error.message).toContain(
      "already records 2 applied migration(s) in the neonhub-db ledger, and not as baseline leaves it: it records them up to 20250101000200_widget_color, where baseline records 3, up to 20250101000300_gadgets.",
    );
    expect(error.fix).toContain("neonhub-db apply");
    // A file changed since it was recorded.
    const widgets = path.join(dir, "20250101000100_widgets.sql");
    const original = readFileSync(widgets, "utf8");
    appendFileSync(widgets, "\n-- edited\n");
    try {
      const changed = await cli(url, "baseline", "--to", "20250101000200_widget_color");
      expect(changed.code).toBe(1);
      // Appended to its Down section: the Up section is the applied one, which the message says.
      expect(changed.stderr).toContain(
        "Migration 20250101000100_widgets.sql does not match the checksum its ledger row records. Its Up section is the applied one",
      );
    } finally {
      writeFileSync(widgets, original);
    }
    expect(await state(url)).toEqual(before);
  });
});

/** A database the upstream CLI migrated with the first `count` fixture migrations. */
async function upstreamMigrated(count: number): Promise<string> {
  const url = await newDatabase();
  const run = await runUpstreamCli(["up", String(count), "--migrations-dir", dir, "--no-verbose"], url);
  expect(run.code, run.stderr).toBe(0);
  return url;
}

describe("adopt run again", () => {
  it("on the database it adopted, and after apply ran the rest: exit 0, nothing to do, nothing written", async () => {
    const url = await upstreamMigrated(2);
    const first = await cli(url, "adopt", "--json");
    expect(first.code, first.stderr).toBe(0);
    expect((JSON.parse(first.stdout) as AdoptResult).changed).toBe(true);
    const before = await state(url);

    const again = await cli(url, "adopt", "--json");
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      database: expect.any(String) as string,
      changed: false,
      adopted: names().slice(0, 2),
      pending: names().slice(2),
      upstreamLedger: { from: null, to: "neonhub_release.upstream_pgmigrations" },
      extraObjects: [],
      handedOver: [],
      warnings: [],
    });
    expect(await state(url)).toEqual(before);

    expect((await cli(url, "apply")).code).toBe(0);
    const applied = await state(url);
    const afterApply = await cli(url, "adopt");
    expect(afterApply.code, afterApply.stderr).toBe(0);
    expect(afterApply.stdout).toContain("Nothing to do:");
    expect(afterApply.stdout).toContain(
      "is adopted already (2 migration(s) from neonhub_release.upstream_pgmigrations)",
    );
    expect(afterApply.stdout).toContain("The database is at the last migration");
    expect(await state(url)).toEqual(applied);
  });

  it("on a database apply released (no upstream ledger archived): refused, nothing written", async () => {
    const url = await newDatabase();
    expect((await cli(url, "apply")).code).toBe(0);
    const before = await state(url);
    const run = await cli(url, "adopt", "--json");
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as { error: { message: string; fix: string } };
    expect(error.message).toContain(
      "already records 3 applied migration(s) in the neonhub-db ledger, and not as adopt leaves it: there is no neonhub_release.upstream_pgmigrations",
    );
    expect(error.fix).toContain("Nothing was written.");
    expect(await state(url)).toEqual(before);
  });

  it("when a pgmigrations table is back after adoption: refused, naming it", async () => {
    const url = await upstreamMigrated(2);
    expect((await cli(url, "adopt")).code).toBe(0);
    await withClient(url, (c) =>
      c.query(
        "CREATE TABLE public.pgmigrations (id serial PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL)",
      ),
    );
    const before = await state(url);
    const run = await cli(url, "adopt");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("public.pgmigrations is there again");
    expect(await state(url)).toEqual(before);
  });
});
