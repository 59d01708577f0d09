import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { Cluster, Instance } from "@pulumi/aws/rds";

// Encryption can only be chosen when the storage is created: turning it on later means a snapshot, an
// encrypted copy and a restore, so the policy stops the unencrypted resource before it exists.
const fix = "set storageEncrypted: true (kmsKeyId picks a customer-managed key)";

export const storageEncrypted: ResourceValidationPolicy = {
  name: "rds-storage-encrypted",
  description: "RDS instances and clusters keep their storage encrypted at rest.",
  severity: "high",
  validateResource: [
    validateResourceOfType(Instance, (instance, _args, reportViolation) => {
      // A read replica inherits the encryption of its source, which this policy checks.
      if (instance.replicateSourceDb) return;
      if (instance.storageEncrypted !== true) reportViolation(`storageEncrypted is not true: ${fix}.`);
    }),
    validateResourceOfType(Cluster, (cluster, _args, reportViolation) => {
      if (cluster.storageEncrypted !== true) reportViolation(`storageEncrypted is not true: ${fix}.`);
    }),
  ],
};
