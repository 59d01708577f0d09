// A prepared transaction holding the release lock, through the dynamic-provider host: `pulumi up` would wait for
// it and fail, since no session ends it, so the preview's check fails with it as plan is blocked by it (its
// top-level problems), naming the transaction and the COMMIT PREPARED / ROLLBACK PREPARED that finishes it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RELEASE_LOCK_KEY } from "../../core";
import { withClient } from "../support/database";
import { fixtureMigrationsCopy } from "../support/fixtures";
import type { ProviderHost, Props } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { hostReaching, releaseInputsFor } from "./support/release-host";
import { urnOf } from "./support/release-inputs";

describe("the release lock held by a prepared transaction", () => {
  const URN = urnOf("migrations", "prepared-lock-migrations");
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let inputs: Props;

  beforeAll(async () => {
    db = await createReleaseDatabase();
    inputs = (await releaseInputsFor("prepared-lock", db, { migrationsDir: fixtureMigrationsCopy() }))
      .migrations;
    host = await hostReaching(db);
    await host.create(URN, inputs);
  });
  afterEach(async () => {
    await withClient(db.superuserUrl, async (c) => {
      const { rows } = await c.query<{ gid: string }>(
        "SELECT gid FROM pg_prepared_xacts WHERE database = current_database()",
      );
      for (const { gid } of rows) await c.query(`ROLLBACK PREPARED '${gid}'`);
    });
  });
  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("fails the preview's check, naming it and how to finish it; finished, the check passes", async () => {
    expect((await host.check(URN, inputs, inputs)).failures).toEqual([]);
    await withClient(db.superuserUrl, async (c) => {
      await c.query("BEGIN");
      await c.query(`SELECT pg_advisory_xact_lock(${RELEASE_LOCK_KEY})`);
      await c.query("PREPARE TRANSACTION 'preview-2pc'");
    });
    const checked = await host.check(URN, inputs, inputs);
    expect(checked.failures).toHaveLength(1);
    expect(checked.failures[0]!.reason).toMatch(
      /^the release lock is held by prepared transaction 'preview-2pc' \(.*\), not by a release: apply would wait for it and fail, as long as it is not finished\. fix: .*COMMIT PREPARED 'preview-2pc' or ROLLBACK PREPARED 'preview-2pc'/,
    );
    await withClient(db.superuserUrl, (c) => c.query("ROLLBACK PREPARED 'preview-2pc'"));
    expect((await host.check(URN, inputs, inputs)).failures).toEqual([]);
  });
});
