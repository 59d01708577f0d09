import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { Cluster, Instance } from "@pulumi/aws/rds";

/** A week of point-in-time recovery: a bad migration found after a weekend can still be undone. */
export const MINIMUM_BACKUP_RETENTION_DAYS = 7;

/** What AWS keeps when backupRetentionPeriod is not set (CreateDBInstance and CreateDBCluster default to 1). */
const AWS_DEFAULT_RETENTION_DAYS = 1;

function retentionProblem(days: number | undefined): string | undefined {
  const effective = days ?? AWS_DEFAULT_RETENTION_DAYS;
  if (effective >= MINIMUM_BACKUP_RETENTION_DAYS) return undefined;
  const shown = days === undefined ? `unset (AWS keeps ${effective} day)` : `${days} days`;
  return `backupRetentionPeriod is ${shown}: set it to at least ${MINIMUM_BACKUP_RETENTION_DAYS}.`;
}

export const backupRetention: ResourceValidationPolicy = {
  name: "rds-backup-retention",
  description: `RDS instances and clusters keep automated backups for at least ${MINIMUM_BACKUP_RETENTION_DAYS} days.`,
  severity: "high",
  validateResource: [
    validateResourceOfType(Instance, (instance, _args, reportViolation) => {
      // Read replicas are restored from their source's backups, not their own.
      if (instance.replicateSourceDb) return;
      const problem = retentionProblem(instance.backupRetentionPeriod);
      if (problem) reportViolation(problem);
    }),
    validateResourceOfType(Cluster, (cluster, _args, reportViolation) => {
      const problem = retentionProblem(cluster.backupRetentionPeriod);
      if (problem) reportViolation(problem);
    }),
  ],
};
