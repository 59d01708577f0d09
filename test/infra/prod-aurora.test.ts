// The prod stack switched to Aurora PostgreSQL with readers, in an existing VPC, reached through a tunnel.
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
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

const KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const WRITER = "neonhub-db-prod.cluster-abcdefghijkl.us-east-1.rds.amazonaws.com";
const READER = "neonhub-db-prod.cluster-ro-abcdefghijkl.us-east-1.rds.amazonaws.com";

let world: MockWorld;
let program: Record<string, unknown>;
let cluster: RecordedResource;
let printed: string;

beforeAll(async () => {
  world = await installMocks({
    stack: "prod",
    config: stackConfig("prod", {
      "neonhub-db:server": "aurora",
      "neonhub-db:engineVersion": "16.6",
      "neonhub-db:auroraReaders": "2",
      "neonhub-db:vpcId": "vpc-0123456789abcdef0",
      "neonhub-db:subnetIds": JSON.stringify(["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]),
      "neonhub-db:allowedSecurityGroupIds": JSON.stringify(["sg-0123456789abcdef0"]),
      "neonhub-db:kmsKeyArn": KMS_KEY,
      "neonhub-db:iamAuth": "true",
      "neonhub-db:adminTunnel": "127.0.0.1:15432",
    }),
  });
  printed = await capturePrinted(async () => {
    program = await runProgram(() => import("../../index"));
  });
  cluster = world.one("aws:rds/cluster:Cluster");
});

describe("prod stack on Aurora", () => {
  it("uses the given VPC and subnets and the given KMS key, creating neither", () => {
    expect(world.all("aws:ec2/vpc:Vpc")).toEqual([]);
    expect(world.all("aws:ec2/subnet:Subnet")).toEqual([]);
    expect(world.all("aws:kms/key:Key")).toEqual([]);
    expect(world.one("aws:rds/subnetGroup:SubnetGroup").inputs.subnetIds).toEqual([
      "subnet-0123456789abcdef0",
      "subnet-0123456789abcdef1",
    ]);
    const group = world.one("aws:ec2/securityGroup:SecurityGroup");
    expect(group.inputs.vpcId).toBe("vpc-0123456789abcdef0");
    expect(group.inputs.ingress).toEqual([
      expect.objectContaining({ fromPort: 5432, toPort: 5432, securityGroups: ["sg-0123456789abcdef0"] }),
    ]);
  });

  it("creates an encrypted, deletion-protected, backed-up Aurora PostgreSQL 16 cluster", () => {
    expect(cluster.inputs).toMatchObject({
      clusterIdentifier: "neonhub-db-prod",
      engine: "aurora-postgresql",
      engineVersion: "16.6",
      storageEncrypted: true,
      kmsKeyId: KMS_KEY,
      deletionProtection: true,
      backupRetentionPeriod: 14,
      skipFinalSnapshot: false,
      manageMasterUserPassword: true,
      masterUserSecretKmsKeyId: KMS_KEY,
      iamDatabaseAuthenticationEnabled: true,
    });
    expect(cluster.inputs.masterPassword).toBeUndefined();
    expect(world.all("aws:rds/instance:Instance")).toEqual([]);
  });

  it("runs a writer and two readers, private, with Performance Insights", () => {
    const instances = world.all("aws:rds/clusterInstance:ClusterInstance");
    expect(instances.map((i) => i.inputs.identifier)).toEqual([
      "neonhub-db-prod-writer",
      "neonhub-db-prod-reader-1",
      "neonhub-db-prod-reader-2",
    ]);
    for (const instance of instances) {
      expect(instance.inputs).toMatchObject({
        publiclyAccessible: false,
        performanceInsightsEnabled: true,
        performanceInsightsKmsKeyId: KMS_KEY,
        instanceClass: "db.r6g.large",
        engine: "aurora-postgresql",
      });
    }
  });

  it("is created at the configured minor and leaves later minors to AWS's automatic upgrades", () => {
    // A change of engineVersion after creation would ask for a downgrade once AWS upgraded the minor.
    expect(cluster.opts.ignoreChanges).toEqual(["engineVersion"]);
    const instances = world.all("aws:rds/clusterInstance:ClusterInstance");
    expect(instances).toHaveLength(3);
    for (const instance of instances) {
      expect(instance.inputs.engineVersion).toBe("16.6");
      expect(instance.inputs.autoMinorVersionUpgrade).toBe(true);
      expect(instance.opts.ignoreChanges).toEqual(["engineVersion"]);
    }
    // Aurora needs the minor, so the RDS warning of a pinned one has nothing to say here.
    expect(printed).not.toContain("engineVersion");
  });

  it("tunes the cluster parameter group without the settings Aurora owns, and requires TLS", () => {
    const group = world.one("aws:rds/clusterParameterGroup:ClusterParameterGroup");
    expect(group.inputs.family).toBe("aurora-postgresql16");
    expect(cluster.inputs.dbClusterParameterGroupName).toBe(group.name);
    const names = (group.inputs.parameters as { name: string }[]).map((p) => p.name);
    expect(names).toContain("rds.force_ssl");
    expect(names).toContain("work_mem");
    expect(names).not.toContain("shared_buffers");
    expect(names).not.toContain("max_wal_size");
  });

  it("exports as serverSettings the settings its parameter group applies, and no other", async () => {
    const group = world.one("aws:rds/clusterParameterGroup:ClusterParameterGroup");
    const applied = (group.inputs.parameters as { name: string }[]).map((p) => p.name);
    const exported = Object.keys(
      await promiseOf(program.serverSettings as pulumi.Output<Record<string, string>>),
    );
    expect(exported).toContain("work_mem");
    expect(exported.filter((name) => !applied.includes(name))).toEqual([]);
  });

  it("reaches the cluster through the tunnel while apps get the cluster endpoints", async () => {
    const provider = expectAdminProvider(world, {
      host: "127.0.0.1",
      port: 15432,
      username: "neonhub_admin",
      sslmode: "require",
      superuser: false,
    });
    expect(provider.inputs.password).toBe(MASTER_PASSWORD);
    await expectSecretOutputs(program, world, {
      host: WRITER,
      readerHost: READER,
      port: 5432,
      sslmode: "require",
    });
    expectNoPlainTextPasswordInputs(world);
  });

  it("builds the same access layer", async () => {
    await expectAccessLayer(world, true);
  });
});
