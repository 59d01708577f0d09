// The `dev` stack: pgvector/pgvector:pg16 in Docker, tuned, on 127.0.0.1 only.
import { beforeAll, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import {
  expectAccessLayer,
  expectAdminProvider,
  expectNoPlainTextPasswordInputs,
  expectSecretOutputs,
} from "./contract";
import { MockWorld, RecordedResource, installMocks, promiseOf, runProgram, stackConfig } from "./harness";

let world: MockWorld;
let program: Record<string, unknown>;
let container: RecordedResource;

/** The `-c name=value` flags of the container command, as a map. */
function flags(command: string[]): Record<string, string> {
  const result: Record<string, string> = {};
  command.forEach((arg, index) => {
    if (arg !== "-c") return;
    const [name, value] = (command[index + 1] ?? "").split("=");
    if (name && value !== undefined) result[name] = value;
  });
  return result;
}

beforeAll(async () => {
  world = await installMocks({ stack: "dev", config: stackConfig("dev") });
  program = await runProgram(() => import("../../index"));
  container = world.one("docker:index/container:Container");
});

describe("dev stack", () => {
  it("pulls the pgvector PostgreSQL 16 image and runs it", () => {
    const image = world.one("docker:index/remoteImage:RemoteImage");
    expect(image.inputs.name).toBe("pgvector/pgvector:pg16");
    expect(container.inputs.image).toBe("sha256:mock-pgvector/pgvector:pg16");
    expect(container.inputs.command[0]).toBe("postgres");
    expect(container.inputs.restart).toBe("unless-stopped");
    expect(world.all("aws:rds/instance:Instance")).toEqual([]);
  });

  it("publishes PostgreSQL on 127.0.0.1 only", () => {
    expect(container.inputs.ports).toEqual([{ internal: 5432, external: 55432, ip: "127.0.0.1" }]);
  });

  it("keeps data in a named volume, dropped on destroy because dev sets keepData false", () => {
    const volume = world.one("docker:index/volume:Volume");
    expect(volume.inputs.name).toBe("neonhub-db-dev-data");
    expect(volume.opts.retainOnDelete ?? false).toBe(false);
    expect(container.inputs.volumes).toEqual([
      { volumeName: "neonhub-db-dev-data", containerPath: "/var/lib/postgresql/data" },
    ]);
  });

  it("starts PostgreSQL with settings tuned for 4 GiB and 2 CPUs", () => {
    expect(flags(container.inputs.command)).toMatchObject({
      max_connections: "200",
      shared_buffers: "1GB",
      effective_cache_size: "3GB",
      maintenance_work_mem: "512MB",
      autovacuum_work_mem: "256MB",
      random_page_cost: "1.1",
      effective_io_concurrency: "200",
      max_parallel_maintenance_workers: "2",
    });
    expect(container.inputs.memory).toBe(4096);
    expect(container.inputs.cpus).toBe("2");
  });

  it("gives /dev/shm room for parallel index builds (Docker's default is 64 MB)", () => {
    // At least maintenance_work_mem (512 MB), which pgvector's parallel HNSW build keeps in shared memory.
    expect(container.inputs.shmSize).toBeGreaterThanOrEqual(512);
  });

  it("waits for a TCP health check before the access layer connects", () => {
    expect(container.inputs.healthcheck.tests).toEqual([
      "CMD",
      "pg_isready",
      "-U",
      "postgres",
      "-h",
      "127.0.0.1",
      "-p",
      "5432",
    ]);
    expect(container.inputs.wait).toBe(true);
    expect(container.opts.deleteBeforeReplace).toBe(true);
  });

  it("passes a generated admin password to the container only as a secret", () => {
    expect(container.secretInputs.has("envs")).toBe(true);
    const passwordEnv = (container.inputs.envs as string[]).find((env) =>
      env.startsWith("POSTGRES_PASSWORD="),
    );
    expect(world.passwords).toContain(passwordEnv?.slice("POSTGRES_PASSWORD=".length));
  });

  it("connects the access layer to the container as postgres", () => {
    const provider = expectAdminProvider(world, {
      host: "127.0.0.1",
      port: 55432,
      username: "postgres",
      sslmode: "disable",
      superuser: true,
    });
    expect(world.passwords).toContain(provider.inputs.password);
  });

  it("builds the access layer", async () => {
    await expectAccessLayer(world, false);
  });

  it("exports secret connection strings and no password elsewhere", async () => {
    await expectSecretOutputs(program, world, { host: "127.0.0.1", port: 55432 });
    expectNoPlainTextPasswordInputs(world);
    expect(await promiseOf(program.serverKind as pulumi.Output<string>)).toBe("docker");
  });
});
