// Bad input: a matrix of connection strings, CLI flags, migration files, seed files and chunk files run
// against a released database (migrations, the demo seed set, its vector indexes), plus bad stack config.
// Each must fail with its own specific message and a fix, exit 1, show no password, and leave the database
// byte for byte as it was: the same pg_dump --schema-only, the same rows in every table (count and md5),
// the same sequence positions.
import net from "node:net";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidConfigError, parseStackConfig } from "../../infra/config";
import { runCli } from "../support/cli";
import { dropTestDatabase, useTestDatabase, withClient } from "../support/database";
import { fingerprint, type DbFingerprint } from "../support/db-fingerprint";
import { BAD_CONFIGS, CONFIG_PASSWORD } from "./support/bad-config";
import { BAD_INPUTS, scratchFolder, type BadInputContext } from "./support/bad-inputs";

const PASSWORD = `Rel-S3cret-${randomBytes(6).toString("hex")}`;
const ROLE = `rel_bad_${randomBytes(4).toString("hex")}`;

function expectNoPassword(password: string, ...texts: string[]): void {
  for (const text of texts) {
    expect(text).not.toContain(password);
    expect(text).not.toContain(encodeURIComponent(password));
  }
}

describe(`${BAD_INPUTS.length} bad inputs against a released database`, () => {
  const db = useTestDatabase("bad_input");
  const scratch = scratchFolder();
  const sockets = new Set<net.Socket>();
  const silent = net.createServer((socket) => sockets.add(socket));
  let ctx: BadInputContext;
  let baseline: DbFingerprint;

  beforeAll(async () => {
    // A login with a known password, so that every output can be searched for it.
    await withClient(db.current.adminUrl, (c) =>
      c.query(`CREATE ROLE ${ROLE} LOGIN SUPERUSER PASSWORD '${PASSWORD}'`),
    );
    const url = new URL(db.current.url);
    url.username = ROLE;
    url.password = PASSWORD;
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const closedPort = (probe.address() as net.AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    ctx = {
      url: url.toString(),
      withUrl: (mutate) => {
        const u = new URL(url);
        mutate(u);
        return u.toString();
      },
      closedPort,
      silentPort: (silent.address() as net.AddressInfo).port,
      emptyDataset: "rel-empty-dataset",
      scratch: scratch.dir,
    };

    const release = await runCli(["apply", "--seed", "demo"], { DATABASE_URL: ctx.url });
    expect(release.code, release.stderr).toBe(0);
    await withClient(db.current.url, (c) =>
      c.query(
        `INSERT INTO "Dataset" ("id", "organizationId", "name", "slug", "kind")
         VALUES ($1, 'demo-org', 'Empty', 'empty', 'documents')`,
        [ctx.emptyDataset],
      ),
    );
    baseline = await fingerprint(db.current.url);
    expect(Object.keys(baseline.tables).length).toBeGreaterThan(30);
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    scratch.remove();
    // The role owns what the release created: the database goes first (useTestDatabase's own hook then
    // finds nothing to drop).
    await dropTestDatabase(db.current);
    await withClient(db.current.adminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${ROLE}`));
  });

  it.each(BAD_INPUTS.map((input) => [input.area, input.label, input] as const))(
    "%s: %s",
    async (_area, _label, input) => {
      const run = await input.run(ctx);
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
      expect(run.stderr).toMatch(input.message);
      // Said once, as our error with its fix, not as a crash.
      expect(run.stderr).toMatch(/^neonhub-db: error: /m);
      expect(run.stderr).toMatch(
        /fix: |Use the form|Use one of|Run `neonhub-db --help`|Example:|Available:|Pass --/,
      );
      expect(run.stderr).not.toMatch(/unexpected error| {4}at /);
      expectNoPassword(PASSWORD, run.stdout, run.stderr);
      expect(await fingerprint(db.current.url)).toEqual(baseline);
    },
  );

  // Last: it changes the database.
  it("the fingerprint sees a one-character change in one row, and a sequence that moved", async () => {
    await withClient(db.current.url, async (c) => {
      await c.query(`UPDATE "Organization" SET "name" = "name" || '.' WHERE "id" = 'demo-org'`);
      const changed = await fingerprint(db.current.url);
      expect(changed.schema).toBe(baseline.schema);
      expect(changed.tables).not.toEqual(baseline.tables);
      await c.query("SELECT nextval('neonhub_release.migrations_id_seq')");
      expect((await fingerprint(db.current.url)).sequences).not.toEqual(baseline.sequences);
    });
  });
});

describe(`${BAD_CONFIGS.length} bad stack config values`, () => {
  it.each(BAD_CONFIGS.map((c) => [c.label, c] as const))("%s", (_label, bad) => {
    let error: unknown;
    try {
      parseStackConfig({
        stack: "local",
        values: bad.values,
        isSecret: (key) => (bad.secret ?? []).includes(key),
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/nothing was changed/);
    expect(message).toMatch(bad.message);
    expect(message).toMatch(/Example: pulumi config (set|rm) --stack local /);
    expectNoPassword(CONFIG_PASSWORD, message);
  });
});
