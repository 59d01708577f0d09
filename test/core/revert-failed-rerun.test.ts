// A revert --confirm --expect-last that fails part way (a Down section that cannot take its lock, or whose SQL
// raises) after Down sections before it committed: the ledger no longer ends at the --expect-last it was given,
// so the rerun its fix prints names where the ledger ends now, and that rerun, copied once the cause is gone,
// reverts the rest. One that fails on its first Down section prints the command as it ran. Every run is the
// CLI on a real database.
import { Client } from "pg";
import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const WIDGETS = "20250101000100_widgets";
const COLOR = "20250101000200_widget_color";
const GADGETS = "20250101000300_gadgets";
const SPROCKETS = "20250101000400_sprockets";

interface PreviewDocument {
  confirmCommand: string | null;
}

interface ErrorDocument {
  error: { code: string; message: string; fix: string; failedMigration: { name: string; finished: number } };
}

const ledger = (url: string) =>
  withClient(url, async (c) =>
    (await c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id")).rows.map(
      (r) => r.name,
    ),
  );

/** The arguments of a printed `neonhub-db ...` command; the tests' arguments need no shell quoting. */
function argsOf(command: string): string[] {
  const [binary, ...args] = command.split(" ");
  expect(binary).toBe("neonhub-db");
  return args;
}

/** The `neonhub-db revert ... --confirm ...` command a fix names (in backticks, one or more times). */
function confirmIn(fix: string): string {
  const commands = new Set([...fix.matchAll(/`(neonhub-db revert [^`]*--confirm[^`]*)`/g)].map((m) => m[1]!));
  expect([...commands], fix).toHaveLength(1);
  return [...commands][0]!;
}

/** The preview's confirm command for a revert to `to`, with `flags` (the preview carries them to it). */
async function confirmCommandOf(url: string, to: string, flags: readonly string[]): Promise<string> {
  const preview = await runCli(["revert", "--to", to, ...flags, "--json"], { DATABASE_URL: url });
  expect(preview.code, preview.stderr).toBe(2);
  return (JSON.parse(preview.stdout) as PreviewDocument).confirmCommand!;
}

/** An app's transaction left open after reading `table`: DROP TABLE waits for its ACCESS SHARE lock. */
async function openReadOf(url: string, table: string): Promise<Client> {
  const holder = new Client({ connectionString: url, application_name: "app-report-job" });
  await holder.connect();
  await holder.query(`BEGIN; SELECT count(*) FROM "${table}"`);
  return holder;
}

describe("revert --confirm --expect-last whose Down section times out on a lock", () => {
  const db = useTestDatabase("revrerunlock");
  const dir = fixtureMigrationsCopy();
  writeMigration(dir, `${SPROCKETS}.sql`, 'CREATE TABLE "Sprocket" (id int);', 'DROP TABLE "Sprocket";');
  const flags = ["--migrations-dir", dir, "--migration-lock-timeout", "0.5", "--lock-retries", "0"];

  it("on its 2nd of 3 migrations prints the confirm with --expect-last where the ledger ends now, which reverts the rest", async () => {
    const url = db.current.url;
    expect((await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: url })).code).toBe(0);
    const confirm = await confirmCommandOf(url, WIDGETS, flags);
    expect(confirm).toContain(`--expect-last ${SPROCKETS}`);

    const holder = await openReadOf(url, "Gadget");
    let failed: ErrorDocument;
    try {
      const run = await runCli(argsOf(confirm), { DATABASE_URL: url });
      expect(run.code, run.stderr).toBe(1);
      failed = JSON.parse(run.stdout) as ErrorDocument;
    } finally {
      await holder.end();
    }
    const { error } = failed;
    expect(error.code).toBe("lock-timeout");
    expect(error.failedMigration).toMatchObject({ name: GADGETS, finished: 1 });
    // Sprockets' Down section committed; Gadgets' rolled back: the ledger ends at it.
    expect(await ledger(url)).toEqual([WIDGETS, COLOR, GADGETS]);
    const rerun = confirmIn(error.fix);
    expect(rerun).toBe(
      `neonhub-db revert --to ${WIDGETS} ${flags.join(" ")} --json --confirm --expect-last ${GADGETS}`,
    );
    // Why its --expect-last is not the one typed, as a failed Down section's fix says it.
    expect(error.fix).toContain(
      `Run \`${rerun}\` again when that session has finished (its --expect-last names the migration the ledger ends at now), or raise --migration-lock-timeout / --lock-retries.`,
    );

    // The holder gone, the rerun as printed is accepted and reverts the rest.
    const rest = await runCli(argsOf(rerun), { DATABASE_URL: url });
    expect(rest.code, rest.stderr).toBe(0);
    expect(await ledger(url)).toEqual([WIDGETS]);
  });

  it("on its first migration prints the command as it ran", async () => {
    const url = db.current.url;
    expect((await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: url })).code).toBe(0);
    const confirm = await confirmCommandOf(url, WIDGETS, flags);
    const holder = await openReadOf(url, "Sprocket");
    try {
      const run = await runCli(argsOf(confirm), { DATABASE_URL: url });
      expect(run.code, run.stderr).toBe(1);
      const { error } = JSON.parse(run.stdout) as ErrorDocument;
      expect(error.failedMigration).toMatchObject({ name: SPROCKETS, finished: 0 });
      expect(confirmIn(error.fix)).toBe(confirm);
      // Its --expect-last is the one typed: no reason to give.
      expect(error.fix).not.toContain("its --expect-last names");
    } finally {
      await holder.end();
    }
    expect(await ledger(url)).toEqual([WIDGETS, COLOR, GADGETS, SPROCKETS]);
  });
});

