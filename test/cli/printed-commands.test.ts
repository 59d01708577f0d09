// The commands the CLI's fixes, notes and closing lines tell the operator to run next act on the database the
// operator named with --database-url, with the same --migrations-dir and --owner-role, not on whatever
// $DIRECT_URL holds: each test sets $DIRECT_URL to another database, runs the printed command through a POSIX
// shell as an operator pastes it, and checks which of the two databases it changed or read.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "pg";
import {
  DEFAULT_MIGRATIONS_DIR,
  PROJECT_ROOT,
  RELEASE_LOCK_KEY,
  applyRelease,
  urlWithoutPassword,
} from "../../core";
import { runCli, runPrinted, runUpstreamCli, type CliRun } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { startCli, waitUntil } from "../support/kill-points";
import { scratchDir } from "../support/scratch";
import { parseArgs, takesFlag } from "../../cli/args";
import {
  commandAsRun,
  commandOnDatabase,
  givenOptionsOf,
  passwordNoteOnce,
  revertConfirmCommand,
} from "../../cli/confirm-command";
import { chunkFileDir, writeChunkFile } from "../seeds/chunk-files";

const WIDGETS = "20250101000100_widgets";
const COLOR = "20250101000200_widget_color";
const GADGETS = "20250101000300_gadgets";
const SPROCKETS = "20250101000400_sprockets";

const chunks = chunkFileDir();

const databases: TestDatabase[] = [];
afterEach(async () => {
  for (const db of databases.splice(0)) await dropTestDatabase(db);
});

/** The database the operator names with --database-url, and the other one $DIRECT_URL holds. */
async function twoDatabases(): Promise<{ named: TestDatabase; other: TestDatabase }> {
  const named = await createTestDatabase("named");
  const other = await createTestDatabase("other");
  databases.push(named, other);
  return { named, other };
}

