// A release that changes the schema records the live catalog as its snapshot: a change made by hand since the
// last release must not become "what the release created" on the way. apply (and plan, for what apply would
// do) compares the live catalog with the recorded snapshot before its first write, as verify does: drift is
// refused with verify's repairs and the database and ledger left as they were; a storage setting is a warning,
// recorded. On the project's released database, with a scratch copy of its migrations plus a new one.
import { cpSync, rmSync } from "node:fs";
import path from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyRelease,
  collectingLogger,
  DEFAULT_MIGRATIONS_DIR,
  defaultReleaseSteps,
  driftPlanProblems,
  isReleaseError,
  planRelease,
  revertPlanBlocked,
  silentLogger,
  verifyRelease,
  withReleaseSession,
  type Logger,
  type PlanProblem,
  type ReleasePlan,
} from "../../core";
import { useReleasedDatabase } from "../security/released-database";
import { runCli } from "../support/cli";
import { writeMigration } from "../support/fixtures";
import { scratchDir } from "../support/scratch";

const target = useReleasedDatabase("driftbefore");
let admin: Client;
let dir: string;
let added = 0;

const options = (log: Logger = silentLogger) => ({
  databaseUrl: target.current.roles.url("migrator"),
  migrationsDir: dir,
  ownerRole: target.current.roles.names.owner,
  steps: defaultReleaseSteps({ seedSets: [] }),
  log,
});

/** A new migration after the project's last: something for apply to do. */
function newMigration(): string {
  added += 1;
  const name = `2999010100000${added}_drift_probe_${added}`;
  writeMigration(dir, `${name}.sql`, `CREATE TABLE "DriftProbe${added}" (id int PRIMARY KEY);`);
  return name;
}

/** The ledger and the recorded snapshot, as a refused apply must leave them. */
async function records(): Promise<{ ledger: string[]; snapshot: unknown }> {
  const ledger = await admin.query<{ name: string }>(
    "SELECT name FROM neonhub_release.migrations ORDER BY id",
  );
  const snapshot = await admin.query(
    "SELECT taken_at, last_migration, objects FROM neonhub_release.schema_snapshot",
  );
  return { ledger: ledger.rows.map((r) => r.name), snapshot: snapshot.rows };
}

async function appHasTruncateOn(table: string): Promise<boolean> {
  const { app } = target.current.roles.names;
  const result = await admin.query<{ ok: boolean }>(`SELECT has_table_privilege($1, $2, 'TRUNCATE') AS ok`, [
    app,
    `"${table}"`,
  ]);
  return result.rows[0]!.ok;
}

beforeAll(async () => {
  admin = new Client({ connectionString: target.current.db.url });
  await admin.connect();
  dir = scratchDir("neonhub-drift-before-");
  cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
});

