// Each policy against a compliant resource (no violation) and a non-compliant one (a violation that names
// the property to fix), through validateResource as the analyzer calls it.
import type { Policy } from "@pulumi/policy";
import { describe, expect, it } from "vitest";
import { neonhubPolicies } from "../../policy/policies";
import { backupRetention } from "../../policy/rules/backup-retention";
import { deletionProtection } from "../../policy/rules/deletion-protection";
import { finalSnapshot } from "../../policy/rules/final-snapshot";
import { forceSsl } from "../../policy/rules/force-ssl";
import { notPubliclyAccessible } from "../../policy/rules/not-publicly-accessible";
import { pgvectorEngineVersion } from "../../policy/rules/pgvector-engine-version";
import { storageEncrypted } from "../../policy/rules/storage-encrypted";
import { compliantResources, withChanges } from "./fixtures";
import { runPolicy, type ResourceUnderTest } from "./harness";

const noPlainConfig = () => [];
const allPolicies = neonhubPolicies({ projectDir: ".", plainConfig: noPlainConfig });

interface FailingCase {
  policy: Policy;
  resource: ResourceUnderTest;
  /** A fragment the message must contain: the property and what is wrong with it. */
  message: string | RegExp;
}

const failing: Record<string, FailingCase[]> = {
  "rds-storage-encrypted": [
    {
      policy: storageEncrypted,
      resource: withChanges("instance", { storageEncrypted: false }),
      message: "storageEncrypted is not true",
    },
    {
      policy: storageEncrypted,
      resource: withChanges("cluster", { storageEncrypted: undefined }),
      message: "storageEncrypted is not true",
    },
  ],
  "rds-not-publicly-accessible": [
    {
      policy: notPubliclyAccessible,
      resource: withChanges("instance", { publiclyAccessible: true }),
      message: "publiclyAccessible is true",
    },
    {
      policy: notPubliclyAccessible,
      resource: withChanges("clusterInstance", { publiclyAccessible: true }),
      message: "publiclyAccessible is true",
    },
  ],
  "rds-deletion-protection": [
    {
      policy: deletionProtection,
      resource: withChanges("instance", { deletionProtection: undefined }),
      message: "deletionProtection is not true",
    },
    {
      policy: deletionProtection,
      resource: withChanges("cluster", { deletionProtection: false }),
      message: "deletionProtection is not true",
    },
  ],
  "rds-backup-retention": [
    {
      policy: backupRetention,
      resource: withChanges("instance", { backupRetentionPeriod: 6 }),
      message: "backupRetentionPeriod is 6 days: set it to at least 7",
    },
    {
      policy: backupRetention,
      resource: withChanges("cluster", { backupRetentionPeriod: undefined }),
      message: "backupRetentionPeriod is unset (AWS keeps 1 day)",
    },
  ],
  "rds-force-ssl": [
    {
      policy: forceSsl,
      resource: withChanges("parameterGroup", { parameters: [{ name: "rds.force_ssl", value: "0" }] }),
      message: 'rds.force_ssl is "0": set it to "1"',
    },
    {
      policy: forceSsl,
      resource: withChanges("clusterParameterGroup", { parameters: [] }),
      message: "rds.force_ssl is not set in this aurora-postgresql16 group",
    },
    {
      policy: forceSsl,
      resource: withChanges("instance", { parameterGroupName: "default.postgres16" }),
      message: 'parameterGroupName is "default.postgres16"',
    },
    {
      policy: forceSsl,
      resource: withChanges("cluster", { dbClusterParameterGroupName: undefined }),
      message: "dbClusterParameterGroupName is unset",
    },
  ],
  "rds-final-snapshot": [
    {
      policy: finalSnapshot,
      resource: withChanges("instance", { skipFinalSnapshot: true }),
      message: "skipFinalSnapshot is true",
    },
    {
      policy: finalSnapshot,
      resource: withChanges("cluster", { finalSnapshotIdentifier: undefined }),
      message: "finalSnapshotIdentifier is unset",
    },
  ],
  "rds-pgvector-engine-version": [
    {
      policy: pgvectorEngineVersion,
      resource: withChanges("instance", { engineVersion: "15.1" }),
      message: "engineVersion: postgres 15.1 has no pgvector; it arrived in 15.2",
    },
    {
      policy: pgvectorEngineVersion,
      resource: withChanges("cluster", { engineVersion: "11.21" }),
      message: /engineVersion: aurora-postgresql 11 has no pgvector/,
    },
  ],
};

