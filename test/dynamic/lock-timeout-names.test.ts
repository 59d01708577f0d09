// The providers' writes behind a lock another session holds, through @pulumi/pulumi's dynamic-provider host
// against a real PostgreSQL: `pulumi up` behind another release's lock and behind a table a pending migration
// alters, and `pulumi destroy` (dropOnDelete) behind the ledger and behind a table a Down section drops. Each
// waits as long as the stack's settings say and fails naming the stack's config keys and the pulumi command to
// run again, never the CLI's flags (those words are the CLI tests'). The locks are real, held by a session of
// the test; nothing is mocked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RELEASE_LOCK_KEY, buildReleaseManifest } from "../../core";
import { manifestMap } from "../../infra/dynamic/part-args";
import { withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { HOLDER_APPLICATION, whileHolding, whileLocked } from "./support/lock-holder";
import type { ProviderHost, Props } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { hostReaching, releaseInputsFor } from "./support/release-host";
import { urnOf } from "./support/release-inputs";

const MIGRATIONS = urnOf("migrations", "lock-name-migrations");
const LEDGER = "neonhub_release.migrations";
/** The stack's release lock timeout (releaseLockTimeoutSeconds: 3). */
const RELEASE_LOCK_TIMEOUT_MS = 3_000;
/**
 * The stack's migrations' lock timeout and retries (migrationLockTimeoutSeconds: 2, migrationLockRetries: 1),
 * apart from the engine's defaults (5 s, 5 retries), which a message ignoring the stack would show. Over the
 * second after which a bounded read starts watching whom it waits for, so that its error names the blocker.
 */
const LOCK_SAFETY = { lockTimeoutMs: 2_000, lockRetries: 1, retryBaseDelayMs: 100, retryMaxDelayMs: 200 };
const CLI_FLAGS = ["--lock-timeout", "--migration-lock-timeout", "--lock-retries"];
/** Far beyond each bound: reaching it means the stack's bound was not the one waited. */
const TEST_LIMIT_MS = 30_000;

/** The error a provider method failed with (the host's text: the engine's message and fix). */
async function failureOf(call: Promise<unknown>): Promise<string> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error, "the call did not fail").toBeInstanceOf(Error);
  return error!.message;
}

function expectNoCliFlag(text: string): void {
  for (const flag of CLI_FLAGS) expect(text).not.toContain(flag);
}