/** The one printed `neonhub-db <command> ...` in `text` (named once or more), checked to hold no password. */
function printed(text: string, command: string, url: string): string {
  const all = [...text.matchAll(/`(neonhub-db [^`]+)`/g)].map((m) => m[1]!);
  const found = [...new Set(all.filter((c) => c.startsWith(`neonhub-db ${command} `)))];
  expect(found, text).toHaveLength(1);
  expect(found[0]).not.toContain(decodeURIComponent(new URL(url).password));
  return found[0]!;
}

/** How the operator runs what was printed: $DIRECT_URL still the other database, the password in PGPASSWORD. */
function runAsPrinted(command: string, named: TestDatabase, other: TestDatabase): Promise<CliRun> {
  return runPrinted(command, {
    DIRECT_URL: other.url,
    PGPASSWORD: decodeURIComponent(new URL(named.url).password),
  });
}

async function ledgerOf(url: string): Promise<string[]> {
  return withClient(url, async (c) => {
    const exists = await c.query("SELECT to_regclass('neonhub_release.migrations') IS NOT NULL AS ok");
    if (!(exists.rows[0] as { ok: boolean }).ok) return [];
    const rows = await c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id");
    return rows.rows.map((r) => r.name);
  });
}

async function snapshotLastOf(url: string): Promise<string | null> {
  return withClient(url, async (c) => {
    const rows = await c.query<{ last: string | null }>(
      "SELECT last_migration AS last FROM neonhub_release.schema_snapshot",
    );
    return rows.rows[0]?.last ?? null;
  });
}

describe("a command printed to run next, run as printed", () => {
  it("plan's closing line: the apply it names applies to the named database, with its folder", async () => {
    const { named, other } = await twoDatabases();
    const dir = fixtureMigrationsCopy();
    await applyRelease({ databaseUrl: named.url, migrationsDir: dir });
    await applyRelease({ databaseUrl: other.url, migrationsDir: dir });
    writeMigration(dir, `${SPROCKETS}.sql`, 'CREATE TABLE "Sprocket" (id text PRIMARY KEY);');

    const plan = await runCli(["plan", "--database-url", named.url, "--migrations-dir", dir], {
      DIRECT_URL: other.url,
    });
    expect(plan.code, plan.stderr).toBe(2);
    const apply = printed(plan.stdout, "apply", named.url);
    expect(apply).toBe(
      `neonhub-db apply --database-url ${urlWithoutPassword(named.url)} --migrations-dir ${dir}`,
    );
    expect(plan.stdout).toContain(
      `Changes pending: \`${apply}\` (the password of --database-url is left out`,
    );

    const run = await runAsPrinted(apply, named, other);
    expect(run.code, run.stderr).toBe(0);
    expect(await ledgerOf(named.url)).toEqual([WIDGETS, COLOR, GADGETS, SPROCKETS]);
    expect(await ledgerOf(other.url)).toEqual([WIDGETS, COLOR, GADGETS]);
  });

  it("a --database-url given from $DATABASE_URL is printed as the variable, and runs on it", async () => {
    const { named, other } = await twoDatabases();
    const dir = fixtureMigrationsCopy();
    const env = { DIRECT_URL: other.url, DATABASE_URL: named.url };
    const plan = await runCli(["plan", "--database-url", named.url, "--migrations-dir", dir], env);
    expect(plan.code, plan.stderr).toBe(2);
    const apply = printed(plan.stdout, "apply", named.url);
    expect(apply).toBe(`neonhub-db apply --database-url "$DATABASE_URL" --migrations-dir ${dir}`);

    const run = await runPrinted(apply, env);
    expect(run.code, run.stderr).toBe(0);
    expect(await ledgerOf(named.url)).toEqual([WIDGETS, COLOR, GADGETS]);
    expect(await ledgerOf(other.url)).toEqual([]);
  });

  it("after a revert stopped before its snapshot: the revert plan, status and verify name records it on the named database", async () => {
    const { named, other } = await twoDatabases();
    const dir = fixtureMigrationsCopy();
    await applyRelease({ databaseUrl: named.url, migrationsDir: dir });
    await applyRelease({ databaseUrl: other.url, migrationsDir: dir });
    // GADGETS' Down section ran and its row went, and the revert stopped before it recorded the snapshot.
    await withClient(named.url, (c) =>
      c.query(`DROP TABLE "Gadget"; DELETE FROM neonhub_release.migrations WHERE name = '${GADGETS}'`),
    );
    const given = ["--database-url", named.url, "--migrations-dir", dir];
    const env = { DIRECT_URL: other.url };
    const plan = await runCli(["plan", ...given], env);
    const status = await runCli(["status", ...given, "--json"], env);
    const verify = await runCli(["verify", ...given], env);
    const revert = printed(plan.stdout, "revert", named.url);
    expect(revert).toBe(
      `neonhub-db revert --to ${COLOR} --confirm --expect-last ${COLOR} --database-url ${urlWithoutPassword(named.url)} --migrations-dir ${dir}`,
    );
    expect(
      printed((JSON.parse(status.stdout) as { interruption: string }).interruption, "revert", named.url),
    ).toBe(revert);
    expect(printed(verify.stdout, "revert", named.url)).toBe(revert);

    const run = await runAsPrinted(revert, named, other);
    expect(run.code, run.stderr).toBe(0);
    expect(await snapshotLastOf(named.url)).toBe(COLOR);
    expect(await ledgerOf(other.url)).toEqual([WIDGETS, COLOR, GADGETS]);
    expect(await snapshotLastOf(other.url)).toBe(GADGETS);
  });

  it("after an apply stopped before its snapshot: the apply verify names completes the named database", async () => {
    const { named, other } = await twoDatabases();
    const dir = fixtureMigrationsCopy();
    await applyRelease({ databaseUrl: named.url, migrationsDir: dir });
    await withClient(named.url, (c) => c.query("DELETE FROM neonhub_release.schema_snapshot"));

    const verify = await runCli(["verify", "--database-url", named.url, "--migrations-dir", dir], {
      DIRECT_URL: other.url,
    });
    expect(verify.code, verify.stderr).toBe(2);
    const apply = printed(verify.stdout, "apply", named.url);
    expect(verify.stdout).toContain(`an apply was interrupted; run \`${apply}\``);

    const run = await runAsPrinted(apply, named, other);
    expect(run.code, run.stderr).toBe(0);
    expect(await snapshotLastOf(named.url)).toBe(GADGETS);
    expect(await ledgerOf(other.url)).toEqual([]);
  });

  it("revert --to a migration not applied: the status its fix names reads the named database", async () => {
    const { named, other } = await twoDatabases();
    const dir = fixtureMigrationsCopy();
    await applyRelease({ databaseUrl: named.url, migrationsDir: dir });
    const refused = await runCli(
      ["revert", "--to", "20250101000150_widgts", "--database-url", named.url, "--migrations-dir", dir],
      { DIRECT_URL: other.url },
    );
    expect(refused.code).toBe(1);
    const status = printed(refused.stderr, "status", named.url);

    const run = await runAsPrinted(`${status} --json`, named, other);
    expect(run.code, run.stderr).toBe(0);
    const document = JSON.parse(run.stdout) as { database: string; ledger: { name: string }[] };
    expect(document.database).toContain(`/${named.name}`);
    expect(document.ledger.map((e) => e.name)).toEqual([WIDGETS, COLOR, GADGETS]);
  });

  it("a database the node-pg-migrate CLI migrated: the adopt plan's fix names adopts the named database", async () => {
    const { named, other } = await twoDatabases();
    for (const db of [named, other]) {
      const up = await runUpstreamCli(["up", "--migrations-dir", "migrations", "--no-verbose"], db.url);
      expect(up.code, up.stderr).toBe(0);
    }
    const plan = await runCli(["plan", "--database-url", named.url], { DIRECT_URL: other.url });
    expect(plan.code).toBe(1);
    const adopt = printed(plan.stdout, "adopt", named.url);
    expect(adopt).toBe(`neonhub-db adopt --database-url ${urlWithoutPassword(named.url)}`);

    const run = await runAsPrinted(adopt, named, other);
    expect(run.code, run.stderr).toBe(0);
    const pgmigrations = (url: string) =>
      withClient(url, async (c) => {
        const r = await c.query<{ at: string | null }>(
          "SELECT to_regclass('public.pgmigrations')::text AS at",
        );
        return r.rows[0]!.at;
      });
    expect(await pgmigrations(named.url)).toBeNull();
    expect((await ledgerOf(named.url)).length).toBeGreaterThan(0);
    expect(await pgmigrations(other.url)).toBe("pgmigrations");
    expect(await ledgerOf(other.url)).toEqual([]);
  });

  it("health's finding: the apply it says builds the vector index builds it on the named database", async () => {
    const { named, other } = await twoDatabases();
    for (const db of [named, other])
      await applyRelease({ databaseUrl: db.url, migrationsDir: DEFAULT_MIGRATIONS_DIR });
    await withClient(named.url, async (c) => {
      await c.query(
        `INSERT INTO "EmbeddingSpace" (id, provider, model, dimension) VALUES ('space', 'test', 'test-16', 16)`,
      );
      await c.query(`INSERT INTO "Organization" (id, slug, name) VALUES ('org', 'org', 'Org')`);
      await c.query(
        `INSERT INTO "Dataset" (id, "organizationId", name, slug, kind) VALUES ('docs', 'org', 'docs', 'docs', 'documents')`,
      );
    });
    const file = writeChunkFile(chunks, "few.ndjson", {
      dimension: 16,
      documents: 1,
      chunksPerDocument: 5,
      prefix: "few",
      header: { embeddingSpace: { id: "space" } },
    });
    const load = await runCli(["load-chunks", "--file", file.file, "--dataset", "docs"], {
      DATABASE_URL: named.url,
    });
    expect(load.code, load.stderr).toBe(0);

    const health = await runCli(["health", "--database-url", named.url], { DIRECT_URL: other.url });
    expect(health.code, health.stderr).toBe(2);
    const apply = printed(health.stdout, "apply", named.url);
    expect(apply).toBe(`neonhub-db apply --database-url ${urlWithoutPassword(named.url)}`);
    expect(health.stdout).toContain(`do: build it with \`${apply}\``);

    const run = await runAsPrinted(apply, named, other);
    expect(run.code, run.stderr).toBe(0);
    const vectorIndex = (url: string) =>
      withClient(url, async (c) => {
        const r = await c.query("SELECT 1 FROM pg_indexes WHERE indexname = 'idx_chunk_embedding_cosine'");
        return r.rowCount;
      });
    expect(await vectorIndex(named.url)).toBe(1);
    expect(await vectorIndex(other.url)).toBe(0);
  });

  it("an apply stopped by a signal while it waited for the release lock: the plan its fix names reads the named database", async () => {
    const { named, other } = await twoDatabases();
    const dir = fixtureMigrationsCopy();
    const holder = new Client({ connectionString: named.url });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock($1::bigint)", [RELEASE_LOCK_KEY.toString()]);
      const run = startCli(["apply", "--database-url", named.url, "--migrations-dir", dir], {
        DIRECT_URL: other.url,
      });
      await waitUntil(
        "the apply to wait for the release lock",
        async () => run.stderr().includes("waiting for the release lock"),
        { while: run.running },
      );
      run.child.kill("SIGINT");
      const stopped = await run.done;
      expect(stopped.signal, stopped.stderr).toBe("SIGINT");
      const plan = printed(stopped.stderr, "plan", named.url);
      expect(plan).toBe(
        `neonhub-db plan --database-url ${urlWithoutPassword(named.url)} --migrations-dir ${dir}`,
      );

      const read = await runAsPrinted(`${plan} --json`, named, other);
      expect(read.code, read.stderr).toBe(2);
      const document = JSON.parse(read.stdout) as { database: string; migrations: { pending: unknown[] } };
      expect(document.database).toContain(`/${named.name}`);
      expect(document.migrations.pending).toHaveLength(3);
    } finally {
      await holder.end();
    }
  });

  it("a table renamed by hand: the verify plan's schema-drift fix names reads the named database", async () => {
    const { named, other } = await twoDatabases();
    for (const db of [named, other]) {
      const apply = await runCli(["apply", "--database-url", db.url]);
      expect(apply.code, apply.stderr).toBe(0);
    }
    await withClient(named.url, (c) => c.query('ALTER TABLE "Brand" RENAME TO "BrandOld"'));

    const plan = await runCli(["plan", "--database-url", named.url], { DIRECT_URL: other.url });
    expect(plan.code).toBe(1);
    expect(plan.stderr).toContain("The live schema differs from the release's");
    const verify = printed(plan.stderr, "verify", named.url);
    expect(verify).toBe(`neonhub-db verify --database-url ${urlWithoutPassword(named.url)}`);

    const run = await runAsPrinted(verify, named, other);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stdout).toContain("BrandOld");
  });
});