describe("the policy pack", () => {
  it("serves every guardrail, each with a unique name", () => {
    const names = allPolicies.map((policy) => policy.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual(
      [...Object.keys(failing), "rds-no-plaintext-password"].sort(), // the password policy: password.test.ts
    );
  });

  it.each(allPolicies.map((policy) => [policy.name, policy] as const))(
    "%s reports nothing on the compliant production resources",
    async (_name, policy) => {
      for (const resource of compliantResources) {
        expect((await runPolicy(policy, resource)).violations, resource.type).toEqual([]);
      }
    },
  );

  it.each(allPolicies.map((policy) => [policy.name, policy] as const))(
    "%s leaves resources that are not RDS alone",
    async (_name, policy) => {
      const bucket = { type: "aws:s3/bucket:Bucket", props: { acl: "public-read" } };
      const run = await runPolicy(policy, bucket);
      expect(run.violations).toEqual([]);
      expect(run.notApplicable.length).toBeGreaterThan(0);
    },
  );
});

describe.each(Object.entries(failing))("%s", (_name, cases) => {
  it.each(cases.map((testCase) => [testCase.resource.type, testCase] as const))(
    "reports a non-compliant %s, naming the property",
    async (_type, { policy, resource, message }) => {
      const run = await runPolicy(policy, resource);
      expect(run.violations).toHaveLength(1);
      expect(run.violations[0]).toMatch(message);
    },
  );
});

describe("exceptions the policies make on purpose", () => {
  it("does not ask a read replica for its own encryption, backups or final snapshot", async () => {
    const replica = withChanges("instance", {
      replicateSourceDb: "neonhub-prod",
      storageEncrypted: undefined,
      backupRetentionPeriod: 0,
      skipFinalSnapshot: true,
      finalSnapshotIdentifier: undefined,
    });
    for (const policy of [storageEncrypted, backupRetention, finalSnapshot]) {
      expect((await runPolicy(policy, replica)).violations, policy.name).toEqual([]);
    }
  });

  it("leaves engines other than PostgreSQL to other packs for rds.force_ssl and pgvector", async () => {
    const mysql = withChanges("instance", {
      engine: "mysql",
      engineVersion: "8.0.35",
      parameterGroupName: undefined,
    });
    for (const policy of [forceSsl, pgvectorEngineVersion]) {
      const run = await runPolicy(policy, mysql);
      expect(run.violations, policy.name).toEqual([]);
      expect(run.notApplicable.join(" "), policy.name).toContain("engine mysql");
    }
  });

  it("does not look for rds.force_ssl in an Aurora instance parameter group, which cannot hold it", async () => {
    const auroraInstanceGroup = withChanges("parameterGroup", {
      family: "aurora-postgresql16",
      parameters: [],
    });
    const run = await runPolicy(forceSsl, auroraInstanceGroup);
    expect(run.violations).toEqual([]);
    expect(run.notApplicable.join(" ")).toContain("aurora-postgresql16");
  });

  it("accepts an RDS Multi-AZ DB cluster (engine postgres) with its own cluster parameter group", async () => {
    const multiAz = withChanges("cluster", { engine: "postgres", engineVersion: "16.4" });
    for (const policy of allPolicies) expect((await runPolicy(policy, multiAz)).violations).toEqual([]);
  });
});
