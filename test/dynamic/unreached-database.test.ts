// A preview whose migrations check cannot reach the database, through @pulumi/pulumi's dynamic-provider host:
// on a production stack it checked neither the ledger nor the safety lint, so it fails (the gate before a
// merge); elsewhere, or where NEONHUB_DB_PREVIEW_WITHOUT_DATABASE=1 says the machine cannot reach it, it warns.
// The unreachable server is a closed port on 127.0.0.1.
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../core";
import { PREVIEW_WITHOUT_DATABASE } from "../../infra/dynamic/unreached-database";
import { fixtureMigrationsCopy } from "../support/fixtures";
import { startProviderHost, type ProviderHost, type Props } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { releaseInputs, urnOf } from "./support/release-inputs";

const URN = urnOf("migrations", "unreached-migrations");
const PASSWORD = "Unreached-Pw-93";

/** A port on 127.0.0.1 that nothing listens on: one the system gave and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function hostWith(env: Record<string, string | undefined>): Promise<ProviderHost> {
  const host = await startProviderHost({ cwd: PROJECT_ROOT, env });
  await host.configure();
  return host;
}

describe("a preview that cannot reach the database", () => {
  let dir: string;
  let port: number;
  let gate: ProviderHost;
  let laptop: ProviderHost;
  let db: ReleaseDatabase;
  const inputs = async (name: string, directUrl: string, environment?: "production"): Promise<Props> =>
    (
      await releaseInputs(name, {
        directUrl,
        ownerRole: "neonhub_owner",
        database: "neonhub",
        migrationsDir: dir,
        ...(environment ? { environment } : {}),
      })
    ).migrations;

  beforeAll(async () => {
    dir = fixtureMigrationsCopy();
    port = await closedPort();
    db = await createReleaseDatabase();
    gate = await hostWith({ [PREVIEW_WITHOUT_DATABASE]: undefined });
    laptop = await hostWith({ [PREVIEW_WITHOUT_DATABASE]: "1" });
  });

  afterAll(async () => {
    await gate?.stop();
    await laptop?.stop();
    await db?.drop();
  });

  const closedUrl = () => `postgresql://neonhub_migrator:${PASSWORD}@127.0.0.1:${port}/neonhub`;

  it("fails a production preview, saying what was not checked and how to get on, without the password", async () => {
    const checked = await gate.check(URN, {}, await inputs("unreached-prod", closedUrl(), "production"));
    expect(checked.failures).toHaveLength(1);
    expect(checked.failures[0]?.property).toBe("");
    const reason = checked.failures[0]?.reason ?? "";
    expect(reason).toContain(`The production database at 127.0.0.1:${port}/neonhub could not be reached`);
    expect(reason).toContain("checked neither the migration ledger nor the safety lint");
    expect(reason).toContain("connection refused");
    expect(reason).toContain("NEONHUB_PROD_PREVIEW_RUNNER");
    expect(reason).toContain(`${PREVIEW_WITHOUT_DATABASE}=1`);
    expect(JSON.stringify(checked.failures)).not.toContain(PASSWORD);
    expect(gate.output()).not.toContain(PASSWORD);
  });

  it("fails a production preview whose login is refused (a wrong password)", async () => {
    const wrong = new URL(db.migratorUrl);
    wrong.password = PASSWORD;
    const checked = await gate.check(URN, {}, await inputs("wrong-password", wrong.toString(), "production"));
    expect(checked.failures).toHaveLength(1);
    expect(checked.failures[0]?.reason).toContain("could not be reached");
    expect(checked.failures[0]?.reason).toContain("Password authentication failed");
  });

  it("warns instead where the machine says it cannot reach production", async () => {
    const checked = await laptop.check(URN, {}, await inputs("unreached-laptop", closedUrl(), "production"));
    expect(checked.failures).toEqual([]);
    await laptop.waitFor(
      `warning: ledger not checked (Cannot connect to PostgreSQL at 127.0.0.1:${port}: connection refused.); ${PREVIEW_WITHOUT_DATABASE}=1: not the production gate`,
    );
  });

  it("warns on a stack that is not production", async () => {
    const checked = await gate.check(URN, {}, await inputs("unreached-dev", closedUrl()));
    expect(checked.failures).toEqual([]);
    await gate.waitFor(`warning: ledger not checked (Cannot connect to PostgreSQL at 127.0.0.1:${port}`);
  });
});
