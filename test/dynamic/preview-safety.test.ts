// The migration safety lint in `pulumi preview`, through @pulumi/pulumi's dynamic-provider host against a
// real PostgreSQL: check prints the findings; on a production stack an error-level finding fails it, the
// way a changed applied migration does, and a reasoned exemption lets it through.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT, buildReleaseManifest } from "../../core";
import { manifestMap } from "../../infra/dynamic/part-args";
import { withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { startProviderHost, type ProviderHost, type Props } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { releaseInputs, urnOf } from "./support/release-inputs";

const URN = urnOf("migrations", "safety-migrations");
const UNSAFE = 'CREATE INDEX widget_name ON "Widget" (name);';

function withManifest(inputs: Props, dir: string): Props {
  return { ...inputs, migrations: manifestMap(buildReleaseManifest({ migrationsDir: dir }).migrations) };
}

const target = (db: ReleaseDatabase) => `127.0.0.1:${new URL(db.migratorUrl).port}/${db.name}`;

describe("preview of a blocking migration on a table with rows", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let dir: string;
  let production: Props;
  let development: Props;

  beforeAll(async () => {
    db = await createReleaseDatabase();
    dir = fixtureMigrationsCopy();
    const args = { directUrl: db.migratorUrl, ownerRole: db.owner, database: db.name, migrationsDir: dir };
    production = (await releaseInputs("safety-prod", { ...args, environment: "production" })).migrations;
    development = (await releaseInputs("safety-dev", args)).migrations;
    host = await startProviderHost({ cwd: PROJECT_ROOT, env: {} });
    await host.configure();
    await host.create(URN, production);
    await withClient(db.superuserUrl, (c) =>
      c.query(
        `INSERT INTO "Widget" (id, name) SELECT 'w' || g, 'widget ' || g FROM generate_series(1, 200) g`,
      ),
    );
    writeMigration(dir, "20250101000400_widget_name.sql", UNSAFE);
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("the program passes the stack's environment and lock settings to the provider", () => {
    expect(production.environment).toBe("production");
    expect(development.environment).toBeUndefined();
  });

  it("fails a production preview, naming file, line, rule, table size, lock and safer form", async () => {
    const checked = await host.check(URN, {}, withManifest(production, dir));
    expect(checked.failures).toHaveLength(1);
    // No property: Pulumi prints a named one's value before the reason, here every migration's checksum.
    expect(checked.failures[0]?.property).toBe("");
    const reason = checked.failures[0]?.reason ?? "";
    expect(reason).toContain(
      'error: 20250101000400_widget_name.sql:2 require-concurrent-index-creation on "Widget"',
    );
    expect(reason).toContain("(200 rows, 64 kB)");
    expect(reason).toContain("Lock: SHARE (blocks writes)");
    expect(reason).toContain("Safer: build it with CREATE INDEX CONCURRENTLY");
    expect(reason).toContain("-- neonhub-db:allow <rule> because <reason>");
  });

  it("shows the finding as a warning in a development preview", async () => {
    const checked = await host.check(URN, {}, withManifest(development, dir));
    expect(checked.failures).toEqual([]);
    await host.waitFor(
      `schema migrations on ${target(db)}: warning: 20250101000400_widget_name.sql:2 require-concurrent-index-creation`,
    );
  });

  it("passes a production preview when the migration accepts it with a reason, and prints it", async () => {
    writeMigration(
      dir,
      "20250101000400_widget_name.sql",
      `-- neonhub-db:allow require-concurrent-index-creation because 200 rows index in milliseconds\n${UNSAFE}`,
    );
    const checked = await host.check(URN, {}, withManifest(production, dir));
    expect(checked.failures).toEqual([]);
    await host.waitFor(
      `schema migrations on ${target(db)}: exempted: 20250101000400_widget_name.sql:3 require-concurrent-index-creation`,
    );
  });
});