describe("revert --confirm --expect-last whose Down section raises", () => {
  const db = useTestDatabase("revrerunsql");
  const GATE = "20250101000400_gate";
  const CHECKED = "20250101000500_checked";
  const LAST = "20250101000600_last";
  const dir = fixtureMigrationsCopy();
  writeMigration(
    dir,
    `${GATE}.sql`,
    'CREATE TABLE "RevertGate" (open boolean NOT NULL);\nINSERT INTO "RevertGate" VALUES (false);',
    'DROP TABLE "RevertGate";',
  );
  // Its Down section raises while the gate is closed: what a database changed by hand since looks like.
  writeMigration(
    dir,
    `${CHECKED}.sql`,
    "SELECT 1;",
    `DO $$ BEGIN IF NOT (SELECT open FROM "RevertGate") THEN RAISE EXCEPTION 'the gate is closed'; END IF; END $$;`,
  );
  writeMigration(dir, `${LAST}.sql`, "SELECT 1;", "SELECT 1;");

  it("on its 2nd of 3 migrations prints, in text, the confirm with --expect-last where the ledger ends now, which reverts the rest", async () => {
    const url = db.current.url;
    expect((await runCli(["apply", "--migrations-dir", dir], { DATABASE_URL: url })).code).toBe(0);
    const confirm = await confirmCommandOf(url, GADGETS, ["--migrations-dir", dir]);
    // The operator's confirm, in text: the preview's --json taken out.
    const run = await runCli(
      argsOf(confirm).filter((a) => a !== "--json"),
      { DATABASE_URL: url },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Reverting migration ${CHECKED}.sql failed`);
    expect(run.stderr).toContain("the gate is closed");
    expect(await ledger(url)).toEqual([WIDGETS, COLOR, GADGETS, GATE, CHECKED]);
    const fix = run.stderr.slice(run.stderr.indexOf("  fix: "));
    const rerun = confirmIn(fix);
    expect(rerun).toBe(
      `neonhub-db revert --to ${GADGETS} --migrations-dir ${dir} --confirm --expect-last ${CHECKED}`,
    );
    expect(fix).toContain(
      `restore what it expects and run \`${rerun}\` again (its --expect-last names the migration the ledger ends at now).`,
    );

    await withClient(url, (c) => c.query('UPDATE "RevertGate" SET open = true'));
    const rest = await runCli(argsOf(rerun), { DATABASE_URL: url });
    expect(rest.code, rest.stderr).toBe(0);
    expect(await ledger(url)).toEqual([WIDGETS, COLOR, GADGETS]);
  });
});
