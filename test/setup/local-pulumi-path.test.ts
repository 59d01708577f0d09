// The `pulumi up --stack local` branch of `npm run local` cannot run here (no Pulumi language host), so its
// pieces are checked on their own: the environment it builds from the stack outputs, and the engine settings.
import path from "node:path";
import { describe, expect, it } from "vitest";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const localEnv = require("../../scripts/lib/local-env") as typeof import("../../scripts/lib/local-env");
type LocalPulumi = typeof import("../../scripts/lib/local-pulumi");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const localPulumi = require("../../scripts/lib/local-pulumi") as LocalPulumi;

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

  it("keeps the user's own backend and passphrase, and uses a file backend under .local otherwise", () => {
    const own = localPulumi.pulumiEnv({ PULUMI_BACKEND_URL: "s3://state", PATH: "" });
    expect(own.PULUMI_BACKEND_URL).toBe("s3://state");
    expect(own.PULUMI_CONFIG_PASSPHRASE).toBeUndefined();
    const local = localPulumi.pulumiEnv({ PATH: "" });
    expect(local.PULUMI_BACKEND_URL).toMatch(/^file:\/\/.*\.local[\\/]pulumi-state$/);
    expect(local.PULUMI_CONFIG_PASSPHRASE).toBeTruthy();
    expect(
      localPulumi.pulumiEnv({ PATH: "", PULUMI_CONFIG_PASSPHRASE_FILE: "f" }).PULUMI_CONFIG_PASSPHRASE,
    ).toBeUndefined();
  });
});
