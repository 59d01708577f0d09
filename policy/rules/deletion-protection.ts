import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { Cluster, Instance } from "@pulumi/aws/rds";

// Deletion protection makes AWS refuse the delete, whatever asks for it: a renamed resource that Pulumi plans
// to replace, a `pulumi destroy` on the wrong stack, or a click in the console.
const fix = "set deletionProtection: true (turn it off in a reviewed change before a deliberate delete)";

export const deletionProtection: ResourceValidationPolicy = {
  name: "rds-deletion-protection",
  description: "RDS instances and clusters have deletion protection on.",
  severity: "high",
  validateResource: [
    validateResourceOfType(Instance, (instance, _args, reportViolation) => {
      if (instance.deletionProtection !== true) reportViolation(`deletionProtection is not true: ${fix}.`);
    }),
    validateResourceOfType(Cluster, (cluster, _args, reportViolation) => {
      if (cluster.deletionProtection !== true) reportViolation(`deletionProtection is not true: ${fix}.`);
    }),
  ],
};
