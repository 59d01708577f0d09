// The fixes of a release that fails under `pulumi up`, through @pulumi/pulumi's dynamic-provider host with the
// inputs the program registers, against a real PostgreSQL: a seed set's and a vector index's fix name
// `pulumi up --stack <the stack>` as the command to run again (the CLI's name its apply, test/cli/step-fixes.test.ts), and
// so does a missing pgvector's; a first release on a database another role owns names the hand-over to the
// stack's owner role, not a CLI flag; a verify a fix names reads the migrator's URL from the stack's output, and
// runs as printed.
import { chmodSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes } from "node:crypto";
import { commandToRun, interruption, settingToChange } from "../../core";
import { partContext } from "../../infra/dynamic/release";
import { shownText } from "../../infra/dynamic/shown-text";
import type { PartSettings, StepSettings } from "../../infra/dynamic/types";
import { runPrinted } from "../support/cli";
import { adminUrl, withClient } from "../support/database";
import { fixtureMigrationsCopy, writeMigration } from "../support/fixtures";
import { scratchDir } from "../support/scratch";
import {
  clusteredVectors,
  copyChunks,
  createFixtures,
  writeWrongDimensionChunks,
} from "../vector-indexes/data";
import type { ProviderHost } from "./support/provider-host";
import { createReleaseDatabase, type ReleaseDatabase } from "./support/release-database";
import { hostReaching, releaseInputsFor } from "./support/release-host";
import { urnOf } from "./support/release-inputs";

/** Whether the database has the release's ledger: a refused first release writes none. */
async function ledgerExists(url: string): Promise<boolean> {
  return withClient(
    url,
    async (c) =>
      (await c.query<{ ok: boolean }>("SELECT to_regclass('neonhub_release.migrations') IS NOT NULL AS ok"))
        .rows[0]!.ok,
  );
}

/** What a failed provider call rejected with. */
async function failureOf(call: Promise<unknown>): Promise<string> {
  const error = await call.then(
    () => undefined,
    (e: Error) => e,
  );
  expect(error, "the call was expected to fail").toBeInstanceOf(Error);
  return error!.message;
}

