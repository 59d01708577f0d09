import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { applyRelease, collectingLogger, readMigrationFiles, ReleaseError, verifyRelease } from "../../core";
import { adoptUpstreamDatabase, baselineRelease } from "../../core";
import { createTestDatabase, dropTestDatabase, withClient } from "../support/database";
import { runCli } from "../support/cli";
import { FIXTURE_MIGRATIONS } from "../support/fixtures";

/** A database whose schema was made without the engine: the migrations' SQL run by hand, plus extras. */
async function handMadeDatabase(options: { skip?: string; upTo?: number } = {}): Promise<string> {
  const db = await createTestDatabase();
  const files = readMigrationFiles(FIXTURE_MIGRATIONS).slice(0, options.upTo);
  await withClient(db.url, async (c) => {
    for (const file of files) {
      let up = file.sql.split(/^-- Down Migration/m)[0]!;
      if (options.skip) up = up.replace(options.skip, "");
      await c.query(up);
    }
    // What a Prisma-managed database also has: its own ledger, and an index nobody wrote a migration for.
    await c.query('CREATE TABLE "_prisma_migrations" (id text PRIMARY KEY, migration_name text)');
    await c.query('CREATE INDEX widget_name_by_hand ON "Widget" (name)');
  });
  databases.push(db);
  return db.url;
}
const databases: Awaited<ReturnType<typeof createTestDatabase>>[] = [];

const release = (databaseUrl: string) => ({ databaseUrl, migrationsDir: FIXTURE_MIGRATIONS });

