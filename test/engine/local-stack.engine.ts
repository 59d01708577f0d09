// The schema release through the real Pulumi engine: the `pulumi` CLI (the one on PATH, or the one
// scripts/pulumi-toolchain.js builds from Go modules), a file backend with the passphrase secrets provider, and
// the project's dynamic providers run by the dynamic-provider plugin that @pulumi/pulumi ships, against the
// run's throwaway PostgreSQL + pgvector cluster. `npm run test:engine` runs it (not `npm test`).
//
// What cannot run here (docs/engine.md): the Node.js language host and the bridged providers
// (@pulumi/postgresql, @pulumi/random) are Go modules the module proxy refuses. So the program is an inline
// program of the Automation API (the SDK serves the language runtime itself; the CLI connects to it with
// --client), made of the project's SchemaRelease component, and the access layer's roles and grants are made
// with SQL from the access layer's own lists (test/support/roles.ts). The program exports the app login's
// connection string as the secret output `databaseUrl`, as index.ts does with the access layer's.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../../core";
import { SchemaRelease } from "../../infra/schema-release";
import { createTestDatabase, dropTestDatabase, withClient, type TestDatabase } from "../support/database";
import { createAccessRoles, dropAccessRoles, type AccessRoles } from "../support/roles";

const run = promisify(execFile);

const PULUMI = process.env.NEONHUB_PULUMI;
const STACK = "local";
const SEED_ORGANIZATION = "demo-org"; // seeds/demo/10-organization.json
const NEW_MIGRATION = "29991231000000_engine_check";

interface Summary {
  appliedMigrations: number;
  lastMigration: string | null;
  seedSets: { name?: string }[];
}

interface StateResource {
  type: string;
  urn: string;
  outputs?: Record<string, unknown>;
}

