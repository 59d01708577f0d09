// The in-place upgrade of the Prisma-era database (test/fixtures/legacy) through the CLI: the schema ends
// exactly as a fresh release builds it, every legacy column arrives (checksums through the mapping), every
// foreign key holds, row-level security is in force; an interrupted run resumes to the same end; the old
// app's writes during the backfill all arrive; a defect row stops it before anything is written.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IndexBuildFacts, LegacyUpgradeResult, ReleasePlan } from "../../core";
import { runCli } from "../support/cli";
import { backends, killAt, startCli, waitUntil } from "../support/kill-points";
import {
  adminUrl,
  createTestDatabase,
  dropTestDatabase,
  withClient,
  type TestDatabase,
} from "../support/database";
import { dumpSchema } from "../support/migrations";
import {
  LEGACY_SCALES,
  createLegacySchema,
  generateLegacyData,
  legacyUserId,
  type LegacyScale,
} from "../fixtures/legacy/generate";

const created: TestDatabase[] = [];
let fresh: string;

/** The access layer's default privileges in `public` (FOR ROLE owner ... TO app), in both databases alike. */
const APP_ROLE = "legacy_upgrade_app";
async function grantDefaults(url: string): Promise<void> {
  await withClient(url, (c) =>
    c.query(`ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO ${APP_ROLE};
             ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO ${APP_ROLE}`),
  );
}

async function legacyDatabase(
  defects?: Parameters<typeof generateLegacyData>[2],
  scale: LegacyScale = LEGACY_SCALES.small,
): Promise<TestDatabase> {
  const db = await createTestDatabase("upgrade");
  created.push(db);
  await withClient(db.url, async (c) => {
    await createLegacySchema(c);
    await generateLegacyData(c, scale, defects);
    await c.query("ANALYZE");
  });
  await grantDefaults(db.url);
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
  await withClient(adminUrl(), (c) =>
    c.query(`DO $$ BEGIN CREATE ROLE ${APP_ROLE} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`),
  );
  const db = await createTestDatabase("fresh");
  created.push(db);
  await grantDefaults(db.url);
  const run = await runCli(["apply"], { DATABASE_URL: db.url });
  expect(run.code, run.stderr).toBe(0);
  fresh = await dumpSchema(db.url);
});
afterAll(async () => {
  for (const db of created) await dropTestDatabase(db);
  await withClient(adminUrl(), (c) => c.query(`DROP ROLE IF EXISTS ${APP_ROLE}`));
});

/** The upgrade, run in the background with no lock timeout: it waits for a test's lock as long as it is held. */
/** Whether the upgrade's session waits for a lock, in a statement `on` says yes to (as `watcher` sees it). */
const upgradeWaitsForLock = async (watcher: Client, db: TestDatabase, on: (query: string) => boolean) =>
  (await backends(watcher, db.name, "neonhub-db:upgrade")).some(
    (b) => b.waitEventType === "Lock" && on(b.query),
  );

const startUnboundedUpgrade = (url: string, ...extra: string[]) =>
  startCli(
    [
      "apply",
      "--upgrade-legacy",
      "--legacy-organization",
      "acme",
      "--batch-size",
      "500",
      "--migration-lock-timeout",
      "0",
      ...extra,
    ],
    { DATABASE_URL: url },
  );
