// The Prisma-era NeonHub database (test/fixtures/legacy), with data: plan and apply recognise it before
// the first migration, name what they found, and leave every row and the catalog as they were.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReleasePlan } from "../../core";
import { runCli } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { dumpSchema } from "../support/migrations";
import {
  LEGACY_SCALES,
  createLegacySchema,
  generateLegacyData,
  legacyUserId,
} from "../fixtures/legacy/generate";

let db: TestDatabase;
let counts: Record<string, number>;
beforeAll(async () => {
  db = await createTestDatabase("legacy");
  counts = await withClient(db.url, async (c) => {
    await createLegacySchema(c);
    return generateLegacyData(c, LEGACY_SCALES.small, {
      caseDuplicateEmails: 3,
      unknownRoles: 2,
      messagesWithoutAuthor: 4,
      auditOrphans: 5,
    });
  });
});
afterAll(async () => {
  if (db) await dropTestDatabase(db);
});

/** Row counts and an md5 over every row of every legacy table: "nothing was written", checked. */
async function fingerprint(url: string): Promise<Record<string, string>> {
  return withClient(url, async (c) => {
    const out: Record<string, string> = {};
    for (const table of Object.keys(counts)) {
      const r = await c.query<{ n: number; h: string }>(
        `SELECT count(*)::int AS n, md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) AS h FROM "${table}" t`,
      );
      out[table] = `${r.rows[0]!.n} ${r.rows[0]!.h}`;
    }
    return out;
  });
}

