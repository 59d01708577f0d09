// Resources as a production stack declares them, every guardrail satisfied. Each fixture is checked against
// the resource's own Args type, so a misspelt property fails the type-check instead of passing a policy.
import type {
  ClusterArgs,
  ClusterInstanceArgs,
  ClusterParameterGroupArgs,
  InstanceArgs,
  ParameterGroupArgs,
} from "@pulumi/aws/rds";
import type { Unwrap } from "@pulumi/pulumi";
import type { ResourceUnderTest } from "./harness";

export const TYPES = {
  instance: "aws:rds/instance:Instance",
  cluster: "aws:rds/cluster:Cluster",
  clusterInstance: "aws:rds/clusterInstance:ClusterInstance",
  parameterGroup: "aws:rds/parameterGroup:ParameterGroup",
  clusterParameterGroup: "aws:rds/clusterParameterGroup:ClusterParameterGroup",
} as const;

export const compliantInstance = {
  engine: "postgres",
  engineVersion: "16.4",
  instanceClass: "db.r6g.large",
  allocatedStorage: 100,
  storageEncrypted: true,
  publiclyAccessible: false,
  deletionProtection: true,
  backupRetentionPeriod: 14,
  skipFinalSnapshot: false,
  finalSnapshotIdentifier: "neonhub-prod-final",
  parameterGroupName: "neonhub-prod-params",
  manageMasterUserPassword: true,
  username: "neonhub_admin",
} satisfies Unwrap<InstanceArgs>;

export const compliantCluster = {
  engine: "aurora-postgresql",
  engineVersion: "16.4",
  storageEncrypted: true,
  deletionProtection: true,
  backupRetentionPeriod: 7,
  skipFinalSnapshot: false,
  finalSnapshotIdentifier: "neonhub-prod-final",
  dbClusterParameterGroupName: "neonhub-prod-cluster-params",
  manageMasterUserPassword: true,
  masterUsername: "neonhub_admin",
} satisfies Unwrap<ClusterArgs>;

export const compliantClusterInstance = {
  clusterIdentifier: "neonhub-prod",
  engine: "aurora-postgresql",
  instanceClass: "db.r6g.large",
  publiclyAccessible: false,
} satisfies Unwrap<ClusterInstanceArgs>;

export const compliantParameterGroup = {
  family: "postgres16",
  parameters: [
    { name: "rds.force_ssl", value: "1" },
    { name: "shared_buffers", value: "{DBInstanceClassMemory/32768}" },
  ],
} satisfies Unwrap<ParameterGroupArgs>;

export const compliantClusterParameterGroup = {
  family: "aurora-postgresql16",
  parameters: [{ name: "rds.force_ssl", value: "1" }],
} satisfies Unwrap<ClusterParameterGroupArgs>;

export const compliantResources: ResourceUnderTest[] = [
  { type: TYPES.instance, props: compliantInstance },
  { type: TYPES.cluster, props: compliantCluster },
  { type: TYPES.clusterInstance, props: compliantClusterInstance },
  { type: TYPES.parameterGroup, props: compliantParameterGroup },
  { type: TYPES.clusterParameterGroup, props: compliantClusterParameterGroup },
];

/** A compliant resource of `type` with some properties changed (`undefined` removes one). */
export function withChanges(type: keyof typeof TYPES, changes: Record<string, unknown>): ResourceUnderTest {
  const base = compliantResources.find((resource) => resource.type === TYPES[type]);
  if (!base) throw new Error(`no compliant fixture for ${type}`);
  const props: Record<string, unknown> = { ...base.props, ...changes };
  for (const [key, value] of Object.entries(changes)) if (value === undefined) delete props[key];
  return { type: base.type, props };
}