describe("apply --upgrade-legacy", () => {
  let upgraded: TestDatabase;
  let result: LegacyUpgradeResult;

  let planned: ReleasePlan;

  it("takes the legacy database to exactly the schema a fresh release builds", async () => {
    upgraded = await legacyDatabase();
    planned = JSON.parse(
      (await runCli(["plan", "--json"], { DATABASE_URL: upgraded.url })).stdout,
    ) as ReleasePlan;
    const run = await upgrade(upgraded, "--batch-size", "700");
    expect(run.code, run.stderr).toBe(0);
    result = JSON.parse(run.stdout) as LegacyUpgradeResult;
    expect(result.complete).toBe(true);
    expect(await dumpSchema(upgraded.url)).toBe(fresh);
    // The longest lock any of its transactions held is reported, named by its step (bench:adopt prints it).
    expect(result.longestLock.ms).toBeGreaterThan(0);
    expect(result.longestLock.step).not.toBe("none");
  });

  it("ran the vector-index items plan listed for after the upgrade: it carries no embedding, so no index is built", async () => {
    // The upgrade maps no embedding column: the messages arrive without one, and it writes no chunk.
    const embedded = await withClient(upgraded.url, (c) =>
      c.query<{ messages: number; embedded: number }>(
        `SELECT (SELECT count(*)::int FROM "Message") AS messages,
                (SELECT count(*)::int FROM "Message" WHERE embedding IS NOT NULL)
                  + (SELECT count(*)::int FROM "Chunk" WHERE embedding IS NOT NULL) AS embedded`,
      ),
    );
    expect(embedded.rows[0]).toEqual({ messages: LEGACY_SCALES.small.messages, embedded: 0 });
    const ran = result.release!.vectorIndexes.map((i) => [i.name, i.action, i.skipped ?? ""]);
    const listed = planned.afterUpgrade!.vectorIndexes.map((i) => [
      i.name,
      i.action,
      i.decision === "skip" ? i.reason : "",
    ]);
    expect(ran).toEqual(listed);
    expect(listed).toContainEqual([
      "idx_chunk_embedding_cosine",
      "unchanged",
      'no embedded rows yet: built by the first apply after "Chunk" has some',
    ]);
    expect(listed.map(([name]) => name)).toContain("idx_message_embedding_cosine");
  });

  it("with a seed set, builds the vector indexes plan listed on the seed set's embedded rows", async () => {
    const db = await legacyDatabase();
    const plan = await runCli(["plan", "--seed", "demo", "--json"], { DATABASE_URL: db.url });
    const listed = (JSON.parse(plan.stdout) as ReleasePlan).afterUpgrade!.vectorIndexes;
    const run = await upgrade(db, "--seed", "demo");
    expect(run.code, run.stderr).toBe(0);
    const ran = (JSON.parse(run.stdout) as LegacyUpgradeResult).release!.vectorIndexes;
    expect(ran.map((i) => [i.name, i.action])).toEqual(listed.map((i) => [i.name, i.action]));
    expect(ran.filter((i) => i.action === "create").map((i) => i.name)).toEqual(
      expect.arrayContaining(["idx_chunk_embedding_cosine", "idx_message_embedding_cosine"]),
    );
  });

  it("decides the vector indexes after the upgrade with the maintenance_work_mem its session has, as the upgrade builds them", async () => {
    // The seed set's chunks (3072 dimensions) need 65 MB for their index's k-means: above the 32 MB bound given
    // here and PostgreSQL's default 64 MB. The database's own setting (its sessions', the plan's and the
    // upgrade's alike; dropped with the database) is what the build starts from: too little at 16 MB, enough at 128 MB.
    const db = await legacyDatabase();
    const setMemory = (value: string) =>
      withClient(adminUrl(), (c) =>
        c.query(`ALTER DATABASE "${db.name}" SET maintenance_work_mem = '${value}'`),
      );
    const bound = ["--set", "vectorIndexes.maxMaintenanceWorkMem=32MB"];
    const chunkItem = async () => {
      const plan = await runCli(["plan", "--seed", "demo", "--json", ...bound], { DATABASE_URL: db.url });
      const listed = (JSON.parse(plan.stdout) as ReleasePlan).afterUpgrade!.vectorIndexes;
      return { listed, chunk: listed.find((i) => i.name === "idx_chunk_embedding_cosine")! };
    };

    await setMemory("16MB");
    const small = await chunkItem();
    expect(small.chunk.decision).toBe("create");
    expect(small.chunk.reason).toMatch(
      /\(cannot start: k-means over \d+ sampled rows needs 65 MB of maintenance_work_mem, above the bound of 32 MB \(the server's setting is 16 MB\)\)$/,
    );

    await setMemory("128MB");
    const { listed, chunk } = await chunkItem();
    expect(chunk.decision).toBe("create");
    expect(chunk.reason).toMatch(/^new index: ivfflat .* on \d+ rows? of 3072 dimensions$/);
    const run = await upgrade(db, "--seed", "demo", ...bound);
    expect(run.code, run.stderr).toBe(0);
    const ran = (JSON.parse(run.stdout) as LegacyUpgradeResult).release!.vectorIndexes;
    expect(ran.map((i) => [i.name, i.action])).toEqual(listed.map((i) => [i.name, i.action]));
    const built = ran.find((i) => i.name === "idx_chunk_embedding_cosine")!;
    expect((built.details as IndexBuildFacts).maintenanceWorkMemMb).toBe(128);
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
    expect(proof.rowLevelSecurity!.enabled).toBe(proof.rowLevelSecurity!.tablesWithPolicies);
    expect(proof.rowLevelSecurity!.tablesWithPolicies).toBeGreaterThan(20);
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
        appMayRead: await q(
          `SELECT has_table_privilege('${APP_ROLE}', 'public."Conversation"', 'SELECT') AS v`,
        ),
      };
    });
    expect(state).toMatchObject({
      unvalidated: 0,
      rlsOff: 0,
      members: s.users,
      conversations: s.users,
      roles: ["assistant", "system", "tool", "user"],
      leftovers: 0,
      appMayRead: true,
    });
    expect(state.firstUsersChat).toBe(s.messages / s.users);
    expect(state.actorTypes).toEqual(expect.arrayContaining(["user"]));
    const verify = await runCli(["verify", "--json"], { DATABASE_URL: upgraded.url });
    expect(verify.code, verify.stdout).toBe(0);
    const plan = await runCli(["plan", "--json"], { DATABASE_URL: upgraded.url });
    expect(plan.code, plan.stdout).toBe(0);
  });

  it("names each backfilled table with its own row count", async () => {
    // Every table a different count, and users without messages (150 chats of 20 among 230 users), so
    // that a count printed against another table (the conversations pass's user keys, say) shows.
    const scale: LegacyScale = {
      users: 230,
      messages: 3_000,
      messagesPerChat: 20,
      campaigns: 35,
      sequencesPerCampaign: 3,
      postsPerCampaign: 4,
      abTestsPerCampaign: 2,
      documents: 310,
      auditRows: 1_900,
    };
    const expected = {
      User: 230,
      Conversation: 150,
      Message: 3_000,
      Document: 310,
      Campaign: 35,
      EmailSequence: 105,
      SocialPost: 140,
      ABTest: 70,
      AuditLog: 1_900,
    };
    expect(new Set(Object.values(expected)).size).toBe(Object.keys(expected).length);
    const db = await legacyDatabase(undefined, scale);
    // The plan's estimates (after ANALYZE, exact at this size) are per table too.
    const plan = await runCli(["plan", "--upgrade-legacy", "--legacy-organization", "acme", "--json"], {
      DATABASE_URL: db.url,
    });
    const steps = (JSON.parse(plan.stdout) as { steps: { step: string; estimatedRows?: number }[] }).steps;
    expect(
      Object.fromEntries(
        steps
          .filter((s) => s.step.startsWith("backfill "))
          .map((s) => [
            s.step.replace("backfill ", "").replace("conversations", "Conversation"),
            s.estimatedRows,
          ]),
      ),
    ).toEqual(expected);
    const stopped = await runCli(
      [
        "apply",
        "--upgrade-legacy",
        "--legacy-organization",
        "acme",
        "--batch-size",
        "100",
        "--max-batches",
        "6",
      ],
      { DATABASE_URL: db.url },
    );
    // Stopped after the users (3 batches) and the conversations pass (3 batches of 100 user keys): its count
    // is of the conversations it wrote, not of the users it went through.
    expect(stopped.code, stopped.stderr).toBe(2);
    expect(stopped.stdout).toContain("backfill this run: 6 batch(es) (User 230, Conversation 150)");
    // The command that continues it, printed with what bounded this run, and what keeping that bound does.
    const toContinue =
      "run `neonhub-db apply --upgrade-legacy --legacy-organization acme --batch-size 100 --max-batches 6` again to continue: it resumes where this one stopped. " +
      "With --max-batches 6 it stops again after 6 more batch(es); without --max-batches it copies the rest and finishes the upgrade (proof, cutover, contract)";
    expect(stopped.stdout).toContain(`stopped during the backfill, as asked: ${toContinue}\n`);
    expect(stopped.stderr).toContain(`the legacy tables stay in use and mirrored: ${toContinue}.`);
    const run = await upgrade(db, "--batch-size", "100");
    expect(run.code, run.stderr).toBe(0);
    const { backfill } = JSON.parse(run.stdout) as LegacyUpgradeResult;
    // The totals of all runs, and apart what this run copied: the users were the first run's.
    expect(backfill.rows).toEqual(expected);
    const { User: _users, Conversation: _conversations, ...rest } = expected;
    expect(backfill.rowsThisRun).toEqual(rest);
    expect(run.stderr).not.toContain("backfilled User");
    expect(run.stderr).toContain(`backfilled Message (${expected.Message} rows)`);
    const release = await withClient(db.url, async (c) => {
      const out: Record<string, number> = {};
      for (const table of Object.keys(expected)) {
        const r = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM public."${table}"`);
        out[table] = r.rows[0]!.n;
      }
      return out;
    });
    expect(release).toEqual(expected);
  });

  it("resumes an interrupted run to the same end state", async () => {
    const db = await legacyDatabase();
    const first = await upgrade(db, "--batch-size", "500", "--max-batches", "3");
    expect(first.code, first.stderr).toBe(2);
    const stopped = JSON.parse(first.stdout) as LegacyUpgradeResult;
    expect(stopped).toMatchObject({ complete: false, phase: "backfill" });
    expect(stopped.toContinue).toMatch(
      /^run `neonhub-db apply --upgrade-legacy --legacy-organization acme --batch-size 500 --max-batches 3` again to continue: /,
    );
    // The plain commands say an upgrade is in progress, and for which organization it was started.
    const status = await runCli(["status"], { DATABASE_URL: db.url });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain(
      "upgrade in progress: An upgrade of the Prisma-era database is in progress for organization acme",
    );
    const statusJson = await runCli(["status", "--json"], { DATABASE_URL: db.url });
    expect(JSON.parse(statusJson.stdout)).toMatchObject({
      legacyUpgrade: { organization: "acme", cutoverDone: false },
    });
    const plan = await runCli(["plan", "--json"], { DATABASE_URL: db.url });
    expect(plan.code).toBe(1);
    const planned = JSON.parse(plan.stdout) as {
      legacyUpgrade?: unknown;
      migrations: { problems: { kind: string; fix: string }[] };
    };
    // Plain plan leads with the upgrade in progress, in status's words and field.
    expect(planned.legacyUpgrade).toEqual(JSON.parse(statusJson.stdout).legacyUpgrade);
    const planText = await runCli(["plan"], { DATABASE_URL: db.url });
    expect(planText.stdout.split("\n")[1]).toMatch(
      /^ {2}upgrade in progress: An upgrade of the Prisma-era database is in progress for organization acme/,
    );
    const [legacy] = planned.migrations.problems;
    expect(legacy!.kind).toBe("legacy-schema");
    expect(legacy!.fix).toContain("neonhub-db apply --upgrade-legacy --legacy-organization acme`");
    // Its plan as the CLI runs it, with the organization: not `plan --upgrade-legacy` in words.
    expect(legacy!.fix).toContain(
      "see where it stands with `neonhub-db plan --upgrade-legacy --legacy-organization acme`.",
    );
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

  it("carries the old app's inserts, updates and deletes made between batches", async () => {
    const db = await legacyDatabase();
    // Users copied, messages part-way: some rows are below the high-water mark, some above.
    const first = await upgrade(db, "--batch-size", "1000", "--max-batches", "3");
    expect(first.code, first.stderr).toBe(2);
    const marks = await withClient(db.url, async (c) => {
      const r = await c.query<{ step: string; last_id: string | null; done: boolean }>(
        "SELECT step, last_id, done FROM neonhub_upgrade_work.progress WHERE step IN ('backfill:User', 'backfill:Message')",
      );
      return Object.fromEntries(r.rows.map((row) => [row.step, row]));
    });
    expect(marks["backfill:User"]!.done).toBe(true);
    const messageMark = marks["backfill:Message"]!.last_id!;
    expect(messageMark).not.toBeNull();
    await withClient(db.url, async (c) => {
      // What the old app does, on the legacy tables, through its usual search_path.
      await c.query(
        `INSERT INTO "User" (id, email, name, "updatedAt") VALUES ('new-user-1', 'new1@example.com', 'New', now())`,
      );
      await c.query(`UPDATE "User" SET name = 'Renamed' WHERE id = ${legacyUserId(2)}`);
      await c.query(
        `INSERT INTO "Message" (id, "authorId", role, content) VALUES ('a-new-message', 'new-user-1', 'Human', 'hello'), ('zz-new-message', ${legacyUserId(3)}, 'AI', 'hi')`,
      );
      await c.query(
        `UPDATE "Message" SET content = 'edited below the mark' WHERE id = (SELECT min(id) FROM "Message")`,
      );
      await c.query(
        `UPDATE "Message" SET content = 'edited above the mark' WHERE id = (SELECT max(id) FROM "Message" WHERE id <> 'zz-new-message')`,
      );
      await c.query(`DELETE FROM "Message" WHERE id = (SELECT max(id) FROM "Message" WHERE id <= $1)`, [
        messageMark,
      ]);
      await c.query(
        `UPDATE "Campaign" SET status = 'ACTIVE', name = 'Renamed campaign' WHERE id = (SELECT min(id) FROM "Campaign")`,
      );
      await c.query(`INSERT INTO "AuditLog" (id, "actorId", action) VALUES ('new-audit', NULL, 'cron.ran')`);
    });
    const last = await upgrade(db, "--batch-size", "1000");
    expect(last.code, last.stderr).toBe(0);
    const result = JSON.parse(last.stdout) as LegacyUpgradeResult;
    expect(result.proof!.ok).toBe(true);
    const rows = Object.fromEntries(result.proof!.tables.map((t) => [t.table, t.releaseRows]));
    expect(rows.User).toBe(LEGACY_SCALES.small.users + 1);
    expect(rows.Message).toBe(LEGACY_SCALES.small.messages + 1);
    expect(rows.AuditLog).toBe(LEGACY_SCALES.small.auditRows + 1);
    const arrived = await withClient(db.url, async (c) => {
      const r = await c.query<{ v: unknown }>(
        `SELECT jsonb_build_object(
           'renamed', (SELECT name FROM "User" WHERE id = ${legacyUserId(2)}),
           'newMember', (SELECT count(*) FROM "OrganizationMembership" WHERE "userId" = 'new-user-1'),
           'newRoles', (SELECT jsonb_agg(role ORDER BY id) FROM "Message" WHERE id IN ('a-new-message', 'zz-new-message')),
           'newChat', (SELECT v."createdById" FROM "Message" m JOIN "Conversation" v ON v.id = m."conversationId" WHERE m.id = 'a-new-message'),
           'edits', (SELECT jsonb_agg("contentJson"->>'text' ORDER BY "contentJson"->>'text') FROM "Message" WHERE "contentJson"->>'text' LIKE 'edited%'),
           'campaign', (SELECT jsonb_build_array(name, status) FROM "Campaign" ORDER BY id LIMIT 1),
           'audit', (SELECT "actorType" FROM "AuditLog" WHERE id = 'new-audit')) AS v`,
      );
      return r.rows[0]!.v;
    });
    expect(arrived).toEqual({
      renamed: "Renamed",
      newMember: 1,
      newRoles: ["user", "assistant"],
      newChat: "new-user-1",
      edits: ["edited above the mark", "edited below the mark"],
      campaign: ["Renamed campaign", "active"],
      audit: "system",
    });
    expect(await dumpSchema(db.url)).toBe(fresh);
  });

  it("stops before anything is written when a legacy row breaks a release rule", async () => {
    const db = await legacyDatabase({
      caseDuplicateEmails: 0,
      unknownRoles: 1,
      messagesWithoutAuthor: 0,
      auditOrphans: 0,
    });
    const before = await dumpSchema(db.url);
    const run = await upgrade(db);
    expect(run.code).toBe(1);
    const error = (JSON.parse(run.stdout) as { error: { message: string; fix: string } }).error;
    expect(error.message).toContain("Message.role: 1 messages have a role");
    expect(error.fix).toContain("Nothing was written");
    expect(await dumpSchema(db.url)).toBe(before);
  });

  it("stops an interrupted upgrade, and says what it keeps, when the old app wrote such a row since", async () => {
    const db = await legacyDatabase();
    const first = await upgrade(db, "--batch-size", "500", "--max-batches", "2");
    expect(first.code, first.stderr).toBe(2);
    // The old app, still in use while the backfill waits, writes a role the release has no value for.
    await withClient(db.url, (c) =>
      c.query(`INSERT INTO "Message" (id, "authorId", role, content, "createdAt")
               SELECT 'late-moderator', id, 'moderator', 'late', now() FROM "User" ORDER BY id LIMIT 1`),
    );
    const before = await dumpSchema(db.url);
    const run = await upgrade(db, "--batch-size", "500");
    expect(run.code, run.stdout).toBe(1);
    const error = (JSON.parse(run.stdout) as { error: { message: string; fix: string } }).error;
    expect(error.message).toContain("so the interrupted upgrade did not go on");
    expect(error.message).toContain("Message.role: 1 messages have a role");
    expect(error.fix).toContain("Nothing more was written");
    expect(error.fix).toContain("what the backfill copied is kept");
    expect(error.fix).not.toContain("Nothing was written");
    expect(await dumpSchema(db.url)).toBe(before);
  });

  it("plan --upgrade-legacy lists every step with row estimates, and writes nothing", async () => {
    const db = await legacyDatabase();
    const before = await dumpSchema(db.url);
    const run = await runCli(["plan", "--upgrade-legacy", "--legacy-organization", "acme", "--json"], {
      DATABASE_URL: db.url,
    });
    expect(run.code, run.stderr).toBe(2);
    const plan = JSON.parse(run.stdout) as {
      steps: { step: string; estimatedRows?: number }[];
      ready: boolean;
    };
    expect(plan.ready).toBe(true);
    expect(plan.steps.map((s) => s.step)).toEqual([
      "expand",
      "mirror",
      "organization",
      "backfill User",
      "backfill conversations",
      "backfill Message",
      "backfill Document",
      "backfill Campaign",
      "backfill EmailSequence",
      "backfill SocialPost",
      "backfill ABTest",
      "backfill AuditLog",
      // The proof reads both sides before anything is switched; the cutover follows it.
      "proof",
      "cutover",
      "contract",
    ]);
    expect(plan.steps.find((s) => s.step === "backfill Message")!.estimatedRows).toBe(
      LEGACY_SCALES.small.messages,
    );
    const text = await runCli(["plan", "--upgrade-legacy", "--legacy-organization", "acme"], {
      DATABASE_URL: db.url,
    });
    expect(text.code).toBe(2);
    expect(text.stdout).toContain(
      `+ backfill Message [~${LEGACY_SCALES.small.messages} rows]: copy in batches of 1000 by id`,
    );
    expect(text.stdout).toContain(
      "Run `neonhub-db apply --upgrade-legacy --legacy-organization acme` to do it",
    );
    expect(await dumpSchema(db.url)).toBe(before);
  });

  it("names the missing or malformed organization, and the command it goes with", async () => {
    const db = await legacyDatabase();
    const missing = await runCli(["apply", "--upgrade-legacy"], { DATABASE_URL: db.url });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("--upgrade-legacy needs --legacy-organization <slug>");
    const bad = await runCli(["apply", "--upgrade-legacy", "--legacy-organization", "Acme Inc"], {
      DATABASE_URL: db.url,
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--legacy-organization "Acme Inc" is not an organization slug');
    expect(bad.stderr).not.toContain("unexpected error");
    const wrongCommand = await runCli(["verify", "--upgrade-legacy", "--legacy-organization", "acme"], {
      DATABASE_URL: db.url,
    });
    expect(wrongCommand.code).toBe(1);
    expect(wrongCommand.stderr).toContain("--upgrade-legacy goes with plan or apply");
    const batch = await runCli(
      ["apply", "--upgrade-legacy", "--legacy-organization", "acme", "--batch-size", "0"],
      { DATABASE_URL: db.url },
    );
    expect(batch.code).toBe(1);
    expect(batch.stderr).toContain('--batch-size takes a whole number from 1 to 1000000, got "0"');
  });

  it("carries the old app's writes made while the batches run, until the cutover stops them", async () => {
    const db = await legacyDatabase();
    const writer = new Client({ connectionString: db.url });
    await writer.connect();
    // The old app waits for a lock no longer than a release's default lock_timeout: a write the upgrade kept
    // waiting longer fails, and the test with it.
    await writer.query("SET lock_timeout = '5s'");
    const inserted: string[] = [];
    const deleted: string[] = [];
    let stopped: string | undefined;
    let running = true;
    // The old app, writing with its legacy shape as fast as it can, until a write fails: after cutover the
    // tables it names are the release's, which refuse its rows.
    const app = (async () => {
      for (let i = 1; running && !stopped; i++) {
        try {
          const id = `app-message-${String(i).padStart(6, "0")}`;
          await writer.query(
            `INSERT INTO "Message" (id, "authorId", role, content) VALUES ($1, ${legacyUserId(1 + (i % 50))}, 'user', 'live ' || $1)`,
            [id],
          );
          inserted.push(id);
          await writer.query(
            `UPDATE "Message" SET content = 'live edit ' || $1 WHERE id = (SELECT id FROM "Message" ORDER BY md5(id || $1) LIMIT 1)`,
            [String(i)],
          );
          if (i % 3 === 0) {
            const gone = await writer.query<{ id: string }>(
              `DELETE FROM "Message" WHERE id = (SELECT id FROM "Message" WHERE id NOT LIKE 'app-%' ORDER BY md5(id || $1) LIMIT 1) RETURNING id`,
              [String(i)],
            );
            deleted.push(...gone.rows.map((r) => r.id));
          }
        } catch (error) {
          stopped = (error as Error).message;
        }
      }
    })();
    const run = await upgrade(db, "--batch-size", "100");
    running = false;
    await app;
    await writer.end();
    expect(run.code, run.stderr).toBe(0);
    expect(stopped ?? "").not.toMatch(/lock timeout/);
    const result = JSON.parse(run.stdout) as LegacyUpgradeResult;
    expect(result.proof!.ok).toBe(true);
    expect(inserted.length).toBeGreaterThan(0);
    const present = await withClient(db.url, async (c) => {
      const r = await c.query<{ n: number; gone: number }>(
        `SELECT (SELECT count(*)::int FROM "Message" WHERE id = ANY($1)) AS n,
                (SELECT count(*)::int FROM "Message" WHERE id = ANY($2)) AS gone`,
        [inserted, deleted],
      );
      return r.rows[0]!;
    });
    expect(present).toEqual({ n: inserted.length, gone: 0 });
    // A delete after cutover reaches the release's table too (it names no legacy column): counted as well.
    const now = await withClient(db.url, (c) =>
      c.query<{ n: number }>(`SELECT count(*)::int AS n FROM "Message"`),
    );
    expect(now.rows[0]!.n).toBe(LEGACY_SCALES.small.messages + inserted.length - deleted.length);
  });

  it.each(["SIGKILL", "SIGINT"] as const)(
    "resumes after the process is stopped (%s) while a batch waits, to the same end state",
    async (signal) => {
      const db = await legacyDatabase();
      const first = await upgrade(db, "--batch-size", "500", "--max-batches", "3");
      expect(first.code, first.stderr).toBe(2);
      // The next message batch waits for this lock (no lock timeout), and is killed there.
      const holder = new Client({ connectionString: db.url });
      const watcher = new Client({ connectionString: db.url });
      await holder.connect();
      await watcher.connect();
      await holder.query("BEGIN");
      await holder.query(
        "SELECT 1 FROM neonhub_upgrade_work.progress WHERE step = 'backfill:Message' FOR SHARE",
      );
      const run = startUnboundedUpgrade(db.url);
      const killed = await killAt(
        run,
        "a message batch waiting for its progress row",
        async () =>
          (await backends(watcher, db.name, "neonhub-db:upgrade")).some((b) => b.waitEventType === "Lock"),
        30_000,
        signal,
      );
      expect(killed.signal, killed.stderr).toBe(signal);
      // Ctrl-C says what it left and what to run before the process ends; a kill cannot.
      if (signal === "SIGINT") {
        expect(killed.stderr).toContain("interrupted: the upgrade stopped");
        expect(killed.stderr).toMatch(
          /Run `neonhub-db apply --upgrade-legacy [^`]*` again: it resumes where this run stopped/,
        );
      }
      await holder.query("COMMIT");
      await holder.end();
      // The killed session's backend ends once it sees its client gone; its release lock goes with it.
      await waitUntil(
        "the killed session to end",
        async () => (await backends(watcher, db.name, "neonhub-db:upgrade")).length === 0,
        { timeoutMs: 60_000 },
      );
      await watcher.end();
      const last = await upgrade(db, "--batch-size", "500");
      expect(last.code, last.stderr).toBe(0);
      expect((JSON.parse(last.stdout) as LegacyUpgradeResult).proof!.ok).toBe(true);
      expect(await dumpSchema(db.url)).toBe(fresh);
      expect(await contents(db.url)).toEqual(await contents(upgraded.url));
    },
  );

  it("finishes, run again, an upgrade stopped (SIGINT) in the release's steps after the legacy tables were dropped", async () => {
    const db = await legacyDatabase();
    const first = await upgrade(db, "--batch-size", "500", "--max-batches", "1");
    expect(first.code, first.stderr).toBe(2);
    const work = new Client({ connectionString: db.url });
    const snapshot = new Client({ connectionString: db.url });
    const watcher = new Client({ connectionString: db.url });
    for (const c of [work, snapshot, watcher]) await c.connect();
    const waiting = (on: (query: string) => boolean) => upgradeWaitsForLock(watcher, db, on);
    // The contract's drop of the work schema waits for this reader: the cutover is committed by then.
    await work.query("BEGIN");
    await work.query("SELECT 1 FROM neonhub_upgrade_work.config");
    const run = startUnboundedUpgrade(db.url);
    await waitUntil("the contract waiting for the work schema", () =>
      waiting((q) => q.includes("neonhub_upgrade_work")),
    );
    // Then the release's steps, past the final drop, wait for the snapshot's table: stopped there.
    await snapshot.query("BEGIN");
    await snapshot.query("LOCK TABLE neonhub_release.schema_snapshot IN EXCLUSIVE MODE");
    await work.query("COMMIT");
    const killed = await killAt(
      run,
      "the release's steps waiting after the contract",
      () => waiting((q) => !q.includes("neonhub_upgrade_work")),
      60_000,
      "SIGINT",
    );
    expect(killed.signal, killed.stderr).toBe("SIGINT");
    await snapshot.query("COMMIT");
    await waitUntil(
      "the killed session to end",
      async () => (await backends(watcher, db.name, "neonhub-db:upgrade")).length === 0,
      { timeoutMs: 60_000 },
    );
    const left = await watcher.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname IN ('neonhub_upgrade_work', 'neonhub_legacy')",
    );
    await watcher.end();
    await work.end();
    await snapshot.end();
    expect(left.rows[0]!.n).toBe(0);

    // plan --upgrade-legacy says where it stands; the same command finishes the job.
    const plan = await runCli(["plan", "--upgrade-legacy", "--legacy-organization", "acme", "--json"], {
      DATABASE_URL: db.url,
    });
    expect(plan.code, plan.stdout + plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout)).toMatchObject({ finished: true, ready: true });
    const again = await upgrade(db, "--batch-size", "500");
    expect(again.code, again.stdout + again.stderr).toBe(0);
    const result = JSON.parse(again.stdout) as LegacyUpgradeResult;
    expect(result).toMatchObject({ complete: true, contractedEarlier: true });
    expect(await dumpSchema(db.url)).toBe(fresh);
    const verify = await runCli(["verify", "--json"], { DATABASE_URL: db.url });
    expect(verify.code, verify.stdout).toBe(0);
    // Once finished, the same command again says nothing is left.
    const text = await runCli(["apply", "--upgrade-legacy", "--legacy-organization", "acme"], {
      DATABASE_URL: db.url,
    });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain("in an earlier run");
  });

  it("names the session that kept the cutover from its locks, and how to end it", async () => {
    const db = await legacyDatabase();
    const holder = new Client({ connectionString: db.url, application_name: "prisma-report" });
    await holder.connect();
    // A reader of Prisma's ledger, idle in its transaction: the cutover's SET SCHEMA waits for it.
    await holder.query("BEGIN");
    await holder.query("SELECT count(*) FROM _prisma_migrations");
    const pid = (holder as unknown as { processID: number }).processID;
    try {
      const run = await upgrade(db, "--migration-lock-timeout", "1", "--lock-retries", "0");
      expect(run.code, run.stderr).toBe(1);
      const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } };
      expect(error.code).toBe("lock-timeout");
      expect(error.message).toContain("upgrade: cutover could not take its locks");
      expect(error.message).toContain(`pid ${pid}`);
      expect(error.message).toContain('application "prisma-report"');
      expect(error.fix).toContain(`SELECT pg_terminate_backend(${pid})`);
      expect(error.fix).toContain(
        // The upgrade to run again as printed (core/command-to-run.ts), not in words, waiting and retrying as
        // this run was told to (cli/confirm-command.ts, CARRIED_FLAGS).
        "Run `neonhub-db apply --upgrade-legacy --legacy-organization acme --migration-lock-timeout 1 --lock-retries 0` again when that session has finished, or raise --migration-lock-timeout / --lock-retries: it resumes here.",
      );
    } finally {
      await holder.query("ROLLBACK");
      await holder.end();
    }
  });

  it("stops at the cutover on a row the old app wrote since the proof, and the fix it prints finishes the upgrade", async () => {
    const db = await legacyDatabase();
    // Resumable, its mirrors installed: the run below resumes it.
    const first = await upgrade(db, "--batch-size", "500", "--max-batches", "1");
    expect(first.code, first.stderr).toBe(2);
    const holder = new Client({ connectionString: db.url });
    const app = new Client({ connectionString: db.url, application_name: "legacy-app" });
    const watcher = new Client({ connectionString: db.url });
    for (const c of [holder, app, watcher]) await c.connect();
    const waitingOn = (on: (query: string) => boolean) => upgradeWaitsForLock(watcher, db, on);
    // The last backfill pass waits for this row: past the resumed run's pre-flight and its mirrors' install,
    // with every message copied.
    await holder.query("BEGIN");
    await holder.query(
      "SELECT 1 FROM neonhub_upgrade_work.progress WHERE step = 'backfill:AuditLog' FOR SHARE",
    );
    const run = startUnboundedUpgrade(db.url, "--json");
    try {
      await waitUntil("the last backfill pass waiting for its progress row", () =>
        waitingOn((q) => q.includes("progress")),
      );
      // The old app gives a copied message a role the release has no value for, and has not committed when
      // the proof reads: the mirror's rejection of it is seen by the cutover alone.
      const { rows } = await app.query<{ id: string }>(`SELECT min(id) AS id FROM "Message"`);
      const id = rows[0]!.id;
      await app.query("BEGIN");
      await app.query(`UPDATE "Message" SET role = 'moderator' WHERE id = $1`, [id]);
      await holder.query("COMMIT");
      await waitUntil(
        "the cutover waiting for the old app's write",
        () => waitingOn((q) => q.includes("DROP TRIGGER")),
        { timeoutMs: 60_000, while: run.running },
      );
      await app.query("COMMIT");
      const stopped = await run.done;
      expect(stopped.code, stopped.stderr).toBe(1);
      const { error } = JSON.parse(stopped.stdout) as {
        error: { code: string; message: string; fix: string };
      };
      expect(error.code).toBe("invalid-input");
      expect(error.message).toContain("row(s) since the upgrade started that the release's rules refuse");
      expect(error.message).toContain(`Message ${id} (`);
      // The mirror's error names the staged table's constraint; the plan it prints names the value to fix.
      // (The plan carries the run's own --migration-lock-timeout, as every printed command does.)
      expect(error.fix).toContain(
        "(`neonhub-db plan --json --migration-lock-timeout 0` lists each with its values and fix;",
      );
      const plan = await runCli(["plan", "--json"], { DATABASE_URL: db.url });
      const { migrations } = JSON.parse(plan.stdout) as {
        migrations: { problems: { kind: string; message: string; fix: string }[] };
      };
      const named = migrations.problems.find((p) => p.kind === "legacy-rows");
      expect(named?.message).toContain(id);
      expect(named?.message).toContain("Message.role");
      expect(error.fix).toContain(
        "then run `neonhub-db apply --upgrade-legacy --legacy-organization acme --migration-lock-timeout 0 --batch-size 500` again. Nothing was switched; the backfill is kept.",
      );
      const left = await watcher.query<{ schemas: string[]; rejected: number }>(
        `SELECT array_agg(nspname::text ORDER BY nspname) AS schemas,
                (SELECT count(*)::int FROM neonhub_upgrade_work.rejected) AS rejected
           FROM pg_namespace WHERE nspname IN ('neonhub_upgrade', 'neonhub_upgrade_work', 'neonhub_legacy')`,
      );
      expect(left.rows[0]).toEqual({ schemas: ["neonhub_upgrade", "neonhub_upgrade_work"], rejected: 1 });
      // The fix as printed: the row made valid in the legacy table (the mirror copies it), then the upgrade.
      await app.query(`UPDATE "Message" SET role = 'user' WHERE id = $1`, [id]);
      const last = await upgrade(db, "--batch-size", "500");
      expect(last.code, last.stdout + last.stderr).toBe(0);
      expect((JSON.parse(last.stdout) as LegacyUpgradeResult).proof!.ok).toBe(true);
      expect(await dumpSchema(db.url)).toBe(fresh);
    } finally {
      if (run.running()) run.child.kill("SIGKILL");
      await run.done;
      for (const c of [holder, app, watcher]) await c.end().catch(() => {});
    }
  });

  it("takes the organization from the legacyUpgrade release setting, and is a plain apply once upgraded", async () => {
    const db = await legacyDatabase();
    const set = ["--set", "legacyUpgrade.organization=acme", "--json"];
    const plan = await runCli(["plan", ...set], { DATABASE_URL: db.url });
    expect(plan.code, plan.stderr).toBe(2);
    expect((JSON.parse(plan.stdout) as { organization: { slug: string } }).organization.slug).toBe("acme");
    const run = await runCli(["apply", ...set], { DATABASE_URL: db.url });
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as LegacyUpgradeResult).proof!.ok).toBe(true);
    expect(await dumpSchema(db.url)).toBe(fresh);
    const again = await runCli(["apply", ...set], { DATABASE_URL: db.url });
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as { changed: boolean }).changed).toBe(false);
    const bad = await runCli(["plan", "--set", "legacyUpgrade.organization=Not A Slug"], {
      DATABASE_URL: db.url,
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('legacyUpgrade.organization "Not A Slug" is not an organization slug');
  });
});