describe("a command printed to run next carries what the operator gave", () => {
  it("plan's closing line: the apply it names applies the settings and seed sets planned, to the named database", async () => {
    const { named, other } = await twoDatabases();
    const chosen = ["--set", "vectorIndexes.method=hnsw", "--seed", "demo", "--row-level-security", "off"];
    const plan = await runCli(["plan", "--database-url", named.url, ...chosen], { DIRECT_URL: other.url });
    expect(plan.code, plan.stderr).toBe(2);
    const apply = printed(plan.stdout, "apply", named.url);
    expect(apply).toBe(
      `neonhub-db apply --database-url ${urlWithoutPassword(named.url)} --set vectorIndexes.method=hnsw --seed demo --row-level-security off`,
    );

    const run = await runAsPrinted(apply, named, other);
    expect(run.code, run.stderr).toBe(0);
    const status = await runCli(["status", "--database-url", named.url, "--json"]);
    expect(status.code, status.stderr).toBe(0);
    const recorded = JSON.parse(status.stdout) as {
      releaseSettings: { vectorIndexes?: { method?: string } };
      rowLevelSecurity: { mode: string }[];
      seedSets: { name: string }[];
    };
    expect(recorded.releaseSettings.vectorIndexes?.method).toBe("hnsw");
    expect(recorded.rowLevelSecurity.map((r) => r.mode)).toEqual(["off"]);
    expect(recorded.seedSets.map((s) => s.name)).toContain("demo");
    expect(await ledgerOf(other.url)).toEqual([]);
  });

  it("plan's closing line: the apply it names waits, retries and connects as the plan was told to", async () => {
    const { named, other } = await twoDatabases();
    const dir = fixtureMigrationsCopy();
    await applyRelease({ databaseUrl: named.url, migrationsDir: dir });
    writeMigration(dir, `${SPROCKETS}.sql`, 'ALTER TABLE "Widget" ADD COLUMN size int;');
    const bounds = [
      ...["--lock-timeout", "120", "--migration-lock-timeout", "0.25", "--statement-timeout", "600"],
      ...["--lock-retries", "0", "--connect-timeout", "7.5"],
    ];
    const plan = await runCli(["plan", "--database-url", named.url, "--migrations-dir", dir, ...bounds], {
      DIRECT_URL: other.url,
    });
    expect(plan.code, plan.stderr).toBe(2);
    const apply = printed(plan.stdout, "apply", named.url);
    expect(apply).toBe(
      `neonhub-db apply --database-url ${urlWithoutPassword(named.url)} --migrations-dir ${dir} ${bounds.join(" ")}`,
    );

    // A read of "Widget" held open: the printed apply's ALTER TABLE gives up after the plan's 0.25 s, without
    // a retry (run with the defaults it would wait 5 s five times over).
    const holder = new Client({ connectionString: named.url });
    await holder.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE "Widget" IN ACCESS SHARE MODE');
      const started = Date.now();
      const run = await runAsPrinted(apply, named, other);
      expect(run.code, run.stderr).toBe(1);
      expect(run.stderr).toContain(
        "could not take its lock within the lock timeout (250 ms) in 1 attempt(s)",
      );
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await holder.end();
    }
    expect(await ledgerOf(named.url)).toEqual([WIDGETS, COLOR, GADGETS]);
  });

  it("an apply whose session was ended: the apply its fix names, as it was run, completes the named database", async () => {
    const { named, other } = await twoDatabases();
    const dir = fixtureMigrationsCopy();
    writeMigration(
      dir,
      `${SPROCKETS}.sql`,
      'CREATE TABLE "Sprocket" (id text PRIMARY KEY);\nSELECT pg_sleep(60);',
    );
    const run = startCli(["apply", "--database-url", named.url, "--migrations-dir", dir], {
      DIRECT_URL: other.url,
    });
    const sleeping = () =>
      withClient(named.url, async (c) => {
        const r = await c.query(
          "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() " +
            "AND application_name = 'neonhub-db:apply' AND wait_event = 'PgSleep'",
        );
        return (r.rowCount ?? 0) > 0;
      });
    await waitUntil("the apply to sleep in its last migration", sleeping, { while: run.running });
    await withClient(named.url, (c) =>
      c.query(
        // This database's apply only: the tests beside this one run applies of their own on the same server.
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity " +
          "WHERE datname = current_database() AND application_name = 'neonhub-db:apply'",
      ),
    );
    const stopped = await run.done;
    expect(stopped.code, stopped.stderr).toBe(1);
    expect(stopped.stderr).toContain("Lost the connection to PostgreSQL");
    const apply = printed(stopped.stderr, "apply", named.url);
    expect(apply).toBe(
      `neonhub-db apply --database-url ${urlWithoutPassword(named.url)} --migrations-dir ${dir}`,
    );
    expect(stopped.stderr).toContain(
      `Check the server, then run \`${apply}\` (the password of --database-url`,
    );
    expect(await ledgerOf(named.url)).toEqual([WIDGETS, COLOR, GADGETS]);

    writeMigration(dir, `${SPROCKETS}.sql`, 'CREATE TABLE "Sprocket" (id text PRIMARY KEY);');
    const again = await runAsPrinted(apply, named, other);
    expect(again.code, again.stderr).toBe(0);
    expect(await ledgerOf(named.url)).toEqual([WIDGETS, COLOR, GADGETS, SPROCKETS]);
    expect(await ledgerOf(other.url)).toEqual([]);
  });

  it("a ledger row deleted by hand: the verify its fix names reads the named database, with its folder", async () => {
    const { named, other } = await twoDatabases();
    const dir = fixtureMigrationsCopy();
    for (const db of [named, other]) await applyRelease({ databaseUrl: db.url, migrationsDir: dir });
    await withClient(named.url, (c) =>
      c.query(`DELETE FROM neonhub_release.migrations WHERE name = '${COLOR}'`),
    );

    const status = await runCli(["status", "--database-url", named.url, "--migrations-dir", dir], {
      DIRECT_URL: other.url,
    });
    expect(status.code, status.stderr).toBe(2);
    expect(status.stdout).toContain(`Migration ${COLOR}.sql is missing from the ledger`);
    const verify = printed(status.stdout, "verify", named.url);
    expect(verify).toBe(
      `neonhub-db verify --database-url ${urlWithoutPassword(named.url)} --migrations-dir ${dir}`,
    );

    const run = await runAsPrinted(`${verify} --json`, named, other);
    const report = JSON.parse(run.stdout) as { database: string; problems: { migration: string }[] };
    expect(report.database).toContain(`/${named.name}`);
    expect(report.problems.map((p) => p.migration)).toEqual([COLOR]);
  });

  it("prisma-schema --check of a stale file: the prisma-schema its fix names writes the file from the named database", async () => {
    const { named, other } = await twoDatabases();
    await applyRelease({ databaseUrl: named.url, migrationsDir: DEFAULT_MIGRATIONS_DIR });
    const stale = path.join(scratchDir("printed-prisma-"), "schema.prisma");
    writeFileSync(
      stale,
      readFileSync(path.join(PROJECT_ROOT, "prisma", "schema.prisma"), "utf8").replace(
        /^ {2}image .*\n/m,
        "",
      ),
    );

    const check = await runCli(["prisma-schema", "--check", "--out", stale, "--database-url", named.url], {
      DIRECT_URL: other.url,
    });
    expect(check.code, check.stderr).toBe(2);
    const regenerate = printed(check.stderr, "prisma-schema", named.url);
    expect(regenerate).toBe(
      `neonhub-db prisma-schema --out ${stale} --database-url ${urlWithoutPassword(named.url)}`,
    );

    // $DIRECT_URL's database has no tables: a schema written from it would be refused.
    const run = await runAsPrinted(regenerate, named, other);
    expect(run.code, run.stderr).toBe(0);
    const again = await runCli(["prisma-schema", "--check", "--out", stale, "--database-url", named.url]);
    expect(again.code, again.stderr).toBe(0);
  });
});

