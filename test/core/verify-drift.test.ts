// What verify sees beyond the schema's shape: owners, grants, default privileges, row-level security flags,
// storage settings and extension versions, each drift named with the statement that repairs it. The drift is
// made by hand on a released database (the access layer's roles, the project's migrations, the demo seeds);
// the repair verify names is then run, and verify must be clean again.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  defaultReleaseSteps,
  verifyRelease,
  type RowLevelSecurityMode,
  type VerifyReport,
} from "../../core";
import { applyAsMigrator, useReleasedDatabase } from "../security/released-database";
import { runCli } from "../support/cli";

const target = useReleasedDatabase("verifydrift", { seedSets: ["demo"] });
let admin: Client;

const steps = (rowLevelSecurity?: RowLevelSecurityMode) =>
  defaultReleaseSteps({ seedSets: ["demo"], rowLevelSecurity });
const options = () => ({
  databaseUrl: target.current.roles.url("migrator"),
  migrationsDir: DEFAULT_MIGRATIONS_DIR,
  ownerRole: target.current.roles.names.owner,
  steps: steps(),
});
const names = () => target.current.roles.names;

/** The drift verify reports: every drifted key → its repair ("" when it has none). */
function driftOf(report: VerifyReport): Record<string, string> {
  const { added, removed, changed, repairs } = report.drift;
  return Object.fromEntries([...added, ...removed, ...changed].map((k) => [k, repairs[k] ?? ""]));
}

/** Makes a drift by hand, expects verify to name exactly `expected` (key → repair), runs the repair, expects clean. */
async function driftAndRepair(drift: string, expected: Record<string, string>): Promise<void> {
  await admin.query(drift);
  const report = await verifyRelease(options());
  expect(report.clean).toBe(false);
  expect(driftOf(report)).toEqual(expected);
  for (const repair of Object.values(expected)) await admin.query(repair);
  expect(await verifyRelease(options())).toMatchObject({
    clean: true,
    drift: { added: [], removed: [], changed: [] },
  });
}

beforeAll(async () => {
  // The cluster's superuser: a hand may do anything, and the drift tests must reach every kind.
  admin = new Client({ connectionString: target.current.db.url });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
});

