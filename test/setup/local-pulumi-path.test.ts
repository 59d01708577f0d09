// The `pulumi up --stack local` branch of `npm run local` cannot run here (no Pulumi language host), so its
// pieces are checked on their own: the environment it builds from the stack outputs, and the engine settings.
import path from "node:path";
import { describe, expect, it } from "vitest";
import { scratchDir } from "../support/scratch";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const localEnv = require("../../scripts/lib/local-env") as typeof import("../../scripts/lib/local-env");
type LocalPulumi = typeof import("../../scripts/lib/local-pulumi");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const localPulumi = require("../../scripts/lib/local-pulumi") as LocalPulumi;
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
