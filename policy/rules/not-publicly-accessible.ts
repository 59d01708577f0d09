import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { ClusterInstance, Instance } from "@pulumi/aws/rds";

// A publicly accessible instance gets a public DNS name and address; its security group is then the only
// thing between the database and the internet. Clients reach it from inside the VPC instead.
const fix =
  "remove publiclyAccessible (it defaults to false) and reach the database from inside its VPC (see the runbook)";

export const notPubliclyAccessible: ResourceValidationPolicy = {
  name: "rds-not-publicly-accessible",
  description: "RDS instances and Aurora cluster instances are not publicly accessible.",
  severity: "critical",
  validateResource: [
    validateResourceOfType(Instance, (instance, _args, reportViolation) => {
      if (instance.publiclyAccessible === true) reportViolation(`publiclyAccessible is true: ${fix}.`);
    }),
    validateResourceOfType(ClusterInstance, (member, _args, reportViolation) => {
      if (member.publiclyAccessible === true) reportViolation(`publiclyAccessible is true: ${fix}.`);
    }),
  ],
};