describe("verify: owners, grants, settings", () => {
  it("is clean on a released database with the demo seeds, and records the fuller snapshot", async () => {
    const report = await verifyRelease(options());
    expect(report).toMatchObject({ clean: true, drift: { added: [], removed: [], changed: [] } });
    expect(report.drift.formatNote).toBeUndefined();
  });

  it("names a revoked grant with the GRANT that restores it", async () => {
    const app = names().app;
    await driftAndRepair(`REVOKE SELECT ON "Chunk" FROM ${app}`, {
      [`grant TABLE public."Chunk" TO ${app}`]: `REVOKE ALL ON TABLE public."Chunk" FROM ${app}; GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public."Chunk" TO ${app}`,
    });
  });

  it("names a grant nobody recorded with the REVOKE that removes it", async () => {
    await driftAndRepair(`GRANT SELECT ON "Chunk" TO PUBLIC`, {
      'grant TABLE public."Chunk" TO PUBLIC': 'REVOKE ALL ON TABLE public."Chunk" FROM PUBLIC',
    });
  });

  it("names an index dropped by hand with the CREATE INDEX that builds it again, and one added with its DROP", async () => {
    await driftAndRepair(`DROP INDEX "Chunk_embeddingSpaceId_idx"`, {
      "index public.Chunk_embeddingSpaceId_idx":
        'CREATE INDEX CONCURRENTLY "Chunk_embeddingSpaceId_idx" ON public."Chunk" USING btree ("embeddingSpaceId")',
    });
    await driftAndRepair(`CREATE INDEX "Chunk_by_hand_idx" ON "Chunk" ("createdAt")`, {
      "index public.Chunk_by_hand_idx": 'DROP INDEX CONCURRENTLY "public"."Chunk_by_hand_idx"',
    });
  });

  it("names a changed owner with the ALTER ... OWNER TO that restores it", async () => {
    const { owner, migrator } = names();
    await driftAndRepair(`ALTER TABLE "Brand" OWNER TO ${migrator}`, {
      // The new owner's privileges replace the old one's in the table's ACL: the owner's own are not grants.
      'owner TABLE public."Brand"': `ALTER TABLE public."Brand" OWNER TO ${owner}`,
    });
  });

  it("names disabled row-level security with the ENABLE that restores it", async () => {
    await driftAndRepair(`ALTER TABLE "Chunk" DISABLE ROW LEVEL SECURITY`, {
      "table public.Chunk": 'ALTER TABLE "public"."Chunk" ENABLE ROW LEVEL SECURITY',
    });
    await driftAndRepair(`ALTER TABLE "Chunk" FORCE ROW LEVEL SECURITY`, {
      "table public.Chunk": 'ALTER TABLE "public"."Chunk" NO FORCE ROW LEVEL SECURITY',
    });
  });

  it("names a reset storage setting with the SET that restores it", async () => {
    const recorded = await admin.query<{ reloptions: string[] }>(
      `SELECT reloptions FROM pg_class WHERE oid = '"Chunk"'::regclass`,
    );
    const settings = [...recorded.rows[0]!.reloptions].sort().map((o) => o.replace("=", " = "));
    expect(settings).toContain("autovacuum_vacuum_scale_factor = 0.05");
    await driftAndRepair(`ALTER TABLE "Chunk" RESET (autovacuum_vacuum_scale_factor)`, {
      'storage TABLE public."Chunk"': `ALTER TABLE public."Chunk" SET (${settings.join(", ")})`,
    });
    await driftAndRepair(`ALTER TABLE "Chunk" SET (fillfactor = 70)`, {
      'storage TABLE public."Chunk"': `ALTER TABLE public."Chunk" RESET (fillfactor); ALTER TABLE public."Chunk" SET (${settings.join(", ")})`,
    });
  });

  it("names changed default privileges with the ALTER DEFAULT PRIVILEGES that restores them", async () => {
    const { owner, app } = names();
    const scope = `FOR ROLE ${owner} IN SCHEMA public`;
    await admin.query(`ALTER DEFAULT PRIVILEGES ${scope} REVOKE DELETE ON TABLES FROM ${app}`);
    const report = await verifyRelease(options());
    const key = `default-privileges ${scope} ON TABLES TO ${app}`;
    expect(report.drift.changed).toEqual([key]);
    expect(report.drift.repairs[key]).toMatch(
      new RegExp(
        `^ALTER DEFAULT PRIVILEGES ${scope} REVOKE ALL ON TABLES FROM ${app}; ALTER DEFAULT PRIVILEGES ${scope} GRANT .*DELETE.* ON TABLES TO ${app}$`,
      ),
    );
    for (const statement of report.drift.repairs[key]!.split("; ")) await admin.query(statement);
    expect((await verifyRelease(options())).clean).toBe(true);
  });

  it("names an extension whose version differs from the recorded one with the ALTER EXTENSION UPDATE", async () => {
    // pgvector ships no downgrade script: the recorded version is made older instead of the installed one.
    const installed = (
      await admin.query<{ v: string }>("SELECT extversion AS v FROM pg_extension WHERE extname = 'vector'")
    ).rows[0]!.v;
    await admin.query(
      `UPDATE neonhub_release.schema_snapshot SET objects = jsonb_set(objects, '{extension-version vector}', '"0.7.4"')`,
    );
    const report = await verifyRelease(options());
    expect(driftOf(report)).toEqual({
      "extension-version vector": "ALTER EXTENSION vector UPDATE TO '0.7.4'",
    });
    await admin.query(
      `UPDATE neonhub_release.schema_snapshot SET objects = jsonb_set(objects, '{extension-version vector}', to_jsonb($1::text))`,
      [installed],
    );
    expect((await verifyRelease(options())).clean).toBe(true);
  });

  it("the CLI exits 2 and carries the repair in text and --json", async () => {
    const app = names().app;
    await admin.query(`REVOKE INSERT ON "Message" FROM ${app}`);
    const env = { DATABASE_URL: target.current.roles.url("migrator") };
    const json = await runCli(["verify", "--json"], env);
    expect(json.code).toBe(2);
    const key = `grant TABLE public."Message" TO ${app}`;
    const report = JSON.parse(json.stdout) as VerifyReport;
    expect(report.drift.changed).toEqual([key]);
    expect(report.drift.repairs[key]).toContain(
      `GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public."Message" TO ${app}`,
    );
    const text = await runCli(["verify"], env);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain(`drift: ${key} differs from what the release created`);
    expect(text.stdout).toContain(`repair: ${report.drift.repairs[key]}`);
    expect(text.stdout).not.toContain(target.current.roles.password);
    await admin.query(`GRANT INSERT ON "Message" TO ${app}`);
    expect((await runCli(["verify"], env)).code).toBe(0);
  });

  it("stays clean after a row-level security mode change through apply, both ways", async () => {
    await applyAsMigrator(target.current, steps("off"));
    expect((await verifyRelease(options())).clean).toBe(true);
    await applyAsMigrator(target.current, steps("enforce"));
    expect((await verifyRelease(options())).clean).toBe(true);
  });
});

