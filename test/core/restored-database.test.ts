// A released database backed up with pg_dump and restored the ways operators do: with its owners into a
// database the admin made without OWNER, with --no-owner --no-privileges, and into a cluster that lacks the
// stack's roles (pg_dump carries none). What the CLI says afterwards must lead, statement by statement, back to
// a database the migrator can release to and that verify calls clean; each fix it gives is run here.
import { rmSync } from "node:fs";
import path from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  applyRelease,
  checkHealth,
  DEFAULT_MIGRATIONS_DIR,
  defaultReleaseSteps,
  quoteIdentifier,
  REBUILT_SINCE_CALIBRATION,
  type ReleasePlan,
  type ReleaseStatus,
  type VerifyReport,
} from "../../core";
import { roleNames } from "../../infra/config";
import { describePendingIndexWork } from "../../infra/dynamic/pending-index-work";
import accessSql from "../../scripts/lib/access-sql";
import { chunkFileDir, writeChunkFile } from "../seeds/chunk-files";
import { useReleasedDatabase } from "../security/released-database";
import { cliJson, runCli } from "../support/cli";
import {
  createTestDatabase,
  databaseSettings,
  dropTestDatabase,
  withClient,
  withDatabase,
  type TestDatabase,
} from "../support/database";
import { repoMigrationsUpTo, writeMigration } from "../support/fixtures";
import { pgTool } from "../support/migrations";
import { createAccessRoles, dropAccessRoles, type AccessRoles } from "../support/roles";
import { scratchDir } from "../support/scratch";

const source = useReleasedDatabase("restsrc", { seedSets: ["demo"] });
const made: TestDatabase[] = [];
const chunkDir = chunkFileDir();
/** The repository's migrations and one more, pending on a restored database. */
const pending = repoMigrationsUpTo(Infinity);
let dir: string;

/** A database the admin makes (owned by the admin, as `createdb` makes it) with the dump restored into it. */
async function restored(prefix: string, dump: string, ...flags: string[]): Promise<TestDatabase> {
  const db = await createTestDatabase(prefix);
  made.push(db);
  await pgTool("pg_restore", db.url, [...flags, dump]);
  return db;
}

const urlAs = (db: TestDatabase, roles: AccessRoles, login: "migrator" | "app") =>
  withDatabase(roles.url(login), db.name);

interface CliError {
  error: { code: string; message: string; fix: string };
}

/** The statements the records' permission error says to run as the admin. */
function handOverOf(fix: string): string {
  return /hand them to the owner role: (.*)\. Then run the release again/.exec(fix)![1]!;
}

async function runRepairs(url: string, report: VerifyReport): Promise<void> {
  await withClient(url, async (c) => {
    for (const repair of Object.values(report.drift.repairs)) await c.query(repair);
  });
}

/** The ids search_chunks gives the app for the demo organization, nearest first. */
async function demoSearch(url: string): Promise<string[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query(`SELECT set_config('app.current_organization_id', 'demo-org', true)`);
    const { rows } = await client.query<{ id: string }>(
      `SELECT id FROM search_chunks((SELECT embedding FROM "Chunk" ORDER BY id LIMIT 1), 5)`,
    );
    await client.query("COMMIT");
    return rows.map((r) => r.id);
  } finally {
    await client.end();
  }
}

/** The value a new session of `url` starts with for `setting` ("" when it has none). */
async function sessionValue(url: string, setting: string): Promise<string> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ value: string | null }>(`SELECT current_setting($1, true) AS value`, [
      setting,
    ]);
    return rows[0]!.value ?? "";
  });
}

beforeAll(async () => {
  dir = scratchDir("neonhub-restore-");
  expect(await pgTool("pg_dump", source.current.db.url, ["-Fc", "-f", path.join(dir, "released.dump")])).toBe(
    0,
  );
});

