// revert --confirm --expect-last: the preview prints the command that confirms it, with the ledger's last
// migration it saw, and that confirm reverts nothing when a deploy or another revert moved the ledger since
// the operator reviewed the preview. Every run is the CLI on a real database.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { applyRelease, urlWithoutPassword } from "../../core";
import { runCli } from "../support/cli";
import { useTestDatabase, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const db = useTestDatabase("expectlast");

const WIDGETS = "20250101000100_widgets";
const COLOR = "20250101000200_widget_color";
const GADGETS = "20250101000300_gadgets";
const NOTES = "20991231000000_gadget_notes";

interface PreviewDocument {
  confirmed: false;
  plan: { lastMigration: string | null; lastMigrationAfter: string | null; migrations: { name: string }[] };
  confirmCommand: string | null;
  confirmCommandNote?: string;
}

// The test database's URL is the cluster's admin's (postgres): the note names that login's variable.
const PASSWORD_NOTE =
  'the password of --database-url is left out: give it in PGPASSWORD or ~/.pgpass, which are read for a URL without one, or pass the URL as "$ADMIN_URL"';

interface ErrorDocument {
  error: { code: string; message: string; fix: string };
}

async function ledger(): Promise<string[]> {
  return withClient(db.current.url, async (c) => {
    const rows = await c.query<{ name: string }>("SELECT name FROM neonhub_release.migrations ORDER BY id");
    return rows.rows.map((r) => r.name);
  });
}

async function gadgetHasNotes(): Promise<boolean> {
  const found = await withClient(db.current.url, (c) =>
    c.query("SELECT 1 FROM information_schema.columns WHERE table_name = 'Gadget' AND column_name = 'notes'"),
  );
  return found.rowCount === 1;
}

/** The arguments of a printed `neonhub-db ...` command; the tests' arguments need no shell quoting. */
function argsOf(command: string): string[] {
  const [binary, ...args] = command.split(" ");
  expect(binary).toBe("neonhub-db");
  return args;
}

let dir: string;
const env = () => ({ DATABASE_URL: db.current.url });

beforeEach(async () => {
  dir = fixtureMigrationsCopy();
  await applyRelease({ databaseUrl: db.current.url, migrationsDir: dir });
});

describe("the revert preview's confirm command", () => {
  it("is the preview's arguments with --confirm --expect-last <the ledger's last>, in text and --json; run as printed, it reverts", async () => {
    const text = await runCli(["revert", "--to", WIDGETS, "--migrations-dir", dir], env());
    expect(text.code, text.stderr).toBe(2);
    expect(text.stdout).toContain(
      `Nothing was changed. To revert, leaving the ledger at ${WIDGETS}, run this (it reverts nothing if the ledger no longer ends at ${GADGETS}):\n` +
        `  neonhub-db revert --to ${WIDGETS} --migrations-dir ${dir} --confirm --expect-last ${GADGETS}\n`,
    );

    const preview = await runCli(["revert", "--to", WIDGETS, "--migrations-dir", dir, "--json"], env());
    expect(preview.code, preview.stderr).toBe(2);
    const document = JSON.parse(preview.stdout) as PreviewDocument;
    expect(document.plan.lastMigration).toBe(GADGETS);
    expect(document.confirmCommand).toBe(
      `neonhub-db revert --to ${WIDGETS} --migrations-dir ${dir} --json --confirm --expect-last ${GADGETS}`,
    );

    const confirm = await runCli(argsOf(document.confirmCommand!), env());
    expect(confirm.code, confirm.stderr).toBe(0);
    expect(await ledger()).toEqual([WIDGETS]);
  });

  it("names a --database-url given from $DIRECT_URL by the variable", async () => {
    const url = db.current.url;
    const fromVariable = await runCli(
      ["revert", "--to", WIDGETS, "--database-url", url, "--migrations-dir", dir, "--json"],
      { DIRECT_URL: url },
    );
    expect(fromVariable.code, fromVariable.stderr).toBe(2);
    expect((JSON.parse(fromVariable.stdout) as PreviewDocument).confirmCommand).toBe(
      `neonhub-db revert --to ${WIDGETS} --database-url "$DIRECT_URL" --migrations-dir ${dir} --json --confirm --expect-last ${GADGETS}`,
    );
  });

  it("prints another --database-url without its password, saying how to give it; run as printed with PGPASSWORD or ~/.pgpass, it reverts", async () => {
    const url = db.current.url;
    const password = decodeURIComponent(new URL(url).password);
    expect(password).not.toBe("");
    const shown = urlWithoutPassword(url);
    expect(shown).not.toContain(password);
    const given = await runCli(["revert", "--to", COLOR, `--database-url=${url}`, "--migrations-dir", dir]);
    expect(given.code, given.stderr).toBe(2);
    const command = `neonhub-db revert --to ${COLOR} --database-url=${shown} --migrations-dir ${dir} --confirm --expect-last ${GADGETS}`;
    expect(given.stdout).toContain(`\n  ${command}\n  (${PASSWORD_NOTE})`);
    expect(given.stdout + given.stderr).not.toContain(password);

    const document = JSON.parse(
      (await runCli(["revert", "--to", COLOR, "--database-url", url, "--migrations-dir", dir, "--json"]))
        .stdout,
    ) as PreviewDocument;
    expect(document.confirmCommand).toBe(
      `neonhub-db revert --to ${COLOR} --database-url ${shown} --migrations-dir ${dir} --json --confirm --expect-last ${GADGETS}`,
    );
    expect(document.confirmCommandNote).toBe(PASSWORD_NOTE);

    // As printed, without a password from anywhere, it cannot log in; nothing is reverted.
    const bare = await runCli(argsOf(command));
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain(
      `neonhub-db: error: The server at ${new URL(url).host} asks user "${decodeURIComponent(new URL(url).username)}" for a password, and none was given: the database URL has none, and neither PGPASSWORD nor ~/.pgpass holds one.\n  fix: Give the password in PGPASSWORD, in ~/.pgpass`,
    );
    expect(await ledger()).toEqual([WIDGETS, COLOR, GADGETS]);

    // With ~/.pgpass, as libpq reads it (host:port:database:user:password, readable by its owner alone).
    const home = mkdtempSync(path.join(tmpdir(), "neonhub-pgpass-"));
    try {
      const { hostname, port, pathname, username } = new URL(url);
      const line = [hostname, port, pathname.slice(1), decodeURIComponent(username), password].join(":");
      writeFileSync(path.join(home, ".pgpass"), `${line}\n`, { mode: 0o600 });
      const fromFile = await runCli(argsOf(command), { HOME: home });
      expect(fromFile.code, fromFile.stderr).toBe(0);
      expect(await ledger()).toEqual([WIDGETS, COLOR]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }

    // With PGPASSWORD: the next preview's command, run as printed.
    const next = await runCli([
      "revert",
      "--to",
      WIDGETS,
      "--database-url",
      url,
      "--migrations-dir",
      dir,
      "--json",
    ]);
    const { confirmCommand } = JSON.parse(next.stdout) as PreviewDocument;
    const confirmed = await runCli(argsOf(confirmCommand!), { PGPASSWORD: password });
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(await ledger()).toEqual([WIDGETS]);
  });

  it("is not printed when there is nothing to revert", async () => {
    const preview = await runCli(["revert", "--to", GADGETS, "--migrations-dir", dir, "--json"], env());
    expect(preview.code, preview.stderr).toBe(0);
    const document = JSON.parse(preview.stdout) as PreviewDocument;
    expect(document.plan.migrations).toEqual([]);
    expect(document.confirmCommand).toBeNull();
  });
});

describe("revert --confirm --expect-last after the ledger moved since the preview", () => {
  it("refuses a deploy's migration applied since the preview (ledger-mismatch, nothing reverted), and the new preview's command reverts it", async () => {
    const reviewed = await runCli(["revert", "--to", COLOR, "--migrations-dir", dir, "--json"], env());
    const { confirmCommand } = JSON.parse(reviewed.stdout) as PreviewDocument;
    expect(confirmCommand).toContain(`--expect-last ${GADGETS}`);

    // A deploy lands between the preview and the confirm.
    writeMigration(
      dir,
      `${NOTES}.sql`,
      'ALTER TABLE "Gadget" ADD COLUMN "notes" text;',
      'ALTER TABLE "Gadget" DROP COLUMN "notes";',
    );
    const deploy = await runCli(["apply", "--migrations-dir", dir], env());
    expect(deploy.code, deploy.stderr).toBe(0);

    const confirm = await runCli(argsOf(confirmCommand!), env());
    expect(confirm.code, confirm.stderr).toBe(1);
    const { error } = JSON.parse(confirm.stdout) as ErrorDocument;
    expect(error.code).toBe("ledger-mismatch");
    expect(error.message).toBe(
      `Refusing to revert: the ledger ends at ${NOTES}, not at ${GADGETS} (--expect-last): migration ${NOTES} was applied after ${GADGETS}.`,
    );
    // The preview as the operator ran it, its folder included: runnable as printed.
    expect(error.fix).toBe(
      `Nothing was reverted. Run \`neonhub-db revert --to ${COLOR} --migrations-dir ${dir} --json\` to see what a revert undoes now, then run the confirm command it prints.`,
    );
    expect(await ledger()).toEqual([WIDGETS, COLOR, GADGETS, NOTES]);
    expect(await gadgetHasNotes()).toBe(true);

    const again = await runCli(["revert", "--to", COLOR, "--migrations-dir", dir, "--json"], env());
    const next = JSON.parse(again.stdout) as PreviewDocument;
    expect(next.plan.migrations.map((m) => m.name)).toEqual([NOTES, GADGETS]);
    expect(next.confirmCommand).toContain(`--expect-last ${NOTES}`);
    const reverted = await runCli(argsOf(next.confirmCommand!), env());
    expect(reverted.code, reverted.stderr).toBe(0);
    expect(await ledger()).toEqual([WIDGETS, COLOR]);
    expect(await gadgetHasNotes()).toBe(false);
  });

  it("refuses when another revert took the expected migration out since the preview, though fewer would be reverted", async () => {
    const other = await runCli(["revert", "--to", COLOR, "--confirm", "--migrations-dir", dir], env());
    expect(other.code, other.stderr).toBe(0);

    const confirm = await runCli(
      ["revert", "--to", WIDGETS, "--migrations-dir", dir, "--confirm", "--expect-last", `${GADGETS}.sql`],
      env(),
    );
    expect(confirm.code).toBe(1);
    expect(confirm.stderr).toContain(
      `neonhub-db: error: Refusing to revert: the ledger ends at ${COLOR}, not at ${GADGETS} (--expect-last): ${GADGETS} is not applied (reverted since the preview, by another revert or by this one before it was stopped; or never applied here).`,
    );
    expect(await ledger()).toEqual([WIDGETS, COLOR]);
  });

  it("says what the ledger holds for an --expect-last typed by hand that no preview showed", async () => {
    const confirm = await runCli(
      ["revert", "--to", WIDGETS, "--migrations-dir", dir, "--confirm", "--expect-last", COLOR],
      env(),
    );
    expect(confirm.code).toBe(1);
    expect(confirm.stderr).toContain(
      `neonhub-db: error: Refusing to revert: the ledger ends at ${GADGETS}, not at ${COLOR} (--expect-last): migration ${GADGETS} was applied after ${COLOR}.\n` +
        `  fix: Nothing was reverted. Run \`neonhub-db revert --to ${WIDGETS} --migrations-dir ${dir}\` to see what a revert undoes now, then run the confirm command it prints.`,
    );
    expect(await ledger()).toEqual([WIDGETS, COLOR, GADGETS]);
  });

  it("reverts without --expect-last, as scripts and the stack's dropSchemaOnDelete do", async () => {
    const confirm = await runCli(["revert", "--to", WIDGETS, "--confirm", "--migrations-dir", dir], env());
    expect(confirm.code, confirm.stderr).toBe(0);
    expect(await ledger()).toEqual([WIDGETS]);
  });
});

describe("--expect-last given wrong", () => {
  it.each([
    [
      "without --confirm",
      ["revert", "--to", WIDGETS, "--expect-last", GADGETS],
      "--expect-last goes with --confirm: it is the check a confirm makes, and without --confirm revert only shows what it would undo.",
      // The preview, not a confirm: whoever typed this may not have seen what a revert undoes now.
      (dir: string) =>
        `See what a revert undoes now with its preview, \`neonhub-db revert --to ${WIDGETS} --migrations-dir ${dir} --json\`, then run the confirm command it prints (with --expect-last set to the ledger's last migration).`,
    ],
    [
      "naming no migration file",
      ["revert", "--to", WIDGETS, "--confirm", "--expect-last", "20250101000300_gadget"],
      '--expect-last "20250101000300_gadget" is not a migration file in the migrations folder.',
      (dir: string) =>
        `Did you mean ${GADGETS}? Give the ledger's last migration as the revert's preview prints it: run \`neonhub-db revert --to ${WIDGETS} --migrations-dir ${dir} --json\`, which prints the command to run.`,
    ],
    [
      "with another command",
      ["status", "--expect-last", GADGETS],
      "--expect-last goes with revert, not status.",
      () => "Leave it out, or run `neonhub-db revert --expect-last ...` (see `neonhub-db --help`).",
    ],
  ])("%s: invalid-input naming it and the fix, nothing reverted", async (_, args, message, fix) => {
    const run = await runCli([...args, "--migrations-dir", dir, "--json"], env());
    expect(run.code).toBe(1);
    const { error } = JSON.parse(run.stdout) as ErrorDocument;
    expect(error).toMatchObject({ code: "invalid-input", message, fix: fix(dir) });
    expect(await ledger()).toEqual([WIDGETS, COLOR, GADGETS]);
  });

  it("without --confirm and with a --database-url that is no postgresql:// URL: its fix shows none of it", async () => {
    const url = "postgress://app:Sup3rSecret@127.0.0.1/neonhub";
    const run = await runCli(["revert", "--to", WIDGETS, "--expect-last", GADGETS, "--database-url", url]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `preview, \`neonhub-db revert --to ${WIDGETS} --database-url '<postgresql:// URL>'\`, then run`,
    );
    expect(run.stdout + run.stderr).not.toContain("Sup3rSecret");
  });

  it("with no value: says it needs the migration name", async () => {
    const run = await runCli(["revert", "--to", WIDGETS, "--confirm", "--expect-last"], env());
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("--expect-last");
    expect(run.stderr).toContain("<migration name>");
    expect(await ledger()).toEqual([WIDGETS, COLOR, GADGETS]);
  });
});