describe("the providers' lock timeouts name the stack's settings", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let dir: string;
  let inputs: Props;
  let created: { id: string; properties: Props };

  beforeAll(async () => {
    db = await createReleaseDatabase();
    dir = fixtureMigrationsCopy();
    const captured = await releaseInputsFor("lock-names", db, {
      migrationsDir: dir,
      lockTimeoutMs: RELEASE_LOCK_TIMEOUT_MS,
      lockSafety: LOCK_SAFETY,
      dropOnDelete: true,
    });
    inputs = captured.migrations;
    host = await hostReaching(db);
    created = await host.create(MIGRATIONS, inputs);
    // Pending: adding a column takes ACCESS EXCLUSIVE on "Widget".
    writeMigration(dir, "20250101000400_widget_size.sql", 'ALTER TABLE "Widget" ADD COLUMN size int;');
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  const pendingInputs = () => ({
    ...inputs,
    migrations: manifestMap(buildReleaseManifest({ migrationsDir: dir }).migrations),
  });
  const ledgerCount = () =>
    withClient(db.superuserUrl, async (c) => (await c.query(`SELECT 1 FROM ${LEDGER}`)).rowCount);

  it(
    "up behind another release's lock: names releaseLockTimeoutSeconds and the stack's `pulumi up`",
    async () => {
      const lock = `SELECT pg_advisory_xact_lock(${RELEASE_LOCK_KEY.toString()}::bigint)`;
      const text = await whileHolding(db.superuserUrl, lock, async (pid) => {
        const text = await failureOf(
          host.update(MIGRATIONS, created.id, created.properties, pendingInputs()),
        );
        expect(text).toContain(`Another release holds the lock on this database (pid ${pid}`);
        expect(text).toContain(`gave up after ${RELEASE_LOCK_TIMEOUT_MS / 1000} s`);
        return text;
      });
      expect(text).toContain(
        "Wait for it to finish and run `pulumi up --stack test` again, or raise the wait with neonhub-db:releaseLockTimeoutSeconds.",
      );
      expectNoCliFlag(text);
      expect(await ledgerCount()).toBe(3);
    },
    TEST_LIMIT_MS,
  );

  it(
    "up whose migration times out on its lock after its retries: names the migrations' keys and the stack's `pulumi up`",
    async () => {
      // ACCESS SHARE (an application's read left open): the checks before the first write read "Widget"
      // alongside it, the migration's ALTER TABLE waits for it.
      const lock = 'LOCK TABLE "Widget" IN ACCESS SHARE MODE';
      const text = await whileHolding(db.superuserUrl, lock, async (pid) => {
        const text = await failureOf(
          host.update(MIGRATIONS, created.id, created.properties, pendingInputs()),
        );
        expect(text).toContain(
          `Migration 20250101000400_widget_size.sql could not take its lock within the lock timeout (${LOCK_SAFETY.lockTimeoutMs} ms) in ${LOCK_SAFETY.lockRetries + 1} attempt(s)`,
        );
        expect(text).toContain(`blocked by pid ${pid}`);
        expect(text).toContain(`application "${HOLDER_APPLICATION}"`);
        return text;
      });
      expect(text).toContain(
        "Run `pulumi up --stack test` again when that session has finished, or raise neonhub-db:migrationLockTimeoutSeconds / neonhub-db:migrationLockRetries.",
      );
      expectNoCliFlag(text);
      expect(await ledgerCount()).toBe(3);
    },
    TEST_LIMIT_MS,
  );

  it(
    "destroy (dropOnDelete) behind the ledger: waits migrationLockTimeoutSeconds, names it and the stack's `pulumi destroy`",
    async () => {
      const text = await whileLocked(db.superuserUrl, LEDGER, async (pid) => {
        const text = await failureOf(host.delete(MIGRATIONS, created.id, created.properties));
        expect(text).toContain(`on ${LEDGER}, blocked by pid ${pid}`);
        return text;
      });
      expect(text).toMatch(
        /^revert gave up waiting for a lock after 2 s \(neonhub-db:migrationLockTimeoutSeconds\)/,
      );
      expect(text).toContain(
        "Nothing was written. Run `pulumi destroy --stack test` again when that session has finished, or raise neonhub-db:migrationLockTimeoutSeconds.",
      );
      expectNoCliFlag(text);
      expect(await ledgerCount()).toBe(3);
    },
    TEST_LIMIT_MS,
  );

  it(
    "destroy of a state recorded before the stack's name was kept: names `<stack>` to run again, and which stack it is once",
    async () => {
      const { stack: _stack, ...recordedBefore } = created.properties;
      const text = await whileLocked(db.superuserUrl, LEDGER, () =>
        failureOf(host.delete(MIGRATIONS, created.id, recordedBefore)),
      );
      // Not the bare `pulumi destroy`, which would act on whichever stack is selected.
      expect(text).toContain(
        "Nothing was written. Run `pulumi destroy --stack <stack>` (<stack> is the stack `pulumi destroy` runs for: " +
          "this state was recorded before the schema release kept its stack's name (the next `pulumi up` records it)) again " +
          "when that session has finished, or raise neonhub-db:migrationLockTimeoutSeconds.",
      );
      expect(text.split("<stack> is the stack")).toHaveLength(2);
      expect(await ledgerCount()).toBe(3);
    },
    TEST_LIMIT_MS,
  );

  it(
    "destroy (dropOnDelete) whose Down section times out on its lock after its retries: names the migrations' keys and the stack's `pulumi destroy`",
    async () => {
      // An application's read left open on the table the newest Down section drops.
      const lock = 'LOCK TABLE "Gadget" IN ACCESS SHARE MODE';
      const text = await whileHolding(db.superuserUrl, lock, async (pid) => {
        const text = await failureOf(host.delete(MIGRATIONS, created.id, created.properties));
        expect(text).toContain(
          `Reverting migration 20250101000300_gadgets.sql could not take its lock within the lock timeout (${LOCK_SAFETY.lockTimeoutMs} ms) in ${LOCK_SAFETY.lockRetries + 1} attempt(s)`,
        );
        expect(text).toContain(`blocked by pid ${pid}`);
        expect(text).toContain(`application "${HOLDER_APPLICATION}"`);
        return text;
      });
      expect(text).toContain("so it is still applied and its ledger row stays");
      expect(text).toContain(
        "Run `pulumi destroy --stack test` again when that session has finished, or raise neonhub-db:migrationLockTimeoutSeconds / neonhub-db:migrationLockRetries.",
      );
      expectNoCliFlag(text);
      expect(await ledgerCount()).toBe(3);
    },
    TEST_LIMIT_MS,
  );

  it("drops once the lock is gone", async () => {
    await host.delete(MIGRATIONS, created.id, created.properties);
    await host.waitFor("3 migration(s) reverted");
  });
});