describe("the password note of a fix that names two commands", () => {
  const NOTE = "(the password of --database-url is left out:";
  const count = (text: string) => text.split(NOTE).length - 1;

  it("adopt on a database no node-pg-migrate CLI migrated: baseline and apply on one URL, the note said once", async () => {
    const db = await createTestDatabase("twonotes");
    databases.push(db);
    const args = ["adopt", "--database-url", db.url];

    const text = await runCli(args);
    expect(text.code, text.stderr).toBe(1);
    const fix = text.stderr.split("\n").find((line) => line.startsWith("  fix: "))!;
    const baseline = printed(fix, "baseline", db.url);
    const apply = printed(fix, "apply", db.url);
    expect(fix).toContain(`\`${baseline}\` ${NOTE}`);
    expect(fix).toContain(`for an empty database, \`${apply}\`.`);
    expect(count(fix)).toBe(1);

    const json = await runCli([...args, "--json"]);
    expect(json.code).toBe(1);
    const { error } = JSON.parse(json.stdout) as { error: { fix: string } };
    expect(error.fix).toBe(fix.slice("  fix: ".length));
  });

  it("is kept after each command on a URL of its own, and in each message", () => {
    const note = (variable: string) =>
      ` (the password of --database-url is left out: give it in PGPASSWORD or ~/.pgpass, which are read for a URL without one, or pass the URL as "$${variable}")`;
    const two = `run \`a\`${note("DIRECT_URL")}, then \`b\`${note("ADMIN_URL")}, then \`c\`${note("DIRECT_URL")}.`;
    expect(passwordNoteOnce(two)).toBe(
      `run \`a\`${note("DIRECT_URL")}, then \`b\`${note("ADMIN_URL")}, then \`c\`.`,
    );
    const one = `run \`a\`${note("DIRECT_URL")}.`;
    expect(passwordNoteOnce(one)).toBe(one);
  });
});