afterAll(async () => {
  for (const db of made) await dropTestDatabase(db);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a released database restored into the same cluster (its roles exist)", () => {
  it("with its owners into a database the admin made: verify is clean, and health's search default fix hands the database to the owner role first", async () => {
    const { roles } = source.current;
    const db = await restored("restown", path.join(dir, "released.dump"));
    const migrator = urlAs(db, roles, "migrator");
    const verify = await cliJson<VerifyReport>(migrator, "verify");
    expect(verify.code).toBe(0);
    expect(verify.doc.clean).toBe(true);

    // ALTER DATABASE ... SET is not in a pg_dump: the calibrated default is missing, and the database is the admin's.
    const before = await checkHealth({ databaseUrl: migrator });
    expect(before.searchSettings).toEqual([expect.objectContaining({ live: null })]);
    const fix = before.searchSettings[0]!.fix;
    const database = quoteIdentifier(db.name);
    const admin = quoteIdentifier(decodeURIComponent(new URL(db.url).username));
    const parts =
      /^(ALTER DATABASE \S+ OWNER TO \S+) \(as (\S+), which owns the database, or a superuser\); then (.*) \(as the migrator\)$/.exec(
        fix,
      );
    expect(parts, fix).not.toBeNull();
    expect(parts![1]).toBe(`ALTER DATABASE ${database} OWNER TO ${quoteIdentifier(roles.names.owner)}`);
    expect(parts![2]).toBe(admin);
    // As the migrator alone, the setting is refused: the database is not its owner role's.
    await expect(withClient(migrator, (c) => c.query(parts![3]!))).rejects.toThrow(
      /must be owner of database/,
    );
    await withClient(db.url, (c) => c.query(parts![1]!));
    await withClient(migrator, (c) => c.query(parts![3]!));
    expect((await checkHealth({ databaseUrl: migrator })).searchSettings).toEqual([]);
    expect(await demoSearch(urlAs(db, roles, "app"))).toEqual(
      await demoSearch(source.current.roles.url("app")),
    );
  });

  it("with --no-owner --no-privileges: load-chunks, plan and apply tell the migrator whose the tables and records are and who gives them back; run as they say, the database is whole", async () => {
    const { roles } = source.current;
    const db = await restored("restnoown", path.join(dir, "released.dump"), "--no-owner", "--no-privileges");
    const migrator = urlAs(db, roles, "migrator");
    const admin = decodeURIComponent(new URL(db.url).username);

    // A load as the migrator is refused on the admin's tables, and says why rather than "use the migrator".
    const { file } = writeChunkFile(chunkDir, "after-restore.ndjson", {
      dimension: 3072,
      documents: 1,
      chunksPerDocument: 2,
      prefix: "after-restore",
    });
    const load = await cliJson<CliError>(
      migrator,
      "load-chunks",
      "--file",
      file,
      "--dataset",
      "demo-dataset",
      "--append",
    );
    expect(load.code).toBe(1);
    expect(load.doc.error.code).toBe("permission");
    expect(load.doc.error.message).toContain(
      `the tables it writes belong to "${admin}", not to "${roles.names.owner}"`,
    );
    expect(load.doc.error.fix).toContain("Run `neonhub-db verify` as this login");
    // The load to run again once verify's repairs ran: as the operator ran it, not "the same load".
    expect(load.doc.error.fix).toMatch(
      /Then run `neonhub-db load-chunks --file \S+after-restore\.ndjson --dataset demo-dataset --append --json` again\.$/,
    );
    expect(load.doc.error.fix).not.toContain("DIRECT_URL");

    const plan = await cliJson<CliError>(migrator, "plan");
    expect(plan.code).toBe(1);
    expect(plan.doc.error.code).toBe("permission");
    expect(plan.doc.error.message).toContain(
      `The release's records (schema neonhub_release) belong to "${admin}"`,
    );
    expect(plan.doc.error.message).toContain(`the database belongs to "${admin}"`);
    expect(plan.doc.error.message).toContain("pg_restore --no-owner");
    expect(plan.doc.error.fix).not.toContain("DIRECT_URL");
    const handOver = handOverOf(plan.doc.error.fix);
    expect(handOver.split("; ")[0]).toBe(`ALTER DATABASE ${db.name} OWNER TO ${roles.names.owner}`);
    expect(plan.doc.error.fix).toContain("run verify next");
    await withClient(db.url, (c) => c.query(handOver));

    const replan = await cliJson<ReleasePlan>(migrator, "plan");
    // The database's search default, which the restore left behind, is the owner role's to set again now; apply
    // refuses the owners and grants the restore left to the admin before it sets it (verify's repairs first).
    expect(replan.code).toBe(1);
    expect(replan.doc.vectorIndexes.find((i) => i.name.startsWith("database default "))).toMatchObject({
      decision: "search-default",
    });
    expect(replan.doc.problems.map((p) => p.section)).toContain("drift");
    // The admin's tables hide their rows from the owner role: the plan says where to look, not only "the migrator".
    const chunkIndex = replan.doc.vectorIndexes.find((i) => i.name === "idx_chunk_embedding_cosine");
    expect(chunkIndex).toMatchObject({ skip: "rows-hidden" });
    expect(chunkIndex!.reason).toContain("verify names its owner and the repair");
    // Owners and grants are the admin's now: verify names each with its repair, and no role is missing.
    const verify = await cliJson<VerifyReport>(migrator, "verify");
    expect(verify.code).toBe(2);
    expect(verify.doc.drift.changed).toContain('owner TABLE public."Chunk"');
    expect(verify.doc.drift.repairs['owner TABLE public."Chunk"']).toBe(
      `ALTER TABLE public."Chunk" OWNER TO ${roles.names.owner}`,
    );
    expect(verify.doc.drift.removed).toContain(`grant TABLE public."Chunk" TO ${roles.names.app}`);
    expect(verify.doc.drift.missingRoles).toBeUndefined();
    // The app may not search until the grants are back.
    await expect(demoSearch(urlAs(db, roles, "app"))).rejects.toThrow(/permission denied/);

    // A release with a migration to apply refuses the drift: the owners are the admin's to give back (the
    // migrator may not take an object from it), and then the grants the migrator's, in that order.
    writeMigration(
      pending,
      "20991231000000_after_restore.sql",
      `ALTER TABLE "Brand" ADD COLUMN "note" text;`,
    );
    const apply = await cliJson<CliError>(migrator, "apply", "--migrations-dir", pending);
    expect(apply.code).toBe(1);
    expect(apply.doc.error.code).toBe("schema-drift");
    const steps =
      /^Run as (\S+) \(the owner now, from which the migrator may not take it\) or the cluster's admin: (.*?)\. Then run the repair statements as the migrator: (.*?)\. Then run apply again/.exec(
        apply.doc.error.fix,
      );
    expect(steps, apply.doc.error.fix).not.toBeNull();
    expect(steps![1]).toBe(admin);
    expect(steps![2]).toContain(`ALTER TABLE public."Chunk" OWNER TO ${roles.names.owner}`);
    expect(steps![3]).toContain(
      `GRANT DELETE, INSERT, SELECT, UPDATE ON TABLE public."Chunk" TO ${roles.names.app}`,
    );
    await expect(withClient(migrator, (c) => c.query(steps![2]!))).rejects.toThrow(/must be owner/);
    await withClient(db.url, (c) => c.query(steps![2]!));
    await withClient(migrator, (c) => c.query(steps![3]!));
    const clean = await cliJson<VerifyReport>(migrator, "verify");
    expect(clean.doc.clean, JSON.stringify(clean.doc.drift)).toBe(true);
    expect(await demoSearch(urlAs(db, roles, "app"))).toEqual(
      await demoSearch(source.current.roles.url("app")),
    );
    const loaded = await runCli(["load-chunks", "--file", file, "--dataset", "demo-dataset", "--append"], {
      DATABASE_URL: migrator,
    });
    expect(loaded.code, loaded.stderr).toBe(0);
  });

  it("the app login on such a restore is still told to use the migrator", async () => {
    const { roles } = source.current;
    const db = await restored("restapp", path.join(dir, "released.dump"), "--no-owner");
    const plan = await cliJson<CliError>(urlAs(db, roles, "app"), "plan");
    expect(plan.doc.error.code).toBe("permission");
    expect(plan.doc.error.fix).toContain("as the migrator");
    expect(plan.doc.error.fix).not.toContain("ALTER SCHEMA");
  });
});