describe("a failed release step's fix under pulumi up", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;

  beforeAll(async () => {
    db = await createReleaseDatabase({ extensions: true });
    host = await hostReaching(db);
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("a seed set meeting a conflicting row and a row of another dimension say to run the stack's `pulumi up` again", async () => {
    const inputs = await releaseInputsFor("step-fixes", db, { seedSets: ["demo"] });
    await host.create(urnOf("migrations", "step-fixes-migrations"), inputs.migrations);
    await withClient(db.superuserUrl, (c) =>
      c.query(`INSERT INTO "Organization" (id, slug, name) VALUES ('someone-else', 'demo', 'Not the demo')`),
    );
    const seeds = await failureOf(host.create(urnOf("seedSets", "step-fixes-seeds"), inputs.seedSets));
    expect(seeds).toContain('Seed set "demo" failed');
    expect(seeds).toContain(
      "Fix the seed file or the conflicting row in the database, then run `pulumi up --stack test` again.",
    );
    expect(seeds).not.toContain("then apply again");

    await withClient(db.superuserUrl, async (c) => {
      const fixtures = await createFixtures(c, [64]);
      const source = clusteredVectors({ dimension: 64, clusters: 4, spread: 0.5, seed: 5 });
      await copyChunks(c, fixtures, { dimension: 64, count: 40, source });
      await writeWrongDimensionChunks(c, fixtures, 64, [["bad-3", 3]]);
    });
    const indexes = await failureOf(
      host.create(urnOf("vectorIndexes", "step-fixes-vector-indexes"), inputs.vectorIndexes),
    );
    expect(indexes).toContain("Calibrating idx_chunk_embedding_cosine failed: different vector dimensions");
    expect(indexes).toContain(
      "Correct or delete those rows, then run `pulumi up --stack test` again. Find them all with:",
    );
    expect(indexes).not.toContain("run apply again");
  }, 180_000);
});

describe("a first release on a database another role owns, under pulumi up", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;
  const other = `rel_${randomBytes(5).toString("hex")}_other`;

  beforeAll(async () => {
    db = await createReleaseDatabase({ extensions: true });
    await withClient(adminUrl(), (c) =>
      c.query(`CREATE ROLE ${other} NOLOGIN; ALTER DATABASE ${db.name} OWNER TO ${other}`),
    );
    host = await hostReaching(db);
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
    await withClient(adminUrl(), (c) => c.query(`DROP ROLE IF EXISTS ${other}`));
  });

  it("names the hand-over to the stack's owner role and the stack's `pulumi up`, no CLI flag, and writes nothing", async () => {
    const inputs = await releaseInputsFor("first-owner", db, { seedSets: [] });
    const message = await failureOf(
      host.create(urnOf("migrations", "first-owner-migrations"), inputs.migrations),
    );
    expect(message).toContain(`This is the first release of database ${db.name}`);
    expect(message).toContain(
      `As the stack's admin (a superuser, or a member of both "${other}" and "${db.owner}"), hand the database to ` +
        `"${db.owner}", the stack's owner role (neonhub-db:rolePrefix names it), which the release acts as: ` +
        `ALTER DATABASE "${db.name}" OWNER TO "${db.owner}"; then run \`pulumi up --stack test\` again`,
    );
    expect(message).not.toContain("--owner-role");
    expect(message).not.toContain("--database-url");
    expect(await ledgerExists(db.superuserUrl)).toBe(false);

    // The fix, followed: the release runs.
    await withClient(adminUrl(), (c) => c.query(`ALTER DATABASE ${db.name} OWNER TO ${db.owner}`));
    const created = await host.create(urnOf("migrations", "first-owner-migrations"), inputs.migrations);
    expect(created.id).not.toBe("");
  }, 180_000);
});

