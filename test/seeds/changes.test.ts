import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  DEFAULT_MIGRATIONS_DIR,
  ReleaseError,
  applyRelease,
  buildReleaseManifest,
  planRelease,
  type ReleaseOptions,
} from "../../core";
import { defaultReleaseSteps } from "../../core";
import { SeedsStep } from "../../core";
import { useTestDatabase, withClient } from "../support/database";
import { runCli } from "../support/cli";
import { scratchDir } from "../support/scratch";
import { editSeedFile, rowVersions, seedTable, seedsCopy } from "./helpers";

const optionsFor = (databaseUrl: string, seedsDir: string): ReleaseOptions => ({
  databaseUrl,
  migrationsDir: DEFAULT_MIGRATIONS_DIR,
  steps: [new SeedsStep({ seedSets: ["demo"], seedsDir })],
});

async function expectReleaseError(promise: Promise<unknown>, code: string, ...fragments: string[]) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReleaseError);
  expect((error as ReleaseError).code).toBe(code);
  for (const fragment of fragments) expect((error as ReleaseError).describe()).toContain(fragment);
  return error as ReleaseError;
}

describe("a changed seed file", () => {
  const db = useTestDatabase();
  const dir = seedsCopy();

  it("shows in the manifest without a database, and in plan as an update naming the rows", async () => {
    await applyRelease(optionsFor(db.current.url, dir));
    const before = buildReleaseManifest(optionsFor(db.current.url, dir)).seedSets;

    editSeedFile(dir, "demo", "20-brand.json", (f) => {
      seedTable(f, "Brand").rows[0]!.description = "A fictional brand, now with a sharper description.";
    });
    editSeedFile(dir, "demo", "60-campaign.json", (f) => {
      const metrics = seedTable(f, "CampaignMetric");
      metrics.rows = metrics.rows.filter((r) => r.id !== "demo-metric-2025-03-02-conversions");
    });
    editSeedFile(dir, "demo", "50-knowledge.json", (f) => {
      seedTable(f, "Chunk").rows.push({
        id: "demo-chunk-launch-faq-3",
        datasetId: "demo-dataset",
        documentId: "demo-doc-launch-faq",
        embeddingSpaceId: "demo-space-openai-3-large",
        idx: 3,
        text: "Questions? Write to launch@neonhub.example.",
        embedding: { $vector: { seed: "chunk-launch-faq-3", topic: "launch-faq" } },
      });
    });

    const after = buildReleaseManifest(optionsFor(db.current.url, dir)).seedSets;
    expect(after).toHaveLength(1);
    expect(after[0]!.checksum).not.toBe(before[0]!.checksum);

    const plan = await planRelease(optionsFor(db.current.url, dir));
    expect(plan.pending).toBe(true);
    expect(plan.seedSets).toHaveLength(1);
    const item = plan.seedSets[0]!;
    expect(item.action).toBe("update");
    expect(item.reason).toContain("seed files changed");
    expect(item.reason).toContain("1 to update (Brand demo-brand)");
    expect(item.reason).toContain("1 to insert (Chunk demo-chunk-launch-faq-3)");
    expect(item.reason).toContain("1 to delete (CampaignMetric demo-metric-2025-03-02-conversions)");
  });

  it("updates exactly the rows that changed, deletes the removed one, and leaves every other row as it was", async () => {
    const versions = async () =>
      withClient(db.current.url, async (c) => ({
        brand: await rowVersions(c, "Brand"),
        chunks: await rowVersions(c, "Chunk"),
        metrics: await rowVersions(c, "CampaignMetric"),
        organizations: await rowVersions(c, "Organization"),
      }));
    const before = await versions();
    const result = await applyRelease(optionsFor(db.current.url, dir));
    expect(result.seedSets[0]).toMatchObject({
      action: "update",
      details: { inserted: 1, updated: 1, deleted: 1 },
    });
    const after = await versions();
    expect(after.brand.get("demo-brand")).not.toBe(before.brand.get("demo-brand"));
    expect(after.organizations).toEqual(before.organizations);
    expect([...after.metrics.keys()].sort()).toEqual(
      [...before.metrics.keys()].filter((k) => k !== "demo-metric-2025-03-02-conversions").sort(),
    );
    for (const [id, xmin] of after.metrics) expect(xmin).toBe(before.metrics.get(id));
    for (const [id, xmin] of before.chunks) expect(after.chunks.get(id)).toBe(xmin);
    expect(after.chunks.has("demo-chunk-launch-faq-3")).toBe(true);

    const description = await withClient(db.current.url, (c) =>
      c.query(`SELECT description FROM "Brand" WHERE id = 'demo-brand'`),
    );
    expect(description.rows[0].description).toContain("sharper");
    const again = await applyRelease(optionsFor(db.current.url, dir));
    expect(again.changed).toBe(false);
  });

  it("puts back a seeded row that was edited in the database, and plan says so", async () => {
    await withClient(db.current.url, (c) =>
      c.query(`UPDATE "Agent" SET status = 'PAUSED' WHERE id = 'demo-agent-copilot'`),
    );
    const plan = await planRelease(optionsFor(db.current.url, dir));
    expect(plan.seedSets[0]).toMatchObject({ action: "update" });
    expect(plan.seedSets[0]!.reason).toContain("rows were changed in the database since the last apply");
    expect(plan.seedSets[0]!.reason).toContain("Agent demo-agent-copilot");
    const result = await applyRelease(optionsFor(db.current.url, dir));
    expect(result.seedSets[0]!.details).toMatchObject({ inserted: 0, updated: 1, deleted: 0 });
    const agent = await withClient(db.current.url, (c) =>
      c.query(`SELECT status FROM "Agent" WHERE id = 'demo-agent-copilot'`),
    );
    expect(agent.rows[0].status).toBe("ACTIVE");
  });
});

