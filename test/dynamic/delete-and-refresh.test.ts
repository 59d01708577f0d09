// Read and delete get only the recorded outputs from the host, and outputs hold no password: these tests pin
// down where their credentials come from (DIRECT_URL, or libpq's PGPASSWORD) and what happens without any,
// and that a stack that opted in to dropOnDelete gets its schema dropped while the database stays.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../core";
import { withClient } from "../support/database";
import { fixtureMigrationsCopy } from "../support/fixtures";
import { startProviderHost, type ProviderHost, type Props } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { releaseInputsFor } from "./support/release-host";
import { urnOf } from "./support/release-inputs";

const URN = urnOf("migrations", "drop-migrations");

async function schemaObjects(db: ReleaseDatabase): Promise<{ tables: string[]; bookkeeping: boolean }> {
  return withClient(db.superuserUrl, async (client) => {
    const tables = await client.query<{ relname: string }>(
      "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1",
    );
    const schema = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = 'neonhub_release'");
    return { tables: tables.rows.map((row) => row.relname), bookkeeping: schema.rowCount === 1 };
  });
}

describe("a release that opted in to dropOnDelete", () => {
  let db: ReleaseDatabase;
  let inputs: Props;
  const hosts: ProviderHost[] = [];
  const start = async (env: Record<string, string | undefined>) => {
    const host = await startProviderHost({ cwd: PROJECT_ROOT, env });
    hosts.push(host);
    await host.configure();
    return host;
  };

  beforeAll(async () => {
    db = await createReleaseDatabase();
    const captured = await releaseInputsFor("drop", db, {
      migrationsDir: fixtureMigrationsCopy(),
      dropOnDelete: true,
    });
    inputs = captured.migrations;
  });

  afterAll(async () => {
    for (const host of hosts) await host.stop();
    await db?.drop();
  });

  it("keeps the recorded state on read, and refuses to drop, when no credentials are at hand", async () => {
    const host = await start({});
    const { id, properties } = await host.create(URN, inputs);
    expect(properties.dropOnDelete).toBe(true);

    await withClient(db.superuserUrl, (client) => client.query('ALTER TABLE "Gadget" ADD COLUMN note text'));
    const read = await host.read(URN, id, properties);
    expect(read).toEqual({ id, properties });
    await host.waitFor("not refreshed, the recorded state is kept");
    // The stack the state was recorded for, named: the selected stack may be another one.
    expect(properties.stack).toBe("test");
    expect(host.output()).toContain(
      "set DIRECT_URL to the migrator's connection string (pulumi stack output --stack test --show-secrets directUrl) to refresh it",
    );

    await expect(host.delete(URN, id, properties)).rejects.toThrow(
      "set DIRECT_URL to the migrator's connection string (pulumi stack output --stack test --show-secrets directUrl), " +
        "or keep the schema: set dropSchemaOnDelete to false with `pulumi config set --stack test neonhub-db:dropSchemaOnDelete false` " +
        "and run `pulumi up --stack test` before destroying.",
    );
    expect((await schemaObjects(db)).tables).toEqual(["Gadget", "Widget"]);
    expect(host.output()).not.toContain(db.password);
  });

  it("names the stack it cannot read from a state recorded before the outputs kept its name", async () => {
    const host = await start({});
    const { id, properties } = await host.create(URN, inputs);
    // The outputs as a program older than the stack's name in the inputs recorded them.
    const { stack: _stack, ...recordedBefore } = properties;
    await host.read(URN, id, recordedBefore);
    await host.waitFor("not refreshed, the recorded state is kept");
    const output = host.output();
    // Not the bare `pulumi stack output`, which reads whichever stack is selected: `<stack>`, and which it is.
    expect(output).not.toContain("pulumi stack output --show-secrets");
    expect(output).toContain(
      "set DIRECT_URL to the migrator's connection string (pulumi stack output --stack <stack> --show-secrets directUrl; " +
        "<stack> is the stack `pulumi refresh` runs for: this state was recorded before the schema release kept its stack's name (the next `pulumi up` records it)) to refresh it",
    );
    const refused = await host.delete(URN, id, recordedBefore).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(refused, "delete did not fail").toBeInstanceOf(Error);
    // Three commands name `<stack>`; which stack it stands for is said once, after the first.
    const which =
      "<stack> is the stack `pulumi destroy` runs for: this state was recorded before the schema release kept its stack's name (the next `pulumi up` records it)";
    expect(refused!.message).toContain(
      `set DIRECT_URL to the migrator's connection string (pulumi stack output --stack <stack> --show-secrets directUrl; ${which}), ` +
        "or keep the schema: set dropSchemaOnDelete to false with `pulumi config set --stack <stack> neonhub-db:dropSchemaOnDelete false` " +
        "and run `pulumi up --stack <stack>` before destroying.",
    );
    expect(refused!.message.split("<stack> is the stack")).toHaveLength(2);
    expect((await schemaObjects(db)).tables).toEqual(["Gadget", "Widget"]);
  });

  it("refreshes with the password from PGPASSWORD, as libpq would", async () => {
    const host = await start({ PGPASSWORD: db.password });
    const recorded = await currentState(host);
    const read = await host.read(URN, recorded.id, recorded.properties);
    expect(read.properties.drift).toEqual(['added by hand: column public."Gadget".note']);
  });

  it("ignores a DIRECT_URL that names another database", async () => {
    const other = new URL(db.migratorUrl);
    other.pathname = "/postgres";
    const host = await start({ DIRECT_URL: other.toString() });
    const recorded = await currentState(host);
    await host.read(URN, recorded.id, recorded.properties);
    await host.waitFor("not refreshed");
  });

  it("reverts every migration and drops the bookkeeping on delete, keeping the database", async () => {
    const host = await start({ DIRECT_URL: db.migratorUrl });
    const recorded = await currentState(host);
    await withClient(db.superuserUrl, (client) => client.query('ALTER TABLE "Gadget" DROP COLUMN note'));
    await host.delete(URN, recorded.id, recorded.properties);
    expect(await schemaObjects(db)).toEqual({ tables: [], bookkeeping: false });
    await host.waitFor("3 migration(s) reverted");
    expect(host.output()).not.toContain(db.password);
  });

  /** The outputs a `pulumi up` would record now (an apply with nothing pending changes nothing). */
  async function currentState(host: ProviderHost): Promise<{ id: string; properties: Props }> {
    return host.create(URN, inputs);
  }
});
