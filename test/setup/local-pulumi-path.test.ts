// The `pulumi up --stack local` branch of `npm run local` cannot run here (no Pulumi language host), so its
// pieces are checked on their own: the environment it builds from the stack outputs, and the engine settings.
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { useTestDatabase, withClient } from "../support/database";
import { scratchDir } from "../support/scratch";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const localEnv = require("../../scripts/lib/local-env") as typeof import("../../scripts/lib/local-env");
type LocalPulumi = typeof import("../../scripts/lib/local-pulumi");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const localPulumi = require("../../scripts/lib/local-pulumi") as LocalPulumi;
type AccessSql = typeof import("../../scripts/lib/access-sql");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const accessSql = require("../../scripts/lib/access-sql") as AccessSql;
type Toolchain = typeof import("../../scripts/pulumi-toolchain");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const toolchain = require("../../scripts/pulumi-toolchain") as Toolchain;

describe("npm run local through Pulumi", () => {
  it("takes the app and migrator logins from the stack outputs, masked for printing", () => {
    const env = localEnv.pulumiEnvironment(
      { paths: { root: path.join("x", "local") } },
      {
        databaseUrl: "postgresql://neonhub_app:AppPw123@127.0.0.1:54329/neonhub?sslmode=disable",
        directUrl: "postgresql://neonhub_migrator:MigPw456@127.0.0.1:54329/neonhub?sslmode=disable",
      },
    );
    expect(env.database).toBe("neonhub");
    expect(env.redacted).toEqual({
      databaseUrl: "postgresql://neonhub_app:****@127.0.0.1:54329/neonhub?sslmode=disable",
      directUrl: "postgresql://neonhub_migrator:****@127.0.0.1:54329/neonhub?sslmode=disable",
    });
    expect(env.envFile).toBe(path.join("x", "local", "neonhub.env"));
  });

  it("uses its own file backend and passphrase, whatever PULUMI_* or database URLs the shell holds", () => {
    const shell = {
      PATH: "/usr/bin",
      PULUMI_HOME: "/home/me/.pulumi",
      PULUMI_BACKEND_URL: "s3://team-state",
      PULUMI_ACCESS_TOKEN: "pul-xyz",
      PULUMI_CONFIG_PASSPHRASE_FILE: "f",
      PULUMI_CONFIG: '{"neonhub-db:adminUrl":"postgresql://elsewhere"}',
      DIRECT_URL: "postgresql://u:p@db.example.com/prod",
      DATABASE_URL: "postgresql://u:p@db.example.com/prod",
      ADMIN_URL: "postgresql://u:p@db.example.com/prod",
      PGPASSWORD: "secret",
      PGHOST: "db.example.com",
      MY_DB: "postgres://u:p@db.example.com/prod",
    };
    const env = localPulumi.pulumiEnv(shell);
    expect(env.PULUMI_BACKEND_URL).toMatch(/^file:\/\/.*\.local[\\/]pulumi-state$/);
    expect(env.PULUMI_CONFIG_PASSPHRASE).toBeTruthy();
    expect(env).toMatchObject({ PATH: "/usr/bin", PULUMI_HOME: "/home/me/.pulumi" });
    for (const name of [
      "PULUMI_ACCESS_TOKEN",
      "PULUMI_CONFIG_PASSPHRASE_FILE",
      "PULUMI_CONFIG",
      "DIRECT_URL",
      "DATABASE_URL",
      "ADMIN_URL",
      "PGPASSWORD",
      "PGHOST",
      "MY_DB",
    ])
      expect(env[name], name).toBeUndefined();
  });

  it("keeps the local stack's files in the clone's .local, or beside the clusters of NEONHUB_LOCAL_ROOT", () => {
    const clone = path.join("x", "clone");
    expect(localPulumi.localStackPaths(clone, {})).toMatchObject({
      configFile: path.join(clone, ".local", "pulumi", "Pulumi.local.yaml"),
      stateDir: path.join(clone, ".local", "pulumi-state"),
    });
    // The engine's own file backend is the same folder: one place for the clone's local stacks.
    expect(localPulumi.localStackPaths(undefined, {}).stateDir).toBe(toolchain.STATE_DIR);
    // A test's clusters (NEONHUB_LOCAL_ROOT) get their own: a cluster it makes anew never drops the clone's stack.
    const clusters = scratchDir("neonhub-clusters-");
    const own = localPulumi.localStackPaths(clone, { NEONHUB_LOCAL_ROOT: clusters });
    for (const file of [own.configFile, own.stateDir, own.workDir])
      expect(file.startsWith(`${clusters}${path.sep}`), file).toBe(true);
    expect(localPulumi.pulumiEnv({ NEONHUB_LOCAL_ROOT: clusters }).PULUMI_BACKEND_URL).toBe(
      `file://${own.stateDir}`,
    );
  });
});