describe("the legacy fixture", () => {
  it("has the generated rows, the defects included, and Prisma's ledger", async () => {
    const s = LEGACY_SCALES.small;
    expect(counts).toEqual({
      User: s.users + 3,
      Message: s.messages + 2 + 4,
      Document: s.documents,
      Campaign: s.campaigns,
      EmailSequence: s.campaigns * s.sequencesPerCampaign,
      SocialPost: s.campaigns * s.postsPerCampaign,
      ABTest: s.campaigns * s.abTestsPerCampaign,
      AuditLog: s.auditRows + 5,
    });
    const check = await withClient(db.url, async (c) => {
      const owner = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "Message" WHERE "authorId" = ${legacyUserId(1)}`,
      );
      const prisma = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM "_prisma_migrations"`);
      return { firstUsersMessages: owner.rows[0]!.n, prismaMigrations: prisma.rows[0]!.n };
    });
    expect(check).toEqual({ firstUsersMessages: s.messagesPerChat, prismaMigrations: 3 });
  });

  it("plan names Prisma's ledger and the legacy tables in one finding, and exits 1", async () => {
    const run = await runCli(["plan", "--json"], { DATABASE_URL: db.url });
    expect(run.code).toBe(1);
    const [legacy] = (JSON.parse(run.stdout) as ReleasePlan).migrations.problems;
    expect(legacy!.kind).toBe("legacy-schema");
    expect(legacy!.message).toContain(
      "managed by Prisma Migrate (table public._prisma_migrations, which records 3 migration(s) (last: 20240810150000_audit_log))",
    );
    for (const table of ["User", "Message", "Document", "Campaign", "EmailSequence"]) {
      expect(legacy!.message).toContain(`${table} ~`);
    }
  });

  it("plan gives the one path that applies, the upgrade in place, and not baseline", async () => {
    const run = await runCli(["plan", "--json"], { DATABASE_URL: db.url });
    const problems = (JSON.parse(run.stdout) as ReleasePlan).migrations.problems;
    // Besides the schema itself, only its rows that break the release's rules, each with its own fix.
    expect(new Set(problems.map((p) => p.kind))).toEqual(new Set(["legacy-schema", "legacy-rows"]));
    const paths = problems.filter((p) => /neonhub-db (baseline|adopt|apply)/.test(p.fix));
    expect(paths.map((p) => p.kind)).toEqual(["legacy-schema"]);
    // Quoted as a shell reads it: a bare <slug> would be taken for redirections.
    expect(paths[0]!.fix).toContain("`neonhub-db apply --upgrade-legacy --legacy-organization '<slug>'`");
    // The runbook's section of the upgrade, not baseline's and adopt's.
    expect(paths[0]!.fix).toContain('docs/runbook.md, "Upgrading a Prisma-era database"');
    expect(paths[0]!.fix).not.toContain("Adopting an existing database");
    const text = await runCli(["plan"], { DATABASE_URL: db.url });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain("--upgrade-legacy");
    expect(text.stdout).not.toContain("baseline");
  });

  it("plan leads with the upgrade in place, as status names it, not with migrations apply would run", async () => {
    const text = await runCli(["plan"], { DATABASE_URL: db.url });
    expect(text.code).toBe(1);
    const lines = text.stdout.trimEnd().split("\n");
    // The line after the title says what the database is and its path; the migrations line no longer reads as
    // work for plain apply, and no migration is listed as one it would run.
    expect(lines[1]).toMatch(
      /^ {2}note: no release applied yet: this is the Prisma-era NeonHub schema, which plain apply refuses and the upgrade in place takes to the release \(`neonhub-db plan --upgrade-legacy --legacy-organization '<slug>'/,
    );
    expect(lines[2]).toMatch(
      /^ {2}migrations: 0 applied; the release's \d+ are the upgrade's to build, not plain apply's$/,
    );
    expect(text.stdout).not.toMatch(/pending\n/);
    expect(text.stdout).not.toContain("    + 20250126000100_extensions");
    expect(lines.at(-1)).toBe(
      "Blocked: `neonhub-db apply` refuses the Prisma-era schema: its path is the upgrade in place, whose plan the note above names.",
    );

    // --json says the same in the field status gives it, before the migrations; the ledger's comparison stays.
    const json = await runCli(["plan", "--json"], { DATABASE_URL: db.url });
    expect(json.code).toBe(1);
    const plan = JSON.parse(json.stdout) as ReleasePlan;
    expect(Object.keys(plan).slice(0, 3)).toEqual(["database", "legacyNotUpgraded", "migrations"]);
    expect(plan.legacyUpgrade).toBeUndefined();
    const status = JSON.parse((await runCli(["status", "--json"], { DATABASE_URL: db.url })).stdout) as {
      legacyNotUpgraded: { note: string };
    };
    expect(plan.legacyNotUpgraded).toEqual(status.legacyNotUpgraded);
    expect(plan.migrations.applied).toBe(0);
    expect(plan.migrations.pending[0]!.name).toBe("20250126000100_extensions");

    // The plan the note names runs as given, with the organization in place of <slug>.
    const upgrade = await runCli(["plan", "--upgrade-legacy", "--legacy-organization", "acme", "--json"], {
      DATABASE_URL: db.url,
    });
    expect(upgrade.stderr).not.toContain("needs --legacy-organization");
    expect((JSON.parse(upgrade.stdout) as { steps: unknown[] }).steps.length).toBeGreaterThan(0);
  });

  it("plan lists no step item, as apply does none of them: the upgrade runs them after its cutover", async () => {
    // With a seed set as well, whose first run a new database's plan lists beside the vector indexes.
    const text = await runCli(["plan", "--seed", "demo"], { DATABASE_URL: db.url });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(
      "\n  row-level security, seed sets, vector indexes: the upgrade's to run after its cutover, not plain apply's\n",
    );
    for (const section of ["row-level security:", "seed sets:", "vector indexes:"]) {
      expect(text.stdout).not.toContain(`\n  ${section}\n`);
    }
    expect(text.stdout).not.toMatch(/^ {4}[+~-] /m);
    expect(text.stdout).not.toContain("idx_chunk_embedding_cosine");

    const json = await runCli(["plan", "--seed", "demo", "--json"], { DATABASE_URL: db.url });
    expect(json.code).toBe(1);
    const plan = JSON.parse(json.stdout) as ReleasePlan;
    expect([plan.rowLevelSecurity, plan.seedSets, plan.vectorIndexes, plan.operatorItems]).toEqual([
      [],
      [],
      [],
      [],
    ]);
    // The items as the steps decide them, which the upgrade's release runs after its cutover.
    expect(plan.afterUpgrade!.seedSets.map((i) => [i.name, i.action])).toEqual([["demo", "create"]]);
    // The upgrade carries no embedding, but the seed set loads embedded chunks and messages before the
    // vector-index step: their indexes are built, on the seed set's rows.
    const built = plan.afterUpgrade!.vectorIndexes.filter((i) => i.decision === "create");
    expect(built.map((i) => i.name)).toEqual(
      expect.arrayContaining(["idx_chunk_embedding_cosine", "idx_message_embedding_cosine"]),
    );
    expect(built.find((i) => i.name === "idx_chunk_embedding_cosine")!.reason).toMatch(
      /^new index: .* on \d+ rows? of \d+ dimensions$/,
    );
    // Apply would change nothing: it refuses the schema (the problem the plan closes on).
    expect(plan.pending).toBe(false);
    expect(plan.problems.map((p) => p.kind)).toContain("legacy-schema");
    const apply = await runCli(["apply", "--seed", "demo", "--json"], { DATABASE_URL: db.url });
    expect(apply.code).toBe(1);
  });

  it("plan --json lists every bad legacy row before anything is written: count, sample ids, values and fix", async () => {
    const run = await runCli(["plan", "--json"], { DATABASE_URL: db.url });
    const problems = (JSON.parse(run.stdout) as ReleasePlan).migrations.problems;
    const legacy = problems.find((p) => p.kind === "legacy-schema")!;
    expect(legacy.message).toContain(`Message ~${counts.Message}`);
    const rows = problems.filter((p) => p.kind === "legacy-rows");
    expect(rows.map((p) => [p.details!.column, p.details!.count])).toEqual([
      ["User.email", 6],
      ["Message.role", 2],
      ["Message.authorId", 4],
      ["AuditLog.actorId", 5],
    ]);
    const roles = rows.find((p) => p.details!.column === "Message.role")!;
    expect(roles.details!.values).toEqual(["moderator"]);
    expect(roles.fix).toContain(`UPDATE "Message" SET role = 'assistant' WHERE role = 'moderator'`);
    // The sample ids are real offending rows.
    const sampled = await withClient(db.url, (c) =>
      c.query<{ role: string }>('SELECT DISTINCT role FROM "Message" WHERE id = ANY($1)', [
        roles.details!.sampleIds,
      ]),
    );
    expect(sampled.rows).toEqual([{ role: "moderator" }]);
    const emails = rows.find((p) => p.details!.column === "User.email")!;
    expect(emails.details!.sampleIds).toHaveLength(3);
    for (const p of rows) expect(p.fix.length).toBeGreaterThan(20);
  });

  it("apply stops before migration 1 and changes no row and no catalog object", async () => {
    const rowsBefore = await fingerprint(db.url);
    const schemaBefore = await dumpSchema(db.url);
    const run = await runCli(["apply"], { DATABASE_URL: db.url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("managed by Prisma Migrate");
    expect(run.stderr).toContain("--upgrade-legacy");
    expect(run.stderr).not.toContain("baseline");
    expect(run.stderr).not.toContain("Fix the file");
    expect(await fingerprint(db.url)).toEqual(rowsBefore);
    expect(await dumpSchema(db.url)).toBe(schemaBefore);
  });

  it("apply names each problem's fix on its own numbered line, in text and in --json", async () => {
    const text = await runCli(["apply"], { DATABASE_URL: db.url });
    expect(text.code).toBe(1);
    const fix = text.stderr.slice(text.stderr.indexOf("fix:"));
    // The upgrade's path, then one fix per kind of bad row: none runs into the next.
    for (const n of [1, 2, 3, 4, 5]) expect(fix).toMatch(new RegExp(`\\n\\s+${n}\\. \\S`));
    const json = await runCli(["apply", "--json"], { DATABASE_URL: db.url });
    const { error } = JSON.parse(json.stdout) as {
      error: { fix: string; problems: { fix: string }[] };
    };
    // Each problem's fix alone ends saying nothing was written; the numbered list says it once, after them.
    const lines = error.fix.split("\n");
    expect(lines).toHaveLength(error.problems.length + 1);
    expect(lines.at(-1)).toBe("Nothing was written.");
    lines
      .slice(0, -1)
      .forEach((line, i) =>
        expect(line).toBe(`${i + 1}. ${error.problems[i]!.fix.replace(/ Nothing was written\.$/, "")}`),
      );
  });
});
