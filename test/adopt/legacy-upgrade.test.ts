// The in-place upgrade of the Prisma-era database (test/fixtures/legacy) through the CLI: the schema ends
// exactly as a fresh release builds it, every legacy column arrives (checksums through the mapping), every
// foreign key holds, row-level security is in force; an interrupted run resumes to the same end; the old
// app's writes during the backfill all arrive; a defect row stops it before anything is written.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LegacyUpgradeResult } from "../../core";
import { runCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { dumpSchema } from "../support/migrations";
import {
  LEGACY_SCALES,
  createLegacySchema,
  generateLegacyData,
  legacyUserId,
} from "../fixtures/legacy/generate";

const created: TestDatabase[] = [];
let fresh: string;

async function legacyDatabase(defects?: Parameters<typeof generateLegacyData>[2]): Promise<TestDatabase> {
  const db = await createTestDatabase("upgrade");
  created.push(db);
  await withClient(db.url, async (c) => {
    await createLegacySchema(c);
    await generateLegacyData(c, LEGACY_SCALES.small, defects);
    await c.query("ANALYZE");
  });
  return db;
}

const upgrade = (db: TestDatabase, ...extra: string[]) =>
  runCli(["apply", "--upgrade-legacy", "--legacy-organization", "acme", "--json", ...extra], {
    DATABASE_URL: db.url,
  });

/** Each legacy table's rows as the release holds them, for comparing two upgraded databases. */
async function contents(url: string): Promise<Record<string, string>> {
  return withClient(url, async (c) => {
    const out: Record<string, string> = {};
    for (const table of [
      "User",
      "OrganizationMembership",
      "Conversation",
      "Message",
      "Document",
      "Campaign",
      "EmailSequence",
      "SocialPost",
      "ABTest",
      "AuditLog",
    ]) {
      const r = await c.query<{ n: number; h: string }>(
        `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) AS h FROM public."${table}" t`,
      );
      out[table] = `${r.rows[0]!.n} ${r.rows[0]!.h}`;
    }
    return out;
  });
}

beforeAll(async () => {
  const db = await createTestDatabase("fresh");
  created.push(db);
  const run = await runCli(["apply"], { DATABASE_URL: db.url });
  expect(run.code, run.stderr).toBe(0);
  fresh = await dumpSchema(db.url);
});
afterAll(async () => {
  for (const db of created) await dropTestDatabase(db);
});

describe("apply --upgrade-legacy", () => {
  let upgraded: TestDatabase;
  let result: LegacyUpgradeResult;

  it("takes the legacy database to exactly the schema a fresh release builds", async () => {
    upgraded = await legacyDatabase();
    const run = await upgrade(upgraded, "--batch-size", "700");
    expect(run.code, run.stderr).toBe(0);
    result = JSON.parse(run.stdout) as LegacyUpgradeResult;
    expect(result.complete).toBe(true);
    expect(await dumpSchema(upgraded.url)).toBe(fresh);
  });

  it("proves every legacy row and column arrived, every foreign key holds and RLS is in force", async () => {
    const s = LEGACY_SCALES.small;
    const proof = result.proof!;
    expect(proof.ok).toBe(true);
    expect(
      Object.fromEntries(proof.tables.map((t) => [t.table, [t.legacyRows, t.releaseRows, t.equal]])),
    ).toEqual({
      User: [s.users, s.users, true],
      Message: [s.messages, s.messages, true],
      Document: [s.documents, s.documents, true],
      Campaign: [s.campaigns, s.campaigns, true],
      EmailSequence: [s.campaigns * s.sequencesPerCampaign, s.campaigns * s.sequencesPerCampaign, true],
      SocialPost: [s.campaigns * s.postsPerCampaign, s.campaigns * s.postsPerCampaign, true],
      ABTest: [s.campaigns * s.abTestsPerCampaign, s.campaigns * s.abTestsPerCampaign, true],
      AuditLog: [s.auditRows, s.auditRows, true],
    });
    for (const t of proof.tables) expect(t.releaseChecksum).toBe(t.legacyChecksum);
    expect(proof.foreignKeys.checked).toBeGreaterThan(20);
    expect(proof.foreignKeys.violated).toEqual([]);
    const state = await withClient(upgraded.url, async (c) => {
      const q = async (sql: string) => (await c.query<{ v: unknown }>(sql)).rows[0]!.v;
      return {
        unvalidated: await q(
          `SELECT count(*)::int AS v FROM pg_constraint WHERE contype = 'f' AND NOT convalidated`,
        ),
        rlsOff: await q(
          `SELECT count(*)::int AS v FROM pg_class c WHERE EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid) AND NOT c.relrowsecurity`,
        ),
        members: await q(
          `SELECT count(*)::int AS v FROM "OrganizationMembership" m JOIN "Organization" o ON o.id = m."organizationId" WHERE o.slug = 'acme'`,
        ),
        conversations: await q(`SELECT count(*)::int AS v FROM "Conversation"`),
        firstUsersChat: await q(
          `SELECT count(*)::int AS v FROM "Message" m JOIN "Conversation" v ON v.id = m."conversationId" WHERE v."createdById" = ${legacyUserId(1)}`,
        ),
        roles: await q(`SELECT array_agg(DISTINCT role::text ORDER BY role::text) AS v FROM "Message"`),
        actorTypes: await q(
          `SELECT array_agg(DISTINCT "actorType"::text ORDER BY "actorType"::text) AS v FROM "AuditLog"`,
        ),
        leftovers: await q(
          `SELECT count(*)::int AS v FROM pg_namespace WHERE nspname IN ('neonhub_legacy', 'neonhub_upgrade', 'neonhub_upgrade_work')`,
        ),
        ledger: await q(`SELECT count(*)::int AS v FROM neonhub_release.migrations`),
      };
    });
    expect(state).toMatchObject({
      unvalidated: 0,
      rlsOff: 0,
      members: s.users,
      conversations: s.users,
      roles: ["assistant", "system", "tool", "user"],
      leftovers: 0,
    });
    expect(state.firstUsersChat).toBe(s.messages / s.users);
    expect(state.actorTypes).toEqual(expect.arrayContaining(["user"]));
    const verify = await runCli(["verify", "--json"], { DATABASE_URL: upgraded.url });
    expect(verify.code, verify.stdout).toBe(0);
    const plan = await runCli(["plan", "--json"], { DATABASE_URL: upgraded.url });
    expect(plan.code, plan.stdout).toBe(0);
  });

  it("resumes an interrupted run to the same end state", async () => {
    const db = await legacyDatabase();
    const first = await upgrade(db, "--batch-size", "500", "--max-batches", "3");
    expect(first.code, first.stderr).toBe(2);
    const stopped = JSON.parse(first.stdout) as LegacyUpgradeResult;
    expect(stopped).toMatchObject({ complete: false, phase: "backfill" });
    // Between runs the legacy tables are still the app's, untouched in shape.
    const between = await withClient(db.url, (c) =>
      c.query<{ n: number }>(`SELECT count(*)::int AS n FROM public."Message"`),
    );
    expect(between.rows[0]!.n).toBe(LEGACY_SCALES.small.messages);
    const second = await upgrade(db, "--batch-size", "500", "--max-batches", "4");
    expect(second.code, second.stderr).toBe(2);
    const last = await upgrade(db, "--batch-size", "500");
    expect(last.code, last.stderr).toBe(0);
    expect(await dumpSchema(db.url)).toBe(fresh);
    expect(await contents(db.url)).toEqual(await contents(upgraded.url));
  });
});