describe("the options a printed command carries", () => {
  const given = {
    databaseUrl: "postgresql://migrator:pw@db.example:5432/neonhub",
    ownerRole: "neonhub_owner",
    migrationsDir: "db/migrations dir",
  };
  const printedFor = (...args: string[]) => commandOnDatabase(args, given, {}, takesFlag).command;

  it("are those the named command takes, so that it is not refused for a flag it would ignore", () => {
    expect(printedFor("apply")).toBe(
      "neonhub-db apply --database-url postgresql://migrator@db.example:5432/neonhub --owner-role neonhub_owner --migrations-dir 'db/migrations dir'",
    );
    expect(printedFor("status")).toBe(
      "neonhub-db status --database-url postgresql://migrator@db.example:5432/neonhub --migrations-dir 'db/migrations dir'",
    );
    expect(printedFor("health")).toBe(
      "neonhub-db health --database-url postgresql://migrator@db.example:5432/neonhub",
    );
  });

  it("carry the release settings and seed sets given to a command that takes them, and to no other", () => {
    const chosen = {
      ...given,
      configFile: "release.yaml",
      settings: ["vectorIndexes.method=hnsw", "vectorIndexes.lists=40"],
      seeds: ["demo"],
      rowLevelSecurity: "off",
      environment: "production",
    };
    const url = "postgresql://migrator@db.example:5432/neonhub";
    expect(commandOnDatabase(["apply"], chosen, {}, takesFlag).command).toBe(
      `neonhub-db apply --database-url ${url} --owner-role neonhub_owner --migrations-dir 'db/migrations dir' --config release.yaml --set vectorIndexes.method=hnsw --set vectorIndexes.lists=40 --seed demo --row-level-security off --environment production`,
    );
    // health judged the indexes by --config and --set: its apply builds them with those; it takes no seed set.
    expect(commandOnDatabase(["health"], chosen, {}, takesFlag).command).toBe(
      `neonhub-db health --database-url ${url} --config release.yaml --set vectorIndexes.method=hnsw --set vectorIndexes.lists=40`,
    );
    expect(commandOnDatabase(["verify"], chosen, {}, takesFlag).command).toBe(
      `neonhub-db verify --database-url ${url} --migrations-dir 'db/migrations dir'`,
    );
    // What the command names itself is not given twice.
    expect(commandOnDatabase(["plan", "--seed", "other"], { seeds: ["demo"] }, {}, takesFlag).command).toBe(
      "neonhub-db plan --seed other",
    );
  });

  it("carry the flags that bound how the run waits, retries and batches, each into the commands that take it", () => {
    const given = givenOptionsOf(
      parseArgs([
        "plan",
        ...["--lock-timeout", "90", "--migration-lock-timeout", "2.5", "--statement-timeout", "0"],
        ...["--lock-retries", "3", "--connect-timeout", "20", "--upgrade-legacy"],
        ...["--legacy-organization", "acme", "--batch-size", "500", "--max-batches", "4", "--json"],
      ]),
      {},
    );
    const printedFor = (...args: string[]) => commandOnDatabase(args, given, {}, takesFlag).command;
    const waits =
      "--lock-timeout 90 --migration-lock-timeout 2.5 --statement-timeout 0 --lock-retries 3 --connect-timeout 20";
    // The upgrade printed again: its organization when it names none, its batches; never --json.
    expect(printedFor("apply", "--upgrade-legacy", "--legacy-organization", "acme")).toBe(
      `neonhub-db apply --upgrade-legacy --legacy-organization acme ${waits} --batch-size 500 --max-batches 4`,
    );
    expect(printedFor("plan", "--upgrade-legacy")).toBe(
      `neonhub-db plan --upgrade-legacy --legacy-organization acme ${waits} --batch-size 500 --max-batches 4`,
    );
    // An apply that is no upgrade takes none of the upgrade's flags (refused without one); status and verify
    // wait for the release lock and connect as told, and take no migration lock safety.
    expect(printedFor("apply")).toBe(`neonhub-db apply ${waits}`);
    expect(printedFor("status")).toBe("neonhub-db status --lock-timeout 90 --connect-timeout 20");
    // An upgrade the release settings ask for: a plan or apply with them takes its batches.
    const bySetting = givenOptionsOf(
      parseArgs(["apply", "--set", "legacyUpgrade.organization=acme", "--batch-size", "500"]),
      { legacyUpgrade: { organization: "acme" } },
    );
    expect(commandOnDatabase(["apply"], bySetting, {}, takesFlag).command).toBe(
      "neonhub-db apply --set legacyUpgrade.organization=acme --batch-size 500",
    );
    expect(commandOnDatabase(["verify"], bySetting, {}, takesFlag).command).toBe("neonhub-db verify");
  });

  it("the command as it was run, for a lost connection's fix: every argument, the URL without its password", () => {
    const argv = [
      "revert",
      "--to",
      "x",
      "--confirm",
      "--expect-last",
      "y",
      `--database-url=${given.databaseUrl}`,
    ];
    expect(commandAsRun(argv, {})).toEqual({
      command:
        "neonhub-db revert --to x --confirm --expect-last y --database-url=postgresql://migrator@db.example:5432/neonhub",
      passwordNote: expect.stringContaining("PGPASSWORD"),
    });
    expect(
      commandAsRun(["apply", "--database-url", given.databaseUrl], { DIRECT_URL: given.databaseUrl }),
    ).toEqual({
      command: `neonhub-db apply --database-url "$DIRECT_URL"`,
    });
  });

  it("the command as run with flags in its own values' place, for a statement timeout's fix: each form of the flag replaced", () => {
    const raised = ["--statement-timeout", "<seconds>"];
    const argv = [
      "revert",
      "--to",
      "x",
      "--confirm",
      "--statement-timeout",
      "0.2",
      "--statement-timeout=0.3",
      "--json",
    ];
    expect(commandAsRun(argv, {}, raised).command).toBe(
      "neonhub-db revert --to x --confirm --json --statement-timeout '<seconds>'",
    );
    // A revert stopped part way: its confirm with the ledger's last, with them too.
    expect(revertConfirmCommand([...argv, "--expect-last", "z"], "y", {}, raised).command).toBe(
      "neonhub-db revert --to x --json --statement-timeout '<seconds>' --confirm --expect-last y",
    );
    // Without them, as it ran.
    expect(commandAsRun(argv, {}).command).toBe(
      "neonhub-db revert --to x --confirm --statement-timeout 0.2 --statement-timeout=0.3 --json",
    );
  });

  it("name the URL by its variable when it is $DIRECT_URL's, and carry nothing that was not given", () => {
    expect(commandOnDatabase(["verify"], given, { DIRECT_URL: given.databaseUrl }, takesFlag)).toEqual({
      command: `neonhub-db verify --database-url "$DIRECT_URL" --migrations-dir 'db/migrations dir'`,
    });
    expect(commandOnDatabase(["plan", "--json"], {}, {}, takesFlag)).toEqual({
      command: "neonhub-db plan --json",
    });
  });
});
