// A fix that names the --owner-role to pass prints it as one shell word: PostgreSQL takes any character in a
// quoted role name, and a name with a space or a quote pasted bare broke the command or named another role.
// Each printed flag is read back by a real POSIX shell and the CLI's own parser; on the real database, a first
// apply refused for a database that such a role owns names the flag, and the apply run through a shell with
// that flag as printed releases the database as that role; baseline's refusal names the admin's command with it.
import { spawnSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR, ownerRoleFlag, quoteIdentifier, shellWord } from "../../core";
import { parseArgs } from "../../cli/args";
import { commandOnDatabase } from "../../cli/confirm-command";
import accessDefinition from "../../infra/access-definition";
import { runCli, runPrinted } from "../support/cli";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { tableOwners } from "../support/roles";

/** The words a POSIX shell reads from `text`, as the program it runs is given them. */
function shellWords(text: string): string[] {
  const run = spawnSync("sh", ["-c", `printf '%s\\0' ${text}`], { encoding: "utf8" });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.split("\0").slice(0, -1);
}

/** The --owner-role the CLI reads from `flag` as a shell passes it to `neonhub-db apply`. */
function ownerRoleReadBack(flag: string): string | undefined {
  return parseArgs(["apply", ...shellWords(flag)]).ownerRole;
}

describe("ownerRoleFlag", () => {
  it("leaves a plain name bare, as the fixes printed it", () => {
    for (const role of ["neonhub_owner", "NeonOwner", "acme-2.owner"]) {
      expect(ownerRoleFlag(role)).toBe(`--owner-role ${role}`);
    }
  });

  it("prints a name with a space or a single quote as one word", () => {
    expect(ownerRoleFlag("Neon Owner")).toBe("--owner-role 'Neon Owner'");
    expect(ownerRoleFlag("o'wner")).toBe(`--owner-role 'o'\\''wner'`);
  });

  it("prints every name as a shell and the CLI's parser read it back", () => {
    const roles = [
      "Neon Owner",
      "o'wner",
      'say "hi"',
      "$HOME",
      "`id`",
      "a;b",
      "a|b",
      "*",
      "~owner",
      "#owner",
      "new\nline",
      "tab\there",
      "-owner",
      "--json",
      "ünïcode owner",
      "neonhub_owner",
    ];
    for (const role of roles) expect(ownerRoleReadBack(ownerRoleFlag(role)), role).toBe(role);
  });

  it("the CLI's printed commands carry the owner role given as the same word", () => {
    const print = (ownerRole: string) => commandOnDatabase(["apply"], { ownerRole }, {}, () => true).command;
    expect(print("Neon Owner")).toBe("neonhub-db apply --owner-role 'Neon Owner'");
    expect(print("neonhub_owner")).toBe("neonhub-db apply --owner-role neonhub_owner");
    // node's parser takes a value that starts with "-" after a space for a flag, and refuses it.
    expect(print("-owner")).toBe("neonhub-db apply --owner-role=-owner");
    expect(parseArgs(shellWords(print("-owner")).slice(1)).ownerRole).toBe("-owner");
  });

  it('the CLI\'s printed commands carry any other flag whose value starts with "-" joined to it', () => {
    const printed = commandOnDatabase(
      ["apply"],
      { migrationsDir: "-migrations dir" },
      {},
      () => true,
    ).command;
    expect(printed).toBe("neonhub-db apply --migrations-dir='-migrations dir'");
    expect(parseArgs(shellWords(printed).slice(1)).migrationsDir).toBe("-migrations dir");
  });
});

/** The release's ledger, where it exists. */
async function ledger(url: string): Promise<string | null> {
  return withClient(
    url,
    async (c) =>
      (await c.query<{ at: string | null }>("SELECT to_regclass('neonhub_release.migrations')::text AS at"))
        .rows[0]!.at,
  );
}

// The owner role as a restore or a hand-made database may name it: with a space and capitals, or with a quote.
// The superuser acting as itself is refused (the release would be its own), with --owner-role as the fix.
describe.each([
  { kind: "a space and capitals", suffix: " Neon Owner", quoted: (role: string) => `'${role}'` },
  {
    kind: "a single quote",
    suffix: "_o'wner",
    quoted: (role: string) => `'${role.replace("'", `'\\''`)}'`,
  },
])("a first apply as the superuser, on a database a role named with $kind owns", ({ suffix, quoted }) => {
  let db: TestDatabase;
  const owner = () => `${db.name}${suffix}`;
  beforeAll(async () => {
    db = await createTestDatabase("ownerword");
    await withClient(db.url, async (c) => {
      await c.query(`CREATE ROLE ${quoteIdentifier(owner())} NOLOGIN`);
      await c.query(`ALTER DATABASE ${quoteIdentifier(db.name)} OWNER TO ${quoteIdentifier(owner())}`);
      // pgvector is not trusted: the admin creates the extensions, as the access layer does.
      for (const extension of accessDefinition.EXTENSIONS) {
        await c.query(`CREATE EXTENSION IF NOT EXISTS ${quoteIdentifier(extension)}`);
      }
    });
  });
  afterAll(async () => {
    if (!db) return;
    await dropTestDatabase(db);
    await withClient(db.adminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${quoteIdentifier(owner())}`));
  });

  it("baseline without --owner-role names the admin's command with the owner role as one shell word", async () => {
    const run = await runCli(["baseline", "--json", "--migrations-dir", DEFAULT_MIGRATIONS_DIR], {
      DATABASE_URL: db.url,
    });
    expect(run.code, run.stderr).toBe(1);
    const { fix } = (JSON.parse(run.stdout) as { error: { fix: string } }).error;
    expect(fix).toContain(
      `neonhub-db baseline --database-url "$ADMIN_URL" --owner-role ${quoted(owner())}, where ADMIN_URL`,
    );
    expect(await ledger(db.url)).toBeNull();
  });

  it("names the owner role as one shell word, and the apply with that flag, run through a shell, releases as it", async () => {
    const dir = shellWord(DEFAULT_MIGRATIONS_DIR);
    const run = await runCli(["apply", "--json", "--migrations-dir", DEFAULT_MIGRATIONS_DIR], {
      DATABASE_URL: db.url,
    });
    expect(run.code, run.stderr).toBe(1);
    const { fix } = (JSON.parse(run.stdout) as { error: { fix: string } }).error;
    expect(fix).toContain(`Run apply with --owner-role ${quoted(owner())}, or as the migrator`);
    expect(await ledger(db.url)).toBeNull();

    const flag = /Run apply with (--owner-role .*?), or as the migrator/.exec(fix)![1]!;
    expect(ownerRoleReadBack(flag)).toBe(owner());
    const applied = await runPrinted(`neonhub-db apply ${flag} --migrations-dir ${dir} --json`, {
      DATABASE_URL: db.url,
    });
    expect(applied.code, applied.stderr + applied.stdout).toBe(0);
    expect(await tableOwners(db.url)).toEqual([owner()]);
  });
});
