// A user's mistake refused by the schema release's provider, as `pulumi preview` prints it through the real
// Pulumi engine (`npm run test:engine`): the message once, as the resource's error, and no stack trace. The
// dynamic-provider host writes `${error}: ${error.stack}` of what diff throws to its stderr, which the CLI shows
// under the stack (infra/dynamic/shown-text.ts decides that line).
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SchemaRelease } from "../../infra/schema-release";
import { FIXTURE_MIGRATIONS } from "../support/fixtures";
import { engineStack, type EngineStack } from "../dynamic/support/engine";
import { projectCopy } from "../dynamic/support/project-copy";
import { createReleaseDatabase, type ReleaseDatabase } from "../dynamic/support/release-database";

const REFUSAL = "20250101000100_widgets.sql was changed after it was applied";

describe("a refusal of the schema release's provider under the Pulumi engine", () => {
  let db: ReleaseDatabase;
  let migrationsDir: string;
  let engine: EngineStack;
  /** The migrator's URL the program registers; a closed port leaves the diff to decide offline. */
  let directUrl: string;

  beforeAll(async () => {
    db = await createReleaseDatabase();
    directUrl = db.migratorUrl;
    const root = projectCopy();
    migrationsDir = path.join(root, "fixture-migrations");
    cpSync(FIXTURE_MIGRATIONS, migrationsDir, { recursive: true });
    engine = await engineStack(root, async () => {
      const release = new SchemaRelease("schema", {
        directUrl: pulumi.secret(directUrl),
        ownerRole: db.owner,
        database: db.name,
        migrationsDir,
      });
      return { schemaRelease: release.summary };
    });
    expect((await engine.stack.up()).summary.result).toBe("succeeded");
  }, 180_000);

  afterAll(async () => {
    await db?.drop();
  });

  it("prints a changed applied migration once, without a stack trace", async () => {
    const file = path.join(migrationsDir, "20250101000100_widgets.sql");
    writeFileSync(file, `${readFileSync(file, "utf8")}\n-- edited after it was applied\n`);
    // check cannot read the ledger (a development stack warns and goes on): the diff refuses the file.
    directUrl = db.migratorUrl.replace(/@([^:/]+):\d+\//, "@$1:1/");
    let printed = "";
    const failure = await engine.stack.preview({ onOutput: (line) => (printed += line) }).then(
      () => undefined,
      (error: unknown) => String(error),
    );
    expect(failure).toContain(REFUSAL);
    const diagnostics = printed.slice(printed.indexOf("Diagnostics:"));
    expect(diagnostics.split(REFUSAL).length - 1).toBe(1);
    expect(diagnostics).toContain("neonhub-db: ledger-mismatch error, shown as the resource's error");
    expect(printed).not.toMatch(/^\s+at /m);
    expect(printed).not.toContain(db.password);
  });
});