describe("a release on a database without pgvector, under pulumi up", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;

  beforeAll(async () => {
    // The roles as the access layer makes them, the extensions not created (a restore into a fresh database).
    db = await createReleaseDatabase();
    host = await hostReaching(db);
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("the preview and the up say to have the administrator create it, then run the stack's `pulumi up` again; nothing is written", async () => {
    const inputs = await releaseInputsFor("no-vector", db, { seedSets: [] });
    const urn = urnOf("migrations", "no-vector-migrations");
    const fix =
      'Have an administrator (a superuser, or rds_superuser on Amazon RDS) run CREATE EXTENSION "vector"; in this database ' +
      "(the stack's access layer does so when it creates the database), then run `pulumi up --stack test` again.";
    const checked = await host.check(urn, inputs.migrations, inputs.migrations);
    const reasons = checked.failures.map((f) => f.reason);
    expect(reasons).toContainEqual(expect.stringContaining(fix));
    expect(reasons.join("\n")).not.toContain("the same command");

    const refused = await failureOf(host.create(urn, inputs.migrations));
    expect(refused).toContain(`role "${db.owner}" may not create it`);
    expect(refused).toContain(fix);
    expect(refused).not.toContain("the same command");
    expect(await ledgerExists(db.superuserUrl)).toBe(false);
  }, 180_000);
});

describe("a release whose ledger another role owns, under pulumi up", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;
  // Named as another stack's owner role would be: the fix still names no rolePrefix (the stack adopts no role).
  const prefix = `rel_${randomBytes(5).toString("hex")}_legacy`;
  const other = `${prefix}_owner`;

  beforeAll(async () => {
    db = await createReleaseDatabase({ extensions: true });
    await withClient(adminUrl(), (c) => c.query(`CREATE ROLE ${other} NOLOGIN`));
    host = await hostReaching(db);
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
    await withClient(adminUrl(), (c) => c.query(`DROP ROLE IF EXISTS ${other}`));
  });

  it("names the hand-over to the stack's owner role, never --owner-role nor another rolePrefix; writes nothing", async () => {
    const urn = urnOf("migrations", "other-ledger-migrations");
    const inputs = await releaseInputsFor("other-ledger", db, { seedSets: [] });
    const created = await host.create(urn, inputs.migrations);
    // The release's objects handed to another role, as a release run with another --owner-role leaves them.
    await withClient(db.superuserUrl, (c) => c.query(`REASSIGN OWNED BY ${db.owner} TO ${other}`));
    const ledgerOwner = () =>
      withClient(
        db.superuserUrl,
        async (c) =>
          (
            await c.query<{ owner: string }>(
              "SELECT tableowner AS owner FROM pg_tables WHERE schemaname = 'neonhub_release' AND tablename = 'migrations'",
            )
          ).rows[0]!.owner,
      );
    const handOver =
      `As the stack's admin (a superuser, or a member of both "${other}" and "${db.owner}"), connected to the ` +
      `stack's database, hand the release's objects to "${db.owner}", the stack's owner role (neonhub-db:rolePrefix ` +
      `names it), which the release acts as: REASSIGN OWNED BY "${other}" TO "${db.owner}"`;

    // The migrator may act as the other role, the stack's owner role may not: no flag names another role here.
    await withClient(adminUrl(), (c) => c.query(`GRANT ${other} TO ${db.migrator}`));
    const notMember = await failureOf(host.update(urn, created.id, created.properties, inputs.migrations));
    expect(notMember).toContain(`The stack's owner role "${db.owner}" is not the role that owns`);
    expect(notMember).toContain(handOver);
    expect(notMember).not.toContain("rolePrefix to");
    expect(notMember).toContain("then run `pulumi up --stack test` again");
    expect(notMember).not.toContain("--owner-role");
    expect(await ledgerOwner()).toBe(other);

    // The stack's owner role may act as it: the same fix, not the CLI's flag.
    await withClient(adminUrl(), (c) => c.query(`GRANT ${other} TO ${db.owner}`));
    const member = await failureOf(host.update(urn, created.id, created.properties, inputs.migrations));
    expect(member).toContain(`may act as "${other}", which owns the release's objects`);
    expect(member).toContain(handOver);
    expect(member).not.toContain("rolePrefix to");
    expect(member).not.toContain("--owner-role");
    expect(await ledgerOwner()).toBe(other);

    // The fix, followed: the release runs.
    await withClient(db.superuserUrl, (c) => c.query(`REASSIGN OWNED BY ${other} TO ${db.owner}`));
    await host.update(urn, created.id, created.properties, inputs.migrations);
    expect(await ledgerOwner()).toBe(db.owner);
  }, 180_000);
});

