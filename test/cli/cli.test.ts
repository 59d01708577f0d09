import { appendFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTestDatabase, withClient } from "../support/database";
import { runCli } from "../support/cli";
import { fixtureMigrationsCopy } from "../support/fixtures";

const PASSWORD = "cli-S3cret-pw";

/** A login role with a known password, so tests can check it never reaches the output. */
async function loginUrl(superuserUrl: string, role: string): Promise<string> {
  await withClient(superuserUrl, async (c) => {
    await c.query(`DROP ROLE IF EXISTS ${role}`);
    await c.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
  });
  const url = new URL(superuserUrl);
  url.username = role;
  url.password = PASSWORD;
  return url.toString();
}

function expectNoPassword(...texts: string[]) {
  for (const text of texts) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(encodeURIComponent(PASSWORD));
  }
}

describe("neonhub-db plan / apply / status / verify", () => {
  const db = useTestDatabase();
  const dir = fixtureMigrationsCopy();
  let url = "";
  beforeAll(async () => {
    url = await loginUrl(db.current.url, "cli_runner");
  });
  const cli = (...args: string[]) => runCli([...args, "--migrations-dir", dir], { DATABASE_URL: url });

  it("plan exits 2 and lists the pending migrations by name", async () => {
    const run = await cli("plan");
    expect(run.code).toBe(2);
    expect(run.stdout).toContain("3 pending");
    expect(run.stdout).toContain("+ 20250101000100_widgets");
    expect(run.stdout).toContain("cli_runner:****@");
    expectNoPassword(run.stdout, run.stderr);
  });

  it("--json prints exactly one JSON document on stdout", async () => {
    const run = await cli("plan", "--json");
    expect(run.code).toBe(2);
    const plan = JSON.parse(run.stdout) as { pending: boolean; migrations: { pending: { name: string }[] } };
    expect(plan.pending).toBe(true);
    expect(plan.migrations.pending.map((m) => m.name)).toHaveLength(3);
    expectNoPassword(run.stdout, run.stderr);
  });

  it("apply applies with progress on stderr and a summary on stdout; again says nothing changed", async () => {
    const first = await cli("apply");
    expect(first.stderr).not.toContain("error");
    expect(first.code).toBe(0);
    expect(first.stderr).toContain("migration 20250101000300_gadgets: running (3/3)");
    expect(first.stdout).toContain("Release applied");
    const again = await cli("apply", "--json");
    expect(again.code).toBe(0);
    const result = JSON.parse(again.stdout) as { changed: boolean; summary: { appliedMigrations: number } };
    expect(result).toMatchObject({ changed: false, summary: { appliedMigrations: 3 } });
    const plain = await cli("apply");
    expect(plain.stdout).toContain("Nothing changed");
    expectNoPassword(first.stdout, first.stderr, again.stdout, plain.stdout);
  });

  it("plan exits 0 when nothing is pending", async () => {
    const run = await cli("plan");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Nothing to do");
  });

  it("status shows the ledger", async () => {
    const run = await cli("status", "--json");
    expect(run.code).toBe(0);
    const status = JSON.parse(run.stdout) as {
      ledger: { name: string; checksum: string; appliedBy: string }[];
    };
    expect(status.ledger.map((e) => e.name)).toEqual([
      "20250101000100_widgets",
      "20250101000200_widget_color",
      "20250101000300_gadgets",
    ]);
    expect(status.ledger[0]!.appliedBy).toBe("cli_runner");
  });

  it("verify is clean after apply, then exits 2 naming a hand-made change", async () => {
    const clean = await cli("verify");
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain("clean");
    await withClient(db.current.url, (c) => c.query('ALTER TABLE "Widget" ADD COLUMN sneaky int'));
    const drifted = await cli("verify", "--json");
    expect(drifted.code).toBe(2);
    const report = JSON.parse(drifted.stdout) as { clean: boolean; drift: { added: string[] } };
    expect(report.clean).toBe(false);
    expect(report.drift.added).toEqual(["column public.Widget.sneaky"]);
    await withClient(db.current.url, (c) => c.query('ALTER TABLE "Widget" DROP COLUMN sneaky'));
    expect((await cli("verify")).code).toBe(0);
  });

  it("verify exits 2 naming a migration file changed after it was applied", async () => {
    // In its Up section (an edit after it would leave the Up section the applied one, a message of its own).
    const widgets = path.join(dir, "20250101000100_widgets.sql");
    writeFileSync(
      widgets,
      readFileSync(widgets, "utf8").replace("-- Up Migration\n", "-- Up Migration\n-- edited\n"),
    );
    const run = await cli("verify");
    expect(run.code).toBe(2);
    expect(run.stdout).toContain("20250101000100_widgets.sql was changed after it was applied");
    const apply = await cli("apply");
    expect(apply.code).toBe(1);
    expect(apply.stderr).toContain("20250101000100_widgets.sql");
    expectNoPassword(run.stdout, apply.stderr);
  });
});