describe("a released database restored into a cluster without its roles", () => {
  it("verify names the missing roles and how to make them; with them made, the hand-over and repairs make it whole", async () => {
    // The source and its roles are gone before the restore, as in a new cluster.
    const original = await createTestDatabase("restgone");
    const originalRoles = await createAccessRoles(original);
    await applyRelease({
      databaseUrl: originalRoles.url("migrator"),
      migrationsDir: DEFAULT_MIGRATIONS_DIR,
      ownerRole: originalRoles.names.owner,
      steps: defaultReleaseSteps({ seedSets: ["demo"] }),
    });
    const dump = path.join(dir, "gone.dump");
    expect(await pgTool("pg_dump", original.url, ["-Fc", "-f", dump])).toBe(0);
    await dropTestDatabase(original);
    await dropAccessRoles(original, originalRoles);

    // pg_restore exits 1: every OWNER TO and GRANT naming the roles fails, and the admin keeps the objects.
    const db = await createTestDatabase("restnorole");
    made.push(db);
    expect(await pgTool("pg_restore", db.url, [dump])).toBe(1);
    const names = roleNames(original.name);
    try {
      const verify = await cliJson<VerifyReport>(db.url, "verify");
      expect(verify.code).toBe(2);
      expect(verify.doc.drift.missingRoles).toEqual([names.app, names.owner, names.readonly].sort());
      expect(verify.doc.drift.rolesNote).toContain("pg_dumpall --roles-only");
      const text = await runCli(["verify"], { DATABASE_URL: db.url });
      expect(text.stdout).toContain(`note: the role(s) "${names.app}"`);

      // The migrator's login, not there yet, is refused as a wrong password is (the server tells them apart
      // to no one): the fix says a restore into a new cluster is the other cause.
      const password = "restored-roles-password";
      const migrator = new URL(withDatabase(db.url, db.name));
      migrator.username = names.migrator;
      migrator.password = password;
      const noLogin = await cliJson<CliError>(migrator.toString(), "plan");
      expect(noLogin.doc.error.code).toBe("authentication");
      expect(noLogin.doc.error.fix).toContain("when the role does not exist there");
      expect(noLogin.doc.error.fix).toContain("Restoring or copying a released database");

      // The roles, as the stack's access layer makes them; then verify's repairs no longer fail.
      await withClient(db.url, async (c) => {
        const passwords = { migrator: password, app: password, readonly: password };
        for (const sql of accessSql.clusterStatements(names, passwords, db.name)) await c.query(sql);
        for (const sql of accessSql.databaseStatements(names)) await c.query(sql);
      });
      const withRoles = await cliJson<VerifyReport>(db.url, "verify");
      expect(withRoles.doc.drift.missingRoles).toBeUndefined();
      await runRepairs(db.url, withRoles.doc);

      // The release's records are the admin's still: the migrator gets the hand-over, which works.
      const plan = await cliJson<CliError>(migrator.toString(), "plan");
      expect(plan.doc.error.code).toBe("permission");
      await withClient(db.url, (c) => c.query(handOverOf(plan.doc.error.fix)));
      // What is left: pg_restore built each vector index again (new lists, a new graph), so each is
      // recalibrated, which sets the database's search default pg_dump does not carry.
      const replan = await cliJson<ReleasePlan>(migrator.toString(), "plan");
      expect(replan.code).toBe(2);
      const changes = replan.doc.vectorIndexes.filter((i) => i.action !== "unchanged");
      expect(changes.map((i) => i.decision)).toEqual(["recalibrate", "recalibrate"]);
      for (const item of changes) expect(item.reason).toContain(REBUILT_SINCE_CALIBRATION);
      const clean = await cliJson<VerifyReport>(migrator.toString(), "verify");
      expect(clean.doc.clean, JSON.stringify(clean.doc.drift)).toBe(true);
    } finally {
      await dropTestDatabase(db);
      made.splice(made.indexOf(db), 1);
      await withClient(db.adminUrl, async (c) => {
        for (const name of [names.migrator, names.app, names.readonly, names.owner])
          await c.query(`DROP ROLE IF EXISTS ${quoteIdentifier(name)}`);
      });
    }
  });
});