describe("verify: a snapshot recorded before format 2", () => {
  /** Rewrites the recorded snapshot as an apply before format 2 recorded it: the shape's kinds, no format. */
  async function recordFormat1Snapshot(): Promise<void> {
    await admin.query(`UPDATE neonhub_release.schema_snapshot
        SET objects = (SELECT jsonb_object_agg(key, value) FROM jsonb_each(objects)
                        WHERE split_part(key, ' ', 1) IN ('table', 'column', 'constraint', 'index', 'type', 'function', 'trigger', 'policy', 'extension'))`);
  }

  it("compares only the shape, says so without calling it a problem, and the next apply records format 2", async () => {
    const app = names().app;
    await recordFormat1Snapshot();
    const clean = await verifyRelease(options());
    expect(clean).toMatchObject({ clean: true, drift: { added: [], removed: [], changed: [] } });
    expect(clean.drift.formatNote).toMatch(/next apply records the fuller snapshot/);

    // A grant revoked now is outside what the old snapshot recorded; a shape change is still seen.
    await admin.query(`REVOKE SELECT ON "Chunk" FROM ${app}`);
    expect((await verifyRelease(options())).clean).toBe(true);
    await admin.query(`ALTER TABLE "Chunk" ADD COLUMN sneaky int`);
    expect((await verifyRelease(options())).drift.added).toEqual(["column public.Chunk.sneaky"]);
    await admin.query(`ALTER TABLE "Chunk" DROP COLUMN sneaky`);
    await admin.query(`GRANT SELECT ON "Chunk" TO ${app}`);

    // Nothing to migrate, but the snapshot's format is older: apply records it again.
    await applyAsMigrator(target.current, steps());
    const format = await admin.query<{ f: string | null }>(
      "SELECT objects ->> 'format' AS f FROM neonhub_release.schema_snapshot",
    );
    expect(format.rows[0]!.f).toBe("2");
    const after = await verifyRelease(options());
    expect(after.clean).toBe(true);
    expect(after.drift.formatNote).toBeUndefined();
    await admin.query(`REVOKE SELECT ON "Chunk" FROM ${app}`);
    expect((await verifyRelease(options())).drift.changed).toEqual([`grant TABLE public."Chunk" TO ${app}`]);
    await admin.query(`GRANT SELECT ON "Chunk" TO ${app}`);
  });
});
