import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { Cluster, ClusterParameterGroup, Instance, ParameterGroup } from "@pulumi/aws/rds";
import { isPostgresEngine } from "../engines";

// `rds.force_ssl = 1` makes the server refuse unencrypted connections, so a client that forgot `sslmode`
// fails loudly instead of sending passwords and rows in the clear. RDS's default groups set it only from
// PostgreSQL 15 on, and a default group cannot be changed, so the policy asks for an explicit group with the
// parameter on. On Aurora the parameter belongs to the cluster parameter group.
const PARAMETER = "rds.force_ssl";

interface Parameter {
  name: string;
  value: string;
}

function forceSslProblem(family: string, parameters: readonly Parameter[] | undefined): string | undefined {
  const setting = parameters?.find((parameter) => parameter.name === PARAMETER);
  if (setting === undefined)
    return `${PARAMETER} is not set in this ${family} group: add { name: "${PARAMETER}", value: "1" }.`;
  if (String(setting.value) !== "1") return `${PARAMETER} is "${setting.value}": set it to "1".`;
  return undefined;
}

function attachedGroupProblem(property: string, groupName: string | undefined): string | undefined {
  if (groupName && !groupName.startsWith("default.")) return undefined;
  const shown = groupName ? `"${groupName}"` : "unset";
  return `${property} is ${shown}: a default group cannot turn ${PARAMETER} on. Attach a group that sets ${PARAMETER} = 1.`;
}

export const forceSsl: ResourceValidationPolicy = {
  name: "rds-force-ssl",
  description: `PostgreSQL on RDS and Aurora only accepts TLS connections (${PARAMETER} = 1).`,
  severity: "high",
  validateResource: [
    validateResourceOfType(ParameterGroup, (group, args, reportViolation) => {
      // Aurora instance groups ("aurora-postgresql16") cannot hold the parameter; its cluster group does.
      if (!group.family.startsWith("postgres"))
        args.notApplicable(`family ${group.family} is not RDS for PostgreSQL`);
      const problem = forceSslProblem(group.family, group.parameters);
      if (problem) reportViolation(problem);
    }),
    validateResourceOfType(ClusterParameterGroup, (group, args, reportViolation) => {
      if (!/^(aurora-)?postgres/.test(group.family))
        args.notApplicable(`family ${group.family} is not PostgreSQL`);
      const problem = forceSslProblem(group.family, group.parameters);
      if (problem) reportViolation(problem);
    }),
    validateResourceOfType(Instance, (instance, args, reportViolation) => {
      if (instance.engine !== "postgres")
        args.notApplicable(`engine ${instance.engine} is not RDS for PostgreSQL`);
      const problem = attachedGroupProblem("parameterGroupName", instance.parameterGroupName);
      if (problem) reportViolation(problem);
    }),
    validateResourceOfType(Cluster, (cluster, args, reportViolation) => {
      if (!isPostgresEngine(cluster.engine)) args.notApplicable(`engine ${cluster.engine} is not PostgreSQL`);
      const problem = attachedGroupProblem(
        "dbClusterParameterGroupName",
        cluster.dbClusterParameterGroupName,
      );
      if (problem) reportViolation(problem);
    }),
  ],
};
