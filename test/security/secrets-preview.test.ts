// What `pulumi preview` shows of the schema-release provider, through @pulumi/pulumi's own dynamic-provider
// host against a real PostgreSQL: check's failures and the lines it writes mask a connection string's password
// wherever the engine's texts quote one (here a migration's exemption comment that names a URL where its rule
// goes, which the lint's refusal quotes back), as an up's failures always did.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT, buildReleaseManifest } from "../../core";
import { manifestMap } from "../../infra/dynamic/part-args";
import { startProviderHost, type ProviderHost, type Props } from "../dynamic/support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "../dynamic/support/release-database";
import { releaseInputs, urnOf } from "../dynamic/support/release-inputs";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";

const URN = urnOf("migrations", "secret-preview-migrations");
const QUOTED_PASSWORD = "Qu0ted-Preview-Secret";
const QUOTED_URL = `postgresql://app:${QUOTED_PASSWORD}@db.internal:5432/neonhub`;

function withManifest(inputs: Props, dir: string): Props {
  return { ...inputs, migrations: manifestMap(buildReleaseManifest({ migrationsDir: dir }).migrations) };
}

describe("a preview whose check quotes a connection string", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let dir: string;
  let inputs: Props;

  beforeAll(async () => {
    db = await createReleaseDatabase();
    dir = fixtureMigrationsCopy();
    const args = { directUrl: db.migratorUrl, ownerRole: db.owner, database: db.name, migrationsDir: dir };
    inputs = (await releaseInputs("secret-preview", args)).migrations;
    host = await startProviderHost({ cwd: PROJECT_ROOT, env: {} });
    await host.configure();
    writeMigration(
      dir,
      "20250101000400_quoted_url.sql",
      `-- neonhub-db:allow ${QUOTED_URL} because it is ours\nSELECT 1;`,
    );
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("fails naming the exemption's text with its password masked", async () => {
    const checked = await host.check(URN, {}, withManifest(inputs, dir));
    const reasons = checked.failures.map((f) => f.reason).join("\n");
    expect(reasons).toContain('The exemption names "postgresql://app:****@db.internal:5432/neonhub"');
    // The lint quotes a rule's name lower-cased.
    expect(reasons.toLowerCase()).not.toContain(QUOTED_PASSWORD.toLowerCase());
  });

  it("hands the databaseUrl on to diff and up as it is", async () => {
    const checked = await host.check(URN, {}, withManifest(inputs, dir));
    expect(checked.inputs.databaseUrl).toBe(db.migratorUrl);
  });

  it("writes neither password to the host's output", () => {
    const output = host.output();
    expect(output.toLowerCase()).not.toContain(QUOTED_PASSWORD.toLowerCase());
    expect(output).not.toContain(db.password);
  });
});
