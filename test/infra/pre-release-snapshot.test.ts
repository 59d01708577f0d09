// Production takes a snapshot named after the release before the release's migrations run.
import { describe, expect, it } from "vitest";
import { preReleaseSnapshotName } from "../../infra/pre-release-snapshot";
import { describePreReleaseSnapshot } from "./pre-release-snapshot.shared";

const migrations = [
  { name: "20250126000100_extensions", checksum: "a".repeat(64) },
  { name: "20250301000200_campaign_budget", checksum: "b".repeat(64) },
];

describe("preReleaseSnapshotName", () => {
  it("names the snapshot after the last migration of the release", () => {
    expect(preReleaseSnapshotName("neonhub-db-prod", migrations)).toMatch(
      /^neonhub-db-prod-pre-20250301000200-[0-9a-f]{8}$/,
    );
  });

  it("is the same for the same release and changes when any migration does", () => {
    const same = preReleaseSnapshotName("neonhub-db-prod", [...migrations]);
    expect(preReleaseSnapshotName("neonhub-db-prod", migrations)).toBe(same);
    const edited = [migrations[0]!, { ...migrations[1]!, checksum: "c".repeat(64) }];
    expect(preReleaseSnapshotName("neonhub-db-prod", edited)).not.toBe(same);
  });

  it("is a valid RDS snapshot identifier", () => {
    for (const name of [
      preReleaseSnapshotName("neonhub-db-prod", migrations),
      preReleaseSnapshotName("x", []),
    ]) {
      expect(name).toMatch(/^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{0,254}(?<!-)$/);
    }
  });
});

describePreReleaseSnapshot(
  "rds",
  "aws:rds/snapshot:Snapshot",
  "dbInstanceIdentifier",
  "dbSnapshotIdentifier",
  {},
);
