import { ResourceValidationArgs, ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { Cluster, Instance } from "@pulumi/aws/rds";
import { isPostgresEngine } from "../engines";
import { pgvectorVersionProblem } from "../pgvector-versions";

// The schema release starts with `CREATE EXTENSION vector`; on an engine version without pgvector that fails
// after the server has been created, which is the expensive moment to find out.
function check(
  engine: string | undefined,
  engineVersion: string | undefined,
  args: ResourceValidationArgs,
  reportViolation: (message: string) => void,
): void {
  if (!isPostgresEngine(engine)) args.notApplicable(`engine ${engine ?? "(inherited)"} is not PostgreSQL`);
  const problem = pgvectorVersionProblem(engine, engineVersion);
  if (problem) reportViolation(`engineVersion: ${problem}.`);
}

export const pgvectorEngineVersion: ResourceValidationPolicy = {
  name: "rds-pgvector-engine-version",
  description: "The PostgreSQL engine version chosen on RDS or Aurora offers the pgvector extension.",
  severity: "high",
  validateResource: [
    validateResourceOfType(Instance, (instance, args, reportViolation) =>
      check(instance.engine, instance.engineVersion, args, reportViolation),
    ),
    validateResourceOfType(Cluster, (cluster, args, reportViolation) =>
      check(cluster.engine, cluster.engineVersion, args, reportViolation),
    ),
  ],
};
