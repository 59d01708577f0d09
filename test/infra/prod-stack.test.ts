// The `prod` stack: RDS for PostgreSQL 16 in a private VPC, with everything production needs.
import { beforeAll, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import {
  expectAccessLayer,
  expectAdminProvider,
  expectNoPlainTextPasswordInputs,
  expectSecretOutputs,
} from "./contract";
import {
  MASTER_PASSWORD,
  MockWorld,
  RecordedResource,
  installMocks,
  promiseOf,
  runProgram,
  stackConfig,
} from "./harness";
import { capturePrinted } from "../security/printed";

const HOST = "neonhub-db-prod.abcdefghijkl.us-east-1.rds.amazonaws.com";

let world: MockWorld;
let program: Record<string, unknown>;
let instance: RecordedResource;
let printed: string;

beforeAll(async () => {
  world = await installMocks({
    stack: "prod",
    config: stackConfig("prod", {
      "neonhub-db:allowedCidrs": JSON.stringify(["10.0.0.0/16"]),
      "neonhub-db:allowedSecurityGroupIds": JSON.stringify(["sg-0123456789abcdef0"]),
    }),
  });
  printed = await capturePrinted(async () => {
    program = await runProgram(() => import("../../index"));
  });
  instance = world.one("aws:rds/instance:Instance");
});

describe("prod stack: network", () => {
  it("creates a VPC with one private subnet per zone and no way in from the internet", () => {
    expect(world.one("aws:ec2/vpc:Vpc").inputs.cidrBlock).toBe("10.42.0.0/16");
    const subnets = world.all("aws:ec2/subnet:Subnet");
    expect(subnets.map((s) => s.inputs.cidrBlock)).toEqual(["10.42.0.0/20", "10.42.16.0/20"]);
    expect(subnets.map((s) => s.inputs.availabilityZone)).toEqual(["us-east-1a", "us-east-1b"]);
    for (const subnet of subnets) expect(subnet.inputs.mapPublicIpOnLaunch).toBe(false);
    const internetFacing = world.resources.filter((r) =>
      /internetGateway|natGateway|eip:Eip|route:Route$/.test(r.type),
    );
    expect(internetFacing).toEqual([]);
    expect(world.one("aws:rds/subnetGroup:SubnetGroup").inputs.subnetIds).toHaveLength(2);
  });

  it("admits PostgreSQL only from the configured networks and security groups", () => {
    const group = world.one("aws:ec2/securityGroup:SecurityGroup");
    expect(group.inputs.ingress).toEqual([
      expect.objectContaining({ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["10.0.0.0/16"] }),
      expect.objectContaining({
        protocol: "tcp",
        fromPort: 5432,
        toPort: 5432,
        securityGroups: ["sg-0123456789abcdef0"],
      }),
    ]);
    expect(JSON.stringify(group.inputs)).not.toContain("0.0.0.0/0");
    expect(group.inputs.egress ?? []).toEqual([]);
  });
});

describe("prod stack: RDS instance", () => {
  it("runs PostgreSQL 16 privately, Multi-AZ, with deletion protection", () => {
    expect(instance.inputs.dbSubnetGroupName).toBe(world.one("aws:rds/subnetGroup:SubnetGroup").name);
    expect(instance.inputs.vpcSecurityGroupIds).toEqual([
      `${world.one("aws:ec2/securityGroup:SecurityGroup").name}-id`,
    ]);
    expect(instance.inputs).toMatchObject({
      identifier: "neonhub-db-prod",
      engine: "postgres",
      engineVersion: "16",
      instanceClass: "db.r6g.large",
      publiclyAccessible: false,
      multiAz: true,
      deletionProtection: true,
      port: 5432,
      caCertIdentifier: "rds-ca-rsa2048-g1",
    });
  });

  it("follows the major, which RDS upgrades the minor of, without a warning", () => {
    expect(instance.inputs.engineVersion).toBe("16");
    expect(instance.inputs.autoMinorVersionUpgrade).toBe(true);
    expect(instance.inputs.allowMajorVersionUpgrade).toBe(false);
    // Changes of engineVersion stay live on RDS: a config change is an upgrade the preview shows.
    expect(instance.opts.ignoreChanges).toBeUndefined();
    expect(printed).not.toContain("engineVersion");
  });

  it("encrypts storage, Performance Insights and the master secret with a rotating KMS key", () => {
    const key = world.one("aws:kms/key:Key");
    expect(key.inputs.enableKeyRotation).toBe(true);
    const keyArn = "arn:aws:kms:us-east-1:123456789012:key/mock-neonhub-key";
    expect(instance.inputs).toMatchObject({
      storageEncrypted: true,
      kmsKeyId: keyArn,
      performanceInsightsEnabled: true,
      performanceInsightsKmsKeyId: keyArn,
      performanceInsightsRetentionPeriod: 7,
      masterUserSecretKmsKeyId: keyArn,
      storageType: "gp3",
    });
  });

  it("keeps backups for at least 7 days and takes a uniquely named final snapshot", () => {
    expect(instance.inputs.backupRetentionPeriod).toBeGreaterThanOrEqual(7);
    expect(instance.inputs.skipFinalSnapshot).toBe(false);
    expect(instance.inputs.finalSnapshotIdentifier).toBe("neonhub-db-prod-final-0a1b2c3d");
    expect(instance.inputs.deleteAutomatedBackups).toBe(false);
  });

  it("lets RDS manage the master password in Secrets Manager, never as a plain input", () => {
    expect(instance.inputs.manageMasterUserPassword).toBe(true);
    expect(instance.inputs.password).toBeUndefined();
    expect(instance.inputs.username).toBe("neonhub_admin");
    expect(instance.inputs.iamDatabaseAuthenticationEnabled).toBe(false);
  });

  it("exports as serverSettings the settings its parameter group applies, and no other", async () => {
    const group = world.one("aws:rds/parameterGroup:ParameterGroup");
    const applied = (group.inputs.parameters as { name: string }[]).map((p) => p.name);
    const exported = Object.keys(
      await promiseOf(program.serverSettings as pulumi.Output<Record<string, string>>),
    );
    expect(exported).toContain("shared_buffers");
    expect(exported.filter((name) => !applied.includes(name))).toEqual([]);
  });

  it("uses a tuned postgres16 parameter group that requires TLS", () => {
    const group = world.one("aws:rds/parameterGroup:ParameterGroup");
    expect(group.inputs.family).toBe("postgres16");
    expect(instance.inputs.parameterGroupName).toBe(group.name);
    const parameters = Object.fromEntries(
      (group.inputs.parameters as { name: string; value: string; applyMethod: string }[]).map((p) => [
        p.name,
        p,
      ]),
    );
    // db.r6g.large: 16 GiB, 2 vCPUs.
    expect(parameters["rds.force_ssl"]).toEqual({
      name: "rds.force_ssl",
      value: "1",
      applyMethod: "immediate",
    });
    expect(parameters.shared_buffers).toEqual({
      name: "shared_buffers",
      value: "524288",
      applyMethod: "pending-reboot",
    });
    expect(parameters.max_connections?.applyMethod).toBe("pending-reboot");
    expect(parameters.maintenance_work_mem).toEqual({
      name: "maintenance_work_mem",
      value: "2097152",
      applyMethod: "immediate",
    });
    expect(parameters.effective_io_concurrency?.value).toBe("300");
  });
});

describe("prod stack: access and outputs", () => {
  it("connects as the master user over TLS, without superuser, as a member of the owner role", () => {
    const provider = expectAdminProvider(world, {
      host: HOST,
      port: 5432,
      username: "neonhub_admin",
      sslmode: "require",
      superuser: false,
    });
    expect(provider.inputs.password).toBe(MASTER_PASSWORD);
    const membership = world.one("postgresql:index/grantRole:GrantRole");
    expect(membership.inputs).toMatchObject({ role: "neonhub_admin", grantRole: "neonhub_owner" });
    expect(membership.inputs.withAdminOption ?? false).toBe(false);
  });

  it("creates the database only after the admin may act as the owner", () => {
    const database = world.one("postgresql:index/database:Database");
    const dependsOn = database.opts.dependsOn as pulumi.Resource[];
    expect(dependsOn).toHaveLength(1);
  });

  it("builds the access layer and keeps it on destroy (keepData defaults to true)", async () => {
    await expectAccessLayer(world, true);
  });

  it("exports secret connection strings with sslmode=require and no password elsewhere", async () => {
    await expectSecretOutputs(program, world, { host: HOST, port: 5432, sslmode: "require" });
    expectNoPlainTextPasswordInputs(world);
  });

  it("writes DATABASE_URL to a KMS-encrypted Secrets Manager secret and exports its ARN", async () => {
    const secret = world.one("aws:secretsmanager/secret:Secret");
    expect(secret.inputs).toMatchObject({
      name: "neonhub-db/prod/database-url",
      kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/mock-neonhub-key",
    });
    const version = world.one("aws:secretsmanager/secretVersion:SecretVersion");
    expect(version.secretInputs.has("secretString")).toBe(true);
    expect(version.inputs.secretString).toBe(await promiseOf(program.databaseUrl as pulumi.Output<string>));
    const arn = program.databaseUrlSecretArn as pulumi.Output<string>;
    expect(await pulumi.isSecret(arn)).toBe(false);
    expect(await promiseOf(arn)).toMatch(/^arn:aws:secretsmanager:.*:secret:neonhub-db\/prod\/database-url/);
  });
});
