import { describePreReleaseSnapshot } from "./pre-release-snapshot.shared";

describePreReleaseSnapshot(
  "aurora",
  "aws:rds/clusterSnapshot:ClusterSnapshot",
  "dbClusterIdentifier",
  "dbClusterSnapshotIdentifier",
  {
    "neonhub-db:server": "aurora",
    "neonhub-db:engineVersion": "16.6",
  },
);
