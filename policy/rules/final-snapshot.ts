import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { Cluster, Instance } from "@pulumi/aws/rds";

// Automated backups go with the database when it is deleted; a final snapshot is what stays. With
// skipFinalSnapshot false AWS also needs the snapshot's name, or the delete itself fails half-way.
function finalSnapshotProblem(skip: boolean | undefined, identifier: string | undefined): string | undefined {
  if (skip === true) {
    return "skipFinalSnapshot is true: deleting it would keep no copy of the data. Set skipFinalSnapshot: false and a finalSnapshotIdentifier.";
  }
  if (!identifier) {
    return 'finalSnapshotIdentifier is unset: AWS refuses to delete without a name for the final snapshot. Set finalSnapshotIdentifier (e.g. "<name>-final").';
  }
  return undefined;
}

export const finalSnapshot: ResourceValidationPolicy = {
  name: "rds-final-snapshot",
  description: "Deleting an RDS instance or cluster takes a final snapshot first.",
  severity: "high",
  validateResource: [
    validateResourceOfType(Instance, (instance, _args, reportViolation) => {
      // AWS takes no final snapshot of a read replica; its data lives on in the source.
      if (instance.replicateSourceDb) return;
      const problem = finalSnapshotProblem(instance.skipFinalSnapshot, instance.finalSnapshotIdentifier);
      if (problem) reportViolation(problem);
    }),
    validateResourceOfType(Cluster, (cluster, _args, reportViolation) => {
      const problem = finalSnapshotProblem(cluster.skipFinalSnapshot, cluster.finalSnapshotIdentifier);
      if (problem) reportViolation(problem);
    }),
  ],
};
