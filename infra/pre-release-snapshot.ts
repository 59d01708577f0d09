// A manual RDS (or Aurora cluster) snapshot taken right before a release changes the schema, named after the
// release, so a bad migration on production can be undone by restoring it (docs/runbook.md).
//
// The snapshot's identifier is derived from the migration manifest: while the migrations stay the same it
// stays the same and `pulumi up` does nothing; a release with new migrations changes it, which makes Pulumi
// replace the resource, i.e. take a new snapshot before the schema release (which depends on it) runs.
// retainOnDelete keeps every earlier snapshot in AWS when its resource is replaced or the stack destroyed.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";

export interface PreReleaseSnapshotArgs {
  /** `rds`: a DB instance snapshot; `aurora`: a cluster snapshot. */
  kind: "rds" | "aurora";
  /** The DB instance identifier (RDS) or the cluster identifier (Aurora). */
  identifier: pulumi.Input<string>;
  /** Name and checksum of every migration in the release, in order. */
  migrations: readonly { name: string; checksum: string }[];
  tags?: Record<string, string>;
}

/**
 * `<identifier>-pre-<timestamp of the last migration>-<8 hex of all checksums>`: sorts by release, tells which
 * release it preceded, and changes whenever any migration does. RDS identifiers allow letters, digits and
 * single hyphens, 255 characters.
 */
export function preReleaseSnapshotName(
  identifier: string,
  migrations: PreReleaseSnapshotArgs["migrations"],
): string {
  const last = migrations.at(-1)?.name.slice(0, 14) ?? "empty";
  const hash = createHash("sha256")
    .update(migrations.map((m) => `${m.name}:${m.checksum}`).join("\n"))
    .digest("hex")
    .slice(0, 8);
  return `${identifier}-pre-${last}-${hash}`.replace(/-+/g, "-").slice(0, 255);
}

export class PreReleaseSnapshot extends pulumi.ComponentResource {
  /** The identifier of the snapshot taken before this release. */
  public readonly snapshotIdentifier: pulumi.Output<string>;

  constructor(name: string, args: PreReleaseSnapshotArgs, opts?: pulumi.ComponentResourceOptions) {
    super("neonhub:db:PreReleaseSnapshot", name, {}, opts);
    const snapshotName = pulumi
      .output(args.identifier)
      .apply((id) => preReleaseSnapshotName(id, args.migrations));
    const childOpts: pulumi.CustomResourceOptions = { parent: this, retainOnDelete: true };
    if (args.kind === "aurora") {
      const snapshot = new aws.rds.ClusterSnapshot(
        `${name}-cluster`,
        { dbClusterIdentifier: args.identifier, dbClusterSnapshotIdentifier: snapshotName, tags: args.tags },
        childOpts,
      );
      this.snapshotIdentifier = snapshot.dbClusterSnapshotIdentifier;
    } else {
      const snapshot = new aws.rds.Snapshot(
        `${name}-instance`,
        { dbInstanceIdentifier: args.identifier, dbSnapshotIdentifier: snapshotName, tags: args.tags },
        childOpts,
      );
      this.snapshotIdentifier = snapshot.dbSnapshotIdentifier;
    }
    this.registerOutputs({ snapshotIdentifier: this.snapshotIdentifier });
  }
}
