// Settings a DBA gives the migrator's role, the database or a URL's options for apps, which every session of
// the CLI and the engine sets back with its first query (core/session-settings.ts): each was reproduced
// through the CLI first, then is checked here on a released database, set where the DBA would set it.
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyRelease,
  closeClient,
  defaultReleaseSteps,
  openClient,
  parseDatabaseUrl,
  quoteIdentifier,
} from "../../core";
import { runCli, type CliRun } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { repoMigrationsUpTo, writeMigration } from "../support/fixtures";
import { createAccessRoles, dropAccessRoles, type AccessRoles } from "../support/roles";
import { chunkFileDir, writeChunkFile } from "../seeds/chunk-files";

const ALL_MIGRATIONS = 100_000;
/** The settings for apps, as a DBA sets them for the role, the database or in the URL's options. */
const FOR_APPS = {
  lock_timeout: "1s",
  idle_in_transaction_session_timeout: "1s",
  idle_session_timeout: "1s",
  default_transaction_isolation: "serializable",
  default_transaction_deferrable: "on",
  session_replication_role: "replica",
};
/** What every session of the engine reads instead. */
const ENGINE_READS = {
  lock_timeout: "0",
  idle_in_transaction_session_timeout: "0",
  idle_session_timeout: "0",
  default_transaction_isolation: "read committed",
  default_transaction_deferrable: "off",
  session_replication_role: "origin",
};
const SETTINGS_READ = `SELECT ${Object.keys(FOR_APPS)
  .map((name) => `current_setting('${name}') AS ${name}`)
  .join(", ")}`;

const optionsUrl = (url: string, settings: Record<string, string>) =>
  `${url}?options=${encodeURIComponent(
    Object.entries(settings)
      .map(([name, value]) => `-c ${name}=${value}`)
      .join(" "),
  )}`;