describe("baseline", () => {
  it("records the migrations as applied when the live schema matches them, so apply then has nothing to do", async () => {
    const url = await handMadeDatabase();
    const result = await baselineRelease(release(url));
    expect(result.baselined).toEqual([
      "20250101000100_widgets",
      "20250101000200_widget_color",
      "20250101000300_gadgets",
    ]);
    // Prisma's ledger stays, and is named with what the release does not manage.
    expect(result.extraObjects).toEqual([
      "index public.widget_name_by_hand",
      "table public._prisma_migrations",
    ]);
    const ledger = await withClient(url, (c) =>
      c.query<{ name: string; checksum: string }>(
        "SELECT name, checksum FROM neonhub_release.migrations ORDER BY id",
      ),
    );
    const files = readMigrationFiles(FIXTURE_MIGRATIONS);
    expect(ledger.rows).toEqual(files.map((f) => ({ name: f.name, checksum: f.checksum })));
    // The Up sections' checksums too, so that a revert can accept a corrected Down section.
    const upChecksums = await withClient(url, (c) =>
      c.query<{ up_checksum: string | null }>("SELECT up_checksum FROM neonhub_release.migrations"),
    );
    for (const row of upChecksums.rows) expect(row.up_checksum).toMatch(/^[0-9a-f]{64}$/);
    const apply = await applyRelease(release(url));
    expect(apply.migrations).toEqual([]);
    expect((await verifyRelease(release(url))).clean).toBe(true);
  });

  it("refuses, naming each difference, when the live schema is not what the migrations produce, and writes nothing", async () => {
    const url = await handMadeDatabase({
      skip: `ALTER TABLE "Widget" ADD COLUMN color text NOT NULL DEFAULT 'blue';`,
    });
    const log = collectingLogger();
    const error = await baselineRelease({ ...release(url), log }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReleaseError);
    // The schema is not what the migrations build: drift, as verify names it, not a ledger problem.
    expect((error as ReleaseError).code).toBe("schema-drift");
    expect((error as ReleaseError).message).toContain('missing: column public."Widget".color');
    expect((error as ReleaseError).problems).toEqual([
      expect.objectContaining({ kind: "schema-drift", message: 'missing: column public."Widget".color' }),
    ]);
    // A library caller ran no command: what to do after is named in words, as the call it made.
    expect((error as ReleaseError).fix).toMatch(/\. Then run baseline again\. Nothing was written\.$/);
    const schema = await withClient(url, (c) => c.query("SELECT to_regnamespace('neonhub_release') AS s"));
    expect(schema.rows[0].s).toBeNull();
    // Its own scratch database, by the name it logged: other test files prove schemas at the same time.
    const scratch = log.lines.join("\n").match(/scratch database (neonhub_baseline_\w+) created/)?.[1];
    expect(scratch).toBeDefined();
    const leftovers = await withClient(url, (c) =>
      c.query("SELECT count(*)::int AS n FROM pg_database WHERE datname = $1", [scratch]),
    );
    expect(leftovers.rows[0].n).toBe(0);
  });

  it("names the baseline to run again after a refused proof: as the operator ran it, else printed with its --to", async () => {
    const url = await handMadeDatabase({
      skip: `ALTER TABLE "Widget" ADD COLUMN color text NOT NULL DEFAULT 'blue';`,
    });
    const to = "20250101000200_widget_color";
    // The CLI's: the command as run, with the --to that chose the migrations the proof refused.
    const run = await runCli(["baseline", "--migrations-dir", FIXTURE_MIGRATIONS, "--to", to, "--json"], {
      DATABASE_URL: url,
    });
    expect(run.code, run.stderr).toBe(1);
    const { error } = JSON.parse(run.stdout) as { error: { code: string; fix: string } };
    expect(error.code).toBe("schema-drift");
    expect(error.fix).toContain(
      `Then run \`neonhub-db baseline --migrations-dir ${FIXTURE_MIGRATIONS} --to ${to} --json\` again. Nothing was written.`,
    );
    // A caller with a printer alone: baseline with its --to, printed by it.
    const print = (args: readonly string[]) => `\`printed ${args.join(" ")}\``;
    const printed = (await baselineRelease({ ...release(url), to, printCommand: print }).catch(
      (e: unknown) => e,
    )) as ReleaseError;
    expect(printed.fix).toMatch(
      /\. Then run `printed baseline --to 20250101000200_widget_color` again\. Nothing was written\.$/,
    );
  });

  it("names the statements that restore an index and a constraint dropped by hand, from the migrations' definitions; after them it baselines", async () => {
    const url = await handMadeDatabase();
    await withClient(url, async (c) => {
      await c.query("DROP INDEX gadget_widget");
      await c.query('ALTER TABLE "Gadget" DROP CONSTRAINT "Gadget_widgetId_fkey"');
    });
    const error = (await baselineRelease(release(url)).catch((e: unknown) => e)) as ReleaseError;
    expect(error.code).toBe("schema-drift");
    const createIndex = 'CREATE INDEX CONCURRENTLY gadget_widget ON public."Gadget" USING btree ("widgetId")';
    const addConstraint =
      'ALTER TABLE "public"."Gadget" ADD CONSTRAINT "Gadget_widgetId_fkey" FOREIGN KEY ("widgetId") REFERENCES "Widget"(id) ON DELETE CASCADE';
    expect(error.problems).toEqual([
      {
        section: "drift",
        kind: "schema-drift",
        message: 'missing: constraint public."Gadget"."Gadget_widgetId_fkey"',
        fix: `Run, as the owner of the objects: ${addConstraint}`,
      },
      {
        section: "drift",
        kind: "schema-drift",
        message: "missing: index public.gadget_widget",
        fix: `Run, as the owner of the objects: ${createIndex}`,
      },
    ]);
    expect(error.fix).toContain(addConstraint);
    expect(error.fix).toContain(createIndex);
    // The statements do bring it in line.
    await withClient(url, async (c) => {
      await c.query(addConstraint);
      await c.query(createIndex);
    });
    expect((await baselineRelease(release(url))).changed).toBe(true);
  });

  it("says a changed column's type, NOT NULL and default as SQL does, an absent default not at all", async () => {
    const url = await handMadeDatabase();
    await withClient(url, (c) =>
      c.query('ALTER TABLE "Widget" ALTER COLUMN name TYPE varchar(500), ALTER COLUMN name DROP NOT NULL'),
    );
    const error = (await baselineRelease(release(url)).catch((e: unknown) => e)) as ReleaseError;
    expect(error.code).toBe("schema-drift");
    expect(error.message).toContain(
      'different: column public."Widget".name (live: character varying(500); migrations: text NOT NULL)',
    );
    expect(error.message).not.toContain("default=");
    expect(error.fix).toContain("Bring the database in line with the migrations by hand");
  });

  it("refuses a database the node-pg-migrate CLI migrated (pgmigrations), pointing at adopt, which then takes it", async () => {
    const url = await handMadeDatabase();
    await withClient(url, async (c) => {
      await c.query(
        "CREATE TABLE pgmigrations (id serial PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL)",
      );
      for (const file of readMigrationFiles(FIXTURE_MIGRATIONS))
        await c.query("INSERT INTO pgmigrations (name, run_on) VALUES ($1, now())", [file.name]);
    });
    const log = collectingLogger();
    const error = await baselineRelease({ ...release(url), log }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReleaseError);
    expect((error as ReleaseError).code).toBe("invalid-input");
    expect((error as ReleaseError).message).toContain(
      "public.pgmigrations, the ledger of the node-pg-migrate CLI",
    );
    expect((error as ReleaseError).fix).toContain("`neonhub-db adopt`");
    expect((error as ReleaseError).fix).toContain("Nothing was written");
    expect(log.lines.join("\n")).not.toContain("scratch database");
    const schema = await withClient(url, (c) => c.query("SELECT to_regnamespace('neonhub_release') AS s"));
    expect(schema.rows[0].s).toBeNull();
    // The path it names works: adopt moves pgmigrations and names Prisma's ledger, which it leaves, as kept.
    const adopted = await adoptUpstreamDatabase(release(url));
    expect(adopted.adopted).toHaveLength(3);
    expect(adopted.extraObjects).toEqual([
      "index public.widget_name_by_hand",
      "table public._prisma_migrations",
    ]);
  });

  it("--to baselines the first migrations only; apply then runs the rest", async () => {
    const url = await handMadeDatabase({ upTo: 2 });
    const result = await baselineRelease({ ...release(url), to: "20250101000200_widget_color" });
    expect(result.baselined).toHaveLength(2);
    const apply = await applyRelease(release(url));
    expect(apply.migrations.map((m) => m.name)).toEqual(["20250101000300_gadgets"]);
  });

  it("with an owner role, the scratch database, the ledger and the migrations' objects belong to the owner", async () => {
    const url = await handMadeDatabase();
    const owner = `baseline_owner_${new URL(url).pathname.slice(1)}`;
    const database = new URL(url).pathname.slice(1);
    // As in every stack: the owner role owns the application database.
    await withClient(url, async (c) => {
      await c.query(`CREATE ROLE ${owner} NOLOGIN`);
      await c.query(`ALTER DATABASE "${database}" OWNER TO ${owner}`);
    });
    try {
      const result = await baselineRelease({ ...release(url), ownerRole: owner });
      const schemaOwner = await withClient(url, (c) =>
        c.query(
          "SELECT nspowner::regrole::text AS owner FROM pg_namespace WHERE nspname = 'neonhub_release'",
        ),
      );
      expect(schemaOwner.rows[0].owner).toBe(owner);
      // The tables were made by hand as the login: the ones the migrations create are the owner's now (so a
      // later migration may alter them), the one they do not create keeps its owner.
      const tableOwners = await withClient(url, (c) =>
        c.query<{ name: string; owner: string }>(
          `SELECT relname AS name, relowner::regrole::text AS owner FROM pg_class
            WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY relname COLLATE "C"`,
        ),
      );
      const login = decodeURIComponent(new URL(url).username);
      expect(tableOwners.rows).toEqual([
        { name: "Gadget", owner },
        { name: "Widget", owner },
        { name: "_prisma_migrations", owner: login },
      ]);
      expect(result.handedOver).toEqual([
        { object: 'TABLE public."Gadget"', from: login },
        { object: 'TABLE public."Widget"', from: login },
      ]);
      // The snapshot is taken after the hand-over: verify finds no owner drift.
      expect((await verifyRelease({ ...release(url), ownerRole: owner })).clean).toBe(true);
    } finally {
      const db = databases.pop()!;
      await dropTestDatabase(db);
      await withClient(db.adminUrl, (c) => c.query(`DROP ROLE ${owner}`));
    }
  });

  it("with an owner role, refuses before writing anything when the login may not hand the objects over", async () => {
    const url = await handMadeDatabase();
    const database = new URL(url).pathname.slice(1);
    const owner = `bl_owner_${database}`;
    const login = `bl_login_${database}`;
    const password = `Pw${randomBytes(8).toString("hex")}`;
    // A login with what proving needs (CREATEDB, the owner role) but not the tables' owner, the superuser.
    await withClient(url, async (c) => {
      await c.query(`CREATE ROLE ${owner} NOLOGIN`);
      await c.query(`CREATE ROLE ${login} LOGIN CREATEDB PASSWORD '${password}' IN ROLE ${owner}`);
      await c.query(`ALTER DATABASE "${database}" OWNER TO ${owner}`);
    });
    const loginUrl = new URL(url);
    loginUrl.username = login;
    loginUrl.password = password;
    try {
      const error = await baselineRelease({
        ...release(loginUrl.toString()),
        ownerRole: owner,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReleaseError);
      expect((error as ReleaseError).code).toBe("permission");
      const superuser = decodeURIComponent(new URL(url).username);
      expect((error as ReleaseError).message).toContain(`TABLE public."Gadget", owned by ${superuser}`);
      expect((error as ReleaseError).message).toContain(`"${login}" is not a member of ${superuser}`);
      expect((error as ReleaseError).fix).toContain("Nothing was written");
      expect((error as ReleaseError).message).not.toContain(password);
      const state = await withClient(url, (c) =>
        c.query<{ engine: string | null; owner: string }>(
          `SELECT to_regnamespace('neonhub_release')::text AS engine,
                  (SELECT relowner::regrole::text FROM pg_class WHERE oid = '"Widget"'::regclass) AS owner`,
        ),
      );
      expect(state.rows[0]).toEqual({ engine: null, owner: superuser });
    } finally {
      const db = databases.pop()!;
      await dropTestDatabase(db);
      await withClient(db.adminUrl, async (c) => {
        await c.query(`DROP ROLE ${login}`);
        await c.query(`DROP ROLE ${owner}`);
      });
    }
  });

  it("refuses an owner role that does not exist by its name, before proving anything; writes nothing", async () => {
    const url = await handMadeDatabase();
    const log = collectingLogger();
    const error = await baselineRelease({ ...release(url), ownerRole: "no_such_owner", log }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReleaseError);
    expect((error as ReleaseError).code).toBe("invalid-input");
    expect((error as ReleaseError).message).toContain('--owner-role names the role "no_such_owner"');
    expect(log.lines.join("\n")).not.toContain("scratch database");
    const schema = await withClient(url, (c) => c.query("SELECT to_regnamespace('neonhub_release') AS s"));
    expect(schema.rows[0].s).toBeNull();
  });

  it("refuses an empty database, pointing at apply; writes nothing", async () => {
    const db = await createTestDatabase();
    databases.push(db);
    const error = await baselineRelease(release(db.url)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReleaseError);
    expect((error as ReleaseError).message).toContain(
      "None of the 2 tables the migrations create exists in this database",
    );
    expect((error as ReleaseError).fix).toContain("`neonhub-db apply` creates the schema");
    const schema = await withClient(db.url, (c) => c.query("SELECT to_regnamespace('neonhub_release') AS s"));
    expect(schema.rows[0].s).toBeNull();
  });

  it("has nothing to do on a database whose ledger records the same migrations, and refuses another ledger", async () => {
    const db = await createTestDatabase();
    databases.push(db);
    await applyRelease(release(db.url));
    const again = await baselineRelease(release(db.url));
    expect(again).toMatchObject({
      changed: false,
      baselined: readMigrationFiles(FIXTURE_MIGRATIONS).map((f) => f.name),
    });
    const other = await createTestDatabase();
    databases.push(other);
    await applyRelease(release(other.url));
    await withClient(other.url, (c) =>
      c.query(
        "UPDATE neonhub_release.migrations SET name = '20250101000250_other' WHERE name = '20250101000300_gadgets'",
      ),
    );
    await expect(baselineRelease(release(other.url))).rejects.toThrow(
      /already records 3 applied migration\(s\) in the neonhub-db ledger, and not as baseline leaves it: Migration 20250101000250_other.sql was applied .* but its file is gone/,
    );
  });

  it("cleans up", async () => {
    for (const db of databases.splice(0)) await dropTestDatabase(db);
  });
});