describe("a verify a fix names under pulumi up", () => {
  let db: ReleaseDatabase;
  let host: ProviderHost;
  let dir: string;

  beforeAll(async () => {
    db = await createReleaseDatabase();
    dir = fixtureMigrationsCopy();
    host = await hostReaching(db);
  });

  afterAll(async () => {
    await host?.stop();
    await db?.drop();
  });

  it("is printed with the stack's directUrl output and the stack's folder, and runs as printed", async () => {
    const urn = urnOf("migrations", "verify-printed-migrations");
    const first = await releaseInputsFor("verify-printed-1", db, { migrationsDir: dir });
    const created = await host.create(urn, first.migrations);
    // A migration that adds a column the table has: the fix names verify, for a ledger row deleted by hand.
    writeMigration(dir, "20250101000900_widget_again.sql", 'ALTER TABLE "Widget" ADD COLUMN name text;');
    const next = await releaseInputsFor("verify-printed-2", db, { migrationsDir: dir });
    const message = await failureOf(host.update(urn, created.id, created.properties, next.migrations));
    // The stack the program ran for (the mock runtime's `test`), named: the selected one may be another.
    const verify = `neonhub-db verify --database-url "$(pulumi stack output --stack test --show-secrets directUrl)" --migrations-dir ${dir}`;
    expect(message).toContain(
      `If its ledger row was deleted by hand, \`${verify}\` says so and how to put it back.`,
    );
    expect(message).not.toContain(db.password);

    // Run as printed, in the project's folder, where `pulumi stack output` answers with the named stack's
    // output, and with another stack's database (the admin's URL) when none is named.
    const bin = scratchDir("fake-pulumi-");
    const pulumi = path.join(bin, "pulumi");
    writeFileSync(
      pulumi,
      `#!/bin/sh\n[ "$*" = "stack output --stack test --show-secrets directUrl" ] && exec printf '%s\\n' "$STACK_DIRECT_URL"\n` +
        `[ "$*" = "stack output --show-secrets directUrl" ] && exec printf '%s\\n' "$SELECTED_DIRECT_URL"\nexit 255\n`,
    );
    chmodSync(pulumi, 0o755);
    const run = await runPrinted(`PATH="${bin}:$PATH"; ${verify} --json`, {
      STACK_DIRECT_URL: db.migratorUrl,
      SELECTED_DIRECT_URL: adminUrl(),
    });
    expect(run.stderr).not.toContain("unexpected error");
    // It read the stack's database as the migrator, with the stack's folder: the ledger is the files'.
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { database: string; clean: boolean };
    expect(report.database).toContain(`postgresql://${db.migrator}:****@`);
    expect(report.database).toMatch(new RegExp(`/${db.name}$`));
    expect(report.clean).toBe(true);
  }, 180_000);
});