/** Polls (at most a minute) until `check` holds. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`gave up waiting until ${what}`);
}

describe("settings for apps on the migrator's role, the database or the URL's options", () => {
  let db: TestDatabase;
  let roles: AccessRoles;
  const dir = repoMigrationsUpTo(ALL_MIGRATIONS);
  const chunks = chunkFileDir();
  const migrator = () => roles.url("migrator");
  const admin = <T>(fn: (client: Client) => Promise<T>) => withClient(db.url, fn);

  /** Sets (value) or resets (null) a setting of the migrator's role in the test database. */
  const roleSetting = (name: string, value: string | null) =>
    admin((c) =>
      c.query(
        `ALTER ROLE ${quoteIdentifier(roles.names.migrator)} IN DATABASE ${quoteIdentifier(db.name)} ` +
          (value === null ? `RESET ${name}` : `SET ${name} = '${value}'`),
      ),
    );

  /** Whether an apply's session waits for a lock (the holder's) in a statement that starts with `statement`. */
  const applyWaits = (statement: string) =>
    admin(async (c) => {
      const { rowCount } = await c.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'neonhub-db:apply'
            AND wait_event_type = 'Lock' AND query ILIKE $1`,
        [`%${statement}%`],
      );
      return (rowCount ?? 0) > 0;
    });

  const ledgerRows = () =>
    admin(async (c) => (await c.query("SELECT 1 FROM neonhub_release.migrations")).rowCount);
  const chunkCount = () =>
    admin(async (c) => (await c.query<{ n: number }>('SELECT count(*)::int AS n FROM "Chunk"')).rows[0]!.n);
  const errorOf = (run: CliRun) =>
    (JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } }).error;

  beforeAll(async () => {
    db = await createTestDatabase("appsettings");
    roles = await createAccessRoles(db);
    await applyRelease({
      databaseUrl: migrator(),
      migrationsDir: dir,
      steps: defaultReleaseSteps({ seedSets: ["demo"] }),
    });
  });
  afterAll(async () => {
    await dropTestDatabase(db);
    await dropAccessRoles(db, roles);
  });

  it("are set back with the session's first query, whatever its shape: plain, with parameters, or BEGIN", async () => {
    const url = optionsUrl(db.url, FOR_APPS); // the admin: a superuser may set session_replication_role
    const open = () => openClient(parseDatabaseUrl(url, "--database-url"), { applicationName: "test" });
    const plain = await open();
    const withParameters = await open();
    const transaction = await open();
    try {
      expect((await plain.query(SETTINGS_READ)).rows[0]).toEqual(ENGINE_READS);
      expect((await withParameters.query(`${SETTINGS_READ}, $1::int AS n`, [1])).rows[0]).toEqual({
        ...ENGINE_READS,
        n: 1,
      });
      // A BEGIN sent in the same message as the settings would keep the isolation level the session began with.
      await transaction.query("BEGIN");
      const inside = await transaction.query<{ level: string; deferrable: string }>(
        "SELECT current_setting('transaction_isolation') AS level, current_setting('transaction_deferrable') AS deferrable",
      );
      expect(inside.rows[0]).toEqual({ level: "read committed", deferrable: "off" });
      await transaction.query("COMMIT");
    } finally {
      await Promise.all([plain, withParameters, transaction].map(closeClient));
    }
  });

  it("idle timeouts on the role end no session of the engine's, idle or in a transaction", async () => {
    await roleSetting("idle_in_transaction_session_timeout", "1s");
    await roleSetting("idle_session_timeout", "1s");
    const target = parseDatabaseUrl(migrator(), "--database-url");
    const engine = await openClient(target, { applicationName: "neonhub-db:test" });
    const idle = await openClient(target, { applicationName: "neonhub-db:test" });
    // The same login without the engine's settings: the server ends it, which shows the timeouts are on.
    const app = new Client({ connectionString: migrator(), application_name: "app-with-timeouts" });
    app.on("error", () => {});
    try {
      await engine.query("BEGIN");
      await idle.query("SELECT 1");
      await app.connect();
      await app.query("BEGIN");
      const appPid = (await app.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid;
      // The engine's sessions have been idle longer than the app's once the server has ended the app's.
      await until("the server ended the app's idle transaction", () =>
        admin(
          async (c) =>
            (await c.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [appPid])).rowCount === 0,
        ),
      );
      expect((await engine.query<{ n: number }>("SELECT 1 AS n")).rows).toEqual([{ n: 1 }]);
      await engine.query("COMMIT");
      expect((await idle.query<{ n: number }>("SELECT 1 AS n")).rows).toEqual([{ n: 1 }]);
    } finally {
      await Promise.all([closeClient(engine), closeClient(idle), app.end().catch(() => {})]);
      await roleSetting("idle_in_transaction_session_timeout", null);
      await roleSetting("idle_session_timeout", null);
    }
  });

  it("a lock_timeout on the role fails no index build that waits for an app's write", async () => {
    await roleSetting("lock_timeout", "100ms");
    await admin((c) => c.query("DROP INDEX idx_chunk_embedding_cosine"));
    const holder = new Client({ connectionString: db.url, application_name: "app-writer" });
    await holder.connect();
    try {
      await holder.query(`BEGIN; LOCK TABLE "Chunk" IN ROW EXCLUSIVE MODE`);
      const apply = runCli(["apply", "--json", "--seed", "demo", "--migrations-dir", dir], {
        DATABASE_URL: migrator(),
      });
      await until("the index build waits for the app's write", () => applyWaits("CREATE INDEX"));
      // Well past the role's 100 ms: a build under it would have failed with "canceling statement due to lock timeout".
      await sleep(1_000);
      await holder.query("COMMIT");
      const run = await apply;
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const index = await admin((c) =>
        c.query(
          "SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = 'idx_chunk_embedding_cosine'::regclass",
        ),
      );
      expect(index.rows).toEqual([{ valid: true }]);
    } finally {
      await holder.end();
      await roleSetting("lock_timeout", null);
    }
  });

  it("serializable on the role fails no migration whose backfill waits for a row an app updates", async () => {
    await roleSetting("default_transaction_isolation", "serializable");
    writeMigration(dir, "20990101000000_touch_chunks.sql", 'UPDATE "Chunk" SET text = text;');
    const holder = new Client({ connectionString: db.url, application_name: "app-writer" });
    await holder.connect();
    try {
      await holder.query(
        `BEGIN; UPDATE "Chunk" SET text = text || '' WHERE id = (SELECT min(id) FROM "Chunk")`,
      );
      const apply = runCli(["apply", "--json", "--seed", "demo", "--migrations-dir", dir], {
        DATABASE_URL: migrator(),
      });
      await until("the migration waits for the app's row", () => applyWaits('UPDATE "Chunk"'));
      await holder.query("COMMIT");
      const run = await apply;
      // Under serializable: "could not serialize access due to concurrent update", and a fix to fix the file.
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(JSON.stringify(JSON.parse(run.stdout))).toContain("20990101000000_touch_chunks");
    } finally {
      await holder.end();
      await roleSetting("default_transaction_isolation", null);
    }
  });

  describe("session_replication_role = replica, which no trigger and no foreign key check fires under", () => {
    const file = () =>
      writeChunkFile(chunks, "replica.ndjson", {
        dimension: 3072,
        documents: 1,
        chunksPerDocument: 2,
        prefix: "replica",
      }).file;
    const load = (url: string) =>
      runCli(["load-chunks", "--json", "--file", file(), "--dataset", "demo-dataset", "--append"], {
        DATABASE_URL: url,
      });

    it("is refused naming the setting and the fix when the login may not set it back: on the role", async () => {
      await admin((c) =>
        c.query(`ALTER ROLE ${quoteIdentifier(roles.names.migrator)} SET session_replication_role = replica`),
      );
      try {
        const [chunksBefore, ledgerBefore] = [await chunkCount(), await ledgerRows()];
        for (const run of [
          await load(migrator()),
          await runCli(["apply", "--json", "--seed", "demo", "--migrations-dir", dir], {
            DATABASE_URL: migrator(),
          }),
          await runCli(["plan", "--json", "--migrations-dir", dir], { DATABASE_URL: migrator() }),
        ]) {
          expect(run.code).toBe(1);
          expect(run.stderr).not.toMatch(/unexpected error|\n\s+at /);
          const error = errorOf(run);
          expect(error.code).toBe("permission");
          const login = quoteIdentifier(roles.names.migrator);
          expect(error.message).toContain(
            `The session of ${login} starts with session_replication_role set to replica or local`,
          );
          expect(error.message).toContain("Nothing was written.");
          expect(error.fix).toContain(`ALTER ROLE ${login} RESET session_replication_role`);
          expect(error.fix).not.toContain(roles.password);
        }
        expect([await chunkCount(), await ledgerRows()]).toEqual([chunksBefore, ledgerBefore]);
      } finally {
        await admin((c) =>
          c.query(`ALTER ROLE ${quoteIdentifier(roles.names.migrator)} RESET session_replication_role`),
        );
      }
    });

    it("is refused the same way in the URL's options, which the server refuses at login", async () => {
      const run = await load(optionsUrl(migrator(), { session_replication_role: "replica" }));
      expect(run.code).toBe(1);
      const error = errorOf(run);
      expect(error.code).toBe("permission");
      expect(error.fix).toContain("RESET session_replication_role");
    });

    it("is set back to origin for a login that may: the tables' triggers fire for load-chunks", async () => {
      const before = await chunkCount();
      const run = await load(optionsUrl(db.url, { session_replication_role: "replica" }));
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(await chunkCount()).toBe(before + 2);
      // Filled by the tables' triggers (the tenant column, the embedding's bits).
      const loaded = await admin((c) =>
        c.query(
          `SELECT "organizationId" AS org, "embeddingBits" IS NOT NULL AS bits FROM "Chunk" WHERE "documentId" LIKE 'replica-%'`,
        ),
      );
      expect(loaded.rows).toEqual([
        { org: "demo-org", bits: true },
        { org: "demo-org", bits: true },
      ]);
    });
  });
});