afterAll(async () => {
  await admin?.end();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("drift before a release", () => {
  it("refuses a grant made by hand, with verify's repair, and leaves the database and ledger as they were", async () => {
    const { app } = target.current.roles.names;
    await admin.query(`GRANT TRUNCATE ON "Agent" TO ${app}`);
    const key = `grant TABLE public."Agent" TO ${app}`;
    const verified = await verifyRelease(options());
    expect(verified.drift.changed).toEqual([key]);
    const repair = verified.drift.repairs[key]!;
    expect(repair).toMatch(
      /^REVOKE ALL ON TABLE public."Agent" FROM .*; GRANT .* ON TABLE public."Agent" TO /,
    );

    const migration = newMigration();
    const plan = await planRelease(options());
    expect(plan.problems).toEqual([
      expect.objectContaining({
        section: "drift",
        kind: "schema-drift",
        message: `${key} was changed by hand since the last release`,
      }),
    ]);
    expect(plan.problems[0]!.fix).toContain(repair);
    expect(plan.problems[0]!.fix).toMatch(/new migration/);

    const before = await records();
    const refused = await applyRelease(options()).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isReleaseError(refused) && refused.code).toBe("schema-drift");
    if (!isReleaseError(refused)) return;
    expect(refused.message).toContain(key);
    expect(refused.fix).toContain(repair);
    expect(refused.problems).toEqual(plan.problems);
    expect(await records()).toEqual(before);
    expect(await admin.query(`SELECT to_regclass('"DriftProbe${added}"') AS t`)).toMatchObject({
      rows: [{ t: null }],
    });
    expect(await appHasTruncateOn("Agent")).toBe(true);
    expect((await verifyRelease(options())).drift.changed).toEqual([key]);

    // The repair, then the release: the grant is gone, and verify agrees with the database.
    for (const statement of repair.split("; ")) await admin.query(statement);
    const applied = await applyRelease(options());
    expect(applied.migrations.map((m) => m.name)).toEqual([migration]);
    expect(await appHasTruncateOn("Agent")).toBe(false);
    expect((await verifyRelease(options())).clean).toBe(true);
  });

  it("lets a no-op apply through as cheaply as before: it records nothing, so it adopts nothing", async () => {
    const { app } = target.current.roles.names;
    await admin.query(`GRANT TRUNCATE ON "Agent" TO ${app}`);
    const before = await records();
    expect((await applyRelease(options())).changed).toBe(false);
    const plan = await planRelease(options());
    expect(plan).toMatchObject({ pending: false, drift: [], problems: [] });
    expect(await records()).toEqual(before);
    expect((await verifyRelease(options())).clean).toBe(false);
    await admin.query(`REVOKE TRUNCATE ON "Agent" FROM ${app}`);
    expect((await verifyRelease(options())).clean).toBe(true);
  });

  it("warns about a storage setting changed by hand and records it, so an operator's tuning does not stop a release", async () => {
    await admin.query(`ALTER TABLE "Message" SET (autovacuum_enabled = false)`);
    const key = 'storage TABLE public."Message"';
    const migration = newMigration();
    const plan = await planRelease(options());
    expect(plan.problems).toEqual([]);
    expect(plan.drift).toEqual([
      expect.objectContaining({ object: key, change: "changed", handling: "warn" }),
    ]);

    const logger = collectingLogger();
    const applied = await applyRelease(options(logger));
    expect(applied.migrations.map((m) => m.name)).toEqual([migration]);
    expect(logger.lines).toContainEqual(
      expect.stringMatching(
        /^warning: storage TABLE public."Message" was changed by hand since the last release; this release records it/,
      ),
    );
    expect((await verifyRelease(options())).clean).toBe(true);
    // Undoing it by hand is the same kind of change: the next release that changes something records it.
    await admin.query(`ALTER TABLE "Message" RESET (autovacuum_enabled)`);
    newMigration();
    await applyRelease(options());
    expect((await verifyRelease(options())).clean).toBe(true);
  });

  it("says of an index an interrupted rebuild left what health says, not that a hand added it; apply drops it rather than records it", async () => {
    // What a CONCURRENTLY rebuild killed between its build and its swap leaves (there INVALID): the step's
    // temporary name for the index it was replacing.
    const key = "index public.idx_chunk_embedding_cosine_rebuild";
    await admin.query('CREATE INDEX idx_chunk_embedding_cosine_rebuild ON "Chunk" (id)');
    const left =
      "index public.idx_chunk_embedding_cosine_rebuild was left behind by an interrupted rebuild: written on every insert, never used by a query";
    const verified = await runCli(["verify", "--migrations-dir", dir], {
      DATABASE_URL: target.current.roles.url("migrator"),
    });
    expect(verified.code, verified.stderr).toBe(2);
    expect(verified.stdout).toContain(
      `drift: ${left}; \`neonhub-db apply\` drops it before it builds anything`,
    );
    expect(verified.stdout).not.toContain("not created by the release");

    newMigration();
    const plan = await planRelease(options());
    expect(plan.problems).toEqual([]);
    expect(plan.drift).toEqual([
      expect.objectContaining({ object: key, change: "added", handling: "restore" }),
    ]);
    const logger = collectingLogger();
    await applyRelease(options(logger));
    expect(logger.lines.join("\n")).not.toContain("by hand");
    expect(logger.lines).toContainEqual(
      expect.stringContaining(`${left}; \`neonhub-db apply\` drops it before it builds anything`),
    );
    expect(logger.lines).toContainEqual(
      expect.stringContaining(
        "idx_chunk_embedding_cosine_rebuild: dropping what an interrupted rebuild left",
      ),
    );
    expect(await admin.query("SELECT to_regclass('idx_chunk_embedding_cosine_rebuild') AS i")).toMatchObject({
      rows: [{ i: null }],
    });
    expect((await verifyRelease(options())).clean).toBe(true);
  });

  it("refuses a revert --confirm after a grant made by hand, before any write; after the repair it reverts", async () => {
    const { app } = target.current.roles.names;
    const keep = (await records()).ledger.at(-1)!;
    const migration = "29990201000000_drift_probe_reverted";
    writeMigration(
      dir,
      `${migration}.sql`,
      'CREATE TABLE "DriftProbeReverted" (id int);',
      'DROP TABLE "DriftProbeReverted";',
    );
    await applyRelease(options());
    await admin.query(`GRANT TRUNCATE ON "Agent" TO ${app}`);
    const key = `grant TABLE public."Agent" TO ${app}`;
    const repair = (await verifyRelease(options())).drift.repairs[key]!;
    const probeTable = async () =>
      (await admin.query<{ t: string | null }>(`SELECT to_regclass('"DriftProbeReverted"')::text AS t`))
        .rows[0]!.t;
    const revert = () => withReleaseSession(options(), "revert", (s) => s.revert({ to: keep }));

    const before = await records();
    const refused = await revert().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isReleaseError(refused) && refused.code).toBe("schema-drift");
    if (!isReleaseError(refused)) return;
    expect(refused.message).toContain(`${key} was changed by hand since the last release`);
    expect(refused.message).toContain("revert would record the change");
    expect(refused.fix).toContain(repair);
    expect(refused.problems).toEqual([expect.objectContaining({ section: "drift", kind: "schema-drift" })]);
    // The preview names the same problems, and is blocked.
    const plan = await withReleaseSession(options(), "revert", (s) => s.planRevert(keep));
    expect(driftPlanProblems(plan.drift)).toEqual(refused.problems);
    expect(revertPlanBlocked(plan)).toBe(true);
    const env = { DATABASE_URL: target.current.roles.url("migrator") };
    const preview = await runCli(
      ["revert", "--to", keep, "--migrations-dir", dir, "--owner-role", target.current.roles.names.owner],
      env,
    );
    expect(preview.code).toBe(1);
    expect(preview.stdout).toContain(`problem: ${key} was changed by hand since the last release`);
    expect(preview.stdout).toContain("Refused: fix the problems above first.");
    expect(await records()).toEqual(before);
    expect(await probeTable()).toBe('"DriftProbeReverted"');
    expect(await appHasTruncateOn("Agent")).toBe(true);

    for (const statement of repair.split("; ")) await admin.query(statement);
    const reverted = await revert();
    expect(reverted.reverted.map((m) => m.name)).toEqual([migration]);
    expect(await probeTable()).toBeNull();
    expect(await appHasTruncateOn("Agent")).toBe(false);
    expect((await verifyRelease(options())).clean).toBe(true);
    rmSync(path.join(dir, `${migration}.sql`));
  });

  it("the CLI: plan exits 1 and apply --json refuses with error.problems equal to plan --json's problems", async () => {
    const { app } = target.current.roles.names;
    await admin.query(`ALTER TABLE "Message" SET (autovacuum_enabled = false)`);
    await admin.query(`GRANT TRUNCATE ON "Message" TO ${app}`);
    newMigration();
    const env = { DATABASE_URL: target.current.roles.url("migrator") };
    const args = ["--migrations-dir", dir, "--owner-role", target.current.roles.names.owner, "--json"];
    const planned = await runCli(["plan", ...args], env);
    expect(planned.code).toBe(1);
    const plan = JSON.parse(planned.stdout) as ReleasePlan;
    expect(plan.problems.map((p) => [p.kind, p.message])).toEqual([
      ["schema-drift", `grant TABLE public."Message" TO ${app} was changed by hand since the last release`],
    ]);
    const before = await records();
    const applied = await runCli(["apply", ...args], env);
    expect(applied.code).toBe(1);
    const error = (
      JSON.parse(applied.stdout) as { error: { code: string; fix: string; problems: PlanProblem[] } }
    ).error;
    expect(error.code).toBe("schema-drift");
    expect(error.problems).toEqual(plan.problems);
    expect(await records()).toEqual(before);
    expect(await appHasTruncateOn("Message")).toBe(true);
    const text = await runCli(["plan", ...args.slice(0, -1)], env);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`problem: grant TABLE public."Message" TO ${app} was changed by hand`);
    expect(text.stdout).toContain('warning: storage TABLE public."Message" was changed by hand');
  });
});