describe("the database's search default, which neither pg_dump nor CREATE DATABASE ... TEMPLATE carries", () => {
  it("is planned, set again by apply and shown by status; where the database is the admin's, plan and apply name the hand-over and as whom, and apply sets it after it", async () => {
    const { roles } = source.current;
    const owner = roles.names.owner;
    // What the release set on the source: the calibrated setting of the chunk index, for the whole database.
    const released = await databaseSettings(source.current.db.url);
    expect(released).toHaveLength(1);
    const [setting, value] = released[0]!.split("=") as [string, string];
    expect(["ivfflat.probes", "hnsw.ef_search"]).toContain(setting);
    const itemName = `database default ${setting}`;

    // Restored into a database of the owner role, as the runbook says (createdb --owner).
    const db = await createTestDatabase("restdef");
    made.push(db);
    await withClient(db.url, (c) =>
      c.query(`ALTER DATABASE ${quoteIdentifier(db.name)} OWNER TO ${quoteIdentifier(owner)}`),
    );
    await pgTool("pg_restore", db.url, [path.join(dir, "released.dump")]);
    const migrator = urlAs(db, roles, "migrator");
    expect(await databaseSettings(db.url)).toEqual([]);
    expect(await sessionValue(urlAs(db, roles, "app"), setting)).not.toBe(value);

    // plan: pg_restore built the index again, so it is recalibrated, and the calibration sets the default
    // (not planned on its own); the preview's pending work carries the same line.
    const plan = await cliJson<ReleasePlan>(migrator, "plan");
    expect(plan.code).toBe(2);
    expect(plan.doc.pending).toBe(true);
    expect(plan.doc.vectorIndexes.find((i) => i.name === itemName)).toBeUndefined();
    const chunkIndex = "idx_chunk_embedding_cosine";
    const item = plan.doc.vectorIndexes.find((i) => i.name === chunkIndex);
    expect(item).toMatchObject({ action: "update", decision: "recalibrate" });
    expect(item!.reason).toContain(`${REBUILT_SINCE_CALIBRATION}, so ${setting} = `);
    expect(describePendingIndexWork(plan.doc.vectorIndexes)).toContain(
      `${chunkIndex}: update (${item!.reason})`,
    );
    const text = await runCli(["plan"], { DATABASE_URL: migrator });
    expect(text.stdout).toContain(`~ ${chunkIndex}: recalibrate ${setting}: ${REBUILT_SINCE_CALIBRATION}`);
    expect(text.stdout).toContain("Changes pending");
    const status = await cliJson<ReleaseStatus>(migrator, "status");
    const chunk = status.doc.vectorIndexes.find((i) => i.name === chunkIndex);
    expect(chunk!.databaseDefault).toBe(
      `not set for database ${db.name}, not the recorded ${setting} = ${value}: apply sets it`,
    );

    // apply recalibrates as the owner role and sets the default from the new calibration; the app's sessions
    // start with it, and health, plan and status agree.
    const apply = await runCli(["apply"], { DATABASE_URL: migrator });
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toContain(`${chunkIndex}: update in`);
    const recalibrated = await databaseSettings(db.url);
    expect(recalibrated).toHaveLength(1);
    const [newSetting, newValue] = recalibrated[0]!.split("=") as [string, string];
    expect(newSetting).toBe(setting);
    expect(await sessionValue(urlAs(db, roles, "app"), setting)).toBe(newValue);
    const health = await checkHealth({ databaseUrl: migrator });
    expect(health.searchSettings).toEqual([]);
    expect(health.findings.filter((f) => f.subject === setting)).toEqual([]);
    const again = await runCli(["plan"], { DATABASE_URL: migrator });
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain(itemName);
    expect(again.stdout).toContain("Nothing to do: the database is up to date.");
    const after = await cliJson<ReleaseStatus>(migrator, "status");
    expect(after.doc.vectorIndexes.find((i) => i.name === chunk!.name)!.databaseDefault).toBe(
      `${setting} = ${newValue}`,
    );

    // Changed by hand, it is planned on its own and put back the same way.
    const other = String(Number(newValue) + 1);
    await withClient(migrator, (c) =>
      c.query(`SELECT '[1]'::vector; ALTER DATABASE ${quoteIdentifier(db.name)} SET ${setting} = ${other}`),
    );
    const changed = await cliJson<ReleasePlan>(migrator, "plan");
    expect(changed.code).toBe(2);
    const byHand = changed.doc.vectorIndexes.find((i) => i.name === itemName);
    expect(byHand).toMatchObject({ action: "update", decision: "search-default" });
    expect(byHand!.reason).toContain(
      `${setting} = ${other} for database ${db.name}, changed by hand: set to the calibrated ${newValue}`,
    );
    expect(byHand!.reason).toContain(
      `ALTER DATABASE ${quoteIdentifier(db.name)} SET ${setting} = ${newValue}`,
    );
    const byHandText = await runCli(["plan"], { DATABASE_URL: migrator });
    expect(byHandText.stdout).toContain(
      `~ ${itemName}: update (${setting} = ${other} for database ${db.name}`,
    );
    expect((await runCli(["apply"], { DATABASE_URL: migrator })).code).toBe(0);
    expect(await databaseSettings(db.url)).toEqual(recalibrated);

    // A template copy of it, made without OWNER: the admin's database, without the setting; a file copy
    // keeps each index's storage, so nothing is recalibrated and the default alone is planned.
    const copy = await createTestDatabase("restdefcopy");
    made.push(copy);
    await withClient(copy.adminUrl, async (c) => {
      await c.query(`DROP DATABASE ${quoteIdentifier(copy.name)}`);
      await c.query(`CREATE DATABASE ${quoteIdentifier(copy.name)} TEMPLATE ${quoteIdentifier(db.name)}`);
    });
    expect(await databaseSettings(copy.url)).toEqual([]);
    const copyMigrator = urlAs(copy, roles, "migrator");
    const admin = decodeURIComponent(new URL(copy.url).username);
    // Nothing apply can do, but not "nothing to do": the hand-over is the operator's, and plan exits 2 for it
    // as health does, its text and --json saying the same.
    const refused = await cliJson<ReleasePlan>(copyMigrator, "plan");
    expect(refused.code).toBe(2);
    expect(refused.doc.pending).toBe(false);
    expect(refused.doc.problems).toEqual([]);
    expect(refused.doc.operatorItems).toEqual([itemName]);
    const refusedText = await runCli(["plan"], { DATABASE_URL: copyMigrator });
    expect(refusedText.code).toBe(2);
    expect(refusedText.stdout).not.toContain("Nothing to do");
    expect(refusedText.stdout.trimEnd().split("\n").at(-1)).toBe(
      `Operator action needed: \`neonhub-db apply\` has nothing it can do, but the item skipped above (${itemName}) waits for the operator (its reason says what to run, and as whom); then \`neonhub-db apply\` does it.`,
    );
    expect((await runCli(["health"], { DATABASE_URL: copyMigrator })).code).toBe(2);
    const skipped = refused.doc.vectorIndexes.find((i) => i.name === itemName);
    expect(skipped).toMatchObject({ action: "unchanged", decision: "skip", skip: "not-owner" });
    expect(skipped!.reason).toContain(`belongs to ${admin}, not to ${owner}`);
    const handOver =
      /As (\S+) \(or a superuser\), hand it over: (ALTER DATABASE \S+ OWNER TO \S+); then apply sets it/.exec(
        skipped!.reason,
      );
    expect(handOver, skipped!.reason).not.toBeNull();
    expect(handOver![1]).toBe(admin);
    expect(handOver![2]).toBe(
      `ALTER DATABASE ${quoteIdentifier(copy.name)} OWNER TO ${quoteIdentifier(owner)}`,
    );

    // apply does what it may and says the rest, the setting left as it was; after the hand-over it sets it.
    const partial = await runCli(["apply"], { DATABASE_URL: copyMigrator });
    expect(partial.code, partial.stderr).toBe(0);
    expect(partial.stderr).toContain(`${itemName}: ${skipped!.reason}`);
    expect(await databaseSettings(copy.url)).toEqual([]);
    await withClient(copy.url, (c) => c.query(handOver![2]!));
    const applied = await runCli(["apply"], { DATABASE_URL: copyMigrator });
    expect(applied.code, applied.stderr).toBe(0);
    expect(await databaseSettings(copy.url)).toEqual(recalibrated);
    expect((await checkHealth({ databaseUrl: copyMigrator })).searchSettings).toEqual([]);
    const clean = await runCli(["plan"], { DATABASE_URL: copyMigrator });
    expect(clean.code).toBe(0);
    expect(clean.stdout).not.toContain(itemName);
    expect(clean.stdout).toContain("Nothing to do: the database is up to date.");
  });
});