// `npm run local -- --no-pulumi`, then `npm run local` with Pulumi: the local stack's first `pulumi up` would
// create roles and a database the cluster has (@pulumi/postgresql refuses), so they are dropped first when
// the engine-only path made them, and the stack makes them as on a first run.
describe("a local stack whose state holds no access layer, on a cluster --no-pulumi set up", () => {
  const db = useTestDatabase("localhandover");
  // Names of this test's own, so that the tests' other databases and roles stay.
  const prefix = `handover_${process.pid}`;
  const names = accessSql.roleNames(prefix);
  const database = `${prefix}_db`;
  const setUp = (root: string) =>
    withClient(db.current.adminUrl, async (c) => {
      await c.query(`CREATE DATABASE "${database}"`);
      const passwords = { migrator: "m-pw", app: "a-pw", readonly: "r-pw" };
      for (const sql of accessSql.clusterStatements(names, passwords, database)) await c.query(sql);
      writeFileSync(path.join(root, "logins.json"), JSON.stringify(passwords));
      writeFileSync(path.join(root, "neonhub.env"), "DATABASE_URL=postgresql://x:a-pw@127.0.0.1/x\n");
    });
  const present = () =>
    withClient(db.current.adminUrl, async (c) => {
      const found = await c.query<{ database: string | null; roles: string[] }>(
        `SELECT (SELECT datname::text FROM pg_database WHERE datname = $1) AS database,
                ARRAY(SELECT rolname::text FROM pg_roles WHERE rolname = ANY($2) ORDER BY rolname) AS roles`,
        [database, Object.values(names)],
      );
      return found.rows[0]!;
    });

  it("reads from the stack's state whether it made the access layer", () => {
    expect(localPulumi.managesAccess({ version: 3, deployment: { manifest: {} } } as never)).toBe(false);
    const failedFirstUp = {
      deployment: {
        resources: [
          { type: "pulumi:pulumi:Stack" },
          { type: "random:index/randomPassword:RandomPassword" },
          { type: "pulumi:providers:postgresql" },
        ],
      },
    };
    expect(localPulumi.managesAccess(failedFirstUp)).toBe(false);
    const madeIt = {
      deployment: {
        resources: [...failedFirstUp.deployment.resources, { type: "postgresql:index/role:Role" }],
      },
    };
    expect(localPulumi.managesAccess(madeIt)).toBe(true);
  });

  it("drops the database and roles --no-pulumi made, with its logins file and .env; then finds nothing", async () => {
    const root = scratchDir("neonhub-local-");
    await setUp(root);
    const running = { adminUrl: db.current.adminUrl, paths: { root } };
    const dropped = await localEnv.dropAccessOutsideStack(running, { database, names });
    expect(dropped).toEqual({ database, roles: Object.values(names).sort() });
    expect(await present()).toEqual({ database: null, roles: [] });
    expect(existsSync(path.join(root, "logins.json"))).toBe(false);
    expect(existsSync(path.join(root, "neonhub.env"))).toBe(false);
    // The stack's next run (its first up failed, say): nothing of the cluster's is in its way.
    expect(await localEnv.dropAccessOutsideStack(running, { database, names })).toEqual({
      database: undefined,
      roles: [],
    });
  });

  it("refuses roles it cannot tell the origin of, changing nothing, with the ways out", async () => {
    const root = scratchDir("neonhub-local-");
    await setUp(root);
    const foreignRoot = scratchDir("neonhub-local-");
    const refused = localEnv.dropAccessOutsideStack(
      { adminUrl: db.current.adminUrl, paths: { root: foreignRoot } },
      { database, names },
    );
    await expect(refused).rejects.toThrow(
      `The local cluster has database ${database} and roles ${Object.values(names).sort().join(", ")}, which the local stack's state does not hold and \`npm run local -- --no-pulumi\` did not make`,
    );
    await expect(refused).rejects.toThrow("keep them and run `npm run local -- --no-pulumi`");
    expect(await present()).toEqual({ database, roles: Object.values(names).sort() });
    await localEnv.dropAccessOutsideStack(
      { adminUrl: db.current.adminUrl, paths: { root } },
      { database, names },
    );
  });
});