describe("plan of the demo set", () => {
  const db = useTestDatabase();

  it("on an empty database says every row would be created, and writes nothing", async () => {
    const plan = await planRelease({
      databaseUrl: db.current.url,
      migrationsDir: DEFAULT_MIGRATIONS_DIR,
      steps: defaultReleaseSteps({ seedSets: ["demo"] }),
    });
    expect(plan.seedSets).toEqual([
      { name: "demo", action: "create", reason: expect.stringContaining("no release yet") },
    ]);
    const schema = await withClient(db.current.url, (c) =>
      c.query("SELECT to_regnamespace('neonhub_release') AS s"),
    );
    expect(schema.rows[0].s).toBeNull();
  });

  it("works for a read-only role once applied: unchanged, then the update a changed file would make", async () => {
    const dir = seedsCopy();
    await applyRelease(optionsFor(db.current.url, dir));
    const readonlyUrl = await withClient(db.current.url, async (c) => {
      await c.query("DROP ROLE IF EXISTS seed_plan_reader");
      // BYPASSRLS: row-level security hides every organization's rows from a role that does not own the
      // tables (pg_read_all_data included), and the plan would then see the seed rows as missing.
      await c.query(
        "CREATE ROLE seed_plan_reader LOGIN BYPASSRLS PASSWORD 'reader-pw' IN ROLE pg_read_all_data",
      );
      await c.query("ALTER ROLE seed_plan_reader SET default_transaction_read_only = on");
      const url = new URL(db.current.url);
      url.username = "seed_plan_reader";
      url.password = "reader-pw";
      return url.toString();
    });
    const unchanged = await planRelease(optionsFor(readonlyUrl, dir));
    expect(unchanged.seedSets).toEqual([expect.objectContaining({ action: "unchanged" })]);
    editSeedFile(dir, "demo", "10-organization.json", (f) => {
      seedTable(f, "Organization").rows[0]!.plan = "growth";
    });
    const changed = await planRelease(optionsFor(readonlyUrl, dir));
    expect(changed.seedSets[0]).toMatchObject({ action: "update" });
    expect(changed.seedSets[0]!.reason).toContain("1 to update (Organization demo-org)");
    const plan = await withClient(db.current.url, (c) =>
      c.query(`SELECT plan FROM "Organization" WHERE id = 'demo-org'`),
    );
    expect(plan.rows[0].plan).toBe("starter");
  });
});