describe("the schema release through the Pulumi engine (local stack)", () => {
  let db: TestDatabase;
  let roles: AccessRoles;
  let workDir: string;
  let migrationsDir: string;
  let stack: Stack;
  let cliEnv: NodeJS.ProcessEnv;
  let migrationNames: string[];
  let appliedAt: Map<string, string>;

  /** `pulumi <args>` as a user types it, in the stack's folder; stdout. */
  const pulumiCli = async (...args: string[]) => {
    const { stdout } = await run(PULUMI!, [...args, "--stack", STACK, "--non-interactive"], {
      cwd: workDir,
      env: cliEnv,
    });
    return stdout;
  };

  const resources = async (): Promise<StateResource[]> => {
    const state = await stack.exportStack();
    return (state.deployment as { resources?: StateResource[] }).resources ?? [];
  };

  const migrationsResource = async () => {
    const found = (await resources()).find((r) => r.type.endsWith("SchemaMigrations"));
    if (!found) throw new Error("no SchemaMigrations resource in the state");
    return found;
  };

  const ledger = async () =>
    withClient(db.url, async (c) => {
      const table = await c.query<{ ledger: string | null }>(
        "SELECT to_regclass('neonhub_release.migrations')::text AS ledger",
      );
      if (!table.rows[0]?.ledger) return new Map<string, string>();
      const rows = await c.query<{ name: string; applied_at: Date }>(
        "SELECT name, applied_at FROM neonhub_release.migrations ORDER BY name",
      );
      return new Map(rows.rows.map((r) => [r.name, r.applied_at.toISOString()]));
    });

  const readSeededOrganization = async (url: string) => {
    const { Client } = await import("pg");
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT set_config('app.current_organization_id', $1, true)", [SEED_ORGANIZATION]);
      const who = await client.query<{ user: string }>("SELECT current_user AS user");
      const org = await client.query<{ id: string; slug: string }>(
        'SELECT id, slug FROM "Organization" WHERE id = $1',
        [SEED_ORGANIZATION],
      );
      await client.query("COMMIT");
      return { user: who.rows[0]?.user, rows: org.rows };
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    if (!PULUMI) throw new Error("NEONHUB_PULUMI is not set: run this suite with `npm run test:engine`.");
    db = await createTestDatabase("engine");
    roles = await createAccessRoles(db);

    // The stack's folder and a copy of the migrations (a test adds one) live under the project's .local, so
    // that the provider, which resolves the migrations folder against the project root, finds them.
    workDir = path.join(
      PROJECT_ROOT,
      ".local",
      "engine-test",
      `${db.name}-${randomBytes(3).toString("hex")}`,
    );
    migrationsDir = path.join(workDir, "migrations");
    fs.mkdirSync(workDir, { recursive: true });
    fs.cpSync(path.join(PROJECT_ROOT, "migrations"), migrationsDir, { recursive: true });
    migrationNames = fs
      .readdirSync(migrationsDir)
      .filter((f) => f.endsWith(".sql"))
      .map((f) => f.replace(/\.sql$/, ""))
      .sort();

    cliEnv = {
      ...process.env,
      PULUMI_BACKEND_URL: `file://${path.join(workDir, "state")}`,
      // The dynamic-provider plugin finds the project (infra/dynamic/handlers.ts) here; the stack's folder is
      // under .local.
      PULUMI_ROOT_DIRECTORY: PROJECT_ROOT,
      // Refresh and destroy get the migrator's password from here (outputs never hold one).
      DIRECT_URL: roles.url("migrator"),
    };
    fs.mkdirSync(path.join(workDir, "state"));

    const program = async () => {
      const release = new SchemaRelease("schema", {
        directUrl: pulumi.secret(roles.url("migrator")),
        ownerRole: roles.names.owner,
        database: db.name,
        seedSets: ["demo"],
        migrationsDir: path.relative(PROJECT_ROOT, migrationsDir),
      });
      return {
        databaseUrl: pulumi.secret(roles.url("app")),
        directUrl: pulumi.secret(roles.url("migrator")),
        database: db.name,
        schemaRelease: release.summary,
      };
    };
    const binDir = path.dirname(PULUMI);
    const pulumiCommand = await PulumiCommand.get(
      path.basename(binDir) === "bin" ? { root: path.dirname(binDir), skipVersionCheck: true } : {},
    );
    stack = await LocalWorkspace.createOrSelectStack(
      { stackName: STACK, projectName: "neonhub-db", program },
      { workDir, pulumiCommand, envVars: cliEnv as Record<string, string> },
    );
  });

  afterAll(async () => {
    try {
      if (stack) await stack.workspace.removeStack(STACK, { force: true });
    } finally {
      if (db) await dropTestDatabase(db);
      if (db && roles) await dropAccessRoles(db, roles);
      if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
    }
  });

  it("previews the pending migrations by name, without touching the database", async () => {
    const preview = await stack.preview({ diff: true });
    for (const name of migrationNames) expect(preview.stdout).toContain(name);
    expect(preview.changeSummary.create).toBe(5); // stack, component, its three resources
    expect((await ledger()).size).toBe(0);
  });

  it("applies them with `pulumi up`", async () => {
    const up = await stack.up();
    expect(up.summary.result).toBe("succeeded");
    const summary = up.outputs.schemaRelease?.value as Summary;
    expect(summary.appliedMigrations).toBe(migrationNames.length);
    expect(summary.lastMigration).toBe(migrationNames.at(-1));
    appliedAt = await ledger();
    expect([...appliedAt.keys()]).toEqual(migrationNames);
  });

  it("hands the app its connection string: `pulumi stack output --show-secrets databaseUrl`", async () => {
    expect((await pulumiCli("stack", "output", "databaseUrl")).trim()).toBe("[secret]");
    const databaseUrl = (await pulumiCli("stack", "output", "--show-secrets", "databaseUrl")).trim();
    // Compared without printing it: a failure message must not show the password.
    expect(new URL(databaseUrl).username).toBe(roles.names.app);
    expect(databaseUrl === roles.url("app"), "databaseUrl is the app login's connection string").toBe(true);
    const read = await readSeededOrganization(databaseUrl);
    expect(read.user).toBe(roles.names.app);
    expect(read.rows).toEqual([{ id: SEED_ORGANIZATION, slug: "demo" }]);
    // The state file holds the connection strings encrypted, never in clear.
    const stateFiles = fs.readdirSync(path.join(workDir, "state"), { recursive: true, encoding: "utf8" });
    const checkpoints = stateFiles.filter((f) => f.endsWith(".json"));
    expect(checkpoints.length).toBeGreaterThan(0);
    for (const file of checkpoints) {
      const text = fs.readFileSync(path.join(workDir, "state", file), "utf8");
      expect(text.includes(roles.password), `${file} holds no password in clear`).toBe(false);
    }
  });

  it("previews no changes the second time", async () => {
    const preview = await stack.preview({ diff: true });
    expect(Object.keys(preview.changeSummary)).toEqual(["same"]);
  });

  it("previews a new migration alone, and `pulumi up` applies only it", async () => {
    fs.writeFileSync(
      path.join(migrationsDir, `${NEW_MIGRATION}.sql`),
      [
        "-- Up Migration",
        'CREATE TABLE "EngineCheck" (id text PRIMARY KEY);',
        "",
        "-- Down Migration",
        'DROP TABLE "EngineCheck";',
        "",
      ].join("\n"),
    );
    const preview = await stack.preview({ diff: true });
    // The diff adds one key to the `migrations` map, and the provider names what it will apply.
    const added = preview.stdout.split("\n").filter((line) => /^\s*\+ \d{14}_\w+\s*:/.test(line));
    expect(added.map((line) => line.trim().split(/\s/)[1])).toEqual([NEW_MIGRATION]);
    expect(preview.stderr).toContain(`1 migration to apply: ${NEW_MIGRATION}`);
    expect(preview.changeSummary).toMatchObject({ update: 1 });
    expect(preview.changeSummary.create ?? 0).toBe(0);
    expect(preview.changeSummary.delete ?? 0).toBe(0);

    const up = await stack.up();
    expect(up.summary.resourceChanges).toMatchObject({ update: 1 });
    const summary = up.outputs.schemaRelease?.value as Summary;
    expect(summary.appliedMigrations).toBe(migrationNames.length + 1);
    expect(summary.lastMigration).toBe(NEW_MIGRATION);
    const after = await ledger();
    expect(after.get(NEW_MIGRATION)).toBeDefined();
    // The others were not applied again.
    for (const [name, at] of appliedAt) expect(after.get(name)).toBe(at);
    const lastRun = (await migrationsResource()).outputs?.lastRun as { items: { name: string }[] };
    expect(lastRun.items.map((i) => i.name)).toContain(NEW_MIGRATION);
    expect(lastRun.items.map((i) => i.name).filter((n) => migrationNames.includes(n))).toEqual([]);
  });

  it("records a change made by hand on `pulumi refresh`", async () => {
    expect((await migrationsResource()).outputs?.drift).toEqual([]);
    await withClient(db.url, (c) => c.query('ALTER TABLE "EngineCheck" ADD COLUMN "handMade" integer'));
    const refresh = await stack.refresh();
    expect(refresh.summary.result).toBe("succeeded");
    // The provider's read reports the drift in the `drift` output, which the engine records in the state
    // (`pulumi stack export`). The refresh summary still counts the resource as unchanged: since 3.x the engine
    // decides that with the provider's Diff of the inputs, and catalog drift changes no input.
    const drift = (await migrationsResource()).outputs?.drift as string[];
    expect(drift).toEqual(['added by hand: column public."EngineCheck"."handMade"']);
  });

  it("keeps the data on `pulumi destroy`", async () => {
    const destroy = await stack.destroy();
    expect(destroy.summary.result).toBe("succeeded");
    expect(await resources()).toEqual([]);
    const read = await readSeededOrganization(roles.url("app"));
    expect(read.rows).toEqual([{ id: SEED_ORGANIZATION, slug: "demo" }]);
    expect((await ledger()).size).toBe(migrationNames.length + 1);
  });
});

describe("scripts/pulumi-toolchain.js env", () => {
  it("prints the engine's environment as shell exports, and as one JSON object with --json", async () => {
    const script = path.join(PROJECT_ROOT, "scripts", "pulumi-toolchain.js");
    const exports = (await run(process.execPath, [script, "env"], { cwd: PROJECT_ROOT })).stdout;
    const asJson = JSON.parse(
      (await run(process.execPath, [script, "env", "--json"], { cwd: PROJECT_ROOT })).stdout,
    ) as Record<string, string>;
    expect(Object.keys(asJson)).toContain("PULUMI_HOME");
    for (const [key, value] of Object.entries(asJson)) {
      expect(exports).toContain(`export ${key}='${value.replace(/'/g, "'\\''")}'`);
    }
    expect(exports.trim().split("\n")).toHaveLength(Object.keys(asJson).length);
  });
});