describe("the commands the provider's fixes name", () => {
  const settings = (
    steps: StepSettings,
    migrationsDir = "migrations",
    stack: string | null = "dev",
  ): PartSettings => ({
    part: "migrations",
    database: "neonhub",
    ownerRole: "neonhub_owner",
    migrationsDir,
    steps,
    lockTimeoutMs: 60_000,
    connectTimeoutMs: 10_000,
    dropOnDelete: false,
    ...(stack === null ? {} : { stack }),
  });
  const printerOf = (part: PartSettings) =>
    partContext(part, "postgresql://neonhub_migrator@127.0.0.1:5432/neonhub", "DIRECT_URL", "up").options
      .printCommand!;
  const upgrade = ["apply", "--upgrade-legacy", "--legacy-organization", "acme"];
  const stackUrl = '--database-url "$(pulumi stack output --stack dev --show-secrets directUrl)"';

  it("the legacy upgrade's apply and plan are the stack's `pulumi up` and `pulumi preview` on a stack whose up runs the upgrade", () => {
    const print = printerOf(settings({ seedSets: [], legacyUpgrade: { organization: "acme" } }));
    expect(print(["apply"])).toBe("`pulumi up --stack dev`");
    expect(print(upgrade)).toBe("`pulumi up --stack dev`");
    expect(print(["plan"])).toBe("`pulumi preview --stack dev`");
    expect(print(["plan", "--upgrade-legacy"])).toBe("`pulumi preview --stack dev`");
    // The organization the fix names is the stack's setting's, which the preview reads.
    expect(print(["plan", "--upgrade-legacy", "--legacy-organization", "acme"])).toBe(
      "`pulumi preview --stack dev`",
    );
    // A state recorded before the inputs carried the stack's name: the preview of `<stack>`, said to be the stack
    // the run is for (the selected stack may be another).
    const unnamed = printerOf(
      settings({ seedSets: [], legacyUpgrade: { organization: "acme" } }, undefined, null),
    );
    expect(unnamed(["plan"])).toMatch(
      /^`pulumi preview --stack <stack>` \(<stack> is the stack `pulumi [a-z]+` runs for: /,
    );
    expect(unnamed(["apply"])).toMatch(
      /^`pulumi up --stack <stack>` \(<stack> is the stack `pulumi up` runs for: /,
    );
  });

  it("on a stack without legacyUpgrade, the upgrade is the setting and the stack's `pulumi up` first, then the migrator's command, as verify's", () => {
    const print = printerOf(settings({ seedSets: [] }));
    expect(print(upgrade)).toBe(
      "`pulumi config set --stack dev --path 'neonhub-db:legacyUpgrade.organization' acme` (the stack's legacyUpgrade setting) and `pulumi up --stack dev`, " +
        `or with the CLI, \`neonhub-db ${upgrade.join(" ")} ${stackUrl}\``,
    );
    // The slug a fix does not know yet is quoted as a shell reads it, in both commands.
    expect(print(["apply", "--upgrade-legacy", "--legacy-organization", "<slug>"])).toContain(
      "legacyUpgrade.organization' '<slug>'` (the stack's",
    );
    expect(print(["verify"])).toBe(`\`neonhub-db verify ${stackUrl}\``);
    expect(print(["plan", "--json"])).toBe(`\`neonhub-db plan --json ${stackUrl}\``);
    // The upgrade's plan: the stack's preview once the setting is set, or the CLI's.
    expect(print(["plan", "--upgrade-legacy", "--legacy-organization", "acme"])).toBe(
      "`pulumi preview --stack dev` once the stack's legacyUpgrade setting is set, " +
        `or with the CLI, \`neonhub-db plan --upgrade-legacy --legacy-organization acme ${stackUrl}\``,
    );
  });

  it("prints an apply given a setting of each run (a statement timeout to raise) as its config key's `pulumi config set` and the up", () => {
    const raised = ["--statement-timeout", "<seconds>"];
    const set = "`pulumi config set --stack dev neonhub-db:migrationStatementTimeoutSeconds '<seconds>'`";
    expect(printerOf(settings({ seedSets: [] }))(["apply", ...raised])).toBe(
      `${set} and \`pulumi up --stack dev\``,
    );
    // The upgrade's up on a stack that runs it; on one without the setting, the CLI's command keeps the flag.
    const upgrading = printerOf(settings({ seedSets: [], legacyUpgrade: { organization: "acme" } }));
    expect(upgrading([...upgrade, ...raised])).toBe(`${set} and \`pulumi up --stack dev\``);
    expect(printerOf(settings({ seedSets: [] }))([...upgrade, ...raised])).toBe(
      `\`pulumi config set --stack dev --path 'neonhub-db:legacyUpgrade.organization' acme\` (the stack's legacyUpgrade setting) and ${set} and \`pulumi up --stack dev\`, ` +
        `or with the CLI, \`neonhub-db ${upgrade.join(" ")} --statement-timeout '<seconds>' ${stackUrl}\``,
    );
  });

  it("names the stack's migrations folder where it is not the default, and leaves the admin's commands bare", () => {
    const print = printerOf(settings({ seedSets: [] }, "db/migrations"));
    expect(print(["status"])).toBe(`\`neonhub-db status ${stackUrl} --migrations-dir db/migrations\``);
    expect(print(["health"])).toBe(`\`neonhub-db health ${stackUrl}\``);
    expect(print(["baseline"])).toBe("`neonhub-db baseline`");
  });

  it("names a release setting as the stack's config key, with the `pulumi config set` for the stack", () => {
    const print = printerOf(settings({ seedSets: [] }));
    expect(settingToChange(print, "vectorIndexes.maxMaintenanceWorkMem")).toBe(
      "neonhub-db:vectorIndexes.maxMaintenanceWorkMem in the stack's config " +
        "(`pulumi config set --stack dev --path 'neonhub-db:vectorIndexes.maxMaintenanceWorkMem' <value>`)",
    );
    // A library caller's words: the release config's own path (the CLI's name where its run took it from).
    expect(settingToChange(undefined, "vectorIndexes.maxMaintenanceWorkMem")).toBe(
      "vectorIndexes.maxMaintenanceWorkMem",
    );
  });

  it("an interrupted apply or read, told the stack's printer and not the command as run, names the stack's command to run again", () => {
    const print = printerOf(settings({ seedSets: [] }));
    expect(interruption("apply", undefined, { print }).fix).toBe(
      "Run `pulumi up --stack dev` again to complete the release (`pulumi preview --stack dev` shows what is left).",
    );
    expect(interruption("plan", undefined, { print }).fix).toBe("Run `pulumi preview --stack dev` again.");
    expect(interruption("verify", undefined, { print }).fix).toBe(
      `Run \`neonhub-db verify ${stackUrl}\` again.`,
    );
    // A command the printer does not print whole (the admin's baseline) keeps the words; so does a caller
    // without a printer.
    expect(interruption("baseline", undefined, { print }).fix).toMatch(/^Run the same command again: /);
    expect(interruption("apply").fix).toMatch(/^Run the same command again to complete the release/);
  });

  it("names the stack the program runs for, shell-quoted, and for a state recorded without it says which", () => {
    const quoted = printerOf(settings({ seedSets: [] }, "migrations", "acme/neonhub db/prod's"));
    expect(quoted(["verify"])).toBe(
      `\`neonhub-db verify --database-url "$(pulumi stack output --stack 'acme/neonhub db/prod'\\''s' --show-secrets directUrl)"\``,
    );
    // A refresh or destroy of a state recorded before the outputs kept the stack's name: no bare command,
    // which would read whichever stack is selected, but `<stack>` and the stack it stands for.
    const recordedBefore = partContext(
      settings({ seedSets: [] }, "migrations", null),
      "postgresql://neonhub_migrator@127.0.0.1:5432/neonhub",
      "DIRECT_URL",
      "refresh",
    ).options.printCommand!;
    const which =
      "<stack> is the stack `pulumi refresh` runs for: this state was recorded before the schema release kept its stack's name (the next `pulumi up` records it)";
    expect(recordedBefore(["verify"])).toBe(
      `\`neonhub-db verify --database-url "$(pulumi stack output --stack <stack> --show-secrets directUrl)"\` (${which})`,
    );
    expect(recordedBefore(upgrade)).toBe(
      "`pulumi config set --stack <stack> --path 'neonhub-db:legacyUpgrade.organization' acme` (the stack's legacyUpgrade setting) and `pulumi up --stack <stack>`, " +
        `or with the CLI, \`neonhub-db ${upgrade.join(" ")} --database-url "$(pulumi stack output --stack <stack> --show-secrets directUrl)"\` (${which})`,
    );
    expect(settingToChange(recordedBefore, "vectorIndexes.maxMaintenanceWorkMem")).toBe(
      "neonhub-db:vectorIndexes.maxMaintenanceWorkMem in the stack's config " +
        `(\`pulumi config set --stack <stack> --path 'neonhub-db:vectorIndexes.maxMaintenanceWorkMem' <value>\`; ${which})`,
    );
    // A message the engine assembles of several printed commands, as the provider hands it to Pulumi: which
    // stack `<stack>` stands for is said once, after the first command, not once per command.
    const message = `Raise ${settingToChange(recordedBefore, "vectorIndexes.maxMaintenanceWorkMem")}, then run ${commandToRun(recordedBefore, ["apply"])} again (${recordedBefore(["plan"])} shows what is left).`;
    expect(message.split(which)).toHaveLength(4);
    expect(shownText(message, [])).toBe(
      "Raise neonhub-db:vectorIndexes.maxMaintenanceWorkMem in the stack's config " +
        `(\`pulumi config set --stack <stack> --path 'neonhub-db:vectorIndexes.maxMaintenanceWorkMem' <value>\`; ${which}), ` +
        "then run `pulumi up --stack <stack>` again (`pulumi preview --stack <stack>` shows what is left).",
    );
  });
});