describe("seed set errors", () => {
  const db = useTestDatabase();

  it("an unknown seed set name is refused before any connection, listing the sets there are", async () => {
    const error = await expectReleaseError(
      Promise.resolve().then(() => defaultReleaseSteps({ seedSets: ["demo", "nope"] })),
      "invalid-input",
      'Unknown seed set "nope"',
      "Available: demo",
    );
    expect(error.fix).toBe("Available: demo.");
    const run = await runCli(["plan", "--seed", "nope", "--database-url", db.current.url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Unknown seed set "nope"');
    expect(run.stderr).toContain("Available: demo");
  });

  it("a seed file naming a column the table lacks fails the set, and nothing of it is written", async () => {
    const dir = seedsCopy();
    editSeedFile(dir, "demo", "20-brand.json", (f) => {
      const brand = seedTable(f, "Brand").rows[0]!;
      brand.tagline = brand.description;
    });
    // While migrations are pending, one of them may add the column: no problem yet.
    const early = await planRelease(optionsFor(db.current.url, dir));
    expect(early.migrations.pending.length).toBeGreaterThan(0);
    expect(early.problems).toEqual([]);
    // With every migration applied none can: the plan says so as a problem (exit 1), as apply will refuse
    // the set.
    await applyRelease({ ...optionsFor(db.current.url, dir), steps: [] });
    const plan = await planRelease(optionsFor(db.current.url, dir));
    expect(plan.migrations.pending).toEqual([]);
    expect(plan.seedSets[0]).toMatchObject({
      schemaMismatch: ['table "Brand" has no column "tagline" (file 20-brand.json)'],
    });
    expect(plan.seedSets[0]!.reason).toContain('table "Brand" has no column "tagline" (file 20-brand.json)');
    expect(plan.problems).toEqual([
      {
        section: "seedSets",
        kind: "seed-set-unfit",
        message:
          'seed set "demo" does not fit the schema: table "Brand" has no column "tagline" (file 20-brand.json), and no migration is pending.',
        fix: "Fix the table or column names in its files to match the migrations.",
      },
    ]);
    await expectReleaseError(
      applyRelease(optionsFor(db.current.url, dir)),
      "seed-failed",
      'Seed set "demo"',
      'table "Brand" has no column "tagline" (file 20-brand.json)',
    );
    const left = await withClient(db.current.url, (c) =>
      c.query(`SELECT (SELECT count(*) FROM "User")::int AS users, (SELECT count(*) FROM "Organization")::int AS orgs,
                      (SELECT count(*) FROM neonhub_release.seed_sets)::int AS sets`),
    );
    expect(left.rows[0]).toEqual({ users: 0, orgs: 0, sets: 0 });
  });

  it("a row that collides with existing data fails the set with the database's reason, and nothing is written", async () => {
    const dir = seedsCopy();
    await applyRelease({ databaseUrl: db.current.url, migrationsDir: DEFAULT_MIGRATIONS_DIR });
    await withClient(db.current.url, (c) =>
      c.query(`INSERT INTO "Organization" (id, slug, name) VALUES ('someone-else', 'demo', 'Not the demo')`),
    );
    const error = await expectReleaseError(
      applyRelease(optionsFor(db.current.url, dir)),
      "seed-failed",
      'Seed set "demo" failed writing table "Organization" (rows of 10-organization.json)',
      "Organization_slug_key",
      "Key (slug)=(demo) already exists",
    );
    expect(error.fix).toContain("one transaction");
    const users = await withClient(db.current.url, (c) => c.query(`SELECT count(*)::int AS n FROM "User"`));
    expect(users.rows[0].n).toBe(0);
  });

  it("a malformed seed file is refused when the step is made, naming the file", () => {
    const dir = seedsCopy();
    editSeedFile(dir, "demo", "40-conversation.json", (f) => {
      seedTable(f, "Message").rows[0]!.embeddingSpaceId = "no-such-space";
    });
    expect(() => new SeedsStep({ seedSets: ["demo"], seedsDir: dir })).toThrow(
      /file 40-conversation.json, table "Message", row 1, column "embedding": a "\$vector" needs the row's "embeddingSpaceId"/,
    );
  });
});

describe("a seed set of one row", () => {
  const db = useTestDatabase();
  const dir = scratchDir("neonhub-one-row-seeds-");
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const options = (): ReleaseOptions => ({
    databaseUrl: db.current.url,
    migrationsDir: DEFAULT_MIGRATIONS_DIR,
    steps: [new SeedsStep({ seedSets: ["one"], seedsDir: dir })],
  });

  it('says "1 row", not "1 rows", before, on and after its apply', async () => {
    mkdirSync(path.join(dir, "one"), { recursive: true });
    writeFileSync(
      path.join(dir, "one", "10-organization.json"),
      JSON.stringify({
        tables: [{ table: "Organization", rows: [{ id: "one-org", slug: "one", name: "One Org" }] }],
      }),
    );
    expect((await planRelease(options())).seedSets).toEqual([
      { name: "one", action: "create", reason: "no release yet: 1 row to insert" },
    ]);
    await applyRelease(options());
    expect((await planRelease(options())).seedSets).toEqual([
      { name: "one", action: "unchanged", reason: "1 row up to date" },
    ]);
    const again = await applyRelease(options());
    expect(again.seedSets).toEqual([
      expect.objectContaining({ action: "unchanged", skipped: "its 1 row already matches the set" }),
    ]);
  });
});
