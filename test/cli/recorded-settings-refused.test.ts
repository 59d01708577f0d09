// A release setting the database recorded under an earlier version that this one refuses: 1.5 as
// vectorIndexes.maxMaintenanceWorkMem, accepted until it had to be a whole number of MB. Upgrading such a
// database, plan and apply failed with the error of a mistake in settings nobody gave this run ("must be a
// whole number of MB (got 1.5)", with an example), apply only after it had run the pending migrations, and
// status (which takes no settings) failed the same way. The refusal now names the record, apply makes it
// before its first write, status shows the records, and giving the setting is the way through.
import { copyFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, type ReleaseStatus } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { scratchDir } from "../support/scratch";

const NAME = "vectorIndexes.maxMaintenanceWorkMem";
const REFUSED =
  `${NAME} as the last release recorded it (neonhub_release.release_settings) must be a whole number of MB ` +
  `(got 1.5): an earlier version of neonhub-db accepted it, this one does not. Nothing was changed.`;

describe("a recorded release setting this version refuses", () => {
  const db = useTestDatabase("recset");
  const cli = (...args: string[]) => runCli(args, { DATABASE_URL: db.current.url });
  const ledgerRows = () =>
    withClient(db.current.url, async (c) =>
      Number((await c.query(`SELECT count(*) AS n FROM neonhub_release.migrations`)).rows[0].n),
    );
  const files = readdirSync(DEFAULT_MIGRATIONS_DIR)
    .filter((f) => f.endsWith(".sql"))
    .sort();

  beforeAll(async () => {
    await withClient(db.current.url, (c) => c.query("CREATE EXTENSION IF NOT EXISTS vector"));
    // Released without the newest migration, which the upgrade then has pending.
    const older = scratchDir("recorded-settings-");
    for (const file of files.slice(0, -1)) {
      copyFileSync(path.join(DEFAULT_MIGRATIONS_DIR, file), path.join(older, file));
    }
    const run = await cli("apply", "--migrations-dir", older);
    expect(run.code, run.stderr).toBe(0);
    // What an earlier version recorded when given --set vectorIndexes.maxMaintenanceWorkMem=1.5.
    await withClient(db.current.url, (c) =>
      c.query(
        `UPDATE neonhub_release.release_settings SET value = jsonb_set(value, '{maxMaintenanceWorkMem}', '1.5')
          WHERE section = 'vectorIndexes'`,
      ),
    );
  }, 180_000);

  it("apply refuses it as the record's, before it applies the pending migration", async () => {
    const run = await cli("apply");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`neonhub-db: error: ${REFUSED}`);
    expect(run.stderr).toContain(`fix: Give ${NAME} for this run, in the release settings`);
    expect(run.stderr).toContain(`--set ${NAME}=<value>`);
    expect(run.stderr).not.toContain("applied in");
    expect(await ledgerRows()).toBe(files.length - 1);
  });

  it("plan refuses it alike (exit 1, the same error in --json); status shows the records", async () => {
    const plan = await cli("plan", "--json");
    expect(plan.code).toBe(1);
    expect((JSON.parse(plan.stdout) as { error: { message: string } }).error.message).toBe(REFUSED);
    const status = await cli("status", "--json");
    expect(status.code, status.stderr).toBe(0);
    const parsed = JSON.parse(status.stdout) as ReleaseStatus;
    expect(parsed.releaseSettings.vectorIndexes).toMatchObject({ maxMaintenanceWorkMem: 1.5 });
    expect(parsed.ledger).toHaveLength(files.length - 1);
  });

  it("apply goes through with the setting given, and records it in place of the refused one", async () => {
    const run = await cli("apply", "--set", `${NAME}=1GB`);
    expect(run.code, run.stderr).toBe(0);
    expect(await ledgerRows()).toBe(files.length);
    const status = JSON.parse((await cli("status", "--json")).stdout) as ReleaseStatus;
    expect(status.releaseSettings.vectorIndexes).toMatchObject({ maxMaintenanceWorkMem: "1GB" });
    const plan = await cli("plan");
    expect(plan.code, plan.stderr).toBe(0);
  });
});
