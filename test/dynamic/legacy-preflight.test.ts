// `pulumi preview` and `pulumi up` on the Prisma-era NeonHub database, through the dynamic-provider host as
// the engine drives it: check names what it found, create refuses before migration 1, nothing is written.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_MIGRATIONS_DIR } from "../../core";
import { runCli } from "../support/cli";
import { withClient } from "../support/database";
import { LEGACY_SCALES } from "../fixtures/legacy/generate";
import { HostCallError, type ProviderHost, type Props } from "./support/provider-host";
import type { ReleaseDatabase } from "./support/release-database";
import { createLegacyReleaseDatabase, hostReaching, releaseInputsFor } from "./support/release-host";
import { urnOf } from "./support/release-inputs";

const URN = urnOf("migrations", "legacy-migrations");

describe("the schema migrations resource on the Prisma-era database", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let inputs: Props;

  beforeAll(async () => {
    db = await createLegacyReleaseDatabase(
      { ...LEGACY_SCALES.small, messages: 400, auditRows: 100 },
      { caseDuplicateEmails: 0, unknownRoles: 1, messagesWithoutAuthor: 0, auditOrphans: 0 },
    );
    inputs = (await releaseInputsFor("legacy", db, { migrationsDir: DEFAULT_MIGRATIONS_DIR })).migrations;
    host = await hostReaching(db);
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("check (pulumi preview) reports the Prisma-era schema with Prisma's ledger, the bad rows and the upgrade", async () => {
    const checked = await host.check(URN, {}, inputs);
    const reasons = checked.failures.map((f) => f.reason).join("\n");
    expect(reasons).toContain("This is the Prisma-era NeonHub schema");
    expect(reasons).toContain("managed by Prisma Migrate (table public._prisma_migrations");
    expect(reasons).toContain("Message.role: 1 messages have a role");
    // One path, the upgrade in place: not also baseline, which the ledger and tables alone would suggest.
    expect(reasons).toContain("--upgrade-legacy");
    expect(reasons).not.toContain("baseline");
    // The upgrade's plan in the stack's words too (its preview, once the setting is set), not the CLI's alone.
    expect(reasons).toContain(
      'see its steps with `pulumi preview --stack test` once the stack\'s legacyUpgrade setting is set, or with the CLI, `neonhub-db plan --upgrade-legacy --legacy-organization \'<slug>\' --database-url "$(pulumi stack output --stack test --show-secrets directUrl)"` (docs/runbook.md, "Upgrading a Prisma-era database")',
    );
    expect(reasons).not.toContain("`plan --upgrade-legacy` shows");
  });

  it("create (pulumi up) refuses before migration 1 and writes nothing", async () => {
    const failure = await host.create(URN, inputs).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(HostCallError);
    expect((failure as HostCallError).message).toContain("managed by Prisma Migrate");
    expect(host.output()).not.toContain(db.password);
    const engine = await withClient(db.superuserUrl, (c) =>
      c.query("SELECT to_regnamespace('neonhub_release') IS NOT NULL AS present"),
    );
    expect(engine.rows[0].present).toBe(false);
  });
});

describe("the schema migrations resource on a Prisma-era database whose upgrade the CLI started", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;

  beforeAll(async () => {
    db = await createLegacyReleaseDatabase({ ...LEGACY_SCALES.small, messages: 400, auditRows: 100 });
    host = await hostReaching(db);
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("check on a stack without legacyUpgrade names the stack's setting and its `pulumi up` first, then the CLI's command", async () => {
    // Interrupted on purpose after one batch: the upgrade is in progress, before its cutover.
    const started = await runCli(
      [
        "apply",
        "--upgrade-legacy",
        "--legacy-organization",
        "acme",
        "--owner-role",
        db.owner,
        "--max-batches",
        "1",
      ],
      { DATABASE_URL: db.migratorUrl },
    );
    expect(started.code, started.stderr).toBe(2);
    const inputs = (await releaseInputsFor("legacy-started", db, { migrationsDir: DEFAULT_MIGRATIONS_DIR }))
      .migrations;
    const checked = await host.check(urnOf("migrations", "legacy-started-migrations"), {}, inputs);
    const reasons = checked.failures.map((f) => f.reason).join("\n");
    expect(reasons).toContain("An upgrade of the Prisma-era database is in progress for organization acme");
    expect(reasons).toContain(
      "Continue it with `pulumi config set --stack test --path 'neonhub-db:legacyUpgrade.organization' acme` (the stack's legacyUpgrade setting) and `pulumi up --stack test`, " +
        'or with the CLI, `neonhub-db apply --upgrade-legacy --legacy-organization acme --database-url "$(pulumi stack output --stack test --show-secrets directUrl)"`; ' +
        "see where it stands with `pulumi preview --stack test` once the stack's legacyUpgrade setting is set",
    );
    expect(reasons).not.toContain("`plan --upgrade-legacy` shows");
    expect(host.output()).not.toContain(db.password);
  });
});
