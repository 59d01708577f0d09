// `pulumi preview` and `pulumi up` on the Prisma-era NeonHub database when the release settings ask for the
// upgrade (legacyUpgrade), through the dynamic-provider host as the engine drives it: check shows no failure
// (the upgrade's steps instead), create runs the same core upgrade as `apply --upgrade-legacy`, as the
// migrator acting as the owner role, with pgvector an administrator created in `public`.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, readMigrationFiles } from "../../core";
import { withClient } from "../support/database";
import { LEGACY_SCALES } from "../fixtures/legacy/generate";
import type { ProviderHost, Props } from "./support/provider-host";
import type { ReleaseDatabase } from "./support/release-database";
import { createLegacyReleaseDatabase, hostReaching, releaseInputsFor } from "./support/release-host";
import { urnOf } from "./support/release-inputs";

const URN = urnOf("migrations", "legacy-upgrade-migrations");
const INDEX_URN = urnOf("vectorIndexes", "legacy-upgrade-vector-indexes");
const SCALE = { ...LEGACY_SCALES.small, messages: 600, auditRows: 300 };

describe("the schema migrations resource upgrading the Prisma-era database", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let inputs: Props;
  let indexInputs: Props;

  beforeAll(async () => {
    db = await createLegacyReleaseDatabase(SCALE);
    const captured = await releaseInputsFor("legacy-upgrade", db, {
      migrationsDir: DEFAULT_MIGRATIONS_DIR,
      stepOptions: { legacyUpgrade: { organization: "acme", batchSize: 250 } },
    });
    inputs = captured.migrations;
    indexInputs = captured.vectorIndexes;
    host = await hostReaching(db);
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("check (pulumi preview) names what stops the upgrade with the stack's `pulumi up` to run again once it is fixed", async () => {
    // A legacy table the app renamed: the upgrade, which copies each of them, refuses it before it writes.
    await withClient(db.superuserUrl, (c) => c.query(`ALTER TABLE "Campaign" RENAME TO "Campaigns"`));
    try {
      const checked = await host.check(URN, {}, inputs);
      const reasons = checked.failures.map((f) => f.reason).join("\n");
      expect(reasons).toContain(
        'rename it back (ALTER TABLE public."Campaigns" RENAME TO "Campaign";) once the old app no longer uses the new name; then run `pulumi up --stack test` again. Nothing was written.',
      );
      expect(reasons).not.toContain("neonhub-db apply");
    } finally {
      await withClient(db.superuserUrl, (c) => c.query(`ALTER TABLE "Campaigns" RENAME TO "Campaign"`));
    }
  });

  it("check (pulumi preview) passes and shows the upgrade's steps instead of refusing the legacy schema", async () => {
    const checked = await host.check(URN, {}, inputs);
    expect(checked.failures).toEqual([]);
    expect(host.output()).toContain(`backfill Message [~`);
  });

  it("check of the vector indexes (pulumi preview) names the indexes the up builds after the upgrade", async () => {
    const checked = await host.check(INDEX_URN, {}, indexInputs);
    expect(checked.failures).toEqual([]);
    const pending = checked.inputs.pendingIndexWork as string[];
    // Each index the step would create, with why: plain apply's plan has none (it refuses the database). The
    // cosine indexes are not among them: the upgrade carries no embedding, so the up skips them.
    const names = pending.map((line) => line.slice(0, line.indexOf(": ")));
    expect(names.sort()).toEqual(["idx_chunk_embedded_rows", "idx_message_embedded_rows"]);
    for (const line of pending) {
      expect(line).toMatch(
        /^\S+: create \(after the Prisma-era upgrade this up runs first \(the legacyUpgrade setting\): new index: /,
      );
    }
  });

  it("create (pulumi up) upgrades it in place and records the whole release", async () => {
    const created = await host.create(URN, inputs);
    const files = readMigrationFiles(DEFAULT_MIGRATIONS_DIR);
    expect(created.properties).toMatchObject({
      appliedMigrations: files.length,
      lastMigration: files.at(-1)!.name,
      drift: [],
    });
    expect(host.output()).not.toContain(db.password);
    const state = await withClient(db.superuserUrl, async (c) => {
      const q = async (sql: string) => (await c.query<{ v: unknown }>(sql)).rows[0]!.v;
      return {
        messages: await q(`SELECT count(*)::int AS v FROM public."Message"`),
        members: await q(`SELECT count(*)::int AS v FROM public."OrganizationMembership"`),
        owners: await q(
          `SELECT array_agg(DISTINCT pg_get_userbyid(relowner)::text) AS v FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'`,
        ),
        vectorSchema: await q(
          `SELECT n.nspname AS v FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'vector'`,
        ),
        publicOwner: await q(
          `SELECT pg_get_userbyid(nspowner) AS v FROM pg_namespace WHERE nspname = 'public'`,
        ),
        leftovers: await q(
          `SELECT count(*)::int AS v FROM pg_namespace WHERE nspname IN ('neonhub_legacy', 'neonhub_upgrade', 'neonhub_upgrade_work')`,
        ),
      };
    });
    expect(state).toEqual({
      messages: SCALE.messages,
      members: SCALE.users,
      owners: [db.owner],
      vectorSchema: "public",
      publicOwner: "pg_database_owner",
      leftovers: 0,
    });
  });

  it("create of the vector indexes (pulumi up, after the upgrade) builds the count indexes the preview named, and only those", async () => {
    const checked = await host.check(INDEX_URN, {}, indexInputs);
    const created = await host.create(INDEX_URN, checked.inputs);
    const built = (created.properties.lastRun as { items: { name: string; action: string }[] }).items
      .filter((i) => i.action === "create")
      .map((i) => i.name);
    expect(built.sort()).toEqual(["idx_chunk_embedded_rows", "idx_message_embedded_rows"]);
  });

  it("a second up finds nothing to upgrade and nothing to apply", async () => {
    const checked = await host.check(URN, {}, inputs);
    expect(checked.failures).toEqual([]);
    const updated = await host.update(URN, "id", inputs, inputs);
    expect(updated.properties).toMatchObject({ drift: [] });
    expect((updated.properties.lastRun as { changed: boolean }).changed).toBe(false);
  });
});