describe("bad input gets a clear error and exit 1, with no password in the output", () => {
  const db = useTestDatabase();
  let url = "";
  let silent: net.Server;
  const sockets = new Set<net.Socket>();
  let silentPort = 0;
  let closedPort = 0;
  beforeAll(async () => {
    url = await loginUrl(db.current.url, "cli_bad_input");
    // A listener that accepts connections and never answers: the "timeout" case, on loopback only.
    silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    silentPort = (silent.address() as net.AddressInfo).port;
    // A port that was free a moment ago and has nothing listening: the "refused" case.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  const withUrl = (mutate: (u: URL) => void) => {
    const u = new URL(url);
    mutate(u);
    return u.toString();
  };

  it.each<[string, () => string[], RegExp]>([
    [
      "refused connection",
      () => ["plan", "--database-url", withUrl((u) => (u.port = String(closedPort)))],
      /127\.0\.0\.1:\d+: connection refused/,
    ],
    [
      "server that never answers",
      () => [
        "plan",
        "--connect-timeout",
        "1.5",
        "--database-url",
        withUrl((u) => (u.port = String(silentPort))),
      ],
      // The timeout as given, not rounded to 2 s.
      /127\.0\.0\.1:\d+ did not answer within 1\.5 s/,
    ],
    [
      "wrong password",
      () => ["plan", "--database-url", withUrl((u) => (u.password = `${PASSWORD}-wrong`))],
      /Password authentication failed for user "cli_bad_input"/,
    ],
    [
      "missing database",
      () => ["plan", "--database-url", withUrl((u) => (u.pathname = "/no_such_db"))],
      /Database "no_such_db" does not exist/,
    ],
    [
      "not a postgres URL",
      () => ["plan", "--database-url", `mysql://root:${PASSWORD}@127.0.0.1/x`],
      /--database-url must start with postgresql:\/\//,
    ],
    [
      "URL without a database",
      () => ["plan", "--database-url", withUrl((u) => (u.pathname = "/"))],
      /--database-url names no database/,
    ],
    [
      "unknown flag, with the one meant",
      () => ["plan", "--databse-url", url],
      /Unknown option --databse-url\.\n {2}fix: Did you mean --database-url\?/,
    ],
    [
      "an underscore for a dash",
      () => ["baseline", "--owner_role", "neonhub_owner", "--database-url", url],
      /Unknown option --owner_role\.\n {2}fix: Did you mean --owner-role\?/,
    ],
    [
      "an unknown flag like none",
      () => ["plan", "--zzzzzzzz", url],
      /Unknown option --zzzzzzzz\.\n {2}fix: Run `neonhub-db --help`/,
    ],
    ["unknown command", () => ["migrate"], /Unknown command "migrate"/],
    ["flag without value", () => ["plan", "--database-url"], /--database-url needs a value/],
    [
      "an empty --owner-role (an unset variable), not read as none",
      () => ["apply", "--owner-role=", "--database-url", url],
      /--owner-role needs a value\.\n {2}fix: Example: --owner-role neonhub_owner/,
    ],
    [
      "a value that starts with a dash",
      () => ["plan", "--owner-role", "-x", "--database-url", url],
      /--owner-role needs a value, and what follows it starts with "-"/,
    ],
    [
      "--set without a value, with an example of one",
      () => ["plan", "--set"],
      /--set needs a value\.\n {2}fix: Example: --set vectorIndexes\.method=hnsw/,
    ],
    [
      "bad lock timeout",
      () => ["apply", "--lock-timeout", "soon", "--database-url", url],
      /--lock-timeout takes a whole number of seconds/,
    ],
    [
      "unknown seed set",
      () => ["apply", "--seed", "no-such-set", "--database-url", url],
      /Unknown seed set "no-such-set"/,
    ],
    [
      "missing migrations folder",
      () => ["apply", "--migrations-dir", "no/such/dir", "--database-url", url],
      /The migrations folder no\/such\/dir does not exist\.\n {2}fix: Correct --migrations-dir/,
    ],
  ])("%s", async (_label, args, expected) => {
    const run = await runCli(args(), { DATABASE_URL: "" });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(expected);
    expect(run.stderr).toMatch(
      /fix: |Use the form|Use one of|Run `neonhub-db --help`|Example:|Available|defines no seed|Pass --database-url/,
    );
    expectNoPassword(run.stdout, run.stderr);
  });

  it("no URL at all says how to give one", async () => {
    const run = await runCli(["status"], { DATABASE_URL: "" });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("No database URL given");
    expect(run.stderr).toContain("DATABASE_URL");
  });

  it.each(["baseline", "adopt"])(
    "%s with no URL asks for the admin's, which it needs, not the migrator's, which it would refuse",
    async (command) => {
      const run = await runCli([command, "--owner-role", "neonhub_owner"], { DATABASE_URL: "" });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("No database URL given");
      expect(run.stderr).toContain('--database-url "$ADMIN_URL"');
      expect(run.stderr).toContain("`npm run -s local -- env --admin` prints ADMIN_URL");
      expect(run.stderr).not.toContain("DIRECT_URL");
    },
  );

  // One rule for every command: what the command line alone decides is refused before the database URL is
  // looked for, so that a wrong command line is named as such, URL or not.
  it.each<[string, string[], RegExp]>([
    [
      "load-chunks --replace --append",
      ["load-chunks", "--file", "chunks.ndjson", "--dataset", "d", "--replace", "--append"],
      /load-chunks: --replace and --append together/,
    ],
    [
      "plan --batch-size without an upgrade",
      ["plan", "--batch-size", "10"],
      /--batch-size goes with an upgrade/,
    ],
    [
      "apply --max-batches without an upgrade",
      ["apply", "--max-batches", "2"],
      /--max-batches goes with an upgrade/,
    ],
    [
      "health --set of a setting it does not read",
      ["health", "--set", "rowLevelSecurity=off"],
      /--set rowLevelSecurity goes with plan or apply, not health\./,
    ],
    [
      "plan --config of no file",
      ["plan", "--config", "no/such/release.yaml"],
      /--config no\/such\/release\.yaml cannot be read/,
    ],
    [
      "plan --set of no setting",
      ["plan", "--set", "vectorIndex.method=hnsw"],
      /vectorIndex is not a release setting/,
    ],
  ])("%s, with no URL, is named before the missing URL", async (_label, args, expected) => {
    const run = await runCli(args, { DATABASE_URL: "" });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(expected);
    expect(run.stderr).not.toContain("No database URL given");
  });

  it("load-chunks --replace --append is refused before the file or the database is read", async () => {
    const run = await runCli(
      ["load-chunks", "--file", "no/such/chunks.ndjson", "--dataset", "d", "--replace", "--append"],
      { DATABASE_URL: url },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("load-chunks: --replace and --append together");
    expect(run.stderr).not.toContain("no/such/chunks.ndjson");
  });

  it("--json errors are one JSON document with code, message and fix", async () => {
    const run = await runCli(["plan", "--json", "--database-url", withUrl((u) => (u.password = "nope"))]);
    expect(run.code).toBe(1);
    const doc = JSON.parse(run.stdout) as { error: { code: string; message: string; fix: string } };
    expect(doc.error.code).toBe("authentication");
    expect(doc.error.fix).toContain("password");
    // Where the right connection string comes from, as README's error-code table says.
    expect(doc.error.fix).toContain(
      "`pulumi stack output --stack <stack> --show-secrets directUrl` on a stack, `npm run -s local -- env` locally",
    );
  });

  it("leaves the database as it was", async () => {
    const schemas = await withClient(db.current.url, (c) =>
      c.query("SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'neonhub_release'"),
    );
    expect(schemas.rows[0].n).toBe(0);
  });
});

// plan's closing line agrees with its exit code: when apply would refuse, it says so instead of "Nothing to
// do" or "Changes pending".
describe("neonhub-db plan with a problem", () => {
  const db = useTestDatabase("planblocked");
  const dir = fixtureMigrationsCopy();
  const cli = (...args: string[]) =>
    runCli([...args, "--migrations-dir", dir], { DATABASE_URL: db.current.url });
  const BLOCKED = "Blocked: `neonhub-db apply` refuses until the problems or errors above are fixed.";

  it("an applied migration's file gone: exit 1, and the last line says blocked, not up to date", async () => {
    expect((await cli("apply")).code).toBe(0);
    const gadgets = path.join(dir, "20250101000300_gadgets.sql");
    const text = readFileSync(gadgets, "utf8");
    rmSync(gadgets);
    const run = await cli("plan");
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/problem: .*20250101000300_gadgets.*file is gone/);
    expect(run.stdout.trimEnd().split("\n").at(-1)).toBe(BLOCKED);
    expect(run.stdout).not.toContain("Nothing to do");
    writeFileSync(gadgets, text);
  });

  it("an applied file changed, with a migration pending: exit 1, blocked rather than changes pending", async () => {
    appendFileSync(path.join(dir, "20250101000300_gadgets.sql"), "\n-- changed after it was applied\n");
    writeFileSync(
      path.join(dir, "20250101000400_sprocket.sql"),
      '-- Up Migration\nCREATE TABLE "Sprocket" (id text PRIMARY KEY);\n\n-- Down Migration\nDROP TABLE "Sprocket";\n',
    );
    const run = await cli("plan");
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("1 pending");
    expect(run.stdout.trimEnd().split("\n").at(-1)).toBe(BLOCKED);
    expect(run.stdout).not.toContain("Changes pending");
  });
});
