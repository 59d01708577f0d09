// The providers' reads behind a session holding ACCESS EXCLUSIVE on a table they read, through @pulumi/pulumi's
// dynamic-provider host against a real PostgreSQL: `check` (a preview) and `read` (a refresh) wait at most the
// stack's lock timeout (releaseLockTimeoutSeconds, the resources' lockTimeoutMs), then fail with the engine's
// `lock-timeout` error naming the table, the blocking session and its end, as the CLI's read commands do, and
// write nothing. The locks are real, held by a session of the test; nothing is mocked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildReleaseManifest } from "../../core";
import { manifestMap } from "../../infra/dynamic/part-args";
import { fingerprint } from "../support/db-fingerprint";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { HOLDER_APPLICATION, whileLocked } from "./support/lock-holder";
import type { ProviderHost, Props } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { hostReaching, releaseInputsFor } from "./support/release-host";
import { urnOf } from "./support/release-inputs";

const MIGRATIONS = urnOf("migrations", "lock-wait-migrations");
const INDEXES = urnOf("vectorIndexes", "lock-wait-vector-indexes");
const LEDGER = "neonhub_release.migrations";
const WIDGET = '"Widget"';
/** Far beyond the 3 s bound (and the watcher's first look, after a second): reaching it means no bound. */
const TEST_LIMIT_MS = 30_000;

/** The engine's lock-timeout error, in the stack's words: the bound's key, the blocker, its end, the rerun. */
function expectLockTimeout(text: string, expected: { table: string; pid: number; rerun: string }): void {
  expect(text).toMatch(
    /^(plan|status|verify) gave up waiting for a lock after 3 s \(neonhub-db:releaseLockTimeoutSeconds\)/,
  );
  expect(text).toContain(`on ${expected.table}, blocked by pid ${expected.pid}`);
  expect(text).toContain(`application "${HOLDER_APPLICATION}"`);
  expect(text).toContain(`Run ${expected.rerun} again when that session has finished`);
  expect(text).toContain("raise neonhub-db:releaseLockTimeoutSeconds");
  expect(text).toContain(`SELECT pg_terminate_backend(${expected.pid})`);
  expect(text).not.toContain("--lock-timeout");
}

describe("the providers' reads behind a table lock another session holds", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let dir: string;
  let migrations: Props;
  let indexes: Props;
  let created: { id: string; properties: Props };

  beforeAll(async () => {
    db = await createReleaseDatabase({ extensions: true });
    dir = fixtureMigrationsCopy();
    const inputs = await releaseInputsFor("lock-wait", db, { migrationsDir: dir, lockTimeoutMs: 3_000 });
    migrations = inputs.migrations;
    indexes = inputs.vectorIndexes;
    host = await hostReaching(db);
    created = await host.create(MIGRATIONS, migrations);
    // Pending, and not CONCURRENTLY: the preview's safety lint weighs "Widget" (its rows and size).
    writeMigration(dir, "20250101000400_widget_name.sql", `CREATE INDEX widget_name ON ${WIDGET} (name);`);
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  const pendingInputs = () => ({
    ...migrations,
    migrations: manifestMap(buildReleaseManifest({ migrationsDir: dir }).migrations),
  });

  it("carries the stack's lock timeout to the resources", () => {
    expect(migrations.lockTimeoutMs).toBe(3_000);
    expect(created.properties.lockTimeoutMs).toBe(3_000);
  });

  for (const table of [LEDGER, WIDGET]) {
    it(
      `fails the migrations' check (preview) behind ${table}, naming the blocker; nothing written`,
      async () => {
        const before = await fingerprint(db.superuserUrl);
        await whileLocked(db.superuserUrl, table, async (pid) => {
          const checked = await host.check(MIGRATIONS, {}, pendingInputs());
          expect(checked.failures).toHaveLength(1);
          expect(checked.failures[0]!.property).toBe("");
          expectLockTimeout(checked.failures[0]!.reason, {
            table,
            pid,
            rerun: "`pulumi preview --stack test` (or `pulumi up --stack test`)",
          });
        });
        expect(await fingerprint(db.superuserUrl)).toEqual(before);
      },
      TEST_LIMIT_MS,
    );

    it(
      `fails the migrations' read (refresh) behind ${table}, naming the blocker; nothing written`,
      async () => {
        const before = await fingerprint(db.superuserUrl);
        await whileLocked(db.superuserUrl, table, async (pid) => {
          const failure = await host.read(MIGRATIONS, created.id, created.properties).then(
            () => undefined,
            (error: unknown) => error as Error,
          );
          expect(failure, "read did not fail").toBeInstanceOf(Error);
          expectLockTimeout(failure!.message, { table, pid, rerun: "`pulumi refresh --stack test`" });
        });
        expect(await fingerprint(db.superuserUrl)).toEqual(before);
      },
      TEST_LIMIT_MS,
    );
  }

  it(
    "fails the vector indexes' check behind the ledger, rather than previewing without the data",
    async () => {
      await whileLocked(db.superuserUrl, LEDGER, async (pid) => {
        const checked = await host.check(INDEXES, {}, indexes);
        expect(checked.failures).toHaveLength(1);
        expect(checked.failures[0]!.property).toBe("");
        expectLockTimeout(checked.failures[0]!.reason, {
          table: LEDGER,
          pid,
          rerun: "`pulumi preview --stack test` (or `pulumi up --stack test`)",
        });
      });
    },
    TEST_LIMIT_MS,
  );

  it("reads as before once the lock is gone", async () => {
    const checked = await host.check(MIGRATIONS, {}, pendingInputs());
    expect(checked.failures).toEqual([]);
    const read = await host.read(MIGRATIONS, created.id, created.properties);
    expect(read.properties.appliedMigrations).toBe(3);
  });
});
