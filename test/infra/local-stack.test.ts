// The `local` stack: an existing server (the cluster `npm run local` starts) reached with secret config.
import { beforeAll, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import {
  ROLE_NAMES,
  expectAccessLayer,
  expectAdminProvider,
  expectNoPlainTextPasswordInputs,
  expectSecretOutputs,
} from "./contract";
import { MockWorld, installMocks, promiseOf, runProgram, stackConfig } from "./harness";

const ADMIN_PASSWORD = "LocalAdminSecret0123456789";
const ADMIN_URL = `postgresql://postgres:${ADMIN_PASSWORD}@127.0.0.1:54329/postgres`;

let world: MockWorld;
let program: Record<string, unknown>;

beforeAll(async () => {
  world = await installMocks({
    stack: "local",
    config: stackConfig("local", { "neonhub-db:adminUrl": ADMIN_URL }),
    secretKeys: ["neonhub-db:adminUrl"],
  });
  program = await runProgram(() => import("../../index"));
});

describe("local stack", () => {
  it("creates no server, only the existing-server component, and no cloud or container resources", () => {
    expect(world.one("neonhub:db:ExistingServer").name).toBe("neonhub");
    const foreign = world.resources.filter(
      (r) => /^(aws|docker):/.test(r.type) || r.type.includes("providers:aws"),
    );
    expect(foreign).toEqual([]);
  });

  it("connects as the admin from adminUrl, with the password kept secret", () => {
    const provider = expectAdminProvider(world, {
      host: "127.0.0.1",
      port: 54329,
      username: "postgres",
      sslmode: "disable",
      superuser: true,
    });
    expect(provider.inputs.password).toBe(ADMIN_PASSWORD);
    expect(provider.inputs.database).toBe("postgres");
    // A superuser needs no membership in the owner role.
    expect(world.all("postgresql:index/grantRole:GrantRole")).toEqual([]);
  });

  it("builds the access layer and drops it on destroy (keepData is false for local)", async () => {
    await expectAccessLayer(world, false);
    const role = world.all("postgresql:index/role:Role").find((r) => r.inputs.name === ROLE_NAMES.app);
    expect(role?.opts.retainOnDelete ?? false).toBe(false);
  });

  it("exports secret connection strings on 127.0.0.1 and no password elsewhere", async () => {
    await expectSecretOutputs(program, world, { host: "127.0.0.1", port: 54329 }, [ADMIN_PASSWORD]);
    expectNoPlainTextPasswordInputs(world, [ADMIN_PASSWORD]);
  });

  it("exports the recommended settings for the machine, and no secret ARN", async () => {
    const settings = await promiseOf(program.serverSettings as pulumi.Output<Record<string, string>>);
    // 4 GiB default: a quarter for shared_buffers, an eighth for index builds (pgvector override).
    expect(settings).toMatchObject({
      shared_buffers: "1GB",
      maintenance_work_mem: "512MB",
      max_connections: "200",
    });
    expect(await promiseOf(program.serverKind as pulumi.Output<string>)).toBe("existing");
    expect(program.databaseUrlSecretArn).toBeUndefined();
  });
});
